"""The fusion rule on hand-made inputs: expected value = likelihood x margin x boost x urgency."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from crossgraph.intel.signals import AccountSignals, Opportunity, TriggerEvent
from crossgraph.recommend.actions import FusionConfig, annotate, calibrated, fuse, list_events
from crossgraph.recommend.engine import Suggestion
from crossgraph.recommend.ranking import MARGIN_RATES

AS_OF = date(2026, 6, 30)
PRODUCTS: dict[str, dict[str, Any]] = {
    "C1": {"name": "Coolant", "category": "Consumables", "kind": "consumable", "list_price": 100.0},
    "T1": {"name": "Training", "category": "Training", "kind": "training", "list_price": 2000.0},
    "M2": {"name": "Press Pro", "category": "Presses", "kind": "machine", "list_price": 150_000.0},
    "S2": {"name": "Service Premium", "category": "Service", "kind": "service", "list_price": 20_000.0},
}


def suggestion(sku: str, rank: int, owning: int, score: float) -> Suggestion:
    """What the engine returns for a cross-sell product (likelihood = share of 20 peers, floor 0.05)."""
    likelihood = max(owning / 20, 0.05)
    value = PRODUCTS[sku]["list_price"]
    return {
        "sku": sku,
        "name": PRODUCTS[sku]["name"],
        "category": PRODUCTS[sku]["category"],
        "product_kind": PRODUCTS[sku]["kind"],
        "kind": "cross_sell",
        "signal": "model",
        "rank": rank,
        "score": score,
        "model_score": score,
        "source": "model",
        "reason": f"{owning} of your 20 closest peers {'owns' if owning == 1 else 'own'} it",
        "evidence": {"peers_considered": 20, "peers_owning": owning, "top_peers": []},
        "facts": None,
        "drivers": [],
        "likelihood": likelihood,
        "value": value,
        "boost": 1.0,
        "expected_value": likelihood * value,
        "event_ids": [],
        "related_skus": [],
    }


def opportunity(kind: str, signal: str, sku: str, value: float, related: tuple[str, ...] = ()) -> Opportunity:
    return Opportunity(
        kind, signal, sku, PRODUCTS[sku]["name"], value, f"{signal} {sku}", {"why": signal}, related
    )  # type: ignore[arg-type]


def cross() -> list[Suggestion]:
    """Fresh suggestions per use: the fusion annotates them in place, as the engine's are per request."""
    return [suggestion("C1", 1, 10, 3.0), suggestion("T1", 2, 2, 2.0)]


SIGNALS = AccountSignals(
    upsell=[opportunity("upsell", "upgrade_path", "M2", 150_000.0, ("M1",))],
    renewal=[opportunity("renewal", "renewal", "S2", 12_000.0, ("M1",))],
    risks=[],
)


def test_cross_sell_alone_keeps_the_model_order_and_a_configured_floor_applies() -> None:
    items = annotate(cross(), FusionConfig())
    assert [i["sku"] for i in items] == ["C1", "T1"] and [i["rank"] for i in items] == [1, 2]
    # 10/20 x 100 x the consumable margin 40 %: an expected margin, the list price kept as value
    assert items[0]["likelihood"] == 0.5 and items[0]["expected_value"] == 20.0
    assert items[0]["value"] == 100.0 and items[0]["margin_rate"] == 0.40 and items[0]["margin"] == 40.0
    assert items[1]["expected_value"] == pytest.approx(0.1 * 2000 * 0.5)
    floored = annotate([suggestion("T1", 1, 0, 1.0)], FusionConfig(cross_sell_floor=0.2))
    assert floored[0]["likelihood"] == 0.2 and floored[0]["expected_value"] == pytest.approx(200.0)


def test_fused_list_is_ranked_by_likelihood_times_value() -> None:
    config = FusionConfig()
    items = fuse(
        cross(),
        SIGNALS,
        [],
        products=PRODUCTS,
        kinds=("cross_sell", "upsell", "renewal"),
        as_of=AS_OF,
        limit=10,
    )
    expected = {
        "M2": config.likelihood["upgrade_path"] * 150_000.0 * MARGIN_RATES["machine"],
        "S2": config.likelihood["renewal"] * 12_000.0 * MARGIN_RATES["service"],
        "T1": 0.1 * 2000.0 * MARGIN_RATES["training"],
        "C1": 0.5 * 100.0 * MARGIN_RATES["consumable"],
    }
    assert [i["sku"] for i in items] == sorted(expected, key=lambda s: -expected[s])
    for item in items:
        assert item["expected_value"] == pytest.approx(expected[item["sku"]])
        # the fused list ranks by expected value; score stays the product's 0-100 fit (none given)
        assert (item["score"] is None) == (item["kind"] != "cross_sell")
    assert [i["rank"] for i in items] == [1, 2, 3, 4]
    assert {i["kind"] for i in items} == {"cross_sell", "upsell", "renewal"}
    only = fuse(cross(), SIGNALS, [], products=PRODUCTS, kinds=("upsell",), as_of=AS_OF, limit=10)
    assert [i["sku"] for i in only] == ["M2"]
    assert (
        len(
            fuse(
                cross(), SIGNALS, [], products=PRODUCTS, kinds=("cross_sell", "upsell"), as_of=AS_OF, limit=2
            )
        )
        == 2
    )


def test_a_recent_event_boosts_the_items_it_is_about_and_its_text_is_listed_once() -> None:
    config = FusionConfig(event_boost=2.0, event_days=90)
    complaint = TriggerEvent(
        "E1", "competitor_complaint", date(2026, 6, 1), "Unhappy with response times", None
    )
    old = TriggerEvent("E0", "competitor_complaint", date(2025, 6, 1), "old", None)
    visit = TriggerEvent("E2", "service_visit", date(2026, 5, 1), "Line at full load", "M1")
    items = fuse(
        cross(),
        SIGNALS,
        [complaint, old, visit],
        products=PRODUCTS,
        kinds=("cross_sell", "upsell", "renewal"),
        as_of=AS_OF,
        limit=10,
        config=config,
    )
    by_sku = {i["sku"]: i for i in items}
    renewal = by_sku["S2"]  # a complaint makes a renewal more urgent; the visit names its machine too
    assert renewal["boost"] == 2.0 and renewal["event_ids"] == ["E1", "E2"]
    assert renewal["expected_value"] == pytest.approx(0.8 * 12_000 * MARGIN_RATES["service"] * 2)
    assert by_sku["M2"]["boost"] == 2.0 and by_sku["M2"]["event_ids"] == ["E2"]  # the upgrade of M1
    assert by_sku["C1"]["boost"] == 1.0 and by_sku["C1"]["event_ids"] == []  # not about it
    # The text is not repeated in every reason: the list carries each recent event once.
    assert not [i["reason"] for i in items if "Unhappy" in i["reason"] or "full load" in i["reason"]]
    listed = list_events([complaint, old, visit], items, AS_OF, config)
    assert [(e["id"], e["text"], e["boosted_skus"]) for e in listed] == [
        ("E1", "Unhappy with response times", ["S2"]),
        ("E2", "Line at full load", [i["sku"] for i in items if i["sku"] in ("M2", "S2")]),
    ]


def test_one_item_per_product_and_excluded_or_owned_products_are_not_offered() -> None:
    duplicate = AccountSignals(
        upsell=[opportunity("upsell", "upgrade_path", "T1", 2000.0)], renewal=[], risks=[]
    )  # T1 is also a cross-sell suggestion; upsell likelihood 0.25 > peer share 0.1
    items = fuse(
        cross(), duplicate, [], products=PRODUCTS, kinds=("cross_sell", "upsell"), as_of=AS_OF, limit=10
    )
    t1 = [i for i in items if i["sku"] == "T1"]
    assert len(t1) == 1 and t1[0]["kind"] == "upsell"
    assert t1[0]["evidence"]["peers_owning"] == 2 and t1[0]["reason"].endswith(
        "2 of your 20 closest peers own it"
    )
    one_peer = [suggestion("T1", 1, 1, 2.0)]  # one peer: the reason says "owns"
    single = fuse(
        one_peer, duplicate, [], products=PRODUCTS, kinds=("cross_sell", "upsell"), as_of=AS_OF, limit=5
    )
    assert single[0]["kind"] == "upsell"
    assert single[0]["reason"].endswith("; 1 of your 20 closest peers owns it")
    excluded = fuse(
        cross(),
        SIGNALS,
        [],
        products=PRODUCTS,
        kinds=("upsell",),
        as_of=AS_OF,
        limit=10,
        exclude=frozenset({"M2"}),
    )
    assert excluded == []
    owned = fuse(
        cross(),
        SIGNALS,
        [],
        products=PRODUCTS,
        kinds=("upsell",),
        as_of=AS_OF,
        limit=10,
        owned=frozenset({"M2"}),
    )
    assert owned == []


def renewal_in(days: int, annual: float = 20_000.0) -> Opportunity:
    contract = {"id": "K1", "days_left": days, "annual_value": annual}
    return Opportunity(
        "renewal", "renewal", "S2", "Service Premium", annual, "K1 ends", {"contracts": [contract]}, ("M1",)
    )


def healthy_upgrade(need: float) -> Opportunity:
    """Press Pro (list 500,000) for a press of need `need` (5 of 10 years at 52 % load: 0.61)."""
    return Opportunity(
        "upsell", "upgrade_path", "M2", "Press Pro", 500_000.0, "Has Press", {"need": need}, ("M1",), need
    )


def ranked(signals: AccountSignals, config: FusionConfig = FusionConfig()) -> list[dict[str, Any]]:
    return fuse(
        [], signals, [], products=PRODUCTS, kinds=("upsell", "renewal"), as_of=AS_OF, limit=10, config=config
    )


def test_a_renewal_due_in_28_days_outranks_a_speculative_upgrade_of_a_healthy_machine() -> None:
    items = ranked(AccountSignals(upsell=[healthy_upgrade(0.61)], renewal=[renewal_in(28)], risks=[]))
    assert [i["sku"] for i in items] == ["S2", "M2"]  # by list price it was M2 (500,000) far ahead
    renewal, upgrade = items
    assert renewal["urgency"] == 1.0 and renewal["due_in_days"] == 28
    assert renewal["expected_value"] == pytest.approx(0.8 * 20_000 * 0.60)  # 9,600
    assert "due in 28 days" in renewal["ranking"] and "prior 0.80, no decisions yet" not in renewal["ranking"]
    assert upgrade["likelihood"] == pytest.approx(0.25 * 0.1)  # need 0.61: at the floor
    assert "for need 0.61" in upgrade["ranking"] and upgrade["value"] == 500_000.0
    # a machine that needs it (at replacement age or capacity) is offered at the full rate and leads
    needed = ranked(AccountSignals(upsell=[healthy_upgrade(1.0)], renewal=[renewal_in(28)], risks=[]))
    assert [i["sku"] for i in needed] == ["M2", "S2"] and needed[0]["likelihood"] == 0.25


def test_a_renewal_further_out_weighs_less_the_later_it_ends() -> None:
    near, far = (
        ranked(AccountSignals(upsell=[], renewal=[renewal_in(days)], risks=[]))[0] for days in (28, 150)
    )
    assert far["urgency"] == pytest.approx(0.5) and far["expected_value"] == pytest.approx(
        near["expected_value"] / 2
    )


def test_calibrated_likelihoods_change_the_order_and_the_item_says_from_how_many_decisions() -> None:
    signals = AccountSignals(upsell=[healthy_upgrade(1.0)], renewal=[renewal_in(28)], risks=[])
    rows = [
        {"kind": "upsell", "signal": "upgrade_path", "action": "lost", "n": 60},
        {"kind": "renewal", "signal": "renewal", "action": "won", "n": 10},
    ]
    items = ranked(signals, calibrated(FusionConfig(), rows))
    assert [i["sku"] for i in items] == ["S2", "M2"]
    assert items[1]["likelihood"] == pytest.approx(0.25 * 20 / 80)  # (5 + 0) / (20 + 60)
    assert "0.06 from 60 decisions (0 won; prior 0.25)" in items[1]["likelihood_basis"]


def test_a_products_own_margin_replaces_its_kinds() -> None:
    products = {**PRODUCTS, "M2": {**PRODUCTS["M2"], "margin": 0.05}}
    signals = AccountSignals(upsell=[healthy_upgrade(1.0)], renewal=[], risks=[])
    item = fuse([], signals, [], products=products, kinds=("upsell",), as_of=AS_OF, limit=5)[0]
    assert item["margin_rate"] == 0.05 and item["expected_value"] == pytest.approx(0.25 * 500_000 * 0.05)


def test_cross_sell_wins_below_the_peers_share_scale_every_cross_sell_item_down_not_their_order() -> None:
    # 40 cross-sell items decided whose peers' shares promised 20 wins; 4 were won:
    # factor (20 + 4) / (20 + 20) = 0.6. Feedback without a recorded share does not count.
    xs = {"kind": "cross_sell", "signal": "model"}
    rows = [
        {**xs, "action": "won", "n": 4, "expected": 3.0, "measured": 4},
        {**xs, "action": "lost", "n": 40, "expected": 17.0, "measured": 36},
        {**xs, "action": "accepted", "n": 9, "expected": 5.0, "measured": 9},
    ]
    config = calibrated(FusionConfig(), rows)
    assert config.cross_sell_calibration is not None
    assert (config.cross_sell_calibration.won, config.cross_sell_calibration.failed) == (4, 36)
    assert config.cross_sell_calibration.factor == pytest.approx(0.6)
    items = annotate(cross(), config)
    assert [i["sku"] for i in items] == ["C1", "T1"]  # one factor for all: the model's order stays
    assert items[0]["likelihood"] == pytest.approx(0.5 * 0.6)
    assert items[0]["expected_value"] == pytest.approx(0.3 * 100 * 0.40)
    assert items[0]["likelihood_basis"].endswith("x 0.60 from 40 decisions (4 won, 20.0 expected)")
    # No decisions yet: the peers' share as it is, and the basis says only that.
    fresh = annotate(cross(), calibrated(FusionConfig(), []))
    assert fresh[0]["likelihood"] == 0.5
    assert fresh[0]["likelihood_basis"] == "share of the closest peers owning it"
    # Wins above the shares raise it, never past 1.
    lucky = calibrated(FusionConfig(), [{**rows[0], "n": 60, "measured": 60, "expected": 10.0}])
    assert annotate([suggestion("C1", 1, 19, 1.0)], lucky)[0]["likelihood"] == 1.0
