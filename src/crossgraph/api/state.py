"""What the running service holds: the current model (swapped atomically) and one Neo4j link.

ModelHolder.engine is replaced by one reference assignment after the new artifact is fully
loaded, so a request that took the engine at its start finishes on that model, and the next
request sees the new one. GraphLink keeps Neo4j optional: every graph call has a total
deadline; after a failure the graph counts as down and no request waits on it until the
background probe's real queries answer again.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from crossgraph.errors import CrossgraphError, GraphUnavailable, ModelNotLoaded
from crossgraph.graph.driver import POOL_SIZE, Graph, open_driver
from crossgraph.model.artifact import Artifact
from crossgraph.model.registry import Registry
from crossgraph.recommend.engine import Engine
from crossgraph.settings import Settings

log = logging.getLogger("crossgraph.api")
T = TypeVar("T")

# Graph calls under way at once; fewer than the driver's pooled connections, so a request never
# waits for a connection another call holds while stuck on a lost server.
GRAPH_WORKERS = POOL_SIZE // 2
WARM_UP_DEADLINES = 10  # the probe's warm-up of a (re)started server may take 10 x api_graph_timeout
LATE_PROBES_DOWN = 2  # late probes in a row that take an up graph down (refused or reset: the first)


@dataclass(frozen=True)
class LoadFailure:
    """The last promoted version that could not be loaded: which, when, and why (the reason
    names files relative to the model registry, never its location on the server)."""

    version: str | None
    at: datetime
    reason: str


class ModelHolder:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._engine: Engine | None = None
        self.loaded_at: datetime | None = None
        self.refused: LoadFailure | None = None
        self._lock = threading.Lock()  # one reload at a time; readers never take it

    @property
    def engine(self) -> Engine:
        engine = self._engine
        if engine is None:
            refused = self.refused
            if refused is not None and refused.version is not None:
                raise ModelNotLoaded(
                    f"no model is loaded: the promoted version {refused.version} could not be loaded "
                    f"({refused.reason}); promote another version or repair it and reload"
                )
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
                self.refused = None
                return previous, info.version
            except (CrossgraphError, OSError, ValueError, KeyError) as exc:
                version = self.registry.current_version()
                self.refused = LoadFailure(version, datetime.now(UTC), self._relative(exc))
                raise ModelNotLoaded(f"cannot load the current model: {exc}") from exc

    def changed(self) -> bool:
        """The registry's current version is another than the one served."""
        return self.registry.current_version() not in (None, self.version)

    def pending(self) -> bool:
        """Whether the watcher should try a load: a version it does not serve is current, and it
        is not the one refused last (a damaged version is tried again only by an explicit
        reload, POST /v1/admin/reload, or once another version is promoted; not every poll).
        Without any promoted model, it keeps waiting for one."""
        current = self.registry.current_version()
        if current is None:
            return self._engine is None
        refused = self.refused
        return current != self.version and (refused is None or refused.version != current)

    def refusal(self) -> LoadFailure | None:
        """The refused load, while the refused version is still the registry's current one."""
        refused = self.refused
        if refused is None or refused.version != self.registry.current_version():
            return None
        return refused

    def _relative(self, exc: BaseException) -> str:
        reason = str(exc)
        roots = {str(self.registry.root.resolve()), str(self.registry.root)}
        for root in sorted(roots, key=len, reverse=True):  # the longer one first
            reason = reason.replace(root + "/", "").replace(root, "the model registry")
        return reason


class Suppressions:
    """Account -> skus not to suggest (dismissed within the suppression period, or won),
    refreshed from the graph by the watcher and updated at once by this process's own
    feedback calls.

    A refresh reads the graph for a while; a dismissal stored meanwhile may be missing from
    what it read. So the table it brings keeps this process's own additions made since the
    read started (`started()`), and forgets only those the read must already hold."""

    def __init__(self) -> None:
        self._by_account: dict[str, frozenset[str]] = {}
        self._added: list[tuple[float, str, str]] = []  # (when, account, sku) of add()
        self._lock = threading.Lock()

    def of(self, account_id: str) -> frozenset[str]:
        return self._by_account.get(account_id, frozenset())

    @staticmethod
    def started() -> float:
        """The moment a refresh's read starts: pass it to replace()."""
        return time.monotonic()

    def replace(self, by_account: dict[str, frozenset[str]], read_started: float | None = None) -> None:
        """The graph's table, read from `read_started` on, with this process's additions since."""
        with self._lock:
            since = math.inf if read_started is None else read_started
            self._added = [added for added in self._added if added[0] >= since]
            table = dict(by_account)
            for _, account_id, sku in self._added:
                table[account_id] = table.get(account_id, frozenset()) | {sku}
            self._by_account = table  # one assignment: readers see the old or the new table

    def add(self, account_id: str, sku: str) -> None:
        """After the write is stored in the graph."""
        with self._lock:
            self._added.append((time.monotonic(), account_id, sku))
            table = dict(self._by_account)
            table[account_id] = self.of(account_id) | {sku}
            self._by_account = table


class _Late(GraphUnavailable):
    """A graph call outlived its deadline (it goes on in its worker; nobody waits for it)."""


class _Busy(_Late):
    """Every graph worker is still on earlier calls: this one answers without the graph. A busy
    server is not a lost one; the probe, on a thread of its own, tells them apart."""


class GraphLink:
    """The service's one Neo4j driver, behind a deadline.

    Every call (a request's graph work, the readiness probe) runs on one of GRAPH_WORKERS
    threads and is given `api_graph_timeout` seconds in total (connecting, waiting for a pooled
    connection, the queries; the driver does not retry); past that the caller goes on without
    the graph.
    A lost server (refused, reset, every worker stuck, the probe late twice in a row) takes the
    graph down.
    There are fewer workers than pooled connections, so calls still stuck on a lost server can
    never take the pool from the rest; and when the graph goes down the driver is replaced,
    its sockets shut, which ends the stuck calls. The graph is up again only once the probe's
    real queries answer in time.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._graph: Graph | None = None
        self.up = False
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._workers = ThreadPoolExecutor(GRAPH_WORKERS, thread_name_prefix="crossgraph-graph")
        self._free = threading.BoundedSemaphore(GRAPH_WORKERS)
        self._running: set[str] = set()  # the `alone` calls still on a worker
        self._late_probes = 0  # probes in a row that an up server answered past the deadline
        # The probe's own thread: it judges the server even while requests keep every worker busy.
        self._prober = ThreadPoolExecutor(1, thread_name_prefix="crossgraph-probe")
        # What the probe runs before calling a (re)started server up: the app sets the routes'
        # own graph work for one account, so their first calls do not pay for a cold server.
        self.warm: Callable[[Graph], object] = lambda g: g.read("ping")

    def _connect(self) -> Graph:
        with self._lock:
            if self._graph is None:
                timeout = self.settings.api_graph_timeout
                driver = open_driver(self.settings, verify=False, timeout=timeout)
                self._graph = Graph(driver, self.settings.neo4j_database, tx_timeout=timeout)
            return self._graph

    def probe(self) -> bool:
        """Up when a real query answers within the deadline; called at start and by the watcher.
        While down, the probe is the warm-up, given WARM_UP_DEADLINES deadlines: a server just
        started plans every query afresh, which took longer than one deadline per route.

        While up, one late answer is not yet a lost server: a server just started (or a busy
        machine) may miss one deadline, and taking the graph down for it had every page say
        "not available right now" until the warm-up answered. LATE_PROBES_DOWN late probes in a
        row take it down; a refused or reset connection does at once."""
        try:
            if self.up:
                self._within_deadline(lambda g: g.read("ping"), probe=True)
            else:
                self._within_deadline(
                    self.warm, WARM_UP_DEADLINES * self.settings.api_graph_timeout, probe=True
                )
        except _Late as exc:
            self._late_probes += 1
            if not self.up or self._late_probes >= LATE_PROBES_DOWN:
                self._mark_down(exc)
            else:
                log.info("Neo4j answered the probe late (%d in a row): %s", self._late_probes, exc)
        except Exception as exc:  # any other failure (no password file yet, refused, reset) = down
            self._mark_down(exc)
        else:
            if not self.up:
                log.info("Neo4j answers queries")
            self.up, self.last_error, self._late_probes = True, None, 0
        return self.up

    def run(
        self, call: Callable[[Graph], T], seconds: float | None = None, *, alone: str | None = None
    ) -> T | None:
        """call(graph), or None when the graph is down or fails to answer in time (`seconds`,
        default api_graph_timeout). A slow answer, or every worker busy, leaves the graph up (the
        probe judges that); a lost server (refused, reset) takes it down.

        `alone` names work the watcher repeats on every tick (the change feed, suppressions): while
        the last call of that name is still on a worker, past its deadline or not, the next one
        is skipped (None). Without it, a server too slow for the deadline (a cold one compiling
        its queries on a busy machine) had every tick start one more call, until the watcher's
        stuck calls held every worker and each request answered without the graph."""
        if not self.up:
            return None
        try:
            return self._within_deadline(call, seconds, alone=alone)
        except _Late:
            return None
        except GraphUnavailable as exc:
            self._mark_down(exc)
            return None

    def run_report(self, call: Callable[[Graph], T]) -> T | None:
        """run() for whole-graph reports (KPIs, whitespace, the portfolio): api_report_timeout."""
        return self.run(call, self.settings.api_report_timeout)

    def _within_deadline(
        self,
        call: Callable[[Graph], T],
        seconds: float | None = None,
        *,
        probe: bool = False,
        alone: str | None = None,
    ) -> T:
        timeout = seconds or self.settings.api_graph_timeout
        if probe:  # on the probe's thread, outside the request workers
            graph = self._connect()
            limited = graph if timeout == graph.tx_timeout else graph.with_tx_timeout(timeout)
            try:
                return self._prober.submit(call, limited).result(timeout=timeout)
            except TimeoutError as exc:
                raise _Late(f"Neo4j did not answer the probe within {timeout:g} s") from exc
        if alone is not None:
            with self._lock:
                if alone in self._running:
                    raise _Busy(f"the last {alone} call is still waiting on Neo4j")
                self._running.add(alone)
        if not self._free.acquire(blocking=False):
            self._ended(alone, release=False)
            raise _Busy(f"all {GRAPH_WORKERS} graph workers are still waiting on Neo4j")
        try:
            graph = self._connect()
            # The server stops a transaction when nobody waits for it any more.
            limited = graph if timeout == graph.tx_timeout else graph.with_tx_timeout(timeout)
            future = self._workers.submit(call, limited)
        except BaseException:
            self._ended(alone)
            raise
        future.add_done_callback(lambda _: self._ended(alone))  # when the work ends, not the wait
        try:
            return future.result(timeout=timeout)
        except TimeoutError as exc:
            raise _Late(f"Neo4j did not answer within {timeout:g} s") from exc

    def _ended(self, alone: str | None, *, release: bool = True) -> None:
        """A call left its worker (or never got one): its worker and its name are free again."""
        if release:
            self._free.release()
        if alone is not None:
            with self._lock:
                self._running.discard(alone)

    def _mark_down(self, exc: BaseException) -> None:
        with self._lock:
            was_up, graph, previous = self.up, self._graph, self.last_error
            self.up, self.last_error, self._late_probes = False, str(exc), 0
        if was_up:
            log.warning("Neo4j is unreachable, answering from the model only: %s", exc)
        elif str(exc) != previous:
            log.info("Neo4j is still down: %s", exc)
        if graph is not None and (was_up or isinstance(exc, _Late)):
            self._recycle(graph)

    def _recycle(self, graph: Graph) -> None:
        """Replace the driver: the next call opens a new pool, and closing the old one shuts its
        sockets, so calls still reading from a lost server end instead of holding connections."""
        with self._lock:
            if self._graph is not graph:
                return  # replaced already
            self._graph = None
        threading.Thread(target=graph.close, name="crossgraph-graph-close", daemon=True).start()

    def close(self) -> None:
        with self._lock:
            graph, self._graph = self._graph, None
        if graph is not None:
            graph.close()
        # A fresh pool for a lifespan that starts again (tests, servers that restart an app):
        # the old one's threads end with the work they were given.
        workers, self._workers = (
            self._workers,
            ThreadPoolExecutor(GRAPH_WORKERS, thread_name_prefix="crossgraph-graph"),
        )
        prober, self._prober = self._prober, ThreadPoolExecutor(1, thread_name_prefix="crossgraph-probe")
        workers.shutdown(wait=False, cancel_futures=True)
        prober.shutdown(wait=False, cancel_futures=True)
