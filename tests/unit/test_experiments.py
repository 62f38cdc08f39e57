"""Experiment design and statistics: stable assignment, split proportions, and every interval
and test checked against an independent computation (published values, scipy)."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
from scipy import optimize, stats

from crossgraph.errors import InvalidInput
from crossgraph.experiment.design import Design
from crossgraph.experiment.stats import (
    ArmCounts,
    analyse,
    mean_interval,
    newcombe,
    two_proportion_z,
    welch,
    wilson,
)

IDS = [f"A{i:05d}" for i in range(20_000)]


def test_an_account_keeps_its_arm_in_any_process():
    design = Design.parse("v17-vs-current", "current,20261130-101500-3f2a9c1d", "50/50")
    for account in IDS[:200]:
        # Independent of Python's per-process hash seed: the same sha256 a new worker computes.
        u = (
            int.from_bytes(hashlib.sha256(f"v17-vs-current\x00{account}".encode()).digest()[:8], "big")
            / 2**64
        )
        expected = design.arms[0] if u < 0.5 else design.arms[1]
        assert design.arm_of(account) == expected == design.arm_of(account)


@pytest.mark.parametrize(("share", "first"), [("50/50", 0.5), ("90/10", 0.9), ("20/80", 0.2)])
def test_accounts_split_in_the_shares_asked_for(share, first):
    design = Design.parse("split", "current,V17", share)
    in_first = sum(design.arm_of(a) == "current" for a in IDS)
    sd = math.sqrt(len(IDS) * first * (1 - first))
    assert abs(in_first - len(IDS) * first) < 4 * sd


def test_a_new_experiment_reshuffles_accounts():
    a, b = Design.parse("first", "current,V17"), Design.parse("second", "current,V17")
    same = sum(a.arm_of(x) == b.arm_of(x) for x in IDS)
    assert abs(same / len(IDS) - 0.5) < 0.02


def test_three_arms_default_to_equal_shares():
    assert Design.parse("three", "current,V17,V18").shares == (34, 33, 33)


@pytest.mark.parametrize(
    ("arms", "share", "message"),
    [
        ("current", None, "needs 2 to 4"),
        ("current,current", None, "name an arm twice"),
        ("current,V17", "60/60", "adding up to 100"),
        ("current,V17", "50/30/20", "for 2 arms"),
        ("current,V17", "half/half", "whole percentages"),
    ],
)
def test_a_bad_design_names_the_problem(arms, share, message):
    with pytest.raises(InvalidInput, match=message):
        Design.parse("bad", arms, share)


def test_a_bad_name_is_refused():
    with pytest.raises(InvalidInput, match="experiment name"):
        Design.parse("no spaces", "current,V17")


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    # Newcombe (1998), Statistics in Medicine 17:857-872, table I, method 3 (Wilson score)
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_interval_matches_the_published_values(k, n, low, high):
    interval = wilson(k, n)
    assert interval is not None
    assert interval.low == pytest.approx(low, abs=5e-5)
    assert interval.high == pytest.approx(high, abs=5e-5)


@pytest.mark.parametrize(("k", "n"), [(3, 10), (57, 400), (980, 1000), (12, 5000)])
def test_wilson_interval_inverts_the_score_test(k, n):
    """The Wilson bounds are the p where the score statistic |k/n - p| / sqrt(p(1-p)/n) is 1.96."""
    z = stats.norm.ppf(0.975)
    p_hat = k / n

    def score(p: float) -> float:
        return abs(p_hat - p) / math.sqrt(p * (1 - p) / n) - z

    interval = wilson(k, n)
    assert interval is not None
    assert interval.low == pytest.approx(optimize.brentq(score, 1e-12, p_hat), abs=1e-9)
    assert interval.high == pytest.approx(optimize.brentq(score, p_hat, 1 - 1e-12), abs=1e-9)


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    # Newcombe (1998), Statistics in Medicine 17:873-890, table II, method 10 (hybrid score):
    # p1 - p2 for 56/70 - 48/80 and 9/10 - 3/10 (here b minus a)
    [((48, 80), (56, 70), 0.0524, 0.3339), ((3, 10), (9, 10), 0.1705, 0.8090)],
)
def test_newcombe_difference_interval_matches_the_published_values(a, b, low, high):
    found = newcombe(*a, *b)
    assert found is not None
    difference, lower, upper = found
    assert difference == pytest.approx(b[0] / b[1] - a[0] / a[1])
    assert lower == pytest.approx(low, abs=5e-5)
    assert upper == pytest.approx(high, abs=5e-5)


@pytest.mark.parametrize(
    ("a", "b"), [((120, 1000), (150, 1000)), ((30, 400), (31, 380)), ((5, 50), (20, 60))]
)
def test_z_test_agrees_with_the_chi_square_test(a, b):
    """The pooled z-test's two-sided p is the p of chi-square on the 2x2 table without correction."""
    table = [[a[0], a[1] - a[0]], [b[0], b[1] - b[0]]]
    expected = stats.chi2_contingency(table, correction=False).pvalue
    assert two_proportion_z(*a, *b) == pytest.approx(expected, rel=1e-9)


def _summary(values: np.ndarray) -> tuple[int, float, float]:
    return len(values), float(values.sum()), float((values**2).sum())


def test_welch_from_sums_agrees_with_scipy_on_the_raw_values():
    rng = np.random.default_rng(7)
    a = np.where(rng.random(800) < 0.03, rng.gamma(2, 500, 800), 0.0)
    b = np.where(rng.random(700) < 0.05, rng.gamma(2, 600, 700), 0.0)
    found = welch(_summary(a), _summary(b))
    expected = stats.ttest_ind(b, a, equal_var=False)
    assert found is not None
    assert found.difference == pytest.approx(b.mean() - a.mean())
    assert found.p_value == pytest.approx(expected.pvalue, rel=1e-6)
    ci = expected.confidence_interval()
    assert (found.low, found.high) == (pytest.approx(ci.low, rel=1e-6), pytest.approx(ci.high, rel=1e-6))


def test_mean_interval_agrees_with_scipy():
    values = np.asarray([0.0, 0.0, 120.0, 0.0, 40.0, 0.0, 0.0, 300.0])
    found = mean_interval(*_summary(values))
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert found is not None
    assert (found.low, found.high) == (pytest.approx(low), pytest.approx(high))


def test_no_verdict_before_enough_is_shown():
    body = analyse([ArmCounts("current", shown=150, accepted=10), ArmCounts("V17", shown=150, accepted=40)])
    assert body["verdict"] is None
    assert "too few suggestions shown" in body["why_no_verdict"]
    assert body["comparisons"][0]["take_rate"]["significant"]  # reported, yet no verdict


def test_a_clear_difference_gets_a_verdict_naming_the_test():
    body = analyse(
        [ArmCounts("current", shown=2000, accepted=100), ArmCounts("V17", shown=2000, accepted=160)]
    )
    assert body["comparisons"][0]["clear"]
    assert body["verdict"].startswith("V17 is taken more often than current")
    assert "two-proportion z-test" in body["verdict"]


def test_a_small_difference_gets_no_verdict():
    body = analyse(
        [ArmCounts("current", shown=2000, accepted=100), ArmCounts("V17", shown=2000, accepted=110)]
    )
    assert body["verdict"] is None
    assert "not clear" in body["why_no_verdict"]


def test_more_arms_split_alpha_over_the_comparisons():
    """p = 0.03 is clear against one arm, not with two comparisons (Bonferroni: 0.025 each)."""
    a, b = ArmCounts("current", shown=3000, accepted=150), ArmCounts("V17", shown=3000, accepted=185)
    p = two_proportion_z(150, 3000, 185, 3000)
    assert p is not None and 0.025 < p < 0.05
    assert analyse([a, b])["verdict"] is not None
    assert analyse([a, b, ArmCounts("V18", shown=3000, accepted=150)])["verdict"] is None


def test_rates_and_values_per_arm():
    body = analyse(
        [ArmCounts("current", shown=400, accepted=40, won=5, lost=15, won_value=5000.0, won_value_sq=6e6)]
    )
    arm = body["arms"][0]
    assert arm["take_rate"]["value"] == pytest.approx(0.1)
    assert arm["win_rate"]["value"] == pytest.approx(0.25)
    assert arm["value_per_shown"]["value"] == pytest.approx(12.5)
    assert body["comparisons"] == []
