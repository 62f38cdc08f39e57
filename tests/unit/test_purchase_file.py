"""Every form a user's purchases file comes in (data.purchase_file): the project CSV plain or
gzip, UCI Online Retail and Online Retail II headers, ISO and slashed day-first/month-first
dates, Parquet; and the messages when a file is none of them."""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crossgraph.data.purchase_file import read_purchase_file, read_segments
from crossgraph.errors import InvalidInput

II_HEADER = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
# (invoice, code, quantity, day, month, hour:minute, customer): a cancellation, a line
# without customer and a postage line, which are no purchases of a product.
RETAIL = [
    ("536365", "85123A", 6, 1, 12, "08:26", "17850"),
    ("536365", "71053", 6, 1, 12, "08:26", "17850"),
    ("536366", "22633", 6, 13, 12, "09:02", "13047"),
    ("C536379", "22633", -1, 14, 12, "09:41", "13047"),
    ("536380", "22633", 2, 14, 12, "09:45", ""),
    ("536381", "POST", 1, 14, 12, "09:50", "13047"),
]


def retail_csv(path: Path, header: str, date: str, gzipped: bool = False) -> Path:
    """The RETAIL rows with InvoiceDate written by `date` (a format taking day, month, time)."""
    body = header + "".join(
        f"{inv},{code},ITEM {code},{qty},{date.format(d=d, m=m, t=t)},2.55,{cust},United Kingdom\n"
        for inv, code, qty, d, m, t, cust in RETAIL
    )
    path.write_bytes(gzip.compress(body.encode()) if gzipped else body.encode())
    return path


EXPECTED_TIMES = [datetime(2010, 12, 1, 8, 26), datetime(2010, 12, 1, 8, 26), datetime(2010, 12, 13, 9, 2)]


def times(path: Path) -> list[datetime]:
    return [t.astype("datetime64[s]").astype(datetime) for t in read_purchase_file(path).lines.ordered_at]


def test_online_retail_ii_columns_read_like_the_original_file(tmp_path: Path) -> None:
    data = read_purchase_file(retail_csv(tmp_path / "retail.csv", II_HEADER, "2010-{m:02d}-{d:02d} {t}:00"))
    assert data.format == "Online Retail II (CSV)"
    assert list(data.lines.account_id) == ["17850", "17850", "13047"]
    assert list(data.lines.line_id) == ["536365:85123A:1", "536365:71053:1", "536366:22633:1"]
    assert data.segments == {"13047": "United Kingdom", "17850": "United Kingdom"}


@pytest.mark.parametrize(
    "form", ["{d:02d}/{m:02d}/2010 {t}", "{m}/{d}/2010 {t}", "2010-{m:02d}-{d:02d} {t}"], ids=str
)
def test_day_first_month_first_and_iso_dates_give_the_same_times(tmp_path: Path, form: str) -> None:
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    assert times(retail_csv(tmp_path / "retail.csv.gz", header, form, gzipped=True)) == EXPECTED_TIMES


def test_dates_no_value_of_which_tells_day_from_month_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "retail.csv"
    path.write_text(II_HEADER + "536365,85123A,HEART,6,01/02/2011 08:26,2.55,17850,United Kingdom\n")
    with pytest.raises(InvalidInput, match=r"'01/02/2011 08:26' could be day-first or month-first"):
        read_purchase_file(path)


def test_dates_mixing_both_orders_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "retail.csv"
    path.write_text(
        II_HEADER
        + "536365,85123A,HEART,6,13/02/2011 08:26,2.55,17850,United Kingdom\n"
        + "536366,85123A,HEART,6,02/13/2011 08:26,2.55,17850,United Kingdom\n"
    )
    with pytest.raises(InvalidInput, match=r"mix day-first .* and month-first"):
        read_purchase_file(path)


PROJECT = (
    "line_id,order_id,account_id,sku,quantity,revenue,ordered_at\n"
    "L1,O1,A1,P1,1,10,2024-01-05\n"
    "L2,O2,A2,P2,2,20,2024-02-06 10:00:00\n"
)


def test_the_project_csv_reads_gzip_compressed(tmp_path: Path) -> None:
    path = tmp_path / "purchases.csv.gz"
    path.write_bytes(gzip.compress(PROJECT.encode()))
    data = read_purchase_file(path)
    assert data.format == "purchases.csv (CSV)"
    assert list(data.lines.sku) == ["P1", "P2"] and list(data.lines.revenue) == [10.0, 20.0]


def test_parquet_in_either_column_set(tmp_path: Path) -> None:
    project = tmp_path / "purchases.parquet"
    pq.write_table(
        pa.table(
            {
                "line_id": ["L1", "L2"],
                "order_id": ["O1", "O2"],
                "account_id": ["A1", "A2"],
                "sku": ["P1", "P2"],
                "quantity": [1.0, 2.0],
                "revenue": [10.0, 20.0],
                "ordered_at": [datetime(2024, 1, 5), datetime(2024, 2, 6, 10)],
            }
        ),
        project,
    )
    data = read_purchase_file(project)
    assert data.format == "purchases.csv (Parquet)"
    assert list(data.lines.quantity) == [1.0, 2.0]
    retail = tmp_path / "online_retail_II.parquet"
    rows = RETAIL[:3]
    pq.write_table(
        pa.table(
            {
                "Invoice": [r[0] for r in rows],
                "StockCode": [r[1] for r in rows],
                "Description": ["HEART", "LANTERN", "WARMER"],
                "Quantity": [r[2] for r in rows],
                "InvoiceDate": EXPECTED_TIMES,
                "Price": [2.55, 3.39, 1.85],
                "Customer ID": [17850.0, 17850.0, 13047.0],  # as pandas writes a column with gaps
                "Country": ["United Kingdom"] * 3,
            }
        ),
        retail,
    )
    data = read_purchase_file(retail)
    assert data.format == "Online Retail II (Parquet)"
    assert list(data.lines.account_id) == ["17850", "17850", "13047"]
    assert times(retail) == EXPECTED_TIMES


def test_an_unrecognised_header_names_the_known_formats_and_the_columns_seen(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("customer,item,date\nA1,P1,2024-01-01\n")
    with pytest.raises(InvalidInput) as raised:
        read_purchase_file(path)
    message = str(raised.value)
    assert "columns seen: customer, item, date" in message
    for known in ("line_id", "InvoiceNo", "Customer ID", "Parquet", "gzip"):
        assert known in message


def test_segments_come_from_an_accounts_file(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("id,name,industry,segment\nA1,Acme,Retail,SMB\nA2,Bolt,Energy,\n")
    assert read_segments(path) == {"A1": "SMB", "A2": None}
    assert read_segments(path, "industry") == {"A1": "Retail", "A2": "Energy"}
    with pytest.raises(
        InvalidInput, match=r"no country column \(columns seen: id, name, industry, segment\)"
    ):
        read_segments(path, "country")
