"""The tests a claim may name, each once (REGISTRY): the keys it takes, the function that
builds its parts from a study's runs, its effect measure and how its floor is counted. A part
is one comparison (per model, metric and pair of levels) with an exact one-sided test for the
claim and one against it, its floor, an effect oriented so that > 0 supports the claim, and a
95% percentile bootstrap interval. How parts become a verdict: claims.verdicts. No torch.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..analysis.stats import BOOTSTRAP_RESAMPLES, MIN_BOOTSTRAP, cliffs_delta, matched_rank_biserial
from ..data import DataError
from .exact import kendall_trend, rank_sum, signed_rank
from .runs import raw, scores
from .spec import level_key

# ----- a part and its tests -----


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
    few: bool = False  # not tested for too few seeds or runs: more would test it
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


def _sensitivity(cube: np.ndarray) -> np.ndarray:
    """Each model's sensitivity to the axis beyond replicate noise: the between-level variance
    component of a one-way analysis of variance (levels the groups, replicates the blocks),
    unbiased, so that noise alone gives 0 on average whatever its size, as a signed standard
    deviation relative to the model's median. cube: (..., model, level, block) values, NaN
    where a run is missing; NaN for a model without two levels of two replicates."""
    count = np.sum(~np.isnan(cube), axis=-1)  # (..., model, level)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a level or model without runs
        means = np.nanmean(cube, axis=-1)
        total = count.sum(-1)
        grand = np.nansum(means * count, axis=-1) / total
        levels = np.sum(count > 0, axis=-1)
        between = np.nansum(count * (means - grand[..., None]) ** 2, axis=-1) / (levels - 1)
        within = (np.nansum((cube - means[..., None]) ** 2, axis=(-1, -2))
                  / (total - levels))
        size = (total - np.sum(count ** 2, axis=-1) / total) / (levels - 1)
        component = (between - within) / size
        median = np.abs(np.nanmedian(cube.reshape(*cube.shape[:-2], -1), axis=-1))
        sensitivity = np.sign(component) * np.sqrt(np.abs(component)) / median
    replicated = np.sum(count >= 2, axis=-1) >= 2
    return np.where(replicated & np.isfinite(sensitivity), sensitivity, np.nan)


def _sensitivity_parts(prefix: str, part: pd.DataFrame, raw: np.ndarray, axis: str,
                       models: list[str], blocks: list[str], seed: int) -> list[Part]:
    """A part per named model and other model: the named one's sensitivity to `axis`
    (`_sensitivity`) minus the other's, so that the claim holds where each named model beats
    every other (and is contradicted where one is beaten), never by the maximum of noisy others.
    A block (a seed, or where the study has none a combination of its other axes) fixes the
    data split, so the bootstrap resamples whole blocks, the same for every model. Finished
    runs only; a model needs two levels with two replicates each."""
    keep = np.isfinite(raw)
    present = list(dict.fromkeys(part.loc[keep, "model"]))
    if not set(models) <= set(present) or len(present) <= len(models):
        return [Part(f"{prefix} than the others", int(keep.sum()),
                     why="the named models or any other lack finished runs")]
    block = (part.groupby(blocks, sort=False, dropna=False).ngroup().to_numpy() if blocks
             else np.zeros(len(part), int))
    level = pd.factorize(part[axis].astype(str))[0]
    model = pd.Index(present).get_indexer(part["model"])
    cube = np.full((len(present), level.max() + 1, block.max() + 1), np.nan)
    cube[model[keep], level[keep], block[keep]] = raw[keep]
    spread = _sensitivity(cube)
    replicates = np.sum(~np.isnan(cube), axis=-1)
    boot = None
    if cube.shape[-1] >= MIN_BOOTSTRAP and seed is not None:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, cube.shape[-1], (BOOTSTRAP_RESAMPLES, cube.shape[-1]))
        boot = _sensitivity(np.moveaxis(cube[:, :, idx], 2, 0))  # (resample, model)
    parts = [_levels_differ_part(f"{prefix}{name}'s {axis} levels differ beyond seed noise",
                                 cube[present.index(name)], float(spread[present.index(name)]))
             for name in models]
    for name in models:
        for other in (m for m in present if m not in models):
            a, b = present.index(name), present.index(other)
            label = f"{prefix}{name} more sensitive to {axis} than {other}"
            n = int(np.sum(replicates[[a, b]]))
            if not np.isfinite(spread[a] - spread[b]):
                fewest = int(replicates[[a, b]][replicates[[a, b]] > 0].min())
                parts.append(Part(label, n, few=True, why=(
                    f"{fewest} replicate(s) a level: the spread beyond seed noise needs two "
                    "levels of at least two seeds (or runs of the other axes) a model")))
                continue
            made = _bootstrap_p(label, n, float(spread[a] - spread[b]),
                                None if boot is None else boot[:, a] - boot[:, b],
                                cube.shape[-1] >= MIN_BOOTSTRAP)
            if cube.shape[-1] < MIN_BOOTSTRAP:
                made.why = (f"{cube.shape[-1]} seeds (or blocks of the other axes), too few to "
                            f"resample (at least {MIN_BOOTSTRAP})")
                made.few = True
            parts.append(made)
    return parts


def _levels_differ_part(label: str, values: np.ndarray, sensitivity: float) -> Part:
    """A model sensitive to an axis must at least differ between the axis's levels beyond its
    own replicate noise: Kruskal-Wallis over the levels (values: level x replicate, NaN where
    missing), exact in size whatever the noise's scale, so that a noisy model is not read as a
    sensitive one. It cannot speak against the claim (p_against 1); effect: the sensitivity."""
    groups = [row[~np.isnan(row)] for row in values]
    groups = [g for g in groups if len(g)]
    part = Part(label, sum(map(len, groups)))
    if len(groups) < 2 or max(map(len, groups)) < 2:
        part.why, part.few = "fewer than two levels with two replicates", True
        return part
    pooled = np.concatenate(groups)
    if np.all(pooled == pooled[0]):
        part.why = "every run has the same value"
        return part
    part.p_for = float(stats.kruskal(*groups).pvalue)
    part.p_against = 1.0
    separated = np.arange(len(pooled), dtype=float)  # each level's runs apart from the others'
    edges = np.cumsum([0, *map(len, groups)])
    part.min_p = float(stats.kruskal(*(separated[a:b] for a, b in zip(edges, edges[1:]))).pvalue)
    part.effect = part.size = sensitivity
    part.supports = sensitivity > 0
    return part


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


# ----- the comparisons a claim makes on a stratum of its runs -----


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
    finite = raw(values[np.isfinite(values)], metric)
    return abs(float(np.median(finite))) if len(finite) else 0.0


@dataclass
class Context:
    """What a test's function sees: the claim, one stratum of its runs (a model, or all), the
    study's axes, the blocks runs are paired on, the claim axis's levels, the metric (None for
    a test over all of them) and each run's score on it under the reading, the label prefix,
    the reference study's runs (same_ordering), the reading's diverged rule, the bootstrap's
    seed (None: floors only) and the seeds the stratum has."""
    claim: dict
    part: pd.DataFrame
    axes: list[str]
    blocks: list[str]
    grid: list[str]
    metric: str | None
    scores: np.ndarray | None
    prefix: str
    reference: pd.DataFrame | None
    diverged: str
    seed: int | None
    seeds: int


def _compare(ctx: Context, comparisons: list[tuple[str, str]]) -> list[Part]:
    """Each (better, worse) pair of levels, paired over the blocks: a signed-rank part, with
    the claim's margin (non-inferiority) and minimum effect."""
    claim, parts = ctx.claim, []
    for a, b in comparisons:
        sa, sb, both = _pairs(ctx.part, claim["axis"], ctx.blocks, ctx.scores, a, b)
        margin = 0.0
        if "margin" in claim:
            margin = claim["margin"]["value"]
            if claim["margin"]["relative"]:
                margin *= _scale(sb, ctx.metric)
        made = _ordering_part(f"{ctx.prefix}{a} {'not worse than' if margin else 'beats'} {b} "
                              f"on {ctx.metric}", sa, sb, margin, _scale(sb, ctx.metric),
                              claim["min_effect"], ctx.seed)
        made.per_seed = made.n / ctx.seeds
        made.note = f"{both} pair(s) where both diverged left out" if both else ""
        parts.append(made)
    return parts


def ordering(ctx: Context) -> list[Part]:
    better = _resolve(ctx.claim["better"], ctx.grid, set(ctx.claim["worse"]))
    worse = _resolve(ctx.claim["worse"], ctx.grid, set(better))
    return _compare(ctx, [(a, b) for a in better for b in worse if a != b])


def best_level(ctx: Context) -> list[Part]:
    comparisons = []
    if "best" in ctx.claim:
        best = _resolve(ctx.claim["best"], ctx.grid, set())
        comparisons += [(best[0], b) for b in ctx.grid if b != best[0]]
    if "worst" in ctx.claim:
        worst = _resolve(ctx.claim["worst"], ctx.grid, set())
        comparisons += [(a, worst[0]) for a in ctx.grid if a != worst[0]
                        and (a, worst[0]) not in comparisons]
    return _compare(ctx, comparisons)


def equivalence(ctx: Context) -> list[Part]:
    claim, metric, parts = ctx.claim, ctx.metric, []
    levels = _resolve(claim["levels"], ctx.grid, set())
    for i, a in enumerate(levels):
        for b in levels[i + 1:]:
            sa, sb, both = _pairs(ctx.part, claim["axis"], ctx.blocks, ctx.scores, a, b)
            ra, rb = raw(sa, metric), raw(sb, metric)
            scale = _scale(np.concatenate([sa, sb]), metric)
            margin = claim["margin"]["value"] * (scale if claim["margin"]["relative"] else 1)
            made = _equivalence_part(f"{ctx.prefix}{a} ~ {b} on {metric}", ra, rb, margin,
                                     scale, ctx.seed)
            made.note = f"{both} pair(s) where both diverged left out" if both else ""
            parts.append(made)
    return parts


def most_influential(ctx: Context) -> list[Part]:
    claim = ctx.claim
    return [_influence_part(f"{ctx.prefix}{claim['axis']} among {', '.join(claim['among'])} on "
                            f"{ctx.metric}", ctx.part, ctx.scores, claim["axis"], claim["among"],
                            ctx.seed)]


def most_sensitive(ctx: Context) -> list[Part]:
    claim = ctx.claim
    blocks = [a for a in ctx.axes if a not in ("model", claim["axis"])]
    return _sensitivity_parts(f"on {ctx.metric}: ", ctx.part, raw(ctx.scores, ctx.metric),
                              claim["axis"], claim["model"], blocks, ctx.seed)


def less_variable(ctx: Context) -> list[Part]:
    """Each stable level against each variable one. learned_only: a run whose
    loss was already at its plateau after the first epoch learned nothing, and a spread of
    runs that learned nothing says nothing of sensitivity: they are left out, and a level
    where most did so is not tested."""
    claim, part, metric, values = ctx.claim, ctx.part, ctx.metric, ctx.scores
    axis = claim["axis"]
    stuck = np.zeros(len(part), bool)
    if claim.get("learned_only") and "plateau_epoch" in part:
        epochs = pd.to_numeric(part["plateau_epoch"], errors="coerce").to_numpy(float)
        stuck = (part["status"] == "ok").to_numpy() & (epochs <= 1)
        values = np.where(stuck, np.nan, values)
    kept = [a for a in ctx.axes if a not in claim["across"]]
    groups = (part.groupby(kept, sort=False, dropna=False).ngroup() if kept
              else pd.Series(0, index=part.index))
    dev = _relative_deviations(raw(values, metric), groups)
    parts = []
    for s in _resolve(claim["stable"], ctx.grid, set()):
        for v in _resolve(claim["variable"], ctx.grid, {s}):
            ds, dv = dev[(part[axis] == s).to_numpy()], dev[(part[axis] == v).to_numpy()]
            made = _variability_part(
                f"{ctx.prefix}{s} varies less than {v} across {', '.join(claim['across'])} on "
                f"{metric}", ds[~np.isnan(ds)], dv[~np.isnan(dv)], ctx.seed)
            for level in (s, v):
                at = (part[axis] == level).to_numpy()
                if stuck[at].sum() * 2 > at.sum():
                    made.why = (f"{level} did not learn in {stuck[at].sum()} of {at.sum()} runs "
                                "(at its plateau after the first epoch)")
            parts.append(made)
    return parts


def fails(ctx: Context) -> list[Part]:
    part, axis = ctx.part, ctx.claim["axis"]
    levels = _resolve(ctx.claim["levels"], ctx.grid, set())
    usable = part["status"].isin(["ok", "diverged"]).to_numpy()
    diverged = (part["status"] == "diverged").to_numpy()
    at = part[axis].isin(levels).to_numpy()
    return [_fails_part(f"{ctx.prefix}{', '.join(levels)} diverge more than the other {axis} "
                        "levels", diverged[usable & at], diverged[usable & ~at], ctx.seed)]


def no_monotone(ctx: Context) -> list[Part]:
    claim = ctx.claim
    ok = (ctx.part["status"] == "ok").to_numpy()
    x, y = (pd.to_numeric(ctx.part[m], errors="coerce").to_numpy(float)[ok]
            for m in claim["metric"])
    return [_monotone_part(f"{ctx.prefix}{claim['metric'][0]} vs {claim['metric'][1]}", x, y,
                           claim["margin"]["value"], ctx.seed)]


def same_ordering(ctx: Context) -> list[Part]:
    axis, part = ctx.claim["axis"], ctx.part
    there = ctx.reference[ctx.reference["model"].isin(part["model"].unique())]
    there = there.assign(**{axis: there[axis].map(lambda v: level_key(axis, v))})
    return [_same_ordering_part(f"{ctx.prefix}{axis} order on {ctx.metric}", part, there, axis,
                                ctx.scores, scores(there, ctx.metric, ctx.diverged), ctx.seed)]


# ----- the registry -----


@dataclass(frozen=True)
class Test:
    """A test a claim may name. needs / optional: its keys beside the common ones (claims.spec
    COMMON_KEYS); build: its parts on a stratum of runs; measure: what its effect measures;
    floor: how its smallest possible p is counted (docs/analysis.md "Floors and power");
    per_metric: one set of parts per metric (else the metrics are its inputs, or none is);
    one_reading: diverged runs are its outcome, or never enter (no second reading);
    min_effect: the smallest effect worth the name, on the effect's own scale (where the
    effect is not a difference of the metric, whose minimum claims.spec METRICS gives)."""
    needs: frozenset
    optional: frozenset
    build: Callable[[Context], list[Part]]
    measure: str
    floor: str
    per_metric: bool = True
    one_reading: bool = False
    min_effect: dict | None = None


RANK_BISERIAL = "matched rank-biserial of the paired differences (> 0: the claimed order)"
SIGNED_RANK_FLOOR = "0.5^n over the n nonzero paired differences"
BOOTSTRAP_FLOOR = f"1 / {BOOTSTRAP_RESAMPLES + 1} (the bootstrap's resamples)"
REGISTRY = {
    "ordering": Test(frozenset({"axis", "better", "worse", "metric"}),
                     frozenset({"margin", "min_effect"}), ordering, RANK_BISERIAL,
                     SIGNED_RANK_FLOOR),
    "best_level": Test(frozenset({"axis", "metric"}), frozenset({"best", "worst", "min_effect"}),
                       best_level, RANK_BISERIAL, SIGNED_RANK_FLOOR),
    "equivalence": Test(frozenset({"axis", "levels", "metric", "margin"}), frozenset(),
                        equivalence, "1 - |median difference| / margin (> 0: inside the margin)",
                        "0.5^n over the n nonzero differences, the larger of the two one-sided"),
    "most_influential": Test(frozenset({"axis", "among", "metric"}), frozenset({"min_effect"}),
                             most_influential, "eta squared of the axis (ranks within model) "
                             "minus the largest other", BOOTSTRAP_FLOOR,
                             min_effect={"relative": False, "value": 0.05}),
    "most_sensitive": Test(frozenset({"axis", "model", "metric"}), frozenset({"min_effect"}),
                           most_sensitive, "between-level s.d. beyond seed noise over the "
                           "model's median, the named model's minus another's",
                           BOOTSTRAP_FLOOR, one_reading=True,
                           min_effect={"relative": False, "value": 0.02}),
    "less_variable": Test(frozenset({"axis", "stable", "variable", "across", "metric"}),
                          frozenset({"learned_only"}), less_variable,
                          "Cliff's delta of relative deviations (> 0: the stable level varies "
                          "less)", "the share of splits of the deviations, with their ties, "
                          "as extreme as the most extreme"),
    "no_monotone": Test(frozenset({"metric", "margin"}), frozenset(), no_monotone,
                        "1 - |Spearman rho| / margin (> 0: inside the margin)",
                        "the TOST p at rho = 0", per_metric=False, one_reading=True),
    "fails": Test(frozenset({"axis", "levels"}), frozenset(), fails,
                  "fraction diverged at the level minus elsewhere",
                  "Fisher's p with every run at the level diverged and none elsewhere",
                  per_metric=False, one_reading=True),
    "same_ordering": Test(frozenset({"axis", "metric", "reference"}), frozenset(),
                          same_ordering, "Kendall tau_b of the runs against the reference "
                          "order (> 0: same order)", "the p of the runs in perfect order"),
}
