"""Upsell, renewal and risk signals of one account, each with its evidence and a reason to say.

One read (the account's facts, its recent events and its peers' facts, in one query and one
round trip), then pure rules on plain records. Every fact is cut at `as_of`: purchases,
installs and contracts after that day do not exist yet, so a signal computed for a past day
is what it would have said on that day.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any, Literal

from crossgraph.errors import AccountNotFound, InvalidInput
from crossgraph.graph.driver import Graph
from crossgraph.money import cents

EPOCH = date(1970, 1, 1)
DAY_SECONDS = 86_400
SERVICE_KIND = "service"


@dataclass(frozen=True)
class SignalConfig:
    """Thresholds of every signal; the defaults are the issue's."""

    # full years after which an asset of a product kind is due for replacement; kinds not named never age
    replacement_years: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({"machine": 10}), hash=False
    )
    utilization: float = 0.85  # an asset at or above this share of capacity needs more capacity
    levels: tuple[str, ...] = ("basic", "premium", "full")  # service levels, lowest first
    min_peers: int = 3  # peers needed before comparing contract level or volume with them
    volume_share: float = 0.5  # volume upsell below this share of the peers' median quantity per order
    renewal_days: int = 180  # contracts ending within this many days after as_of
    revenue_window_days: int = 365  # "the last 12 months" and "the 12 months before"
    revenue_drop: float = 0.25  # revenue falling when the last window is lower by more than this share
    silence_days: int = 365  # silent when the last purchase is more than this many days ago
    contact_left_days: int = 365  # a key contact who left within this many days is a risk
    upsell_talk_days: int = 182  # an upsell conversation is due when the last is older (6 months)

    def __post_init__(self) -> None:
        if any(years < 1 for years in self.replacement_years.values()):
            raise InvalidInput(f"replacement_years={dict(self.replacement_years)} must be at least 1 each")
        if not 0 < self.utilization <= 1:
            raise InvalidInput(f"utilization={self.utilization} must be in (0, 1]")
        if not self.levels or len(set(self.levels)) != len(self.levels):
            raise InvalidInput(f"levels={self.levels} must name each service level once, lowest first")
        if self.min_peers < 1:
            raise InvalidInput(f"min_peers={self.min_peers} must be at least 1")
        if not 0 < self.volume_share <= 1:
            raise InvalidInput(f"volume_share={self.volume_share} must be in (0, 1]")
        if not 0 <= self.revenue_drop < 1:
            raise InvalidInput(f"revenue_drop={self.revenue_drop} must be in [0, 1)")
        for name in (
            "renewal_days",
            "revenue_window_days",
            "silence_days",
            "contact_left_days",
            "upsell_talk_days",
        ):
            if getattr(self, name) < 1:
                raise InvalidInput(f"{name}={getattr(self, name)} must be at least 1")


@dataclass(frozen=True)
class Opportunity:
    """Something to offer. `value` is the expected revenue (see the signal's rule); `related_skus`
    are the account's products it stems from, to match trigger events against."""

    kind: Literal["upsell", "renewal"]
    signal: str
    sku: str
    name: str
    value: float
    reason: str
    evidence: dict[str, Any]
    related_skus: tuple[str, ...]
    # how pressing a speculative offer is, in [0, 1] (upgrade_need); None: not measured
    need: float | None = None


@dataclass(frozen=True)
class Risk:
    flag: str
    reason: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class AccountSignals:
    upsell: list[Opportunity]
    renewal: list[Opportunity]
    risks: list[Risk]


@dataclass(frozen=True)
class TriggerEvent:
    id: str
    type: str
    occurred_at: date
    text: str | None
    sku: str | None


# --- facts: plain records of what the graph holds -------------------------------------------


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    kind: str | None = None
    tier: str | None = None
    list_price: float | None = None
    active: bool = True


@dataclass(frozen=True)
class Ledger:
    """The order lines of one account x product, as parallel tuples (line_at in epoch seconds)."""

    at: tuple[int, ...] = ()
    orders: tuple[str, ...] = ()
    quantities: tuple[float, ...] = ()
    revenues: tuple[float, ...] = ()

    def until(self, end: int) -> Ledger:
        """Only the lines ordered before `end` (epoch seconds)."""
        keep = [i for i, t in enumerate(self.at) if t < end]
        return Ledger(
            tuple(self.at[i] for i in keep),
            tuple(self.orders[i] for i in keep),
            tuple(self.quantities[i] for i in keep),
            tuple(self.revenues[i] for i in keep),
        )

    def per_order(self) -> float | None:
        """Quantity per distinct order; None without lines."""
        orders = len(set(self.orders))
        return sum(self.quantities) / orders if orders else None

    def revenue_between(self, start: int, end: int) -> float:
        return sum(r for t, r in zip(self.at, self.revenues, strict=True) if start <= t < end)


@dataclass(frozen=True)
class Bought:
    product: Product
    ledger: Ledger
    successors: tuple[Product, ...] = ()


@dataclass(frozen=True)
class Asset:
    serial: str
    model: Product
    installed_at: date
    utilization: float | None = None
    successors: tuple[Product, ...] = ()


@dataclass(frozen=True)
class Contract:
    id: str
    level: str
    starts_at: date
    ends_at: date
    annual_value: float = 0.0
    product: Product | None = None
    covers: tuple[str, ...] = ()
    services: tuple[Product, ...] = ()  # candidate service products of other levels, best match first

    def active(self, day: date) -> bool:
        return self.starts_at <= day <= self.ends_at


@dataclass(frozen=True)
class Contact:
    id: str
    name: str
    role: str | None = None
    influence: str | None = None  # high | medium | low (tables.INFLUENCE); high = key contact
    email: str | None = None
    left_at: date | None = None

    @property
    def key(self) -> bool:
        return self.influence == "high"

    def present(self, day: date) -> bool:
        """Still at the account at the end of `day`."""
        return self.left_at is None or self.left_at > day


@dataclass(frozen=True)
class Touchpoint:
    id: str
    type: str  # tables.TOUCHPOINT_TYPES
    occurred_at: date
    contact_id: str | None = None
    owner: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class AccountFacts:
    id: str
    name: str
    bought: tuple[Bought, ...] = ()
    assets: tuple[Asset, ...] = ()
    contracts: tuple[Contract, ...] = ()
    contacts: tuple[Contact, ...] = ()
    touchpoints: tuple[Touchpoint, ...] = ()  # newest first

    def as_of(self, day: date) -> AccountFacts:
        """The facts as they stood at the end of `day`: later lines, installs, contracts and
        touchpoints dropped; a contact who left later is still there."""
        end = day_end(day)
        bought = tuple(
            Bought(b.product, ledger, b.successors) for b in self.bought if (ledger := b.ledger.until(end)).at
        )
        assets = tuple(a for a in self.assets if a.installed_at <= day)
        contracts = tuple(c for c in self.contracts if c.starts_at <= day)
        contacts = tuple(
            c if c.left_at is None or c.left_at <= day else replace(c, left_at=None) for c in self.contacts
        )
        touchpoints = tuple(t for t in self.touchpoints if t.occurred_at <= day)
        return AccountFacts(self.id, self.name, bought, assets, contracts, contacts, touchpoints)

    def last_touchpoint(self, *types: str) -> Touchpoint | None:
        """The newest touchpoint (of one of `types`, any type when none are given)."""
        return next((t for t in self.touchpoints if not types or t.type in types), None)

    def owned(self, day: date) -> frozenset[str]:
        """Skus bought, installed or under an active contract (call on facts already cut at `day`)."""
        skus = {b.product.sku for b in self.bought} | {a.model.sku for a in self.assets}
        skus |= {c.product.sku for c in self.contracts if c.product is not None and c.active(day)}
        return frozenset(skus)


@dataclass(frozen=True)
class PeerVolume:
    """How a peer buys one product: the quantity and distinct orders of its order lines up to
    the day its facts were read for (read_signal_facts' as_of)."""

    quantity: float = 0.0
    orders: int = 0

    def per_order(self) -> float | None:
        """Quantity per distinct order (Ledger.per_order); None without lines."""
        return self.quantity / self.orders if self.orders else None


@dataclass(frozen=True)
class PeerFacts:
    id: str
    contracts: tuple[Contract, ...] = ()
    bought: Mapping[str, PeerVolume] = field(default_factory=dict)


# --- reading ---------------------------------------------------------------------------------


def account_signals(
    graph: Graph,
    account_id: str,
    *,
    as_of: date,
    peers: Sequence[str] = (),
    config: SignalConfig = SignalConfig(),
) -> AccountSignals:
    """Upsell and renewal opportunities and risk flags of one account at the end of `as_of`.

    `peers` are similar accounts (e.g. the model's); contract level and volume compare with them.
    Raises AccountNotFound for an id that is not in the graph."""
    found = read_signal_facts(graph, account_id, peers=peers, as_of=as_of, config=config)
    return compute_signals(found.facts, found.peers, as_of, config)


@dataclass(frozen=True)
class SignalFacts:
    """What an account's signals, fused list and plan are computed from, read in one query."""

    facts: AccountFacts  # not cut: every fact the graph holds
    peers: list[PeerFacts]
    events: list[TriggerEvent]  # within the window asked for, newest first


def read_signal_facts(
    graph: Graph,
    account_id: str,
    *,
    peers: Sequence[str] = (),
    events: tuple[date, date] | None = None,
    as_of: date | None = None,
    config: SignalConfig = SignalConfig(),
) -> SignalFacts:
    """The account's facts, its `peers`' facts (contracts, and how they buy the products it
    bought, counting their order lines up to the end of `as_of`; every line without it) and its
    trigger events from events[0] to events[1] (both included; none without a window), in one
    round trip. Raises AccountNotFound for an id that is not in the graph."""
    found = read_signal_facts_many(graph, {account_id: peers}, events=events, as_of=as_of, config=config)
    if account_id not in found:
        raise AccountNotFound(account_id)
    return found[account_id]


def read_signal_facts_many(
    graph: Graph,
    peers: Mapping[str, Sequence[str]],
    *,
    events: tuple[date, date] | None = None,
    as_of: date | None = None,
    config: SignalConfig = SignalConfig(),
) -> dict[str, SignalFacts]:
    """read_signal_facts of several accounts (account id -> its peers) in one round trip, by
    account id; ids that are not in the graph are not in the answer."""
    since, until = events if events is not None else (None, None)
    rows = graph.read_values(
        "signals_accounts",
        {
            "accounts": [{"id": account, "peer_ids": list(ids)} for account, ids in peers.items()],
            "levels": list(config.levels),
            "service_kind": SERVICE_KIND,
            "since": since,
            "until": until,
            "peer_until": None if as_of is None else day_end(as_of),
        },
    )
    return {
        str(row["id"]): SignalFacts(
            facts=_account_facts(row),
            peers=[
                PeerFacts(
                    id=str(peer["id"]),
                    contracts=tuple(_contract(c) for c in peer["contracts"]),
                    bought={
                        str(b["sku"]): PeerVolume(float(b["quantity"]), int(b["orders"]))
                        for b in peer["bought"]
                    },
                )
                for peer in row["peers"]
            ],
            events=[_event(e) for e in row["events"]],
        )
        for row in rows
    }


def event_window(as_of: date, days: int) -> tuple[date, date]:
    """From `days` before `as_of` up to `as_of`, both included."""
    if days < 0:
        raise InvalidInput(f"days={days} must be zero or more")
    return as_of - timedelta(days=days), as_of


def recent_events(graph: Graph, account_id: str, as_of: date, days: int = 180) -> list[TriggerEvent]:
    """The account's events from `days` before `as_of` up to `as_of` (both included), newest first."""
    since, until = event_window(as_of, days)
    rows = graph.read_values("signals_events", {"id": account_id, "since": since, "until": until})
    if not rows:
        raise AccountNotFound(account_id)
    return [_event(e) for e in rows[0]["events"]]


def read_account(graph: Graph, account_id: str, config: SignalConfig = SignalConfig()) -> AccountFacts:
    return read_signal_facts(graph, account_id, config=config).facts


def _event(row: Mapping[str, Any]) -> TriggerEvent:
    return TriggerEvent(
        str(row["id"]), str(row["type"]), _date(row["occurred_at"]), row.get("text"), row.get("sku")
    )


def _account_facts(row: Mapping[str, Any]) -> AccountFacts:
    return AccountFacts(
        id=str(row["id"]),
        name=str(row["name"] or row["id"]),
        bought=tuple(
            Bought(_product(b), _ledger(b), tuple(_product(s) for s in b["successors"]))
            for b in row["bought"]
        ),
        assets=tuple(
            Asset(
                serial=str(a["serial"]),
                model=_product(a["model"]),
                installed_at=_date(a["installed_at"]),
                utilization=a["utilization"],
                successors=tuple(_product(s) for s in a["successors"]),
            )
            for a in row["assets"]
        ),
        contracts=tuple(_contract(c) for c in row["contracts"]),
        contacts=tuple(
            Contact(
                id=str(c["id"]),
                name=str(c["name"] or c["id"]),
                role=c.get("role"),
                influence=c.get("influence"),
                email=c.get("email"),
                left_at=None if c.get("left_at") is None else _date(c["left_at"]),
            )
            for c in row["contacts"]
        ),
        touchpoints=tuple(
            sorted(
                (
                    Touchpoint(
                        id=str(t["id"]),
                        type=str(t["type"]),
                        occurred_at=_date(t["occurred_at"]),
                        contact_id=t.get("contact_id"),
                        owner=t.get("owner"),
                        notes=t.get("notes"),
                    )
                    for t in row["touchpoints"]
                ),
                key=lambda t: (t.occurred_at, t.id),
                reverse=True,
            )
        ),
    )


def _product(row: Mapping[str, Any]) -> Product:
    return Product(
        sku=str(row["sku"]),
        name=str(row.get("name") or row["sku"]),
        kind=row.get("kind"),
        tier=row.get("tier"),
        list_price=None if row.get("list_price") is None else float(row["list_price"]),
        active=row.get("active") is not False,  # absent means active, as in the input files
    )


def _ledger(row: Mapping[str, Any]) -> Ledger:
    return Ledger(
        tuple(int(t) for t in row["line_at"] or ()),
        tuple(str(o) for o in row["line_orders"] or ()),
        tuple(float(q) for q in row["line_quantities"] or ()),
        tuple(float(r) for r in row["line_revenues"] or ()),
    )


def _contract(row: Mapping[str, Any]) -> Contract:
    product = row.get("product")
    return Contract(
        id=str(row["id"]),
        level=str(row["level"]),
        starts_at=_date(row["starts_at"]),
        ends_at=_date(row["ends_at"]),
        annual_value=float(row.get("annual_value") or 0.0),
        product=_product(product) if product else None,
        covers=tuple(sorted(str(s) for s in row.get("covers") or ())),
        services=tuple(_product(s) for s in row.get("services") or ()),
    )


def _date(value: Any) -> date:
    """neo4j.time.Date -> date."""
    native = value.to_native() if hasattr(value, "to_native") else value
    if not isinstance(native, date):
        raise InvalidInput(f"expected a date in the graph, found {value!r}")
    return native


# --- rules -----------------------------------------------------------------------------------


def compute_signals(
    facts: AccountFacts, peers: Sequence[PeerFacts], as_of: date, config: SignalConfig = SignalConfig()
) -> AccountSignals:
    """Every signal of one account from its facts and its peers' facts (read for `as_of`,
    read_signal_facts), as they stood at `as_of`.
    Upsell is sorted by value (highest first), renewals by end date, risks by flag."""
    now = facts.as_of(as_of)
    owned = now.owned(as_of)
    upsell = [
        *upgrade_path(now, owned, as_of, config),
        *aging_assets(now, owned, as_of, config),
        *capacity(now, owned, config),
        *contract_level(now, owned, peers, as_of, config),
        *volume(now, peers, as_of, config),
    ]
    upsell.sort(key=lambda o: (-o.value, o.signal, o.sku))
    flags = (
        contract_ending(now, as_of, config),
        revenue_falling(now, as_of, config),
        silence(now, as_of, config),
        *key_contacts_left(now, as_of, config),
    )
    return AccountSignals(upsell, renewals(now, as_of, config), [r for r in flags if r is not None])


def upgrade_path(
    facts: AccountFacts, owned: frozenset[str], as_of: date, config: SignalConfig = SignalConfig()
) -> list[Opportunity]:
    """Each active, not yet owned UPGRADES_TO successor of a product bought or installed; its
    `need` comes from the installed machines it would upgrade (upgrade_need)."""
    sources: dict[str, tuple[Product, tuple[Product, ...]]] = {}
    first_bought = {b.product.sku: _day(min(b.ledger.at)) for b in facts.bought}
    installed: dict[str, int] = {}
    for b in facts.bought:
        sources[b.product.sku] = (b.product, b.successors)
    for a in facts.assets:
        sources.setdefault(a.model.sku, (a.model, a.successors))
        installed[a.model.sku] = installed.get(a.model.sku, 0) + 1
    offers: dict[str, tuple[Product, list[Product]]] = {}
    for product, successors in sorted(sources.values(), key=lambda s: s[0].sku):
        for nxt in successors:
            if nxt.active and nxt.sku not in owned:
                offers.setdefault(nxt.sku, (nxt, []))[1].append(product)
    out = []
    for nxt, froms in offers.values():
        how = [_how_owned(p, first_bought.get(p.sku), installed.get(p.sku, 0)) for p in froms]
        evidence = [
            {
                "sku": p.sku,
                "name": p.name,
                "first_bought": first_bought.get(p.sku),
                "installed": installed.get(p.sku, 0),
            }
            for p in froms
        ]
        reason = f"Has {'; '.join(how)} but not its upgrade {nxt.name}{_price(nxt)}"
        skus = {p.sku for p in froms}
        need, assets = upgrade_need([a for a in facts.assets if a.model.sku in skus], as_of, config)
        facts_ = {"from": evidence, **({"assets": assets, "need": need} if need is not None else {})}
        out.append(replace(_upsell("upgrade_path", nxt, reason, facts_, sorted(skus)), need=need))
    return out


def upgrade_need(
    assets: Sequence[Asset], as_of: date, config: SignalConfig
) -> tuple[float | None, list[dict[str, Any]]]:
    """How much the machines an upgrade replaces need it: per machine the larger of age /
    replacement age and utilisation / capacity threshold, capped at 1; the upgrade's need is
    its neediest machine's (None when no machine has an age rule or a utilisation)."""
    needs, evidence = [], []
    for a in sorted(assets, key=lambda a: a.serial):
        limit = config.replacement_years.get(a.model.kind or "")
        age = full_years(a.installed_at, as_of)
        ratios = [age / limit] if limit is not None else []
        if a.utilization is not None:
            ratios.append(a.utilization / config.utilization)
        if not ratios:
            continue
        need = min(1.0, max(ratios))
        needs.append(need)
        evidence.append(
            {
                "serial": a.serial,
                "sku": a.model.sku,
                "age_years": age,
                "replacement_years": limit,
                "utilization": a.utilization,
                "need": round(need, 4),
            }
        )
    return (round(max(needs), 4) if needs else None), evidence


@dataclass(frozen=True)
class AssetHit:
    """One asset that triggered an asset signal: what was found, in words and as data."""

    asset: Asset
    finding: str  # "is 12 years old", "runs at 95% of capacity"
    data: dict[str, Any]


def aging_assets(
    facts: AccountFacts, owned: frozenset[str], as_of: date, config: SignalConfig
) -> list[Opportunity]:
    """Assets at least as old as their kind's replacement age -> successor, else the same model."""
    hits, ages = [], {}
    for a in facts.assets:
        limit = config.replacement_years.get(a.model.kind or "")
        if limit is not None and (age := full_years(a.installed_at, as_of)) >= limit:
            hits.append(AssetHit(a, f"installed {a.installed_at} is {age} years old", {"age_years": age}))
            ages[a.model.kind or ""] = limit
    rule = ", ".join(f"{_plural(kind)}: {years}" for kind, years in sorted(ages.items()))
    return _asset_offers("aging_asset", hits, owned, f"replacement age for {rule}", "replace with")


def capacity(facts: AccountFacts, owned: frozenset[str], config: SignalConfig) -> list[Opportunity]:
    """Assets running at or above the utilisation threshold -> successor, else one more unit."""
    hits = [
        AssetHit(a, f"runs at {a.utilization:.0%} of capacity", {"utilization": a.utilization})
        for a in facts.assets
        if a.utilization is not None and a.utilization >= config.utilization
    ]
    return _asset_offers("capacity", hits, owned, f"threshold {config.utilization:.0%}", "add capacity with")


def _asset_offers(
    signal: str, hits: Sequence[AssetHit], owned: frozenset[str], rule: str, verb: str
) -> list[Opportunity]:
    """Group asset hits by what to offer: the model's active successors the account does not own,
    else the model itself (a real repeat sale; nothing when the model is no longer sold)."""
    grouped: dict[str, tuple[Product, list[AssetHit]]] = {}
    for hit in sorted(hits, key=lambda h: h.asset.serial):
        successors = [s for s in hit.asset.successors if s.active and s.sku not in owned]
        for product in successors or ([hit.asset.model] if hit.asset.model.active else []):
            grouped.setdefault(product.sku, (product, []))[1].append(hit)
    out = []
    for product, group in grouped.values():
        same = all(h.asset.model.sku == product.sku for h in group)
        found = _listing([f"{h.asset.model.name} ({h.asset.serial}) {h.finding}" for h in group])
        reason = f"{found} ({rule}); {verb} {'another ' if same else ''}{product.name}{_price(product)}"
        assets = [
            {
                "serial": h.asset.serial,
                "sku": h.asset.model.sku,
                "installed_at": h.asset.installed_at,
                **h.data,
            }
            for h in group
        ]
        related = sorted({h.asset.model.sku for h in group})
        out.append(_upsell(signal, product, reason, {"assets": assets, "same_model": same}, related))
    return out


def contract_level(
    facts: AccountFacts, owned: frozenset[str], peers: Sequence[PeerFacts], as_of: date, config: SignalConfig
) -> list[Opportunity]:
    """Active contracts below the level most peers hold -> the service product of that level."""
    held = peer_levels(peers, as_of, config.levels)
    target = majority_level(list(held.values()), config.levels, config.min_peers)
    if target is None:
        return []
    rank = {level: i for i, level in enumerate(config.levels)}
    grouped: dict[str, tuple[Product | None, list[Contract]]] = {}
    for c in sorted(facts.contracts, key=lambda c: c.id):
        if not c.active(as_of) or rank.get(c.level, len(rank)) >= rank[target]:
            continue
        product = service_product(c, target)
        if product is None or product.sku not in owned:
            grouped.setdefault(product.sku if product else "", (product, []))[1].append(c)
    at_least = sum(1 for level in held.values() if rank[level] >= rank[target])
    peer_evidence = {
        "target_level": target,
        "peers_with_contract": len(held),
        "peers_at_target_or_better": at_least,
        "peer_levels": {level: sum(1 for v in held.values() if v == level) for level in config.levels},
    }
    out = []
    for product, contracts in grouped.values():
        what = ", ".join(f"contract {c.id} ({_contract_name(c)}) is {c.level}" for c in contracts)
        offer = f"{product.name}{_price(product)}" if product else f"{target} service (no product found)"
        reason = f"{_capital(what)}; {at_least} of {len(held)} peers with a contract hold {target} or better"
        evidence = {
            "contracts": [{"id": c.id, "level": c.level, "ends_at": c.ends_at} for c in contracts],
            **peer_evidence,
        }
        related = sorted({s for c in contracts for s in _contract_skus(c)})
        offered = product or Product(sku="", name=f"{target} service", list_price=0.0)
        out.append(_upsell("contract_level", offered, f"{reason} -> offer {offer}", evidence, related))
    return out


def service_product(contract: Contract, level: str) -> Product | None:
    """The active service product of `level` for the contract's machines: up the upgrade ladder of
    the contract's service product first, else a service product of that tier fitting a covered machine
    (the graph query returns `services` in that order)."""
    return next((s for s in contract.services if s.tier == level and s.active), None)


def peer_levels(peers: Sequence[PeerFacts], as_of: date, levels: Sequence[str]) -> dict[str, str]:
    """Per peer with an active contract of a known level: the highest level it holds."""
    rank = {level: i for i, level in enumerate(levels)}
    out = {}
    for peer in peers:
        active = [c.level for c in peer.contracts if c.active(as_of) and c.level in rank]
        if active:
            out[peer.id] = max(active, key=rank.__getitem__)
    return out


def majority_level(held: Sequence[str], levels: Sequence[str], min_peers: int) -> str | None:
    """The highest level that more than half of the peers hold or exceed (the peers' median level,
    rounded down); None with fewer than `min_peers` peers."""
    if len(held) < min_peers:
        return None
    rank = {level: i for i, level in enumerate(levels)}
    return next(
        (level for level in reversed(levels) if 2 * sum(rank[h] >= rank[level] for h in held) > len(held)),
        None,
    )


def volume(
    facts: AccountFacts, peers: Sequence[PeerFacts], as_of: date, config: SignalConfig
) -> list[Opportunity]:
    """Products whose quantity per order is below `volume_share` of the peers' median quantity per
    order; value = list price x (median - own), the revenue of one order brought up to the peers'."""
    out = []
    for b in sorted(facts.bought, key=lambda b: b.product.sku):
        own = b.ledger.per_order()
        bought = [p.bought[b.product.sku] for p in peers if b.product.sku in p.bought]
        theirs = [q for q in (peer.per_order() for peer in bought) if q is not None]
        if own is None or len(theirs) < config.min_peers:
            continue
        median = statistics.median(theirs)
        if own >= config.volume_share * median:
            continue
        unit = b.product.list_price or sum(b.ledger.revenues) / sum(b.ledger.quantities)
        gap = median - own
        reason = (
            f"Orders {_num(own)} {b.product.name} per order; {len(theirs)} peers buying it order a median of"
            f" {_num(median)} (flagged below {config.volume_share:.0%} of that) -> +{_num(gap)} an order"
            f" is about {gap * unit:,.0f}"
        )
        evidence = {
            "quantity_per_order": own,
            "orders": len(set(b.ledger.orders)),
            "peer_median_per_order": median,
            "peers_buying": len(theirs),
            "unit_price": cents(unit),
        }
        out.append(
            _upsell("volume", b.product, reason, evidence, [b.product.sku], value=round(gap * unit, 2))
        )
    return out


def renewals(facts: AccountFacts, as_of: date, config: SignalConfig) -> list[Opportunity]:
    """Contracts ending from as_of to `renewal_days` after it, soonest first; value = annual value."""
    grouped: dict[str, list[Contract]] = {}
    for c in ending_contracts(facts, as_of, config):
        grouped.setdefault(c.product.sku if c.product else "", []).append(c)
    out = []
    for sku, contracts in grouped.items():
        each = [
            f"contract {c.id} ({_contract_name(c)}, {c.level}) ends {c.ends_at},"
            f" in {(c.ends_at - as_of).days} days, {c.annual_value:,.0f} a year"
            for c in contracts
        ]
        evidence = [
            {
                "id": c.id,
                "level": c.level,
                "starts_at": c.starts_at,
                "ends_at": c.ends_at,
                "days_left": (c.ends_at - as_of).days,
                "annual_value": cents(c.annual_value),
                "covers": list(c.covers),
            }
            for c in contracts
        ]
        first = contracts[0]
        out.append(
            Opportunity(
                kind="renewal",
                signal="renewal",
                sku=sku,
                name=first.product.name if first.product else f"{first.level} service contract",
                value=cents(sum(c.annual_value for c in contracts)),
                reason=_capital(_listing(each)),
                evidence={"contracts": evidence},
                related_skus=tuple(sorted({s for c in contracts for s in _contract_skus(c)})),
            )
        )
    return out


def ending_contracts(facts: AccountFacts, as_of: date, config: SignalConfig) -> list[Contract]:
    """Contracts whose end day lies from as_of to `renewal_days` after it (both included)."""
    last = as_of + timedelta(days=config.renewal_days)
    return sorted((c for c in facts.contracts if as_of <= c.ends_at <= last), key=lambda c: (c.ends_at, c.id))


def contract_ending(facts: AccountFacts, as_of: date, config: SignalConfig) -> Risk | None:
    ending = ending_contracts(facts, as_of, config)
    if not ending:
        return None
    value = sum(c.annual_value for c in ending)
    each = ", ".join(f"{c.id} in {(c.ends_at - as_of).days} days" for c in ending)
    noun = "contract" if len(ending) == 1 else "contracts"
    contracts = [
        {
            "id": c.id,
            "ends_at": c.ends_at,
            "days_left": (c.ends_at - as_of).days,
            "annual_value": cents(c.annual_value),
        }
        for c in ending
    ]
    return Risk(
        flag="contract_ending",
        reason=f"{len(ending)} {noun} worth {value:,.0f} a year end within {config.renewal_days} days"
        f" ({each})",
        evidence={"contracts": contracts, "annual_value": cents(value), "window_days": config.renewal_days},
    )


def revenue_falling(facts: AccountFacts, as_of: date, config: SignalConfig) -> Risk | None:
    """Revenue of the last window (ending with as_of) below the window before by more than the share."""
    end = day_end(as_of)
    window = config.revenue_window_days * DAY_SECONDS
    recent = sum(b.ledger.revenue_between(end - window, end) for b in facts.bought)
    previous = sum(b.ledger.revenue_between(end - 2 * window, end - window) for b in facts.bought)
    if previous <= 0 or recent >= previous * (1 - config.revenue_drop):
        return None
    change = recent / previous - 1
    days = config.revenue_window_days
    return Risk(
        flag="revenue_falling",
        reason=f"Revenue in the last {days} days ({recent:,.0f}) is {-change:.0%} below the {days} days"
        f" before ({previous:,.0f}; flagged beyond {config.revenue_drop:.0%})",
        evidence={
            "recent_revenue": cents(recent),
            "previous_revenue": cents(previous),
            "change": change,
            "window_days": days,
        },
    )


def silence(facts: AccountFacts, as_of: date, config: SignalConfig) -> Risk | None:
    """No purchase for more than `silence_days`; an account that never bought is not flagged."""
    if not facts.bought:
        return None
    last = _day(max(max(b.ledger.at) for b in facts.bought))
    days = (as_of - last).days
    if days <= config.silence_days:
        return None
    return Risk(
        flag="silence",
        reason=f"No purchase for {days} days (last on {last}; flagged after {config.silence_days})",
        evidence={"last_purchase": last, "days_since": days, "threshold_days": config.silence_days},
    )


def key_contacts_left(facts: AccountFacts, as_of: date, config: SignalConfig) -> list[Risk]:
    """A key (high-influence) contact who left within `contact_left_days` up to as_of: one risk each,
    the most recent departure first."""
    since = as_of - timedelta(days=config.contact_left_days)
    gone = sorted(
        (c for c in facts.contacts if c.key and c.left_at is not None and since < c.left_at <= as_of),
        key=lambda c: (c.left_at, c.id),
        reverse=True,
    )
    return [
        Risk(
            flag="key_contact_left",
            reason=f"Key contact {c.name}{f' ({c.role})' if c.role else ''} left on {c.left_at}"
            f" ({(as_of - c.left_at).days} days ago): find the successor",
            evidence={"contact_id": c.id, "name": c.name, "role": c.role, "left_at": c.left_at},
        )
        for c in gone
        if c.left_at is not None
    ]


def upsell_talk_due(facts: AccountFacts, as_of: date, config: SignalConfig) -> tuple[bool, int | None]:
    """(due, days since the last upsell conversation). Due when the account has touchpoints on
    record and none of them is an upsell conversation within `upsell_talk_days`; an account
    without any touchpoint is never flagged (the data is not being kept for it)."""
    last = facts.last_touchpoint("upsell_conversation")
    days = None if last is None else (as_of - last.occurred_at).days
    if not facts.touchpoints:
        return False, days
    return days is None or days > config.upsell_talk_days, days


def _upsell(
    signal: str,
    product: Product,
    reason: str,
    evidence: dict[str, Any],
    related: Sequence[str],
    value: float | None = None,
) -> Opportunity:
    """An upsell offering `product`, worth its list price unless the rule says otherwise."""
    worth = cents((product.list_price or 0.0) if value is None else value)
    return Opportunity("upsell", signal, product.sku, product.name, worth, reason, evidence, tuple(related))


# --- small helpers ---------------------------------------------------------------------------


def full_years(start: date, end: date) -> int:
    """Whole years from start to end (a birthday count: 2015-01-15 -> 2025-01-14 is 9)."""
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def day_end(day: date) -> int:
    """Epoch seconds of the midnight after `day`: order lines are stored as local time read as UTC."""
    return (day - EPOCH).days * DAY_SECONDS + DAY_SECONDS


def _day(seconds: int) -> date:
    return EPOCH + timedelta(days=seconds // DAY_SECONDS)


def _how_owned(product: Product, bought_on: date | None, installed: int) -> str:
    how = []
    if bought_on is not None:
        how.append(f"bought since {bought_on}")
    if installed:
        how.append(f"{installed} installed")
    return f"{product.name} ({', '.join(how)})"


def _contract_skus(contract: Contract) -> tuple[str, ...]:
    """The machines a contract covers and its own service product."""
    return (*contract.covers, *((contract.product.sku,) if contract.product else ()))


def _contract_name(contract: Contract) -> str:
    return contract.product.name if contract.product else "no service product"


def _price(product: Product) -> str:
    return f" (list {product.list_price:,.0f})" if product.list_price is not None else ""


def _listing(items: Sequence[str], shown: int = 3) -> str:
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def _plural(kind: str) -> str:
    if kind.endswith("y"):
        return kind[:-1] + "ies"
    return kind if kind in ("software", "training") else kind + "s"


def _num(value: float) -> str:
    return f"{value:,.0f}" if value == round(value) else f"{value:,.1f}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
