"""Exact rank tests for the small samples the claims rest on, their floors (the smallest p a
sample of that size and tie pattern allows) and the sample a test needs. No torch.

Why not scipy's: with ties or zero differences, scipy's Wilcoxon and Mann-Whitney fall back to
the normal approximation, which at n = 4 to 20 gives p-values below what any arrangement of the
data can reach (docs/analysis.md "Floors and power"). Here the null distribution is counted
exactly over the 2^n sign flips (signed-rank) or the C(N, k) splits (rank-sum), ties averaged,
by dynamic programming on doubled ranks; beyond EXACT_MAX values the normal approximation with
the tie correction is accurate and used.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

EXACT_MAX = 60  # values (nonzero differences, or both samples together) counted exactly


def _doubled_ranks(values: np.ndarray) -> np.ndarray:
    """2 x the average ranks: integers, so that the exact counts index an array."""
    return np.rint(2 * stats.rankdata(values)).astype(int)


def _signed_rank_counts(ranks2: np.ndarray) -> np.ndarray:
    """counts[s]: how many of the 2^n sign vectors give the positive doubled ranks the sum s."""
    counts = np.zeros(int(ranks2.sum()) + 1)
    counts[0] = 1.0
    for r in ranks2:
        counts[r:] = counts[r:] + counts[:-r].copy() if r else counts * 2
    return counts


def signed_rank(d, alternative: str) -> tuple[float, float]:
    """(p, floor) of the Wilcoxon signed-rank test of the differences d (one-sided: "greater",
    the d tend to be > 0, or "less"). Zero differences are dropped (Wilcoxon's rule) and count
    toward neither; floor is 0.5^n over the n nonzero ones: the p of every one pointing the
    tested way. No nonzero difference: p 1, floor 1."""
    d = np.asarray(d, float)
    d = d[d != 0]
    n = len(d)
    if n == 0:
        return 1.0, 1.0
    floor = 0.5 ** n
    sign = 1.0 if alternative == "greater" else -1.0
    finite_abs = np.where(np.isinf(d), np.inf, np.abs(d))
    if n <= EXACT_MAX:
        ranks2 = _doubled_ranks(finite_abs)
        w2 = int(ranks2[sign * d > 0].sum())
        counts = _signed_rank_counts(ranks2)
        return float(counts[w2:].sum() / counts.sum()), floor
    ranks = stats.rankdata(finite_abs)
    w = ranks[sign * d > 0].sum()
    mean = n * (n + 1) / 4
    _, tie_counts = np.unique(ranks, return_counts=True)
    var = n * (n + 1) * (2 * n + 1) / 24 - (tie_counts ** 3 - tie_counts).sum() / 48
    if var <= 0:
        return 1.0, floor
    return float(max(stats.norm.sf((w - mean - 0.5) / math.sqrt(var)), floor)), floor


def rank_sum(x, y, alternative: str) -> tuple[float, float]:
    """(p, floor) of the Mann-Whitney test that x tends to be larger ("greater") or smaller
    ("less") than y, counted over the C(N, k) splits of the pooled values with their ties.
    floor: the p of the most extreme split (x holding the largest, or smallest, values)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if alternative == "less":
        x, y = -x, -y
    pooled = np.concatenate([x, y])
    k, total = len(x), len(pooled)
    if total <= EXACT_MAX:
        ranks2 = _doubled_ranks(pooled)
        # counts[j, s]: subsets of j values whose doubled ranks sum to s
        counts = np.zeros((k + 1, int(ranks2.sum()) + 1))
        counts[0, 0] = 1.0
        for r in ranks2:
            counts[1:, r:] += counts[:-1, :-r].copy()
        dist = counts[k] / counts[k].sum()
        observed = int(ranks2[:k].sum())
        most = int(np.sort(ranks2)[-k:].sum())
        return float(dist[observed:].sum()), float(dist[most:].sum())
    p = float(stats.mannwhitneyu(x, y, alternative="greater").pvalue)
    floor = 1 / math.comb(total, k)
    return max(p, floor), floor


def kendall_trend(x, y, alternative: str) -> tuple[float, float]:
    """(p, floor) of Kendall's tau_b between x (a level's rank in a reference, tied within a
    level) and y (each run's score): the Jonckheere-Terpstra trend test. floor: the p of y
    ordered exactly as x."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    p = float(stats.kendalltau(x, y, alternative=alternative).pvalue)
    perfect = np.argsort(np.argsort(x, kind="stable"), kind="stable").astype(float)
    perfect = perfect if alternative == "greater" else -perfect
    floor = float(stats.kendalltau(x, perfect, alternative=alternative).pvalue)
    return max(p, floor), floor


# ----- how many values a test needs -----


def pairs_for_floor(threshold: float) -> int:
    """The fewest nonzero pairs whose signed-rank floor 0.5^n is below `threshold`."""
    return math.floor(math.log2(1 / threshold)) + 1


def noether_pairs(differences, threshold: float, power: float = 0.8) -> float:
    """Pairs the one-sided signed-rank test at level `threshold` needs for `power`, if the
    differences come from the distribution of these (Noether 1987):
    n = (z_threshold + z_power)^2 / (3 (p' - 1/2)^2), p' = P(D_i + D_j > 0) estimated from
    the Walsh averages of the observed differences; and never fewer than the floor allows.
    inf where p' <= 1/2 (the observed differences do not point the tested way)."""
    d = np.asarray(differences, float)
    d = d[~np.isnan(d)]
    if len(d) < 2:
        return np.inf
    i, j = np.triu_indices(len(d))
    with np.errstate(invalid="ignore"):
        walsh = d[i] + d[j]
    positive = float(np.mean(walsh > 0) + 0.5 * np.mean(walsh == 0))
    if positive <= 0.5:
        return np.inf
    z = stats.norm.isf(threshold) + stats.norm.ppf(power)
    return max(z ** 2 / (3 * (positive - 0.5) ** 2), pairs_for_floor(threshold))


def correlation_runs_inside(margin: float, threshold: float, power: float = 0.8,
                            rho: float = 0.0) -> float:
    """Runs the TOST on Fisher's z (standard error sqrt(1.06 / (n - 3))) needs to show
    |Spearman's rho| < margin at level `threshold` with `power`, when the true rho is `rho`
    (0: no relation at all). The rejection region is |z - 0| < atanh(margin) - z_a se; its
    probability under z ~ N(atanh(rho), se) is found by bisection on n."""
    zm, zr, za = math.atanh(margin), math.atanh(rho), stats.norm.isf(threshold)
    if abs(rho) >= margin:
        return np.inf

    def achieved(n: int) -> float:
        se = math.sqrt(1.06 / (n - 3))
        half = zm - za * se
        if half <= 0:
            return 0.0
        return float(stats.norm.cdf((half - zr) / se) - stats.norm.cdf((-half - zr) / se))

    low, high = 4, 8
    while achieved(high) < power:
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if achieved(mid) < power else (low, mid)
    return float(high)
