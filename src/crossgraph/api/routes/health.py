"""Liveness, readiness and Prometheus metrics (no API key: for orchestrators and scrapers)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from crossgraph.api import schemas
from crossgraph.api.deps import StateDep

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=schemas.Health)
async def healthz() -> schemas.Health:
    """The process is alive."""
    return schemas.Health(status="ok")


@router.get(
    "/readyz",
    response_model=schemas.Readiness,
    responses={503: {"model": schemas.Readiness, "description": "No model loaded"}},
)
async def readyz(state: StateDep) -> JSONResponse:
    """Ready when a model is loaded and a real Neo4j query answered within the graph deadline at
    the last probe (every `api_graph_probe_seconds`) and since; `degraded` when it did not
    (answers come from the model alone, evidence is partial). Tells state only: no error text."""
    version = state.holder.version
    graph = "up" if state.graph.up else "down"
    if version is None:
        # State only: the reason (paths, exception text) is in the log, not for any caller.
        status, code, detail = "unavailable", 503, "no model loaded"
    elif graph == "down":
        # State only, as above: the driver's error names hosts and ports (it is in the log).
        status, code, detail = "degraded", 200, "Neo4j does not answer: answers come from the model alone"
    else:
        status, code, detail = "ready", 200, None
    body = schemas.Readiness(status=status, model_version=version, graph=graph, detail=detail)
    return JSONResponse(body.model_dump(), status_code=code)


@router.get("/metrics", response_class=Response)
async def metrics(state: StateDep) -> Response:
    """Prometheus text format: request latency per route, errors, model version, reloads."""
    state.metrics.graph_up.set(1 if state.graph.up else 0)
    return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
