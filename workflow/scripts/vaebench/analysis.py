"""Aggregation of a study's runs into tidy tables (no torch).

- epochs: every epoch of every run, the run's axis values as columns (a concat of metrics.csv).
- runs: one row per run: status, stop reason, final and best validation loss, convergence epoch.
- summary: per condition (all axes but `seed`) and epoch, mean, s.d. and count over seeds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .data import write_atomic

SUMMARISED = ("val_loss", "val_recon", "train_loss", "train_recon")
RUN_FIELDS = ("status", "stop_reason", "epochs_run", "best_epoch", "best_val_loss",
              "final_val_loss", "convergence_epoch", "divergence_epoch", "wall_seconds")


def read_epochs(metrics_paths: list) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in metrics_paths]
    return pd.concat([f for f in frames if len(f)], ignore_index=True)


def run_table(record_paths: list, epochs: pd.DataFrame, axes: list[str]) -> pd.DataFrame:
    rows = []
    for path in record_paths:
        record = json.loads(Path(path).read_text())
        rows.append({**record["config"]["axes"], **{k: record[k] for k in RUN_FIELDS},
                     "device": record["device"]["type"], "path": str(Path(path).parent)})
    runs = pd.DataFrame(rows)
    # Axis values come back from JSON as text; match the dtypes pandas gives the CSV columns.
    for axis in axes:
        runs[axis] = runs[axis].astype(epochs[axis].dtype) if axis in epochs else runs[axis]
    finite = epochs.dropna(subset=["val_recon"])
    last = finite.sort_values("epoch").groupby(axes, sort=False).tail(1)
    runs = runs.merge(last[[*axes, "val_recon"]].rename(columns={"val_recon": "final_val_recon"}),
                      on=axes, how="left")
    return runs


def summarise(epochs: pd.DataFrame, axes: list[str]) -> pd.DataFrame:
    conditions = [a for a in axes if a != "seed"]
    grouped = epochs.groupby([*conditions, "epoch"], sort=True)[list(SUMMARISED)]
    summary = grouped.agg(["mean", "std", "count"])
    summary.columns = [f"{metric}_{stat}" for metric, stat in summary.columns]
    return summary.reset_index()


def aggregate(metrics_paths, record_paths, axes, epochs_out, runs_out, summary_out) -> None:
    epochs = read_epochs(metrics_paths)
    tables = {epochs_out: epochs, runs_out: run_table(record_paths, epochs, axes),
              summary_out: summarise(epochs, axes)}
    for path, table in tables.items():
        write_atomic(path, table.to_csv(index=False))
