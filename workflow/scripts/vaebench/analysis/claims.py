"""Do the papers' findings hold? Each claim of config/claims/<paper>.yaml tested on the runs of
the study it applies to, with an effect, a bootstrap interval, Holm-corrected p-values and a
verdict. No torch. docs/analysis.md "Claims and verdicts" states the method; in short:

- The claim files are read, checked and matched to a config's studies by vaebench.claim_files
  (when the Snakefile parses, or by `vaebench verdicts` on a runs table of one's own).
- Only the levels the paper studied enter (`paper_levels`): `highest`, `lowest` and `others`
  resolve among them, and runs at other levels are left out.
- A claim is a conjunction of parts: one comparison per model (`per: model`), metric and pair
  of levels. Each part has an exact one-sided test for the claim (p_for) and one against it
  (p_against), its floor (the smallest p_for its n and ties allow), and an effect oriented so
  that > 0 supports the claim, with a 95% percentile bootstrap interval.
- The paper states each claim's direction, so the tests are one-sided and not doubled. The
  claim's p_for is the largest of its parts' (intersection-union: every part must hold); its
  p_against the smallest of its parts' times the number of parts (any part may contradict).
  Each is Holm-corrected over the paper's claims.
- holds: p_holm < ALPHA, every part at least its minimum effect; contradicted: p_holm_against
  < ALPHA and the part against at least its minimum effect; negligible: significant, but
  smaller than the minimum effect; inconclusive otherwise, with the reason (too few seeds,
  untested parts, ties); not run: no study, level or metric the claim needs.
- Diverged runs enter as the claim declares (`diverged`: drop, the papers' practice, or worst);
  the other reading, and for ARI and kNN claims a reading without collapsed runs, are computed
  too, and a verdict that changes between them is *fragile*. A failed run never enters.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..claim_files import (
    METRICS,
    ONE_READING,
    in_paper_levels,
    level_key,
    match_claims,
    table_facts,
)
from ..config import RunConfig
from ..data import DataError, write_atomic
from .exact import (
    correlation_runs_inside,
    kendall_trend,
    noether_pairs,
    pairs_for_floor,
    rank_sum,
    signed_rank,
)
from .render import render_html
from .stats import (
    ALPHA,
    BOOTSTRAP_RESAMPLES,
    MIN_BOOTSTRAP,
    cliffs_delta,
    holm,
    matched_rank_biserial,
    ordered,
)

# ----- the tables a claim is tested on -----

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


def _scores(part: pd.DataFrame, metric: str, diverged: str) -> np.ndarray:
    """Higher is better: the metric, negated where lower is better. A diverged run: -inf (the
    worst) where diverged runs rank worst, NaN where they are dropped; a failed run or a
    missing value: NaN (left out)."""
    values = pd.to_numeric(part[metric], errors="coerce").to_numpy(float)
    values = -values if METRICS[metric].lower_is_better else values
    status = part["status"].to_numpy()
    values = np.where(status == "diverged", -np.inf if diverged == "worst" else np.nan, values)
    return np.where(status == "failed", np.nan, values)


def _raw(scores: np.ndarray, metric: str) -> np.ndarray:
    return -scores if METRICS[metric].lower_is_better else scores


# ----- the parts: one test each -----


@dataclass
class Part:
    label: str
    n: int  # pairs, runs or levels it rests on
    effect: float = np.nan  # > 0 supports the claim
    ci_low: float = np.nan
    ci_high: float = np.nan
    p_for: float = np.nan
    p_against: float = np.nan
    min_p: float = np.nan  # the floor: the smallest p_for this n and these ties allow
    supports: bool = False
    difference: float = np.nan  # in the metric's units, where there is one
    size: float = np.nan  # on the minimum effect's scale (> 0: the claimed way); NaN: none
    why: str = ""  # why it was not tested
    note: str = ""  # what was left out, said beside the result
    # for the seeds a part would need: its shifted paired differences, and values per seed
    differences: np.ndarray = field(default=None, repr=False)
    per_seed: float = np.nan


def _bootstrap(statistic, samples: list[np.ndarray], paired: bool, seed: int):
    """95% percentile interval of statistic(*samples) (vectorised over a leading resample
    axis), resampling pairs (paired) or each sample; None below MIN_BOOTSTRAP values, or with
    seed None (floors only: `floor_of`)."""
    if seed is None or min(len(s) for s in samples) < MIN_BOOTSTRAP:
        return np.nan, np.nan, None
    rng = np.random.default_rng(seed)
    if paired:
        idx = rng.integers(0, len(samples[0]), (BOOTSTRAP_RESAMPLES, len(samples[0])))
        resampled = [s[idx] for s in samples]
    else:
        resampled = [s[rng.integers(0, len(s), (BOOTSTRAP_RESAMPLES, len(s)))] for s in samples]
    with np.errstate(invalid="ignore"):
        values = np.asarray(statistic(*resampled), float)
    if not np.isfinite(values).any():
        return np.nan, np.nan, values
    low, high = np.nanpercentile(np.where(np.isfinite(values), values, np.nan), [2.5, 97.5])
    return float(low), float(high), values


def _difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a - b; a pair with one diverged run (ranked worst) is an infinite difference."""
    with np.errstate(invalid="ignore"):
        return a - b


def _ordering_part(label: str, a: np.ndarray, b: np.ndarray, margin: float, scale: float,
                   min_effect: dict | None, seed: int) -> Part:
    """A (claimed better, higher score) against B, paired: the signed-rank test of a - b.
    margin > 0: A is not worse than B by more than margin (non-inferiority). size: the median
    difference, over `scale` (B's median) where the minimum effect is relative."""
    d = _difference(a, b)
    part = Part(label, len(d))
    if len(d) < 2:
        part.why = f"{len(d)} pair(s)"
        return part
    shifted = d + margin
    part.p_for, part.min_p = signed_rank(shifted, "greater")
    part.p_against, _ = signed_rank(shifted, "less")
    part.effect = float(matched_rank_biserial(np.zeros_like(shifted), shifted))
    part.ci_low, part.ci_high, _ = _bootstrap(
        lambda s: matched_rank_biserial(np.zeros_like(s), s), [shifted], True, seed)
    part.supports = part.effect > 0
    part.difference = float(np.median(d))
    part.differences = shifted
    if min_effect is not None and not margin:
        relative = min_effect["relative"]
        part.size = part.difference / scale if relative and scale else (
            np.nan if relative else part.difference)
    return part


def _equivalence_part(label: str, a: np.ndarray, b: np.ndarray, margin: float,
                      scale: float, seed: int) -> Part:
    """TOST on paired differences (raw values): within +-margin. Effect: 1 - |median| / margin,
    in (0, 1] inside the margin, down to -1 at three margins or beyond (a diverged partner)."""
    d = _difference(a, b)
    part = Part(label, len(d))
    if len(d) < 2:
        part.why = f"{len(d)} pair(s)"
        return part
    (p_low, floor_low), (p_high, floor_high) = (signed_rank(d + margin, "greater"),
                                                signed_rank(d - margin, "less"))
    part.p_for, part.min_p = max(p_low, p_high), max(floor_low, floor_high)
    part.p_against = min(1.0, 2 * min(signed_rank(d + margin, "less")[0],
                                      signed_rank(d - margin, "greater")[0]))

    def inside(x):
        with np.errstate(invalid="ignore"):
            return np.clip(1 - np.abs(np.median(x, axis=-1)) / margin, -1, 1)

    part.effect = float(inside(d))
    part.ci_low, part.ci_high, _ = _bootstrap(inside, [d], True, seed)
    part.supports = part.effect > 0
    part.difference = float(np.median(d) / scale) if scale else np.nan
    return part


def _bootstrap_p(label: str, n: int, effect: float, boot, resamplable: bool) -> Part:
    """A part whose test is its bootstrap: p_for the share of resamples <= 0, p_against of
    resamples >= 0; a resample without a finite value counts against both (it decides
    nothing). resamplable: enough values to resample (boot None then: floors only)."""
    part = Part(label, n, effect=effect,
                min_p=1 / (BOOTSTRAP_RESAMPLES + 1) if resamplable else np.nan)
    if boot is None:
        part.why = "not resampled" if resamplable else f"{n} values, too few to resample"
        return part
    undecided = ~np.isfinite(boot)
    part.p_for = (1 + np.sum(boot <= 0) + undecided.sum()) / (len(boot) + 1)
    part.p_against = (1 + np.sum(boot >= 0) + undecided.sum()) / (len(boot) + 1)
    if not undecided.all():
        part.ci_low, part.ci_high = np.nanpercentile(np.where(undecided, np.nan, boot),
                                                     [2.5, 97.5])
    part.supports = effect > 0
    part.size = effect
    return part


def _eta_squared(y: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Between-level over total sum of squares, vectorised over a leading resample axis."""
    y, codes = np.atleast_2d(y), np.atleast_2d(codes)
    total = ((y - y.mean(-1, keepdims=True)) ** 2).sum(-1)
    between = np.zeros(len(y))
    for level in np.unique(codes):
        inside = codes == level
        count = inside.sum(-1)
        mean = np.divide((y * inside).sum(-1), count, out=np.zeros(len(y)), where=count > 0)
        between += count * (mean - y.mean(-1)) ** 2
    return np.divide(between, total, out=np.full(len(y), np.nan), where=total > 0)


def _within_model_ranks(part: pd.DataFrame, scores: np.ndarray) -> np.ndarray:
    ranks = np.empty(len(part))
    for model in part["model"].unique():
        inside = (part["model"] == model).to_numpy()
        ranks[inside] = stats.rankdata(scores[inside])
    return ranks


def _influence_part(label: str, part: pd.DataFrame, scores: np.ndarray, axis: str,
                    among: list[str], seed: int) -> Part:
    """Rank-based eta squared (ranks within each model, diverged lowest where they rank worst)
    of `axis` minus the largest of the other axes'."""
    keep = ~np.isnan(scores)
    part, ranks = part[keep], _within_model_ranks(part[keep], scores[keep])
    codes = {a: pd.factorize(part[a].astype(str))[0] for a in [axis, *among]}

    def lead(y, *columns):
        shares = [_eta_squared(y, c) for c in columns]
        return shares[0] - np.max(shares[1:], axis=0)

    others = [a for a in among if a != axis]
    effect = float(lead(ranks, *(codes[a] for a in [axis, *others]))[0])
    rng = np.random.default_rng(seed)
    boot, resamplable = None, len(ranks) >= MIN_BOOTSTRAP
    if resamplable and seed is not None:
        idx = rng.integers(0, len(ranks), (BOOTSTRAP_RESAMPLES, len(ranks)))
        boot = lead(ranks[idx], *(codes[a][idx] for a in [axis, *others]))
    return _bootstrap_p(label, len(ranks), effect, boot, resamplable)


def _relative_range(values: np.ndarray, codes: np.ndarray) -> float:
    medians = [np.median(values[codes == c]) for c in np.unique(codes)]
    centre = abs(float(np.median(values)))
    return (max(medians) - min(medians)) / centre if centre else np.nan


def _sensitivity_part(label: str, part: pd.DataFrame, raw: np.ndarray, axis: str,
                      models: list[str], seed: int) -> Part:
    """The spread of `axis`'s level medians over the model's median (relative range): the
    smallest of the named models' minus the largest of the others'; resampled within model
    and level. Finished runs only: a level with a diverged run has no finite spread, and
    divergence is the `fails` test's question."""
    keep = np.isfinite(raw)
    part, raw = part[keep], raw[keep]
    present = list(dict.fromkeys(part["model"]))
    if not set(models) <= set(present) or len(present) <= len(models):
        return Part(label, len(raw), why="the named models or any other lack finished runs")
    codes = pd.factorize(part[axis].astype(str))[0]

    def lead(sample_idx):
        spread = {m: _relative_range(raw[idx], codes[idx]) for m, idx in sample_idx.items()}
        return (min(spread[m] for m in models)
                - max(v for m, v in spread.items() if m not in models))

    rows = {m: np.flatnonzero((part["model"] == m).to_numpy()) for m in present}
    effect = lead(rows)
    rng = np.random.default_rng(seed)
    boot, resamplable = None, min(len(r) for r in rows.values()) >= MIN_BOOTSTRAP
    if resamplable and seed is not None:
        boot = np.array([lead({m: _resample_within(r, codes, rng) for m, r in rows.items()})
                         for _ in range(BOOTSTRAP_RESAMPLES)])
    return _bootstrap_p(label, len(raw), float(effect), boot, resamplable)


def _resample_within(rows: np.ndarray, codes: np.ndarray, rng) -> np.ndarray:
    """Rows resampled with replacement within each level (each level keeps its count)."""
    return np.concatenate([rng.choice(rows[codes[rows] == c], (codes[rows] == c).sum())
                           for c in np.unique(codes[rows])])


def _variability_part(label: str, stable: np.ndarray, variable: np.ndarray, seed: int) -> Part:
    """Relative absolute deviations from their group's median (Brown-Forsythe on ranks): the
    variable level's against the stable one's, exact Mann-Whitney one-sided; effect Cliff's
    delta, > 0 when the variable level deviates more."""
    part = Part(label, len(stable) + len(variable))
    if min(len(stable), len(variable)) < 2:
        part.why = "fewer than two deviations a side"
        return part
    part.p_for, part.min_p = rank_sum(variable, stable, "greater")
    part.p_against, _ = rank_sum(variable, stable, "less")
    with np.errstate(invalid="ignore"):
        part.effect = float(cliffs_delta(stable, variable))
    part.ci_low, part.ci_high, _ = _bootstrap(cliffs_delta, [stable, variable], False, seed)
    part.supports = part.effect > 0
    return part


def _relative_deviations(raw: np.ndarray, groups: pd.Series) -> np.ndarray:
    """Each run's |value - its group's median| / |median|, the median over the group's finite
    values; a diverged run (infinite where ranked worst) deviates without bound. Each deviation
    counts once: a group of two finished runs gives one (the two are equal), and an odd group
    loses the structural zero of its median run (Hines & Hines 2000). NaN: left out."""
    out = np.full(len(raw), np.nan)
    for _, idx in groups.groupby(groups, sort=False).indices.items():
        values = raw[idx]
        finite = idx[np.isfinite(values)]
        out[idx[np.isinf(values)]] = np.inf
        if len(finite) < 2:
            continue
        centre = np.median(raw[finite])
        if centre == 0:
            continue
        dev = np.abs(raw[finite] - centre) / abs(centre)
        if len(finite) == 2:
            dev[1] = np.nan
        elif len(finite) % 2:
            dev[np.argmin(dev)] = np.nan
        out[finite] = dev
    return out


def _monotone_part(label: str, x: np.ndarray, y: np.ndarray, margin: float, seed: int) -> Part:
    """|Spearman's rho| below margin: TOST on Fisher's z with Fieller's standard error
    sqrt(1.06 / (n - 3)). Effect: 1 - |rho| / margin (> 0 inside the margin)."""
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    part = Part(label, len(x))
    if len(x) < 5:
        part.why = f"{len(x)} finished runs, too few for a correlation"
        return part
    rho = float(stats.spearmanr(x, y).statistic)
    se, zm = math.sqrt(1.06 / (len(x) - 3)), math.atanh(margin)
    z = math.atanh(float(np.clip(rho, -0.999999, 0.999999)))
    norm = stats.norm
    part.p_for = max(norm.sf((z + zm) / se), norm.cdf((z - zm) / se))
    part.p_against = min(1.0, 2 * min(norm.cdf((z + zm) / se), norm.sf((z - zm) / se)))
    part.min_p = float(norm.sf(zm / se))
    part.effect, part.difference = 1 - abs(rho) / margin, rho

    def inside(xs, ys):
        rx, ry = stats.rankdata(xs, axis=-1), stats.rankdata(ys, axis=-1)
        rx, ry = rx - rx.mean(-1, keepdims=True), ry - ry.mean(-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = (rx * ry).sum(-1) / np.sqrt((rx ** 2).sum(-1) * (ry ** 2).sum(-1))
        return 1 - np.abs(r) / margin

    part.ci_low, part.ci_high, _ = _bootstrap(inside, [x, y], True, seed)
    part.supports = part.effect > 0
    return part


def _fails_part(label: str, at_level: np.ndarray, others: np.ndarray, seed: int) -> Part:
    """More runs diverge at the level(s) than elsewhere: Fisher's exact test; effect the
    difference in the fraction diverged."""
    part = Part(label, len(at_level) + len(others))
    if not len(at_level) or not len(others):
        part.why = "no runs on one side"
        return part
    table = [[at_level.sum(), len(at_level) - at_level.sum()],
             [others.sum(), len(others) - others.sum()]]
    part.p_for = float(stats.fisher_exact(table, alternative="greater").pvalue)
    part.p_against = float(stats.fisher_exact(table, alternative="less").pvalue)
    part.min_p = float(stats.fisher_exact([[len(at_level), 0], [0, len(others)]],
                                          alternative="greater").pvalue)
    part.effect = float(at_level.mean() - others.mean())
    part.ci_low, part.ci_high, _ = _bootstrap(lambda a, b: a.mean(-1) - b.mean(-1),
                                              [at_level.astype(float), others.astype(float)],
                                              False, seed)
    part.supports = part.effect > 0
    return part


def _same_ordering_part(label: str, here: pd.DataFrame, there: pd.DataFrame, axis: str,
                        scores_here: np.ndarray, scores_there: np.ndarray, seed: int) -> Part:
    """Do this study's runs follow the reference study's order of the levels? Kendall's tau_b
    between each run's score and its level's rank by median score in the reference (the
    Jonckheere-Terpstra trend test, the order given by the reference): its n is the runs, not
    the levels, so that 10 seeds of 5 inits can decide. Interval: runs resampled within level."""
    levels = [lv for lv in dict.fromkeys(here[axis]) if lv in set(there[axis])]
    part = Part(label, len(levels))
    if len(levels) < 3:
        part.why = f"{len(levels)} levels in both studies"
        return part
    keep_there = there[axis].isin(levels).to_numpy() & ~np.isnan(scores_there)
    medians = pd.Series(scores_there[keep_there]).groupby(
        there[axis].to_numpy()[keep_there]).median()
    if len(medians) < len(levels):
        part.why = "a level without runs in the reference study"
        return part
    order = medians.rank()
    keep = here[axis].isin(levels).to_numpy() & ~np.isnan(scores_here)
    x = here[axis].to_numpy()[keep]
    x, y = order.loc[x].to_numpy(float), scores_here[keep]
    part.n = len(y)
    if len(y) < 4:
        part.why = f"{len(y)} runs"
        return part
    part.p_for, part.min_p = kendall_trend(x, y, "greater")
    part.p_against, _ = kendall_trend(x, y, "less")
    part.effect = float(stats.kendalltau(x, y).statistic)
    part.supports = part.effect > 0
    codes = pd.factorize(x)[0]
    if seed is not None and np.bincount(codes).min() >= 2:
        rng = np.random.default_rng(seed)
        boot = []
        for _ in range(BOOTSTRAP_RESAMPLES // 4):  # each a loop over levels: a quarter will do
            rows = _resample_within(np.arange(len(y)), codes, rng)
            boot.append(stats.kendalltau(x[rows], y[rows]).statistic)
        part.ci_low, part.ci_high = np.nanpercentile(boot, [2.5, 97.5])
    return part


# ----- a claim on its study -----


@dataclass(frozen=True)
class Reading:
    """How a claim's runs are read: diverged runs dropped or ranked worst, collapsed runs kept
    or left out, and the metric (None: the claim's own). `decides`: a verdict that changes
    under this reading makes the claim fragile (a metric shown beside does not)."""
    kind: str  # declared, diverged, collapsed, metric: Holm's family within the paper
    label: str
    diverged: str
    collapsed: bool = True
    metric: str | None = None
    decides: bool = True


def readings(claim: dict) -> list[Reading]:
    """The declared reading first, then the others the claim is also read under."""
    declared = claim["diverged"]
    out = [Reading("declared", "as declared", declared)]
    if claim["test"] not in ONE_READING:
        other = "worst" if declared == "drop" else "drop"
        out.append(Reading("diverged", "diverged ranked worst" if other == "worst"
                           else "diverged left out", other))
    if any(METRICS[m].table == "latent" for m in claim["metric"]):
        out.append(Reading("collapsed", "collapsed runs left out", declared, collapsed=False))
    if "also_metric" in claim:
        out.append(Reading("metric", f"on {claim['also_metric']} instead", declared,
                           metric=claim["also_metric"], decides=False))
    return out


def _resolve(levels: list[str], grid: list[str], named: set[str]) -> list[str]:
    out = []
    for level in levels:
        if level == "others":
            out += [lv for lv in grid if lv not in named]
        elif level in ("highest", "lowest"):
            numeric = sorted(grid, key=float)
            out.append(numeric[-1] if level == "highest" else numeric[0])
        else:
            out.append(level)
    return list(dict.fromkeys(out))


def _strata(claim: dict, table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    if claim["per"] == "model":
        return [(m, table[table["model"] == m]) for m in dict.fromkeys(table["model"])]
    return [("all models" if table["model"].nunique() > 1 else table["model"].iloc[0], table)]


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


def _pairs(part: pd.DataFrame, axis: str, blocks: list[str], scores: np.ndarray,
           level_a: str, level_b: str) -> tuple[np.ndarray, np.ndarray, int]:
    """The two levels' scores on the runs that share every other axis (blocks): a block is
    dropped where either run is left out (failed, missing, or diverged where diverged runs
    are dropped), or where both diverged (a tie of two failures is no evidence of anything);
    the last number counts those."""
    key = (part.groupby(blocks, sort=False, dropna=False).ngroup() if blocks
           else pd.Series(0, index=part.index))
    long = pd.DataFrame({"key": key, "level": part[axis], "score": scores})
    if long.duplicated(["key", "level"]).any():
        raise DataError(f"two runs of a model share every axis ({', '.join([axis, *blocks])}):"
                        " runs are paired on their axes, so a replicate needs a column of its "
                        "own, such as seed")
    wide = long.pivot(index="key", columns="level", values="score")
    if level_a not in wide or level_b not in wide:
        return np.array([]), np.array([]), 0
    wide = wide[[level_a, level_b]].dropna()
    both = np.isneginf(wide[level_a]) & np.isneginf(wide[level_b])
    wide = wide[~both]
    return wide[level_a].to_numpy(float), wide[level_b].to_numpy(float), int(both.sum())


def _scale(values: np.ndarray, metric: str) -> float:
    finite = _raw(values[np.isfinite(values)], metric)
    return abs(float(np.median(finite))) if len(finite) else 0.0


def claim_parts(claim: dict, table: pd.DataFrame, axes: list[str],
                reference: pd.DataFrame | None = None, seed: int = 0,
                reading: Reading | None = None) -> list[Part]:
    """Every part of one claim on its study's table (runs.csv beside the latent scores) and,
    for same_ordering, the reference study's, under a reading (default: as declared)."""
    reading = reading or readings(claim)[0]
    test, axis = claim["test"], claim.get("axis")
    table = in_scope(claim, table, axes, collapsed=reading.collapsed)
    if reference is not None:
        reference = in_scope(claim, reference, [a for a in axes if a in reference],
                             "reference", reading.collapsed)
    grid = ordered(table[axis]) if axis else []
    metrics = [reading.metric] if reading.metric else claim["metric"]
    absent = [m for m in metrics if m not in table]
    if absent:
        return [Part(f"{', '.join(absent)}", 0, why="no such column in the runs table")]
    parts: list[Part] = []
    for stratum, part in _strata(claim, table):
        blocks = [a for a in axes if a != axis and (a != "model" or claim["per"] == "pooled")]
        prefix = f"{stratum}: " if claim["per"] == "model" else ""
        # no_monotone relates its two metrics; fails counts diverged runs, whatever the metric
        for metric in metrics if test not in ("no_monotone", "fails") else [None]:
            scores = _scores(part, metric, reading.diverged) if metric else None
            parts += _parts_of(test, claim, part, axes, blocks, grid, metric, scores, prefix,
                               reference, reading, seed)
    for part in parts:  # NaN or inf never decides a verdict
        if not part.why and not np.isfinite(part.effect):
            part.why = "no finite effect (too few finished runs on one side)"
        if part.why:
            part.p_for = part.p_against = np.nan
    return parts


def _parts_of(test, claim, part, axes, blocks, grid, metric, scores, prefix, reference,
              reading, seed):
    axis, parts = claim.get("axis"), []
    seeds = part["seed"].nunique() if "seed" in blocks and "seed" in part else 1
    if test in ("ordering", "best_level"):
        comparisons = []
        if test == "ordering":
            better = _resolve(claim["better"], grid, set(claim["worse"]))
            worse = _resolve(claim["worse"], grid, set(better))
            comparisons = [(a, b) for a in better for b in worse if a != b]
        else:
            if "best" in claim:
                best = _resolve(claim["best"], grid, set())
                comparisons += [(best[0], b) for b in grid if b != best[0]]
            if "worst" in claim:
                worst = _resolve(claim["worst"], grid, set())
                comparisons += [(a, worst[0]) for a in grid if a != worst[0]
                                and (a, worst[0]) not in comparisons]
        for a, b in comparisons:
            sa, sb, both = _pairs(part, axis, blocks, scores, a, b)
            margin = 0.0
            if "margin" in claim:
                margin = claim["margin"]["value"]
                if claim["margin"]["relative"]:
                    margin *= _scale(sb, metric)
            made = _ordering_part(f"{prefix}{a} {'not worse than' if margin else 'beats'} {b} "
                                  f"on {metric}", sa, sb, margin, _scale(sb, metric),
                                  claim["min_effect"], seed)
            made.per_seed = made.n / seeds
            made.note = f"{both} pair(s) where both diverged left out" if both else ""
            parts.append(made)
    elif test == "equivalence":
        levels = _resolve(claim["levels"], grid, set())
        for i, a in enumerate(levels):
            for b in levels[i + 1:]:
                sa, sb, both = _pairs(part, axis, blocks, scores, a, b)
                ra, rb = _raw(sa, metric), _raw(sb, metric)
                scale = _scale(np.concatenate([sa, sb]), metric)
                margin = claim["margin"]["value"] * (scale if claim["margin"]["relative"] else 1)
                made = _equivalence_part(f"{prefix}{a} ~ {b} on {metric}", ra, rb, margin,
                                         scale, seed)
                made.note = f"{both} pair(s) where both diverged left out" if both else ""
                parts.append(made)
    elif test == "most_influential":
        parts.append(_influence_part(f"{prefix}{axis} among {', '.join(claim['among'])} on "
                                     f"{metric}", part, scores, axis, claim["among"], seed))
    elif test == "most_sensitive":
        parts.append(_sensitivity_part(f"{' and '.join(claim['model'])} most sensitive to "
                                       f"{axis} on {metric}", part, _raw(scores, metric), axis,
                                       claim["model"], seed))
    elif test == "less_variable":
        parts += _variability_parts(claim, part, axes, grid, metric, scores, prefix, seed)
    elif test == "fails":
        levels = _resolve(claim["levels"], grid, set())
        usable = part["status"].isin(["ok", "diverged"]).to_numpy()
        diverged = (part["status"] == "diverged").to_numpy()
        at = part[axis].isin(levels).to_numpy()
        parts.append(_fails_part(f"{prefix}{', '.join(levels)} diverge more than the other "
                                 f"{axis} levels", diverged[usable & at],
                                 diverged[usable & ~at], seed))
    elif test == "no_monotone":
        ok = (part["status"] == "ok").to_numpy()
        x, y = (pd.to_numeric(part[m], errors="coerce").to_numpy(float)[ok]
                for m in claim["metric"])
        parts.append(_monotone_part(f"{prefix}{claim['metric'][0]} vs {claim['metric'][1]}",
                                    x, y, claim["margin"]["value"], seed))
    elif test == "same_ordering":
        there = reference[reference["model"].isin(part["model"].unique())]
        there = there.assign(**{axis: there[axis].map(lambda v: level_key(axis, v))})
        parts.append(_same_ordering_part(f"{prefix}{axis} order on {metric}", part, there, axis,
                                         scores, _scores(there, metric, reading.diverged), seed))
    return parts


def _variability_parts(claim, part, axes, grid, metric, scores, prefix, seed) -> list[Part]:
    """less_variable: each stable level against each variable one. learned_only: a run whose
    loss was already at its plateau after the first epoch learned nothing, and a spread of
    runs that learned nothing says nothing of sensitivity: they are left out, and a level
    where most did so is not tested."""
    axis = claim["axis"]
    stuck = np.zeros(len(part), bool)
    if claim.get("learned_only") and "plateau_epoch" in part:
        epochs = pd.to_numeric(part["plateau_epoch"], errors="coerce").to_numpy(float)
        stuck = (part["status"] == "ok").to_numpy() & (epochs <= 1)
        scores = np.where(stuck, np.nan, scores)
    kept = [a for a in axes if a not in claim["across"]]
    groups = (part.groupby(kept, sort=False, dropna=False).ngroup() if kept
              else pd.Series(0, index=part.index))
    dev = _relative_deviations(_raw(scores, metric), groups)
    parts = []
    for s in _resolve(claim["stable"], grid, set()):
        for v in _resolve(claim["variable"], grid, {s}):
            ds, dv = dev[(part[axis] == s).to_numpy()], dev[(part[axis] == v).to_numpy()]
            made = _variability_part(
                f"{prefix}{s} varies less than {v} across {', '.join(claim['across'])} on "
                f"{metric}", ds[~np.isnan(ds)], dv[~np.isnan(dv)], seed)
            for level in (s, v):
                at = (part[axis] == level).to_numpy()
                if stuck[at].sum() * 2 > at.sum():
                    made.why = (f"{level} did not learn in {stuck[at].sum()} of {at.sum()} runs "
                                "(at its plateau after the first epoch)")
            parts.append(made)
    return parts


# ----- verdicts -----

VERDICTS = ("holds", "contradicted", "negligible", "fragile", "inconclusive", "not run")

CLAIM_FIELDS = ("paper", "claim_id", "section", "claim", "quote", "study", "test", "metric",
                "per", "diverged", "n_parts", "shown_part", "effect_measure", "effect",
                "ci_low", "ci_high", "difference", "min_effect", "p", "p_against", "p_holm",
                "p_holm_against", "floor_holm", "seeds_to_decide", "verdict",
                "declared_verdict", "reason", "other_readings", "n_runs", "n_diverged",
                "n_collapsed", "paper_figure", "figure")
PART_FIELDS = ("paper", "claim_id", "study", "reading", "part", "n", "effect", "ci_low",
               "ci_high", "difference", "size", "p_for", "p_against", "min_p", "supports",
               "why", "note")
EFFECT_MEASURES = {
    "ordering": "matched rank-biserial of the paired differences (> 0: the claimed order)",
    "best_level": "matched rank-biserial of the paired differences (> 0: the claimed order)",
    "equivalence": "1 - |median difference| / margin (> 0: inside the margin)",
    "most_influential": "eta squared of the axis (ranks within model) minus the largest other",
    "most_sensitive": "relative range of the level medians, the model minus the largest other",
    "less_variable": "Cliff's delta of relative deviations (> 0: the stable level varies less)",
    "no_monotone": "1 - |Spearman rho| / margin (> 0: inside the margin)",
    "fails": "fraction diverged at the level minus elsewhere",
    "same_ordering": "Kendall tau_b of the runs against the reference order (> 0: same order)",
}


def combine(parts: list[Part]) -> dict:
    """A claim's p_for (the largest of its parts': every part must hold, and NaN while one is
    untested), p_against (the smallest of its parts' times their number), floor (the largest
    of its parts': the claim's p_for can go no lower), the part it shows and, where parts were
    not tested or tie, why."""
    untested = [p for p in parts if np.isnan(p.p_for)]
    tested = [p for p in parts if not np.isnan(p.p_for)]
    floors = [p.min_p for p in parts]
    result = {"floor": max(floors) if parts and not np.isnan(floors).any() else np.nan,
              "untested": "; ".join(dict.fromkeys(f"{p.label} ({p.why})" for p in untested)),
              "ties": [p for p in tested if p.effect == 0]}
    if not tested:
        return {**result, "p": np.nan, "p_against": np.nan, "shown": None}
    against = [p for p in tested if p.effect < 0]
    shown = (min(against, key=lambda p: p.p_against) if against
             else max(tested, key=lambda p: p.p_for))
    return {**result, "p": max(p.p_for for p in tested) if not untested else np.nan,
            "p_against": min(1.0, len(parts) * min(p.p_against for p in tested)),
            "shown": shown}


def _describe_min_effect(min_effect: dict | None) -> str:
    if min_effect is None:
        return ""
    value = min_effect["value"]
    return f"{value:.0%} of the compared level" if min_effect["relative"] else f"{value:g}"


def decide(result: dict, parts: list[Part], p_holm: float, p_holm_against: float,
           min_effect: dict | None, family: int) -> tuple[str, str]:
    """(verdict, why) of one reading of a claim; `family`: the paper's tested claims, whose
    number sets Holm's strictest threshold ALPHA / family."""
    threshold = ALPHA / max(family, 1)
    needed = min_effect["value"] if min_effect else np.nan
    if p_holm < ALPHA and not p_holm_against < ALPHA:
        small = [p for p in parts if np.isfinite(p.size) and p.size < needed]
        if small:
            return "negligible", (f"significant, but {small[0].label}: {small[0].size:.2g} "
                                  f"is below the minimum effect "
                                  f"{_describe_min_effect(min_effect)}")
        return "holds", ""
    if p_holm_against < ALPHA:
        shown = result["shown"]
        if np.isfinite(shown.size) and -shown.size < needed:
            return "negligible", (f"significant against, but {shown.label}: {shown.size:.2g} "
                                  f"is within the minimum effect "
                                  f"{_describe_min_effect(min_effect)}")
        return "contradicted", ""
    if result["untested"]:
        return "inconclusive", f"missing levels or runs: {result['untested']}"
    if result["ties"]:
        tie = result["ties"][0]
        return "inconclusive", f"a tie: {tie.label} (effect exactly 0)"
    if not result["floor"] < threshold:
        return "inconclusive", (f"too few seeds or runs: the smallest p these runs allow, "
                                f"{result['floor']:.2g}, does not reach Holm's threshold "
                                f"{ALPHA:g}/{family} = {threshold:.2g}")
    return "inconclusive", "not significant after Holm"


def evaluate(papers: list[dict], matches: list[dict], tables: dict[str, pd.DataFrame],
             axes: dict[str, list[str]], figures: dict[str, dict] | None = None,
             seed: int = 0, notes: dict[str, str] | None = None) -> tuple[pd.DataFrame,
                                                                         pd.DataFrame]:
    """(claims, parts): one row per claim and study it applies to (one "not run" row where none),
    verdicts Holm-corrected within each paper and reading; and every part's test under every
    reading. figures: study -> {"loss": its figure, "latent": its latent-quality figure}, named
    beside each claim; notes: claim id -> a word said beside its verdict."""
    claims = {(c["paper"], c["id"]): c for paper in papers for c in paper["claims"]}
    rows, part_rows = [], []
    for match in matches:
        claim = claims[(match["paper"], match["claim"])]
        row = {"paper": claim["paper"], "claim_id": claim["id"], "section": claim["section"],
               "claim": claim["claim"], "quote": claim.get("quote", ""),
               "study": match["study"] or "", "test": claim["test"],
               "metric": ", ".join(claim["metric"]), "per": claim["per"],
               "diverged": claim["diverged"] if claim["test"] not in ONE_READING else "",
               "min_effect": _describe_min_effect(claim["min_effect"]),
               "paper_figure": claim.get("figure", ""), "verdict": "not run",
               "reason": match["reason"], "_readings": [], "_reference": match["reference"]}
        if match["study"] is not None:
            table = tables[match["study"]]
            for reading in readings(claim):
                parts = claim_parts(claim, table, axes[match["study"]],
                                    tables.get(match["reference"]), seed, reading)
                row["_readings"].append((reading, parts, combine(parts)))
                part_rows += [{"paper": claim["paper"], "claim_id": claim["id"],
                               "study": match["study"], "reading": reading.label,
                               "part": p.label, **{k: getattr(p, k) for k in PART_FIELDS[5:]}}
                              for p in parts]
            row.update(_counts(claim, in_scope(claim, table, axes[match["study"]])))
            kind = "latent" if any(METRICS[m].table == "latent" for m in claim["metric"]) \
                else "loss"
            row["figure"] = (figures or {}).get(match["study"], {}).get(kind, "")
        rows.append(row)
    for paper in dict.fromkeys(r["paper"] for r in rows):
        _judge([r for r in rows if r["paper"] == paper], tables, axes, claims, notes or {})
    table = pd.DataFrame(rows).reindex(columns=list(CLAIM_FIELDS))
    counts = ["n_parts", "n_runs", "n_diverged", "n_collapsed", "seeds_to_decide"]
    table[counts] = table[counts].astype("Int64")  # empty where not run, not 2.0
    return (table.reset_index(drop=True), pd.DataFrame(part_rows, columns=list(PART_FIELDS)))


def _counts(claim: dict, runs: pd.DataFrame) -> dict:
    collapsed = runs["collapsed"].fillna(False).astype(bool) if "collapsed" in runs else []
    return {"n_runs": len(runs), "n_diverged": int((runs["status"] == "diverged").sum()),
            "n_collapsed": int(sum(collapsed)),
            "effect_measure": EFFECT_MEASURES[claim["test"]]}


def _judge(rows: list[dict], tables, axes, claims, notes) -> None:
    """Holm within the paper, for each reading; then each tested row's verdict, fragility and
    the seeds it would need."""
    tested = [r for r in rows if r["_readings"]]
    family = sum(1 for r in tested if not np.isnan(r["_readings"][0][2]["p"])
                 or not np.isnan(r["_readings"][0][2]["p_against"]))
    kinds = dict.fromkeys(reading.kind for r in tested for reading, _, _ in r["_readings"])
    adjusted = {}
    for kind in kinds:
        chosen = [next((res for reading, _, res in r["_readings"] if reading.kind == kind),
                       r["_readings"][0][2]) for r in tested]
        adjusted[kind] = (holm([c["p"] for c in chosen]), holm([c["p_against"] for c in chosen]))
    for i, row in enumerate(tested):
        claim = claims[(row["paper"], row["claim_id"])]
        verdicts = []
        for reading, parts, result in row["_readings"]:
            p_holm, p_holm_against = (a[i] for a in adjusted[reading.kind])
            verdicts.append((reading, *decide(result, parts, p_holm, p_holm_against,
                                              claim["min_effect"], family),
                             p_holm, p_holm_against))
        (_, verdict, why, p_holm, p_holm_against), others = verdicts[0], verdicts[1:]
        _, parts, result = row["_readings"][0]
        shown = result["shown"] or Part("", 0)
        row.update({"n_parts": len(parts), "shown_part": shown.label, "effect": shown.effect,
                    "ci_low": shown.ci_low, "ci_high": shown.ci_high,
                    "difference": shown.difference, "p": result["p"],
                    "p_against": result["p_against"], "p_holm": p_holm,
                    "p_holm_against": p_holm_against,
                    "floor_holm": min(1.0, result["floor"] * max(family, 1)),
                    "declared_verdict": verdict})
        row["other_readings"] = "; ".join(
            f"{reading.label}: {v}" + (f" (p_holm {ph:.2g})" if np.isfinite(ph) else "")
            for reading, v, _, ph, _ in others)
        fragile = [reading.label for reading, v, *_ in others if reading.decides and v != verdict]
        notes_ = [why] if why else []
        if why.startswith("too few seeds"):
            seeds = _seeds_to_decide(claim, tables[row["study"]], axes[row["study"]], parts,
                                     family, tables.get(row["_reference"]))
            row["seeds_to_decide"] = seeds["floor"]
            notes_.append(seeds["text"])
        if fragile:
            notes_.insert(0, f"{verdict} as declared, but not {', '.join(fragile)}")
        notes_ += _left_out(row, parts)
        if row["claim_id"] in notes:
            notes_.append(notes[row["claim_id"]])
        row["verdict"] = "fragile" if fragile else verdict
        row["reason"] = "; ".join(notes_)


def _left_out(row: dict, parts: list[Part]) -> list[str]:
    out = [f"{row['n_diverged']} of {row['n_runs']} runs diverged"] if row["n_diverged"] else []
    if row["n_collapsed"]:
        out.append(f"{row['n_collapsed']} of {row['n_runs']} runs collapsed")
    out += list(dict.fromkeys(f"{p.label}: {p.note}" for p in parts if p.note))
    return out


# ----- how many seeds a claim needs -----


def _seeds_to_decide(claim: dict, table: pd.DataFrame, axes: list[str], parts: list[Part],
                     family: int, reference: pd.DataFrame | None) -> dict:
    """The seeds that would let a too-few-seeds claim decide: `floor`, the fewest whose
    smallest p reaches Holm's strictest threshold (ALPHA / family) — for signed-rank parts from
    the nonzero pairs each seed gave here (so runs left out, diverged or failed, count against
    it), else by re-planning the claim on more seeds with every run finished — and, for
    signed-rank parts, the seeds for 80% power at the observed effect (Noether's formula,
    docs/analysis.md "Floors and power")."""
    threshold = ALPHA / max(family, 1)
    ranked = [p for p in parts if p.differences is not None and p.per_seed > 0]
    if ranked and len(ranked) == len(parts):
        rates = [np.count_nonzero(p.differences) / (p.n / p.per_seed) for p in ranked]
        floor = (math.ceil(pairs_for_floor(threshold) / min(rates)) if min(rates) > 0
                 else None)
    else:
        floor = seeds_for_floor(claim, table, axes, threshold, reference)
    text = (f"{floor} seeds would let it reach that threshold" if floor
            else "more seeds alone cannot reach that threshold")
    if ranked and len(ranked) == len(parts):
        pairs = [noether_pairs(p.differences, threshold) / p.per_seed for p in ranked]
        if np.all(np.isfinite(pairs)):
            text += f"; at the observed effect, about {math.ceil(max(pairs))} for 80% power"
        else:
            text += "; at the observed effect, no number of seeds (a part points the other way)"
    return {"floor": floor, "text": text}


def planned_table(runs: list[dict], axes: list[str], seeds: int | None = None,
                  rng_seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    """A runs table of finished runs with distinct random metrics on the grid `runs` spans
    (dicts of axis values, `model` included): for the floors, which depend on the design and
    not on the values. seeds: replicate the grid over this many seeds (the seed axis replaced,
    or added)."""
    table = pd.DataFrame(runs)
    if "model" not in table:
        table["model"] = "vanilla"
    if seeds is not None:
        table = table.drop(columns="seed", errors="ignore").drop_duplicates()
        table = table.merge(pd.DataFrame({"seed": range(1, seeds + 1)}), how="cross")
        axes = [*[a for a in axes if a != "seed"], "seed"]
    rng = np.random.default_rng(rng_seed)
    for metric in METRICS:
        table[metric] = rng.permutation(len(table)) + 1.0
    return table.assign(status="ok", collapsed=False, path=range(len(table))), axes


def floor_of(claim: dict, table: pd.DataFrame, axes: list[str],
             reference: pd.DataFrame | None = None) -> tuple[float, list[Part]]:
    """The claim's floor on a table and its parts, without resampling (seed None)."""
    parts = claim_parts(claim, table, axes, reference, seed=None)
    return combine(parts)["floor"], parts


def seeds_for_floor(claim: dict, table: pd.DataFrame, axes: list[str], threshold: float,
                    reference: pd.DataFrame | None = None, most: int = 64) -> int | None:
    """The fewest seeds (the grid replicated over them) whose floor is below `threshold`;
    None if `most` do not do it. The floor only falls as seeds are added: bisection."""
    design = table[[a for a in {*axes, "model"} if a in table]].to_dict("records")

    def reaches(seeds: int) -> bool:
        planned, planned_axes = planned_table(design, axes, seeds)
        floor, _ = floor_of(claim, planned, planned_axes, reference)
        return floor < threshold

    low, high = 0, 1
    while not reaches(high):
        if high >= most:
            return None
        low, high = high, min(high * 2, most)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if reaches(mid) else (mid, high)
    return high


def power_rows(papers: list[dict], matches: list[dict], designs: dict[str, list[dict]],
               axes: dict[str, list[str]]) -> list[dict]:
    """Before any run, per claim matched to a study: its parts, their n, the smallest p its
    design allows after Holm (the floor times the paper's matched claims: Holm's strictest
    threshold), and the seeds that would bring that below ALPHA; for a no-relation claim also
    the seeds for 80% power when there is no relation at all (rho 0). designs: study -> its
    runs' axis values. Every run is assumed to finish."""
    claims = {(c["paper"], c["id"]): c for p in papers for c in p["claims"]}
    planned = {s: planned_table(d, axes[s]) for s, d in designs.items()}
    out = []
    for paper in papers:
        mine = [m for m in matches if m["paper"] == paper["paper"] and m["study"]]
        family = len(mine)
        for match in mine:
            claim = claims[(match["paper"], match["claim"])]
            table, study_axes = planned[match["study"]]
            reference = planned[match["reference"]][0] if match["reference"] else None
            floor, parts = floor_of(claim, table, study_axes, reference)
            ns = [p.n for p in parts]
            seeds_now = table["seed"].nunique() if "seed" in table else 1
            power_seeds = None
            if claim["test"] == "no_monotone" and parts and parts[0].n:
                runs = correlation_runs_inside(claim["margin"]["value"], ALPHA / family)
                power_seeds = math.ceil(runs / (parts[0].n / seeds_now))
            out.append({
                "paper": paper["paper"], "claim_id": claim["id"], "study": match["study"],
                "parts": len(parts), "n": f"{min(ns)}" if min(ns, default=0) == max(ns, default=0)
                else f"{min(ns)}-{max(ns)}", "family": family,
                "floor_holm": min(1.0, floor * family) if np.isfinite(floor) else np.nan,
                "seeds": 1 if seeds_now == 1 and floor < ALPHA / family else
                seeds_for_floor(claim, table, study_axes, ALPHA / family, reference),
                "seeds_now": seeds_now, "power_seeds": power_seeds})
    return out


# ----- a runs table of one's own (`vaebench verdicts`) -----


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


def verdicts_on_table(papers: list[dict], table: pd.DataFrame, study: str,
                      claims_out, parts_out) -> pd.DataFrame:
    """Every claim of `papers` matched to a runs table and tested, as the claims rule does."""
    columns = list(table.columns)
    facts = table_facts(study, table.to_dict("records"), columns)
    claims = [c for p in papers for c in p["claims"]]
    matches = match_claims(claims, [facts])
    notes = {}
    for claim in claims:
        unknown = sorted(set(claim["applies_to"]["settings"]) & facts["unknown_settings"])
        if unknown:
            notes[claim["id"]] = "assumed, the table has no column: " + ", ".join(
                f"{k} ({claim['applies_to']['settings'][k]})" for k in unknown)
    axes = [a for a in columns if a in facts["levels"]]
    return write_claims(papers, matches, {study: table}, {study: axes}, {}, claims_out,
                        parts_out, notes=notes)


# ----- the claims rule -----

CLAIMS_CAPTION = (
    "Each claim of the papers (config/claims/<paper>.yaml) tested on the runs of the study it "
    "applies to; docs/analysis.md \"Claims and verdicts\" says how. holds / contradicted: "
    "p_holm (or p_holm_against) below 0.05 and the effect at least its minimum; negligible: "
    "significant but smaller; fragile: the verdict changes when diverged (or collapsed) runs "
    "are read the other way; effect > 0 supports the claim.")
PARTS_CAPTION = ("Every part of every claim under every reading: its n, effect, interval, the "
                 "median difference in the metric's units, one-sided p for and against the "
                 "claim, and its floor (min_p).")


def write_claims(papers: list[dict], matches: list[dict], tables: dict[str, pd.DataFrame],
                 axes: dict[str, list[str]], figures: dict[str, dict], claims_out, parts_out,
                 html_out=None, per_study: dict[str, str] | None = None,
                 notes: dict[str, str] | None = None) -> pd.DataFrame:
    """The claims rule and `vaebench verdicts`: every verdict (claims_out), the parts
    (parts_out), the report page and each study's own claims.csv (per_study: study -> path)."""
    claims, parts = evaluate(papers, matches, tables, axes, figures, notes=notes)
    write_atomic(claims_out, claims.to_csv(index=False))
    write_atomic(parts_out, parts.to_csv(index=False))
    for study, path in (per_study or {}).items():
        write_atomic(path, claims[claims["study"] == study].to_csv(index=False))
    if html_out is not None:
        shown = claims[["paper", "claim_id", "section", "claim", "study", "verdict", "effect",
                        "ci_low", "ci_high", "p_holm", "p_holm_against", "reason",
                        "other_readings", "paper_figure", "figure"]]
        write_atomic(html_out, render_html("Do the papers' findings hold?", [
            ("Verdicts", CLAIMS_CAPTION, shown),
            ("The parts of each claim", PARTS_CAPTION, parts),
        ]))
    return claims


def claim_lines(claims: pd.DataFrame, width: int = 110) -> list[str]:
    """One line per claim (and study) for `vaebench summary` and `vaebench verdicts`: id,
    verdict, study, the effect and p_holm of a tested claim, and the gist of why where it is
    not decided (the whole reason and the claim itself: claims.csv, the report)."""
    lines = []
    for row in claims.itertuples():
        tested = row.verdict != "not run"
        text = f"  {row.claim_id:<4} {row.verdict:<12} {row.study:<16} "
        effect, low, high, p_holm, p_against = (
            pd.to_numeric(v, errors="coerce") for v in
            (row.effect, row.ci_low, row.ci_high, row.p_holm, row.p_holm_against))
        if tested and not np.isnan(effect):
            interval = "" if np.isnan(low) else f" [{low:.2g}, {high:.2g}]"
            name, p_shown = (("p_holm_against", p_against) if effect < 0
                             and np.isfinite(p_against) else ("p_holm", p_holm))
            text += f"effect {effect:.2g}{interval}, {name} {p_shown:.2g}"
        gist = re.split(r"[:;]", str(row.reason))[0] if tested else str(row.reason)
        if row.verdict not in ("holds", "contradicted") and gist:
            text += f"{'; ' if tested and not np.isnan(effect) else ''}{gist}"
        lines.append(text if len(text) <= width else text[:width - 3] + "...")
    return lines
