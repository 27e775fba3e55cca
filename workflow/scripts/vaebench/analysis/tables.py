"""Aggregation: a study's runs into tidy tables, and the convergence measures (no torch).

- epochs: every epoch of every run, the run's axis values as columns (a concat of metrics.csv).
- runs: one row per run: status, stop reason, final and best validation loss, the studies'
  convergence epoch, its KL pressure and collapse (USAGE_FIELDS), and our convergence measures
  (`convergence`: plateau, plateau epoch, area under the validation-loss curve).
- summary: per condition (all axes but `seed`) and epoch, mean, s.d. and count over seeds.
Every run output read is checked against the checksums of its run.json (`verified`).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import KL_FLOOR
from ..data import DataError, sha256_bytes, write_atomic

SUMMARISED = ("val_loss", "val_recon", "train_loss", "train_recon")
# Convergence, defined (docs/analysis.md, "Convergence"; the one place these numbers are fixed).
PLATEAU_WINDOW = 5  # the final plateau: mean validation loss of a run's last 5 epochs (or half)
PLATEAU_TOLERANCE = 0.01  # plateau_epoch: the first epoch within 1% of that plateau
CONVERGENCE_FIELDS = ("plateau_val_loss", "plateau_epoch", "auc_val_loss", "mean_val_loss")
RUN_FIELDS = ("status", "stop_reason", "epochs_run", "best_epoch", "best_val_loss",
              "final_val_loss", "convergence_epoch", "divergence_epoch", "wall_seconds")
# How a run uses its latent space (run.json: resolved, latent_usage; train.latent_usage):
# reconstruction and KL pressure as resolved, and on the validation set after training, the
# KL per sample, the active units and whether it collapsed (empty for an older run.json).
USAGE_FIELDS = ("reconstruction", "kl_pressure", "kl_per_sample", "val_active_units",
                "collapsed")


def usage_fields(record: dict) -> dict:
    """A run's USAGE_FIELDS from its record (None where the record lacks them)."""
    resolved, usage = record.get("resolved", {}), record.get("latent_usage") or {}
    return {"reconstruction": resolved.get("reconstruction"),
            "kl_pressure": resolved.get("kl_pressure"),
            "kl_per_sample": usage.get("kl_per_sample"),
            "val_active_units": usage.get("active_units"), "collapsed": usage.get("collapsed")}


def read_records(record_paths: list) -> dict[Path, dict]:
    """{run.json path: its record}."""
    return {Path(p): json.loads(Path(p).read_text()) for p in record_paths}


def collapse_counts(runs: pd.DataFrame) -> pd.DataFrame:
    """Per model (one row "all" where runs has no model column): runs, runs judged (finished
    or stopped early with a finite model: `collapsed` known), collapsed, and the median KL
    pressure of the collapsed runs and of the others."""
    runs = runs.assign(model=runs["model"] if "model" in runs else "all")
    rows = []
    for model, part in runs.groupby("model", sort=False):
        judged = part[part["collapsed"].notna()]
        collapsed = judged["collapsed"].astype(bool)
        pressure = pd.to_numeric(judged["kl_pressure"], errors="coerce")
        rows.append({"model": model, "n_runs": len(part), "n_judged": len(judged),
                     "n_collapsed": int(collapsed.sum()),
                     "kl_pressure_collapsed": pressure[collapsed].median(),
                     "kl_pressure_others": pressure[~collapsed].median()})
    return pd.DataFrame(rows, columns=["model", "n_runs", "n_judged", "n_collapsed",
                                       "kl_pressure_collapsed", "kl_pressure_others"])


def collapse_advice(counts: pd.DataFrame) -> str:
    """One line: how many runs collapsed, why (their KL pressure) and what to try."""
    collapsed, judged = int(counts["n_collapsed"].sum()), int(counts["n_judged"].sum())
    if not collapsed:
        return f"no run collapsed ({judged} judged)"
    pressure = counts.loc[counts["n_collapsed"] > 0, "kl_pressure_collapsed"].median()
    return (f"{collapsed} of {judged} runs collapsed (no active latent unit, or a KL below "
            f"{KL_FLOOR} nats per sample). Why: KL pressure ~{pressure:.3g}, the KL's weight per "
            "unit of summed squared error (the ELBO's: 1). Try reconstruction: sum, a lower "
            "kld_weight, or kl_warmup")


def verified(path, record: dict) -> bytes:
    """The content of a run's output file (metrics.csv, latent.npy), checked against the sha256
    its run.json recorded when the run wrote it: a file truncated, edited or replaced since is a
    DataError that names the run and how to redo it, never aggregated."""
    path = Path(path)
    expected = record.get("outputs", {}).get(path.name)
    content = path.read_bytes()
    found = sha256_bytes(content)
    if expected is None or found != expected["sha256"]:
        if expected is None:
            what = "its run.json has no checksum of it (written by an older vaebench)"
        else:
            rows = "rows" in expected
            lines = max(content.count(b"\n") - 1, 0)  # a CSV's rows after its header
            what = (f"run.json recorded sha256 {expected['sha256'][:12]}"
                    + (f" and {expected['rows']} epoch rows" if rows else "")
                    + f"; the file has sha256 {found[:12]}"
                    + (f" and {lines} rows" if rows else ""))
        raise DataError(
            f"{path} is not what its run wrote ({what}): it was changed or damaged since. "
            f"Redo the run: delete {path.parent}/ and run the same snakemake command again "
            "(only that run retrains)")
    return content


def read_epochs(metrics_paths: list, records: dict[Path, dict]) -> pd.DataFrame:
    frames = [pd.read_csv(io.BytesIO(verified(p, records[Path(p).with_name("run.json")])))
              for p in metrics_paths]
    return pd.concat([f for f in frames if len(f)], ignore_index=True)


def load_latent(path) -> np.ndarray:
    """A run's latent.npy, verified against its run.json (beside it)."""
    record = json.loads(Path(path).with_name("run.json").read_text())
    return np.load(io.BytesIO(verified(path, record)))


def run_table(records: dict[Path, dict], epochs: pd.DataFrame, axes: list[str]) -> pd.DataFrame:
    rows = []
    for path, record in records.items():
        axes_values = record["config"]["axes"]
        usage = {k: v for k, v in usage_fields(record).items() if k not in axes_values}
        rows.append({**axes_values, **{k: record[k] for k in RUN_FIELDS}, **usage,
                     "device": record["device"]["type"], "path": str(path.parent)})
    runs = pd.DataFrame(rows)
    # Axis values come back from JSON as text; match the dtypes pandas gives the CSV columns.
    for axis in axes:
        runs[axis] = runs[axis].astype(epochs[axis].dtype) if axis in epochs else runs[axis]
    finite = epochs.dropna(subset=["val_recon"])
    last = finite.sort_values("epoch").groupby(axes, sort=False).tail(1)
    runs = runs.merge(last[[*axes, "val_recon"]].rename(columns={"val_recon": "final_val_recon"}),
                      on=axes, how="left")
    curves = epochs.sort_values("epoch").groupby(axes, sort=False)["val_loss"]
    measures = pd.DataFrame([{**dict(zip(axes, key if isinstance(key, tuple) else (key,))),
                              **convergence(curve.to_numpy())} for key, curve in curves])
    runs = runs.merge(measures, on=axes, how="left") if len(measures) else runs
    # Only a run that finished has a final plateau; a diverged curve's measures are undefined.
    runs.loc[runs["status"] != "ok", list(CONVERGENCE_FIELDS)] = np.nan
    return runs


def convergence(val_loss, window: int = PLATEAU_WINDOW,
                tolerance: float = PLATEAU_TOLERANCE) -> dict:
    """Convergence measures of one validation-loss curve (epochs 1, 2, ..., n in order).

    - plateau_val_loss: the final plateau P, the mean of the last `window` epochs, or of the last
      half (rounded up) of a run shorter than 2 x window epochs: min(window, ceil(n / 2)), so
      the first epochs of a short (early-stopped) run do not count as its plateau.
    - plateau_epoch: the first epoch e with L_e <= P + tolerance * |P|: the first epoch at which
      the validation loss has come down to within 1% (by default) of where it ends up. Being
      below the plateau counts as there (a dip before a late rise), so every finished run has
      one; a run still falling steeply at its end gets a late plateau epoch, as it should.
    - auc_val_loss: the area under the curve, trapezoid rule over epochs 1..n (loss x epochs):
      smaller means the loss came down sooner (and/or lower).
    - mean_val_loss: auc_val_loss / (n - 1), the curve's average height, which compares runs of
      different lengths (L_1 for a one-epoch run).
    A curve with a non-finite value (a diverged run) has no plateau: all four are NaN.
    """
    curve = np.asarray(val_loss, dtype=float)
    undefined = dict.fromkeys(CONVERGENCE_FIELDS, np.nan)
    if len(curve) == 0 or not np.isfinite(curve).all():
        return undefined
    plateau = curve[-min(window, (len(curve) + 1) // 2):].mean()
    within = curve <= plateau + tolerance * abs(plateau)
    auc = float(np.trapezoid(curve)) if len(curve) > 1 else 0.0
    return {"plateau_val_loss": float(plateau),
            "plateau_epoch": int(np.argmax(within)) + 1,  # min(tail) <= P: always one
            "auc_val_loss": auc,
            "mean_val_loss": auc / (len(curve) - 1) if len(curve) > 1 else float(curve[0])}


def summarise(epochs: pd.DataFrame, axes: list[str]) -> pd.DataFrame:
    conditions = [a for a in axes if a != "seed"]
    # A diverged run's last epoch is non-finite: count it as missing, not as an infinite mean.
    finite = epochs.replace([np.inf, -np.inf], np.nan)
    grouped = finite.groupby([*conditions, "epoch"], sort=True)[list(SUMMARISED)]
    summary = grouped.agg(["mean", "std", "count"])
    summary.columns = [f"{metric}_{stat}" for metric, stat in summary.columns]
    return summary.reset_index()


def aggregate(metrics_paths, record_paths, axes, epochs_out, runs_out, summary_out) -> None:
    records = read_records(record_paths)
    epochs = read_epochs(metrics_paths, records)
    tables = {epochs_out: epochs, runs_out: run_table(records, epochs, axes),
              summary_out: summarise(epochs, axes)}
    for path, table in tables.items():
        write_atomic(path, table.to_csv(index=False))
