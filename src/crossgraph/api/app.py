"""The FastAPI application: `create_app()` (uvicorn factory) wires settings, model, graph, routes.

Lifespan: load the current model (the service starts without one and reports not ready
until a model is promoted), open one Neo4j driver, then watch in the background: every
`api_poll_seconds` it loads a newly promoted model, and every `api_graph_probe_seconds` it
runs a real query to tell whether Neo4j is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

import crossgraph
from crossgraph.api import errors
from crossgraph.api.changes import ChangeFollower
from crossgraph.api.deps import AppState
from crossgraph.api.experiments import Experiments
from crossgraph.api.fastpath import SidebarFastPath
from crossgraph.api.feedback_store import recalibrate
from crossgraph.api.gate import Gate
from crossgraph.api.limits import RateLimiter
from crossgraph.api.metrics import Metrics, MetricsMiddleware
from crossgraph.api.routes import (
    accounts,
    batch,
    events,
    experiments,
    feedback,
    health,
    kpis,
    model,
    whitespace,
    worklist,
)
from crossgraph.api.state import GraphLink, ModelHolder, Suppressions
from crossgraph.errors import AccountNotFound, InvalidInput, ModelNotLoaded
from crossgraph.graph.driver import Graph
from crossgraph.graph.feedback import outcome_counts, suppressions
from crossgraph.graph.live import evidence_facts
from crossgraph.intel.signals import SignalConfig
from crossgraph.keys import KeyRing, read_keys_file
from crossgraph.model.registry import Registry
from crossgraph.recommend.actions import KINDS, FusionConfig, calibrated
from crossgraph.recommend.nba import Intel, ListOptions, recommendation_list
from crossgraph.recommend.plan import build_plan
from crossgraph.recommend.ranking import OUTCOMES
from crossgraph.settings import Settings, get_settings
from crossgraph.web import site

log = logging.getLogger("crossgraph.api")
T = TypeVar("T")

DESCRIPTION = """
Next-best products for existing B2B accounts, with the evidence a rep can say out loud:
which of the account's closest peers already own a product, and which of its own products
drive the suggestion.

Every `/v1` route needs an API key in the `X-API-Key` header (`crossgraph api-key create`).
Errors are JSON: `{"code": "account_not_found", "detail": "account 'A9' not found"}`.
"""

ROUTERS = (
    worklist.router,  # GET /v1/accounts, before accounts' /v1/accounts/{id} routes
    accounts.router,
    whitespace.router,
    kpis.router,
    batch.router,
    model.router,
    experiments.router,
    feedback.router,
    events.router,
    health.router,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    metrics = Metrics()
    graph = GraphLink(settings)
    holder = ModelHolder(Registry(settings.model_dir))
    state = AppState(
        settings=settings,
        holder=holder,
        graph=graph,
        metrics=metrics,
        keys=load_keys(settings),
        suppressions=Suppressions(),
        intel=intel_config(settings),
        changes=ChangeFollower(graph),
        limiter=RateLimiter.from_settings(settings, metrics.rate_limited),
        experiments=Experiments(holder),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Small per-request solves: BLAS threads only add overhead (and fight the event loop).
        limits = threadpool_limits(1, "blas")
        if not state.keys.keys:
            log.warning("no API keys configured: every /v1 call will be refused (crossgraph api-key create)")
        await run_in_threadpool(state.graph.probe)  # first: a new model replays the change feed
        await run_in_threadpool(_load_model, state)
        await run_in_threadpool(_refresh_suppressions, state)
        await run_in_threadpool(_follow_experiment, state)
        await run_in_threadpool(recalibrate, state)
        stop = asyncio.Event()
        watchers = [asyncio.create_task(_watch(state, stop)), asyncio.create_task(_watch_graph(state, stop))]
        try:
            yield
        finally:
            # Not watcher.cancel(): a cancelled task stops awaiting its worker thread, which
            # goes on using the driver while close() below tears the connections down.
            stop.set()
            await asyncio.gather(*watchers)
            await run_in_threadpool(state.experiments.flush, state.graph)  # what this worker served
            state.graph.close()
            state.metrics.close()
            limits.restore_original_limits()

    app = FastAPI(
        title="crossgraph",
        version=crossgraph.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc come from crossgraph.web, with assets from the package
        redoc_url=None,
        openapi_tags=[
            {"name": "accounts", "description": "Suggestions, peers and evidence for one account"},
            {"name": "recommendations", "description": "Bulk calls for CRM jobs"},
            {"name": "model", "description": "The served model, with offline metrics and online feedback"},
            {"name": "kpis", "description": "Whether account growth works (docs/kpis.md)"},
            {"name": "feedback", "description": "What reps did with suggestions (needs the write scope)"},
            {
                "name": "events",
                "description": "Purchases and accounts as they happen, in the answers at once (write scope)",
            },
            {"name": "admin", "description": "Needs the admin scope"},
            {"name": "health", "description": "Liveness, readiness, Prometheus metrics"},
        ],
    )
    state.graph.warm = lambda graph: _warm_up(state, graph)
    app.state.crossgraph = state
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    sidebar = next(r for r in accounts.router.routes if getattr(r, "name", "") == "recommendations")
    # The gate sits inside the fast path, which checks keys itself (and hands on what it refuses).
    app.add_middleware(
        Gate,
        state=lambda: app.state.crossgraph,
        routes=[r for router in ROUTERS for r in router.routes],
        max_body=settings.api_max_body_bytes,
    )
    app.add_middleware(SidebarFastPath, state=lambda: app.state.crossgraph, route=sidebar)
    site.install(app, state)  # pages, widget, offline docs, security headers
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # outermost: times both paths
    return app


def intel_config(settings: Settings, graph: Graph | None = None) -> Intel:
    """Signal thresholds and fusion rates from the settings (defaults in one place each); with
    a graph, the likelihoods calibrated on its feedback (as the server's recalibrate)."""
    fusion = FusionConfig()
    intel = Intel(
        signals=SignalConfig(
            replacement_years=MappingProxyType(dict(settings.replacement_years)),
            utilization=settings.utilization_threshold,
            renewal_days=settings.renewal_days,
            contact_left_days=settings.contact_left_days,
            upsell_talk_days=settings.upsell_talk_days,
        ),
        fusion=FusionConfig(
            likelihood=MappingProxyType({**fusion.likelihood, **settings.likelihood}),
            margin_rates=MappingProxyType({**fusion.margin_rates, **settings.margin_rates}),
            default_margin=settings.default_margin,
            prior_strength=settings.likelihood_prior_strength,
            urgency_full_days=settings.urgency_full_days,
            urgency_half_life_days=settings.urgency_half_life_days,
            need_start=settings.need_start,
            need_floor=settings.need_floor,
            event_boost=settings.event_boost,
            event_days=settings.event_days,
        ),
    )
    if graph is None:
        return intel
    return replace(intel, fusion=calibrated(intel.fusion, outcome_counts(graph, OUTCOMES)))


def _warm_up(state: AppState, graph: Graph) -> None:
    """The graph work of the fused list, evidence and plan for one account of the served model
    (or a plain query without a model): what the probe runs before calling Neo4j up again."""
    graph.read("ping")
    engine = state.holder.loaded
    if engine is None or not engine.account_index or not engine.product_index:
        return
    account, index = next(iter(engine.account_index.items()))
    sku = next(iter(engine.product_index))

    def direct(call: Callable[[Graph], T]) -> T:
        return call(graph)

    evidence_facts(graph, account, [p.id for p in engine.peers(index)], sku)
    with contextlib.suppress(AccountNotFound):
        recommendation_list(engine, direct, account, ListOptions(kinds=KINDS), state.intel)
        build_plan(engine, direct, account, intel=state.intel)


def _load_model(state: AppState) -> None:
    try:
        previous, current = state.holder.reload(prepare=state.changes.follow)
    except ModelNotLoaded as exc:
        state.metrics.reloads.labels(outcome="failed").inc()
        served = state.holder.version
        log.warning("%s; %s", exc, f"still serving {served}" if served else "waiting for a promoted model")
        return
    if previous != current:
        state.metrics.reloads.labels(outcome="loaded").inc()
        state.metrics.set_model(current)
        state.metrics.set_memory(state.experiments.memory(state.holder.loaded))


def load_keys(settings: Settings) -> KeyRing:
    return KeyRing([*settings.api_keys, *read_keys_file(settings.keys_file)], _mtime(settings.keys_file))


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _refresh_keys(state: AppState) -> None:
    """Keys created or revoked with `crossgraph api-key` count within one poll, no restart."""
    if _mtime(state.settings.keys_file) != state.keys.source_mtime:
        try:
            state.keys = load_keys(state.settings)
        except InvalidInput as exc:  # a broken file: keep the keys we have, say why
            log.error("%s; keeping the previous keys", exc)
        else:
            log.info("API keys reloaded from %s", state.settings.keys_file)


def _tick(state: AppState) -> None:
    _refresh_keys(state)
    if state.holder.pending():
        _load_model(state)
    _refresh_suppressions(state)
    last = state.calibrated_at
    if last is None or datetime.now(UTC) - last >= timedelta(seconds=state.settings.calibration_seconds):
        recalibrate(state, tick=True)
    engine = state.holder.loaded
    if engine is not None:
        state.changes.follow(engine, tick=True)
    _follow_experiment(state)


def _follow_experiment(state: AppState) -> None:
    """Flush the suggestions served per arm, pick up a started or stopped experiment (loading
    or dropping its arms' models), keep the arms' models in step with the change feed, and
    report every loaded model's memory."""
    experiments = state.experiments
    arms_before = experiments.engines()
    experiments.sync(state.graph, state.changes.follow)
    for arm, engine in experiments.engines().items():
        if arms_before.get(arm) is engine:  # a newly loaded one replayed the feed already
            state.changes.follow(engine, tick=True)
    state.metrics.set_memory(experiments.memory(state.holder.loaded))


def _refresh_suppressions(state: AppState) -> None:
    since = datetime.now(UTC) - timedelta(days=state.settings.feedback_suppress_days)
    started = state.suppressions.started()
    table = state.graph.run(lambda g: suppressions(g, since), alone="suppressions")
    if table is not None:  # graph down: keep the last known table
        state.suppressions.replace(table, started)


async def _watch(state: AppState, stop: asyncio.Event) -> None:
    """Tick every poll interval until `stop` is set; a tick under way is finished first."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=state.settings.api_poll_seconds)
        if stop.is_set():
            return
        try:
            await run_in_threadpool(_tick, state)
        except Exception:  # the watcher must survive anything; the next tick tries again
            log.exception("model watch failed")


async def _watch_graph(state: AppState, stop: asyncio.Event) -> None:
    """Probe Neo4j every `api_graph_probe_seconds` with a real query. On the event loop's own
    threads, not the request thread pool: requests waiting on a lost server cannot delay it,
    so /readyz turns degraded (and back) within about one probe interval plus the deadline."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=state.settings.api_graph_probe_seconds)
        if stop.is_set():
            return
        try:
            up = await asyncio.to_thread(state.graph.probe)
            state.metrics.graph_up.set(1 if up else 0)
        except Exception:
            log.exception("graph watch failed")
