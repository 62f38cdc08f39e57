"""Account signals on a hand-made graph (tests/fixtures/intel/README.md) where every answer is known."""

from __future__ import annotations

from datetime import date

import pytest

from crossgraph.errors import AccountNotFound
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import load_directory
from crossgraph.intel.signals import AccountSignals, Opportunity, SignalConfig, account_signals, recent_events
from tests.conftest import FIXTURES

pytestmark = pytest.mark.neo4j

AS_OF = date(2025, 1, 15)
PEERS = ("P1", "P2", "P3", "P4", "P5", "GHOST", "A1")  # unknown ids and the account itself are ignored


@pytest.fixture
def intel(graph: Graph) -> Graph:
    load_directory(graph, FIXTURES / "intel")
    return graph


def fired(opportunities: list[Opportunity]) -> set[tuple[str, str]]:
    return {(o.signal, o.sku) for o in opportunities}


def one(signals: AccountSignals, signal: str, sku: str) -> Opportunity:
    matches = [o for o in [*signals.upsell, *signals.renewal] if (o.signal, o.sku) == (signal, sku)]
    assert len(matches) == 1, f"expected one {signal} {sku}, found {matches}"
    return matches[0]


def test_every_signal_fires_where_it_should_and_nowhere_else(intel: Graph) -> None:
    signals = account_signals(intel, "A1", as_of=AS_OF, peers=PEERS)

    assert fired(signals.upsell) == {
        ("upgrade_path", "M-100P"),  # bought and installed Press X100
        ("upgrade_path", "SW-P"),  # bought LineView Basic; its Pro purchase comes after the test day
        ("aging_asset", "M-100P"),  # SN-A, 12 years
        ("aging_asset", "M-200"),  # SN-C, exactly 10 years; no successor -> the same model again
        ("aging_asset", "M-300"),  # SN-D; its successor is discontinued -> the same model again
        ("capacity", "M-100P"),  # SN-A at 95 %
        ("capacity", "M-200"),  # SN-C at exactly 85 %
        ("contract_level", "S-P"),  # K1 basic, up the upgrade ladder of its service product
        ("contract_level", "S-LP"),  # K2 basic, the premium service that fits the covered lathe
        ("volume", "C-1"),  # 4 an order against a peer median of 20
    }
    assert fired(signals.renewal) == {("renewal", "S-B")}  # K1; K2 ends one day too late
    assert [r.flag for r in signals.risks] == ["contract_ending", "revenue_falling"]
    values = [o.value for o in signals.upsell]
    assert values == sorted(values, reverse=True)


def test_accounts_with_nothing_to_say_get_nothing(intel: Graph) -> None:
    a3 = account_signals(intel, "A3", as_of=AS_OF, peers=PEERS)  # revenue exactly 25 % lower
    assert a3 == AccountSignals(upsell=[], renewal=[], risks=[])

    a2 = account_signals(intel, "A2", as_of=AS_OF, peers=PEERS)  # premium like its peers, half their volume
    assert a2.upsell == []
    assert fired(a2.renewal) == {("renewal", "S-P")}  # K3 ends exactly 180 days after the test day
    assert [r.flag for r in a2.risks] == ["contract_ending", "silence"]


def test_asset_signals_name_the_machine_its_age_and_the_threshold(intel: Graph) -> None:
    signals = account_signals(intel, "A1", as_of=AS_OF)

    aging = one(signals, "aging_asset", "M-100P")
    assert aging.reason == (
        "Press X100 (SN-A) installed 2012-04-01 is 12 years old (replacement age for machines: 10);"
        " replace with Press X100 Pro (list 165,000)"
    )
    assert aging.value == 165_000
    assert aging.related_skus == ("M-100",)
    assert [a["serial"] for a in aging.evidence["assets"]] == ["SN-A"]  # SN-E is installed after the test day

    same = one(signals, "aging_asset", "M-200")
    assert [a["serial"] for a in same.evidence["assets"]] == ["SN-C"]  # SN-B is one day short of 10 years
    assert "replace with another Lathe L200" in same.reason
    assert same.evidence["same_model"] is True

    busy = one(signals, "capacity", "M-200")
    assert busy.reason == (
        "Lathe L200 (SN-C) runs at 85% of capacity (threshold 85%); add capacity with another Lathe L200"
        " (list 80,000)"
    )
    assert [a["serial"] for a in one(signals, "capacity", "M-100P").evidence["assets"]] == ["SN-A"]


def test_an_owned_successor_is_not_offered_but_the_same_model_is(intel: Graph) -> None:
    signals = account_signals(intel, "A4", as_of=AS_OF)  # owns both Press X100 (old, busy) and the Pro

    assert fired(signals.upsell) == {("aging_asset", "M-100"), ("capacity", "M-100")}
    assert signals.risks == []  # never bought anything: no silence to speak of


def test_upgrade_path_says_what_is_owned(intel: Graph) -> None:
    signals = account_signals(intel, "A1", as_of=AS_OF)

    press = one(signals, "upgrade_path", "M-100P")
    # SN-E, the second press, is installed after the test day
    assert press.reason == (
        "Has Press X100 (bought since 2012-03-01, 1 installed) but not its upgrade Press X100 Pro"
        " (list 165,000)"
    )
    assert press.related_skus == ("M-100",)
    assert one(signals, "upgrade_path", "SW-P").value == 11_500


def test_contract_level_follows_the_peers_majority(intel: Graph) -> None:
    signals = account_signals(intel, "A1", as_of=AS_OF, peers=PEERS)

    press = one(signals, "contract_level", "S-P")
    assert press.reason == (
        "Contract K1 (Press Service Basic) is basic; 3 of 4 peers with a contract hold premium or better"
        " -> offer Press Service Premium (list 11,000)"
    )
    assert press.evidence["peer_levels"] == {"basic": 1, "premium": 2, "full": 1}  # P5's contract has lapsed
    assert press.related_skus == ("M-100", "S-B")
    assert one(signals, "contract_level", "S-LP").value == 5_000


def test_peer_signals_need_enough_peers(intel: Graph) -> None:
    # P5's contract has lapsed, so only two peers hold one; only P1 and P2 buy the lubricant
    few = account_signals(intel, "A1", as_of=AS_OF, peers=["P1", "P2", "P5"])
    assert {o.signal for o in few.upsell} == {"upgrade_path", "aging_asset", "capacity"}

    # P3 buys the die set only after the test day: two peers, not three
    enough = account_signals(intel, "A1", as_of=AS_OF, peers=["P1", "P2", "P3"])
    assert fired([o for o in enough.upsell if o.signal == "volume"]) == {("volume", "C-1")}
    assert len([o for o in enough.upsell if o.signal == "contract_level"]) == 2


def test_volume_reason_carries_the_quantities(intel: Graph) -> None:
    volume = one(account_signals(intel, "A1", as_of=AS_OF, peers=PEERS), "volume", "C-1")

    assert volume.reason == (
        "Orders 4 Lubricant 5L per order; 3 peers buying it order a median of 20 (flagged below 50% of that)"
        " -> +16 an order is about 728"
    )
    assert volume.value == pytest.approx(728.0)
    assert volume.evidence["orders"] == 4


def test_renewal_and_risks_carry_dates_days_and_money(intel: Graph) -> None:
    signals = account_signals(intel, "A1", as_of=AS_OF)

    renewal = one(signals, "renewal", "S-B")
    assert renewal.kind == "renewal"
    assert renewal.value == 6_000
    assert renewal.reason == (
        "Contract K1 (Press Service Basic, basic) ends 2025-03-31, in 75 days, 6,000 a year"
    )
    assert renewal.related_skus == ("M-100", "S-B")
    ending, falling = signals.risks
    assert ending.reason == "1 contract worth 6,000 a year end within 180 days (K1 in 75 days)"
    assert falling.reason == (
        "Revenue in the last 365 days (7,000) is 30% below the 365 days before (10,000; flagged beyond 25%)"
    )
    silent = account_signals(intel, "A2", as_of=AS_OF).risks[-1]
    assert silent.reason == "No purchase for 736 days (last on 2023-01-10; flagged after 365)"
    assert silent.evidence["days_since"] == 736
    # silence means more than the threshold
    quiet = account_signals(intel, "A2", as_of=AS_OF, config=SignalConfig(silence_days=735)).risks
    assert [r.flag for r in quiet] == ["contract_ending", "silence"]
    patient = account_signals(intel, "A2", as_of=AS_OF, config=SignalConfig(silence_days=736)).risks
    assert [r.flag for r in patient] == ["contract_ending"]


def test_thresholds_come_from_the_config(intel: Graph) -> None:
    config = SignalConfig(
        replacement_years={"machine": 15},
        utilization=0.96,
        renewal_days=181,
        revenue_drop=0.5,
        silence_days=800,
    )
    a1 = account_signals(intel, "A1", as_of=AS_OF, config=config)
    assert {o.signal for o in a1.upsell} == {"upgrade_path"}
    assert fired(a1.renewal) == {("renewal", "S-B"), ("renewal", "S-LB")}
    assert [r.flag for r in a1.risks] == ["contract_ending"]
    assert [r.flag for r in account_signals(intel, "A2", as_of=AS_OF, config=config).risks] == [
        "contract_ending"
    ]


def test_a_day_in_the_past_sees_the_graph_as_it_was(intel: Graph) -> None:
    # a year earlier: SN-A is 11, SN-C and SN-D are 9 and 13; SW-B was bought in 2023
    earlier = account_signals(intel, "A1", as_of=date(2024, 1, 15))
    assert {(o.signal, o.sku) for o in earlier.upsell if o.signal == "aging_asset"} == {
        ("aging_asset", "M-100P"),
        ("aging_asset", "M-300"),
    }
    # after the Pro licence was bought, it is no longer offered
    later = account_signals(intel, "A1", as_of=date(2025, 2, 1))
    assert ("upgrade_path", "SW-P") not in fired(later.upsell)


def test_recent_events_newest_first_within_the_window(intel: Graph) -> None:
    events = recent_events(intel, "A1", AS_OF)
    assert [(e.id, e.type, e.occurred_at, e.sku) for e in events] == [
        ("E1", "service_visit", date(2024, 12, 1), "M-100"),
        ("E2", "new_site", date(2024, 7, 19), None),  # exactly 180 days back
    ]
    assert events[0].text == "Press line at 95% capacity, second shift planned"
    assert [e.id for e in recent_events(intel, "A1", AS_OF, days=365)] == ["E1", "E2", "E3"]
    assert recent_events(intel, "A3", AS_OF) == []


def test_unknown_account(intel: Graph) -> None:
    with pytest.raises(AccountNotFound):
        account_signals(intel, "NOPE", as_of=AS_OF)
    with pytest.raises(AccountNotFound):
        recent_events(intel, "NOPE", AS_OF)
