"""How far two runs of the same config agree: the default results made on one machine against
those made on another (another CPU, its kernel path, or another thread count). Per study: runs
whose numbers are bitwise equal, the largest relative difference of the others' final validation
loss, runs whose status or collapse changed; then the latent scores and the claims' verdicts.

    .venv/bin/python bench/repeatability.py results /elsewhere/results

Each folder is a config's results (run.json per run, tables/, claims/). docs/decisions.md,
"Repeatability" quotes what it printed.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd


def runs(results: Path) -> dict[tuple[str, str], dict]:
    """{(study, run): its run.json} of a results folder."""
    found = {}
    for path in sorted(results.glob("*/runs/**/run.json")):
        study = path.relative_to(results).parts[0]
        run = str(path.parent.relative_to(results / study / "runs"))
        found[study, run] = json.loads(path.read_text())
    return found


def machine(records) -> str:
    devices = {(r["device"].get("cpu_model", "?"), r["device"].get("cpu_capability", "?"),
                r["device"]["threads"]) for r in records}
    return "; ".join(f"{model}, {isa}, {threads} thread(s)" for model, isa, threads in devices)


def relative(a, b) -> float:
    """|a - b| relative to the larger; NaN where either is not a finite number (a run that
    diverged on one side only: its status changed)."""
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return math.nan
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


def same(a, b) -> bool:
    """Bitwise the same number, or both not a number (a run diverged alike on both sides)."""
    missing = [v is None or (isinstance(v, float) and math.isnan(v)) for v in (a, b)]
    return all(missing) or (not any(missing) and a == b)


def compare_runs(one: dict, other: dict) -> pd.DataFrame:
    rows = []
    for key in sorted(one.keys() & other.keys()):
        a, b = one[key], other[key]
        usage_a, usage_b = a.get("latent_usage") or {}, b.get("latent_usage") or {}
        rows.append({"study": key[0], "run": key[1],
                     "identical": same(a["final_val_loss"], b["final_val_loss"])
                     and a["epochs_run"] == b["epochs_run"],
                     "relative": relative(a["final_val_loss"], b["final_val_loss"]),
                     "status": a["status"] != b["status"],
                     "epochs": a["epochs_run"] != b["epochs_run"],
                     "collapse": usage_a.get("collapsed") != usage_b.get("collapsed")})
    return pd.DataFrame(rows)


def latent_difference(one: Path, other: Path) -> dict[str, float]:
    """{study: the largest absolute difference of a run's ARI} over the studies scored in both."""
    found = {}
    for path in sorted(one.glob("*/tables/latent.csv")):
        twin = other / path.relative_to(one)
        if twin.is_file():
            a, b = pd.read_csv(path), pd.read_csv(twin)
            merged = a.merge(b, on="path", suffixes=("", "_other"))
            found[path.parts[-3]] = float((merged["ari"] - merged["ari_other"]).abs().max())
    return found


def verdict_changes(one: Path, other: Path) -> list[str]:
    a = pd.read_csv(one / "claims" / "claims.csv", keep_default_na=False).set_index("claim_id")
    b = pd.read_csv(other / "claims" / "claims.csv", keep_default_na=False).set_index("claim_id")
    changed = []
    for claim in a.index.intersection(b.index):
        if a.at[claim, "verdict"] != b.at[claim, "verdict"]:
            changed.append(f"{claim}: {a.at[claim, 'verdict']} -> {b.at[claim, 'verdict']}")
        elif a.at[claim, "reason"] != b.at[claim, "reason"]:
            changed.append(f"{claim}: {a.at[claim, 'verdict']}, reason changed")
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("other", type=Path)
    args = parser.parse_args()
    one, other = runs(args.results), runs(args.other)
    print(f"{args.results}: {machine(one.values())}\n{args.other}: {machine(other.values())}")
    table = compare_runs(one, other)
    by_study = table.groupby("study", sort=False).agg(
        runs=("run", "size"), identical=("identical", "sum"),
        largest_relative=("relative", "max"), status=("status", "sum"),
        epochs=("epochs", "sum"), collapse=("collapse", "sum"))
    by_study.loc["all"] = [len(table), table["identical"].sum(), table["relative"].max(),
                           table["status"].sum(), table["epochs"].sum(), table["collapse"].sum()]
    print("\nruns (final validation loss; status, epochs run and collapse: runs that changed)")
    print(by_study.to_string(float_format=lambda v: f"{v:.1e}"))
    for _, row in table[table["status"]].iterrows():
        print(f"  status changed: {row.study} {row.run}")
    print("\nlatent ARI, largest difference of a run: " + ", ".join(
        f"{study} {value:.1e}" for study, value in latent_difference(args.results,
                                                                     args.other).items()))
    changes = verdict_changes(args.results, args.other)
    print(f"\nclaims whose verdict or reason changed: {len(changes)}")
    for line in changes:
        print(f"  {line}")


if __name__ == "__main__":
    main()
