"""Online experiments: how each arm does (started and stopped with `crossgraph experiment`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from crossgraph.api import schemas
from crossgraph.api.deps import ReadKey, StateDep
from crossgraph.api.errors import RESPONSES
from crossgraph.errors import GraphUnavailable
from crossgraph.graph.experiments import experiment_report

router = APIRouter(prefix="/v1/experiments", tags=["model"], responses=RESPONSES)


@router.get("/{name}", response_model=schemas.ExperimentStatus)
async def experiment(
    name: Annotated[str, Path(min_length=1, max_length=100, description="Experiment name")],
    state: StateDep,
    _: ReadKey,
) -> Any:
    """Per arm: suggestions shown, accepted, dismissed, won, lost, take rate, win rate and won
    value per shown with 95 % intervals; each arm against the first; a verdict only when the
    take rate differs clearly (two-proportion z-test, docs/experiments.md). A stopped experiment
    answers with the result recorded when it stopped."""
    settings = state.settings
    body = await run_in_threadpool(
        state.graph.run,
        lambda g: experiment_report(g, name, settings.experiment_alpha, settings.experiment_min_shown),
    )
    if body is None:
        raise GraphUnavailable(
            "Neo4j is unreachable or did not answer in time; experiments live in the graph"
        )
    return body
