"""The next-best-action list of one account: cross-sell from the model, upsell and renewal from
the graph, fused (recommend.actions). Shared by the API (single and batch calls), the account
plan and the CLI; the graph is reached through `run(call)`, which returns None when it cannot
be asked (the API's GraphLink.run, or a direct call in the CLI)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np

from crossgraph.dates import today
from crossgraph.errors import AccountNotFound, GraphUnavailable, InvalidInput
from crossgraph.graph.driver import Graph
from crossgraph.graph.live import find_account
from crossgraph.intel.signals import (
    AccountSignals,
    SignalConfig,
    TriggerEvent,
    compute_signals,
    event_window,
    read_signal_facts,
)
from crossgraph.recommend.actions import KINDS, FusionConfig, Kind, annotate, fuse, list_events
from crossgraph.recommend.engine import Engine, Filters, Suggestion, fit_score
from crossgraph.recommend.overlay import FoldedAccount

GraphRun = Callable[[Callable[[Graph], Any]], Any]


def split_values(values: Iterable[str]) -> list[str]:
    """Repeated and comma-separated query values: ?exclude=A,B&exclude=C -> [A, B, C]."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def account_dict(engine: Engine, index: int) -> dict[str, Any]:
    return {
        "id": engine.account_ids[index],
        "name": engine.account_names[index],
        "industry": engine.industries[index],
        "country": engine.countries[index],
        "in_model": True,
    }


def live_account(engine: Engine, run: GraphRun, account_id: str) -> dict[str, Any]:
    """An account the model has not seen, from the graph; 404 if the graph does not know it
    either, 503 if the graph cannot be asked."""
    found = run(lambda g: (find_account(g, account_id),))
    if found is None:
        raise GraphUnavailable(
            f"account {account_id!r} is not in model {engine.version}, and Neo4j is unreachable "
            "to look it up; try again shortly"
        )
    if found[0] is None:
        raise AccountNotFound(account_id)
    account: dict[str, Any] = found[0]
    return account


class UnknownValues(InvalidInput):
    """Values of a request parameter that match nothing: a 422 naming the parameter, each
    unknown value and the valid ones. `field` says where it came from: query.category, body.kind."""

    LISTED = 40  # valid values spelled out in the message; `expected` in field_errors has all

    def __init__(self, field: str, unknown: Sequence[str], expected: Sequence[str]) -> None:
        self.field, self.unknown, self.expected = field, list(unknown), list(expected)
        name = field.rsplit(".", 1)[-1]
        values = ", ".join(repr(v) for v in self.unknown)
        if not self.expected:
            hint = "the served model's products have none"
        else:
            hint = "expected one of " + ", ".join(self.expected[: self.LISTED])
            if len(self.expected) > self.LISTED:
                hint += f", ... ({len(self.expected) - self.LISTED} more)"
            hint += " (case-insensitive)"
        super().__init__(f"{name}: unknown {values}; {hint}")

    def field_errors(self) -> list[dict[str, Any]]:
        """One entry per unknown value, shaped like FastAPI's validation errors plus `expected`."""
        return [
            {"field": self.field, "message": "unknown value", "input": v, "expected": self.expected}
            for v in self.unknown
        ]


def resolve(values: Iterable[str], lookup: Mapping[str, tuple[str, ...]], field: str) -> list[str]:
    """Request values -> the spellings `lookup` knows (matched case-insensitively, see
    Engine.category_lookup); UnknownValues naming those that match nothing."""
    chosen = split_values(values)
    unknown = [v for v in chosen if v.casefold() not in lookup]
    if unknown:
        raise UnknownValues(field, unknown, sorted({s for spellings in lookup.values() for s in spellings}))
    return [s for v in chosen for s in lookup[v.casefold()]]


def parse_filters(
    engine: Engine,
    category: Iterable[str] = (),
    kind: Iterable[str] = (),
    exclude: Iterable[str] = (),
    where: str = "query",
    product_kind: Iterable[str] = (),
) -> Filters:
    """The request's product filters. A category or product kind the served model's catalogue
    lacks is a 422 (it would only ever give an empty list); case does not matter. Excluded skus
    need not exist (a client may exclude what it just quoted from another source). `kind` is
    the deprecated name of `product_kind`; both count, and an error names the one used."""
    return Filters.of(
        resolve(category, engine.category_lookup, f"{where}.category"),
        resolve(product_kind, engine.kind_lookup, f"{where}.product_kind")
        + resolve(kind, engine.kind_lookup, f"{where}.kind"),
        split_values(exclude),
    )


KIND_LOOKUP: Mapping[str, tuple[str, ...]] = {k: (k,) for k in KINDS}


def parse_kinds(
    values: Iterable[str], where: str = "query", opportunity: Iterable[str] = ()
) -> tuple[Kind, ...]:
    """?opportunity=cross_sell,upsell -> ("cross_sell", "upsell"); `values` come from the
    deprecated `kinds`. An unknown kind is a 422 naming it; none given means cross_sell."""
    chosen = resolve(opportunity, KIND_LOOKUP, f"{where}.opportunity") + resolve(
        values, KIND_LOOKUP, f"{where}.kinds"
    ) or ["cross_sell"]
    return tuple(k for k in KINDS if k in chosen)


@dataclass(frozen=True)
class ListOptions:
    limit: int = 10
    filters: Filters = field(default_factory=Filters)
    drivers: int = 3
    kinds: tuple[Kind, ...] = ("cross_sell",)
    as_of: date | None = None  # signals and events are judged at the end of this day (dates.today)
    suppressed: frozenset[str] = frozenset()  # skus the account's reps dismissed

    @property
    def needs_graph(self) -> bool:
        return self.kinds != ("cross_sell",)


@dataclass(frozen=True)
class Intel:
    signals: SignalConfig = field(default_factory=SignalConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)


@dataclass
class Candidates:
    """The cross-sell side of one account's list, before fusion."""

    account: dict[str, Any]
    items: list[Suggestion]
    index: int | None  # the account's row in the model; None for accounts newer than it
    segment: str | None = None  # for accounts newer than the model: the popularity segment
    notes: list[str] = field(default_factory=list)
    owned: tuple[str, ...] = ()  # for accounts newer than the model: skus bought, from the graph
    folded: FoldedAccount | None = None  # changed since the fit: answered from its refolded factor

    @property
    def basis(self) -> str:
        """What ranked the cross-sell items: model, folded or segment_popularity."""
        if self.folded is not None:
            return "folded"
        return "model" if self.index is not None else "segment_popularity"

    def peers(self, engine: Engine) -> list[str]:
        """The model's closest peers (none for accounts newer than the model and not folded)."""
        if self.folded is not None:
            return [p.id for p in engine.folded_peers(self.folded)]
        return [] if self.index is None else [p.id for p in engine.peers(self.index)]

    def fit_scores(self, engine: Engine) -> Mapping[str, float]:
        """Sku -> the 0-100 score of every product the account could buy (engine.fit_score)."""
        if self.folded is not None:
            found = engine.folded_fit_scores(self.folded)
        elif self.index is not None:
            return PlacedScores(engine, self.index)
        else:
            found = engine.fallback_fit_scores(
                industry=self.account.get("industry"),
                country=self.account.get("country"),
                owned_skus=self.owned,
            )
        return {engine.skus[i]: v for i, v in found.items()}


class PlacedScores(Mapping[str, float]):
    """engine.fit_scores of an account in the model, by sku, each computed when asked: a list
    asks for the few products it shows, of thousands (the nightly worklist, for every account)."""

    def __init__(self, engine: Engine, index: int) -> None:
        self._engine = engine
        self._places = engine.places(index)
        self._candidates = int(engine.candidates[index])

    def __getitem__(self, sku: str) -> float:
        item = self._engine.product_index.get(sku)
        if item is None or self._places[item] < 0:
            raise KeyError(sku)
        return fit_score(int(self._places[item]), self._candidates)

    def __iter__(self) -> Iterator[str]:
        return (self._engine.skus[int(i)] for i in np.flatnonzero(self._places >= 0))

    def __len__(self) -> int:
        return int(np.count_nonzero(self._places >= 0))


def cross_sell(engine: Engine, run: GraphRun, account_id: str, options: ListOptions) -> Candidates:
    """From the model, or segment popularity for an account newer than it (asks the graph)."""
    filters = options.filters
    index = engine.account_index.get(account_id)
    folded = engine.overlay.folded.get(account_id)
    if folded is not None and folded.confidence.nnz:
        return folded_candidates(engine, folded, options)
    if index is not None:
        items = engine.recommend(index, options.limit, filters, options.drivers)
        return Candidates(account_dict(engine, index), items, index)
    live = live_account(engine, run, account_id)
    industry, country = opt_str(live.get("industry")), opt_str(live.get("country"))
    owned = [str(s) for s in live.get("owned") or []]
    segment, items = engine.fallback(
        industry=industry, country=country, owned_skus=owned, limit=options.limit, filters=filters
    )
    account = {
        "id": account_id,
        "name": opt_str(live.get("name")),
        "industry": industry,
        "country": country,
        "in_model": False,
    }
    note = (
        f"account {account_id} is newer than model {engine.version}: ranked by popularity in "
        f"{segment}; peer evidence arrives with the next training run"
    )
    return Candidates(account, items, None, segment, [note], tuple(owned))


def folded_candidates(engine: Engine, folded: FoldedAccount, options: ListOptions) -> Candidates:
    """An account whose purchases changed since the fit (or that is newer than it)."""
    items = engine.recommend_folded(folded, options.limit, options.filters, options.drivers)
    account = {
        "id": folded.id,
        "name": folded.name,
        "industry": folded.industry,
        "country": folded.country,
        "in_model": folded.index is not None,
    }
    note = (
        f"account {folded.id} changed after model {engine.version} was trained: ranked by its ALS "
        "factor refolded from its current purchases, with peers the model's accounts closest to "
        "it, until the next training run"
    )
    return Candidates(account, items, folded.index, None, [note], folded.owned_skus, folded)


def recommendation_list(
    engine: Engine, run: GraphRun, account_id: str, options: ListOptions, intel: Intel | None = None
) -> dict[str, Any]:
    """A RecommendationList body. Blocking when it asks Neo4j (accounts newer than the model,
    upsell and renewal kinds): call those from a thread."""
    intel = intel or Intel()
    if options.suppressed:
        options = replace(
            options, filters=replace(options.filters, exclude=options.filters.exclude | options.suppressed)
        )
    found = cross_sell(engine, run, account_id, options)
    partial = False
    notes = list(found.notes)
    as_of = options.as_of or today()
    events: list[dict[str, Any]] = []
    if not options.needs_graph:
        items = annotate(found.items, intel.fusion, engine.artifact.product_info)
    else:
        peers = found.peers(engine)
        graph_side = run(lambda g: _signals(g, account_id, as_of, peers, intel))
        if graph_side is None:
            partial = True
            notes.append("Neo4j is unreachable: upsell and renewal need the graph; cross-sell only")
        signals, recent = graph_side if graph_side is not None else (None, [])
        items = fuse_for(engine, found, signals, recent, options, as_of, intel)
        events = list_events(recent, items, as_of, intel.fusion)
    return {
        "account": found.account,
        "model_version": engine.version,
        "kinds": list(options.kinds),
        "as_of": as_of.isoformat(),
        "items": items,
        "events": events,
        "fallback_segment": found.segment,
        "basis": found.basis,
        "partial": partial,
        "notes": notes,
    }


def fuse_for(
    engine: Engine,
    found: Candidates,
    signals: AccountSignals | None,
    events: list[TriggerEvent],
    options: ListOptions,
    as_of: date,
    intel: Intel,
) -> list[dict[str, Any]]:
    """fuse() with the request's filters applied to the graph's items too."""
    if signals is not None:
        signals = _filtered(signals, engine, options.filters)
    return fuse(
        found.items,
        signals,
        events,
        products=engine.artifact.product_info,
        kinds=options.kinds,
        as_of=as_of,
        limit=options.limit,
        config=intel.fusion,
        exclude=options.filters.exclude,
        fit=found.fit_scores(engine),
    )


def _signals(
    g: Graph, account_id: str, as_of: date, peers: list[str], intel: Intel
) -> tuple[AccountSignals, list[TriggerEvent]]:
    """The account's signals and recent events from one read of the graph."""
    window = event_window(as_of, intel.fusion.event_days)
    found = read_signal_facts(g, account_id, peers=peers, events=window, as_of=as_of, config=intel.signals)
    return compute_signals(found.facts, found.peers, as_of, intel.signals), found.events


def _filtered(signals: AccountSignals, engine: Engine, filters: Filters) -> AccountSignals:
    """The request's category and product-kind filters apply to upsell and renewal items too."""
    if not (filters.categories or filters.kinds):
        return signals

    def passes(sku: str) -> bool:
        item = engine.product_index.get(sku)
        return item is not None and engine.passes(item, replace(filters, exclude=frozenset()))

    return AccountSignals(
        upsell=[o for o in signals.upsell if passes(o.sku)],
        renewal=[o for o in signals.renewal if passes(o.sku)],
        risks=signals.risks,
    )


def opt_str(value: object) -> str | None:
    return None if value is None else str(value)
