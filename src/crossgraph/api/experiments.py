"""The running experiment as this worker serves it.

Every worker reads the running experiment from the graph on each watcher tick
(`api_poll_seconds`): no sticky sessions and no shared memory, as every worker computes an
account's arm from the same stable hash (experiment.design). An arm that names a model
version is served by that version, loaded next to the current model (and dropped when the
experiment stops); the `current` arm is served by the current model. What a worker served is
counted per arm in memory and added to the graph's per-arm counters on the next tick (one
small write per tick and worker, none on the request path).
"""

from __future__ import annotations

import logging
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from crossgraph.api.state import GraphLink, ModelHolder
from crossgraph.errors import CrossgraphError
from crossgraph.experiment.design import CURRENT, Design
from crossgraph.graph.driver import Graph
from crossgraph.graph.experiments import Experiment, add_impressions, find_experiment
from crossgraph.model.artifact import Artifact
from crossgraph.recommend.engine import Engine

log = logging.getLogger("crossgraph.api")
Tag = dict[str, str]  # {"name": experiment, "arm": arm}: in responses and feedback


class Experiments:
    def __init__(self, holder: ModelHolder) -> None:
        self.holder = holder
        self.design: Design | None = None
        self._engines: dict[str, Engine] = {}  # arm -> its model, for arms other than `current`
        # (experiment, arm) -> suggestions this process has served in it, and the part of that
        # the graph is known to hold; the flush writes running totals under this worker's id.
        self._shown: dict[tuple[str, str], int] = {}
        self._stored: dict[tuple[str, str], int] = {}
        self.worker = uuid.uuid4().hex
        self._bytes: dict[str, int] = {}  # version -> engine_bytes (a version never changes)
        self._lock = threading.Lock()

    def pick(self, account_id: str, current: Engine) -> tuple[Engine, Tag | None]:
        """The engine that answers this account and its arm (None outside an experiment, or
        when this worker could not load the arm's model: then the current model, untagged)."""
        design = self.design
        if design is None:
            return current, None
        arm = design.arm_of(account_id)
        engine = current if arm == CURRENT else self._engines.get(arm)
        if engine is None:
            return current, None
        return engine, {"name": design.name, "arm": arm}

    def tag(self, account_id: str) -> tuple[Tag | None, str | None]:
        """For feedback: the account's arm (as pick gives it) and the version that serves it."""
        current = self.holder.loaded
        if current is None:
            return None, None
        engine, tag = self.pick(account_id, current)
        return tag, engine.version

    def served(self, body: dict[str, Any], tag: Tag | None) -> dict[str, Any]:
        """Put the arm into a recommendations body and count its suggestions as shown."""
        body["experiment"] = tag
        if tag is not None:
            key = (tag["name"], tag["arm"])
            with self._lock:
                self._shown[key] = self._shown.get(key, 0) + len(body["items"])
        return body

    def engines(self) -> dict[str, Engine]:
        return dict(self._engines)

    def sync(self, graph: GraphLink, prepare: Callable[[Engine], object]) -> None:
        """On every tick: flush the counts, then follow the graph's running experiment (load
        the arms' models, or drop them when it stopped). With the graph down nothing changes."""
        self.flush(graph)
        found = graph.run(lambda g: (find_experiment(g),), alone="experiment")
        if found is None:
            return
        self.follow(found[0], prepare)

    def follow(self, experiment: Experiment | None, prepare: Callable[[Engine], object]) -> None:
        if experiment is None or experiment.status != "running":
            if self.design is not None:
                log.info("experiment %s ended: serving the current model only", self.design.name)
            self.design, self._engines = None, {}
            return
        design = experiment.design
        engines = dict(self._engines) if self.design == design else {}
        for arm in design.arms:
            if arm == CURRENT or arm in engines:
                continue
            try:
                engine = Engine(Artifact.load(self.holder.registry.get(arm).path))
                prepare(engine)  # the changes made since its training, as for the current model
            except (CrossgraphError, OSError, ValueError, KeyError) as exc:
                log.error(
                    "experiment %s: cannot load arm %s (%s); serving it the current model",
                    design.name,
                    arm,
                    exc,
                )
                continue
            engines[arm] = engine
            log.info("experiment %s: arm %s loaded next to the current model", design.name, arm)
        self._engines, self.design = engines, design

    def flush(self, graph: GraphLink) -> None:
        """Write this worker's running totals of the arms served since the last write that
        succeeded. A write that fails or runs late is simply written again, larger, on a later
        tick: the graph keeps each worker's highest total, so a late write that commits after
        all cannot count a suggestion twice (increments could)."""
        with self._lock:
            pending = {key: n for key, n in self._shown.items() if n > self._stored.get(key, 0)}
        by_experiment: dict[str, dict[str, int]] = {}
        for (name, arm), n in pending.items():
            by_experiment.setdefault(name, {})[arm] = n
        for name, arms in by_experiment.items():

            def write(g: Graph, name: str = name, arms: dict[str, int] = arms) -> bool:
                add_impressions(g, name, self.worker, arms)
                return True

            if graph.run(write, alone=f"impressions of {name}") is not None:
                with self._lock:
                    for arm, n in arms.items():
                        key = (name, arm)
                        self._stored[key] = max(self._stored.get(key, 0), n)

    def memory(self, current: Engine | None) -> dict[tuple[str, str], int]:
        """(version, role) -> bytes held, for /metrics: the current model and each arm's."""
        found = {} if current is None else {(current.version, "current"): self._size(current)}
        for engine in self._engines.values():
            found.setdefault((engine.version, "arm"), self._size(engine))
        return found

    def _size(self, engine: Engine) -> int:
        if engine.version not in self._bytes:
            self._bytes[engine.version] = engine_bytes(engine)
        return self._bytes[engine.version]


def engine_bytes(engine: Engine) -> int:
    """Bytes of an engine's arrays (numpy and sparse, memory-mapped or not) and id tables."""
    seen: set[int] = set()
    total = 0
    for value in [*vars(engine).values(), *vars(engine.artifact).values()]:
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, np.ndarray):
            total += value.nbytes
        elif sp.issparse(value):
            total += sum(getattr(value, part).nbytes for part in ("data", "indices", "indptr"))
        elif isinstance(value, list | dict):
            total += sys.getsizeof(value) + sum(sys.getsizeof(v) for v in value if isinstance(v, str))
    return total
