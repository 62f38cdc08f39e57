"""`crossgraph load --initial`: Neo4j's offline importer gives the graph the transactional
load gives, ledgers included, and only into an empty database."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from crossgraph.data.demo import generate_demo
from crossgraph.data.orderlines import OrderLines
from crossgraph.errors import InvalidInput, Neo4jServerError
from crossgraph.graph.bulk import (
    import_online_retail_initial,
    load_directory_initial,
    local_server,
    write_initial,
)
from crossgraph.graph.changes import change_seq, record_load
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import LoadReport, import_online_retail, load_directory
from crossgraph.graph.schema import graph_stats, init_schema
from crossgraph.settings import Settings
from tests.conftest import FIXTURES

pytestmark = pytest.mark.neo4j

KEYS = ("line_id", "order_id", "account_id", "sku", "quantity", "revenue", "ordered_at")
NODES = "MATCH (n) RETURN labels(n) AS labels, properties(n) AS properties"
RELATIONSHIPS = (
    "MATCH (a)-[r]->(b) RETURN type(r) AS type, properties(r) AS properties, "
    "coalesce(a.id, a.sku, a.serial, a.name) AS start, coalesce(b.id, b.sku, b.serial, b.name) AS end"
)


def everything(settings: Settings) -> dict[str, Any]:
    """Counts per label and type, every node's and relationship's properties, the schema. A
    change's time (`at`: when it was recorded) is left out of its properties and checked to be
    a time with its zone (prune_changes compares it)."""
    with Graph.connect(settings) as graph:
        nodes = []
        for r in graph.write_text(NODES):
            properties = dict(r["properties"])
            if "Change" in r["labels"]:
                assert properties.pop("at").tzinfo is not None
            nodes.append(repr((sorted(r["labels"]), sorted(properties.items()))))
        rels = sorted(
            repr((r["type"], r["start"], r["end"], sorted(r["properties"].items())))
            for r in graph.write_text(RELATIONSHIPS)
        )
        schema = sorted(r["name"] for r in graph.read("show_schema"))
        return {
            "stats": graph_stats(graph).as_dict(),
            "nodes": sorted(nodes),
            "relationships": rels,
            "schema": schema,
        }


# Every label and relationship type `crossgraph load` writes from the demo's nine files.
LABELS = {"Account", "Product", "Category", "Asset", "Contract", "Event", "Contact", "Touchpoint"}
LABELS |= {"ChangeFeed", "Change"}
TYPES = {"BOUGHT", "PART_OF", "IN_CATEGORY", "FITS", "UPGRADES_TO", "OWNS", "OF_MODEL", "HAS_CONTRACT"}
TYPES |= {"COVERS", "FOR_PRODUCT", "HAD_EVENT", "ABOUT", "HAS_CONTACT", "HAD_TOUCHPOINT", "WITH"}


@pytest.mark.parametrize("line_breaks", [False, True], ids=["one-line-texts", "line-breaks-in-texts"])
def test_initial_load_gives_the_graph_of_the_transactional_load(
    graph: Graph, neo4j_settings: Settings, tmp_path: Path, line_breaks: bool
) -> None:
    if not neo4j_settings.uses_local_server:
        pytest.skip("the offline importer writes the local server's store")
    demo = tmp_path / "demo"
    generate_demo(demo, accounts=60, seed=5)  # every table, parents, categories, fits
    if line_breaks:  # those files go through the importer's multi-line mode
        set_first(demo / "products.csv", "name", "Filter\nkit")
        set_first(demo / "events.csv", "text", 'Called twice,\r\nthen "visited"')
        set_first(demo / "touchpoints.csv", "notes", "line one\rline two")
    transactional = load_directory(graph, demo)
    recorded = record_load(graph, transactional.changed)  # as `crossgraph load` does after it
    expected = everything(neo4j_settings)
    assert set(expected["stats"]["nodes"]) == LABELS  # so the comparison below covers each
    assert set(expected["stats"]["relationships"]) == TYPES
    assert expected["stats"]["nodes"]["Change"] == 60 + len(transactional.changed["purchases"])
    assert recorded == 2
    graph.write_autocommit("delete_all")

    bulk = load_directory_initial(neo4j_settings, demo)

    assert bulk.rows == transactional.rows
    assert (bulk.new_lines, bulk.known_lines, bulk.pairs) == (
        transactional.new_lines,
        transactional.known_lines,
        transactional.pairs,
    )
    assert bulk.changed == transactional.changed
    got = everything(neo4j_settings)
    assert got["stats"] == expected["stats"]
    assert got["stats"]["relationships"]["BOUGHT"] == transactional.pairs
    assert got["schema"] == expected["schema"]
    assert got["nodes"] == expected["nodes"]  # the texts with their line breaks, the change feed
    assert got["relationships"] == expected["relationships"]  # BOUGHT ledgers and aggregates too
    with Graph.connect(neo4j_settings) as after:
        assert change_seq(after) == recorded  # serving workers and training read the same feed

    # The imported ledgers count each line once: loading the same files again adds nothing.
    with Graph.connect(neo4j_settings) as again:
        reload = load_directory(again, demo)
    assert (reload.new_lines, reload.known_lines) == (0, transactional.new_lines)
    assert everything(neo4j_settings) == expected


def test_initial_online_retail_import_gives_the_graph_of_the_transactional_import(
    graph: Graph, neo4j_settings: Settings
) -> None:
    """`crossgraph import online-retail --initial` against the import without it (and the
    change feed it records): the same accounts, products, ledgers and change feed."""
    if not neo4j_settings.uses_local_server:
        pytest.skip("the offline importer writes the local server's store")
    path = FIXTURES / "online_retail.csv"  # cancelled, postage, no customer, a code twice in an invoice
    transactional, _ = import_online_retail(graph, path)
    record_load(graph, transactional.changed)  # as `crossgraph import online-retail` does
    expected = everything(neo4j_settings)
    assert expected["stats"]["nodes"] == {"Account": 3, "Product": 3, "ChangeFeed": 1, "Change": 3 + 3}
    assert transactional.new_lines == 6 and transactional.pairs == 5
    graph.write_autocommit("delete_all")

    bulk = import_online_retail_initial(neo4j_settings, path)

    assert (bulk.new_lines, bulk.pairs, bulk.changed) == (6, 5, transactional.changed)
    assert everything(neo4j_settings) == expected


def set_first(path: Path, column: str, value: str) -> None:
    """Set `column` of the file's first row."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rows[0][column] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_failed_import_leaves_the_database_empty_usable_and_says_so(
    graph: Graph, neo4j_settings: Settings, tmp_path: Path
) -> None:
    if not neo4j_settings.uses_local_server:
        pytest.skip("the offline importer writes the local server's store")
    # A purchase of a product the node file lacks: the importer itself refuses the relationship
    # (the checks before it would have caught this in a real load; here it reaches Neo4j).
    rows = {"accounts": [{"id": "A1"}], "products": [{"sku": "P1"}]}
    lines = OrderLines.from_rows(
        dict(zip(KEYS, line, strict=True))
        for line in [
            ("L1", "O1", "A1", "P1", 1.0, 10.0, "2024-01-01 00:00:00"),
            ("L2", "O1", "A1", "NOT-A-PRODUCT", 1.0, 10.0, "2024-01-01 00:00:00"),
        ]
    )
    server = local_server(neo4j_settings)

    with pytest.raises(Neo4jServerError) as raised:
        write_initial(server, rows, lines, LoadReport())

    message = str(raised.value)
    assert "neo4j-admin database import failed" in message
    assert "NOT-A-PRODUCT" in message  # the importer's own words on what it refused
    assert "the database is empty again; nothing was loaded" in message
    assert server.status().running
    with Graph.connect(neo4j_settings) as after:
        assert graph_stats(after).as_dict() == {"nodes": {}, "relationships": {}}
        init_schema(after)
        load_directory(after, Path(__file__).parents[1] / "fixtures" / "small")
        assert graph_stats(after).nodes["Account"] == 4
    assert not list(neo4j_settings.data_dir.glob("import-*"))  # the importer's files are gone


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
