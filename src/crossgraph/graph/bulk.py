"""A first load at Neo4j's own speed (`crossgraph load --initial`): the purchases go into the
store through Neo4j's offline importer instead of transactions.

Only for an empty database on the project's local server. The checks are the transactional
load's (every file parsed, every reference resolved, nothing written on a bad row). Then the
importer writes the Account and Product nodes (keys only) and every BOUGHT with its ledger and
aggregates, computed by the same code as create_purchases; the server restarts, the schema is
applied, and every other table (the accounts' and products' properties included) is written
by the transactional load's own queries. The graph is the one `crossgraph load` gives.
"""

from __future__ import annotations

import csv
import tempfile
import time
from collections.abc import Iterable, Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from crossgraph.data.online_retail import read_online_retail
from crossgraph.data.orderlines import OrderLines
from crossgraph.errors import InvalidInput
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import (
    LoadReport,
    PairLines,
    Progress,
    Row,
    check_tables,
    online_retail_rows,
    read_directory,
    write_tables,
)
from crossgraph.graph.schema import init_schema
from crossgraph.server.local import IMPORT_ARRAY_DELIMITER, LocalServer
from crossgraph.settings import Settings

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
# What the importer would read differently from the value itself: a newline (fields may not
# span lines without the importer's slow multi-line mode) or the array delimiter.
UNSAFE = ("\n", "\r", IMPORT_ARRAY_DELIMITER)


def load_directory_initial(
    settings: Settings,
    directory: Path,
    *,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
    batch_size: int = 5000,
    progress: Progress | None = None,
) -> LoadReport:
    """`load_directory` into an empty database through the offline importer."""
    started = time.perf_counter()
    server = local_server(settings)
    tables = read_directory(directory)
    with Graph.connect(settings) as graph:
        require_empty(graph)
        report = check_tables(graph, tables, skip_invalid=skip_invalid, rejects_path=rejects_path)
    rows = {name: t.rows for name, t in tables.items() if name != "purchases"}
    purchases = tables["purchases"].rows if "purchases" in tables else []
    lines = OrderLines.from_rows(purchases) if purchases else OrderLines.empty()
    write_initial(server, rows, lines, report, batch_size, progress)
    report.seconds = time.perf_counter() - started
    return report


def import_online_retail_initial(
    settings: Settings, path: Path, *, batch_size: int = 5000, progress: Progress | None = None
) -> LoadReport:
    """`import_online_retail` into an empty database through the offline importer."""
    started = time.perf_counter()
    server = local_server(settings)
    with Graph.connect(settings) as graph:
        require_empty(graph)
    data = read_online_retail(path)
    report = LoadReport()
    write_initial(server, online_retail_rows(data), data.lines, report, batch_size, progress)
    report.seconds = time.perf_counter() - started
    return report


def local_server(settings: Settings) -> LocalServer:
    if not settings.uses_local_server:
        raise InvalidInput(
            "--initial writes the store with Neo4j's offline importer, which needs the project's "
            "local server (CROSSGRAPH_NEO4J_URI is set); load without --initial"
        )
    return LocalServer(settings)


def require_empty(graph: Graph) -> None:
    nodes = {row["label"]: int(row["count"]) for row in graph.read("count_nodes")}
    if nodes:
        held = ", ".join(f"{count:,} {label}" for label, count in nodes.items())
        raise InvalidInput(
            f"--initial loads only into an empty database; this one holds {held}; "
            "load without --initial (or empty it first with `crossgraph graph clear --yes`)"
        )


def write_initial(
    server: LocalServer,
    rows: dict[str, list[Row]],
    lines: OrderLines,
    report: LoadReport,
    batch_size: int,
    progress: Progress | None = None,
) -> str:
    """Import the checked rows' nodes and BOUGHT offline (the server is stopped meanwhile and
    started again), then write every other table as the transactional load does. Returns the
    importer's summary line."""
    pairs = PairLines.group(lines)
    settings = server.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="import-", dir=settings.data_dir) as tmp:
        folder = Path(tmp)
        accounts = _write_csv(folder / "accounts.csv", ["id:ID(Account)"], _keys(rows, "accounts", "id"))
        products = _write_csv(folder / "products.csv", ["sku:ID(Product)"], _keys(rows, "products", "sku"))
        nodes = [("Account", accounts), ("Product", products)]
        bought = _write_csv(folder / "bought.csv", BOUGHT_HEADER, bought_rows(pairs, batch_size))
        if progress:
            progress("import files", len(lines), len(lines))
        server.stop()
        try:
            summary = server.import_csv(nodes, [("BOUGHT", bought)], report=folder / "import.report")
        except Exception:
            server.drop_store()  # the database was empty: the next start makes it so again
            raise
        finally:
            server.start(echo=lambda _: None)
    if progress:
        progress("purchases", len(lines), len(lines))
    with Graph.connect(settings) as graph:
        init_schema(graph)
        write_tables(graph, rows, report, batch_size, progress)
    report.pairs = len(pairs)
    report.new_lines = len(lines)
    report.known_lines = 0
    report.rows["purchases"] = len(lines)
    return summary


def _keys(rows: dict[str, list[Row]], table: str, key: str) -> Iterator[list[str]]:
    for row in rows.get(table, []):
        yield [_safe(str(row[key]))]


def bought_rows(pairs: PairLines, batch_size: int) -> Iterator[list[Any]]:
    """One import row per account x product pair: the ledger and the aggregates that
    create_purchases writes, from the same batches."""
    for params, _ in pairs.batches(batch_size):
        accounts = params["accounts"]
        products = params["products"]
        first_at = np.array(params["first_at"], dtype="datetime64[s]").astype(str).tolist()
        last_at = np.array(params["last_at"], dtype="datetime64[s]").astype(str).tolist()
        for account, (first, stop) in zip(accounts, pairwise(params["account_pairs"]), strict=True):
            for i in range(first, stop):
                s, e = params["offsets"][i], params["offsets"][i + 1]
                yield [
                    _safe(account),
                    _safe(products[params["product_of_pair"][i]]),
                    _array(params["line_ids"][s:e]),
                    _array(params["order_ids"][s:e]),
                    _array(params["line_at"][s:e]),
                    _array(params["quantities"][s:e]),
                    _array(params["revenues"][s:e]),
                    params["orders"][i],
                    _number(params["quantity"][i]),
                    _number(params["revenue"][i]),
                    first_at[i],
                    last_at[i],
                ]


def _array(values: Iterable[Any]) -> str:
    return IMPORT_ARRAY_DELIMITER.join(
        _safe(v) if isinstance(v, str) else _number(v) if isinstance(v, float) else str(v) for v in values
    )


def _number(value: float) -> str:
    """A double as the importer parses it back to the same value (repr round-trips)."""
    if not np.isfinite(value):
        raise InvalidInput(f"{value!r} cannot be written by the offline importer; load without --initial")
    return repr(value)


def _safe(text: str) -> str:
    if any(c in text for c in UNSAFE):
        raise InvalidInput(
            f"{text!r} holds a line break or the character U+{ord(IMPORT_ARRAY_DELIMITER):04X}, "
            "which the offline importer cannot take; load without --initial"
        )
    return text


def _write_csv(path: Path, header: Iterable[str], rows: Iterable[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path
