"""Account-growth KPIs for sales managers (definitions: docs/kpis.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from crossgraph.api.deps import ReadKey, StateDep
from crossgraph.api.errors import RESPONSES
from crossgraph.api.fields import Day
from crossgraph.errors import GraphUnavailable
from crossgraph.intel.kpis import compute_kpis

router = APIRouter(prefix="/v1", tags=["kpis"], responses=RESPONSES)


@router.get("/kpis", response_model=dict[str, Any])
def kpis(
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
    ending in 90 days, with the counts behind each figure (docs/kpis.md). Computed from the graph
    on each call (about a second on 500 accounts)."""
    cac = state.settings.kpi_cac
    found = state.graph.run(lambda g: compute_kpis(g, as_of=as_of, cac=cac))
    if found is None:
        raise GraphUnavailable(
            "KPIs are computed from the graph, and Neo4j is unreachable; try again shortly"
        )
    return found.to_dict()
