"""The CSV files crossgraph loads: their columns, how each value is parsed and checked.

Every problem is reported as file, line, column and what was expected, and all
problems of a file are collected before anything is written anywhere.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from crossgraph.data.orderlines import OrderLines
from crossgraph.data.textfile import open_text
from crossgraph.errors import InvalidInput

Value = Any
Parser = Callable[[str], Value]

KINDS = ("machine", "part", "consumable", "service", "training", "software", "accessory")
CONTRACT_LEVELS = ("basic", "premium", "full")
EVENT_TYPES = (
    "new_site",
    "growth",
    "merger",
    "management_change",
    "competitor_complaint",
    "service_visit",
    "product_launch",
    "downtime",
)
INFLUENCE = ("high", "medium", "low")  # a contact's weight in the account's buying decisions
TOUCHPOINT_TYPES = ("meeting", "call", "visit", "quote", "upsell_conversation", "service_visit")


class ValueProblem(ValueError):
    """A single cell could not be parsed; the message says what was expected."""


def text(raw: str) -> str:
    return raw


def number(*, minimum: float | None = None, maximum: float | None = None, positive: bool = False) -> Parser:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueProblem(f"{raw!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueProblem(f"{raw!r} is not a finite number")
        if positive and value <= 0:
            raise ValueProblem(f"{raw!r} must be greater than 0")
        if minimum is not None and value < minimum:
            raise ValueProblem(f"{raw!r} must be at least {minimum:g}")
        if maximum is not None and value > maximum:
            raise ValueProblem(f"{raw!r} must be at most {maximum:g}")
        return value

    return parse


def iso_date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueProblem(f"{raw!r} is not a date (expected YYYY-MM-DD)") from None


def iso_datetime(raw: str) -> datetime:
    """A date or a date-time; a plain date means midnight. Time zones are not accepted so that
    every timestamp in the graph compares with every other (local business time)."""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueProblem(
            f"{raw!r} is not a date-time (expected YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS])"
        ) from None
    if value.tzinfo is not None:
        raise ValueProblem(f"{raw!r} has a time zone; give local time without an offset")
    return value


def boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("true", "1", "yes", "y"):
        return True
    if lowered in ("false", "0", "no", "n"):
        return False
    raise ValueProblem(f"{raw!r} is not a boolean (expected true or false)")


def choice(options: tuple[str, ...]) -> Parser:
    def parse(raw: str) -> str:
        if raw not in options:
            raise ValueProblem(f"{raw!r} is not one of {', '.join(options)}")
        return raw

    return parse


def id_list(raw: str) -> list[str]:
    """Semicolon-separated identifiers, e.g. 'M-100;M-200'."""
    items = [item.strip() for item in raw.split(";")]
    if any(not item for item in items):
        raise ValueProblem(f"{raw!r} has an empty entry (expected ids separated by ';')")
    return items


@dataclass(frozen=True)
class Column:
    name: str
    parse: Parser = text
    required: bool = True  # the header must have it
    nullable: bool = False  # an empty cell is allowed (becomes None)
    default: Value = None  # value of an empty or absent optional cell
    description: str = ""


@dataclass(frozen=True)
class Reference:
    """column values must name a row of another table (in the same load or in the graph)."""

    column: str
    table: str


@dataclass(frozen=True)
class TableSpec:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    references: tuple[Reference, ...] = ()
    description: str = ""
    # A row-level rule over parsed values; returns (column, problem) or None.
    check: Callable[[dict[str, Value]], tuple[str, str] | None] | None = None

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _contract_dates(row: dict[str, Value]) -> tuple[str, str] | None:
    if row["ends_at"] < row["starts_at"]:
        return "ends_at", f"{row['ends_at']} is before starts_at {row['starts_at']}"
    return None


def _no_self_upgrade(row: dict[str, Value]) -> tuple[str, str] | None:
    if row["from_sku"] == row["to_sku"]:
        return "to_sku", f"{row['to_sku']!r} cannot upgrade to itself"
    return None


ACCOUNTS = TableSpec(
    name="accounts",
    key=("id",),
    description="One row per customer account.",
    columns=(
        Column("id", description="unique account id"),
        Column("name", description="display name"),
        Column("industry", required=False, nullable=True),
        Column("country", required=False, nullable=True),
        Column("size_band", required=False, nullable=True, description="e.g. small, mid, large"),
        Column("segment", required=False, nullable=True, description="sales segment; defaults to industry"),
        Column("parent_id", required=False, nullable=True, description="group/parent account id"),
        Column("owner", required=False, nullable=True, description="the account owner (sales rep)"),
    ),
    references=(Reference("parent_id", "accounts"),),
)

PRODUCTS = TableSpec(
    name="products",
    key=("sku",),
    description="The catalogue.",
    columns=(
        Column("sku", description="unique product code"),
        Column("name"),
        Column("category", required=False, nullable=True),
        Column("kind", choice(KINDS), required=False, nullable=True, description=" | ".join(KINDS)),
        Column("tier", required=False, nullable=True, description="e.g. standard, pro"),
        Column("active", boolean, required=False, nullable=True, default=True),
        Column("list_price", number(minimum=0), required=False, nullable=True),
        Column(
            "margin",
            number(minimum=0, maximum=1),
            required=False,
            nullable=True,
            description="gross margin share 0-1; empty: the rate of its kind (docs/ranking.md)",
        ),
        Column(
            "fits",
            id_list,
            required=False,
            nullable=True,
            description="skus of the machines a part/consumable/service belongs to, ';'-separated",
        ),
    ),
)

PURCHASES = TableSpec(
    name="purchases",
    key=("line_id",),
    description="Order lines; aggregated into one BOUGHT relationship per account x product.",
    columns=(
        Column("line_id", description="unique order line id; a line seen before is never counted twice"),
        Column("order_id"),
        Column("account_id"),
        Column("sku"),
        Column("quantity", number(positive=True)),
        Column("revenue", number(minimum=0), description="line revenue (net, in one currency)"),
        Column("ordered_at", iso_datetime, description="YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"),
    ),
    references=(Reference("account_id", "accounts"), Reference("sku", "products")),
)

ASSETS = TableSpec(
    name="assets",
    key=("serial",),
    description="Installed base: one row per machine standing at an account.",
    columns=(
        Column("serial"),
        Column("account_id"),
        Column("sku", description="the product (model) the asset is"),
        Column("installed_at", iso_date),
        Column(
            "utilization",
            number(minimum=0, maximum=1),
            required=False,
            nullable=True,
            description="share of capacity used, 0..1",
        ),
        Column("config", required=False, nullable=True),
    ),
    references=(Reference("account_id", "accounts"), Reference("sku", "products")),
)

CONTRACTS = TableSpec(
    name="contracts",
    key=("id",),
    description="Service / maintenance / parts agreements.",
    columns=(
        Column("id"),
        Column("account_id"),
        Column("level", choice(CONTRACT_LEVELS), description=" | ".join(CONTRACT_LEVELS)),
        Column("starts_at", iso_date),
        Column("ends_at", iso_date),
        Column("annual_value", number(minimum=0)),
        Column("sku", required=False, nullable=True, description="the service product sold"),
        Column(
            "covers",
            id_list,
            required=False,
            nullable=True,
            description="skus of the products covered, ';'-separated",
        ),
    ),
    references=(
        Reference("account_id", "accounts"),
        Reference("sku", "products"),
        Reference("covers", "products"),
    ),
    check=_contract_dates,
)

UPGRADES = TableSpec(
    name="upgrades",
    key=("from_sku", "to_sku"),
    description="Upsell paths between products (X -> X Pro, basic -> premium service).",
    columns=(Column("from_sku"), Column("to_sku")),
    references=(Reference("from_sku", "products"), Reference("to_sku", "products")),
    check=_no_self_upgrade,
)

EVENTS = TableSpec(
    name="events",
    key=("id",),
    description="Trigger events and field notes.",
    columns=(
        Column("id"),
        Column("account_id"),
        Column("type", choice(EVENT_TYPES), description=" | ".join(EVENT_TYPES)),
        Column("occurred_at", iso_date),
        Column("text", required=False, nullable=True),
        Column("sku", required=False, nullable=True, description="product the event concerns"),
    ),
    references=(Reference("account_id", "accounts"), Reference("sku", "products")),
)

CONTACTS = TableSpec(
    name="contacts",
    key=("id",),
    description="People at the accounts; a high-influence contact is a key contact of the account plan.",
    columns=(
        Column("id", description="unique contact id"),
        Column("account_id"),
        Column("name"),
        Column("role", required=False, nullable=True, description="job title, e.g. Head of production"),
        Column(
            "influence",
            choice(INFLUENCE),
            required=False,
            nullable=True,
            description=" | ".join(INFLUENCE) + " (weight in buying decisions; high = key contact)",
        ),
        Column("email", required=False, nullable=True),
        Column(
            "left_at",
            iso_date,
            required=False,
            nullable=True,
            description="the day the contact left the account (empty while still there)",
        ),
    ),
    references=(Reference("account_id", "accounts"),),
)

TOUCHPOINTS = TableSpec(
    name="touchpoints",
    key=("id",),
    description="Meetings, calls, visits, quotes and upsell conversations with an account.",
    columns=(
        Column("id", description="unique touchpoint id"),
        Column("account_id"),
        Column("contact_id", required=False, nullable=True, description="the contact met (of this account)"),
        Column("type", choice(TOUCHPOINT_TYPES), description=" | ".join(TOUCHPOINT_TYPES)),
        Column("occurred_at", iso_date),
        Column("owner", required=False, nullable=True, description="who on our side (rep, engineer)"),
        Column("notes", required=False, nullable=True),
    ),
    references=(Reference("account_id", "accounts"), Reference("contact_id", "contacts")),
)

# Load order: referenced tables first.
TABLES: tuple[TableSpec, ...] = (
    ACCOUNTS,
    PRODUCTS,
    UPGRADES,
    ASSETS,
    CONTRACTS,
    EVENTS,
    CONTACTS,
    TOUCHPOINTS,
    PURCHASES,
)
TABLES_BY_NAME = {t.name: t for t in TABLES}


@dataclass(frozen=True)
class RowProblem:
    file: str
    line: int
    column: str | None
    problem: str
    where: str = "line"  # what `line` counts: file lines, or "item" for the records of a body

    def __str__(self) -> str:
        where = f"{self.file} {self.where} {self.line}"
        if self.column:
            where += f", column {self.column!r}"
        return f"{where}: {self.problem}"


@dataclass
class ParsedTable:
    spec: TableSpec
    path: Path
    rows: list[dict[str, Value]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # source line of each row
    problems: list[RowProblem] = field(default_factory=list)
    rejected: list[tuple[int, dict[str, str], RowProblem]] = field(default_factory=list)
    where: str = "line"  # RowProblem.where of its problems
    # The purchases as columns instead of `rows` (purchase_columns: a clean file read fast).
    columnar: OrderLines | None = None

    def __len__(self) -> int:
        return len(self.rows) if self.columnar is None else len(self.columnar)

    def order_lines(self) -> OrderLines:
        """The rows of a purchases table as order lines (its columns when it was read so)."""
        return self.columnar if self.columnar is not None else OrderLines.from_rows(self.rows)


def read_table(spec: TableSpec, path: Path) -> ParsedTable:
    """Parse and check one file. Rows with problems are left out of `rows` and listed in
    `problems` (and, with their raw cells, in `rejected`). Duplicate keys with identical
    values are collapsed; with conflicting values the later row is a problem."""
    table = ParsedTable(spec=spec, path=path)
    with open_text(path) as handle:
        reader = csv.reader(handle)
        try:
            _read_rows(table, reader)
        except csv.Error as exc:  # e.g. a field over the csv module's size limit
            raise InvalidInput(f"{path.name} line {reader.line_num}: {exc}; is it CSV text?") from None
    return table


def _read_rows(table: ParsedTable, reader: Iterator[list[str]]) -> None:
    spec, name = table.spec, table.path.name
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        table.problems.append(RowProblem(name, 1, None, "file is empty (expected a header row)"))
        return
    missing = [c.name for c in spec.columns if c.required and c.name not in header]
    for missing_name in missing:
        table.problems.append(RowProblem(name, 1, missing_name, "required column is missing from the header"))
    duplicates = sorted({h for h in header if header.count(h) > 1})
    for duplicate_name in duplicates:
        table.problems.append(RowProblem(name, 1, duplicate_name, "column appears more than once"))
    if missing or duplicates:
        return
    # Extra columns are allowed and ignored (CRM exports carry many).

    rows = TableRows(table)
    width = len(header)
    for cells in reader:
        # csv line numbers count physical lines, so quoted newlines keep messages accurate.
        line = reader.line_num  # type: ignore[attr-defined]
        if not "".join(cells).strip():
            continue  # a blank line
        if len(cells) != width:
            problem = RowProblem(name, line, None, f"has {len(cells)} cells, the header has {width}")
            _reject(table, line, dict(zip(header, cells, strict=False)), problem)
            continue
        rows.add(line, dict(zip(header, cells, strict=True)))


def parse_records(spec: TableSpec, source: str, records: Iterable[Mapping[str, str]]) -> ParsedTable:
    """Parse and check rows that arrive as column -> text maps (an API body; `source` names it,
    e.g. "body.lines"), with the same rules, messages and duplicate handling as `read_table`;
    problems count records from 1 (`item 3`)."""
    table = ParsedTable(spec=spec, path=Path(source), where="item")
    rows = TableRows(table)
    for number, record in enumerate(records, start=1):
        rows.add(number, record)
    return table


class TableRows:
    """Adds rows to a ParsedTable one at a time: parse each cell, apply the row check, collapse
    identical duplicates of a key and reject conflicting ones."""

    def __init__(self, table: ParsedTable) -> None:
        self.table = table
        self.seen: dict[tuple[Value, ...], int] = {}
        self.name = table.path.name
        # (name, parser or None for text kept as it is, nullable, default) per column, looked up
        # once: 2.8M demo rows read in 3/4 of the time than with a Column attribute per cell.
        self.columns = [
            (c.name, None if c.parse is text else c.parse, c.nullable, c.default) for c in table.spec.columns
        ]

    def add(self, line: int, cells: Mapping[str, str]) -> None:
        table, spec = self.table, self.table.spec
        name, where = self.name, table.where
        row: dict[str, Value] = {}
        problem: RowProblem | None = None
        for column, parse, nullable, default in self.columns:
            raw = (cells.get(column) or "").strip()
            if raw == "":
                if nullable:
                    row[column] = default
                    continue
                problem = RowProblem(name, line, column, "value is empty", where)
                break
            if parse is None:
                row[column] = raw
                continue
            try:
                row[column] = parse(raw)
            except ValueProblem as exc:
                problem = RowProblem(name, line, column, str(exc), where)
                break
        if problem is None and spec.check is not None:
            failed = spec.check(row)
            if failed is not None:
                problem = RowProblem(name, line, failed[0], failed[1], where)
        if problem is None:
            key = tuple(row[k] for k in spec.key)
            first = self.seen.get(key)
            if first is not None:
                if table.rows[first] == row:
                    return
                problem = RowProblem(
                    name,
                    line,
                    None,
                    f"duplicate key {_show_key(spec, key)} with values that differ from {where} "
                    f"{table.lines[first]}",
                    where,
                )
            else:
                self.seen[key] = len(table.rows)
        if problem is not None:
            _reject(table, line, dict(cells), problem)
            return
        table.rows.append(row)
        table.lines.append(line)


def _reject(table: ParsedTable, line: int, cells: dict[str, str], problem: RowProblem) -> None:
    table.problems.append(problem)
    table.rejected.append((line, cells, problem))


def _show_key(spec: TableSpec, key: tuple[Value, ...]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in zip(spec.key, key, strict=True))


def reference_values(row: dict[str, Value], column: str) -> list[str]:
    value = row.get(column)
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def columns_markdown() -> str:
    """The column reference of docs/data-format.md, generated from the specs (a test keeps them equal)."""
    out: list[str] = []
    for spec in TABLES:
        out.append(f"### {spec.filename}\n\n{spec.description} Key: {', '.join(spec.key)}.\n")
        out.append("| column | required | empty allowed | meaning |\n|---|---|---|---|")
        for c in spec.columns:
            out.append(
                f"| `{c.name}` | {'yes' if c.required else 'no'} | {'yes' if c.nullable else 'no'} | "
                f"{c.description} |"
            )
        refs = [f"`{r.column}` -> {r.table}.csv" for r in spec.references]
        if refs:
            out.append(f"\nReferences (in the same load or already in the graph): {', '.join(refs)}.")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
