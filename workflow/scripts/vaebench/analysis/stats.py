"""Statistics between conditions (`study_statistics`): pairwise rank tests between the levels
of each studied axis, a variance decomposition over the grid (`sensitivity`), the share of
runs that diverged (`divergence`), with the captions that say what each assumes. No torch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..config import OBJECTIVE_AXES
from ..data import write_atomic
from .render import render_html
from .tables import PLATEAU_TOLERANCE, PLATEAU_WINDOW

ALPHA = 0.05  # family-wise error rate after Holm's correction
BOOTSTRAP_RESAMPLES = 2000
MIN_BOOTSTRAP = 5  # values (pairs, or per side) below which no bootstrap interval is given
LOSS_OUTCOMES = ("final_val_loss", "plateau_epoch")  # compared between levels of an axis
SENSITIVITY_OUTCOMES = ("log10_final_val_recon", "plateau_epoch")  # variance decomposition
LATENT_OUTCOMES = ("knn_accuracy", "silhouette", "ari")


def ordered(values) -> list:
    """Grid values in a readable order: numbers ascending, text as first seen."""
    unique = list(dict.fromkeys(values))
    try:
        return sorted(unique, key=float)
    except (TypeError, ValueError):
        return unique




def by_objective(runs: pd.DataFrame, axes: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """(runs, axes) for comparing losses, which are comparable only within one objective: where
    the study varies an OBJECTIVE_AXES axis, its level joins the run's model in one `model`
    label ("vanilla reconstruction=sum"), and the axis leaves `axes`. Unchanged otherwise."""
    varied = [a for a in OBJECTIVE_AXES if a in axes]
    if not varied:
        return runs, axes
    parts = ([runs["model"].astype(str)] if "model" in axes else []) + [
        a + "=" + runs[a].astype(str) for a in varied]
    label = parts[0].str.cat(parts[1:], sep=" ") if len(parts) > 1 else parts[0]
    kept = [a for a in axes if a not in varied]
    return runs.assign(model=label), kept if "model" in kept else ["model", *kept]


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
    rank-biserial correlation of the Mann-Whitney U test, computed from U (ranks of the pooled
    values, ties averaged): n log n, not the n_a x n_b pairs. Vectorised along `axis`."""
    a, b = np.moveaxis(np.asarray(a, float), axis, -1), np.moveaxis(np.asarray(b, float), axis, -1)
    n_a, n_b = a.shape[-1], b.shape[-1]
    ranks = stats.rankdata(np.concatenate((a, b), axis=-1), axis=-1)
    u_b = ranks[..., n_a:].sum(-1) - n_b * (n_b + 1) / 2  # pairs with B larger, ties half
    return 2 * u_b / (n_a * n_b) - 1


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
    within, within_axes = by_objective(runs, axes)
    tables = {
        pairwise_out: pairwise(within, within_axes, studied_axes(within, within_axes),
                               LOSS_OUTCOMES),
        sensitivity_out: sensitivity(within, within_axes),
        divergence_out: divergence(runs, axes),
    }
    for path, table in tables.items():
        write_atomic(path, table.to_csv(index=False))
    pair, sens, div = tables.values()
    write_atomic(html_out, render_html(f"Study {study}: statistics between conditions", [
        ("Pairwise comparisons", PAIRWISE_CAPTION, pair),
        ("Sensitivity: share of variance per axis", SENSITIVITY_CAPTION, sens),
        ("Divergence", DIVERGENCE_CAPTION, div),
    ], where=html_out))


PAIRWISE_CAPTION = (
    "Every pair of levels (A, B) of each studied axis, per model, on the final validation loss "
    "(the model's own objective; where the study varies reconstruction or kld_weight, which "
    "change the loss itself, per model and level of those, named in the model column) and on "
    "the plateau epoch (the first epoch at most "
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
