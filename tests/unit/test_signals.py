"""The signal rules on hand-built facts, without Neo4j."""

from __future__ import annotations

from datetime import date

import pytest

from crossgraph.errors import InvalidInput
from crossgraph.intel.signals import (
    AccountFacts,
    Asset,
    Bought,
    Contract,
    Ledger,
    PeerFacts,
    PeerVolume,
    Product,
    SignalConfig,
    compute_signals,
    day_end,
    full_years,
    majority_level,
    peer_levels,
)

AS_OF = date(2025, 1, 15)
PRESS = Product("M-100", "Press X100", kind="machine", list_price=120_000)
PRESS_PRO = Product("M-100P", "Press X100 Pro", kind="machine", list_price=165_000)
GONE = Product("M-OLD", "Press X50", kind="machine", list_price=90_000, active=False)
LUBE = Product("C-1", "Lubricant 5L", kind="consumable", list_price=None)


def seconds(day: date) -> int:
    return day_end(day) - 86_400


def ledger(*lines: tuple[date, str, float, float]) -> Ledger:
    return Ledger(
        tuple(seconds(d) for d, _, _, _ in lines),
        tuple(o for _, o, _, _ in lines),
        tuple(q for _, _, q, _ in lines),
        tuple(r for _, _, _, r in lines),
    )


def press(serial: str, installed: date, utilization: float | None = None, model: Product = PRESS) -> Asset:
    successors = (PRESS_PRO,) if model is PRESS else ()
    return Asset(serial, model, installed, utilization, successors)


def test_full_years_counts_birthdays() -> None:
    assert full_years(date(2015, 1, 15), date(2025, 1, 15)) == 10
    assert full_years(date(2015, 1, 16), date(2025, 1, 15)) == 9
    assert full_years(date(2016, 2, 29), date(2025, 2, 28)) == 8
    assert full_years(date(2016, 2, 29), date(2025, 3, 1)) == 9


def test_ledger_cut_and_quantity_per_order() -> None:
    lines = ledger(
        (date(2024, 1, 1), "O1", 4, 40), (date(2024, 1, 1), "O1", 6, 60), (date(2025, 1, 16), "O2", 90, 900)
    )
    assert lines.per_order() == 50  # 100 units in 2 orders
    cut = lines.until(day_end(AS_OF))
    assert cut.per_order() == 10  # one order of 4 + 6 before the day ends
    assert cut.revenue_between(0, day_end(AS_OF)) == 100
    assert Ledger().per_order() is None


def test_majority_level_is_the_peers_median_level() -> None:
    levels = ("basic", "premium", "full")
    assert majority_level(["basic", "premium", "premium", "full"], levels, 3) == "premium"
    assert majority_level(["basic", "basic", "full", "full"], levels, 3) == "basic"  # half is not most
    assert majority_level(["full", "full", "premium"], levels, 3) == "full"
    assert majority_level(["full", "full"], levels, 3) is None  # too few peers


def test_peer_levels_take_each_peers_best_active_contract() -> None:
    peers = [
        PeerFacts(
            "P1",
            (
                Contract("a", "basic", date(2024, 1, 1), date(2026, 1, 1)),
                Contract("b", "full", date(2024, 1, 1), date(2026, 1, 1)),
            ),
        ),
        PeerFacts("P2", (Contract("c", "full", date(2020, 1, 1), date(2023, 1, 1)),)),  # lapsed
        PeerFacts("P3", (Contract("d", "premium", date(2025, 2, 1), date(2026, 1, 1)),)),  # not started
        PeerFacts("P4", (Contract("e", "gold", date(2024, 1, 1), date(2026, 1, 1)),)),  # unknown level
    ]
    assert peer_levels(peers, AS_OF, ("basic", "premium", "full")) == {"P1": "full"}


def test_asset_signals_group_by_offer_and_fall_back_to_the_same_model() -> None:
    facts = AccountFacts(
        "A",
        "Acme",
        assets=(
            press("S1", date(2010, 1, 1), 0.9),
            press("S2", date(2012, 1, 1), 0.2),
            press("S3", date(2011, 1, 1), 0.99, model=GONE),  # old and busy, but no longer sold
        ),
    )
    upsell = compute_signals(facts, [], AS_OF).upsell
    assert {(o.signal, o.sku) for o in upsell} == {
        ("upgrade_path", "M-100P"),
        ("aging_asset", "M-100P"),
        ("capacity", "M-100P"),
    }
    aging = next(o for o in upsell if o.signal == "aging_asset")
    assert [a["serial"] for a in aging.evidence["assets"]] == ["S1", "S2"]  # one offer for both presses
    assert aging.reason.startswith(
        "Press X100 (S1) installed 2010-01-01 is 15 years old, Press X100 (S2) installed 2012-01-01 is 13"
    )

    owns_pro = AccountFacts(
        "A", "Acme", assets=(press("S1", date(2010, 1, 1), 0.9), press("S9", AS_OF, None, PRESS_PRO))
    )
    offers = {
        (o.signal, o.sku, o.reason.split("; ")[-1]) for o in compute_signals(owns_pro, [], AS_OF).upsell
    }
    assert offers == {
        ("aging_asset", "M-100", "replace with another Press X100 (list 120,000)"),
        ("capacity", "M-100", "add capacity with another Press X100 (list 120,000)"),
    }


def test_contract_level_without_a_product_of_that_level_still_names_the_level() -> None:
    facts = AccountFacts("A", "Acme", contracts=(Contract("K", "basic", date(2024, 1, 1), date(2026, 1, 1)),))
    peers = [
        PeerFacts(f"P{i}", (Contract(f"k{i}", "premium", date(2024, 1, 1), date(2026, 1, 1)),))
        for i in range(3)
    ]
    (offer,) = compute_signals(facts, peers, AS_OF).upsell
    assert (offer.signal, offer.sku, offer.name, offer.value) == (
        "contract_level",
        "",
        "premium service",
        0.0,
    )
    assert offer.reason.endswith(
        "3 of 3 peers with a contract hold premium or better -> offer premium service (no product found)"
    )


def test_volume_prices_the_gap_from_own_revenue_without_a_list_price() -> None:
    own = ledger((date(2024, 6, 1), "O1", 2, 30), (date(2024, 7, 1), "O2", 2, 30))  # 15 a unit
    facts = AccountFacts("A", "Acme", bought=(Bought(LUBE, own),))
    peers = [PeerFacts(f"P{i}", bought={"C-1": PeerVolume(q, 1)}) for i, q in enumerate((8, 10, 12))]
    (offer,) = compute_signals(facts, peers, AS_OF).upsell
    assert (offer.signal, offer.value) == ("volume", 120.0)  # (10 - 2) x 15
    assert offer.evidence["peers_buying"] == 3


def test_revenue_falling_and_silence_boundaries() -> None:
    def account(*lines: tuple[date, float]) -> AccountFacts:
        lines_ = ledger(*((d, f"O{i}", 1, r) for i, (d, r) in enumerate(lines)))
        return AccountFacts("A", "Acme", bought=(Bought(LUBE, lines_),))

    def flags(facts: AccountFacts) -> list[str]:
        return [r.flag for r in compute_signals(facts, [], AS_OF).risks]

    first_recent_day = date(2024, 1, 17)  # 365 days up to and including 2025-01-15
    assert flags(account((date(2023, 6, 1), 100), (first_recent_day, 75))) == []
    assert flags(account((date(2023, 6, 1), 100), (first_recent_day, 74.9))) == ["revenue_falling"]
    assert flags(account((date(2023, 6, 1), 100), (date(2024, 1, 16), 100))) == ["revenue_falling"]
    assert flags(account((date(2024, 1, 16), 100))) == ["revenue_falling"]  # 365 days quiet: not yet silent
    assert flags(account((date(2024, 1, 15), 100))) == ["revenue_falling", "silence"]
    assert flags(AccountFacts("A", "Acme")) == []


def test_config_rejects_nonsense() -> None:
    with pytest.raises(InvalidInput, match="utilization"):
        SignalConfig(utilization=1.5)
    with pytest.raises(InvalidInput, match="levels"):
        SignalConfig(levels=("basic", "basic"))
    with pytest.raises(InvalidInput, match="replacement_years"):
        SignalConfig(replacement_years={"machine": 0})
    with pytest.raises(InvalidInput, match="renewal_days"):
        SignalConfig(renewal_days=0)


def test_the_service_defaults_are_the_thresholds_the_readme_states() -> None:
    """An unconfigured service flags what the README's table says: machines due after 10 years,
    capacity at 85% utilisation, contracts ending within 180 days."""
    from crossgraph.api.app import intel_config
    from crossgraph.settings import Settings

    served = intel_config(Settings()).signals
    assert served == SignalConfig()
    assert (dict(served.replacement_years), served.utilization, served.renewal_days) == (
        {"machine": 10},
        0.85,
        180,
    )
