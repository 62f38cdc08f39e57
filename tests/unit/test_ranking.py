"""The ranking's pure pieces: margin rate, urgency, need factor and the calibrated likelihood."""

from __future__ import annotations

import pytest

from crossgraph.errors import InvalidInput
from crossgraph.recommend.actions import FusionConfig
from crossgraph.recommend.ranking import MARGIN_RATES, Posterior, calibrate, margin_rate, need_factor, urgency


def test_margin_rate_is_the_products_own_else_its_kinds_else_the_default() -> None:
    assert margin_rate({"kind": "machine", "margin": 0.12}, MARGIN_RATES, 0.3) == 0.12
    assert margin_rate({"kind": "service"}, MARGIN_RATES, 0.3) == 0.60
    assert margin_rate({"kind": "machine", "margin": None}, MARGIN_RATES, 0.3) == 0.25
    assert margin_rate({}, MARGIN_RATES, 0.3) == 0.3  # no kind, no margin


def test_urgency_is_full_up_to_the_window_then_halves_every_half_life() -> None:
    assert urgency(None, 90, 60) == 1.0  # undated
    assert urgency(-5, 90, 60) == 1.0  # overdue
    assert urgency(28, 90, 60) == 1.0
    assert urgency(90, 90, 60) == 1.0
    assert urgency(150, 90, 60) == pytest.approx(0.5)
    assert urgency(210, 90, 60) == pytest.approx(0.25)


def test_need_factor_runs_from_the_floor_at_need_start_to_one_at_full_need() -> None:
    assert need_factor(None, 0.5, 0.1) == 1.0  # not measured: as before
    assert need_factor(1.0, 0.5, 0.1) == 1.0
    assert need_factor(0.75, 0.5, 0.1) == pytest.approx(0.5)
    assert need_factor(0.5, 0.5, 0.1) == 0.1
    assert need_factor(0.2, 0.5, 0.1) == 0.1


def test_posterior_starts_at_the_prior_and_shrinks_towards_the_data() -> None:
    fresh = Posterior("renewal", "renewal", prior=0.8, strength=20)
    assert fresh.mean == pytest.approx(0.8) and fresh.decisions == 0
    assert fresh.describe() == "prior 0.80, no decisions yet"
    # (0.8 x 20 + 2) / (20 + 10) = 0.6: ten decisions move it a third of the way to 2/10
    some = Posterior("renewal", "renewal", prior=0.8, strength=20, won=2, failed=8)
    assert some.mean == pytest.approx(0.6)
    assert some.describe() == "0.60 from 10 decisions (2 won; prior 0.80)"
    many = Posterior("renewal", "renewal", prior=0.8, strength=20, won=200, failed=800)
    assert many.mean == pytest.approx((16 + 200) / 1020)  # close to the observed 0.2


def test_calibrate_counts_won_against_lost_and_dismissed_per_signal() -> None:
    rows = [
        {"kind": "upsell", "signal": "upgrade_path", "action": "lost", "n": 6},
        {"kind": "upsell", "signal": "upgrade_path", "action": "dismissed", "n": 4},
        {"kind": "upsell", "signal": "upgrade_path", "action": "won", "n": 1},
        {"kind": "renewal", "signal": None, "action": "won", "n": 5},  # renewals need no signal
        {"kind": "upsell", "signal": None, "action": "won", "n": 9},  # which signal? not counted
        {"kind": "cross_sell", "signal": "model", "action": "won", "n": 9},  # peer share, not a rate
        {"kind": "upsell", "signal": "capacity", "action": "accepted", "n": 9},  # not a decision
    ]
    found = calibrate({"upgrade_path": 0.25, "renewal": 0.8, "capacity": 0.3}, rows, strength=20)
    assert (found["upgrade_path"].won, found["upgrade_path"].failed) == (1, 10)
    assert found["upgrade_path"].mean == pytest.approx((5 + 1) / 31)
    assert (found["renewal"].won, found["renewal"].failed, found["renewal"].kind) == (5, 0, "renewal")
    assert found["capacity"].decisions == 0 and found["capacity"].mean == pytest.approx(0.3)


@pytest.mark.parametrize(
    "change",
    [
        {"margin_rates": {"machine": 1.5}},
        {"default_margin": -0.1},
        {"prior_strength": 0},
        {"urgency_half_life_days": 0},
        {"need_start": 1.0},
    ],
)
def test_a_nonsensical_ranking_setting_is_refused_by_name(change: dict[str, object]) -> None:
    name = next(iter(change))
    with pytest.raises(InvalidInput, match=name if name != "margin_rates" else r"margin_rates\[machine\]"):
        FusionConfig(**change)  # type: ignore[arg-type]
