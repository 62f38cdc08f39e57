"""Order lines as Parquet (`crossgraph export --parquet DIR`): the Spark engine's input format,
and what a data lake already holds. Needs pyarrow (the `spark` extra).

    DIR/order_lines.parquet   line_id, order_id, account_id, sku (string), quantity, revenue
                              (float64), ordered_at (timestamp[s], local business time)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from crossgraph.data.orderlines import OrderLines
from crossgraph.errors import InvalidInput

FILE = "order_lines.parquet"
STRINGS = ("line_id", "order_id", "account_id", "sku")


def _arrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise InvalidInput("Parquet needs pyarrow: pip install 'crossgraph[spark]'") from exc
    return pa, pq


def write_order_lines(lines: OrderLines, folder: Path) -> Path:
    """Write `lines` to folder/order_lines.parquet (the folder is created); returns the file."""
    pa, pq = _arrow()
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            **{name: pa.array(getattr(lines, name).astype(str), type=pa.string()) for name in STRINGS},
            "quantity": pa.array(lines.quantity.astype(np.float64)),
            "revenue": pa.array(lines.revenue.astype(np.float64)),
            "ordered_at": pa.array(lines.ordered_at.astype("datetime64[s]"), type=pa.timestamp("s")),
        }
    )
    path = folder / FILE
    pq.write_table(table, path)
    return path


def read_order_lines(folder: Path) -> OrderLines:
    """The order lines of folder/order_lines.parquet, as write_order_lines wrote them."""
    _, pq = _arrow()
    path = folder / FILE
    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{path}: cannot be read as Parquet order lines ({exc})") from exc
    missing = [c for c in (*STRINGS, "quantity", "revenue", "ordered_at") if c not in table.column_names]
    if missing:
        raise InvalidInput(f"{path}: no column {', '.join(missing)}")
    column = {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}
    return OrderLines(
        **{name: column[name].astype(object) for name in STRINGS},
        quantity=column["quantity"].astype(np.float64),
        revenue=column["revenue"].astype(np.float64),
        ordered_at=column["ordered_at"].astype("datetime64[s]"),
    )
