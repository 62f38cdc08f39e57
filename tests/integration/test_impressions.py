"""Suggestions shown per experiment arm, as the API workers write them to the real graph: a
write the worker stopped waiting for but that committed anyway is not counted twice, a write
that never reached the graph is not lost, and several workers' counts add up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest

from crossgraph.api.experiments import Experiments
from crossgraph.api.state import GraphLink
from crossgraph.experiment.design import Design
from crossgraph.graph.driver import Graph
from crossgraph.graph.experiments import arm_counts, start_experiment

pytestmark = pytest.mark.neo4j

DESIGN = Design("impressions", ("current", "v2"), (50, 50))
CURRENT = {"name": DESIGN.name, "arm": "current"}
V2 = {"name": DESIGN.name, "arm": "v2"}


class Link:
    """GraphLink.run against the test graph, answering as the real one does when the call
    `commits` (or not) and the caller waited for it (or gave up: None)."""

    def __init__(self, graph: Graph, commits: bool = True, answers: bool = True) -> None:
        self.graph, self.commits, self.answers = graph, commits, answers

    def run(
        self, call: Callable[[Graph], Any], seconds: float | None = None, *, alone: str | None = None
    ) -> Any:
        result = call(self.graph) if self.commits else None
        return result if self.answers else None


def shown(graph: Graph) -> dict[str, int]:
    return {c.arm: c.shown for c in arm_counts(graph, DESIGN)}


def serve(worker: Experiments, tag: dict[str, str], n: int) -> None:
    worker.served({"items": list(range(n))}, tag)


def test_late_lost_and_parallel_impression_writes_count_each_suggestion_once(graph: Graph) -> None:
    start_experiment(graph, DESIGN)
    worker = Experiments(holder=cast(Any, None))
    serve(worker, CURRENT, 3)
    serve(worker, V2, 2)

    # The write commits, but the worker had stopped waiting (a late answer): next tick writes again.
    worker.flush(cast(GraphLink, Link(graph, answers=False)))
    assert shown(graph) == {"current": 3, "v2": 2}
    worker.flush(cast(GraphLink, Link(graph)))
    assert shown(graph) == {"current": 3, "v2": 2}

    # The graph is down: nothing is written, and nothing is lost for the next tick.
    serve(worker, CURRENT, 4)
    worker.flush(cast(GraphLink, Link(graph, commits=False, answers=False)))
    assert shown(graph) == {"current": 3, "v2": 2}
    worker.flush(cast(GraphLink, Link(graph)))
    assert shown(graph) == {"current": 7, "v2": 2}

    # A second worker process keeps its own count; the arm shows the sum.
    other = Experiments(holder=cast(Any, None))
    serve(other, V2, 5)
    other.flush(cast(GraphLink, Link(graph)))
    worker.flush(cast(GraphLink, Link(graph)))
    assert shown(graph) == {"current": 7, "v2": 7}
