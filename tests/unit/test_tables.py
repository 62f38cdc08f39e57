"""CSV checking: every problem names file, line, column and what was expected."""

from __future__ import annotations

import gzip
from datetime import date, datetime
from pathlib import Path

import pytest

from crossgraph.data.tables import ACCOUNTS, CONTRACTS, PRODUCTS, PURCHASES, UPGRADES, read_table
from crossgraph.errors import InvalidInput


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text.lstrip(), encoding="utf-8")
    return path


PURCHASE_HEADER = "line_id,order_id,account_id,sku,quantity,revenue,ordered_at\n"


def test_valid_purchases_are_parsed_to_typed_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "purchases.csv",
        PURCHASE_HEADER + "L1,O1,A1,M-1,2,10.5,2024-01-02 03:04:05\nL2,O1,A1,C-1,1,0,2024-01-02\n",
    )
    table = read_table(PURCHASES, path)
    assert table.problems == []
    assert table.rows[0]["quantity"] == 2.0
    assert table.rows[0]["ordered_at"] == datetime(2024, 1, 2, 3, 4, 5)
    assert table.rows[1]["ordered_at"] == datetime(2024, 1, 2)
    assert table.lines == [2, 3]


def test_missing_required_column_is_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "purchases.csv",
        "line_id,order_id,account_id,sku,revenue,ordered_at\nL1,O1,A1,M,1,2024-01-01\n",
    )
    table = read_table(PURCHASES, path)
    assert [str(p) for p in table.problems] == [
        "purchases.csv line 1, column 'quantity': required column is missing from the header"
    ]
    assert table.rows == []


@pytest.mark.parametrize(
    ("cell_row", "column", "fragment"),
    [
        ("L1,O1,A1,M,abc,1,2024-01-01", "quantity", "'abc' is not a number"),
        ("L1,O1,A1,M,0,1,2024-01-01", "quantity", "must be greater than 0"),
        ("L1,O1,A1,M,1,-5,2024-01-01", "revenue", "must be at least 0"),
        ("L1,O1,A1,M,1,nan,2024-01-01", "revenue", "not a finite number"),
        ("L1,O1,A1,M,1,1,01/02/2024", "ordered_at", "'01/02/2024' is not a date-time"),
        ("L1,O1,A1,M,1,1,2024-01-01T00:00:00+02:00", "ordered_at", "has a time zone"),
        ("L1,O1,,M,1,1,2024-01-01", "account_id", "value is empty"),
    ],
)
def test_bad_cell_names_file_line_column(tmp_path: Path, cell_row: str, column: str, fragment: str) -> None:
    path = write(tmp_path, "purchases.csv", PURCHASE_HEADER + "L0,O0,A1,M,1,1,2024-01-01\n" + cell_row + "\n")
    table = read_table(PURCHASES, path)
    assert len(table.problems) == 1
    problem = table.problems[0]
    assert (problem.file, problem.line, problem.column) == ("purchases.csv", 3, column)
    assert fragment in problem.problem
    assert [r["line_id"] for r in table.rows] == ["L0"]


def test_identical_duplicates_collapse_but_conflicting_ones_are_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "accounts.csv",
        "id,name,country\nA1,Acme,DE\nA1,Acme,DE\nA2,Beta,FR\nA2,Beta,GB\n",
    )
    table = read_table(ACCOUNTS, path)
    assert [r["id"] for r in table.rows] == ["A1", "A2"]
    assert len(table.problems) == 1
    assert str(table.problems[0]) == (
        "accounts.csv line 5: duplicate key id='A2' with values that differ from line 4"
    )


def test_optional_columns_default_and_enums_are_checked(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "products.csv",
        "sku,name,kind,fits\nP1,Part,part,M1;M2\nP2,Thing,gadget,\nP3,Other,,\n",
    )
    table = read_table(PRODUCTS, path)
    assert table.rows[0]["active"] is True  # absent column -> default
    assert table.rows[0]["fits"] == ["M1", "M2"]
    assert table.rows[1]["kind"] is None and table.rows[1]["sku"] == "P3"
    assert len(table.problems) == 1
    assert (
        table.problems[0].column == "kind" and "'gadget' is not one of machine" in table.problems[0].problem
    )


def test_contract_end_before_start_is_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "contracts.csv",
        "id,account_id,level,starts_at,ends_at,annual_value\nK1,A1,basic,2024-05-01,2024-04-30,100\n"
        "K2,A1,gold,2024-05-01,2025-04-30,100\n",
    )
    table = read_table(CONTRACTS, path)
    assert [(p.line, p.column) for p in table.problems] == [(2, "ends_at"), (3, "level")]


def test_self_upgrade_and_wrong_cell_count(tmp_path: Path) -> None:
    path = write(tmp_path, "upgrades.csv", "from_sku,to_sku\nA,A\nB,C,D\nB,C\n")
    table = read_table(UPGRADES, path)
    assert [(p.line, p.column) for p in table.problems] == [(2, "to_sku"), (3, None)]
    assert "has 3 cells, the header has 2" in table.problems[1].problem
    assert table.rows == [{"from_sku": "B", "to_sku": "C"}]


def test_empty_file_is_a_problem(tmp_path: Path) -> None:
    table = read_table(ACCOUNTS, write(tmp_path, "accounts.csv", ""))
    assert "file is empty" in str(table.problems[0])


def test_dates_in_assets_are_dates(tmp_path: Path) -> None:
    from crossgraph.data.tables import ASSETS

    path = write(
        tmp_path,
        "assets.csv",
        "serial,account_id,sku,installed_at,utilization\nS1,A1,M,2010-01-31,1.2\nS2,A1,M,2010-02-01,0.5\n",
    )
    table = read_table(ASSETS, path)
    assert table.rows[0]["installed_at"] == date(2010, 2, 1)
    assert table.problems[0].column == "utilization" and "at most 1" in table.problems[0].problem


ACCOUNT_ROWS = "id,name,parent_id\nA1,Nordhafen GmbH,\nA2,Café Müller,A1\n"


def test_gzip_compressed_file_reads_like_the_plain_one(tmp_path: Path) -> None:
    plain = read_table(ACCOUNTS, write(tmp_path, "accounts.csv", ACCOUNT_ROWS))
    packed = tmp_path / "accounts.csv.gz"
    packed.write_bytes(gzip.compress(ACCOUNT_ROWS.encode("utf-8")))
    assert read_table(ACCOUNTS, packed).rows == plain.rows
    assert plain.rows[1]["name"] == "Café Müller"


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_latin1_file_is_refused_naming_file_and_line(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "accounts.csv"
    path.write_bytes(ACCOUNT_ROWS.encode(encoding))
    with pytest.raises(InvalidInput, match=r"accounts\.csv line 3: byte 0xe9 is not UTF-8") as caught:
        read_table(ACCOUNTS, path)
    assert "CSV UTF-8" in str(caught.value)


def test_line_of_a_bad_byte_counts_lines_across_read_chunks(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv.gz"
    body = "id,name\n" + "".join(f"A{i},Zoë {i}\n" for i in range(100_000)) + "A-last,Caf\xe9\n"
    path.write_bytes(gzip.compress(body.encode("utf-8")[:-6] + "Caf\xe9\n".encode("latin-1")))
    with pytest.raises(InvalidInput, match=r"accounts\.csv\.gz line 100002: byte 0xe9"):
        read_table(ACCOUNTS, path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (ACCOUNT_ROWS.encode("utf-16"), "accounts.csv is UTF-16 text"),
        (
            b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)),
            "accounts.csv is a ZIP archive or Excel workbook",
        ),
        (b"id,name\nA1,x\x00y\n", "accounts.csv line 2 holds a NUL byte"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "accounts.csv line 3 holds a NUL byte"),
        (bytes(range(1, 256)) * 4, "accounts.csv line 2: byte 0x80 is not UTF-8"),
        (gzip.compress(ACCOUNT_ROWS.encode())[:30], "accounts.csv: the gzip data is damaged or cut short"),
    ],
    ids=["utf-16", "xlsx", "nul", "png", "binary", "truncated-gzip"],
)
def test_files_that_are_not_utf8_csv_text_are_named(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "accounts.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidInput) as caught:
        read_table(ACCOUNTS, path)
    assert str(caught.value).startswith(message)
