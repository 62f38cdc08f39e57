"""Experiments in the graph, the one place every worker and the CLI read them from.

(:Experiment {name, status: running|stopped, arms, shares, started_at, stopped_at, result}),
one (:ExperimentArm {experiment, arm, shown}) per arm, and one (:ArmShown {experiment, arm,
worker, shown}) per arm and API worker process holding the suggestions that worker has served
(a running total: writing it again never counts twice); an arm's shown is the sum. Feedback
given while an experiment runs carries `experiment` and `arm` properties (record_feedback).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crossgraph.errors import Conflict, ExperimentNotFound
from crossgraph.experiment.design import Design
from crossgraph.experiment.stats import ArmCounts, analyse
from crossgraph.graph.driver import Graph


@dataclass(frozen=True)
class Experiment:
    design: Design
    status: str  # running | stopped
    started_at: datetime
    stopped_at: datetime | None = None
    result: dict[str, Any] | None = None  # the status recorded at stop

    @property
    def name(self) -> str:
        return self.design.name


def start_experiment(graph: Graph, design: Design) -> Experiment:
    """Record a running experiment; Conflict while another runs or when the name was used."""
    at = datetime.now(UTC)
    row = graph.write(
        "start_experiment",
        {"name": design.name, "arms": list(design.arms), "shares": list(design.shares), "at": at.isoformat()},
    )[0]
    if row["running"] is not None:
        raise Conflict(
            f"experiment {row['running']!r} is running; stop it first (crossgraph experiment stop "
            f"{row['running']}): one experiment at a time"
        )
    if row["same_status"] is not None:
        raise Conflict(
            f"an experiment named {design.name!r} exists already ({row['same_status']}); pick a new name"
        )
    return Experiment(design, "running", at)


def find_experiment(graph: Graph, name: str | None = None) -> Experiment | None:
    """The experiment called `name`, or the running one (None when there is none)."""
    rows = graph.read("find_experiment", {"name": name})
    return _experiment(rows[0]) if rows else None


def get_experiment(graph: Graph, name: str) -> Experiment:
    found = find_experiment(graph, name)
    if found is None:
        raise ExperimentNotFound(name)
    return found


def stop_experiment(graph: Graph, name: str, result: Mapping[str, Any]) -> dict[str, Any]:
    """End a running experiment, recording `result` (its status now) as what it ended with."""
    at = datetime.now(UTC)
    recorded = {**result, "status": "stopped", "stopped_at": at.isoformat()}
    rows = graph.write(
        "stop_experiment", {"name": name, "at": at.isoformat(), "result": json.dumps(recorded, default=str)}
    )
    if not rows:
        get_experiment(graph, name)  # ExperimentNotFound when unknown
        raise Conflict(f"experiment {name!r} is not running; its recorded result stays as it was")
    return recorded


def add_impressions(graph: Graph, name: str, worker: str, shown: Mapping[str, int]) -> None:
    """Record `shown` (arm -> suggestions this worker has served in the experiment since it
    started: running totals) as `worker`'s counts; a total never goes down."""
    rows = [{"arm": arm, "shown": n} for arm, n in shown.items() if n > 0]
    if rows:
        graph.write("add_impressions", {"name": name, "worker": worker, "rows": rows})


def arm_counts(graph: Graph, design: Design) -> list[ArmCounts]:
    """Shown per arm and the feedback stored per arm, in the design's arm order."""
    found: dict[str, ArmCounts] = {}
    for row in graph.read("experiment_counts", {"name": design.name}):
        actions = {str(a["action"]): a for a in row["actions"] if a["action"] is not None}
        won = actions.get("won", {})
        found[str(row["arm"])] = ArmCounts(
            arm=str(row["arm"]),
            shown=int(row["shown"] or 0),
            accepted=int(actions.get("accepted", {}).get("n", 0)),
            dismissed=int(actions.get("dismissed", {}).get("n", 0)),
            won=int(won.get("n", 0)),
            lost=int(actions.get("lost", {}).get("n", 0)),
            won_value=float(won.get("value", 0.0)),
            won_value_sq=float(won.get("value_sq", 0.0)),
        )
    return [found.get(arm, ArmCounts(arm)) for arm in design.arms]


def _experiment(row: dict[str, Any]) -> Experiment:
    design = Design(str(row["name"]), tuple(row["arms"]), tuple(int(s) for s in row["shares"]))
    stopped = row["stopped_at"]
    return Experiment(
        design=design,
        status=str(row["status"]),
        started_at=row["started_at"].to_native(),
        stopped_at=None if stopped is None else stopped.to_native(),
        result=None if row["result"] is None else json.loads(row["result"]),
    )


def experiment_report(graph: Graph, name: str, alpha: float, min_shown: int) -> dict[str, Any]:
    """The status of an experiment: a running one computed now, a stopped one as recorded at stop."""
    experiment = get_experiment(graph, name)
    if experiment.result is not None:
        return experiment.result
    return report(experiment, arm_counts(graph, experiment.design), alpha, min_shown)


def report(experiment: Experiment, counts: list[ArmCounts], alpha: float, min_shown: int) -> dict[str, Any]:
    return {
        "name": experiment.name,
        "status": experiment.status,
        "shares": dict(zip(experiment.design.arms, experiment.design.shares, strict=True)),
        "started_at": experiment.started_at.isoformat(),
        "stopped_at": None if experiment.stopped_at is None else experiment.stopped_at.isoformat(),
        **analyse(counts, alpha=alpha, min_shown=min_shown),
    }
