"""The pieces of an item's expected value that are not the signal itself (docs/ranking.md):

    expected_value = likelihood x margin x boost x urgency
    likelihood     = calibrated rate of the signal x need      (cross-sell: share of peers owning it)
    margin         = value x margin rate of the product

- margin rate: the product's own `margin` (products.csv) if set, else the rate of its product
  kind (`margin_rates`), else `default_margin`; a renewal without a service product is a service;
- calibrated rate: the posterior mean of a Beta prior whose mean is the configured rate and
  whose weight is `prior_strength` pseudo-decisions, updated with the decided feedback of the
  signal (won = success; lost or dismissed = failure; shown and accepted are not decisions);
- need (upgrade path of an installed machine): how close its machines are to replacement age or
  to the capacity threshold; below `need_start` nothing presses, and the likelihood shrinks to
  `need_floor` of the rate;
- urgency (items with a date, renewals): 1 up to `urgency_full_days` before the date (and when
  overdue), then halved every `urgency_half_life_days` further out; undated items 1.

Pure functions on plain values; the feedback counts come from graph.feedback.outcome_counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from crossgraph.errors import InvalidInput

# Gross margin share per product kind (data.tables.KINDS): equipment sells on thin margins, the
# aftermarket (parts, consumables, service, software) on thick ones; see docs/ranking.md.
MARGIN_RATES: Mapping[str, float] = MappingProxyType(
    {
        "machine": 0.25,
        "part": 0.45,
        "consumable": 0.40,
        "service": 0.60,
        "training": 0.50,
        "software": 0.75,
        "accessory": 0.35,
    }
)
DEFAULT_MARGIN = 0.30  # a product without kind or margin
SERVICE_KIND = "service"  # what a renewal sells

SUCCESS = ("won",)
FAILURE = ("lost", "dismissed")
OUTCOMES = SUCCESS + FAILURE


def share(value: float, name: str) -> float:
    """A rate in [0, 1], or InvalidInput naming it."""
    if not 0 <= value <= 1:
        raise InvalidInput(f"{name}={value} must be between 0 and 1")
    return value


def margin_rate(product: Mapping[str, Any], rates: Mapping[str, float], default: float) -> float:
    """The product's own margin, else its kind's rate, else the default."""
    own = product.get("margin")
    if own is not None:
        return float(own)
    return rates.get(str(product.get("kind") or ""), default)


def urgency(days_left: int | None, full_days: int, half_life_days: int) -> float:
    """1 for undated items and inside `full_days` (overdue included), then
    0.5 ** ((days_left - full_days) / half_life_days)."""
    if days_left is None or days_left <= full_days:
        return 1.0
    return float(0.5 ** ((days_left - full_days) / half_life_days))


def need_factor(need: float | None, start: float, floor: float) -> float:
    """Likelihood multiplier of a speculative item from its need in [0, 1] (None: not measured, 1):
    a straight line from `floor` at `start` to 1 at full need,
    max(floor, min(1, (need - start) / (1 - start)))."""
    if need is None:
        return 1.0
    return max(floor, min(1.0, (need - start) / (1.0 - start)))


@dataclass(frozen=True)
class Posterior:
    """Beta(prior x strength + won, (1 - prior) x strength + failed) for one signal."""

    signal: str
    kind: str
    prior: float
    strength: float
    won: int = 0
    failed: int = 0

    @property
    def decisions(self) -> int:
        return self.won + self.failed

    @property
    def mean(self) -> float:
        # E[p | data] = (a0 + won) / (a0 + b0 + won + failed), a0 = prior x strength
        return (self.prior * self.strength + self.won) / (self.strength + self.decisions)

    def describe(self) -> str:
        """'prior 0.80, no decisions yet' or '0.62 from 12 decisions (7 won)'."""
        if not self.decisions:
            return f"prior {self.prior:.2f}, no decisions yet"
        return f"{self.mean:.2f} from {self.decisions} decisions ({self.won} won; prior {self.prior:.2f})"


@dataclass(frozen=True)
class CrossSellCalibration:
    """How far cross-sell wins follow the peers' share: the observed over the expected wins,
    shrunk towards 1. Each decided cross-sell item expected `likelihood` wins (the peers' share
    it showed when decided); with a Gamma(strength, strength) prior on the factor and Poisson
    wins, the posterior mean is (strength + won) / (strength + expected)."""

    strength: float
    won: int = 0
    failed: int = 0
    expected: float = 0.0  # the sum of the decided items' likelihoods when they were decided

    @property
    def decisions(self) -> int:
        return self.won + self.failed

    @property
    def factor(self) -> float:
        return (self.strength + self.won) / (self.strength + self.expected)

    def describe(self) -> str:
        """'' before any decision, else ' x 0.62 from 12 decisions (3 won, 4.8 expected)'."""
        if not self.decisions:
            return ""
        return (
            f" x {self.factor:.2f} from {self.decisions} decisions "
            f"({self.won} won, {self.expected:.1f} expected)"
        )


def calibrate_cross_sell(counts: Iterable[Mapping[str, Any]], strength: float) -> CrossSellCalibration:
    """The cross-sell factor from rows of (kind, action, n, expected, measured): only decided
    items that recorded their likelihood count (`measured` of the `n`, whose likelihoods sum
    to `expected`); feedback from before likelihoods were recorded is left out."""
    won = failed = 0
    expected = 0.0
    for row in counts:
        if row["kind"] != "cross_sell":
            continue
        measured = int(row.get("measured") or 0)
        if row["action"] in SUCCESS:
            won += measured
        elif row["action"] in FAILURE:
            failed += measured
        else:
            continue
        expected += float(row.get("expected") or 0.0)
    return CrossSellCalibration(strength, won, failed, expected)


def signal_kind(signal: str) -> str:
    return "renewal" if signal == "renewal" else "upsell"


def calibrate(
    priors: Mapping[str, float], counts: Iterable[Mapping[str, Any]], strength: float
) -> dict[str, Posterior]:
    """One posterior per configured signal from rows of (kind, signal, action, n). Renewal
    feedback counts for `renewal` whatever its signal; upsell feedback for its signal; rows of
    other kinds, unknown signals or non-deciding actions are left out."""
    won: dict[str, int] = dict.fromkeys(priors, 0)
    failed: dict[str, int] = dict.fromkeys(priors, 0)
    for row in counts:
        kind, action, n = row["kind"], row["action"], int(row["n"])
        key = "renewal" if kind == "renewal" else row.get("signal") if kind == "upsell" else None
        if key not in priors or key is None:
            continue
        if action in SUCCESS:
            won[key] += n
        elif action in FAILURE:
            failed[key] += n
    return {
        key: Posterior(key, signal_kind(key), prior, strength, won[key], failed[key])
        for key, prior in priors.items()
    }
