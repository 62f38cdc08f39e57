"""`crossgraph load --initial`: Neo4j's offline importer gives the graph the transactional
load gives, ledgers included, and only into an empty database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crossgraph.data.demo import generate_demo
from crossgraph.errors import InvalidInput
from crossgraph.graph.bulk import load_directory_initial, local_server
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import load_directory
from crossgraph.graph.schema import graph_stats
from crossgraph.settings import Settings

pytestmark = pytest.mark.neo4j

NODES = "MATCH (n) RETURN labels(n) AS labels, properties(n) AS properties"
RELATIONSHIPS = (
    "MATCH (a)-[r]->(b) RETURN type(r) AS type, properties(r) AS properties, "
    "coalesce(a.id, a.sku, a.serial, a.name) AS start, coalesce(b.id, b.sku, b.serial, b.name) AS end"
)


def everything(settings: Settings) -> dict[str, Any]:
    """Counts per label and type, every node's and relationship's properties, the schema."""
    with Graph.connect(settings) as graph:
        nodes = sorted(
            repr((sorted(r["labels"]), sorted(r["properties"].items()))) for r in graph.write_text(NODES)
        )
        rels = sorted(
            repr((r["type"], r["start"], r["end"], sorted(r["properties"].items())))
            for r in graph.write_text(RELATIONSHIPS)
        )
        schema = sorted(r["name"] for r in graph.read("show_schema"))
        return {
            "stats": graph_stats(graph).as_dict(),
            "nodes": nodes,
            "relationships": rels,
            "schema": schema,
        }


def test_initial_load_gives_the_graph_of_the_transactional_load(
    graph: Graph, neo4j_settings: Settings, tmp_path: Path
) -> None:
    if not neo4j_settings.uses_local_server:
        pytest.skip("the offline importer writes the local server's store")
    demo = tmp_path / "demo"
    generate_demo(demo, accounts=60, seed=5)  # every table, parents, categories, fits
    transactional = load_directory(graph, demo)
    expected = everything(neo4j_settings)
    graph.write_autocommit("delete_all")

    bulk = load_directory_initial(neo4j_settings, demo, batch_size=500)

    assert bulk.rows == transactional.rows
    assert (bulk.new_lines, bulk.known_lines, bulk.pairs) == (
        transactional.new_lines,
        transactional.known_lines,
        transactional.pairs,
    )
    got = everything(neo4j_settings)
    assert got["stats"] == expected["stats"]
    assert got["stats"]["relationships"]["BOUGHT"] == transactional.pairs
    assert got["schema"] == expected["schema"]
    assert got["nodes"] == expected["nodes"]
    assert got["relationships"] == expected["relationships"]  # BOUGHT ledgers and aggregates too

    # The imported ledgers count each line once: loading the same files again adds nothing.
    with Graph.connect(neo4j_settings) as again:
        reload = load_directory(again, demo)
    assert (reload.new_lines, reload.known_lines) == (0, transactional.new_lines)
    assert everything(neo4j_settings) == expected


def test_initial_load_refuses_a_database_that_holds_anything(
    graph: Graph, neo4j_settings: Settings, tmp_path: Path
) -> None:
    fixtures = Path(__file__).parents[1] / "fixtures"
    load_directory(graph, fixtures / "small")
    before = everything(neo4j_settings)
    with pytest.raises(InvalidInput, match=r"only into an empty database; this one holds 4 Account"):
        load_directory_initial(neo4j_settings, fixtures / "increment")
    assert everything(neo4j_settings) == before


def test_initial_load_needs_the_local_server() -> None:
    with pytest.raises(InvalidInput, match="needs the project's local server"):
        local_server(Settings(neo4j_uri="bolt://db.example:7687"))
