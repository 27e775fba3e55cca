"""The docs' example outputs, from the default run's results: each block between
`<!-- example: KEY -->` and `<!-- end example -->` in a doc holds what KEY gives in the
repository root. A `vaebench ...` key is a command line and its block what it prints (in a
```text fence); the other keys are the tables of TABLES below, written as Markdown from the
default results. Run it after `make run` to refresh them; tests/test_docs.py fails when a
block and what its key gives differ (where the default results exist).

    .venv/bin/python docs/examples.py          # rewrite the blocks
    .venv/bin/python docs/examples.py --check  # exit 1 where a block is stale
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))
from vaebench.claims.verdicts import VERDICTS  # noqa: E402
from vaebench.config import display_name  # noqa: E402
from vaebench.summary import DECISIVE, effect_text, gist  # noqa: E402

DOCS = ("README.md", "docs/analysis.md", "docs/decisions.md")
BLOCK = re.compile(r"(<!-- example: (?P<key>[^\n]+?) -->\n)(?P<output>.*?)(<!-- end example -->)",
                   re.S)
RESULTS = REPO / "results"


def command_output(command: str) -> str:
    """What `command` (a vaebench command line) prints in the repository root, fenced."""
    words = shlex.split(command)
    vaebench = Path(sys.executable).with_name("vaebench")
    done = subprocess.run([str(vaebench), *words[1:]], cwd=REPO, capture_output=True, text=True,
                          check=True)
    return f"```text\n{done.stdout}```\n"


def span(values, form: str = ".2f") -> str:
    """The range of `values` over the runs: "0.04–0.08", or one number where they agree in
    `form`; a negative range reads "−0.09 to −0.07"."""
    low, high = (format(v, form).replace("-", "−") for v in (min(values), max(values)))
    if low == high:
        return low
    return f"{low} to {high}" if low.startswith("−") else f"{low}–{high}"


def markdown(rows: list[list[str]], header: list[str]) -> str:
    return "".join("| " + " | ".join(row) + " |\n"
                   for row in [header, ["---"] * len(header), *rows])


def verdicts_table() -> str:
    """The default run's verdicts (results/claims/claims.csv), a row per verdict and reason:
    the decisive claims each with its effect, the rest grouped by the gist of their reason."""
    claims = pd.read_csv(RESULTS / "claims" / "claims.csv", keep_default_na=False)
    rows = []
    for verdict in VERDICTS:
        chosen = claims[claims["verdict"] == verdict]
        if verdict in DECISIVE:
            rows += [[verdict, row.claim_id, effect_text(row)] for row in chosen.itertuples()]
            continue
        # a claim not run names what its config lacks, each its own: group by the whole reason
        why = chosen["reason"] if verdict == "not run" else chosen["reason"].map(gist)
        for reason in dict.fromkeys(why):
            group = chosen[why == reason]
            seeds = pd.to_numeric(group["seeds_to_decide"], errors="coerce").dropna()
            if reason.startswith("too few seeds") and len(seeds):
                reason += f": {span(seeds, '.0f')} seeds would decide (`seeds_to_decide`)"
            rows.append([verdict, ", ".join(group["claim_id"]), reason])
    return markdown(rows, ["verdict", "claims", "why (claims.csv `reason`; for the decisive "
                                                "ones, the effect)"])


def latent_table(study: str, by: list[str]) -> str:
    """Per condition of `by`, the latent space's scores over its runs, and its baselines."""
    latent = pd.read_csv(RESULTS / study / "tables" / "latent.csv")
    latent = latent[latent["status"] == "ok"]
    rows = []
    for key, runs in latent.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        dims = len(str(runs["kl_per_dim"].iloc[0]).split())
        rows.append([display_name(key[0]), *map(str, key[1:]), span(runs["kl_pressure"], ".0f"),
                     f"{int(runs['collapsed'].sum())} of {len(runs)}",
                     f"{span(runs['active_units'], '.0f')} of {dims}",
                     span(runs["kl_per_sample"], ".2g"), span(runs["ari"]),
                     span(runs["knn_accuracy"]), span(runs["silhouette"]),
                     f"{span(runs['ari_pca'])} / {span(runs['ari_untrained'])}"])
    header = ["model", *by[1:], "KL pressure", "collapsed", "active units",
              "KL per sample (nats)", "ARI", "kNN accuracy", "silhouette",
              "ARI of its PCA / untrained encoder"]
    baselines = pd.read_csv(RESULTS / study / "tables" / "latent_baselines.csv")
    pca = baselines[baselines["baseline"] == "pca"]
    genes = baselines[baselines["baseline"] == "genes"].iloc[0]
    note = (f"Ranges over the runs, from `results/{study}/tables/latent.csv` after `make run`. "
            + "; ".join(f"PCA with {b.dims} components scores ARI {b.ari:.2f} and kNN accuracy "
                        f"{b.knn_accuracy:.2f}" for b in pca.itertuples())
            + f"; the {genes.dims:,} genes ARI {genes.ari:.2f}; the untrained encoders "
            f"{span(latent['ari_untrained'])}.")
    return markdown(rows, header) + "\n" + textwrap.fill(note, 100) + "\n"


# The tables the docs show, by key.
TABLES = {
    "table verdicts": verdicts_table,
    "table objective": lambda: latent_table("objective", ["model", "reconstruction"]),
    "table benchmark_models": lambda: latent_table("benchmark_models", ["model"]),
}


def output(key: str) -> str:
    return TABLES[key]() if key in TABLES else command_output(key)


def refreshed(text: str) -> str:
    return BLOCK.sub(lambda m: m[1] + output(m["key"]) + m[4], text)


def stale_blocks(path: Path) -> list[str]:
    """The keys whose block in `path` differs from what they give now."""
    return [m["key"] for m in BLOCK.finditer(path.read_text()) if m["output"] != output(m["key"])]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only say which blocks are stale")
    args = parser.parse_args()
    if args.check:
        stale = [f"{name}: the example `{key}` is stale" for name in DOCS
                 for key in stale_blocks(REPO / name)]
        print("\n".join(stale))
        return 1 if stale else 0
    for name in DOCS:
        path = REPO / name
        path.write_text(refreshed(path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
