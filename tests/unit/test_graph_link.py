"""GraphLink's deadline: a graph call that does not return in time never holds up the request,
and while every worker is busy calls answer without the graph until the probe decides. No
server needed: the calls here wait on an event instead of Neo4j; the real server is in
tests/integration/test_chaos.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from crossgraph.api.state import GRAPH_WORKERS, GraphLink
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
