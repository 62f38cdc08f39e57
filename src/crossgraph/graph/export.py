"""Reading what training needs out of the graph: order lines, installed base, accounts, products."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

from crossgraph.data.orderlines import OrderLines
from crossgraph.data.parquet import arrow_schema, lines_from_arrow
from crossgraph.graph.driver import Graph
from crossgraph.graph.feedback import won_deals

Progress = Callable[[str, int, int], None]


COLUMNS = ("line_id", "order_id", "account_id", "sku", "at", "q", "r")  # as read (STRINGS first)


def export_order_lines(
    graph: Graph,
    *,
    before: datetime | None = None,
    progress: Progress | None = None,
    accounts_per_read: int | None = None,
    readers: int = 2,
    line_ids: bool = True,
) -> OrderLines:
    """Every order line in the BOUGHT ledgers (strictly before `before`, if given), plus won
    deals from the feedback loop for pairs that have no BOUGHT yet (line id feedback:<id>).

    The accounts are read in ranges of their ids, `accounts_per_read` accounts a range
    (EXPORT_ACCOUNTS_PER_READ unless given), `readers` ranges at once: Neo4j runs each query on
    one thread, so two keep both cores of a small server busy (100k accounts, 7.9M lines: 31 s
    -> 18 s of server time), and each query holds only its range's ledgers in the server's
    transaction memory (two ranges of 50k accounts outgrew the default 1 GiB limit).

    Without `line_ids` (training) the ids of the lines are neither sent nor kept
    (OrderLines.has_line_ids): at 100k accounts 7.9M strings less to decode and hold."""
    cutoff = int(np.datetime64(before, "s").astype(np.int64)) if before is not None else None
    size = accounts_per_read or EXPORT_ACCOUNTS_PER_READ
    ranges = graph.read("account_id_bounds", {"size": size})[0]["ranges"]  # [first, last] ids
    done = [0]

    def read(first: str, last: str) -> list[pa.RecordBatch]:
        batches, columns = [], Columns(line_ids)
        params = {"before": cutoff, "first": first, "last": last, "line_ids": line_ids}
        for row in graph.stream("export_order_lines", params):
            columns.add_pairs(row)
            done[0] += 1
            if len(columns) >= BATCH_LINES:
                batches.append(columns.batch())
                columns = Columns(line_ids)
            if progress and done[0] % 10_000 == 0:
                progress("export", done[0], 0)
        return [*batches, columns.batch()]

    with ThreadPoolExecutor(max(1, readers), thread_name_prefix="crossgraph-export") as pool:
        pieces = list(pool.map(lambda r: read(*r), ranges))
    won = Columns(line_ids)
    for deal in won_deals(graph, cutoff):  # won deals count as purchases until the order arrives
        won.add(
            f"feedback:{deal['id']}",
            deal["account_id"],
            deal["sku"],
            deal["at"],
            float(deal["revenue"] or 0.0),
        )
    table = pa.Table.from_batches(
        [*itertools.chain.from_iterable(pieces), won.batch()], arrow_schema(line_ids)
    )
    del pieces
    lines = lines_from_arrow(table, "the graph's BOUGHT ledgers")
    del table
    pa.default_memory_pool().release_unused()
    return lines


# Accounts per export query: at the demo's 80 lines an account, about 800k lines (well under
# 100 MB of the server's transaction memory), and 100 queries at 1M accounts.
EXPORT_ACCOUNTS_PER_READ = 10_000
# Lines per Arrow batch while exporting: the rows' Python values live only this long, and the
# lines end as Arrow columns, then as lines_from_arrow's shared ids and numeric arrays (100k
# accounts, 7.9M lines, benchmarks/export.py: the lines training starts from held 2.7-2.8 GB
# as lists of the driver's values, 1.5 GB so; peak 3.1 GB -> 2.5-3.1 GB).
BATCH_LINES = 200_000


class Columns:
    """Order lines being read, column by column, until they become one Arrow batch (without
    the line_id column when the ids are not read)."""

    def __init__(self, line_ids: bool = True) -> None:
        self.line_ids = line_ids
        self.values: dict[str, list[Any]] = {k: [] for k in COLUMNS}

    def __len__(self) -> int:
        return len(self.values["q"])

    def add_pairs(self, row: dict[str, Any]) -> None:
        """An export_order_lines row: one account's pairs, each with its ledger."""
        chain, columns = itertools.chain.from_iterable, self.values
        sizes = [len(at) for at in row["line_at"]]
        if self.line_ids:
            columns["line_id"].extend(chain(row["line_ids"]))
        columns["order_id"].extend(chain(row["order_ids"]))
        columns["account_id"].extend(itertools.repeat(row["account_id"], sum(sizes)))
        columns["sku"].extend(chain(map(itertools.repeat, row["skus"], sizes)))
        columns["at"].extend(chain(row["line_at"]))
        columns["q"].extend(chain(row["quantities"]))
        columns["r"].extend(chain(row["revenues"]))

    def add(self, line_id: str, account_id: str, sku: str, at: int, revenue: float) -> None:
        """One line of its own order, quantity 1 (a won deal)."""
        for name, value in zip(COLUMNS, (line_id, line_id, account_id, sku, at, 1.0, revenue), strict=True):
            if name != "line_id" or self.line_ids:
                self.values[name].append(value)

    def batch(self) -> pa.RecordBatch:
        v = self.values
        at = np.array(v["at"], dtype=np.int64).view("datetime64[s]")
        strings = [pa.array(v[k], pa.string()) for k in COLUMNS[:4] if k != "line_id" or self.line_ids]
        numbers = [pa.array(v[k], pa.float64()) for k in "qr"]
        return pa.RecordBatch.from_arrays(
            [*strings, *numbers, pa.array(at, pa.timestamp("s"))], schema=arrow_schema(self.line_ids)
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
