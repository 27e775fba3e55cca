"""Aggregation of a study's runs into tidy tables, convergence, statistics (no torch).

- epochs: every epoch of every run, the run's axis values as columns (a concat of metrics.csv).
- runs: one row per run: status, stop reason, final and best validation loss, the studies'
  convergence epoch, and our convergence measures (`convergence`: plateau, plateau epoch, area
  under the validation-loss curve).
- summary: per condition (all axes but `seed`) and epoch, mean, s.d. and count over seeds.
- statistics (`study_statistics`): pairwise rank tests between the levels of each studied axis,
  a variance decomposition over the grid (`sensitivity`), the share of runs that diverged.
- latent space (`latent_scores`, `score_latents`): how well a run's encoder means separate
  cancer types (cross-validated kNN accuracy, silhouette), compared between conditions alike.
"""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .data import DataError, load_phenotype, sha256_bytes, write_atomic

SUMMARISED = ("val_loss", "val_recon", "train_loss", "train_recon")
# Convergence, defined (README "Convergence, defined"; the one place these numbers are fixed).
PLATEAU_WINDOW = 5  # the final plateau: mean validation loss of a run's last 5 epochs (or half)
PLATEAU_TOLERANCE = 0.01  # plateau_epoch: the first epoch within 1% of that plateau
CONVERGENCE_FIELDS = ("plateau_val_loss", "plateau_epoch", "auc_val_loss", "mean_val_loss")
RUN_FIELDS = ("status", "stop_reason", "epochs_run", "best_epoch", "best_val_loss",
              "final_val_loss", "convergence_epoch", "divergence_epoch", "wall_seconds")


def read_records(record_paths: list) -> dict[Path, dict]:
    """{run.json path: its record}."""
    return {Path(p): json.loads(Path(p).read_text()) for p in record_paths}


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
        rows.append({**record["config"]["axes"], **{k: record[k] for k in RUN_FIELDS},
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


# --------------------------------------------------------------------------------------------
# Statistics between conditions

ALPHA = 0.05  # family-wise error rate after Holm's correction
BOOTSTRAP_RESAMPLES = 2000
MIN_BOOTSTRAP = 5  # values (pairs, or per side) below which no bootstrap interval is given
LOSS_OUTCOMES = ("final_val_loss", "plateau_epoch")  # compared between levels of an axis
SENSITIVITY_OUTCOMES = ("log10_final_val_recon", "plateau_epoch")  # variance decomposition
LATENT_OUTCOMES = ("knn_accuracy", "silhouette")


def ordered(values) -> list:
    """Grid values in a readable order: numbers ascending, text as first seen."""
    unique = list(dict.fromkeys(values))
    try:
        return sorted(unique, key=float)
    except (TypeError, ValueError):
        return unique


def studied_axes(runs: pd.DataFrame, axes: list[str]) -> list[str]:
    """The axes a study varies on purpose: every grid axis with two or more values except
    `model` (whose objectives differ) and `seed` (the replicate)."""
    return [a for a in axes if a not in ("model", "seed") and runs[a].nunique() > 1]


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (controls the family-wise error rate; NaN stays NaN
    and does not count towards the family size). scipy has no Holm, hence these lines."""
    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m = len(order)
    # p_(i) * (m - i + 1) for the i-th smallest, made monotone, capped at 1.
    adjusted[order] = np.minimum(np.maximum.accumulate(p[order] * (m - np.arange(m))), 1.0)
    return adjusted


def cliffs_delta(a, b, axis: int = -1):
    """Cliff's delta P(B > A) - P(B < A) over all pairs of values, in [-1, 1] (0: no shift); the
    rank-biserial correlation of the Mann-Whitney U test. Vectorised along `axis`."""
    a, b = np.moveaxis(np.asarray(a, float), axis, -1), np.moveaxis(np.asarray(b, float), axis, -1)
    return np.sign(b[..., None, :] - a[..., :, None]).mean(axis=(-2, -1))


def matched_rank_biserial(a, b, axis: int = -1):
    """The matched-pairs rank-biserial correlation (W+ - W-) / (W+ + W-) of the differences
    b_i - a_i, in [-1, 1] (> 0: B tends to be larger): the effect size of the Wilcoxon
    signed-rank test, with its ranks (zero differences dropped, ties averaged). Vectorised
    along `axis`."""
    d = np.moveaxis(np.asarray(b, float) - np.asarray(a, float), axis, -1)
    zero = d == 0
    # Zeros rank lowest, so the others' ranks are their ranks among the non-zero ones + #zeros.
    ranks = np.where(zero, 0.0, stats.rankdata(np.abs(d), axis=-1) - zero.sum(-1, keepdims=True))
    total = ranks.sum(-1)
    signed = (np.sign(d) * ranks).sum(-1)
    return np.divide(signed, total, out=np.zeros_like(total), where=total > 0)


def compare(a, b, paired: bool, seed: int = 0) -> dict:
    """Two-sided rank test of B against A, an effect size and its 95% bootstrap interval.

    paired: Wilcoxon signed-rank test on the differences b_i - a_i (pairs share a seed, and so a
    split and a batch order), effect = matched-pairs rank-biserial correlation; else the
    Mann-Whitney U test (independent runs), effect = Cliff's delta. Both effects lie in [-1, 1],
    > 0 when B tends to be larger. The percentile bootstrap CI resamples pairs (paired) or each
    group (unpaired); with fewer than MIN_BOOTSTRAP values (pairs, or on either side) it is left
    empty: a handful of values has too few distinct resamples for an interval that means
    anything. `shift` is the median difference b_i - a_i (paired) or the Hodges-Lehmann shift,
    the median of all differences b_j - a_i (unpaired), in the outcome's units. Fewer than two
    values on either side: no test (NaN).
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    row = {"n_a": len(a), "n_b": len(b), "median_a": np.median(a) if len(a) else np.nan,
           "median_b": np.median(b) if len(b) else np.nan, "test": "none (n < 2)",
           "statistic": np.nan, "p": np.nan, "shift": np.nan, "effect_measure": "",
           "effect": np.nan, "effect_ci_low": np.nan, "effect_ci_high": np.nan}
    if min(len(a), len(b)) < 2:
        return row
    if paired:
        diff = b - a
        row["test"], row["shift"] = "Wilcoxon signed-rank", float(np.median(diff))
        if np.all(diff == 0):  # scipy divides by zero here; identical pairs are no evidence
            row["statistic"], row["p"] = 0.0, 1.0
        else:
            result = stats.wilcoxon(b, a, alternative="two-sided")
            row["statistic"], row["p"] = float(result.statistic), float(result.pvalue)
        row["effect_measure"], effect = "matched rank-biserial", matched_rank_biserial
    else:
        row["test"] = "Mann-Whitney U"
        row["shift"] = float(np.median(b[None, :] - a[:, None]))
        result = stats.mannwhitneyu(b, a, alternative="two-sided")
        row["statistic"], row["p"] = float(result.statistic), float(result.pvalue)
        row["effect_measure"], effect = "Cliff's delta", cliffs_delta
    row["effect"] = float(effect(a, b))
    if min(len(a), len(b)) >= MIN_BOOTSTRAP:
        ci = stats.bootstrap((a, b), effect, paired=paired, vectorized=True,
                             n_resamples=BOOTSTRAP_RESAMPLES, method="percentile",
                             rng=np.random.default_rng(seed)).confidence_interval
        row["effect_ci_low"], row["effect_ci_high"] = float(ci.low), float(ci.high)
    return row


def pairwise(runs: pd.DataFrame, axes: list[str], compared: list[str], outcomes,
             seed: int = 0) -> pd.DataFrame:
    """Every pair of levels of each `compared` axis, on each outcome, per model.

    Runs are compared within a model (objectives differ between models) unless the compared
    axis is `model` itself. The two levels' runs are matched on every other grid axis (seed, and
    in a grid study the other hyperparameters): where every run of one level has exactly one
    partner in the other, the test is paired (Wilcoxon), else unpaired (Mann-Whitney). Only
    runs with status ok and a finite outcome enter; a pair loses both runs if one is missing.
    p_holm: Holm-adjusted within one family = one model, one axis, one outcome.
    """
    rows = []
    for axis in compared:
        strata = ["model"] if axis != "model" and "model" in axes else []
        keys = [a for a in axes if a != axis and a not in strata]
        groups = runs.groupby(strata, sort=False) if strata else [((None,), runs)]
        for stratum, part in groups:
            levels = ordered(part[axis])
            for outcome in outcomes:
                family = []
                for i, level_a in enumerate(levels):
                    for level_b in levels[i + 1:]:
                        a, b = part[part[axis] == level_a], part[part[axis] == level_b]
                        paired = bool(keys) and _matched(a, b, keys)
                        a, b = _usable(a, outcome), _usable(b, outcome)
                        if paired:
                            both = a.merge(b, on=keys, suffixes=("_a", "_b"))
                            values = both[f"{outcome}_a"], both[f"{outcome}_b"]
                        else:
                            values = a[outcome], b[outcome]
                        family.append({"model": stratum[0] if strata else "(all)", "axis": axis,
                                       "outcome": outcome, "level_a": str(level_a),
                                       "level_b": str(level_b), "paired": paired,
                                       **compare(*values, paired=paired, seed=seed)})
                adjusted = holm([r["p"] for r in family])
                for r, p in zip(family, adjusted):
                    r["p_holm"], r["significant"] = p, bool(p < ALPHA)
                rows += family
    columns = ["model", "axis", "outcome", "level_a", "level_b", "paired", "test", "n_a", "n_b",
               "median_a", "median_b", "shift", "effect_measure", "effect", "effect_ci_low",
               "effect_ci_high", "statistic", "p", "p_holm", "significant"]
    return pd.DataFrame(rows, columns=columns)


def _matched(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> bool:
    """Do the runs of two levels pair one to one on `keys` (before any run is dropped)?"""
    ka, kb = a[keys].astype(str).agg("|".join, axis=1), b[keys].astype(str).agg("|".join, axis=1)
    return ka.is_unique and kb.is_unique and set(ka) == set(kb)


def _usable(part: pd.DataFrame, outcome: str) -> pd.DataFrame:
    ok = (part["status"] == "ok") & np.isfinite(part[outcome].astype(float))
    return part[ok]


def sensitivity(runs: pd.DataFrame, axes: list[str], outcomes=SENSITIVITY_OUTCOMES) -> pd.DataFrame:
    """How much of an outcome's variance each axis explains, per model (runs with status ok).

    eta_squared of an axis = the between-level sum of squares of the outcome over its total sum
    of squares (one-way, each axis on its own). In a complete grid the axes are orthogonal and
    these add up to the R^2 of the additive main-effects model; with runs missing (diverged)
    they need not. That R^2 (least squares on one indicator column per level) is reported as
    "all main effects", and 1 - R^2 as "interactions + noise". Axes: every grid axis with two or
    more values except model, seed included (how much is luck).
    """
    data = runs.copy()
    data["log10_final_val_recon"] = np.log10(data["final_val_recon"].where(
        data["final_val_recon"] > 0))
    factors = [a for a in axes if a != "model" and data[a].nunique() > 1]
    rows = []
    groups = data.groupby("model", sort=False) if "model" in axes else [(("(all)",), data)]
    for (model, *_), part in ((k if isinstance(k, tuple) else (k,), v) for k, v in groups):
        for outcome in outcomes:
            y_part = _usable(part, outcome)
            y = y_part[outcome].to_numpy(float)
            total = float(((y - y.mean()) ** 2).sum()) if len(y) else 0.0
            base = {"model": model, "outcome": outcome, "n_runs": len(y)}
            if total == 0 or not factors:
                rows += [{**base, "axis": f, "levels": y_part[f].nunique(),
                          "eta_squared": np.nan} for f in factors]
                continue
            for f in factors:
                level_means = y_part.groupby(f)[outcome].transform("mean").to_numpy(float)
                rows.append({**base, "axis": f, "levels": y_part[f].nunique(),
                             "eta_squared": float(((level_means - y.mean()) ** 2).sum() / total)})
            design = pd.get_dummies(y_part[factors].astype(str), drop_first=True, dtype=float)
            design.insert(0, "intercept", 1.0)
            fitted = design.to_numpy() @ np.linalg.lstsq(design.to_numpy(), y, rcond=None)[0]
            r2 = 1 - float(((y - fitted) ** 2).sum()) / total
            rows.append({**base, "axis": "all main effects", "levels": np.nan,
                         "eta_squared": r2})
            rows.append({**base, "axis": "interactions + noise", "levels": np.nan,
                         "eta_squared": 1 - r2})
    return pd.DataFrame(rows, columns=["model", "outcome", "axis", "levels", "n_runs",
                                       "eta_squared"])


def divergence(runs: pd.DataFrame, axes: list[str]) -> pd.DataFrame:
    """Share of runs that diverged (non-finite loss or weights) or failed, per model and level
    of each axis (seed excluded), and per model over the whole grid ("(all)")."""
    rows = []
    data = runs.assign(_all="(all)")
    by = [a for a in axes if a not in ("model", "seed")]
    for axis in ["_all", *by]:
        keys = ["model", axis] if "model" in axes else [axis]
        for key, part in data.groupby(keys, sort=False):
            key = key if isinstance(key, tuple) else (key,)
            rows.append({"model": key[0] if "model" in axes else "(all)",
                         "axis": "(all)" if axis == "_all" else axis,
                         "level": "(all)" if axis == "_all" else str(key[-1]),
                         "n_runs": len(part),
                         "n_diverged": int((part["status"] == "diverged").sum()),
                         "n_failed": int((part["status"] == "failed").sum())})
    table = pd.DataFrame(rows, columns=["model", "axis", "level", "n_runs", "n_diverged",
                                        "n_failed"])
    table["fraction_diverged"] = table["n_diverged"] / table["n_runs"]
    return table


def study_statistics(runs_csv, axes: list[str], study: str, pairwise_out, sensitivity_out,
                     divergence_out, html_out) -> None:
    """The statistics rule: pairwise.csv, sensitivity.csv, divergence.csv and their HTML."""
    runs = pd.read_csv(runs_csv)
    tables = {
        pairwise_out: pairwise(runs, axes, studied_axes(runs, axes), LOSS_OUTCOMES),
        sensitivity_out: sensitivity(runs, axes),
        divergence_out: divergence(runs, axes),
    }
    for path, table in tables.items():
        write_atomic(path, table.to_csv(index=False))
    pair, sens, div = tables.values()
    write_atomic(html_out, render_html(f"Study {study}: statistics between conditions", [
        ("Pairwise comparisons", PAIRWISE_CAPTION, pair),
        ("Sensitivity: share of variance per axis", SENSITIVITY_CAPTION, sens),
        ("Divergence", DIVERGENCE_CAPTION, div),
    ]))


PAIRWISE_CAPTION = (
    "Every pair of levels (A, B) of each studied axis, per model, on the final validation loss "
    "(the model's own objective) and on the plateau epoch (the first epoch at most "
    f"{PLATEAU_TOLERANCE:.0%} above the mean of the last {PLATEAU_WINDOW} epochs, or of the last "
    "half of a shorter run). Only runs that "
    "finished (status ok) enter. Where the two levels' runs pair one to one on the other axes "
    "(seed: same split, same batch order), the Wilcoxon signed-rank test on paired differences "
    "is used; it assumes the pairs are independent and, under no effect, the differences are "
    "symmetric about zero. Otherwise the Mann-Whitney U test, which assumes independent runs "
    "and, under no effect, exchangeable values. Both are two-sided. Effect, in [-1, 1], > 0 "
    "when B tends to be larger: the matched-pairs rank-biserial correlation (W+ - W-) / "
    "(W+ + W-) for Wilcoxon, Cliff's delta P(B > A) - P(B < A) for Mann-Whitney, with a 95% "
    f"percentile bootstrap interval ({BOOTSTRAP_RESAMPLES} resamples, of pairs if paired; "
    f"none with fewer than {MIN_BOOTSTRAP} runs a side, too few to resample); shift: median "
    "difference B - A in the outcome's units. p_holm: Holm's correction within one model, "
    "axis and outcome, which "
    f"controls the family-wise error rate at {ALPHA} there (not across models or outcomes). "
    "With few seeds the smallest attainable p is large (n = 2 pairs: 0.5): read the effect "
    "sizes, not only the p-values.")
SENSITIVITY_CAPTION = (
    "Per model, the share of the variance of an outcome that each axis explains on its own "
    "(eta squared: between-level over total sum of squares), over the runs that finished. "
    "Outcomes: log10 of the final validation reconstruction loss (comparable across latent "
    "sizes; log because it spans orders of magnitude) and the plateau epoch. 'all main "
    "effects' is the R squared of the additive model (one indicator per level, least "
    "squares); 'interactions + noise' the rest. In a complete grid the axes are orthogonal and "
    "their eta squared add up to that R squared; runs missing (diverged) break this. An empty "
    "cell: the outcome does not vary (e.g. every early-stopped run plateaued at the same epoch). "
    "A description of this grid, not a test: no assumption beyond the runs themselves.")
DIVERGENCE_CAPTION = (
    "Runs that diverged (non-finite loss or weights; the run stops and is kept as a result) or "
    "failed (out of memory), per model and level of each axis, and per model over the whole "
    "grid: counts and the fraction diverged.")


def render_html(title: str, sections: list) -> str:
    """A small self-contained HTML page: a heading, a caption and a table per section. Rows
    whose comparison survives Holm's correction are bold."""
    parts = [f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}"
             "</title><style>body{font-family:sans-serif;margin:1.5em}"
             "table{border-collapse:collapse;font-size:0.85em;margin-bottom:2em}"
             "th,td{border:1px solid #bbb;padding:2px 6px;text-align:right}"
             "th{background:#eee}tr.sig td{font-weight:bold}p{max-width:60em}</style></head>"
             f"<body>\n<h1>{html.escape(title)}</h1>\n"]
    for heading, caption, table in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>\n<p>{html.escape(caption)}</p>\n")
        if table.empty:
            parts.append("<p><em>Nothing to compare in this study.</em></p>\n")
            continue
        parts.append(_html_table(table))
    parts.append("</body></html>\n")
    return "".join(parts)


def _html_cell(column: str, value) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else ""
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return ""
        return f"{value:.3g}" if column in ("p", "p_holm") else f"{value:.4g}"
    return html.escape(str(value))


def _html_table(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for record in table.to_dict("records"):
        significant = record.get("significant", False)
        mark = " class='sig'" if isinstance(significant, bool | np.bool_) and significant else ""
        cells = "".join(f"<td>{_html_cell(c, v)}</td>" for c, v in record.items())
        rows.append(f"<tr{mark}>{cells}</tr>")
    return f"<table><tr>{head}</tr>\n" + "\n".join(rows) + "\n</table>\n"


# --------------------------------------------------------------------------------------------
# Latent space: do the encoder means separate cancer types?

KNN_NEIGHBOURS = 5
CV_FOLDS = 5
LATENT_FIELDS = ("n_samples", "n_types", "knn_accuracy", "knn_balanced_accuracy",
                 "majority_baseline", "silhouette")


def score_latents(mu, labels, folds: int = CV_FOLDS, neighbours: int = KNN_NEIGHBOURS,
                  seed: int = 0) -> dict:
    """How well a latent space (one row per sample) separates the classes in `labels`.

    Classes with fewer than `folds` samples are left out (stratified cross-validation needs one
    per fold); so is a sample without a label (None or ""). Returns
    - knn_accuracy: the share of samples whose class a k-nearest-neighbour vote (k=5, Euclidean
      distance between encoder means) fitted on the other folds gets right (stratified 5-fold
      cross-validation, folds shuffled with `seed`);
    - knn_balanced_accuracy: the same, averaged per class (chance: 1 / n_types);
    - majority_baseline: the share of the commonest class, what always guessing it scores;
    - silhouette: the mean silhouette width of the classes (-1..1; 0: no separation);
    - n_samples, n_types: what was scored. All NaN if mu has a non-finite value (a diverged run).
    """
    from sklearn.metrics import balanced_accuracy_score, silhouette_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier

    mu, labels = np.asarray(mu, dtype=float), pd.Series(labels, dtype=object)
    if len(mu) != len(labels):
        raise ValueError(f"{len(mu)} latent rows but {len(labels)} labels")
    counts = labels[labels.notna() & (labels != "")].value_counts()
    keep = labels.isin(counts.index[counts >= folds]).to_numpy()
    x, y = mu[keep], labels[keep].astype(str).to_numpy()
    scores = dict.fromkeys(LATENT_FIELDS, np.nan)
    scores.update(n_samples=len(y), n_types=len(set(y)))
    if not np.isfinite(mu).all() or scores["n_types"] < 2:
        return scores
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted = cross_val_predict(KNeighborsClassifier(n_neighbors=neighbours), x, y, cv=cv)
    scores.update(knn_accuracy=float((predicted == y).mean()),
                  knn_balanced_accuracy=float(balanced_accuracy_score(y, predicted)),
                  majority_baseline=float(pd.Series(y).value_counts(normalize=True).iloc[0]),
                  silhouette=float(silhouette_score(x, y)))
    return scores


def sample_labels(samples_txt, phenotype_path, source=None) -> np.ndarray:
    """The label (cancer type, tissue, ...) of each sample of samples.txt, in its order (""
    where unannotated), from the phenotype rule's table. Annotations that label none of the
    samples are a DataError naming both files (`source`: where the annotations came from)."""
    samples = Path(samples_txt).read_text().splitlines()
    types = load_phenotype(phenotype_path).set_index("sample")["label"]
    labels = types.reindex(samples).fillna("").to_numpy(dtype=object)
    if len(samples) and not (labels != "").any():
        raise DataError(
            f"the phenotype table {source or phenotype_path} ({len(types)} samples, e.g. "
            f"{types.index[0] if len(types) else 'none'!r}) has no sample id in common with the "
            f"expression matrix {samples_txt} ({len(samples)} samples, e.g. {samples[0]!r}): "
            "do both files come from the same cohort, with the same sample ids?")
    return labels


def latent_scores(runs_csv, latent_paths: list, samples_txt, phenotype_path, axes: list[str],
                  study: str, table_out, pairwise_out, html_out, source=None) -> None:
    """The latent_scores rule: latent.csv (scores per run), latent_pairwise.csv (conditions
    compared on them, as the losses are) and an HTML rendering of both. `source`: where the
    annotations came from (the user's file), for messages."""
    runs = pd.read_csv(runs_csv)
    source = source or phenotype_path
    labels = sample_labels(samples_txt, phenotype_path, source)
    # Samples of the matrix the phenotype table does not annotate: stated per row and above.
    unlabelled = int((labels == "").sum())
    by_folder = runs.set_index("path")
    rows = []
    for path in latent_paths:
        run = by_folder.loc[str(Path(path).parent)]
        mu = load_latent(path)
        rows.append({**{a: run[a] for a in axes}, "status": run["status"],
                     **score_latents(mu, labels), "n_unannotated": unlabelled,
                     "path": str(Path(path).parent)})
    table = pd.DataFrame(rows, columns=[*axes, "status", *LATENT_FIELDS, "n_unannotated",
                                        "path"])
    compared = studied_axes(table, axes)
    if "model" in axes and table["model"].nunique() > 1:
        compared.append("model")
    pairs = pairwise(table, axes, compared, LATENT_OUTCOMES)
    write_atomic(table_out, table.to_csv(index=False))
    write_atomic(pairwise_out, pairs.to_csv(index=False))
    partial = (f" Only part of the matrix is annotated: {unlabelled} of its {len(labels)} "
               f"samples have no label in the phenotype table {source} and are "
               "left out of every score (n_unannotated)." if unlabelled else "")
    write_atomic(html_out, render_html(f"Study {study}: latent space", [
        ("Scores per run", LATENT_CAPTION + partial, table),
        ("Pairwise comparisons", LATENT_PAIRWISE_CAPTION, pairs),
    ]))


LATENT_CAPTION = (
    "For each run that saved its encoder means (the study's save_latent selection): how well "
    "the means of all samples separate cancer types. knn_accuracy: a "
    f"{KNN_NEIGHBOURS}-nearest-neighbour vote (Euclidean) in stratified {CV_FOLDS}-fold "
    "cross-validation; knn_balanced_accuracy: the same averaged per type (chance 1 / n_types); "
    "majority_baseline: always guessing the commonest type; silhouette: mean silhouette width "
    "of the types (-1..1, 0 = no separation). Cancer types with fewer than "
    f"{CV_FOLDS} samples are left out. The encoder saw these samples in training (80% of them) "
    "without their labels: the scores describe the geometry of the latent space, not a "
    "classifier's performance on new patients.")
LATENT_PAIRWISE_CAPTION = (
    "The latent scores compared between levels of each studied axis within a model, and between "
    "models (matched on the other axes), with the same tests, effect sizes and Holm correction "
    "as the losses (statistics.html): Wilcoxon signed-rank where the runs pair one to one, else "
    "Mann-Whitney U. The smallest two-sided Wilcoxon p with n pairs is 2 / 2^n (5 pairs: "
    "0.0625, 10: 0.002), before Holm's correction: select enough seeds in save_latent for a "
    "comparison to be able to reach significance.")
