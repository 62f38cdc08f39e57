"""Connecting to Neo4j: the local server's credentials or an external server from settings."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from neo4j import READ_ACCESS, Driver, GraphDatabase, ManagedTransaction, Query, Record, RoutingControl
from neo4j.exceptions import (
    AuthError,
    DriverError,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)

from crossgraph.errors import GraphQueryError, GraphUnavailable
from crossgraph.graph import queries
from crossgraph.settings import Settings

POOL_SIZE = 32  # connections per driver; the API never runs more graph calls at once (api.state)

# Server errors that mean "not now" rather than "wrong query": the database still starting (a
# transient error), a transaction over its time limit (TransactionTimedOut, or ...TimedOut-
# ClientConfiguration when the client set the limit) or terminated. The caller answers as for
# an unreachable graph.
NOT_NOW = ("Neo.ClientError.Transaction.TransactionTimedOut", "Neo.ClientError.Transaction.Terminated")


@contextmanager
def answered() -> Iterator[None]:
    """The driver's errors as crossgraph's: GraphUnavailable when Neo4j cannot answer (not
    reachable, or "not now": see NOT_NOW), GraphQueryError when it refused the work."""
    try:
        yield
    except (ServiceUnavailable, DriverError) as exc:
        raise GraphUnavailable(f"Neo4j is not reachable: {exc}") from exc
    except Neo4jError as exc:
        if isinstance(exc, TransientError) or (exc.code or "").startswith(NOT_NOW):
            raise GraphUnavailable(f"Neo4j cannot answer now: {exc.message or exc}") from exc
        raise GraphQueryError(f"query failed: {exc.message or exc}") from exc


@dataclass(frozen=True)
class Connection:
    uri: str
    user: str
    password: str
    database: str


def connection(settings: Settings) -> Connection:
    if settings.neo4j_uri is not None:
        password = settings.neo4j_password.get_secret_value() if settings.neo4j_password else ""
        return Connection(settings.neo4j_uri, settings.neo4j_user, password, settings.neo4j_database)
    from crossgraph.server.local import LocalServer

    server = LocalServer(settings)
    return Connection(server.uri, "neo4j", server.password(), settings.neo4j_database)


def open_driver(settings: Settings, *, verify: bool = True, timeout: float | None = None) -> Driver:
    """A driver for the configured server. `timeout` (seconds) bounds connecting and waiting for
    a pooled connection, for callers that must answer quickly (the API); such a driver does not
    retry a failed transaction either: a retry after "connection refused" only spends the
    caller's deadline, and the API's probe finds out when the server is back."""
    conn = connection(settings)
    driver = GraphDatabase.driver(
        conn.uri,
        auth=(conn.user, conn.password),
        connection_timeout=min(5.0, timeout or 5.0),
        connection_acquisition_timeout=timeout or 60.0,  # 60 s and 30 s: the driver's defaults
        max_transaction_retry_time=0.0 if timeout else 30.0,
        max_connection_pool_size=POOL_SIZE,
        # Server hints (e.g. "property does not exist yet" on an empty graph) are not for users.
        notifications_min_severity="OFF",
    )
    if verify:
        try:
            driver.verify_connectivity()
        except AuthError as exc:
            driver.close()
            raise GraphUnavailable(
                f"Neo4j at {conn.uri} refused the credentials of user {conn.user!r}"
            ) from exc
        except (ServiceUnavailable, DriverError, OSError) as exc:
            driver.close()
            hint = " (start it with `crossgraph neo4j start`)" if settings.uses_local_server else ""
            raise GraphUnavailable(f"Neo4j at {conn.uri} is not reachable{hint}: {exc}") from exc
    return driver


class Graph:
    """Named, parameterised queries against one database. Records never leave as neo4j types."""

    def __init__(self, driver: Driver, database: str, tx_timeout: float | None = None) -> None:
        self.driver = driver
        self.database = database
        # Server-side limit per transaction (None: the server's db.transaction.timeout): the
        # server stops work nobody waits for any more and frees its connection.
        self.tx_timeout = tx_timeout

    @classmethod
    def connect(cls, settings: Settings) -> Graph:
        return cls(open_driver(settings), settings.neo4j_database)

    def with_tx_timeout(self, seconds: float) -> Graph:
        """The same driver and database with another server-side limit per transaction."""
        return Graph(self.driver, self.database, tx_timeout=seconds)

    def close(self) -> None:
        self.driver.close()

    def __enter__(self) -> Graph:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, name: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._run(queries.load(name), params, RoutingControl.READ)

    def read_values(self, name: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """read() for queries that return only maps, lists and values (no nodes, relationships or
        paths): the records as they come, without the driver's recursive conversion
        (record.data()), which walks every element of every list and cost more than the query
        itself for an account's order-line ledgers."""
        return self._run(queries.load(name), params, RoutingControl.READ, plain=True)

    def write(self, name: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._run(queries.load(name), params, RoutingControl.WRITE)

    def write_text(self, statement: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """For statements split out of a named file (schema); still parameterised."""
        return self._run(statement, params, RoutingControl.WRITE)

    def write_texts(self, statements: Sequence[str]) -> None:
        """Statements split out of a named file, all in one transaction (the schema: one commit
        instead of one per statement)."""

        def work(tx: ManagedTransaction) -> None:
            for statement in statements:
                tx.run(statement).consume()

        with answered(), self.driver.session(database=self.database) as session:
            session.execute_write(work)

    def stream(
        self, name: str, params: Mapping[str, Any] | None = None, fetch_size: int = 5000
    ) -> Iterator[dict[str, Any]]:
        """Records of a large read one by one, without holding the whole result in memory."""
        try:
            with self.driver.session(database=self.database, fetch_size=fetch_size) as session:
                for record in session.run(queries.load(name), dict(params or {})):
                    yield dict(record.items())  # type: ignore[no-untyped-call]  # .data() is 3x slower
        except (ServiceUnavailable, DriverError) as exc:
            raise GraphUnavailable(f"Neo4j is not reachable: {exc}") from exc
        except Neo4jError as exc:
            raise GraphQueryError(f"query {name!r} failed: {exc.message or exc}") from exc

    def write_autocommit(self, name: str, params: Mapping[str, Any] | None = None) -> None:
        """Run each statement of a named file in an auto-commit transaction, as statements that
        manage their own transactions (CALL ... IN TRANSACTIONS) require."""
        try:
            with self.driver.session(database=self.database) as session:
                for statement in queries.statements(name):
                    session.run(statement, dict(params or {})).consume()
        except (ServiceUnavailable, DriverError) as exc:
            raise GraphUnavailable(f"Neo4j is not reachable: {exc}") from exc
        except Neo4jError as exc:
            raise GraphQueryError(f"query {name!r} failed: {exc.message or exc}") from exc

    def _run(
        self, query: str, params: Mapping[str, Any] | None, routing: RoutingControl, *, plain: bool = False
    ) -> list[dict[str, Any]]:
        with answered():
            records = self._records(Query(query, timeout=self.tx_timeout), dict(params or {}), routing)
        if plain:
            return [dict(record.items()) for record in records]  # type: ignore[no-untyped-call]
        return [record.data() for record in records]

    def _records(self, query: Query, params: dict[str, Any], routing: RoutingControl) -> list[Record]:
        """A read runs as one auto-commit query: RUN and PULL in one round trip, where the managed
        transaction of execute_query adds BEGIN and COMMIT (0.6-1.1 ms of a fused list's 6-7 ms
        graph read on a quiet machine, about 4 ms at load average 10; benchmarks/README.md,
        graph_calls.py session 9). It shares execute_query's
        bookmarks, so it still sees every write this driver made before it, and is tried once
        more on a lost connection (a pooled one from before a server restart: the failure makes
        the driver drop its other idle ones). Writes keep the managed transaction and its
        retries (deadlocks, leader switches)."""
        if routing is RoutingControl.READ:
            for attempt in range(2):
                try:
                    with self.driver.session(
                        database=self.database,
                        default_access_mode=READ_ACCESS,
                        bookmark_manager=self.driver.execute_query_bookmark_manager,
                    ) as session:
                        return list(session.run(query, params))
                except (ServiceUnavailable, SessionExpired):
                    if attempt:
                        raise
        records, _, _ = self.driver.execute_query(
            query,  # text from cypher/ files, values as parameters
            params,
            database_=self.database,
            routing_=routing,
        )
        return records
