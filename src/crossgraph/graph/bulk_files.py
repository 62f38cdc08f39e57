"""The offline importer's CSV files of a first load (`crossgraph load --initial`): one node file
per label and one relationship file per type, holding what the transactional load's queries
write into an empty graph (upsert_*, link_account_parents, link_product_fits, create_purchases
and, for `crossgraph load`, record_change).

A file with a line break in one of its texts is read by the importer in its multi-line mode,
which is slow, so only that file is named for it (`ImportFiles.multiline`). The BOUGHT file, the
big one, refuses ids holding a line break or the array delimiter instead (_texts): an account,
sku, order line or order id with one loads without --initial.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from crossgraph.data.codes import arrow_strings
from crossgraph.errors import InvalidInput
from crossgraph.graph.changes import ChangeKind, load_changes
from crossgraph.graph.ingest import PairLines, Row
from crossgraph.server.local import IMPORT_ARRAY_DELIMITER

BOUGHT_HEADER = (
    ":START_ID(Account)",
    ":END_ID(Product)",
    "line_ids:string[]",
    "line_orders:string[]",
    "line_at:long[]",
    "line_quantities:double[]",
    "line_revenues:double[]",
    "orders:long",
    "quantity:double",
    "revenue:double",
    "first_at:localdatetime",
    "last_at:localdatetime",
)
LINE_BREAKS = ("\n", "\r")
UNSAFE = (*LINE_BREAKS, IMPORT_ARRAY_DELIMITER)  # what the importer would read differently in an id


@dataclass(frozen=True)
class Prop:
    """A node property: its name, the importer's type ("" for text) and its value in a row."""

    name: str
    kind: str = ""
    value: Callable[[Row], Any] | None = None  # default: the row's column of the same name


@dataclass(frozen=True)
class Nodes:
    """A table's nodes: their label, the column that keys them (their ID in the label's id
    space, stored as the property of that name) and their properties, as its upsert query sets
    them (an empty field is no property, as SET to null is)."""

    label: str
    key: str
    properties: tuple[Prop, ...]


@dataclass(frozen=True)
class Links:
    """A table's relationships of one type, from the node named by one column to the node named
    by another; a list column links to each of its distinct values (MERGE's one link)."""

    type: str
    start: tuple[str, str]  # (label, column)
    end: tuple[str, str]


def _first(*columns: str) -> Callable[[Row], Any]:
    """upsert_accounts' coalesce(row.segment, row.industry, row.country)."""
    return lambda row: next((row[c] for c in columns if row.get(c) is not None), None)


NODES: dict[str, Nodes] = {
    "accounts": Nodes(
        "Account",
        "id",
        (
            Prop("name"),
            Prop("industry"),
            Prop("country"),
            Prop("size_band"),
            Prop("owner"),
            Prop("segment", value=_first("segment", "industry", "country")),
        ),
    ),
    "products": Nodes(
        "Product",
        "sku",
        (
            Prop("name"),
            Prop("category"),
            Prop("kind"),
            Prop("tier"),
            Prop("active", "boolean"),
            Prop("list_price", "double"),
            Prop("margin", "double"),
        ),
    ),
    "assets": Nodes(
        "Asset", "serial", (Prop("installed_at", "date"), Prop("utilization", "double"), Prop("config"))
    ),
    "contracts": Nodes(
        "Contract",
        "id",
        (
            Prop("level"),
            Prop("starts_at", "date"),
            Prop("ends_at", "date"),
            Prop("annual_value", "double"),
            Prop("sku"),
        ),
    ),
    "events": Nodes("Event", "id", (Prop("type"), Prop("occurred_at", "date"), Prop("text"), Prop("sku"))),
    "contacts": Nodes(
        "Contact",
        "id",
        (Prop("name"), Prop("role"), Prop("influence"), Prop("email"), Prop("left_at", "date")),
    ),
    "touchpoints": Nodes(
        "Touchpoint",
        "id",
        (Prop("type"), Prop("occurred_at", "date"), Prop("owner"), Prop("notes"), Prop("contact_id")),
    ),
}
LINKS: dict[str, tuple[Links, ...]] = {
    "accounts": (Links("PART_OF", ("Account", "id"), ("Account", "parent_id")),),
    "products": (
        Links("IN_CATEGORY", ("Product", "sku"), ("Category", "category")),
        Links("FITS", ("Product", "sku"), ("Product", "fits")),
    ),
    "upgrades": (Links("UPGRADES_TO", ("Product", "from_sku"), ("Product", "to_sku")),),
    "assets": (
        Links("OWNS", ("Account", "account_id"), ("Asset", "serial")),
        Links("OF_MODEL", ("Asset", "serial"), ("Product", "sku")),
    ),
    "contracts": (
        Links("HAS_CONTRACT", ("Account", "account_id"), ("Contract", "id")),
        Links("COVERS", ("Contract", "id"), ("Product", "covers")),
        Links("FOR_PRODUCT", ("Contract", "id"), ("Product", "sku")),
    ),
    "events": (
        Links("HAD_EVENT", ("Account", "account_id"), ("Event", "id")),
        Links("ABOUT", ("Event", "id"), ("Product", "sku")),
    ),
    "contacts": (Links("HAS_CONTACT", ("Account", "account_id"), ("Contact", "id")),),
    "touchpoints": (
        Links("HAD_TOUCHPOINT", ("Account", "account_id"), ("Touchpoint", "id")),
        Links("WITH", ("Touchpoint", "id"), ("Contact", "contact_id")),
    ),
}


@dataclass
class ImportFiles:
    """What to hand to LocalServer.import_csv: (label or type, file) pairs, and the files the
    importer must read in its multi-line mode."""

    nodes: list[tuple[str, Path]] = field(default_factory=list)
    relationships: list[tuple[str, Path]] = field(default_factory=list)
    multiline: list[Path] = field(default_factory=list)

    def add(
        self,
        kind: str,
        name: str,
        path: Path,
        header: Sequence[str],
        rows: Iterable[list[Any]],
    ) -> None:
        """Write one file (kind "nodes" or "relationships"), noting whether a text in it holds
        a line break."""
        breaks = _write_csv(path, header, rows)
        (self.nodes if kind == "nodes" else self.relationships).append((name, path))
        if breaks:
            self.multiline.append(path)


def write_import_files(
    folder: Path,
    rows: dict[str, list[Row]],
    pairs: PairLines,
    changed: dict[ChangeKind, list[str]] | None = None,
    at: datetime | None = None,
) -> ImportFiles:
    """Every file of a first load into `folder`: the tables' nodes and links, the categories,
    BOUGHT, and with `changed` the change feed that record_load would write for it (`at` its
    time)."""
    files = ImportFiles()
    # Account and Product always: BOUGHT's ends (the checks resolved them in these rows).
    for table in ("accounts", "products", *(t for t in NODES if t not in ("accounts", "products"))):
        spec, table_rows = NODES[table], rows.get(table, [])
        if table_rows or table in ("accounts", "products"):
            files.add("nodes", spec.label, folder / f"{table}.csv", *node_rows(spec, table_rows))
    categories = sorted(
        {str(p["category"]) for p in rows.get("products", []) if p.get("category") is not None}
    )
    if categories:
        files.add(
            "nodes", "Category", folder / "categories.csv", ["name:ID(Category)"], ([c] for c in categories)
        )
    for table, links in LINKS.items():
        for link in links:
            header, link_rows = relationship_rows(link, rows.get(table, []))
            if link_rows:
                files.add("relationships", link.type, folder / f"{link.type.lower()}.csv", header, link_rows)
    write_bought(folder / "bought.csv", pairs)
    files.relationships.append(("BOUGHT", folder / "bought.csv"))
    if changed:
        feed, changes = change_rows(changed, at or datetime.now(UTC))
        if changes:
            files.add("nodes", "ChangeFeed", folder / "change_feed.csv", *feed)
            files.add("nodes", "Change", folder / "changes.csv", *changes)
    return files


def node_rows(spec: Nodes, rows: list[Row]) -> tuple[list[str], list[list[Any]]]:
    """A table's node file: header and rows (built a column at a time: one loop per property
    instead of a call per cell)."""
    header = [f"{spec.key}:ID({spec.label})"] + [
        f"{p.name}:{p.kind}" if p.kind else p.name for p in spec.properties
    ]
    columns = [[row[spec.key] for row in rows], *(_column(p, rows) for p in spec.properties)]
    return header, [list(values) for values in zip(*columns, strict=True)]


def relationship_rows(link: Links, rows: list[Row]) -> tuple[list[str], list[list[Any]]]:
    """A table's relationships of one type: header and one row per link."""
    (start_label, start), (end_label, end) = link.start, link.end
    header = [f":START_ID({start_label})", f":END_ID({end_label})"]
    out = [
        [row[start], value]
        for row in rows
        if (target := row.get(end)) is not None
        for value in (dict.fromkeys(target) if isinstance(target, list) else (target,))
    ]
    return header, out


def change_rows(
    changed: dict[ChangeKind, list[str]], at: datetime
) -> tuple[tuple[list[str], list[list[Any]]], tuple[list[str], list[list[Any]]]]:
    """The ChangeFeed node (its counter at the number of changes) and the Change nodes that
    record_load would record for `changed`, numbered from 1."""
    when = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    changes = [
        [seq, account, kind, when]
        for seq, (kind, accounts) in enumerate(load_changes(changed), start=1)
        for account in accounts
    ]
    last = changes[-1][0] if changes else 0
    feed = (["id:ID(ChangeFeed)", "seq:long"], [["changes", last]])
    return feed, (["seq:long", "account_id", "kind", "at:datetime"], changes)


def _column(prop: Prop, rows: list[Row]) -> list[Any]:
    """A property's values as the importer reads them back to the values the upsert query sets
    (None: no property, as SET to null)."""
    values = [prop.value(row) for row in rows] if prop.value else [row.get(prop.name) for row in rows]
    if prop.kind == "double":
        return [None if v is None else repr(float(v)) for v in values]  # repr round-trips
    if prop.kind == "boolean":
        return [None if v is None else ("true" if v else "false") for v in values]
    if prop.kind == "date":
        return [None if v is None else v.isoformat() if isinstance(v, date) else str(v) for v in values]
    return values


def bought_table(pairs: PairLines) -> pa.Table:
    """One import row per account x product pair (columns named as BOUGHT_HEADER): the ledger and
    the aggregates that create_purchases writes (PairLines.aggregates), each column checked and
    turned into text by Arrow for every pair at once. Doubles become their shortest text that
    parses back to the same value ("2" for 2.0, as the importer reads it). 594k pairs of 2.3M demo
    lines: about 2 s, where a Python row per pair took 10 (measured 2026-12-02)."""
    totals = pairs.aggregates
    offsets = pa.array(pairs.bounds, type=pa.int64())

    def ledger(values: pa.Array) -> pa.Array:  # each pair's lines joined by the array delimiter
        return pc.binary_join(pa.LargeListArray.from_arrays(offsets, values), IMPORT_ARRAY_DELIMITER)

    columns = [
        _texts(pairs.account, "account id"),
        _texts(pairs.sku, "sku"),
        ledger(_texts(pairs.line_id, "order line id")),
        ledger(_texts(pairs.order_id, "order id")),
        ledger(pc.cast(pa.array(pairs.line_at, type=pa.int64()), pa.string())),
        ledger(_numbers(pairs.quantity, "quantity")),
        ledger(_numbers(pairs.revenue, "revenue")),
        pa.array(totals.orders, type=pa.int64()),
        _numbers(totals.quantity, "quantity"),
        _numbers(totals.revenue, "revenue"),
        _local_times(totals.first_at),
        _local_times(totals.last_at),
    ]
    return pa.Table.from_arrays(columns, names=list(BOUGHT_HEADER))


def write_bought(path: Path, pairs: PairLines) -> None:
    """The BOUGHT file: the header, then bought_table's rows, fields quoted only if one of them
    holds the field delimiter or a quote (Arrow's "none" style refuses those; then every text is
    quoted, which the importer reads the same)."""
    table = bought_table(pairs)
    for quoting in ("none", "needed"):
        with path.open("wb") as handle:
            handle.write((",".join(BOUGHT_HEADER) + "\n").encode())
            try:
                options = pa_csv.WriteOptions(include_header=False, quoting_style=quoting)
                pa_csv.write_csv(table, handle, options)
                return
            except pa.ArrowInvalid:
                if quoting == "needed":
                    raise


def _texts(values: npt.NDArray[np.object_], what: str) -> pa.Array:
    """The ids as Arrow text, refused if the importer would read one differently in the BOUGHT
    file: a line break (its multi-line mode would slow the whole file down) or the array
    delimiter."""
    texts = arrow_strings(values)
    unsafe = pc.match_substring_regex(texts, "[" + "".join(UNSAFE) + "]")
    if pc.any(unsafe).as_py():
        bad = texts[int(np.flatnonzero(unsafe.to_numpy(zero_copy_only=False))[0])].as_py()
        raise InvalidInput(
            f"{what} {bad!r} holds a line break or the character U+{ord(IMPORT_ARRAY_DELIMITER):04X}, "
            "which the offline importer cannot take; load without --initial"
        )
    return texts


def _numbers(values: npt.NDArray[np.float64], what: str) -> pa.Array:
    """Doubles as the importer parses them back to the same values (Arrow writes the shortest
    text that round-trips, as repr does)."""
    finite = np.isfinite(values)
    if not finite.all():
        bad = values[~finite][0]
        raise InvalidInput(
            f"{what} {bad!r} cannot be written by the offline importer; load without --initial"
        )
    return pc.cast(pa.array(values, type=pa.float64()), pa.string())


def _local_times(seconds: npt.NDArray[np.int64]) -> pa.Array:
    """Seconds since 1970-01-01 00:00 local business time as the importer's localdatetime text."""
    return pc.strftime(pa.array(seconds.astype("datetime64[s]")), "%Y-%m-%dT%H:%M:%S")


def _write_csv(path: Path, header: Iterable[str], rows: Iterable[list[Any]]) -> bool:
    """Write the file; whether a text in it holds a line break. Each row
    ends in CR LF, so the rows' text holds as many line feeds and carriage returns as rows
    exactly when none of its fields holds one (two counts over the text instead of a test per
    field: 1.8 of 5 CPU s for 285k demo lines). Rows ending in a bare LF would be shorter, but
    the importer's multi-line mode then takes a lone CR inside a quoted field for a line end."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        buffer = io.StringIO(newline="")
        counted = sum(1 for _ in map(csv.writer(buffer).writerow, rows))
        text = buffer.getvalue()
        handle.write(text)
    return text.count("\n") != counted or text.count("\r") != counted
