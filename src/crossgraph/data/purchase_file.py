"""One purchases file, whatever form it comes in, as order lines (the file route of
`crossgraph evaluate --purchases` and of benchmarks/quality.py).

Formats, recognised by content and header, never by the file's name:
- the project's purchases.csv (line_id, order_id, account_id, sku, quantity, revenue,
  ordered_at), plain or gzip-compressed;
- UCI Online Retail (InvoiceNo, ..., UnitPrice, CustomerID) and Online Retail II (Invoice,
  ..., Price, Customer ID), plain or gzip-compressed, ISO or slashed day-first/month-first
  dates;
- Parquet holding either column set (needs pyarrow: the `parquet` extra).
Account attributes (a segment per account, for segment popularity) come from the Online
Retail country, or from an accounts file given next to the purchases (`read_segments`).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from crossgraph.data.online_retail import VARIANTS, online_retail_from_records, online_retail_variant
from crossgraph.data.orderlines import OrderLines
from crossgraph.data.purchase_columns import parse_purchases
from crossgraph.data.tables import PURCHASES, parse_records
from crossgraph.data.textfile import open_text
from crossgraph.errors import InvalidInput, InvalidRows

PARQUET_MAGIC = b"PAR1"
PROJECT = "purchases.csv"
PROJECT_COLUMNS = tuple(c.name for c in PURCHASES.columns if c.required)
SEGMENT_COLUMNS = ("segment", "industry", "country")


def known_formats() -> str:
    """The formats a purchases file may come in, with their columns, for error messages."""
    forms = [f"the project's {PROJECT} ({', '.join(PROJECT_COLUMNS)})"]
    forms += [f"{name} ({', '.join(columns)})" for name, columns in VARIANTS.items()]
    return "; ".join(forms) + " - as CSV (UTF-8, plain or gzip) or Parquet"


@dataclass(frozen=True)
class PurchaseFile:
    lines: OrderLines
    segments: dict[str, str | None]  # account id -> segment ({} when the file has none)
    format: str  # e.g. "Online Retail II (CSV)"


def read_purchase_file(path: Path) -> PurchaseFile:
    """The order lines of `path` in any format of the module doc; InvalidInput naming the
    formats known and the columns seen when the header is none of them."""
    if not path.exists():
        raise InvalidInput(f"{path} does not exist")
    if is_parquet(path):
        columns, records = _parquet_records(path)
        return _from_records(path, columns, records, "Parquet")
    with open_text(path) as handle:
        header = [h.strip() for h in next(csv.reader(handle), [])]
    variant = online_retail_variant(header)
    if variant is not None:
        with open_text(path) as handle:
            records = list(csv.DictReader(handle))
        data = online_retail_from_records(records, path.name, first_line=2)
        return PurchaseFile(data.lines, _countries(data.accounts), f"{variant} (CSV)")
    _check_project_header(path, header)
    table = parse_purchases(path)
    if table.problems:
        raise InvalidRows(table.problems)
    return PurchaseFile(table.order_lines(), {}, f"{PROJECT} (CSV)")


def is_parquet(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == PARQUET_MAGIC


def _check_project_header(path: Path, header: Sequence[str]) -> None:
    if not set(PROJECT_COLUMNS) <= set(header):
        seen = ", ".join(h for h in header if h) or "none"
        raise InvalidInput(
            f"{path.name}: unrecognised header (columns seen: {seen}); known formats: {known_formats()}"
        )


def _from_records(
    path: Path, columns: Sequence[str], records: list[dict[str, str]], container: str
) -> PurchaseFile:
    variant = online_retail_variant(columns)
    if variant is not None:
        data = online_retail_from_records(records, path.name)
        return PurchaseFile(data.lines, _countries(data.accounts), f"{variant} ({container})")
    _check_project_header(path, columns)
    table = parse_records(PURCHASES, path.name, records)
    if table.problems:
        raise InvalidRows(table.problems)
    return PurchaseFile(OrderLines.from_rows(table.rows), {}, f"{PROJECT} ({container})")


def _countries(accounts: list[dict[str, str | None]]) -> dict[str, str | None]:
    return {str(a["id"]): a["country"] for a in accounts}


def _parquet_records(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Column names and every row as column -> text (None -> ''; timestamps in ISO form)."""
    import pyarrow.parquet as pq  # a core dependency; imported here as only Parquet files need it

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises its own ArrowInvalid / OSError kinds
        raise InvalidInput(f"{path.name}: cannot read the Parquet file ({exc})") from None
    columns = [str(name) for name in table.column_names]
    values = {name: [_text(v) for v in table.column(name).to_pylist()] for name in columns}
    records = [dict(zip(columns, row, strict=True)) for row in zip(*values.values(), strict=True)]
    return columns, records


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Customer ID 17850.0 -> 17850
    return str(value)


def read_segments(path: Path, column: str = "segment") -> dict[str, str | None]:
    """Account id -> `column` from an accounts file (CSV, plain or gzip, with `id` and that
    column; the project's accounts.csv is one)."""
    if column not in SEGMENT_COLUMNS:
        raise InvalidInput(f"the segment column must be one of {', '.join(SEGMENT_COLUMNS)}, got {column!r}")
    if not path.exists():
        raise InvalidInput(f"{path} does not exist")
    with open_text(path) as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in ("id", column) if c not in header]
        if missing:
            seen = ", ".join(header) or "none"
            raise InvalidInput(
                f"{path.name}: no {' or '.join(missing)} column (columns seen: {seen}); "
                f"an accounts file needs id and {column}"
            )
        return {_cell(row, "id"): _cell(row, column) or None for row in reader}


def _cell(row: Mapping[str, str | None], name: str) -> str:
    return (row.get(name) or "").strip()
