"""Do the papers' findings hold? Each claim of config/claims/<paper>.yaml tested on the runs of
the study it applies to, with an effect, a bootstrap interval, a Holm-corrected p and a
verdict. No torch.

The claim files are read, checked and matched to a config's studies by vaebench.claim_files
(when the Snakefile parses); `evaluate` tests each claim on its study's tables (runs.csv, and
latent.csv's scores beside each run: `claim_table`).

How a claim becomes a verdict:
- A claim is a conjunction of parts: one comparison per model (`per: model`), metric, and pair
  of levels (uniform beats default, and normal, ...). Each part is a one-sided test for the
  claim (p_for) and one against it (p_against), with an effect oriented so that > 0 supports the
  claim and its 95% percentile bootstrap interval.
- The claim's p: where every part points the claimed way, the largest p_for (an
  intersection-union test: all parts must hold); otherwise the smallest p_against of a part
  pointing the other way, times the number of parts (Bonferroni: any part may contradict). It is
  doubled, because the data chose the direction, and Holm-corrected over the paper's claims.
- holds: p_holm < ALPHA, pointing the claimed way; contradicted: p_holm < ALPHA, the other way;
  inconclusive otherwise, with the reason; not run: the config has no study the claim applies
  to, or the study lacks a level or the metric (the reason says which).
- Diverged runs are counted, not dropped: they rank worst on every metric (their loss, epochs to
  converge and ARI are worse than any finished run's); a failed run (out of memory) is left out.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..claim_files import METRICS, level_key
from ..data import write_atomic
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


def _scores(part: pd.DataFrame, metric: str) -> np.ndarray:
    """Higher is better: the metric, negated where lower is better; -inf for a diverged run
    (the worst), NaN for a failed run or a missing value."""
    values = pd.to_numeric(part[metric], errors="coerce").to_numpy(float)
    values = -values if METRICS[metric].lower_is_better else values
    values = np.where(part["status"].to_numpy() == "diverged", -np.inf, values)
    return np.where(part["status"].to_numpy() == "failed", np.nan, values)


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
    min_p: float = np.nan  # the smallest p_for these n allow
    supports: bool = False
    difference: float = np.nan  # in the metric's units, where there is one
    why: str = ""  # why it was not tested


def _bootstrap(statistic, samples: list[np.ndarray], paired: bool, seed: int):
    """95% percentile interval of statistic(*samples) (vectorised over a leading resample
    axis), resampling pairs (paired) or each sample; None below MIN_BOOTSTRAP values."""
    if min(len(s) for s in samples) < MIN_BOOTSTRAP:
        return np.nan, np.nan, None
    rng = np.random.default_rng(seed)
    if paired:
        idx = rng.integers(0, len(samples[0]), (BOOTSTRAP_RESAMPLES, len(samples[0])))
        resampled = [s[idx] for s in samples]
    else:
        resampled = [s[rng.integers(0, len(s), (BOOTSTRAP_RESAMPLES, len(s)))] for s in samples]
    values = np.asarray(statistic(*resampled), float)
    low, high = np.nanpercentile(values, [2.5, 97.5])
    return float(low), float(high), values


def _wilcoxon(d: np.ndarray, alternative: str) -> float:
    if np.all(d == 0):
        return 1.0
    return float(stats.wilcoxon(d, alternative=alternative).pvalue)


def _difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a - b, with two diverged runs (infinite alike) a tie rather than NaN."""
    with np.errstate(invalid="ignore"):
        return np.where(a == b, 0.0, a - b)


def _ordering_part(label: str, a: np.ndarray, b: np.ndarray, margin: float, seed: int) -> Part:
    """A (claimed better, higher score) against B, paired. margin > 0: A is not worse than B by
    more than margin (non-inferiority)."""
    d = _difference(a, b)
    part = Part(label, len(d))
    if len(d) < 2:
        part.why = f"{len(d)} pair(s)"
        return part
    shifted = d + margin
    part.p_for, part.p_against = _wilcoxon(shifted, "greater"), _wilcoxon(shifted, "less")
    part.min_p = 0.5 ** len(d)
    part.effect = float(matched_rank_biserial(np.zeros_like(shifted), shifted))
    part.ci_low, part.ci_high, _ = _bootstrap(
        lambda s: matched_rank_biserial(np.zeros_like(s), s), [shifted], True, seed)
    part.supports = part.effect > 0
    part.difference = float(np.median(d))
    return part


def _equivalence_part(label: str, a: np.ndarray, b: np.ndarray, margin: float,
                      scale: float, seed: int) -> Part:
    """TOST on paired differences (raw values): within +-margin. Effect: the median difference
    over the margin, in [-1, 1] inside it; > 0 supports (1 - |median| / margin)."""
    d = _difference(a, b)
    part = Part(label, len(d))
    if len(d) < 2:
        part.why = f"{len(d)} pair(s)"
        return part
    part.p_for = max(_wilcoxon(d + margin, "greater"), _wilcoxon(d - margin, "less"))
    part.p_against = min(1.0, 2 * min(_wilcoxon(d + margin, "less"),
                                      _wilcoxon(d - margin, "greater")))
    part.min_p = 0.5 ** len(d)

    def inside(x):
        return 1 - np.abs(np.median(x, axis=-1)) / margin

    part.effect = float(inside(d))
    part.ci_low, part.ci_high, _ = _bootstrap(inside, [d], True, seed)
    part.supports = part.effect > 0
    part.difference = float(np.median(d) / scale) if scale else np.nan
    return part


def _bootstrap_p(label: str, n: int, effect: float, boot) -> Part:
    """A part whose test is its bootstrap: p_for the share of resamples <= 0, p_against >= 0."""
    part = Part(label, n, effect=effect)
    if boot is None:
        part.why = f"{n} values, too few to resample"
        return part
    part.p_for = (1 + np.sum(boot <= 0)) / (len(boot) + 1)
    part.p_against = (1 + np.sum(boot >= 0)) / (len(boot) + 1)
    part.min_p = 1 / (len(boot) + 1)
    part.ci_low, part.ci_high = np.nanpercentile(boot, [2.5, 97.5])
    part.supports = effect > 0
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
    """Rank-based eta squared (ranks within each model, diverged lowest) of `axis` minus the
    largest of the other axes'."""
    keep = ~np.isnan(scores)
    part, ranks = part[keep], _within_model_ranks(part[keep], scores[keep])
    codes = {a: pd.factorize(part[a].astype(str))[0] for a in [axis, *among]}

    def lead(y, *columns):
        shares = [_eta_squared(y, c) for c in columns]
        return shares[0] - np.max(shares[1:], axis=0)

    others = [a for a in among if a != axis]
    effect = float(lead(ranks, *(codes[a] for a in [axis, *others]))[0])
    rng = np.random.default_rng(seed)
    boot = None
    if len(ranks) >= MIN_BOOTSTRAP:
        idx = rng.integers(0, len(ranks), (BOOTSTRAP_RESAMPLES, len(ranks)))
        boot = lead(ranks[idx], *(codes[a][idx] for a in [axis, *others]))
    return _bootstrap_p(label, len(ranks), effect, boot)


def _relative_range(values: np.ndarray, codes: np.ndarray) -> float:
    medians = [np.median(values[codes == c]) for c in np.unique(codes)]
    centre = abs(float(np.median(values)))
    return (max(medians) - min(medians)) / centre if centre else np.nan


def _sensitivity_part(label: str, part: pd.DataFrame, raw: np.ndarray, axis: str,
                      model: str, seed: int) -> Part:
    """The spread of `axis`'s level medians over the model's median (relative range), for the
    named model minus the largest of the other models'; resampled within model and level."""
    keep = ~np.isnan(raw)
    part, raw = part[keep], raw[keep]
    models = list(dict.fromkeys(part["model"]))
    if model not in models or len(models) < 2:
        return Part(label, len(raw), why="fewer than two models")
    cells = [(m, (part["model"] == m).to_numpy()) for m in models]
    codes = pd.factorize(part[axis].astype(str))[0]

    def lead(sample_idx):
        spread = {m: _relative_range(raw[idx], codes[idx]) for m, idx in sample_idx.items()}
        return spread[model] - max(v for m, v in spread.items() if m != model)

    rows = {m: np.flatnonzero(inside) for m, inside in cells}
    effect = lead(rows)
    rng = np.random.default_rng(seed)
    boot = None
    if min(len(r) for r in rows.values()) >= MIN_BOOTSTRAP:
        boot = np.array([lead({m: _resample_within(r, codes, rng) for m, r in rows.items()})
                         for _ in range(BOOTSTRAP_RESAMPLES)])
    return _bootstrap_p(label, len(raw), float(effect), boot)


def _resample_within(rows: np.ndarray, codes: np.ndarray, rng) -> np.ndarray:
    """Rows resampled with replacement within each level (each level keeps its count)."""
    return np.concatenate([rng.choice(rows[codes[rows] == c], (codes[rows] == c).sum())
                           for c in np.unique(codes[rows])])


def _variability_part(label: str, stable: np.ndarray, variable: np.ndarray, seed: int) -> Part:
    """Relative absolute deviations from their group's median (Brown-Forsythe on ranks): the
    stable level's against the variable one's, Mann-Whitney one-sided; effect Cliff's delta,
    > 0 when the variable level deviates more."""
    part = Part(label, len(stable) + len(variable))
    if min(len(stable), len(variable)) < 2:
        part.why = "fewer than two runs a side"
        return part
    part.p_for = float(stats.mannwhitneyu(variable, stable, alternative="greater").pvalue)
    part.p_against = float(stats.mannwhitneyu(variable, stable, alternative="less").pvalue)
    part.min_p = 1 / math.comb(len(stable) + len(variable), len(stable))
    part.effect = float(cliffs_delta(stable, variable))
    part.ci_low, part.ci_high, _ = _bootstrap(cliffs_delta, [stable, variable], False, seed)
    part.supports = part.effect > 0
    return part


def _relative_deviations(raw: np.ndarray, groups: pd.Series) -> np.ndarray:
    out = np.full(len(raw), np.nan)
    for _, idx in groups.groupby(groups, sort=False).indices.items():
        centre = np.median(raw[idx])
        with np.errstate(invalid="ignore", divide="ignore"):
            dev = np.abs(raw[idx] - centre) / abs(centre)
        out[idx] = np.where(np.isinf(raw[idx]), np.inf, dev)
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
    """Kendall's tau between the levels' median scores in the two studies (exact test over the
    orderings of the levels); interval: runs resampled within each level of each study."""
    levels = [lv for lv in dict.fromkeys(here[axis]) if lv in set(there[axis])]
    part = Part(label, len(levels))
    if len(levels) < 3:
        part.why = f"{len(levels)} levels in both studies"
        return part
    index = {lv: i for i, lv in enumerate(levels)}
    samples = []
    for frame, scores in ((here, scores_here), (there, scores_there)):
        keep = frame[axis].isin(levels).to_numpy() & ~np.isnan(scores)
        samples.append((scores[keep], frame[axis][keep].map(index).to_numpy()))

    def tau(resampled, **kwargs):
        medians = [[np.median(s[c == i]) for i in range(len(levels))] for s, c in resampled]
        return stats.kendalltau(*medians, **kwargs)

    part.effect = float(tau(samples).statistic)
    part.p_for = float(tau(samples, alternative="greater").pvalue)
    part.p_against = float(tau(samples, alternative="less").pvalue)
    part.min_p = 1 / math.factorial(len(levels))
    part.supports = part.effect > 0
    if min(np.bincount(c, minlength=len(levels)).min() for _, c in samples) >= 2:
        rng = np.random.default_rng(seed)
        boot = []
        for _ in range(BOOTSTRAP_RESAMPLES // 4):  # each a loop over levels: a quarter will do
            rows = [_resample_within(np.arange(len(c)), c, rng) for _, c in samples]
            boot.append(tau([(s[r], c[r]) for (s, c), r in zip(samples, rows)]).statistic)
        part.ci_low, part.ci_high = np.nanpercentile(boot, [2.5, 97.5])
    return part


# ----- a claim on its study -----


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


def _pairs(part: pd.DataFrame, axis: str, blocks: list[str], scores: np.ndarray,
           level_a: str, level_b: str) -> tuple[np.ndarray, np.ndarray]:
    """The two levels' scores on the runs that share every other axis (blocks), a block
    dropped where either run failed or lacks the metric."""
    key = (part[blocks].astype(str).agg("|".join, axis=1) if blocks
           else pd.Series("", index=part.index))
    wide = pd.DataFrame({"key": key, "level": part[axis], "score": scores}).pivot(
        index="key", columns="level", values="score")
    if level_a not in wide or level_b not in wide:
        return np.array([]), np.array([])
    wide = wide[[level_a, level_b]].dropna()
    return wide[level_a].to_numpy(float), wide[level_b].to_numpy(float)


def claim_parts(claim: dict, table: pd.DataFrame, axes: list[str],
                reference: pd.DataFrame | None = None, seed: int = 0) -> list[Part]:
    """Every part of one claim on its study's table (runs.csv beside the latent scores) and,
    for same_ordering, the reference study's."""
    test, axis = claim["test"], claim.get("axis")
    models = claim["applies_to"]["models"]
    table = table[table["model"].isin(models)] if models else table
    table = table.assign(**{a: table[a].map(lambda v, a=a: level_key(a, v)) for a in axes})
    grid = ordered(table[axis]) if axis else []
    parts: list[Part] = []
    for stratum, part in _strata(claim, table):
        blocks = [a for a in axes if a != axis and (a != "model" or claim["per"] == "pooled")]
        prefix = f"{stratum}: " if claim["per"] == "model" else ""
        # no_monotone relates its two metrics; fails counts diverged runs, whatever the metric
        for metric in claim["metric"] if test not in ("no_monotone", "fails") else [None]:
            scores = _scores(part, metric) if metric else None
            parts += _parts_of(test, claim, part, axes, blocks, grid, metric, scores, prefix,
                               reference, seed)
    return parts


def _parts_of(test, claim, part, axes, blocks, grid, metric, scores, prefix, reference, seed):
    axis, parts = claim.get("axis"), []
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
            sa, sb = _pairs(part, axis, blocks, scores, a, b)
            margin = 0.0
            if "margin" in claim:
                margin = claim["margin"]["value"]
                if claim["margin"]["relative"]:
                    margin *= abs(float(np.median(_raw(sb[np.isfinite(sb)], metric))))
            parts.append(_ordering_part(f"{prefix}{a} {'not worse than' if margin else 'beats'}"
                                        f" {b} on {metric}", sa, sb, margin, seed))
    elif test == "equivalence":
        levels = _resolve(claim["levels"], grid, set())
        for i, a in enumerate(levels):
            for b in levels[i + 1:]:
                sa, sb = _pairs(part, axis, blocks, scores, a, b)
                ra, rb = _raw(sa, metric), _raw(sb, metric)
                finite = np.concatenate([ra, rb])
                finite = finite[np.isfinite(finite)]
                scale = abs(float(np.median(finite))) if len(finite) else 0.0
                margin = claim["margin"]["value"] * (scale if claim["margin"]["relative"] else 1)
                parts.append(_equivalence_part(f"{prefix}{a} ~ {b} on {metric}", ra, rb,
                                               margin, scale, seed))
    elif test == "most_influential":
        parts.append(_influence_part(f"{prefix}{axis} among {', '.join(claim['among'])} on "
                                     f"{metric}", part, scores, axis, claim["among"], seed))
    elif test == "most_sensitive":
        parts.append(_sensitivity_part(f"{claim['model']} most sensitive to {axis} on {metric}",
                                       part, _raw(scores, metric), axis, claim["model"], seed))
    elif test == "less_variable":
        groups = part[[a for a in axes if a not in claim["across"]]].astype(str).agg(
            "|".join, axis=1)
        dev = _relative_deviations(_raw(scores, metric), groups)
        for s in _resolve(claim["stable"], grid, set()):
            for v in _resolve(claim["variable"], grid, {s}):
                ds, dv = dev[(part[axis] == s).to_numpy()], dev[(part[axis] == v).to_numpy()]
                parts.append(_variability_part(
                    f"{prefix}{s} varies less than {v} across {', '.join(claim['across'])} on "
                    f"{metric}", ds[~np.isnan(ds)], dv[~np.isnan(dv)], seed))
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
                                         scores, _scores(there, metric), seed))
    return parts


# ----- verdicts -----

VERDICTS = ("holds", "contradicted", "inconclusive", "not run")

CLAIM_FIELDS = ("paper", "claim_id", "section", "claim", "study", "test", "metric", "per",
                "n_parts", "shown_part", "effect_measure", "effect", "ci_low", "ci_high",
                "difference", "p", "p_holm", "verdict", "reason", "n_runs", "n_diverged",
                "n_collapsed",
                "paper_figure", "figure")
PART_FIELDS = ("paper", "claim_id", "study", "part", "n", "effect", "ci_low", "ci_high",
               "difference", "p_for", "p_against", "supports", "why")
EFFECT_MEASURES = {
    "ordering": "matched rank-biserial of the paired differences (> 0: the claimed order)",
    "best_level": "matched rank-biserial of the paired differences (> 0: the claimed order)",
    "equivalence": "1 - |median difference| / margin (> 0: inside the margin)",
    "most_influential": "eta squared of the axis (ranks within model) minus the largest other",
    "most_sensitive": "relative range of the level medians, the model minus the largest other",
    "less_variable": "Cliff's delta of relative deviations (> 0: the stable level varies less)",
    "no_monotone": "1 - |Spearman rho| / margin (> 0: inside the margin)",
    "fails": "fraction diverged at the level minus elsewhere",
    "same_ordering": "Kendall tau between the level medians of the two studies",
}


def combine(parts: list[Part]) -> dict:
    """The claim's direction, p (before Holm), the part it shows and, where it cannot be
    tested, why (see the module docstring)."""
    untested = [p for p in parts if np.isnan(p.p_for)]
    tested = [p for p in parts if not np.isnan(p.p_for)]
    if not parts or not tested:
        why = "; ".join(dict.fromkeys(f"{p.label} ({p.why})" for p in untested)) or "no runs"
        return {"p": np.nan, "supports": False, "shown": None, "reason": f"nothing to test: {why}"}
    against = [p for p in tested if not p.supports]
    if against:
        shown = min(against, key=lambda p: p.p_against)
        return {"p": min(1.0, 2 * len(parts) * shown.p_against), "supports": False,
                "shown": shown, "reason": "",
                "min_p": min(1.0, 2 * len(parts) * min(p.min_p for p in against))}
    shown = max(tested, key=lambda p: p.p_for)
    reason = ""
    if untested:
        reason = "missing levels or runs: " + "; ".join(
            dict.fromkeys(f"{p.label} ({p.why})" for p in untested))
    return {"p": min(1.0, 2 * shown.p_for) if not untested else np.nan, "supports": True,
            "shown": shown, "reason": reason,
            "min_p": min(1.0, 2 * max(p.min_p for p in tested))}


def evaluate(papers: list[dict], matches: list[dict], tables: dict[str, pd.DataFrame],
             axes: dict[str, list[str]], figures: dict[str, dict] | None = None,
             seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(claims, parts): one row per claim and study it applies to (one "not run" row where none),
    verdicts Holm-corrected within each paper; and every part's test. figures: study ->
    {"loss": its figure, "latent": its latent-quality figure}, named beside each claim."""
    claims = {(c["paper"], c["id"]): c for paper in papers for c in paper["claims"]}
    rows, part_rows = [], []
    for match in matches:
        claim = claims[(match["paper"], match["claim"])]
        row = {"paper": claim["paper"], "claim_id": claim["id"], "section": claim["section"],
               "claim": claim["claim"], "study": match["study"] or "", "test": claim["test"],
               "metric": ", ".join(claim["metric"]), "per": claim["per"],
               "paper_figure": claim.get("figure", ""), "verdict": "not run",
               "reason": match["reason"]}
        if match["study"] is not None:
            parts = claim_parts(claim, tables[match["study"]], axes[match["study"]],
                                tables.get(match["reference"]), seed)
            row.update(_tested(claim, parts, tables[match["study"]]))
            kind = "latent" if any(METRICS[m].table == "latent" for m in claim["metric"]) \
                else "loss"
            row["figure"] = (figures or {}).get(match["study"], {}).get(kind, "")
            part_rows += [{"paper": claim["paper"], "claim_id": claim["id"],
                           "study": match["study"], "part": p.label,
                           **{k: getattr(p, k) for k in PART_FIELDS[4:]}} for p in parts]
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=[*CLAIM_FIELDS, "_supports", "_why", "_min_p", "_n"])
    for _, idx in table.groupby("paper", sort=False).groups.items():
        table.loc[idx, "p_holm"] = holm(table.loc[idx, "p"].to_numpy(float))
    tested = table["verdict"] != "not run"
    if tested.any():
        table.loc[tested] = table[tested].apply(_verdict, axis=1)
    counts = ["n_parts", "n_runs", "n_diverged", "n_collapsed"]
    table[counts] = table[counts].astype("Int64")  # empty where not run, not 2.0
    return (table[list(CLAIM_FIELDS)].reset_index(drop=True),
            pd.DataFrame(part_rows, columns=list(PART_FIELDS)))


def _tested(claim: dict, parts: list[Part], table: pd.DataFrame) -> dict:
    """A tested claim's row, before Holm: the part shown, its effect, the claim's p, counts."""
    result = combine(parts)
    shown = result["shown"] or Part("", 0)
    models = claim["applies_to"]["models"]
    runs = table[table["model"].isin(models)] if models else table
    collapsed = runs["collapsed"].fillna(False).astype(bool) if "collapsed" in runs else []
    return {"n_parts": len(parts), "shown_part": shown.label,
            "effect_measure": EFFECT_MEASURES[claim["test"]], "effect": shown.effect,
            "ci_low": shown.ci_low, "ci_high": shown.ci_high, "difference": shown.difference,
            "p": result["p"], "n_runs": len(runs),
            "n_diverged": int((runs["status"] == "diverged").sum()),
            "n_collapsed": int(sum(collapsed)), "verdict": "",
            "_supports": result["supports"], "_why": result["reason"],
            "_min_p": result.get("min_p", np.nan), "_n": shown.n}


def _verdict(row: pd.Series) -> pd.Series:
    notes = []
    if row["n_diverged"]:
        notes.append(f"{row['n_diverged']:.0f} of {row['n_runs']:.0f} runs diverged "
                     "(ranked worst)")
    if row["n_collapsed"]:
        notes.append(f"{row['n_collapsed']:.0f} of {row['n_runs']:.0f} runs collapsed")
    if row["p_holm"] < ALPHA:
        row["verdict"] = "holds" if row["_supports"] else "contradicted"
        row["reason"] = "; ".join(notes)
        return row
    row["verdict"] = "inconclusive"
    if row["_why"]:
        why = row["_why"]
    elif row["_min_p"] >= ALPHA:
        why = (f"too few seeds or runs: {row['shown_part']} (n = {row['_n']:.0f}) "
               f"allows no p below {row['_min_p']:.2g}")
    else:
        why = "not significant after Holm"
    row["reason"] = "; ".join([why, *notes])
    return row


# ----- the claims rule -----

CLAIMS_CAPTION = (
    "Each claim of the three papers (config/claims/<paper>.yaml) tested on the runs of the study "
    "it applies to. A claim is a conjunction of parts (per model, metric and pair of levels); "
    "each part is a one-sided test for the claim and one against it: Wilcoxon signed-rank on "
    "the differences paired over the runs that share every other axis (ordering, best level; "
    "equivalence: two one-sided tests against the margin, TOST), Mann-Whitney on relative "
    "deviations from the group median (less variable), Fisher's exact test (fails), TOST on "
    "Fisher's z of Spearman's rho (no monotone relation), Kendall's tau of the level medians "
    "(same ordering), a percentile bootstrap (most influential: rank eta squared; most "
    "sensitive: relative range of the level medians). p: the largest p for the claim over its "
    "parts where all point its way (every part must hold), else the smallest p against it "
    f"times the number of parts; doubled, as the data chose the direction; p_holm: Holm within "
    f"the paper. holds / contradicted: p_holm < {ALPHA} for / against the claim; inconclusive: "
    "not significant, with the reason; not run: the config has no study the claim applies to. "
    "Effect and its 95% bootstrap interval ({BOOTSTRAP_RESAMPLES} resamples; none with fewer "
    f"than {MIN_BOOTSTRAP} values) are those of the part shown: the weakest for the claim, or "
    "the strongest against it; > 0 supports the claim. Diverged runs count as the worst on "
    "every metric; collapsed runs are counted beside (README: why the studies' latent spaces "
    "collapse).").replace("{BOOTSTRAP_RESAMPLES}", str(BOOTSTRAP_RESAMPLES))
PARTS_CAPTION = ("Every part of every claim: its test's n, effect, interval, the median "
                 "difference in the metric's units (or Spearman's rho), and the one-sided p "
                 "for and against the claim.")


def write_claims(papers: list[dict], matches: list[dict], tables: dict[str, pd.DataFrame],
                 axes: dict[str, list[str]], figures: dict[str, dict], claims_out, parts_out,
                 html_out, per_study: dict[str, str]) -> pd.DataFrame:
    """The claims rule: every verdict (claims_out), the parts (parts_out), the report page and
    each study's own claims.csv (per_study: study -> path)."""
    claims, parts = evaluate(papers, matches, tables, axes, figures)
    write_atomic(claims_out, claims.to_csv(index=False))
    write_atomic(parts_out, parts.to_csv(index=False))
    for study, path in per_study.items():
        write_atomic(path, claims[claims["study"] == study].to_csv(index=False))
    shown = claims[["paper", "claim_id", "section", "claim", "study", "paper_figure", "figure",
                    "effect", "ci_low", "ci_high", "p", "p_holm", "verdict", "reason"]]
    write_atomic(html_out, render_html("Do the papers' findings hold?", [
        ("Verdicts", CLAIMS_CAPTION, shown),
        ("The parts of each claim", PARTS_CAPTION, parts),
    ]))
    return claims


def claim_lines(claims: pd.DataFrame, width: int = 110) -> list[str]:
    """One line per claim (and study) for `vaebench summary`: id, verdict, study, the effect
    and p_holm of a tested claim, and the gist of why where it is inconclusive or not run (the
    whole reason and the claim itself: claims.csv, the report)."""
    lines = []
    for row in claims.itertuples():
        tested = row.verdict != "not run"
        text = f"  {row.claim_id:<4} {row.verdict:<12} {row.study:<16} "
        effect, low, high, p_holm = (pd.to_numeric(v, errors="coerce") for v in
                                     (row.effect, row.ci_low, row.ci_high, row.p_holm))
        if tested and not np.isnan(effect):
            interval = "" if np.isnan(low) else f" [{low:.2g}, {high:.2g}]"
            text += f"effect {effect:.2g}{interval}, p_holm {p_holm:.2g}"
        gist = re.split(r"[:;]", row.reason)[0] if tested else row.reason
        if row.verdict in ("inconclusive", "not run") and gist:
            text += f"{'; ' if not np.isnan(effect) else ''}{gist}"
        lines.append(text if len(text) <= width else text[:width - 3] + "...")
    return lines
