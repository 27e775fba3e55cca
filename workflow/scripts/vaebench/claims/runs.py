"""The runs table a claim is tested on: the workflow's runs.csv beside each run's latent scores
(`claim_table`), or a table of your own in its columns, checked (`read_runs_table`); each
run's score on a metric under a reading of diverged runs, and the runs a claim speaks of
(`in_scope`). No torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..config import RunConfig
from ..data import DataError
from .spec import METRICS, in_paper_levels, level_key

STATUSES = ("ok", "diverged", "failed")


def claim_table(runs_csv, latent_csv=None, model: str | None = None) -> pd.DataFrame:
    """runs.csv with latent.csv's ARI and kNN accuracy beside each run (NaN where its latent
    space was not saved); `model` names the model of a study whose grid has no model axis."""
    runs = pd.read_csv(runs_csv)
    if "model" not in runs:
        runs.insert(0, "model", model)
    if latent_csv is not None and Path(latent_csv).is_file():
        latent = pd.read_csv(latent_csv)[["path", "ari", "knn_accuracy"]]
        runs = runs.merge(latent, on="path", how="left")
    else:
        runs = runs.assign(ari=np.nan, knn_accuracy=np.nan)
    return runs


def read_runs_table(path) -> pd.DataFrame:
    """A runs table in runs.csv's columns (docs/analysis.md "`runs.csv`": the axes, `seed`,
    `status`, the metrics), checked: DataError naming the file, the line and the value of the
    first fault. `model` defaults to the package's (VanillaVAE) where the table has none."""
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{path}: not a readable CSV table ({err})") from None
    if "status" not in table:
        raise DataError(f"{path}: no column `status` (ok, diverged or failed per run; columns "
                        f"found: {', '.join(table.columns)})")
    metrics = [m for m in METRICS if m in table]
    if not metrics:
        raise DataError(f"{path}: no metric column (one of {', '.join(METRICS)})")
    bad = ~table["status"].isin(STATUSES)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path}, line {i + 2}: status {table['status'].iloc[i]!r} is none of "
                        f"{', '.join(STATUSES)}")
    for metric in metrics:
        text = table[metric].str.strip()
        values = pd.to_numeric(text.where(text != ""), errors="coerce")
        wrong = values.isna() & (text != "") & ~text.str.lower().isin(["nan", "inf", "-inf"])
        if wrong.any():
            i = int(np.flatnonzero(wrong.to_numpy())[0])
            raise DataError(f"{path}, line {i + 2}: column {metric}: {text.iloc[i]!r} is not a "
                            "number")
        table[metric] = values.astype(float)
    if "collapsed" in table:
        table["collapsed"] = table["collapsed"].str.lower().isin(["true", "1", "yes"])
    if "model" not in table:
        table.insert(0, "model", RunConfig.model)
    return table


def scores(part: pd.DataFrame, metric: str, diverged: str) -> np.ndarray:
    """Higher is better: the metric, negated where lower is better. A diverged run: -inf (the
    worst) where diverged runs rank worst, NaN where they are dropped; a failed run or a
    missing value: NaN (left out)."""
    values = pd.to_numeric(part[metric], errors="coerce").to_numpy(float)
    values = -values if METRICS[metric].lower_is_better else values
    status = part["status"].to_numpy()
    values = np.where(status == "diverged", -np.inf if diverged == "worst" else np.nan, values)
    return np.where(status == "failed", np.nan, values)


def raw(scores: np.ndarray, metric: str) -> np.ndarray:
    return -scores if METRICS[metric].lower_is_better else scores


def in_scope(claim: dict, table: pd.DataFrame, axes: list[str], selector: str = "applies_to",
             collapsed: bool = True) -> pd.DataFrame:
    """The runs a claim speaks of: its models, levels spelled as in run paths, only the
    levels the paper studied (`paper_levels`), and without collapsed runs where asked."""
    models = claim[selector]["models"]
    table = table[table["model"].isin(models)] if models else table
    table = table.assign(**{a: table[a].map(lambda v, a=a: level_key(a, v)) for a in axes})
    spec = claim["paper_levels"]
    for axis in (a for a in spec if a in table):
        table = table[table[axis].map(lambda v, a=axis: in_paper_levels(spec, a, v))]
    if not collapsed and "collapsed" in table:
        table = table[~table["collapsed"].fillna(False).astype(bool)]
    return table
