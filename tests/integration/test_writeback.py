"""Write-back into a real Neo4j: one version's SIMILAR_TO / RECOMMENDED, ranks 1..n, a rewrite
replaces the previous version's relationships (shorter lists lose the extra ones)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pytest

from crossgraph.data.matrix import IdMap
from crossgraph.graph import writeback
from crossgraph.graph.driver import Graph
from crossgraph.graph.writeback import write_back
from crossgraph.model.artifact import Artifact

pytestmark = pytest.mark.neo4j

ACCOUNTS = [f"A{i}" for i in range(7)]
PRODUCTS = [f"P{i}" for i in range(6)]


def artifact(
    version: str, peers: list[list[int]], items: list[list[int]], accounts: list[str] = ACCOUNTS
) -> Artifact:
    """What write_back reads of an artifact: rows of indices (-1 = empty slot), scores descending."""
    peer_index = np.asarray(peers, dtype=np.int32)
    item_index = np.asarray(items, dtype=np.int32)
    return cast(
        Artifact,
        SimpleNamespace(
            version=version,
            accounts=IdMap.from_array(np.asarray(accounts)),
            products=IdMap.from_array(np.asarray(PRODUCTS)),
            similar_accounts=peer_index,
            similar_scores=np.tile(
                np.linspace(0.9, 0.1, peer_index.shape[1], dtype=np.float32), (len(peers), 1)
            ),
            recommended=item_index,
            recommended_scores=np.tile(
                np.linspace(5.0, 1.0, item_index.shape[1], dtype=np.float32), (len(items), 1)
            ),
            manifest={"metrics": {"served_params": {"als": {"factors": 8}}}},
        ),
    )


def edges(graph: Graph, rel: str) -> dict[str, list[tuple[str, int, float, str]]]:
    """Per account: (target, rank, score, version) in rank order."""
    key = "id" if rel == "SIMILAR_TO" else "sku"
    rows = graph.write_text(
        f"MATCH (a:Account)-[r:{rel}]->(t) "
        f"RETURN a.id AS a, t.{key} AS t, r.rank AS rank, r.score AS score, r.model_version AS v "
        "ORDER BY a, rank"
    )
    out: dict[str, list[tuple[str, int, float, str]]] = {}
    for row in rows:
        out.setdefault(row["a"], []).append((row["t"], row["rank"], round(row["score"], 4), row["v"]))
    return out


def relationship_ids(graph: Graph) -> dict[tuple[str, str, str], str]:
    """(type, account, target) -> the relationship's element id."""
    rows = graph.write_text(
        "MATCH (a:Account)-[r:SIMILAR_TO|RECOMMENDED]->(t) "
        "RETURN type(r) AS type, a.id AS a, coalesce(t.id, t.sku) AS t, elementId(r) AS id"
    )
    return {(row["type"], row["a"], row["t"]): row["id"] for row in rows}


def seed_graph(graph: Graph, accounts: list[str] = ACCOUNTS, products: list[str] = PRODUCTS) -> None:
    graph.write_text("UNWIND $ids AS id CREATE (:Account {id: id})", {"ids": accounts})
    graph.write_text("UNWIND $ids AS id CREATE (:Product {sku: id})", {"ids": products})


def expected(
    ids: list[str], index: list[list[int]], scores: list[float], n: int, version: str
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a, row in enumerate(index):
        kept = [(ids[i], round(float(np.float32(scores[k])), 4)) for k, i in enumerate(row[:n]) if i >= 0]
        if kept:
            out[ACCOUNTS[a]] = [(t, rank, s, version) for rank, (t, s) in enumerate(kept, start=1)]
    return out


PEERS_1 = [[1, 2, 3], [0, 2, -1], [3, 4, 5], [2, 1, 0], [5, 6, 0], [4, 6, 1], [5, 4, 3]]
ITEMS_1 = [[0, 1, 2, 3], [1, 2, 3, 4], [5, 4, 3, 2], [0, 5, -1, -1], [2, 3, 4, 5], [1, 0, 5, 4], [3, 2, 1, 0]]
PEERS_2 = [[2, 1, 3], [6, -1, -1], [3, 4, 5], [-1, -1, -1], [5, 6, 0], [0, 1, 2], [5, 4, 3]]
ITEMS_2 = [
    [1, 0, 2, 3],
    [5, -1, -1, -1],
    [5, 4, 3, 2],
    [4, 5, 0, 1],
    [-1, -1, -1, -1],
    [1, 0, 5, 4],
    [0, 1, 2, 3],
]


def test_write_back_writes_ranked_relationships_of_one_version(graph: Graph) -> None:
    seed_graph(graph)
    report = write_back(graph, artifact("v1", PEERS_1, ITEMS_1), peers=2, products=3)
    peer_scores = np.linspace(0.9, 0.1, 3, dtype=np.float32).tolist()
    item_scores = np.linspace(5.0, 1.0, 4, dtype=np.float32).tolist()
    similar = expected(ACCOUNTS, PEERS_1, peer_scores, 2, "v1")
    recommended = expected(PRODUCTS, ITEMS_1, item_scores, 3, "v1")
    assert edges(graph, "SIMILAR_TO") == similar
    assert edges(graph, "RECOMMENDED") == recommended
    assert report.similar == sum(len(v) for v in similar.values()) == 14
    assert report.recommended == sum(len(v) for v in recommended.values()) == 20
    assert graph.write_text("MATCH (m:ModelVersion) RETURN m.version AS v") == [{"v": "v1"}]


def test_rewrite_replaces_the_previous_version(graph: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writeback, "BATCH_ACCOUNTS", 3)  # several batches
    seed_graph(graph)
    write_back(graph, artifact("v1", PEERS_1, ITEMS_1), peers=3, products=4)
    # The same relationships of another version, written by hand, are replaced too.
    graph.write_text(
        "MATCH (a:Account {id: 'A6'}), (p:Product {sku: 'P5'}) "
        "CREATE (a)-[:RECOMMENDED {score: 0.5, rank: 5, model_version: 'v0'}]->(p)"
    )
    before = relationship_ids(graph)
    report = write_back(graph, artifact("v2", PEERS_2, ITEMS_2), peers=3, products=4)
    # A pair on both lists keeps its relationship, updated in place (cheaper than delete + create).
    after = relationship_ids(graph)
    kept = before.keys() & after.keys()
    assert len(kept) >= 10 and all(before[pair] == after[pair] for pair in kept)
    peer_scores = np.linspace(0.9, 0.1, 3, dtype=np.float32).tolist()
    item_scores = np.linspace(5.0, 1.0, 4, dtype=np.float32).tolist()
    similar = expected(ACCOUNTS, PEERS_2, peer_scores, 3, "v2")
    recommended = expected(PRODUCTS, ITEMS_2, item_scores, 4, "v2")
    got_similar = edges(graph, "SIMILAR_TO")
    got_recommended = edges(graph, "RECOMMENDED")
    assert got_similar == similar
    assert got_recommended == recommended
    # Shorter lists lost their extra old relationships; empty lists lost all of them.
    assert [t for t, *_ in got_similar["A1"]] == ["A6"]
    assert "A3" not in got_similar and "A4" not in got_recommended
    assert report.similar == 16 and report.recommended == 21
    versions = graph.write_text(
        "MATCH ()-[r:SIMILAR_TO|RECOMMENDED]->() RETURN collect(DISTINCT r.model_version) AS v"
    )
    assert versions == [{"v": ["v2"]}]


def test_rewrite_drops_accounts_the_new_version_lacks_and_skips_unknown_targets(graph: Graph) -> None:
    seed_graph(graph)
    write_back(graph, artifact("v1", PEERS_1, ITEMS_1), peers=3, products=4)
    # v2 knows only A0..A2 and a product that is not in the graph (P9: index 6).
    fewer = ACCOUNTS[:3]
    art = artifact("v2", [[1, 2], [0, 2], [0, 1]], [[6, 0], [1, 6], [2, 3]], accounts=fewer)
    object.__setattr__(art, "products", IdMap.from_array(np.asarray([*PRODUCTS, "P9"])))
    report = write_back(graph, art, peers=2, products=2)
    assert set(edges(graph, "SIMILAR_TO")) == {"A0", "A1", "A2"}
    recommended = edges(graph, "RECOMMENDED")
    # A missing product leaves its relationship out; the others keep their list place as rank.
    assert recommended == {
        "A0": [("P0", 2, 1.0, "v2")],
        "A1": [("P1", 1, 5.0, "v2")],
        "A2": [("P2", 1, 5.0, "v2"), ("P3", 2, 1.0, "v2")],
    }
    assert report.similar == 6 and report.recommended == 4
    versions = graph.write_text(
        "MATCH ()-[r:SIMILAR_TO|RECOMMENDED]->() RETURN collect(DISTINCT r.model_version) AS v"
    )
    assert versions == [{"v": ["v2"]}]
