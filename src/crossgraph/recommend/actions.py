"""One ranked next-best-action list: cross-sell (the model), upsell and renewal (the graph).

The fusion rule, in one line: rank by expected margin (docs/ranking.md),

    expected_value = likelihood x margin x boost x urgency,   margin = value x margin rate

- cross-sell: likelihood = share of the account's closest peers that own the product (the
  number the reason quotes; at least `cross_sell_floor`), value = the product's list price;
- upsell: likelihood = the signal's rate calibrated on feedback (ranking.Posterior; the
  configured rate until decisions arrive) x the need of a speculative upgrade
  (ranking.need_factor), value = the list price of what is offered;
- renewal: likelihood = the calibrated renewal rate, value = the contract's annual value,
  urgency from the days until the contract ends (ranking.urgency; every other item 1);
- margin rate: the product's own, else its product kind's (ranking.margin_rate);
- boost = `event_boost` when a trigger event of the last `event_days` relates to the item:
  it names one of the item's products, or its type suits the item's signal (a new site or
  growth for capacity and cross-sell, a competitor complaint for a renewal, ...). The item
  lists the ids of those events (`event_ids`); each event's text is shown once, in the list's
  `events` (`list_events`), with the skus it boosted, not repeated in every item's reason.

Every number is in the item, so a rep (or a sales-ops analyst tuning the rates) can see why
an item is where it is. Rates are configurable (FusionConfig); the defaults are starting
points to be replaced by the acceptance and win rates the feedback loop measures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any, Literal, cast

from crossgraph.errors import InvalidInput
from crossgraph.intel.signals import AccountSignals, Opportunity, TriggerEvent
from crossgraph.money import cents
from crossgraph.recommend.engine import CROSS_SELL_FLOOR, Suggestion, owning_share, peers_owning_text
from crossgraph.recommend.ranking import (
    DEFAULT_MARGIN,
    MARGIN_RATES,
    SERVICE_KIND,
    CrossSellCalibration,
    Posterior,
    calibrate,
    calibrate_cross_sell,
    margin_rate,
    need_factor,
    share,
    urgency,
)

Kind = Literal["cross_sell", "upsell", "renewal"]
KINDS: tuple[Kind, ...] = ("cross_sell", "upsell", "renewal")


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class FusionConfig:
    likelihood: Mapping[str, float] = field(
        default_factory=lambda: _frozen(
            {
                "upgrade_path": 0.25,
                "aging_asset": 0.35,
                "contract_level": 0.30,
                "capacity": 0.30,
                "volume": 0.20,
                "renewal": 0.80,
            }
        ),
        hash=False,
    )
    cross_sell_floor: float = CROSS_SELL_FLOOR  # a product none of the closest peers own yet
    margin_rates: Mapping[str, float] = field(default_factory=lambda: MARGIN_RATES, hash=False)
    default_margin: float = DEFAULT_MARGIN
    prior_strength: float = 20.0  # pseudo-decisions behind each configured rate
    urgency_full_days: int = 90
    urgency_half_life_days: int = 60
    need_start: float = 0.6
    need_floor: float = 0.1
    # signal -> its rate calibrated on feedback (ranking.calibrate); empty: the configured rates
    calibration: Mapping[str, Posterior] = field(default_factory=lambda: _frozen({}), hash=False)
    # the peers' share -> a cross-sell likelihood (ranking.calibrate_cross_sell); None: factor 1
    cross_sell_calibration: CrossSellCalibration | None = None
    event_boost: float = 1.5
    event_days: int = 180
    # event type -> the signals it makes more likely (an event naming a product boosts that product)
    event_signals: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: _frozen(
            {
                "new_site": ("cross_sell", "capacity", "upgrade_path"),
                "growth": ("capacity", "volume", "upgrade_path", "cross_sell"),
                "merger": ("renewal", "contract_level", "cross_sell"),
                "management_change": ("renewal", "contract_level"),
                "competitor_complaint": ("renewal", "contract_level"),
                "service_visit": ("aging_asset", "capacity", "upgrade_path", "contract_level"),
                "product_launch": ("cross_sell", "upgrade_path"),
                "downtime": ("aging_asset", "contract_level", "renewal"),
            }
        ),
        hash=False,
    )

    def __post_init__(self) -> None:
        for kind, rate in self.margin_rates.items():
            share(rate, f"margin_rates[{kind}]")
        for signal, rate in self.likelihood.items():
            share(rate, f"likelihood[{signal}]")
        for name in ("cross_sell_floor", "default_margin", "need_floor"):
            share(getattr(self, name), name)
        if not 0 <= self.need_start < 1:
            raise InvalidInput(f"need_start={self.need_start} must be in [0, 1)")
        if self.prior_strength <= 0:
            raise InvalidInput(f"prior_strength={self.prior_strength} must be above 0 (pseudo-decisions)")
        for name in ("urgency_full_days", "urgency_half_life_days"):
            if getattr(self, name) < 1:
                raise InvalidInput(f"{name}={getattr(self, name)} must be at least 1")

    def rate(self, signal: str) -> tuple[float, str]:
        """The signal's likelihood before need, and where it comes from."""
        posterior = self.calibration.get(signal)
        if posterior is not None:
            return posterior.mean, posterior.describe()
        return self.likelihood.get(signal, 0.0), "configured rate"

    def margin_rate(self, product: Mapping[str, Any]) -> float:
        return margin_rate(product, self.margin_rates, self.default_margin)


def calibrated(config: FusionConfig, outcomes: Iterable[Mapping[str, Any]]) -> FusionConfig:
    """The config with every signal's likelihood calibrated on the feedback outcome rows
    (graph.feedback.outcome_counts): the prior is the configured rate."""
    rows = list(outcomes)
    posteriors = calibrate(config.likelihood, rows, config.prior_strength)
    cross_sell = calibrate_cross_sell(rows, config.prior_strength)
    return replace(config, calibration=MappingProxyType(posteriors), cross_sell_calibration=cross_sell)


def cross_sell_action(
    item: Suggestion, config: FusionConfig, products: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The engine's suggestion with its margin, urgency 1, and the likelihood of a configured
    floor other than the engine's. In place: the dict is fresh per request."""
    action = cast(dict[str, Any], item)
    if config.cross_sell_floor != CROSS_SELL_FLOOR:
        action["likelihood"] = max(owning_share(item["evidence"]), config.cross_sell_floor)
    calibration = config.cross_sell_calibration
    basis = "share of the closest peers owning it"
    if calibration is not None and calibration.decisions:
        action["likelihood"] = round(min(1.0, action["likelihood"] * calibration.factor), 4)
        basis += calibration.describe()
    product = (products or {}).get(item["sku"]) or {"kind": item.get("product_kind")}
    rate = config.margin_rate(product)
    action.update(
        margin_rate=rate,
        margin=cents(float(action["value"]) * rate),
        need=None,
        urgency=1.0,
        due_in_days=None,
        likelihood_basis=basis,
    )
    weigh(action)
    return action


def annotate(
    items: Sequence[Suggestion], config: FusionConfig, products: Mapping[str, Mapping[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Cross-sell only: the model's order stays."""
    return [cross_sell_action(item, config, products) for item in items]


def days_left(opportunity: Opportunity) -> int | None:
    """Days until the earliest contract of a renewal ends; None for undated items."""
    contracts = opportunity.evidence.get("contracts") if opportunity.kind == "renewal" else None
    return min(int(c["days_left"]) for c in contracts) if contracts else None


def signal_action(
    opportunity: Opportunity, product: Mapping[str, Any], config: FusionConfig
) -> dict[str, Any]:
    key = "renewal" if opportunity.kind == "renewal" else opportunity.signal
    rate, source = config.rate(key)
    if opportunity.need is not None:
        source += f" x {need_factor(opportunity.need, config.need_start, config.need_floor):.2f} for need"
        source += f" {opportunity.need:.2f}"
    sold = product or ({"kind": SERVICE_KIND} if opportunity.kind == "renewal" else {})
    left = days_left(opportunity)
    action = _action(
        kind=opportunity.kind,
        signal=opportunity.signal,
        likelihood=rate * need_factor(opportunity.need, config.need_start, config.need_floor),
        value=opportunity.value,
        base={
            "sku": opportunity.sku,
            "name": opportunity.name,
            "category": product.get("category"),
            "product_kind": product.get("kind"),
            "reason": opportunity.reason,
            "evidence": None,
            "facts": opportunity.evidence,
            "drivers": [],
            "model_score": None,
            "source": "graph",
            "margin_rate": config.margin_rate(sold),
            "margin": cents(opportunity.value * config.margin_rate(sold)),
            "need": opportunity.need,
            "urgency": round(urgency(left, config.urgency_full_days, config.urgency_half_life_days), 4),
            "due_in_days": left,
            "likelihood_basis": source,
        },
        related=opportunity.related_skus,
    )
    weigh(action)
    return action


def weigh(action: dict[str, Any]) -> None:
    """expected_value = likelihood x margin x boost x urgency, and `ranking`, the same in words
    (again in fuse() once the boost is known)."""
    action["expected_value"] = cents(
        action["likelihood"] * action["margin"] * action["boost"] * action["urgency"]
    )
    days = action["due_in_days"]
    parts = [
        f"likelihood {action['likelihood']:.2f} ({action['likelihood_basis']})",
        f"margin {action['margin']:,.0f} ({action['margin_rate']:.0%} of {action['value']:,.0f})",
    ]
    if action["boost"] != 1:
        parts.append(f"event boost {action['boost']:g}")
    if days is not None:
        parts.append(f"urgency {action['urgency']:.2f} (due in {days} days)")
    action["ranking"] = f"{action['expected_value']:,.0f} = " + " x ".join(parts)


def _action(
    *, kind: Kind, signal: str, likelihood: float, value: float, base: dict[str, Any], related: Sequence[str]
) -> dict[str, Any]:
    out = {k: v for k, v in base.items() if k not in ("kind", "score", "rank")}
    out.update(
        kind=kind,
        signal=signal,
        likelihood=round(likelihood, 4),
        value=cents(value),
        boost=1.0,
        event_ids=[],
        related_skus=list(related),
    )
    return out


def recent(events: Sequence[TriggerEvent], as_of: date, config: FusionConfig) -> list[TriggerEvent]:
    """The events of the last `event_days` up to as_of (both included), in the given order."""
    since = as_of - timedelta(days=config.event_days)
    return [e for e in events if since <= e.occurred_at <= as_of]


def apply_events(
    action: dict[str, Any], events: Sequence[TriggerEvent], as_of: date, config: FusionConfig
) -> None:
    """Boost the action once if recent events are about it: one names one of its products, or
    names none and its type makes the item's signal more likely. Their ids go in `event_ids`;
    their text is shown once for the whole list (list_events), not in every reason."""
    products = {action["sku"], *action["related_skus"]}
    for event in recent(events, as_of, config):
        names_product = event.sku is not None and event.sku in products
        suits = event.sku is None and action["signal_group"] in config.event_signals.get(event.type, ())
        if names_product or suits:
            action["event_ids"].append(event.id)
    if action["event_ids"]:
        action["boost"] = config.event_boost


def list_events(
    events: Sequence[TriggerEvent], items: Sequence[Mapping[str, Any]], as_of: date, config: FusionConfig
) -> list[dict[str, Any]]:
    """The recent events once each, with the skus of the listed items each one boosted."""
    return [
        {
            "id": e.id,
            "type": e.type,
            "occurred_at": e.occurred_at.isoformat(),
            "text": e.text,
            "sku": e.sku,
            "boosted_skus": [i["sku"] for i in items if e.id in i.get("event_ids", ())],
        }
        for e in recent(events, as_of, config)
    ]


def fuse(
    cross_sell: Sequence[Suggestion],
    signals: AccountSignals | None,
    events: Sequence[TriggerEvent],
    *,
    products: Mapping[str, Mapping[str, Any]],
    kinds: Sequence[Kind],
    as_of: date,
    limit: int,
    config: FusionConfig = FusionConfig(),
    owned: frozenset[str] = frozenset(),
    exclude: frozenset[str] = frozenset(),
    fit: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """The fused list: one item per product, the best first by expected value.

    `products` holds display attributes and list prices by sku; `owned` and `exclude` (dismissed,
    or excluded by the caller) are never offered as cross-sell or upsell (renewals are always shown).
    `fit` holds the 0-100 score of each product the account could buy (engine.fit_score): an
    upsell or renewal item gets its product's, None when the account owns it."""
    actions: list[dict[str, Any]] = []
    if "cross_sell" in kinds:
        actions += [cross_sell_action(s, config, products) for s in cross_sell]
    if signals is not None:
        if "upsell" in kinds:
            actions += [
                signal_action(o, products.get(o.sku, {}), config)
                for o in signals.upsell
                if o.sku not in exclude
                and not (o.sku in owned and o.signal not in ("aging_asset", "capacity"))
            ]
        if "renewal" in kinds:
            actions += [signal_action(o, products.get(o.sku, {}), config) for o in signals.renewal]
    best: dict[str, dict[str, Any]] = {}
    for action in actions:
        action["signal_group"] = _group(action)
        apply_events(action, events, as_of, config)
        weigh(action)
        sku = action["sku"]
        if sku not in best:
            best[sku] = action
            continue
        # one item per product: keep the better one, carrying the other's peer evidence along
        kept, other = (
            (action, best[sku])
            if action["expected_value"] > best[sku]["expected_value"]
            else (
                best[sku],
                action,
            )
        )
        if kept["evidence"] is None and other["evidence"] is not None:
            ev = other["evidence"]
            kept["evidence"] = ev
            if ev["peers_owning"]:
                kept["reason"] += f"; {peers_owning_text(ev['peers_owning'], ev['peers_considered'])} it"
        best[sku] = kept
    ranked = sorted(best.values(), key=lambda a: (-a["expected_value"], a["kind"], a["sku"]))[:limit]
    for rank, action in enumerate(ranked, start=1):
        action["rank"] = rank
        if action["kind"] != "cross_sell" or "score" not in action:
            action["score"] = (fit or {}).get(action["sku"])
        del action["signal_group"]
    return ranked


def _group(action: Mapping[str, Any]) -> str:
    """What event types are matched against: cross_sell, renewal, or the upsell signal."""
    return (
        "cross_sell"
        if action["kind"] == "cross_sell"
        else "renewal"
        if action["kind"] == "renewal"
        else str(action["signal"])
    )
