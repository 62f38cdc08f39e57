"""Reading what training needs out of the graph: order lines, accounts, products."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np

from crossgraph.data.orderlines import OrderLines
from crossgraph.graph.driver import Graph
from crossgraph.graph.feedback import won_deals

Progress = Callable[[str, int, int], None]


def export_order_lines(
    graph: Graph, *, before: datetime | None = None, progress: Progress | None = None
) -> OrderLines:
    """Every order line in the BOUGHT ledgers (strictly before `before`, if given), plus won
    deals from the feedback loop for pairs that have no BOUGHT yet (line id feedback:<id>)."""
    columns: dict[str, list[Any]] = {
        k: [] for k in ("line_id", "order_id", "account_id", "sku", "at", "q", "r")
    }
    cutoff = int(np.datetime64(before, "s").astype(np.int64)) if before is not None else None
    for pairs, row in enumerate(graph.stream("export_order_lines", {"before": cutoff}), start=1):
        n = len(row["line_ids"])
        columns["line_id"].extend(row["line_ids"])
        columns["order_id"].extend(row["order_ids"])
        columns["account_id"].extend([row["account_id"]] * n)
        columns["sku"].extend([row["sku"]] * n)
        columns["at"].extend(row["line_at"])
        columns["q"].extend(row["quantities"])
        columns["r"].extend(row["revenues"])
        if progress and pairs % 10_000 == 0:
            progress("export", pairs, 0)
    for deal in won_deals(graph, cutoff):  # won deals count as purchases until the order arrives
        columns["line_id"].append(f"feedback:{deal['id']}")
        columns["order_id"].append(f"feedback:{deal['id']}")
        columns["account_id"].append(deal["account_id"])
        columns["sku"].append(deal["sku"])
        columns["at"].append(deal["at"])
        columns["q"].append(1.0)
        columns["r"].append(float(deal["revenue"] or 0.0))
    return OrderLines(
        line_id=np.array(columns["line_id"], dtype=object),
        order_id=np.array(columns["order_id"], dtype=object),
        account_id=np.array(columns["account_id"], dtype=object),
        sku=np.array(columns["sku"], dtype=object),
        quantity=np.array(columns["q"], dtype=np.float64),
        revenue=np.array(columns["r"], dtype=np.float64),
        ordered_at=np.array(columns["at"], dtype=np.int64).view("datetime64[s]"),
    )


def export_accounts(graph: Graph) -> list[dict[str, Any]]:
    return list(graph.stream("export_accounts"))


def export_products(graph: Graph) -> list[dict[str, Any]]:
    return list(graph.stream("export_products"))
