"""Portfolio-wide pages for managers (worklist, whitespace, KPIs) and the model page.

Each page takes its figures from the core functions behind the JSON API: the worklist from
recommendation_list (web.opportunity says how it stays fast), the whitespace from
build_whitespace (as /v1/whitespace), the KPIs from intel.kpis (as /v1/kpis, plus their history
from kpi_history), the model page from the registry and feedback_stats (as /v1/model). The KPI
and whitespace pages read the nightly snapshot (intel.nightly) where the API does: the current
KPIs with their history, and the top accounts by revenue; each says when those were computed."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from crossgraph.api.deps import AppState
from crossgraph.api.fields import Day
from crossgraph.api.routes.kpis import nightly
from crossgraph.api.routes.model import cross_sell_calibration, likelihoods
from crossgraph.api.routes.worklist import holder as worklist_holder
from crossgraph.dates import today
from crossgraph.errors import GraphUnavailable, WorklistMissing
from crossgraph.graph.feedback import feedback_stats, with_rates
from crossgraph.graph.writeback import write_back_version
from crossgraph.intel.kpis import KPIs, history_days, kpi_history
from crossgraph.intel.nightly import Nightly
from crossgraph.model.registry import RegistryError, VersionInfo
from crossgraph.params import read_params
from crossgraph.recommend.nba import split_values
from crossgraph.recommend.whitespace import Ranking, Whitespace, build_whitespace
from crossgraph.recommend.worklist import FLAG_TEXT, Sort, Worklist
from crossgraph.web import charts
from crossgraph.web.auth import Admin, Manager, web
from crossgraph.web.kpidefs import KPIS
from crossgraph.web.opportunity import PAGE_SIZE, TOP, CrossSellCache, Filter, choices, page_rows, ranked
from crossgraph.web.render import page

router = APIRouter(include_in_schema=False)
MAX_ACCOUNTS = 200  # as /v1/whitespace
SCORE_MAX = 100.0
HEAT_CLASSES = 10
NDCG = "ndcg@10"


@dataclass(frozen=True)
class KpiSeries:
    """The KPI page's figures: at history_days of the reporting day (it last), and when and
    where they were computed (the nightly snapshot, or the graph on a request)."""

    series: list[KPIs]
    computed_at: str  # ISO, UTC
    precomputed: bool


@dataclass
class Caches:
    """What the portfolio pages keep between requests, one per app (tests run several)."""

    cross_sell: CrossSellCache
    kpis: dict[tuple[str | None, date, date | None], KpiSeries]
    lock: threading.Lock


def caches(request: Request) -> Caches:
    app_state = request.app.state
    found: Caches | None = getattr(app_state, "portfolio", None)
    if found is None:
        found = Caches(CrossSellCache(), {}, threading.Lock())
        app_state.portfolio = found
    return found


# -- worklist ---------------------------------------------------------------------------
@router.get("/ui/worklist", response_class=HTMLResponse)
async def worklist(
    request: Request,
    viewer: Manager,
    segment: Annotated[str, Query(max_length=200)] = "",
    industry: Annotated[str, Query(max_length=200)] = "",
    country: Annotated[str, Query(max_length=200)] = "",
    owner: Annotated[str, Query(max_length=200)] = "",
    flag: Annotated[str, Query(max_length=200)] = "",
    sort: Sort = "potential",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """From the newest worklist snapshot (upsell potential, flags, last touchpoint) when there is
    one; before the first `crossgraph worklist refresh`, ranked live by the model's cross-sell."""
    state = web(request).state
    try:
        snapshot = worklist_holder(request, state.settings).get()
    except WorklistMissing:
        snapshot = None
    if snapshot is not None:
        return _snapshot_page(request, viewer, snapshot, segment, country, owner, flag, sort, page_no)
    engine = state.holder.engine
    table = await run_in_threadpool(
        caches(request).cross_sell.of, engine, state.graph.run_report, state.intel
    )
    chosen = Filter(segment=segment, industry=industry, country=country)
    order = ranked(engine, table, chosen)
    pages = max((len(order) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page_no = min(page_no, pages)
    first = (page_no - 1) * PAGE_SIZE
    shown = [int(i) for i in order[first : first + PAGE_SIZE]]
    today = datetime.now(UTC).date()
    rows, partial = await run_in_threadpool(page_rows, engine, state, table, shown, today)
    query = {k: v for k, v in {"segment": segment, "industry": industry, "country": country}.items() if v}
    context = {
        "nav": "worklist",
        "rows": rows,
        "first": first,
        "page_no": page_no,
        "pages": pages,
        "total_accounts": len(order),
        "filter": chosen,
        "choices": choices(engine, table),
        "partial": partial,
        "top": TOP,
        "model_version": engine.version,
        "today": today,
        "page_link": lambda n: "/ui/worklist?" + urlencode({**query, "page": n}),
    }
    return page(request, "worklist.html", viewer, context)


def _snapshot_page(
    request: Request,
    viewer: Any,
    snapshot: Worklist,
    segment: str,
    country: str,
    owner: str,
    flag: str,
    sort: Sort,
    page_no: int,
) -> HTMLResponse:
    chosen = {"segment": segment, "country": country, "owner": owner, "flag": flag}
    if flag and flag not in FLAG_TEXT:
        flag = ""  # a stale bookmark: show every account rather than an error page
    total, _ = snapshot.page(
        segment=split_values([segment]),
        country=split_values([country]),
        owner=split_values([owner]),
        flag=[flag] if flag else [],
        limit=0,
    )
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page_no = min(page_no, pages)
    first = (page_no - 1) * PAGE_SIZE
    _, rows = snapshot.page(
        sort=sort,
        segment=split_values([segment]),
        country=split_values([country]),
        owner=split_values([owner]),
        flag=[flag] if flag else [],
        offset=first,
        limit=PAGE_SIZE,
    )
    query = {k: v for k, v in {**chosen, "sort": sort}.items() if v}
    context = {
        "nav": "worklist",
        "rows": rows,
        "first": first,
        "page_no": page_no,
        "pages": pages,
        "total": total,
        "chosen": chosen,
        "sort": sort,
        "sorts": SORT_LABELS,
        "flags": FLAG_TEXT,
        "choices": {
            name: sorted({r[name] for r in snapshot.rows if r.get(name)})
            for name in ("segment", "country", "owner")
        },
        "snapshot": snapshot.body,
        "page_link": lambda n: "/ui/worklist?" + urlencode({**query, "page": n}),
    }
    return page(request, "worklist_snapshot.html", viewer, context)


SORT_LABELS = {
    "potential": "upsell potential",
    "open_value": "open opportunity value",
    "revenue": "revenue, last 12 months",
    "last_touchpoint": "longest without a touchpoint",
}


# -- whitespace -------------------------------------------------------------------------
@dataclass(frozen=True)
class HeatQuery:
    accounts: list[str]
    top: int
    by: Literal["product", "category"]
    limit: int
    rows: Literal["revenue", "total"]
    cols: Literal["owned", "total"]

    def link(self, **change: Any) -> str:
        values: dict[str, Any] = {
            "accounts": ",".join(self.accounts),
            "top": self.top,
            "by": self.by,
            "limit": self.limit,
            "rows": self.rows,
            "cols": self.cols,
            **change,
        }
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def heat_query(
    accounts: Annotated[list[str], Query(max_length=MAX_ACCOUNTS)] = [],  # noqa: B006
    top: Annotated[int, Query(ge=1, le=MAX_ACCOUNTS)] = 20,
    by: Literal["product", "category"] = "category",
    limit: Annotated[int, Query(ge=1, le=60)] = 20,
    rows: Literal["revenue", "total"] = "revenue",
    cols: Literal["owned", "total"] = "owned",
) -> HeatQuery:
    return HeatQuery(split_values(accounts)[:MAX_ACCOUNTS], top, by, limit, rows, cols)


HeatDep = Annotated[HeatQuery, Depends(heat_query)]


async def _matrix(request: Request, q: HeatQuery) -> Whitespace:
    """As /v1/whitespace: the top accounts as the nightly run ranked them when it has (a note
    says when), else ranked on the request."""
    state = web(request).state
    snapshot = nightly(request, state.settings).get()
    return await run_in_threadpool(
        lambda: build_whitespace(
            state.holder.engine,
            state.graph.run_report,
            ranking=None if snapshot is None else Ranking(snapshot.top_accounts, snapshot.computed_at),
            accounts=q.accounts,
            top=q.top,
            by=q.by,
            limit=q.limit,
        )
    )


@router.get("/ui/whitespace", response_class=HTMLResponse)
async def whitespace_page(request: Request, viewer: Manager, q: HeatDep) -> HTMLResponse:
    matrix = await _matrix(request, q)
    return page(request, "whitespace.html", viewer, {"nav": "whitespace", "q": q, **heatmap(matrix, q)})


@router.get("/ui/whitespace.csv")
async def whitespace_csv(request: Request, viewer: Manager, q: HeatDep) -> Response:
    """The same rows as /v1/whitespace?format=csv for the same accounts and columns."""
    matrix = await _matrix(request, q)
    return Response(
        matrix.to_csv(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="whitespace-{matrix.model_version}.csv"'},
    )


def heat_class(score: float | None, scale: float) -> str:
    """h0 (weakest) .. h9 (strongest): the open cell's fit score in tenths of `scale`."""
    if score is None or score <= 0 or scale <= 0:
        return "h0"
    return f"h{min(int(score / scale * HEAT_CLASSES), HEAT_CLASSES - 1)}"


def heatmap(matrix: Whitespace, q: HeatQuery) -> dict[str, Any]:
    """Rows and columns in the order asked, each cell with its colour class and evidence link."""
    key = "sku" if matrix.by == "product" else "name"
    scale = SCORE_MAX  # the 0-100 fit score: a colour means the same in every view
    # Totals: the open cells' fit scores.
    row_total = [sum(max(c.score or 0.0, 0.0) for c in row if not c.owned) for row in matrix.cells]
    n_cols = len(matrix.columns)
    col_total = [
        sum(max(row[j].score or 0.0, 0.0) for row in matrix.cells if not row[j].owned) for j in range(n_cols)
    ]
    col_order = list(range(n_cols))
    if q.cols == "total":
        col_order.sort(key=lambda j: -col_total[j])
    row_order = list(range(len(matrix.accounts)))
    if q.rows == "total":
        row_order.sort(key=lambda i: -row_total[i])
    rows = []
    for i in row_order:
        account = matrix.accounts[i]
        path = quote(str(account["id"]), safe="")
        cells = []
        for j in col_order:
            c = matrix.cells[i][j]
            column = matrix.columns[j]
            sku = column["sku"] if matrix.by == "product" else c.best_sku
            cells.append(
                {
                    "cell": c,
                    "column": column[key],
                    "label": column["name"],
                    "css": "owned" if c.owned else heat_class(c.score, scale),
                    "sku": sku,
                    "why": f"/ui/accounts/{path}/why/{quote(sku, safe='')}" if sku else None,
                    "href": f"/ui/accounts/{path}",
                }
            )
        rows.append({"account": account, "cells": cells, "total": row_total[i]})
    legend = [
        (f"h{k}", f"{scale * k / HEAT_CLASSES:.0f}-{scale * (k + 1) / HEAT_CLASSES:.0f}")
        for k in range(HEAT_CLASSES)
    ]
    return {
        "matrix": matrix,
        "columns": [matrix.columns[j] for j in col_order],
        "col_totals": [col_total[j] for j in col_order],
        "rows": rows,
        "legend": legend,
        "scale": scale,
    }


# -- KPIs -------------------------------------------------------------------------------
def kpi_series(state: AppState, cache: Caches, as_of: date | None, snapshot: Nightly | None) -> KpiSeries:
    """The KPIs at history_days of the reporting day: from the nightly snapshot when it answers
    the same question as /v1/kpis would from it and holds the history, else computed from the
    graph, cached per model version, calendar day and requested day. Blocking: call from a thread."""
    if snapshot is not None and snapshot.answers_kpis(as_of, state.settings.kpi_cac):
        stored = snapshot.kpi_series()
        if stored is not None:
            return KpiSeries(stored, snapshot.computed_at, precomputed=True)
    key = (state.holder.version, datetime.now(UTC).date(), as_of)
    found = cache.kpis.get(key)
    if found is not None:
        return found
    with cache.lock:
        found = cache.kpis.get(key)
        if found is not None:
            return found

        def compute(g: Any) -> list[KPIs]:
            day = as_of or today()  # the default day of every KPI, plan and list (crossgraph.dates)
            return kpi_history(g, history_days(day), cac=state.settings.kpi_cac)

        series = state.graph.run_report(compute)
        if series is None:
            raise GraphUnavailable(
                "KPIs are computed from the graph, and Neo4j is unreachable; try again shortly"
            )
        found = KpiSeries(series, datetime.now(UTC).isoformat(timespec="seconds"), precomputed=False)
        cache.kpis.clear()  # one entry: yesterday's figures are of no use
        cache.kpis[key] = found
        return found


@router.get("/ui/kpis", response_class=HTMLResponse)
async def kpis_page(
    request: Request,
    viewer: Manager,
    as_of: Annotated[Day | None, Query(description="Reporting day")] = None,
) -> HTMLResponse:
    state = web(request).state
    snapshot = nightly(request, state.settings).get()
    found = await run_in_threadpool(kpi_series, state, caches(request), as_of, snapshot)
    series = found.series
    now = series[-1]
    labels = [_period(k.as_of) for k in series]
    charts_by_key = {}
    for d in KPIS:
        if d.chart:
            values = [getattr(k, d.field) for k in series]
            charts_by_key[d.key] = charts.lines(
                labels,
                [(d.title, values)],
                label=f"{d.title} per 12 months to each date",
                fmt=_chart_fmt(d.fmt),
                goal=getattr(now, d.goal) if d.goal else None,
            )
    context = {
        "nav": "kpis",
        "k": now,
        "figures": now.to_dict(),
        "history": series,
        "labels": labels,
        "definitions": KPIS,
        "charts": charts_by_key,
        "computed_at": _stamp(found.computed_at),
        "precomputed": found.precomputed,
    }
    return page(request, "kpis.html", viewer, context)


def _stamp(iso: str) -> str:
    """'2026-07-01T02:30:00+00:00' -> '2026-07-01 02:30 UTC'."""
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _period(as_of: date) -> str:
    """The 12 months to the day before `as_of`, by their last month: 'Sep 26'."""
    return (as_of - timedelta(days=1)).strftime("%b %y")


def _chart_fmt(fmt: str) -> str:
    return "pct" if fmt == "pct" else "money" if fmt == "money" else "num"


# -- model ------------------------------------------------------------------------------
def version_row(info: VersionInfo, online: dict[str, Any] | None) -> dict[str, Any]:
    """One version: the served model's metrics against the best baseline, gate, feedback."""
    manifest = info.manifest
    models = manifest.get("metrics", {}).get("models", [])
    served = next((m for m in models if m.get("role") == "served"), None)
    baselines = [
        m for m in models if m.get("role") == "baseline" and m.get("metrics", {}).get(NDCG) is not None
    ]
    best = max(baselines, key=lambda m: m["metrics"][NDCG], default=None)
    model_score = served.get("metrics", {}).get(NDCG) if served else None
    base_score = best["metrics"][NDCG] if best else None
    gate = manifest.get("gate", {})
    return {
        "version": info.version,
        "current": info.current,
        "created": info.created,
        "trained_until": manifest.get("trained_until"),
        "model": manifest.get("model"),
        "data": manifest.get("data", {}),
        "served": served,
        "best": best,
        "model_score": model_score,
        "baseline_score": base_score,
        "lift": (model_score / base_score - 1) if model_score is not None and base_score else None,
        "models": models,
        "gate": gate,
        "feedback": None if online is None else online.get(info.version, with_rates({})),
    }


@router.get("/ui/model", response_class=HTMLResponse)
async def model_page(request: Request, viewer: Manager) -> HTMLResponse:
    state = web(request).state
    registry = state.holder.registry
    online = await run_in_threadpool(state.graph.run, feedback_stats)
    versions = [version_row(v, online) for v in registry.versions()]
    chart = charts.lines(
        [_short(v["version"]) for v in versions],
        [
            ("model", [v["model_score"] for v in versions]),
            ("best baseline", [v["baseline_score"] for v in versions]),
        ],
        label="NDCG@10 per version: served model and best baseline",
        fmt="num",
    )
    notice = _notice(request.query_params.get("done", ""), registry.history())
    context = {
        "nav": "model",
        "versions": list(reversed(versions)),  # newest first
        "serving": state.holder.version,
        "current": registry.current_version(),
        "loaded_at": state.holder.loaded_at,
        "history": list(reversed(registry.history()))[:20],
        "can_roll_back": len(registry.promoted_stack()) > 1,
        "online_missing": online is None,
        "chart": chart,
        "notice": notice,
        "metric": NDCG,
        "refused": state.holder.refusal(),
        "likelihoods": likelihoods(state),
        "cross_sell": cross_sell_calibration(state),
        "calibrated_at": state.calibrated_at,
    }
    return page(request, "model.html", viewer, context)


@router.post("/ui/model/rollback")
async def model_rollback(request: Request, viewer: Admin) -> RedirectResponse:
    """What `crossgraph models rollback` does: the registry's previous promotion becomes
    current, this server loads it, and the graph's SIMILAR_TO / RECOMMENDED follow it."""
    state = web(request).state
    try:
        wrote = await run_in_threadpool(roll_back, state)
    except RegistryError:
        return RedirectResponse("/ui/model?done=nothing", status_code=303)
    return RedirectResponse(
        f"/ui/model?done={'rolled_back' if wrote else 'rolled_back_graph_down'}", status_code=303
    )


def roll_back(state: AppState) -> bool:
    """Blocking (loads a model, writes to the graph): call from a thread. False when the graph
    did not answer, so it still holds the previous model's peers and suggestions."""
    registry = state.holder.registry
    info = registry.rollback()
    previous, current = state.holder.reload()
    if previous != current:
        state.metrics.reloads.labels(outcome="loaded").inc()
        state.metrics.set_model(current)
    report = state.graph.run(lambda g: write_back_version(g, registry, info.version, read_params(None)))
    return report is not None


def _short(version: str) -> str:
    """'20261130-194311-15f88151' -> '11-30 19:43' (an axis label; the table has the full name)."""
    v = version
    return f"{v[4:6]}-{v[6:8]} {v[9:11]}:{v[11:13]}" if len(v) >= 13 and v[8] == "-" else v[:12]


def _notice(done: str, history: list[dict[str, Any]]) -> str:
    """The outcome of the last rollback, in words (the page never repeats text from its URL)."""
    last = history[-1] if history else {}
    if done == "nothing":
        return "Not rolled back: no earlier promoted version exists."
    if done not in ("rolled_back", "rolled_back_graph_down") or last.get("kind") != "rollback":
        return ""
    reason = str(last.get("reason", "rollback")).capitalize()
    said = f"{reason} to {last.get('version')}; this server serves it now."
    if done == "rolled_back":
        return said + " The graph's SIMILAR_TO and RECOMMENDED follow it."
    return said + (
        " Neo4j did not answer: the graph still holds the previous model's SIMILAR_TO / RECOMMENDED; "
        f"when it is back: crossgraph models promote {last.get('version')}"
    )
