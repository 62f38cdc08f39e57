"""The purchases file read as columns: the fast path of a load's biggest table.

The row path (tables.read_table) parses every cell with a Python callable: 7.9M order lines
take over a minute and hold a dict per line. Here pyarrow reads the file as text columns and
numpy/Arrow kernels check and convert whole columns at once, applying the rules of the
PURCHASES spec. The fast path only ever answers for a file the row path would accept as it
stands: on anything it does not handle exactly as the row path does (a problem in any cell, a
duplicate line_id, a value form it does not know, a file pyarrow and Python's csv might split
differently) it gives None, and the caller reads the file again row by row, so every message,
reject and line number is the row path's own.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from crossgraph.data.orderlines import FloatArray, OrderLines, StrArray, TimeArray
from crossgraph.data.tables import PURCHASES, ParsedTable, read_table
from crossgraph.data.textfile import is_gzip, open_text
from crossgraph.errors import InvalidInput

COLUMNS = tuple(column.name for column in PURCHASES.columns)
# What str.strip() strips (tables.TableRows strips every cell); Arrow's own whitespace set differs.
# Written out: computing it over every code point cost 0.1 s at each import (a unit test does).
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# Forms of a number that float() reads as Arrow's cast does (a subset of float()'s: no "_"
# between digits, no "inf"/"nan", no non-ASCII digits; those take the row path).
NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
# Forms of a time that datetime.fromisoformat reads as Arrow's cast does, in whole seconds and
# without a time zone (Arrow refuses 30 February and hour 24 as Python does; year 0 it takes).
TIMESTAMP = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?$"
FIRST_DAY = np.datetime64("0001-01-01T00:00:00", "s")  # datetime.min: Python has no year 0
BLOCK_BYTES = 16 << 20  # pyarrow's read unit; its default (1 MiB) spends time per block


def parse_purchases(path: Path) -> ParsedTable:
    """The purchases file as `read_table(PURCHASES, path)` parses it: as columns when the
    fast path takes the file, else row by row with the row path's problems."""
    table = read_purchase_table(path)
    lines = None if table is None else clean_order_lines(table)
    if lines is None:
        return read_table(PURCHASES, path)
    return ParsedTable(spec=PURCHASES, path=path, columnar=lines)


def read_purchase_table(path: Path) -> pa.Table | None:
    """The seven purchases columns as text, in file order; None when the file's header or
    text is anything but a plain CSV the row path would read the same way (it then tells)."""
    header = _header(path)
    if header is None:
        return None
    names = [name.strip() for name in header]
    if len(set(names)) != len(names) or not set(COLUMNS) <= set(names):
        return None
    try:
        with pa.input_stream(str(path), compression="gzip" if is_gzip(path) else None) as stream:
            table = pcsv.read_csv(
                stream,
                read_options=pcsv.ReadOptions(block_size=BLOCK_BYTES),
                # Quoted line breaks split where the row path splits only when the reader knows.
                parse_options=pcsv.ParseOptions(newlines_in_values=True),
                convert_options=pcsv.ConvertOptions(
                    column_types={name: pa.string() for name in header}, strings_can_be_null=False
                ),
            )
    except (pa.ArrowException, OSError):  # not UTF-8, a row of another width, damaged gzip
        return None
    if table.column_names != header:  # e.g. a blank first line: pyarrow skips it, csv does not
        return None
    return pa.table({name: table.column(names.index(name)) for name in COLUMNS})


def _header(path: Path) -> list[str] | None:
    """The first record as Python's csv reads it (the row path's header), or None for a file
    the row path refuses or finds empty."""
    try:
        with open_text(path) as handle:
            return next(csv.reader(handle), None)
    except (InvalidInput, csv.Error):
        return None


def clean_order_lines(table: pa.Table) -> OrderLines | None:
    """The order lines of a table from read_purchase_table, or None if any row has a problem
    the row path would report, or a value the row path might read differently. Column by
    column, so one stripped copy of the text is alive at a time."""
    limit = csv.field_size_limit()  # the row path stops at a longer cell (in characters: bytes >= them)
    if not all(_every(pc.less(pc.binary_length(table[name]), limit)) for name in COLUMNS):
        return None
    columns: dict[str, npt.NDArray[Any]] = {}
    for name, convert in CONVERSIONS.items():  # the cheap checks first: a bad file falls back sooner
        cells = pc.utf8_trim(table[name], characters=WHITESPACE)
        if not _every(pc.greater(pc.binary_length(cells), 0)):
            return None  # an empty cell: "value is empty"
        values = convert(cells)
        if values is None:
            return None
        columns[name] = values
    return OrderLines(
        line_id=columns["line_id"],
        order_id=columns["order_id"],
        account_id=columns["account_id"],
        sku=columns["sku"],
        quantity=columns["quantity"],
        revenue=columns["revenue"],
        ordered_at=columns["ordered_at"],
    )


def _quantities(cells: pa.ChunkedArray) -> FloatArray | None:
    values = _numbers(cells)
    return values if values is not None and np.all(values > 0) else None  # number(positive=True)


def _revenues(cells: pa.ChunkedArray) -> FloatArray | None:
    values = _numbers(cells)
    return values if values is not None and np.all(values >= 0) else None  # number(minimum=0)


def _numbers(column: pa.ChunkedArray) -> FloatArray | None:
    """float() of every cell, or None if a cell is not in the NUMBER form or not finite."""
    if not _every(pc.match_substring_regex(column, NUMBER)):
        return None
    try:
        values = pc.cast(column, pa.float64()).to_numpy()
    except pa.ArrowInvalid:
        return None
    return values if np.isfinite(values).all() else None


def _timestamps(column: pa.ChunkedArray) -> TimeArray | None:
    """datetime64[s] of every cell, or None if a cell is not in the TIMESTAMP form or not a
    real date and time."""
    if not _every(pc.match_substring_regex(column, TIMESTAMP)):
        return None
    try:
        times = pc.cast(column, pa.timestamp("s"))
    except pa.ArrowInvalid:
        return None
    values = np.asarray(times.to_numpy(), dtype="datetime64[s]")
    return values if np.all(values >= FIRST_DAY) else None


def _every(mask: pa.ChunkedArray) -> bool:
    """All true (also for no lines at all, where pc.all gives null)."""
    return bool(pc.all(mask, min_count=0).as_py())


def _unique_objects(column: pa.ChunkedArray) -> StrArray | None:
    """The cells as str objects, or None when a value repeats (the key: the row path collapses
    a repeated line or refuses it)."""
    values = _one_chunk(column)
    if len(pc.unique(values)) != len(values):  # count_distinct takes 7x longer (pyarrow 26)
        return None
    out: StrArray = values.to_numpy(zero_copy_only=False)
    return out


def _shared_objects(column: pa.ChunkedArray) -> StrArray:
    """The cells as str objects, one object per distinct value (ids repeat over many lines:
    one str per line would cost tens of bytes each)."""
    encoded = pc.dictionary_encode(_one_chunk(column))
    distinct = np.empty(len(encoded.dictionary), dtype=object)
    distinct[:] = encoded.dictionary.to_pylist()
    out: StrArray = distinct[encoded.indices.to_numpy(zero_copy_only=False)]
    return out


def _one_chunk(column: pa.ChunkedArray) -> pa.Array:
    """The column as one array; large_string, whose 64-bit offsets hold any file (a string
    array's 32-bit offsets end at 2 GiB of text)."""
    return column.cast(pa.large_string()).combine_chunks()


CONVERSIONS: dict[str, Callable[[pa.ChunkedArray], npt.NDArray[Any] | None]] = {
    "quantity": _quantities,
    "revenue": _revenues,
    "ordered_at": _timestamps,
    "line_id": _unique_objects,
    "order_id": _shared_objects,
    "account_id": _shared_objects,
    "sku": _shared_objects,
}
