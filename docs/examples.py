"""The docs' example outputs, from the default run's results, and a record of what made them.

Each block between `<!-- example: KEY -->` and `<!-- end example -->` in a doc holds what KEY gives
in the repository root: a `vaebench ...` key is a command line and its block what it prints (in
a ```text fence); the other keys are the tables of TABLES below, written as Markdown from the
default results. Each block ends with the machine its numbers came from: the default run's
numbers depend on the CPU (docs/decisions.md, "Repeatability").

docs/examples.json records what the blocks were made from: the machine (CPU model, the vector
instructions torch's kernels used, threads a run, torch), the training code and config the runs
record, the package's code, and a digest of each block. tests/test_docs.py checks that record and
the blocks' form everywhere, and compares the blocks with local results only where those came
from the same code, config and machine.

    .venv/bin/python docs/examples.py          # after `make run`: rewrite the blocks and the record
    .venv/bin/python docs/examples.py --check  # exit 1 where a block is stale (same machine only)
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
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
from vaebench.code import checksum, modules  # noqa: E402
from vaebench.config import display_name  # noqa: E402
from vaebench.summary import DECISIVE, effect_text, gist  # noqa: E402

DOCS = ("README.md", "docs/analysis.md", "docs/decisions.md")
BLOCK = re.compile(r"(<!-- example: (?P<key>[^\n]+?) -->\n)(?P<output>.*?)(<!-- end example -->)",
                   re.S)
RESULTS = REPO / "results"
CONFIG = REPO / "config" / "config.yaml"
RECORD = REPO / "docs" / "examples.json"


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
    return markdown(rows, VERDICTS_HEADER)


VERDICTS_HEADER = ["verdict", "claims", "why (claims.csv `reason`; for the decisive ones, the "
                                        "effect)"]


def latent_header(by: list[str]) -> list[str]:
    return ["model", *by[1:], "KL pressure", "collapsed", "active units", "KL per sample (nats)",
            "ARI", "kNN accuracy", "silhouette", "ARI of its PCA / untrained encoder"]


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
    baselines = pd.read_csv(RESULTS / study / "tables" / "latent_baselines.csv")
    pca = baselines[baselines["baseline"] == "pca"]
    genes = baselines[baselines["baseline"] == "genes"].iloc[0]
    note = (f"Ranges over the runs, from `results/{study}/tables/latent.csv` after `make run`. "
            + "; ".join(f"PCA with {b.dims} components scores ARI {b.ari:.2f} and kNN accuracy "
                        f"{b.knn_accuracy:.2f}" for b in pca.itertuples())
            + f"; the {genes.dims:,} genes ARI {genes.ari:.2f}; the untrained encoders "
            f"{span(latent['ari_untrained'])}.")
    return markdown(rows, latent_header(by)) + "\n" + textwrap.fill(note, 100) + "\n"


# The latent tables the docs show: study -> the axes of a row
LATENT_TABLES = {"objective": ["model", "reconstruction"]}
# The tables the docs show, by key.
TABLES = {
    "table verdicts": verdicts_table,
    **{f"table {study}": (lambda study=study, by=by: latent_table(study, by))
       for study, by in LATENT_TABLES.items()},
}


def provenance(results: Path = RESULTS) -> dict:
    """What the results were made from, as their runs record it (run.json): the machine, the
    training code and the config file; with this checkout's package code. A value the runs do
    not agree on is a list."""
    records = [json.loads(path.read_text()) for path in sorted(results.glob("*/runs/**/run.json"))]

    def agreed(values):
        values = sorted(set(map(str, values)))
        return values[0] if len(values) == 1 else values

    device = [r.get("device", {}) for r in records]
    return {
        "machine": {"cpu_model": agreed(d.get("cpu_model", "not recorded") for d in device),
                    "cpu_capability": agreed(d.get("cpu_capability", "not recorded")
                                             for d in device),
                    "threads": agreed(d.get("threads") for d in device),
                    "torch": agreed(r.get("versions", {}).get("torch") for r in records)},
        "runs": len(records),
        "training_code": agreed(r.get("code_sha256") for r in records),
        "config_sha256": hashlib.sha256(CONFIG.read_bytes()).hexdigest()[:16],
        "package_code": package_code(),
    }


def package_code() -> str:
    """The checksum of the package's code (vaebench.code.checksum): every module the summary,
    the claims and the tables come from."""
    return checksum(modules(["*.py", "*/*.py"]))


def made_on(machine: dict) -> str:
    """The line each block ends with: the machine its numbers came from."""
    threads = f"{machine['threads']} thread{'' if machine['threads'] == '1' else 's'} a run"
    return textwrap.fill(
        f"*Made by `make run` on {machine['cpu_model']} ({machine['cpu_capability']} kernels, "
        f"{threads}, torch {machine['torch']}); another CPU differs in the last digits, and may "
        "in a run at the edge of divergence and a verdict near its threshold (docs/decisions.md, "
        "\"Repeatability\").*", 100, break_on_hyphens=False) + "\n"


def output(key: str, machine: dict) -> str:
    body = TABLES[key]() if key in TABLES else command_output(key)
    return body + "\n" + made_on(machine)


def digest(block: str) -> str:
    return hashlib.sha256(block.encode()).hexdigest()[:16]


def blocks() -> dict[str, str]:
    """{"<doc>: <key>": the block's text} of every example block of the docs."""
    return {f"{name}: {m['key']}": m["output"] for name in DOCS
            for m in BLOCK.finditer((REPO / name).read_text())}


def differences(recorded: dict, local: dict) -> list[str]:
    """What the local results were made from that the examples were not: each as a phrase."""
    said = {"machine": "the machine", "training_code": "the training code",
            "config_sha256": "config/config.yaml", "package_code": "the package's code"}
    return [f"{what} ({recorded.get(key)} there, {local[key]} here)"
            for key, what in said.items() if recorded.get(key) != local[key]]


def stale_blocks(machine: dict) -> list[str]:
    """The blocks ("<doc>: <key>") that differ from what their key gives on the local results."""
    return [name for name, text in blocks().items()
            if text != output(name.split(": ", 1)[1], machine)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="only say which blocks are stale (where the local results came from "
                             "the examples' code, config and machine)")
    args = parser.parse_args()
    local = provenance()
    if args.check:
        recorded = json.loads(RECORD.read_text())["made_from"]
        other = differences(recorded, local)
        if other:
            print("not compared: the local results differ from the examples' in "
                  + "; ".join(other))
            return 0
        stale = [f"{name}: the example is stale" for name in stale_blocks(local["machine"])]
        print("\n".join(stale))
        return 1 if stale else 0
    for name in DOCS:
        path = REPO / name
        path.write_text(BLOCK.sub(lambda m: m[1] + output(m["key"], local["machine"]) + m[4],
                                  path.read_text()))
    record = {"made_from": local,
              "made_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
              "blocks": {name: digest(text) for name, text in blocks().items()}}
    RECORD.write_text(json.dumps(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
