"""The files and rows `load --initial` hands to Neo4j's offline importer."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from crossgraph.data.orderlines import OrderLines
from crossgraph.errors import InvalidInput
from crossgraph.graph.bulk_files import (
    BOUGHT_HEADER,
    LINKS,
    NODES,
    bought_table,
    change_rows,
    node_rows,
    relationship_rows,
    write_bought,
    write_import_files,
)
from crossgraph.graph.changes import ChangeKind, load_changes
from crossgraph.graph.ingest import PairLines

KEYS = ("line_id", "order_id", "account_id", "sku", "quantity", "revenue", "ordered_at")


def pairs(*rows: tuple[str, str, str, str, float, float, str]) -> PairLines:
    return PairLines.group(OrderLines.from_rows(dict(zip(KEYS, row, strict=True)) for row in rows))


def test_one_row_per_pair_with_its_ledger_and_the_aggregates_create_purchases_writes(tmp_path: Path) -> None:
    path = tmp_path / "bought.csv"
    write_bought(
        path,
        pairs(
            ("L1", "O1", "A1", "P1", 1.0, 0.1, "2024-01-03 10:30:00"),
            ("L2", "O2", "A1", "P1", 2.0, 0.2, "2024-01-01 00:00:00"),
            ("L3", "O2", "A2", "P1", 3.0, 30.0, "2024-01-02 00:00:00"),
        ),
    )
    with path.open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert header == list(BOUGHT_HEADER)
    assert rows == [
        ["A1", "P1", "L1\x1fL2", "O1\x1fO2", "1704277800\x1f1704067200", "1\x1f2", "0.1\x1f0.2", "2", "3",
         repr(0.1 + 0.2), "2024-01-01T00:00:00", "2024-01-03T10:30:00"],
        ["A2", "P1", "L3", "O2", "1704153600", "3", "30", "1", "3", "30", "2024-01-02T00:00:00",
         "2024-01-02T00:00:00"],
    ]  # fmt: skip


def test_doubles_are_written_as_text_that_parses_back_to_the_same_value() -> None:
    values = np.array([0.1, 1 / 3, 1e20, 5e-324, -0.0, 123456789.125, 2.5e-7])
    lines = [(f"L{i}", "O1", "A1", f"P{i}", v, v, "2024-01-01 00:00:00") for i, v in enumerate(values)]
    table = bought_table(pairs(*lines))
    assert [float(t) for t in table.column("line_quantities:double[]").to_pylist()] == values.tolist()
    assert [float(t) for t in table.column("revenue:double").to_pylist()] == values.tolist()


def test_an_id_with_the_field_delimiter_or_a_quote_is_quoted_and_reads_back_whole(tmp_path: Path) -> None:
    path = tmp_path / "bought.csv"
    write_bought(path, pairs(('L1,"x"', "O1", "A1", "P1", 1.0, 1.0, "2024-01-01 00:00:00")))
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][2] == 'L1,"x"'


@pytest.mark.parametrize("line_id", ["L1\nL2", "L1\x1fL2"])
def test_an_id_the_importer_would_split_or_break_is_refused_by_name(line_id: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="load without --initial") as raised:
        write_bought(
            tmp_path / "bought.csv", pairs((line_id, "O1", "A1", "P1", 1.0, 1.0, "2024-01-01 00:00:00"))
        )
    assert repr(line_id) in str(raised.value)


def test_a_contract_links_each_covered_product_once_and_a_missing_product_not_at_all() -> None:
    contracts = [
        {"id": "C1", "account_id": "A1", "covers": ["M1", "M2", "M1"], "sku": "S1"},
        {"id": "C2", "account_id": "A1", "covers": None, "sku": None},
    ]
    links = {link.type: relationship_rows(link, contracts) for link in LINKS["contracts"]}
    assert links["HAS_CONTRACT"] == (
        [":START_ID(Account)", ":END_ID(Contract)"],
        [["A1", "C1"], ["A1", "C2"]],
    )
    assert links["COVERS"][1] == [["C1", "M1"], ["C1", "M2"]]  # MERGE's one link per product
    assert links["FOR_PRODUCT"][1] == [["C1", "S1"]]


def test_node_properties_are_written_as_the_upsert_sets_them() -> None:
    header, rows = node_rows(
        NODES["assets"],
        [{"serial": "S1", "installed_at": date(2024, 2, 29), "utilization": 0.1, "config": None}],
    )
    assert header == ["serial:ID(Asset)", "installed_at:date", "utilization:double", "config"]
    assert rows == [["S1", "2024-02-29", "0.1", None]]  # None: no property, as SET to null
    _, accounts = node_rows(NODES["accounts"], [{"id": "A1", "name": "Acme", "country": "DE"}])
    assert accounts == [["A1", "Acme", None, "DE", None, None, "DE"]]  # segment: coalesce(industry, country)


def test_the_change_feed_numbers_the_changes_record_load_would_record() -> None:
    changed: dict[ChangeKind, list[str]] = {"accounts": ["A1", "A2", "A3"], "purchases": ["A2", "A2"]}
    (_, feed), (_, changes) = change_rows(changed, datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert load_changes(changed, chunk=2) == [
        ("accounts", ["A1", "A2"]),
        ("accounts", ["A3"]),
        ("purchases", ["A2"]),
    ]
    assert feed == [["changes", 2]]
    assert [row[:3] for row in changes] == [
        [1, "A1", "accounts"],
        [1, "A2", "accounts"],
        [1, "A3", "accounts"],
        [2, "A2", "purchases"],
    ]
    assert changes[0][3] == "2026-12-01T12:00:00.000000Z"


@pytest.mark.parametrize("text", ["new\nsite", "new\r\nsite", "new\rsite"], ids=["LF", "CRLF", "CR"])
def test_only_files_with_a_line_break_are_read_in_the_importers_multi_line_mode(
    tmp_path: Path, text: str
) -> None:
    rows = {
        "accounts": [{"id": "A1", "name": "Acme"}],
        "products": [{"sku": "P1", "name": "Pump"}],
        "events": [{"id": "E1", "account_id": "A1", "type": "growth", "text": text, "sku": "P1"}],
    }
    files = write_import_files(tmp_path, rows, pairs(("L1", "O1", "A1", "P1", 1.0, 1.0, "2024-01-01")))
    assert files.multiline == [tmp_path / "events.csv"]
    assert [name for name, _ in files.nodes] == ["Account", "Product", "Event"]
    assert [name for name, _ in files.relationships] == ["HAD_EVENT", "ABOUT", "BOUGHT"]
