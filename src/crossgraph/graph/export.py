"""Reading what training needs out of the graph: order lines, installed base, accounts, products."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import numpy as np

from crossgraph.data.orderlines import OrderLines
from crossgraph.graph.driver import Graph
from crossgraph.graph.feedback import won_deals

Progress = Callable[[str, int, int], None]


COLUMNS = ("line_id", "order_id", "account_id", "sku", "at", "q", "r")


def export_order_lines(
    graph: Graph, *, before: datetime | None = None, progress: Progress | None = None, parts: int = 2
) -> OrderLines:
    """Every order line in the BOUGHT ledgers (strictly before `before`, if given), plus won
    deals from the feedback loop for pairs that have no BOUGHT yet (line id feedback:<id>).

    The accounts are read in `parts` ranges of their ids at once: Neo4j runs each query on one
    thread, so two ranges keep both cores of a small server busy (100k accounts, 7.9M lines:
    31 s -> 18 s of server time)."""
    cutoff = int(np.datetime64(before, "s").astype(np.int64)) if before is not None else None
    bounds: list[str | None] = [None, None]
    if parts > 1:
        inner = graph.read("account_id_bounds", {"parts": parts})[0]["bounds"]
        bounds = [None, *(b for b in inner if b is not None), None]  # no accounts: no bounds
    done = [0]

    def read(lo: str | None, hi: str | None) -> dict[str, list[Any]]:
        columns: dict[str, list[Any]] = {k: [] for k in COLUMNS}
        chain = itertools.chain.from_iterable
        for row in graph.stream("export_order_lines", {"before": cutoff, "lo": lo, "hi": hi}):
            sizes = [len(ids) for ids in row["line_ids"]]
            columns["line_id"].extend(chain(row["line_ids"]))
            columns["order_id"].extend(chain(row["order_ids"]))
            columns["account_id"].extend(itertools.repeat(row["account_id"], sum(sizes)))
            columns["sku"].extend(chain(map(itertools.repeat, row["skus"], sizes)))
            columns["at"].extend(chain(row["line_at"]))
            columns["q"].extend(chain(row["quantities"]))
            columns["r"].extend(chain(row["revenues"]))
            done[0] += 1
            if progress and done[0] % 10_000 == 0:
                progress("export", done[0], 0)
        return columns

    ranges = list(itertools.pairwise(bounds))
    with ThreadPoolExecutor(len(ranges), thread_name_prefix="crossgraph-export") as pool:
        pieces = list(pool.map(lambda r: read(*r), ranges))
    columns = {k: list(itertools.chain.from_iterable(piece[k] for piece in pieces)) for k in COLUMNS}
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


def export_installed(graph: Graph) -> list[tuple[str, str]]:
    """(account id, sku) for every product an account has installed (Asset OF_MODEL)."""
    rows = graph.read("export_installed")
    if not rows:
        return []
    return list(zip(map(str, rows[0]["account_ids"]), map(str, rows[0]["skus"]), strict=True))
