"""What the running service holds: the current model (swapped atomically) and one Neo4j link.

ModelHolder.engine is replaced by one reference assignment after the new artifact is fully
loaded, so a request that took the engine at its start finishes on that model, and the next
request sees the new one. GraphLink keeps Neo4j optional: after a failure the graph counts
as down and no request waits on it until the background probe reaches it again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from crossgraph.errors import CrossgraphError, GraphUnavailable, ModelNotLoaded
from crossgraph.graph.driver import Graph, open_driver
from crossgraph.model.artifact import Artifact
from crossgraph.model.registry import Registry
from crossgraph.recommend.engine import Engine
from crossgraph.settings import Settings

log = logging.getLogger("crossgraph.api")
T = TypeVar("T")


class ModelHolder:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._engine: Engine | None = None
        self.loaded_at: datetime | None = None
        self.last_error: str | None = None
        self._lock = threading.Lock()  # one reload at a time; readers never take it

    @property
    def engine(self) -> Engine:
        engine = self._engine
        if engine is None:
            # No paths or exception text: any key holder reads this (the log has last_error).
            raise ModelNotLoaded("no model is loaded yet; the service answers once one is promoted")
        return engine

    @property
    def loaded(self) -> Engine | None:
        """The served engine, or None (no exception) when no model is loaded."""
        return self._engine

    @property
    def version(self) -> str | None:
        engine = self._engine
        return engine.version if engine else None

    def reload(self, prepare: Callable[[Engine], object] | None = None) -> tuple[str | None, str]:
        """Load the registry's current version if it is not the one served: (previous, current).
        `prepare(engine)` runs on a new engine before it is served (replaying changes)."""
        with self._lock:
            previous = self.version
            try:
                info = self.registry.current()
                if info.version != previous:
                    engine = Engine(Artifact.load(info.path))  # fully built before anyone sees it
                    if prepare is not None:
                        prepare(engine)
                    self._engine = engine
                    self.loaded_at = datetime.now(UTC)
                    log.info("serving model %s (was %s)", info.version, previous)
                self.last_error = None
                return previous, info.version
            except (CrossgraphError, OSError, ValueError, KeyError) as exc:
                self.last_error = str(exc)
                raise ModelNotLoaded(f"cannot load the current model: {exc}") from exc

    def changed(self) -> bool:
        return self.registry.current_version() not in (None, self.version)


class Suppressions:
    """Account -> skus not to suggest (dismissed within the suppression period, or won),
    refreshed from the graph by the watcher and updated at once by this process's own
    feedback calls."""

    def __init__(self) -> None:
        self._by_account: dict[str, frozenset[str]] = {}

    def of(self, account_id: str) -> frozenset[str]:
        return self._by_account.get(account_id, frozenset())

    def replace(self, by_account: dict[str, frozenset[str]]) -> None:
        self._by_account = by_account  # one assignment: readers see the old or the new table

    def add(self, account_id: str, sku: str) -> None:
        table = dict(self._by_account)
        table[account_id] = self.of(account_id) | {sku}
        self._by_account = table


class GraphLink:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._graph: Graph | None = None
        self.up = False
        self.last_error: str | None = None
        self._lock = threading.Lock()

    def _connect(self) -> Graph:
        with self._lock:
            if self._graph is None:
                driver = open_driver(self.settings, verify=False, timeout=self.settings.api_graph_timeout)
                self._graph = Graph(driver, self.settings.neo4j_database)
            return self._graph

    def probe(self) -> bool:
        """Check that Neo4j answers; called at start and by the background watcher."""
        try:
            self._connect().driver.verify_connectivity()
        except Exception as exc:  # any failure (no password file yet, refused, timeout) = down
            self._mark_down(exc)
        else:
            if not self.up:
                log.info("Neo4j is reachable")
            self.up, self.last_error = True, None
        return self.up

    def run(self, call: Callable[[Graph], T]) -> T | None:
        """call(graph), or None when the graph is down or fails to answer in time."""
        if not self.up:
            return None
        try:
            return call(self._connect())
        except GraphUnavailable as exc:
            self._mark_down(exc)
            return None

    def _mark_down(self, exc: BaseException) -> None:
        if self.up:
            log.warning("Neo4j is unreachable, answering from the model only: %s", exc)
        self.up, self.last_error = False, str(exc)

    def close(self) -> None:
        with self._lock:
            if self._graph is not None:
                self._graph.close()
                self._graph = None
