"""Loading into a real Neo4j: idempotent, increments counted once, bad input writes nothing."""

from __future__ import annotations

import csv
import shutil
import threading
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crossgraph.data.demo import generate_demo
from crossgraph.data.orderlines import OrderLines
from crossgraph.data.tables import ACCOUNTS
from crossgraph.errors import Conflict, InvalidRows
from crossgraph.graph import ingest, queries
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import LoadReport, PairLines, load_directory, load_records
from crossgraph.graph.schema import graph_stats, init_schema
from tests.conftest import FIXTURES
from tests.integration.meddle import meddle_with_ledgers
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


def test_schema_init_drops_the_index_no_query_reads(graph: Graph) -> None:
    # Graphs loaded before 2026-12 hold a BOUGHT index on last_at that every ledger write kept up.
    graph.write_text("CREATE INDEX bought_last_at IF NOT EXISTS FOR ()-[b:BOUGHT]-() ON (b.last_at)")
    assert "bought_last_at" not in init_schema(graph)


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
    "own parent": ("accounts.csv", "A8,Loop Ltd,plastics,US,mid,,A8", "parent_id"),
    "unknown parent": ("accounts.csv", "A8,Orphan Ltd,plastics,US,mid,,A404", "parent_id"),
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


def test_parent_cycles_in_the_file_are_refused_with_every_row_on_them(graph: Graph, tmp_path: Path) -> None:
    folder = copy_fixture(tmp_path)
    for row in ("A7,Seven,,,,,A8", "A8,Eight,,,,,A9", "A9,Nine,,,,,A7", "A6,Six,,,,,A7"):
        append(folder / "accounts.csv", row)
    with pytest.raises(InvalidRows) as caught:
        load_directory(graph, folder)
    # A6 hangs below the cycle without being on it; with A7's row refused, its parent is unknown.
    assert [(p.line, p.column, p.problem) for p in caught.value.problems] == [
        *[(line, "parent_id", "parent cycle 'A7' -> 'A8' -> 'A9' -> 'A7'") for line in (6, 7, 8)],
        (9, "parent_id", "unknown account 'A7' (not in accounts.csv nor in the graph)"),
    ]
    assert graph_stats(graph).nodes == {}


def test_a_parent_that_closes_a_cycle_with_the_graph_is_refused(graph: Graph, tmp_path: Path) -> None:
    """An increment may hold only some accounts: the cycle check follows the graph's PART_OF too."""
    load_directory(graph, FIXTURES / "small")  # A3 is part of A1
    before = snapshot(graph)
    folder = tmp_path / "increment"
    folder.mkdir()
    (folder / "accounts.csv").write_text(
        "id,name,parent_id\nA5,Westbay Plastics Inc,A3\nA1,Nordhafen Packaging GmbH,A5\n"
    )
    with pytest.raises(InvalidRows) as caught:
        load_directory(graph, folder)
    assert [(p.line, p.column) for p in caught.value.problems] == [(2, "parent_id"), (3, "parent_id")]
    assert (
        caught.value.problems[0].problem == "parent cycle 'A5' -> 'A3' -> 'A1' -> 'A5' (partly in the graph)"
    )
    assert snapshot(graph) == before
    # Moving A3 out from under A1 in the same file breaks the cycle: the load is accepted.
    append(folder / "accounts.csv", "A3,Kessler Metallbau AG,")
    load_directory(graph, folder)
    parents = graph.write_text("MATCH (a:Account)-[:PART_OF]->(p) RETURN a.id AS a, p.id AS p ORDER BY a")
    assert [(r["a"], r["p"]) for r in parents] == [("A1", "A5"), ("A5", "A3")]


def test_a_refused_row_keeps_its_graph_parent_which_may_close_another_cycle(
    graph: Graph, tmp_path: Path
) -> None:
    first, increment = tmp_path / "first", tmp_path / "increment"
    first.mkdir()
    increment.mkdir()
    (first / "accounts.csv").write_text("id,name,parent_id\nS,Group,\nR,Subsidiary,S\n")
    load_directory(graph, first)
    before = snapshot(graph)
    # R <-> X is a cycle; S -> R only hangs below it. Refusing R's row keeps R part of S in
    # the graph, and then S -> R -> S is a cycle too.
    (increment / "accounts.csv").write_text("id,name,parent_id\nR,Subsidiary,X\nX,Other,R\nS,Group,R\n")
    with pytest.raises(InvalidRows) as caught:
        load_directory(graph, increment)
    assert [(p.line, p.problem) for p in caught.value.problems] == [
        (2, "parent cycle 'R' -> 'X' -> 'R'"),
        (3, "parent cycle 'R' -> 'X' -> 'R'"),
        (4, "parent cycle 'S' -> 'R' -> 'S' (partly in the graph)"),
    ]
    assert snapshot(graph) == before


def test_accounts_posted_through_the_api_path_are_checked_for_parent_cycles(graph: Graph) -> None:
    load_directory(graph, FIXTURES / "small")  # A3 is part of A1
    before = snapshot(graph)
    body = [{"id": "A1", "name": "Nordhafen Packaging GmbH", "parent_id": "A3"}]
    with pytest.raises(
        InvalidRows, match=r"body\.accounts item 1, column 'parent_id': parent cycle 'A1' -> 'A3'"
    ):
        load_records(graph, ACCOUNTS, "body.accounts", body)
    assert snapshot(graph) == before


def test_skip_invalid_rejects_the_rows_of_a_parent_cycle(graph: Graph, tmp_path: Path) -> None:
    folder = copy_fixture(tmp_path)
    append(folder / "accounts.csv", "A8,Eight,,,,,A8")
    append(folder / "purchases.csv", "L99,O99,A8,C-1,1,45,2024-01-01")
    report = load_directory(graph, folder, skip_invalid=True, rejects_path=tmp_path / "rejects.csv")
    assert report.rejected == 2 and report.rows["accounts"] == 4
    with (tmp_path / "rejects.csv").open() as handle:
        problems = [r["problem"] for r in csv.DictReader(handle)]
    assert problems == [
        "account 'A8' is its own parent",
        "unknown account 'A8' (not in accounts.csv nor in the graph)",
    ]
    assert graph.write_text("MATCH (a:Account)-[r:PART_OF]->(a) RETURN count(r) AS loops")[0]["loops"] == 0


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


def reports(*loaded: LoadReport) -> list[tuple[int, int, int]]:
    return [(r.new_lines, r.known_lines, r.pairs) for r in loaded]


def purchases_of(graph: Graph) -> list[str]:
    return [r for r in snapshot(graph)["relationships"] if r.startswith("('BOUGHT'")]


@pytest.mark.parametrize("writers", [1, 3])
def test_loads_in_parts_give_the_graph_one_load_gives(graph: Graph, tmp_path: Path, writers: int) -> None:
    """Pairs new to the graph are created, pairs in it have their ledgers extended: loading the
    order lines in overlapping parts (new accounts, new products for known accounts, known pairs
    with new and known lines) ends with every BOUGHT, ledger and aggregate exactly as loading
    them all at once."""
    steps = overlapping_loads(tmp_path)
    in_parts, _ = load_all(graph, steps, writers=writers)
    parts = purchases_of(graph)
    (at_once,), _ = load_all(graph, steps[-1:])
    assert parts == purchases_of(graph)
    assert in_parts[0][1] == 0 and in_parts[1][1] > 0 and in_parts[1][0] > 0  # known and new lines
    assert in_parts[2][0] == 0  # the last part held nothing new
    assert sum(new for new, _, _ in in_parts) == at_once[0]


def test_a_ledger_changed_at_every_run_of_a_load_is_a_conflict_and_a_later_load_completes_it(
    graph: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ledger extended by someone else between the load's read and its write is left alone
    (no aggregates that miss a line); when that happens at each of its runs, the load says so
    (409 through the API), and running it again later counts every line once."""
    load_directory(graph, FIXTURES / "small")
    meddled = meddle_with_ledgers(monkeypatch, times=99)
    with pytest.raises(Conflict, match="changed while the load ran"):
        load_directory(graph, FIXTURES / "increment")
    assert len(meddled) == ingest.OVERLAP_ATTEMPTS
    assert bought(graph, "A1", "C-1")["lines"] == 2 + len(meddled)  # small's two, the meddler's
    monkeypatch.undo()
    report = load_directory(graph, FIXTURES / "increment")
    assert bought(graph, "A1", "C-1")["lines"] == 4 + len(meddled)
    assert report.new_lines == 2  # L12, L13; the other increment lines went in before the conflict


def test_a_load_overlapped_by_another_write_reruns_its_purchases_and_counts_every_line_once(
    graph: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """write_purchases (crossgraph load, import online-retail, POST /v1/purchases) meets the same
    meddler as above, once: the load completes on its own, its report counts the first run's
    lines as new, and names every account the two runs wrote."""
    load_directory(graph, FIXTURES / "small")
    meddled = meddle_with_ledgers(monkeypatch, times=1)
    report = load_directory(graph, FIXTURES / "increment")
    assert meddled and bought(graph, "A1", "C-1")["lines"] == 5
    known = {r["line_id"] for r in csv.DictReader((FIXTURES / "small" / "purchases.csv").open())}
    increment = list(csv.DictReader((FIXTURES / "increment" / "purchases.csv").open()))
    assert report.new_lines == sum(r["line_id"] not in known for r in increment)
    assert report.known_lines == len(increment) - report.new_lines
    assert set(report.changed["purchases"]) == {
        r["account_id"] for r in increment if r["line_id"] not in known
    }
    again = load_directory(graph, FIXTURES / "increment")
    assert (again.new_lines, bought(graph, "A1", "C-1")["lines"]) == (0, 5)


def writes_at_once(graph: Graph, query: str, first: dict[str, Any], second: dict[str, Any]) -> dict[str, int]:
    """`query` with `first` in an open transaction, then with `second` in another one while the
    first is still open; the first commits a second later. The second's counts."""
    with (
        graph.driver.session(database=graph.database) as one,
        graph.driver.session(database=graph.database) as two,
    ):
        early = one.begin_transaction()
        early.run(queries.load(query), first).consume()
        late: dict[str, int] = {}

        def run_late() -> None:
            with two.begin_transaction() as tx:
                late.update(tx.run(queries.load(query), second).single(strict=True).data())
                tx.commit()

        thread = threading.Thread(target=run_late)
        thread.start()
        thread.join(1.0)  # it waits for the first one's locks, or (without them) finishes
        early.commit()
        thread.join()
    return late


def test_two_transactions_writing_the_same_pair_at_once_never_count_a_line_twice(graph: Graph) -> None:
    """The checks of create_purchases (no BOUGHT yet) and extend_purchases (ledger length as
    read) hold for a transaction still open, not just a committed one: the second writer
    waits for the first one's lock, then finds the pair taken or the ledger grown and leaves
    it (the load's rerun appends its lines)."""
    load_directory(graph, FIXTURES / "small")
    one = PairLines.group(order_lines([("N1", "ON", "A3", "T-1", 1.0, 5.0, "2024-06-01 00:00:00")]))
    other = PairLines.group(order_lines([("N2", "ON", "A3", "T-1", 2.0, 7.0, "2024-06-02 00:00:00")]))
    (first, _), (second, _) = next(one.batches(10)), next(other.batches(10))
    assert writes_at_once(graph, "create_purchases", first, second) == {"lines": 0, "taken": 1}
    assert bought(graph, "A3", "T-1")["lines"] == 1  # one BOUGHT, the first writer's line

    (found,) = graph.read_values("existing_purchase_pairs", {"accounts": ["A3"], "skus": [["T-1"]]})
    bought_ids = found["bought"]
    later = [order_lines([(n, "OL", "A3", "T-1", 1.0, 1.0, "2024-07-01 00:00:00")]) for n in ("N3", "N4")]
    first, second = (
        next(ingest.ledger_extensions(graph, PairLines.group(lines), np.array(bought_ids, dtype=object), 10))[
            0
        ]
        for lines in later
    )
    assert writes_at_once(graph, "extend_purchases", first, second) == {"lines": 0}
    assert bought(graph, "A3", "T-1")["lines"] == 2  # N1, N3: the second writer's N4 waits for a rerun


def overlapping_loads(tmp_path: Path) -> list[Path]:
    """Three demo folders to load in turn: the first half of the purchases, the last two thirds
    (overlapping it), then all of them."""
    demo = tmp_path / "demo"
    generate_demo(demo, accounts=40, seed=3)
    lines = (demo / "purchases.csv").read_text().splitlines()
    header, body = lines[0], lines[1:]
    steps = []
    for name, part in (("first", body[: len(body) // 2]), ("overlap", body[len(body) // 3 :]), ("all", body)):
        folder = tmp_path / name
        shutil.copytree(demo, folder)
        (folder / "purchases.csv").write_text("\n".join([header, *part]) + "\n")
        steps.append(folder)
    return steps


def load_all(
    graph: Graph, steps: list[Path], writers: int = 1
) -> tuple[list[tuple[int, int, int]], dict[str, list[str]]]:
    graph.write_autocommit("delete_all")
    init_schema(graph)
    loaded = [load_directory(graph, folder, batch_size=300, writers=writers) for folder in steps]
    return reports(*loaded), snapshot(graph)


def test_concurrent_writers_give_the_graph_one_writer_gives(graph: Graph, tmp_path: Path) -> None:
    """New pairs are created by several transactions at once (batches of 300 lines: dozens in
    flight); every line is counted once and the graph is the one a single writer gives."""
    steps = overlapping_loads(tmp_path)
    one = load_all(graph, steps)
    three = load_all(graph, steps, writers=3)
    assert three == one
    assert one[0][0][0] > 0  # the first load created pairs


def test_a_failed_write_stops_the_writers_and_is_raised(
    graph: Graph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder, *_) = overlapping_loads(tmp_path)
    calls: list[str] = []
    write = Graph.write

    def failing(self: Graph, name: str, params: object = None) -> list[dict[str, object]]:
        if name == "create_purchases":
            calls.append(name)
            if len(calls) == 3:
                raise RuntimeError("the server went away")
        return write(self, name, params)  # type: ignore[arg-type]

    monkeypatch.setattr(Graph, "write", failing)
    with pytest.raises(RuntimeError, match="the server went away"):
        load_directory(graph, folder, batch_size=50, writers=2)
    lines = ingest.read_directory(folder)["purchases"].order_lines()
    batches = sum(1 for _ in PairLines.group(lines).batches(50))
    assert 3 <= len(calls) < batches  # the batches not yet started were dropped


LINE_KEYS = ("line_id", "order_id", "account_id", "sku", "quantity", "revenue", "ordered_at")


def order_lines(rows: list[tuple[Any, ...]]) -> OrderLines:
    """Order lines from tuples in LINE_KEYS order."""
    return OrderLines.from_rows(dict(zip(LINE_KEYS, row, strict=True)) for row in rows)


def test_pair_lines_group_lines_by_account_and_product_in_file_order() -> None:
    rows = [
        ("L1", "O1", "A2", "P1", 1.0, 10.0, "2024-01-03 00:00:00"),
        ("L2", "O1", "A1", "P2", 2.0, 20.0, "2024-01-01 00:00:00"),
        ("L3", "O2", "A2", "P1", 3.0, 30.0, "2024-01-02 00:00:00"),
        ("L4", "O2", "A1", "P1", 4.0, 40.0, "2024-01-04 00:00:00"),
        ("L5", "O2", "A2", "P1", 5.0, 50.0, "2024-01-05 00:00:00"),
        ("L6", "O3", "A3", "P2", 6.0, 60.0, "2024-01-06 00:00:00"),
    ]
    pairs = PairLines.group(order_lines(rows))
    assert list(zip(pairs.account, pairs.sku, strict=True)) == [
        ("A2", "P1"),
        ("A1", "P1"),
        ("A1", "P2"),
        ("A3", "P2"),
    ]
    (whole, count), *rest = pairs.batches(100)
    assert rest == [] and count == 6
    assert whole["offsets"] == [0, 3, 4, 5, 6]
    assert whole["line_ids"] == ["L1", "L3", "L5", "L4", "L2", "L6"]
    assert whole["orders"] == [2, 1, 1, 1]
    assert whole["quantity"] == [9.0, 4.0, 2.0, 6.0]
    assert whole["revenue"] == [90.0, 40.0, 20.0, 60.0]
    day = 86400
    assert whole["first_at"] == [19724 * day, 19726 * day, 19723 * day, 19728 * day]
    assert whole["last_at"] == [19727 * day, 19726 * day, 19723 * day, 19728 * day]
    # Each batch lists its accounts and products once; batches are cut between accounts only.
    assert (whole["accounts"], whole["account_pairs"]) == (["A2", "A1", "A3"], [0, 1, 3, 4])
    assert [whole["products"][k] for k in whole["product_of_pair"]] == ["P1", "P1", "P2", "P2"]
    assert [(b["accounts"], n) for b, n in pairs.batches(2)] == [(["A2"], 3), (["A1"], 2), (["A3"], 1)]
    kept = pairs.select(np.array([False, True, False, True]))
    (part, count), *_ = kept.batches(100)
    assert (part["accounts"], part["account_pairs"]) == (["A1", "A3"], [0, 1, 2])
    assert part["products"] == ["P1", "P2"]
    assert (part["line_ids"], part["order_ids"], part["offsets"]) == (["L4", "L6"], ["O2", "O3"], [0, 1, 2])
    assert (part["quantity"], part["revenue"], part["orders"]) == ([4.0, 6.0], [40.0, 60.0], [1, 1])
    assert (part["first_at"], part["line_at"]) == ([19726 * day, 19728 * day], [19726 * day, 19728 * day])
    assert count == 2


def test_lines_of_accounts_or_products_missing_from_the_graph_are_left_out(graph: Graph) -> None:
    """Write-time lookups behave like MATCH: a pair whose account or product is not in the graph
    (deleted after the load was checked) is skipped and its lines are not counted as new."""
    load_directory(graph, FIXTURES / "small")
    rows = [
        ("L90", "O90", "A1", "GONE", 1.0, 1.0, "2024-05-01 00:00:00"),
        ("L91", "O90", "A1", "T-1", 1.0, 5.0, "2024-05-01 00:00:00"),
        ("L92", "O91", "A404", "T-1", 1.0, 7.0, "2024-05-02 00:00:00"),
        ("L93", "O92", "A3", "T-1", 2.0, 9.0, "2024-05-03 00:00:00"),
    ]
    lines = order_lines(rows)
    report = LoadReport()
    ingest.write_purchases(graph, lines, report, batch_size=5000)
    assert (report.new_lines, report.known_lines) == (2, 2)
    assert bought(graph, "A1", "T-1")["lines"] == 2  # L2 from the fixture, L91
    assert bought(graph, "A3", "T-1")["revenue"] == 9.0
    assert graph_stats(graph).relationships["BOUGHT"] == 10


def test_link_product_fits_replaces_stale_fits_and_is_idempotent(graph: Graph) -> None:
    load_directory(graph, FIXTURES / "small")

    def fits(sku: str) -> list[str]:
        rows = graph.write_text(
            "MATCH (:Product {sku: $sku})-[:FITS]->(m) RETURN m.sku AS m ORDER BY m", {"sku": sku}
        )
        return [r["m"] for r in rows]

    assert fits("P-10") == ["M-100", "M-100P"]
    rows = [{"sku": "P-10", "fits": ["M-100P"]}, {"sku": "C-1", "fits": None}]
    for _ in range(2):
        graph.write("link_product_fits", {"rows": rows})
        assert fits("P-10") == ["M-100P"]
        assert fits("C-1") == []


def test_a_ledger_extended_by_new_lines_has_the_aggregates_of_one_load() -> None:
    """The aggregates an extension writes (stored ledger + new lines) are those the pair gets
    when all its lines arrive in one load, repeated orders and out-of-order dates included."""
    rows = [
        ("L1", "O1", "A1", "P1", 1.0, 10.5, "2024-01-03 00:00:00"),
        ("L2", "O2", "A1", "P1", 2.0, 20.25, "2024-01-01 00:00:00"),
        ("L3", "O9", "A2", "P1", 7.0, 70.0, "2024-03-01 00:00:00"),
        ("L4", "O2", "A1", "P1", 4.0, 40.0, "2023-12-24 08:00:00"),
        ("L5", "O3", "A1", "P1", 0.5, 5.0, "2024-02-29 12:00:00"),
        ("L6", "O9", "A2", "P1", 1.0, 1.0, "2024-03-02 00:00:00"),
    ]
    lines = order_lines(rows)
    whole = PairLines.group(lines)
    stored = PairLines.group(lines.select(np.array([True, True, True, False, False, False])))
    ledgers = {
        "line_ids": [stored.line_id[b:e].tolist() for b, e in pairwise(stored.bounds)],
        "line_orders": [stored.order_id[b:e].tolist() for b, e in pairwise(stored.bounds)],
        "line_at": [stored.line_at[b:e].tolist() for b, e in pairwise(stored.bounds)],
        "line_quantities": [stored.quantity[b:e].tolist() for b, e in pairwise(stored.bounds)],
        "line_revenues": [stored.revenue[b:e].tolist() for b, e in pairwise(stored.bounds)],
    }
    new = whole.select_lines(~np.isin(whole.line_id, stored.line_id))
    assert new.line_id.tolist() == ["L4", "L5", "L6"] and new.bounds.tolist() == [0, 2, 3]
    extended = PairLines.concat_ledgers(whole, ledgers, np.diff(stored.bounds), new)
    assert extended.line_id.tolist() == whole.line_id.tolist()
    for field in ("orders", "quantity", "revenue", "first_at", "last_at"):
        assert np.array_equal(getattr(extended.aggregates, field), getattr(whole.aggregates, field)), field
    assert extended.aggregates.orders.tolist() == [3, 1]
    assert extended.aggregates.first_at.tolist() == [whole.line_at[2], whole.line_at[4]]
