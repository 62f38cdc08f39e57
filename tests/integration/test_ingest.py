"""Loading into a real Neo4j: idempotent, increments counted once, bad input writes nothing."""

from __future__ import annotations

import csv
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from crossgraph.errors import InvalidRows
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import load_directory
from crossgraph.graph.schema import graph_stats, init_schema
from tests.conftest import FIXTURES
from tests.integration.snapshot import snapshot

pytestmark = pytest.mark.neo4j

BOUGHT = (
    "MATCH (a:Account {id: $account})-[b:BOUGHT]->(p:Product {sku: $sku}) "
    "RETURN b.orders AS orders, b.quantity AS quantity, b.revenue AS revenue, "
    "b.first_at AS first_at, b.last_at AS last_at, size(b.line_ids) AS lines"
)


def bought(graph: Graph, account: str, sku: str) -> dict[str, object]:
    rows = graph.write_text(BOUGHT, {"account": account, "sku": sku})
    assert len(rows) == 1, f"expected one BOUGHT {account}->{sku}, found {len(rows)}"
    row = rows[0]
    for key in ("first_at", "last_at"):
        row[key] = row[key].to_native()
    return row


def test_schema_init_twice_is_harmless(graph: Graph) -> None:
    first = init_schema(graph)
    second = init_schema(graph)
    assert first == second
    assert {"account_id", "product_sku", "asset_serial", "contract_id", "event_id"} <= set(first)


def test_load_builds_the_graph_model(graph: Graph) -> None:
    report = load_directory(graph, FIXTURES / "small")
    stats = graph_stats(graph)
    assert stats.nodes == {"Account": 4, "Product": 8, "Asset": 4, "Contract": 2, "Event": 2, "Category": 6}
    assert stats.relationships == {
        "BOUGHT": 9,
        "PART_OF": 1,
        "IN_CATEGORY": 8,
        "FITS": 6,
        "UPGRADES_TO": 2,
        "OWNS": 4,
        "OF_MODEL": 4,
        "HAS_CONTRACT": 2,
        "COVERS": 2,
        "FOR_PRODUCT": 2,
        "HAD_EVENT": 2,
        "ABOUT": 1,
    }
    assert report.new_lines == 11 and report.pairs == 9
    # Two lines of the same order for the same product: one order, summed quantity.
    assert bought(graph, "A4", "C-1") == {
        "orders": 1,
        "quantity": 25.0,
        "revenue": 1137.5,
        "lines": 2,
        "first_at": datetime(2022, 9, 9),
        "last_at": datetime(2022, 9, 9),
    }


def test_loading_twice_changes_nothing(graph: Graph) -> None:
    load_directory(graph, FIXTURES / "small")
    before = snapshot(graph)
    again = load_directory(graph, FIXTURES / "small")
    assert again.new_lines == 0 and again.known_lines == 11
    assert snapshot(graph) == before


def test_increment_counts_each_order_line_once(graph: Graph) -> None:
    load_directory(graph, FIXTURES / "small")
    report = load_directory(graph, FIXTURES / "increment")
    # L4 and L5 were loaded before; L12..L15 are new.
    assert (report.new_lines, report.known_lines) == (4, 2)
    assert bought(graph, "A1", "C-1") == {
        "orders": 3,
        "quantity": 32.0,
        "revenue": 1456.0,
        "lines": 4,
        "first_at": datetime(2022, 6, 15, 10, 30),
        "last_at": datetime(2024, 2, 1),
    }
    assert bought(graph, "A1", "P-10")["quantity"] == 1.0
    assert bought(graph, "A5", "M-100")["orders"] == 1
    assert graph_stats(graph).relationships["BOUGHT"] == 11
    # The increment's accounts.csv holds only A5: the others keep their properties.
    assert (
        graph.write_text("MATCH (a:Account {id: 'A3'}) RETURN a.name AS name")[0]["name"]
        == "Kessler Metallbau AG"
    )
    before = snapshot(graph)
    load_directory(graph, FIXTURES / "increment")
    assert snapshot(graph) == before


def copy_fixture(tmp_path: Path) -> Path:
    target = tmp_path / "load"
    shutil.copytree(FIXTURES / "small", target)
    return target


def append(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


BAD_INPUTS = {
    "missing column": ("assets.csv", None, "installed_at"),
    "unparsable date": ("purchases.csv", "L99,O99,A1,C-1,1,45,2024-13-01", "ordered_at"),
    "unparsable number": ("purchases.csv", "L99,O99,A1,C-1,many,45,2024-01-01", "quantity"),
    "unknown account": ("purchases.csv", "L99,O99,A404,C-1,1,45,2024-01-01", "account_id"),
    "unknown sku": ("purchases.csv", "L99,O99,A1,NOPE,1,45,2024-01-01", "sku"),
    "conflicting duplicate": ("purchases.csv", "L1,O1,A1,M-100,1,99999,2022-03-01", None),
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_leaves_the_graph_exactly_as_it_was(graph: Graph, tmp_path: Path, kind: str) -> None:
    load_directory(graph, FIXTURES / "small")
    before = snapshot(graph)
    folder = copy_fixture(tmp_path)
    filename, line, column = BAD_INPUTS[kind]
    # New rows that would change the graph if anything were written:
    append(folder / "accounts.csv", "A9,New Account,plastics,US,mid,,")
    append(folder / "purchases.csv", "L98,O98,A9,C-1,1,45,2024-01-01")
    if line is None:
        text = (folder / filename).read_text().splitlines()
        header = text[0].split(",")
        assert column is not None
        position = header.index(column)
        rows = [",".join(c for i, c in enumerate(r.split(",")) if i != position) for r in text]
        (folder / filename).write_text("\n".join(rows) + "\n")
    else:
        append(folder / filename, line)
    with pytest.raises(InvalidRows) as caught:
        load_directory(graph, folder)
    problem = caught.value.problems[0]
    assert problem.file == filename
    assert problem.column == column
    expected_line = 1 if line is None else len((folder / filename).read_text().splitlines())
    assert problem.line == expected_line
    assert "nothing was written" in str(caught.value)
    assert snapshot(graph) == before


def test_skip_invalid_loads_valid_rows_and_writes_rejects(graph: Graph, tmp_path: Path) -> None:
    folder = copy_fixture(tmp_path)
    append(folder / "purchases.csv", "L99,O99,A404,C-1,1,45,2024-01-01")
    append(folder / "purchases.csv", "L100,O99,A1,C-1,x,45,2024-01-01")
    rejects = tmp_path / "out" / "rejects.csv"
    report = load_directory(graph, folder, skip_invalid=True, rejects_path=rejects)
    assert report.rejected == 2 and report.new_lines == 11
    with rejects.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["file"], r["line"], r["column"]) for r in rows] == [
        ("purchases.csv", "14", "quantity"),
        ("purchases.csv", "13", "account_id"),
    ]
    assert "unknown account 'A404'" in rows[1]["problem"]


def test_references_resolve_against_the_graph(graph: Graph, tmp_path: Path) -> None:
    """An increment of order lines alone may name accounts and products loaded earlier."""
    load_directory(graph, FIXTURES / "small")
    folder = tmp_path / "only_purchases"
    folder.mkdir()
    (folder / "purchases.csv").write_text(
        "line_id,order_id,account_id,sku,quantity,revenue,ordered_at\nL50,O50,A2,T-1,1,1800,2024-06-01\n"
    )
    report = load_directory(graph, folder)
    assert report.new_lines == 1
    assert bought(graph, "A2", "T-1")["revenue"] == 1800.0
