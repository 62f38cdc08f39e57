"""Amounts as they are shown."""

from __future__ import annotations

import math

from crossgraph.money import cents, money_text


def test_cents_rounds_float_drift_and_never_gives_minus_zero() -> None:
    drifted = 0.1 + 0.2 + 703.52
    assert drifted != 703.82 and cents(drifted) == 703.82
    assert math.copysign(1.0, cents(-0.001)) == 1.0
    assert money_text(12345.6) == "12,345.60"
