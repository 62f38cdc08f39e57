"""The upsell potential score from hand-made facts: every component pinned, and the seller's rule
(old machines without recent upgrades score high; new, fully configured systems score low)."""

from __future__ import annotations

from datetime import date

import pytest

from crossgraph.errors import InvalidInput
from crossgraph.intel.potential import PotentialConfig, upsell_potential
from crossgraph.intel.signals import AccountFacts, AccountSignals, Asset, Opportunity, Product

DAY = date(2026, 6, 30)
PRESS = Product("M-1", "Press X100", kind="machine", list_price=300_000)


def machine(serial: str, installed: date, utilization: float | None) -> Asset:
    return Asset(serial=serial, model=PRESS, installed_at=installed, utilization=utilization)


NOTHING = AccountSignals([], [], [])


def test_an_old_busy_machine_without_upgrades_scores_high() -> None:
    facts = AccountFacts("A1", "Old & busy", assets=(machine("S1", date(2013, 6, 1), 0.95),))
    below = Opportunity(
        "upsell", "contract_level", "S-P", "Service Premium", 1.0, "Contract K1 is basic", {}, ()
    )
    potential = upsell_potential(facts, AccountSignals([below], [], []), DAY, ["Feeder", "Guard", "Dryer"])
    values = {name: c.value for name, c in potential.components.items()}
    assert values == {
        "age": 1.0,
        "utilization": 1.0,
        "configuration": 1.0,
        "contract": 1.0,
        "since_upgrade": 1.0,
    }
    assert potential.score == 100
    assert potential.components["age"].detail == "Press X100 (S1) is 13 years old, replaced at 10"
    assert potential.components["utilization"].detail == "Press X100 (S1) runs at 95%"
    assert potential.components["configuration"].detail.startswith(
        "3 options standard at peers missing: Feeder"
    )


def test_a_new_fully_configured_machine_scores_low() -> None:
    facts = AccountFacts("A2", "New", assets=(machine("S2", date(2025, 12, 30), 0.55),))
    potential = upsell_potential(facts, NOTHING, DAY, [])
    values = {name: round(c.value, 3) for name, c in potential.components.items()}
    # 0 full years of 10; (0.55 - 0.5) / (0.85 - 0.5); no gaps; contract fine; 0.5 years of 5
    assert values == {
        "age": 0.0,
        "utilization": 0.143,
        "configuration": 0.0,
        "contract": 0.0,
        "since_upgrade": 0.1,
    }
    assert potential.score == round(100 * (0.2 * 0.05 / 0.35 + 0.15 * 182 / 365.25 / 5))  # 4


def test_components_in_between_are_linear_and_weights_are_the_documented_ones() -> None:
    facts = AccountFacts(
        "A3",
        "Middling",
        assets=(machine("S3", date(2021, 6, 30), 0.675), machine("S4", date(2016, 7, 1), None)),
    )
    potential = upsell_potential(facts, NOTHING, DAY, ["Feeder"])
    c = potential.components
    assert c["age"].value == pytest.approx(0.9)  # S4: 9 full years (10 on 2026-07-01)
    assert c["utilization"].value == pytest.approx(0.5)  # halfway from 0.5 to 0.85
    assert c["configuration"].value == pytest.approx(1 / 3)
    assert c["since_upgrade"].value == pytest.approx(1826 / 365.25 / 5)  # S3 arrived 5 years ago: capped
    weights = {name: comp.weight for name, comp in c.items()}
    assert weights == {
        "age": 0.3,
        "utilization": 0.2,
        "configuration": 0.2,
        "contract": 0.15,
        "since_upgrade": 0.15,
    }
    expected = 0.3 * 0.9 + 0.2 * 0.5 + 0.2 / 3 + 0.15 * min(1.0, 1826 / 365.25 / 5)
    assert potential.score == round(100 * expected)


def test_an_account_without_machines_scores_only_on_configuration_and_contract() -> None:
    potential = upsell_potential(AccountFacts("A4", "Parts buyer"), NOTHING, DAY, [])
    assert potential.score == 0
    assert potential.components["since_upgrade"].detail == "no machines"
    assert potential.components["age"].detail == "no machine with a replacement age"


def test_weights_must_cover_every_component_and_sum_to_one() -> None:
    with pytest.raises(InvalidInput, match="sum to 1"):
        PotentialConfig(
            weights={
                "age": 0.5,
                "utilization": 0.5,
                "configuration": 0.5,
                "contract": 0.0,
                "since_upgrade": 0.0,
            }
        )
    with pytest.raises(InvalidInput, match="each of"):
        PotentialConfig(weights={"age": 1.0})
