"""Upsell potential of one account: a 0-100 score from five visible components.

The seller's rule (DOMAIN.md): old machines without recent upgrades score high; new, fully
configured systems score low. Each component is a number from 0 to 1 with the fact behind it:

- age: the installed machine closest to (or past) its replacement age, as age / replacement
  age, capped at 1 (a 12-year-old machine replaced at 10 years: 1; a 4-year-old one: 0.4);
- utilization: the busiest machine, 0 at or below `low_utilization`, 1 at the capacity
  threshold (SignalConfig.utilization), linear between;
- configuration: options (accessories, software) that at least `gap_share` of the closest
  peers running the same machine own and this account does not, `gaps_full` of them or more
  scoring 1;
- contract: 1 when its service contract is below the level its peers run (the contract_level
  signal fired), else 0;
- since_upgrade: years since the last machine came in (installed or bought), over
  `upgrade_years_full`, capped at 1; an account without machines scores 0 here.

score = 100 x sum(weight x component), weights summing to 1 (rounded to a whole number). An
account without machines can only score on configuration and contract.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any

from crossgraph.errors import InvalidInput
from crossgraph.intel.signals import (
    DAY_SECONDS,
    EPOCH,
    AccountFacts,
    AccountSignals,
    SignalConfig,
    full_years,
)

COMPONENTS = ("age", "utilization", "configuration", "contract", "since_upgrade")
MACHINE = "machine"


@dataclass(frozen=True)
class PotentialConfig:
    weights: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(
            {"age": 0.30, "utilization": 0.20, "configuration": 0.20, "contract": 0.15, "since_upgrade": 0.15}
        ),
        hash=False,
    )
    low_utilization: float = 0.5
    gap_share: float = 0.5
    gaps_full: int = 3
    min_peers: int = 3  # peers running the same machine needed to call an option standard
    upgrade_years_full: float = 5.0
    option_kinds: tuple[str, ...] = ("accessory", "software")

    def __post_init__(self) -> None:
        if set(self.weights) != set(COMPONENTS) or any(w < 0 for w in self.weights.values()):
            raise InvalidInput(f"weights={dict(self.weights)} must give each of {COMPONENTS} a weight >= 0")
        if abs(sum(self.weights.values()) - 1) > 1e-9:
            raise InvalidInput(f"weights={dict(self.weights)} must sum to 1")
        if not 0 < self.gap_share <= 1:
            raise InvalidInput(f"gap_share={self.gap_share} must be in (0, 1]")
        if self.gaps_full < 1 or self.min_peers < 1 or self.upgrade_years_full <= 0:
            raise InvalidInput("gaps_full and min_peers must be at least 1, upgrade_years_full above 0")


@dataclass(frozen=True)
class Component:
    value: float  # 0..1
    weight: float
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"value": round(self.value, 3), "weight": self.weight, "detail": self.detail}


@dataclass(frozen=True)
class Potential:
    score: int  # 0..100
    components: dict[str, Component]

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "components": {k: c.as_dict() for k, c in self.components.items()}}


def upsell_potential(
    facts: AccountFacts,
    signals: AccountSignals,
    day: date,
    gaps: Sequence[str],
    signal_config: SignalConfig = SignalConfig(),
    config: PotentialConfig = PotentialConfig(),
) -> Potential:
    """`facts` cut at `day` (AccountFacts.as_of); `gaps`: names of the options standard at the
    peers and missing here (configuration_gaps)."""
    w = config.weights
    parts = {
        "age": _age(facts, day, signal_config),
        "utilization": _utilization(facts, signal_config, config),
        "configuration": (
            min(1.0, len(gaps) / config.gaps_full),
            f"{len(gaps)} option{'s' if len(gaps) != 1 else ''} standard at peers missing"
            + (f": {', '.join(gaps[:3])}" if gaps else ""),
        ),
        "contract": _contract(signals),
        "since_upgrade": _since_upgrade(facts, day, config),
    }
    components = {name: Component(value, w[name], detail) for name, (value, detail) in parts.items()}
    score = round(100 * sum(c.value * c.weight for c in components.values()))
    return Potential(int(score), components)


def _age(facts: AccountFacts, day: date, config: SignalConfig) -> tuple[float, str]:
    best: tuple[float, str] = (0.0, "no machine with a replacement age")
    for asset in facts.assets:
        years = config.replacement_years.get(asset.model.kind or "")
        if years is None:
            continue
        age = full_years(asset.installed_at, day)
        value = min(1.0, age / years)
        if value > best[0] or best[1].startswith("no "):
            best = (value, f"{asset.model.name} ({asset.serial}) is {age} years old, replaced at {years}")
    return best


def _utilization(facts: AccountFacts, signals: SignalConfig, config: PotentialConfig) -> tuple[float, str]:
    used = [(a.utilization, a) for a in facts.assets if a.utilization is not None]
    if not used:
        return 0.0, "no utilisation recorded"
    top, asset = max(used, key=lambda pair: pair[0])
    span = signals.utilization - config.low_utilization
    if span <= 0:  # a capacity threshold at or below the low mark: all or nothing
        return float(top >= signals.utilization), f"{asset.model.name} ({asset.serial}) runs at {top:.0%}"
    value = min(1.0, max(0.0, (top - config.low_utilization) / span))
    return value, f"{asset.model.name} ({asset.serial}) runs at {top:.0%}"


def _contract(signals: AccountSignals) -> tuple[float, str]:
    below = [o for o in signals.upsell if o.signal == "contract_level"]
    if not below:
        return 0.0, "service level at or above its peers'"
    return 1.0, below[0].reason.split("; ")[0]


def _since_upgrade(facts: AccountFacts, day: date, config: PotentialConfig) -> tuple[float, str]:
    arrivals = [a.installed_at for a in facts.assets]
    for bought in facts.bought:
        if bought.product.kind == MACHINE and bought.ledger.at:
            arrivals.append(EPOCH + timedelta(days=min(bought.ledger.at) // DAY_SECONDS))
    if not arrivals:
        return 0.0, "no machines"
    last = max(arrivals)
    years = (day - last).days / 365.25
    return min(
        1.0, years / config.upgrade_years_full
    ), f"last machine came in on {last} ({years:.1f} years ago)"
