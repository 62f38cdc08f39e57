"""Per-arm rates with 95 % intervals, and the tests behind an experiment's verdict.

- take rate = accepted / shown, win rate = won / (won + lost): Wilson score interval per arm;
  the difference between arms by Newcombe's hybrid score interval (Newcombe 1998, method 10),
  tested with the pooled two-proportion z-test (the same p as a chi-square test without
  continuity correction).
- won value per shown suggestion (0 for a suggestion not won): mean with a t interval, the
  difference by Welch's t-test (unequal variances, Welch-Satterthwaite degrees of freedom),
  computed from count, sum and sum of squares, so nothing per impression is stored.

The verdict comes from the take rate only (the primary metric, fixed before any data is seen,
so trying three metrics cannot manufacture a winner): clear when every arm has at least
`min_shown` suggestions shown and p < alpha / (arms - 1) (Bonferroni over the comparisons
with the first arm, the control). Win rate and value are reported with their own tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy import stats

LEVEL = 0.95
Z = float(stats.norm.ppf(1 - (1 - LEVEL) / 2))  # 1.959964


@dataclass(frozen=True)
class ArmCounts:
    arm: str
    shown: int = 0  # suggestions served in this arm (counted by the API)
    accepted: int = 0
    dismissed: int = 0
    won: int = 0
    lost: int = 0
    won_value: float = 0.0  # sum of the won deals' values
    won_value_sq: float = 0.0  # sum of their squares (for the variance)


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Test:
    difference: float  # arm minus control
    low: float
    high: float
    p_value: float
    test: str


def wilson(k: int, n: int, z: float = Z) -> Interval | None:
    """k of n with the Wilson score interval: (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    if n <= 0:
        return None
    if not 0 <= k <= n:
        raise ValueError(f"{k} successes of {n} trials: expected 0 <= k <= n")
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denominator = 1 + z * z / n
    return Interval(p, max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator))


def newcombe(k_a: int, n_a: int, k_b: int, n_b: int) -> tuple[float, float, float] | None:
    """p_b - p_a with Newcombe's hybrid score interval from the two Wilson intervals:
    d - sqrt((p_b - l_b)² + (u_a - p_a)²), d + sqrt((u_b - p_b)² + (p_a - l_a)²)."""
    a, b = wilson(k_a, n_a), wilson(k_b, n_b)
    if a is None or b is None:
        return None
    d = b.value - a.value
    low = d - math.sqrt((b.value - b.low) ** 2 + (a.high - a.value) ** 2)
    high = d + math.sqrt((b.high - b.value) ** 2 + (a.value - a.low) ** 2)
    return d, low, high


def two_proportion_z(k_a: int, n_a: int, k_b: int, n_b: int) -> float | None:
    """Two-sided p of the pooled z-test: z = (p_b - p_a) / sqrt(p(1-p)(1/n_a + 1/n_b))."""
    if n_a <= 0 or n_b <= 0:
        return None
    pooled = (k_a + k_b) / (n_a + n_b)
    variance = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    if variance == 0:
        return 1.0  # both arms all-or-nothing alike: no evidence of a difference
    z = (k_b / n_b - k_a / n_a) / math.sqrt(variance)
    return float(2 * stats.norm.sf(abs(z)))


def _mean_var(n: int, total: float, squares: float) -> tuple[float, float]:
    """Mean and sample variance from n, sum and sum of squares."""
    mean = total / n
    return mean, max(0.0, (squares - n * mean * mean) / (n - 1)) if n > 1 else 0.0


def mean_interval(n: int, total: float, squares: float) -> Interval | None:
    """Mean of n values with the t interval mean ± t(n-1) s / sqrt(n)."""
    if n <= 0:
        return None
    mean, variance = _mean_var(n, total, squares)
    if n == 1:
        return Interval(mean, mean, mean)
    half = float(stats.t.ppf(1 - (1 - LEVEL) / 2, n - 1)) * math.sqrt(variance / n)
    return Interval(mean, mean - half, mean + half)


def welch(a: tuple[int, float, float], b: tuple[int, float, float]) -> Test | None:
    """Mean of b minus mean of a (each given as n, sum, sum of squares) by Welch's t-test:
    t = d / sqrt(s_a²/n_a + s_b²/n_b), df = (v_a + v_b)² / (v_a²/(n_a-1) + v_b²/(n_b-1))."""
    (n_a, s_a, q_a), (n_b, s_b, q_b) = a, b
    if n_a < 2 or n_b < 2:
        return None
    mean_a, var_a = _mean_var(n_a, s_a, q_a)
    mean_b, var_b = _mean_var(n_b, s_b, q_b)
    v_a, v_b = var_a / n_a, var_b / n_b
    d = mean_b - mean_a
    if v_a + v_b == 0:
        return Test(d, d, d, 1.0 if d == 0 else 0.0, "Welch t-test")
    df = (v_a + v_b) ** 2 / (v_a * v_a / (n_a - 1) + v_b * v_b / (n_b - 1))
    se = math.sqrt(v_a + v_b)
    half = float(stats.t.ppf(1 - (1 - LEVEL) / 2, df)) * se
    p = float(2 * stats.t.sf(abs(d / se), df))
    return Test(d, d - half, d + half, p, "Welch t-test")


def proportion_test(k_a: int, n_a: int, k_b: int, n_b: int) -> Test | None:
    interval = newcombe(k_a, n_a, k_b, n_b)
    p = two_proportion_z(k_a, n_a, k_b, n_b)
    if interval is None or p is None:
        return None
    return Test(*interval, p_value=p, test="two-proportion z-test, Newcombe interval")


def analyse(counts: list[ArmCounts], alpha: float = 0.05, min_shown: int = 200) -> dict[str, Any]:
    """The status body: per arm counts, rates and intervals; each arm against the first; the
    verdict (None unless the take rate difference is clear)."""
    control = counts[0]
    arms = [_arm(c) for c in counts]
    comparisons = []
    threshold = alpha / max(len(counts) - 1, 1)
    verdicts, reasons = [], []
    few = [c for c in counts if c.shown < min_shown]
    for other in counts[1:]:
        take = proportion_test(control.accepted, control.shown, other.accepted, other.shown)
        win = proportion_test(control.won, control.won + control.lost, other.won, other.won + other.lost)
        value = welch(_values(control), _values(other))
        clear = take is not None and not few and take.p_value < threshold
        comparisons.append(
            {
                "arm": other.arm,
                "against": control.arm,
                "take_rate": _test(take, threshold),
                "win_rate": _test(win, threshold),
                "value_per_shown": _test(value, threshold),
                "clear": clear,
            }
        )
        if clear and take is not None:
            better = "more" if take.difference > 0 else "less"
            verdicts.append(
                f"{other.arm} is taken {better} often than {control.arm}: take rate "
                f"{_pct(other.accepted / other.shown)} vs {_pct(control.accepted / control.shown)} "
                f"(difference {take.difference * 100:+.1f} points, 95 % CI {take.low * 100:+.1f} to "
                f"{take.high * 100:+.1f}; two-proportion z-test p = {take.p_value:.2g} < {threshold:.2g})"
            )
        elif take is not None and not few:
            reasons.append(
                f"{other.arm} vs {control.arm}: take rate difference not clear (p = {take.p_value:.2g}, "
                f"needs p < {threshold:.2g})"
            )
    if few:
        reasons.insert(
            0,
            "too few suggestions shown for a verdict: "
            + ", ".join(f"{c.arm} {c.shown}" for c in few)
            + f" (at least {min_shown} per arm)",
        )
    return {
        "arms": arms,
        "comparisons": comparisons,
        "verdict": "; ".join(verdicts) or None,
        "why_no_verdict": None if verdicts else "; ".join(reasons) or None,
        "method": (
            f"take rate (accepted / shown) is the primary metric: pooled two-proportion z-test, "
            f"alpha {alpha:g} split over {max(len(counts) - 1, 1)} comparison(s) with {control.arm} "
            f"(Bonferroni), at least {min_shown} shown per arm. Intervals are 95 %: Wilson per arm, "
            "Newcombe hybrid score for differences of rates, t and Welch for won value per shown"
        ),
    }


def _values(c: ArmCounts) -> tuple[int, float, float]:
    return c.shown, c.won_value, c.won_value_sq


def _arm(c: ArmCounts) -> dict[str, Any]:
    return {
        "arm": c.arm,
        "shown": c.shown,
        "accepted": c.accepted,
        "dismissed": c.dismissed,
        "won": c.won,
        "lost": c.lost,
        "won_value": round(c.won_value, 2),
        "take_rate": _interval(wilson(c.accepted, c.shown)),
        "win_rate": _interval(wilson(c.won, c.won + c.lost)),
        "value_per_shown": _interval(mean_interval(*_values(c))),
    }


def _interval(i: Interval | None) -> dict[str, float] | None:
    return None if i is None else {"value": i.value, "low": i.low, "high": i.high}


def _test(t: Test | None, threshold: float) -> dict[str, Any] | None:
    if t is None:
        return None
    return {
        "difference": t.difference,
        "low": t.low,
        "high": t.high,
        "p_value": t.p_value,
        "test": t.test,
        "significant": t.p_value < threshold,
    }


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f} %"
