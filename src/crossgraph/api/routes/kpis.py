"""Account-growth KPIs for sales managers (definitions: docs/kpis.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from crossgraph.api.deps import ReadKey, StateDep
from crossgraph.api.errors import RESPONSES
from crossgraph.api.fields import Day
from crossgraph.errors import GraphUnavailable
from crossgraph.intel.kpis import compute_kpis
from crossgraph.intel.nightly import NightlyHolder, kpi_answer
from crossgraph.settings import Settings

router = APIRouter(prefix="/v1", tags=["kpis"], responses=RESPONSES)


@router.get("/kpis", response_model=dict[str, Any])
def kpis(
    request: Request,
    state: StateDep,
    _: ReadKey,
    as_of: Annotated[
        Day | None,
        Query(description="Reporting day (default: today in UTC, as for plans and recommendations)"),
    ] = None,
) -> dict[str, Any]:
    """Products per customer, whitespace filled, cross-sell and upgrade revenue share, upsell
    deals share, average upsell value, time to upsell, net (goal 110 %) and gross revenue
    retention, customer lifetime value (and CLV/CAC when CROSSGRAPH_KPI_CAC is set), contracts
    ending in 90 days, with the counts behind each figure (docs/kpis.md). Without `as_of` (or
    with the snapshot's own day) the answer is the snapshot `crossgraph worklist refresh` wrote
    (`precomputed`: true); other days are computed from the graph on the call (seconds on 10k
    accounts), within `api_report_timeout`. `computed_at` says when the figures were computed."""
    cac = state.settings.kpi_cac
    snapshot = nightly(request, state.settings).get()
    if snapshot is not None and snapshot.answers_kpis(as_of, cac):
        return snapshot.kpis
    found = state.graph.run_report(lambda g: compute_kpis(g, as_of=as_of, cac=cac))
    if found is None:
        raise GraphUnavailable(
            "KPIs are computed from the graph, and Neo4j is unreachable; try again shortly"
        )
    return kpi_answer(found, datetime.now(UTC), precomputed=False)


def nightly(request: Request, settings: Settings) -> NightlyHolder:
    """The app's one holder of the nightly snapshot (the KPI and whitespace routes share it)."""
    found: NightlyHolder | None = getattr(request.app.state, "nightly", None)
    if found is None:
        found = NightlyHolder(settings.worklist_folder)
        request.app.state.nightly = found
    return found
