"""The paired bootstrap interval of a difference in mean NDCG@10 (model.bootstrap)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from crossgraph.model.bootstrap import paired_bootstrap

RNG = np.random.default_rng(11)
# Two models' per-account scores on 300 accounts: b is a plus a small, noisy gain.
A = RNG.uniform(0, 1, 300)
B = np.clip(A + RNG.normal(0.03, 0.15, 300), 0, 1)


def plain_loop(a: np.ndarray, b: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    """The textbook procedure, one resample at a time: draw n accounts with replacement, take
    the mean difference of the drawn pairs, and read the 2.5th and 97.5th percentiles."""
    rng = np.random.default_rng(seed)
    means = []
    for _ in range(resamples):
        drawn = [int(rng.integers(0, len(a))) for _ in range(len(a))]
        means.append(sum(a[i] - b[i] for i in drawn) / len(a))
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def test_the_interval_agrees_with_a_plain_loop_and_with_scipy() -> None:
    ours = paired_bootstrap(B, A, resamples=4000, seed=3)
    assert ours.difference == pytest.approx(float(np.mean(B - A)))
    loop_low, loop_high = plain_loop(B, A, resamples=4000, seed=5)
    # Different draws of the same distribution: the ends agree to Monte Carlo error (~0.001).
    assert ours.low == pytest.approx(loop_low, abs=0.003)
    assert ours.high == pytest.approx(loop_high, abs=0.003)
    ref = stats.bootstrap(
        (B, A),
        lambda x, y, axis=-1: np.mean(x - y, axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=4000,
        method="percentile",
        random_state=7,
    ).confidence_interval
    assert ours.low == pytest.approx(ref.low, abs=0.003)
    assert ours.high == pytest.approx(ref.high, abs=0.003)
    assert ours.low > 0 and ours.distinguishable


def test_the_same_seed_gives_the_same_interval_and_the_report_says_how_it_was_made() -> None:
    first, again = paired_bootstrap(B, A, seed=1), paired_bootstrap(B, A, seed=1)
    assert first == again
    assert first.to_dict()["resamples"] == 2000 and first.to_dict()["accounts"] == 300


def test_an_interval_covering_zero_is_not_distinguishable() -> None:
    noise = np.clip(A + RNG.normal(0.0, 0.2, 300), 0, 1)
    interval = paired_bootstrap(noise, A)
    assert interval.low < 0 < interval.high
    assert not interval.distinguishable
    assert interval.text().endswith("not distinguishable")


def test_identical_differences_give_a_point_interval() -> None:
    interval = paired_bootstrap(A + 0.25, A)
    assert interval.low == pytest.approx(0.25) and interval.high == pytest.approx(0.25)


def test_unpaired_scores_are_refused() -> None:
    with pytest.raises(ValueError, match="one length"):
        paired_bootstrap(A, A[:-1])
