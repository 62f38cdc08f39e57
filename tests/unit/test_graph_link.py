"""GraphLink's deadline: a graph call that does not return in time never holds up the request,
and while every worker is busy calls answer without the graph until the probe decides. No
server needed: the calls here wait on an event instead of Neo4j; the real server is in
tests/integration/test_chaos.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from crossgraph.api.state import GRAPH_WORKERS, GraphLink
from crossgraph.graph.driver import Graph
from crossgraph.server.local import free_port
from crossgraph.settings import Settings


@pytest.fixture
def link() -> Iterator[GraphLink]:
    settings = Settings(
        neo4j_uri=f"bolt://127.0.0.1:{free_port()}",  # nothing listens there
        neo4j_password=SecretStr("unused"),
        api_graph_timeout=0.05,
    )
    link = GraphLink(settings)
    link.up = True  # as after a successful probe
    yield link
    link.close()


def test_a_call_past_the_deadline_answers_none_and_one_late_answer_leaves_the_graph_up(
    link: GraphLink,
) -> None:
    release = threading.Event()
    try:
        assert link.run(lambda g: release.wait()) is None
        assert link.up  # one slow answer: the probe decides, not this request
        assert link.run(lambda g: "answered") == "answered"
    finally:
        release.set()


def test_every_worker_busy_answers_without_the_graph_and_the_probe_decides(link: GraphLink) -> None:
    release = threading.Event()
    try:
        for _ in range(GRAPH_WORKERS):
            assert link.run(lambda g: release.wait()) is None
        assert link.run(lambda g: "never runs") is None  # no worker free: answered at once
        assert link.up  # busy is not lost: one slow page must not take the graph down for all
        assert not link.probe()  # the probe, on its own thread, finds no server behind it
        assert not link.up and link.last_error is not None
        assert link.run(lambda g: "never runs") is None  # down: not even tried
    finally:
        release.set()


def test_the_probe_says_up_only_after_a_real_query_answered(link: GraphLink) -> None:
    assert not link.probe()  # connection refused: down
    link.warm = lambda g: None  # a warm-up that needs no server: while down the probe runs it
    assert link.probe() and link.up
    assert not link.probe()  # while up the probe reads the database, and nothing answers
    assert not link.up


def test_one_late_probe_leaves_the_graph_up_and_the_second_in_a_row_takes_it_down(
    link: GraphLink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server just started on a busy machine may miss one probe's deadline; taking the graph
    down for it had every page say "not available right now" until the warm-up answered."""
    slow, release = threading.Event(), threading.Event()

    def ping(graph: Graph, name: str, **_: object) -> list[dict[str, object]]:
        if slow.is_set():
            release.wait()
        return [{"ok": 1}]

    monkeypatch.setattr(Graph, "read", ping)
    try:
        assert link.probe()
        slow.set()
        assert link.probe() and link.up  # one late answer: still up
        slow.clear()
        release.set()
        release.clear()
        assert link.probe() and link.up  # answered in time: the count starts again
        slow.set()
        assert link.probe() and link.up  # late once more after an answer: still up
        assert not link.probe() and not link.up  # the second late probe in a row: down
        assert "did not answer the probe" in str(link.last_error)
    finally:
        release.set()


def test_a_repeated_call_still_waiting_on_the_server_is_skipped_and_never_takes_every_worker(
    link: GraphLink,
) -> None:
    """The watcher polls the change feed on every tick. On a server too slow for the deadline each
    poll used to start one more call, until the stuck polls held every worker and every page
    answered "not available right now"."""
    release, started = threading.Event(), []

    def stuck_poll(g: object) -> None:
        started.append(1)
        release.wait()

    try:
        for _ in range(GRAPH_WORKERS + 5):  # more ticks than workers, each past its deadline
            assert link.run(stuck_poll, alone="change feed") is None
        assert len(started) == 1  # the later ticks did not start another poll
        assert link.run(lambda g: "answered") == "answered"  # requests still get a worker
        assert link.run(lambda g: "other", alone="suppressions") == "other"  # other names run
    finally:
        release.set()
    deadline = time.monotonic() + 5
    while link.run(lambda g: "polled", alone="change feed") is None and time.monotonic() < deadline:
        time.sleep(0.01)  # the stuck poll has ended: the next tick polls again
    assert link.run(lambda g: "polled", alone="change feed") == "polled"
    assert len(started) == 1
