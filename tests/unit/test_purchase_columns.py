"""The columnar read of purchases.csv: the row path's order lines on every file it takes, and
the row path itself (same problems, messages, line numbers, rejects) on every file it does not."""

from __future__ import annotations

import csv
import gzip
import random
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from crossgraph.data.orderlines import OrderLines
from crossgraph.data.purchase_columns import (
    NUMBER,
    WHITESPACE,
    clean_order_lines,
    parse_purchases,
    read_purchase_table,
)
from crossgraph.data.purchase_file import read_purchase_file
from crossgraph.data.tables import PURCHASES, ParsedTable, read_table
from crossgraph.errors import InvalidInput, InvalidRows
from crossgraph.graph import ingest

HEADER = "line_id,order_id,account_id,sku,quantity,revenue,ordered_at"
FIELDS = ("line_id", "order_id", "account_id", "sku", "quantity", "revenue", "ordered_at")
GOOD = [
    "L1,O1,A1,M-1,2,10.5,2024-01-02 03:04:05",
    "L2,O1,A1,C-1,1,0,2024-01-02",
    "L3,O2,A2,M-1,3,99.99,2024-02-29T23:59:59",
    "L4,O3,A1,M-1,1,1200,2023-12-31 08:15",
]


def write(tmp_path: Path, text: str, name: str = "purchases.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def columnar(path: Path) -> OrderLines | None:
    table = read_purchase_table(path)
    return None if table is None else clean_order_lines(table)


def assert_equal_lines(got: OrderLines, expected: OrderLines) -> None:
    for name in FIELDS:
        a, b = getattr(got, name), getattr(expected, name)
        assert a.dtype == b.dtype, name
        assert a.tolist() == b.tolist(), name
        assert all(type(x) is type(y) for x, y in zip(a.tolist(), b.tolist(), strict=True)), name


GOOD_FILES = {
    "plain": "\n".join([HEADER, *GOOD]) + "\n",
    "no final newline": "\n".join([HEADER, *GOOD]),
    "CRLF": "\r\n".join([HEADER, *GOOD]) + "\r\n",
    "BOM": "\ufeff" + "\n".join([HEADER, *GOOD]) + "\n",
    "header only": HEADER + "\n",
    "columns reordered, extra columns": "note,ordered_at,sku,quantity,revenue,account_id,order_id,line_id,x\n"
    "hi,2024-01-02 03:04:05,M-1,2,10.5,A1,O1,L1,\n"
    ",2024-01-02,C-1,1,0,A1,O1,L2,y\n",
    "whitespace around cells and names": " line_id , order_id,account_id ,sku,quantity,revenue,ordered_at\n"
    " L1 ,\tO1,\u00a0A1\u3000,M-1 , 2 ,10.5\t, 2024-01-02 03:04:05 \n",
    "quoted cells": HEADER + '\n"L1","O,1","A ""x""",M-1,"2","10.5","2024-01-02"\n',
    "quoted line break in an id": HEADER + '\nL1,"O\r\n1",A1,M-1,2,10.5,2024-01-02\n',
    "number forms": HEADER
    + "\n"
    + "\n".join(
        f"L{i},O1,A1,M-1,{q},{r},2024-01-02"
        for i, (q, r) in enumerate(
            [
                ("2", "2"),
                ("2.0", "50.5"),
                ("+3", ".5"),
                ("5.", "1e2"),
                ("1E-2", "007"),
                ("0.1", "-0"),
                ("1e0", "0.30000000000000004"),
            ]
        )
    )
    + "\n",
    "time forms": HEADER
    + "\n"
    + "\n".join(
        f"L{i},O1,A1,M-1,1,1,{t}"
        for i, t in enumerate(
            [
                "2024-01-02",
                "2024-01-02 10:20",
                "2024-01-02T10:20:30",
                "1969-12-31 23:59:59",
                "0001-01-01",
                "9999-12-31 23:59:59",
                "2000-02-29",
            ]
        )
    )
    + "\n",
    "blank lines": "\n".join([HEADER, GOOD[0], "", GOOD[1], "", ""]) + "\n",
    "non-ASCII ids": HEADER + "\nL-ü,O-日本,A-Ørsted,M-ß,1,1,2024-01-02\n",
}


@pytest.mark.parametrize("text", GOOD_FILES.values(), ids=GOOD_FILES.keys())
def test_a_clean_file_gives_the_row_paths_order_lines(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    rows = read_table(PURCHASES, path)
    assert rows.problems == []
    table = parse_purchases(path)
    assert table.columnar is not None and table.rows == [] and table.problems == []
    assert len(table) == len(rows.rows)
    assert_equal_lines(table.order_lines(), OrderLines.from_rows(rows.rows))


def test_a_gzip_file_is_read_as_columns(tmp_path: Path) -> None:
    path = tmp_path / "purchases.csv.gz"
    path.write_bytes(gzip.compress(GOOD_FILES["plain"].encode()))
    table = parse_purchases(path)
    assert table.columnar is not None
    assert_equal_lines(table.columnar, OrderLines.from_rows(read_table(PURCHASES, path).rows))


def test_demo_purchases_read_as_columns_equal_the_row_path(tmp_path: Path) -> None:
    from crossgraph.data.demo import generate_demo

    summary = generate_demo(tmp_path, accounts=60, products=40, seed=3)
    path = summary.paths["purchases"]
    lines = columnar(path)
    assert lines is not None and len(lines) > 500
    assert_equal_lines(lines, OrderLines.from_rows(read_table(PURCHASES, path).rows))


# Files the row path accepts in a form the fast path leaves to it: the result is the row path's.
ROW_PATH_FILES = {
    "identical duplicate line": "\n".join([HEADER, GOOD[0], GOOD[1], GOOD[0]]) + "\n",
    "underscores in a number": HEADER + "\nL1,O1,A1,M-1,1_000,1,2024-01-02\n",
    "non-ASCII digits": HEADER + "\nL1,O1,A1,M-1,\u0662,1,2024-01-02\n",
    "hour only": HEADER + "\nL1,O1,A1,M-1,1,1,2024-01-02T10\n",
    "fractional seconds": HEADER + "\nL1,O1,A1,M-1,1,1,2024-01-02 10:20:30.5\n",
    "compact date": HEADER + "\nL1,O1,A1,M-1,1,1,20240102\n",
    "line of commas": "\n".join([HEADER, GOOD[0], ",,,,,,", GOOD[1]]) + "\n",
    "line of spaces": "\n".join([HEADER, GOOD[0], "   ", GOOD[1]]) + "\n",
}


@pytest.mark.parametrize("text", ROW_PATH_FILES.values(), ids=ROW_PATH_FILES.keys())
def test_a_form_the_columns_do_not_take_is_read_by_the_row_path(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    assert columnar(path) is None
    table, rows = parse_purchases(path), read_table(PURCHASES, path)
    assert table.columnar is None and rows.problems == []
    assert (table.rows, table.lines) == (rows.rows, rows.lines)


# (file text, the first problem the load reports today).
BAD_FILES = {
    "negative quantity": (
        HEADER + "\n" + GOOD[0] + "\nL2,O1,A1,M-1,-1,1,2024-01-02\n",
        "purchases.csv line 3, column 'quantity': '-1' must be greater than 0",
    ),
    "zero quantity": (
        HEADER + "\nL2,O1,A1,M-1,0,1,2024-01-02\n",
        "purchases.csv line 2, column 'quantity': '0' must be greater than 0",
    ),
    "negative revenue": (
        HEADER + "\nL2,O1,A1,M-1,1,-5,2024-01-02\n",
        "purchases.csv line 2, column 'revenue': '-5' must be at least 0",
    ),
    "text for a number": (
        HEADER + "\nL2,O1,A1,M-1,abc,1,2024-01-02\n",
        "purchases.csv line 2, column 'quantity': 'abc' is not a number",
    ),
    "infinite revenue": (
        HEADER + "\nL2,O1,A1,M-1,1,1e400,2024-01-02\n",
        "purchases.csv line 2, column 'revenue': '1e400' is not a finite number",
    ),
    "nan": (
        HEADER + "\nL2,O1,A1,M-1,1,nan,2024-01-02\n",
        "purchases.csv line 2, column 'revenue': 'nan' is not a finite number",
    ),
    "bad date": (
        HEADER + "\n" + GOOD[0] + "\nL2,O1,A1,M-1,1,1,2023-02-29\n",
        "purchases.csv line 3, column 'ordered_at': '2023-02-29' is not a date-time "
        "(expected YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS])",
    ),
    "hour 24": (
        HEADER + "\nL2,O1,A1,M-1,1,1,2024-01-02 24:00\n",
        "purchases.csv line 2, column 'ordered_at': '2024-01-02 24:00' is not a date-time "
        "(expected YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS])",
    ),
    "29 February 1700": (
        HEADER + "\nL2,O1,A1,M-1,1,1,1700-02-29 10:00\n",
        "purchases.csv line 2, column 'ordered_at': '1700-02-29 10:00' is not a date-time "
        "(expected YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS])",
    ),
    "year 0": (
        HEADER + "\nL2,O1,A1,M-1,1,1,0000-01-01\n",
        "purchases.csv line 2, column 'ordered_at': '0000-01-01' is not a date-time "
        "(expected YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS])",
    ),
    "slashed date": (
        HEADER + "\nL2,O1,A1,M-1,1,1,01/02/2024\n",
        "purchases.csv line 2, column 'ordered_at': '01/02/2024' is not a date-time "
        "(expected YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS])",
    ),
    "time zone": (
        HEADER + "\nL2,O1,A1,M-1,1,1,2024-01-01T00:00:00+02:00\n",
        "purchases.csv line 2, column 'ordered_at': '2024-01-01T00:00:00+02:00' has a time zone; "
        "give local time without an offset",
    ),
    "missing cell": (
        HEADER + "\n" + GOOD[0] + "\nL2,O1,,M-1,1,1,2024-01-02\n",
        "purchases.csv line 3, column 'account_id': value is empty",
    ),
    "blank cell": (
        HEADER + "\nL2,O1,A1, \u00a0,1,1,2024-01-02\n",
        "purchases.csv line 2, column 'sku': value is empty",
    ),
    "short row": (
        HEADER + "\n" + GOOD[0] + "\nL2,O1,A1,M-1,1,2024-01-02\n",
        "purchases.csv line 3: has 6 cells, the header has 7",
    ),
    "conflicting duplicate line_id": (
        HEADER + "\n" + GOOD[0] + "\nL1,O1,A1,M-1,3,10.5,2024-01-02 03:04:05\n",
        "purchases.csv line 3: duplicate key line_id='L1' with values that differ from line 2",
    ),
    "missing column": (
        "line_id,order_id,account_id,sku,revenue,ordered_at\nL1,O1,A1,M,1,2024-01-01\n",
        "purchases.csv line 1, column 'quantity': required column is missing from the header",
    ),
    "column twice": (
        HEADER + ",sku\nL1,O1,A1,M,1,1,2024-01-01,M\n",
        "purchases.csv line 1, column 'sku': column appears more than once",
    ),
    "empty file": ("", "purchases.csv line 1: file is empty (expected a header row)"),
    "blank line before the header": (
        "\n" + HEADER + "\n" + GOOD[0] + "\n",
        "purchases.csv line 1, column 'line_id': required column is missing from the header",
    ),
}


@pytest.mark.parametrize(("text", "message"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_problem_leaves_the_file_to_the_row_path_and_its_message(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    assert columnar(path) is None
    table, rows = parse_purchases(path), read_table(PURCHASES, path)
    assert table.columnar is None
    assert (table.problems, table.rejected, table.rows, table.lines) == (
        rows.problems,
        rows.rejected,
        rows.rows,
        rows.lines,
    )
    count = len(rows.problems)
    assert str(InvalidRows(table.problems)).splitlines()[:2] == [
        f"{count} problem(s) in the input; nothing was written:",
        f"  {message}",
    ]


UNREADABLE = {
    "not UTF-8": (HEADER + "\nL1,O1,A\xe91,M,1,1,2024-01-02\n").encode("latin-1"),
    "NUL byte": (HEADER + "\nL1,O1,A\x001,M,1,1,2024-01-02\n").encode(),
    "UTF-16": ("\ufeff" + HEADER + "\n").encode("utf-16-le"),
    "damaged gzip": gzip.compress(GOOD_FILES["plain"].encode())[:-12],
    "cell over the csv size limit": (
        HEADER + f"\nL1,O1,A1,M-1,1,1,{' ' * csv.field_size_limit()}2024-01-02\n"
    ).encode(),
}


@pytest.mark.parametrize("data", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_an_unreadable_file_is_refused_as_the_row_path_refuses_it(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "purchases.csv"
    path.write_bytes(data)
    assert columnar(path) is None
    with pytest.raises(InvalidInput) as expected:
        read_table(PURCHASES, path)
    with pytest.raises(InvalidInput) as got:
        parse_purchases(path)
    assert str(got.value) == str(expected.value)


def directory(tmp_path: Path, purchases: str) -> Path:
    folder = tmp_path / "load"
    folder.mkdir(parents=True)
    (folder / "accounts.csv").write_text("id,name\nA1,Acme\nA2,Beta\n")
    (folder / "products.csv").write_text("sku,name\nM-1,Mill\nC-1,Coolant\n")
    (folder / "purchases.csv").write_text(purchases)
    return folder


def as_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """read_directory as it was before the columnar path: every table row by row."""
    monkeypatch.setattr(ingest, "parse_purchases", lambda path: read_table(PURCHASES, path))


def checked(folder: Path) -> dict[str, ParsedTable]:
    tables = ingest.read_directory(folder)
    ingest.check_references(tables, None)
    return tables


def test_references_of_a_clean_load_are_checked_on_the_columns(tmp_path: Path) -> None:
    tables = checked(directory(tmp_path, "\n".join([HEADER, *GOOD]) + "\n"))
    purchases = tables["purchases"]
    assert purchases.columnar is not None and purchases.problems == []
    assert len(purchases) == len(GOOD)


def test_an_unknown_reference_reads_the_rows_again_for_the_same_message_and_rejects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "\n".join([HEADER, *GOOD, "L5,O4,A9,M-1,1,1,2024-01-02", "L6,O4,A1,X-9,1,1,2024-01-02"]) + "\n"
    now = checked(directory(tmp_path / "now", text))
    as_today(monkeypatch)
    today = checked(directory(tmp_path / "today", text))
    problems = [p for t in now.values() for p in t.problems]
    assert [str(p) for p in problems] == [
        "purchases.csv line 6, column 'account_id': unknown account 'A9' "
        "(not in accounts.csv nor in the graph)",
        "purchases.csv line 7, column 'sku': unknown product 'X-9' (not in products.csv nor in the graph)",
    ]
    assert str(InvalidRows(problems)) == str(InvalidRows([p for t in today.values() for p in t.problems]))
    assert now["purchases"].rows == today["purchases"].rows
    assert now["purchases"].lines == today["purchases"].lines == [2, 3, 4, 5]
    written = ingest.write_rejects(tmp_path / "now.csv", now.values()).read_text()
    assert written == ingest.write_rejects(tmp_path / "today.csv", today.values()).read_text()


def test_the_purchase_file_route_reads_the_project_csv_as_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "\n".join([HEADER, *GOOD]) + "\n", name="lines.csv")
    read = read_purchase_file(path)
    assert read.format == "purchases.csv (CSV)"
    assert_equal_lines(read.lines, OrderLines.from_rows(read_table(PURCHASES, path).rows))


def test_the_purchases_spec_is_the_one_the_columns_check() -> None:
    """purchase_columns applies these rules itself: a change here must be made there too."""
    assert PURCHASES.key == ("line_id",) and PURCHASES.check is None
    assert [(c.name, c.required, c.nullable) for c in PURCHASES.columns] == [
        (name, True, False) for name in FIELDS
    ]


EDGES = {
    "underflow": ("1e-400", "2024-01-02"),
    "smallest subnormal": ("4.9e-324", "2024-01-02"),
    "largest double": ("1.7976931348623157e308", "2024-01-02"),
    "past the largest double": ("1.7976931348623159e308", "2024-01-02"),
    "many digits": ("0." + "3" * 400, "2024-01-02"),
    "second 60": ("1", "2024-01-02 23:59:60"),
    "minute 60": ("1", "2024-01-02 23:60"),
    "month 13": ("1", "2024-13-02"),
    "day 0": ("1", "2024-01-00"),
    "one-digit month": ("1", "2024-1-02"),
}


@pytest.mark.parametrize(("revenue", "ordered_at"), EDGES.values(), ids=EDGES.keys())
def test_an_edge_value_reads_as_the_row_path_reads_it(tmp_path: Path, revenue: str, ordered_at: str) -> None:
    path = write(tmp_path, f"{HEADER}\n{GOOD[0]}\nL2,O1,A1,M-1,1,{revenue},{ordered_at}\n")
    table, rows = parse_purchases(path), read_table(PURCHASES, path)
    assert table.problems == rows.problems
    assert_equal_lines(table.order_lines(), OrderLines.from_rows(rows.rows))


def test_number_forms_read_by_arrow_equal_float() -> None:
    rng = random.Random(5)
    texts = [
        f"{rng.choice(['', '+', '-'])}{rng.randrange(10 ** rng.randrange(1, 18))}."
        f"{rng.randrange(10 ** rng.randrange(1, 18))}{rng.choice(['', f'e{rng.randrange(-300, 300)}'])}"
        for _ in range(20_000)
    ]
    array = pa.array(texts)
    assert pc.all(pc.match_substring_regex(array, NUMBER)).as_py()
    assert pc.cast(array, pa.float64()).to_numpy().tolist() == [float(t) for t in texts]


def test_time_forms_read_by_arrow_equal_fromisoformat(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    seconds = rng.integers(-2_000_000_000, 4_000_000_000, 5_000)
    texts = [str(np.datetime64(int(s), "s")).replace("T", rng.choice(["T", " "])) for s in seconds]
    text = HEADER + "\n" + "\n".join(f"L{i},O,A,M,1,1,{t}" for i, t in enumerate(texts)) + "\n"
    lines = columnar(write(tmp_path, text))
    assert lines is not None
    assert lines.ordered_at.astype(np.int64).tolist() == seconds.tolist()


def test_the_whitespace_stripped_is_exactly_what_str_strip_strips() -> None:
    """A cell the row path strips to a value is stripped to the same value here: any code
    point Python calls whitespace and the constant missed would keep a padded id apart."""
    every = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())
    assert every == WHITESPACE
