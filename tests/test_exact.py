"""The exact rank tests against brute force: every sign flip, every split."""

import itertools

import numpy as np
from scipy import stats

from vaebench.claims.exact import kendall_trend, rank_sum, signed_rank


def test_signed_rank_counts_every_sign_flip_with_ties_and_zeros():
    rng = np.random.default_rng(0)
    for _ in range(150):
        d = rng.integers(-3, 4, rng.integers(1, 9)).astype(float)
        nonzero = d[d != 0]
        p, floor = signed_rank(d, "greater")
        if not len(nonzero):
            assert p == floor == 1.0
            continue
        ranks = stats.rankdata(np.abs(nonzero))
        observed = ranks[nonzero > 0].sum()
        sums = [ranks[np.array(signs, bool)].sum()
                for signs in itertools.product([0, 1], repeat=len(nonzero))]
        assert np.isclose(p, np.mean(np.array(sums) >= observed - 1e-9))
        assert floor == 0.5 ** len(nonzero)
        assert p >= floor


def test_rank_sum_counts_every_split_with_ties():
    rng = np.random.default_rng(1)
    for _ in range(150):
        x = rng.integers(0, 4, rng.integers(1, 5)).astype(float)
        y = rng.integers(0, 4, rng.integers(1, 5)).astype(float)
        ranks = stats.rankdata(np.concatenate([x, y]))
        sums = np.array([ranks[list(c)].sum()
                         for c in itertools.combinations(range(len(ranks)), len(x))])
        observed = ranks[:len(x)].sum()
        p, floor = rank_sum(x, y, "greater")
        assert np.isclose(p, np.mean(sums >= observed - 1e-9))
        assert np.isclose(floor, np.mean(sums >= sums.max() - 1e-9))
        assert np.isclose(rank_sum(x, y, "less")[0], np.mean(sums <= observed + 1e-9))


def test_large_samples_use_the_approximation_and_stay_above_the_floor():
    rng = np.random.default_rng(2)
    d = rng.normal(0.3, 1, 200)
    p, floor = signed_rank(d, "greater")
    assert np.isclose(p, stats.wilcoxon(d, alternative="greater").pvalue, rtol=0.05)
    assert p >= floor


def test_the_trend_floor_is_the_p_of_a_perfect_order():
    x = np.repeat(np.arange(5.0), 4)
    p, floor = kendall_trend(x, x + np.tile(np.arange(4) / 10, 5), "greater")
    assert np.isclose(p, floor) and floor < 1e-6
    assert kendall_trend(x, -x, "greater")[0] > 0.99
