"""Neo4j stops under a running API: answers keep coming from the model, marked partial, no
5xx for accounts the model knows; when Neo4j is back the service recovers without a restart.
Uses its own Neo4j server, since it stops it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from crossgraph.api.app import create_app
from crossgraph.graph import queries
from crossgraph.graph.driver import Graph
from crossgraph.server.local import LocalServer, free_port
from crossgraph.settings import Settings
from tests.integration.served import NEW_ACCOUNT, READ, build_served

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_neo4j_down_gives_degraded_answers_and_recovery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        neo4j_port=free_port(),
        neo4j_heap="512m",
        neo4j_pagecache="128m",
        neo4j_tx_memory="256m",
        data_dir=tmp_path / "data",
    )
    server = LocalServer(settings)
    server.start(echo=lambda _: None)
    try:
        served = build_served(settings, tmp_path, accounts=80, seed=3)
        account = served.artifact.accounts.id(2)
        with TestClient(create_app(served.settings)) as client:
            sku = client.get(f"/v1/accounts/{account}/recommendations", headers=READ).json()["items"][0][
                "sku"
            ]
            live = client.get(f"/v1/accounts/{account}/evidence/{sku}", headers=READ).json()
            assert live["partial"] is False and live["peers"][0]["first_bought"] is not None

            link = client.app.state.crossgraph.graph  # type: ignore[attr-defined]
            warm = link.warm
            link.warm = lambda g: g.read("ping")  # while down, the probe asks this only
            asked: list[str] = []
            real_run = Graph._run

            def spy(graph: Graph, query: str, *args: Any, **kwargs: Any) -> Any:
                asked.append(query)
                return real_run(graph, query, *args, **kwargs)

            monkeypatch.setattr(Graph, "_run", spy)
            server.stop()
            assert wait_for(lambda: client.get("/readyz").json()["status"] == "degraded")
            readyz = client.get("/readyz")
            assert readyz.status_code == 200  # still serving
            assert readyz.json()["detail"] and "127.0.0.1" not in readyz.text  # state, no error text
            asked.clear()

            recs = client.get(f"/v1/accounts/{account}/recommendations", headers=READ)
            assert recs.status_code == 200 and recs.json()["items"][0]["sku"] == sku
            assert recs.json()["items"][0]["name"]  # names come from the artifact
            evidence = client.get(f"/v1/accounts/{account}/evidence/{sku}", headers=READ)
            assert evidence.status_code == 200
            body = evidence.json()
            assert body["partial"] is True and "Neo4j is unreachable" in body["notes"][0]
            assert body["peers_owning"] == live["peers_owning"]  # counts from the owned matrix
            assert all(p["first_bought"] is None for p in body["peers"])
            fused = client.get(
                f"/v1/accounts/{account}/recommendations", params={"kinds": "cross_sell,upsell"}, headers=READ
            )
            assert fused.status_code == 200 and fused.json()["partial"] is True
            assert {i["kind"] for i in fused.json()["items"]} == {"cross_sell"}
            assert "upsell and renewal need the graph" in fused.json()["notes"][0]
            new = client.get(f"/v1/accounts/{NEW_ACCOUNT}/recommendations", headers=READ)
            assert new.status_code == 503 and new.json()["code"] == "graph_unavailable"
            assert "Neo4j" in new.json()["detail"]
            metrics = client.get("/metrics").text
            assert "crossgraph_graph_up 0.0" in metrics
            # No request waited on the dead server: only the probe asked the driver anything.
            assert set(asked) <= {queries.load("ping")}
            link.warm = warm

            server.start(echo=lambda _: None)
            assert wait_for(lambda: client.get("/readyz").json()["status"] == "ready")
            # The first answers of a cold server may miss the 2 s deadline on a busy machine.
            assert wait_for(
                lambda: client.get(f"/v1/accounts/{account}/evidence/{sku}", headers=READ).json() == live
            )
            assert client.get(f"/v1/accounts/{NEW_ACCOUNT}/recommendations", headers=READ).status_code == 200
    finally:
        server.stop()
