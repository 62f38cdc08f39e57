"""Shared fixtures. Graph tests run against a real Neo4j started by the project's own launcher
(the same `LocalServer` that `crossgraph neo4j start` uses), once per test session, on a free
port and in a temporary data folder. Set CROSSGRAPH_TEST_NEO4J_URI (+ _USER, _PASSWORD) to run
them against another, disposable server instead: the tests delete everything in it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossgraph.graph.driver import Graph
from crossgraph.graph.schema import init_schema
from crossgraph.server.local import LocalServer, free_port
from crossgraph.settings import Settings, get_settings

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def neo4j_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    external = os.environ.get("CROSSGRAPH_TEST_NEO4J_URI")
    if external:
        yield Settings(
            neo4j_uri=external,
            neo4j_user=os.environ.get("CROSSGRAPH_TEST_NEO4J_USER", "neo4j"),
            neo4j_password=os.environ.get("CROSSGRAPH_TEST_NEO4J_PASSWORD"),
            data_dir=tmp_path_factory.mktemp("data"),
        )
        return
    settings = Settings(
        neo4j_uri=None,
        neo4j_port=free_port(),
        neo4j_heap="1g",
        neo4j_pagecache="256m",
        neo4j_tx_memory="512m",
        data_dir=tmp_path_factory.mktemp("data"),
    )
    server = LocalServer(settings)
    server.start(echo=lambda _: None)
    try:
        yield settings
    finally:
        server.stop()


@pytest.fixture
def graph(neo4j_settings: Settings) -> Iterator[Graph]:
    """An empty graph with the schema applied."""
    with Graph.connect(neo4j_settings) as g:
        g.write_autocommit("delete_all")
        init_schema(g)
        yield g


@pytest.fixture
def cli_env(neo4j_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Point the CLI's settings at the test server."""
    get_settings.cache_clear()
    for key, value in {
        "CROSSGRAPH_NEO4J_PORT": str(neo4j_settings.neo4j_port),
        "CROSSGRAPH_DATA_DIR": str(neo4j_settings.data_dir),
    }.items():
        monkeypatch.setenv(key, value)
    if neo4j_settings.neo4j_uri:
        monkeypatch.setenv("CROSSGRAPH_NEO4J_URI", neo4j_settings.neo4j_uri)
        if neo4j_settings.neo4j_password:
            monkeypatch.setenv("CROSSGRAPH_NEO4J_PASSWORD", neo4j_settings.neo4j_password.get_secret_value())
    else:
        monkeypatch.delenv("CROSSGRAPH_NEO4J_URI", raising=False)
    yield get_settings()
    get_settings.cache_clear()
