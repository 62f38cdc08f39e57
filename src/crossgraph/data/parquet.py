"""Order lines as Parquet (`crossgraph export --parquet DIR`): the Spark engine's input format,
and what a data lake already holds. Read with pyarrow (a core dependency).

    DIR/order_lines.parquet   line_id, order_id, account_id, sku (string), quantity, revenue
                              (float64), ordered_at (timestamp[s], local business time)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from crossgraph.data.orderlines import LineCodes, OrderLines
from crossgraph.errors import InvalidInput

FILE = "order_lines.parquet"
STRINGS = ("line_id", "order_id", "account_id", "sku")
COLUMNS = (*STRINGS, "quantity", "revenue", "ordered_at")


def arrow_schema(line_ids: bool = True) -> Any:
    """The Arrow schema of order lines (the Parquet file's, the graph export's), without the
    line_id column when `line_ids` is False."""
    import pyarrow as pa

    types = {name: pa.string() for name in STRINGS}
    types |= {"quantity": pa.float64(), "revenue": pa.float64(), "ordered_at": pa.timestamp("s")}
    return pa.schema([(name, kind) for name, kind in types.items() if line_ids or name != "line_id"])


def _arrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise InvalidInput("Parquet needs pyarrow: pip install 'crossgraph[spark]'") from exc
    return pa, pq


def write_order_lines(lines: OrderLines, folder: Path) -> Path:
    """Write `lines` to folder/order_lines.parquet (the folder is created); returns the file."""
    lines.require_line_ids("write them as Parquet")
    pa, pq = _arrow()
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            **{name: getattr(lines, name).astype(str) for name in STRINGS},
            "quantity": lines.quantity,
            "revenue": lines.revenue,
            "ordered_at": lines.ordered_at.astype("datetime64[s]"),
        },
        schema=arrow_schema(),
    )
    path = folder / FILE
    pq.write_table(table, path)
    return path


def read_order_lines(folder: Path, *, line_ids: bool = True) -> OrderLines:
    """The order lines of folder/order_lines.parquet, as write_order_lines wrote them; without
    `line_ids` (training) that column is not read (OrderLines.has_line_ids)."""
    pa, pq = _arrow()
    path = folder / FILE
    try:
        missing = [c for c in COLUMNS if c not in pq.read_schema(path).names]
        if missing:
            raise InvalidInput(f"{path}: no column {', '.join(missing)}")
        table = pq.read_table(path, columns=arrow_schema(line_ids).names)
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{path}: cannot be read as Parquet order lines ({exc})") from exc
    lines = lines_from_arrow(table, str(path))
    del table
    pa.default_memory_pool().release_unused()  # mimalloc keeps the freed table otherwise (1.4 GB at 100k)
    return lines


def lines_from_arrow(table: Any, source: str) -> OrderLines:
    """OrderLines from an Arrow table with write_order_lines' columns (line_id may be left out:
    OrderLines.has_line_ids). The id columns come dictionary-decoded (each distinct account,
    sku and order id one str object that its lines share) with the codes training builds its
    matrices from: at 100k accounts (7.9M lines, line ids included) the lines with their codes
    held 2.62 GB read value by value, 1.46 GB so (benchmarks/README.md, "export.py and
    scale.py --engines")."""
    import pyarrow.compute as pc

    from crossgraph.data.codes import factorize_arrow

    has_line_ids = "line_id" in table.column_names
    nulls = [name for name in table.column_names if name in COLUMNS and table.column(name).null_count]
    if nulls:
        raise InvalidInput(f"{source}: empty values in column {', '.join(nulls)}")
    strings = {name: pc.cast(table.column(name), "string") for name in STRINGS if name in table.column_names}
    accounts, account = factorize_arrow(strings["account_id"])
    skus, sku = factorize_arrow(strings["sku"])
    orders, order = factorize_arrow(strings["order_id"], sort=False)
    number = {name: table.column(name).to_numpy() for name in ("quantity", "revenue", "ordered_at")}
    return OrderLines(
        line_id=strings["line_id"].to_numpy(zero_copy_only=False).astype(object, copy=False)
        if has_line_ids
        else np.full(len(account), "", dtype=object),
        order_id=orders[order],
        account_id=accounts[account],
        sku=skus[sku],
        quantity=number["quantity"].astype(np.float64),
        revenue=number["revenue"].astype(np.float64),
        ordered_at=number["ordered_at"].astype("datetime64[s]"),
        known_codes=LineCodes(accounts, account, skus, sku, order),
        has_line_ids=has_line_ids,
    )
