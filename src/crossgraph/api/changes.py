"""Keeping this worker's answers in step with the graph between training runs.

The graph is the source of truth and its change feed (graph.changes) the only thing workers
share: a worker that writes (POST /v1/purchases, /v1/accounts, won feedback) records a change
and refolds the accounts it touched at once; every worker, itself included, reads the changes
after the last one its overlay holds on each watcher tick (`api_poll_seconds`) and refolds
those accounts from the graph. No sticky sessions: any worker answers any request, at most one
poll interval behind a write made through another. A newly loaded model starts from the
change number its training export recorded, so changes made between export and promotion are
replayed before it serves (ModelHolder.reload's `prepare`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from crossgraph.api.state import GraphLink
from crossgraph.errors import CrossgraphError
from crossgraph.graph.changes import ChangeKind, account_rows, changes_since, record_change
from crossgraph.graph.driver import Graph
from crossgraph.recommend.engine import Engine
from crossgraph.recommend.folding import fold_rows

log = logging.getLogger("crossgraph.api")


class ChangeFollower:
    """Applies changes to the served engine's overlay, one update at a time per worker (so a
    row read earlier never overwrites one read later)."""

    def __init__(self, graph: GraphLink) -> None:
        self.graph = graph
        self._lock = threading.Lock()

    def follow(self, engine: Engine, *, tick: bool = False) -> None:
        """Fold in what changed since the engine's overlay: on every watcher tick, and on a newly
        loaded model before it serves (ModelHolder.reload's `prepare`). With the graph down
        nothing happens; the next tick catches up. A tick starts no poll while this engine's
        last one is still waiting on Neo4j (GraphLink.run's `alone`)."""
        alone = f"change feed of {engine.version}" if tick else None
        try:
            self.graph.run(lambda g: self.poll(engine, g), alone=alone)
        except CrossgraphError as exc:  # a failed query must not keep a model from loading
            log.warning("cannot follow the change feed: %s", exc)

    def wrote(self, engine: Engine | None, graph: Graph, accounts: Sequence[str], kind: ChangeKind) -> int:
        """After a write this worker made: record the change, refold the accounts here now."""
        seq = record_change(graph, accounts, kind)
        if engine is not None:
            with self._lock:
                fold_rows(engine, account_rows(graph, accounts))
        return seq

    def poll(self, engine: Engine, graph: Graph) -> int:
        """Refold the accounts changed since the overlay's change number: how many."""
        with self._lock:
            found = changes_since(graph, engine.overlay.seq)
            if found.seq == engine.overlay.seq:
                return 0
            fold_rows(engine, account_rows(graph, found.accounts), found.seq)
            return len(found.accounts)
