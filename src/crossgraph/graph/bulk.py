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
import numpy.typing as npt

from crossgraph.data.online_retail import read_online_retail
from crossgraph.data.orderlines import OrderLines
from crossgraph.errors import InvalidInput, Neo4jServerError
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import (
    NOUNS,
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
# What the importer would read differently from the value itself (see _texts).
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
        bought = _write_csv(folder / "bought.csv", BOUGHT_HEADER, bought_rows(pairs))
        if progress:
            progress("import files", len(lines), len(lines))
        server.stop()
        try:
            summary = server.import_csv(nodes, [("BOUGHT", bought)], report=folder / "import.report")
        except Neo4jServerError as exc:
            server.drop_store()  # the database was empty: the next start makes it so again
            raise Neo4jServerError(
                f"{exc}\nThe importer's partial store was removed: the database is empty again; "
                "nothing was loaded"
            ) from exc
        except BaseException:
            server.drop_store()
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
    values = np.empty(len(rows.get(table, [])), dtype=object)
    values[:] = [row[key] for row in rows.get(table, [])]
    for text in _texts(values, NOUNS[table] + " " + key):
        yield [text]


def bought_rows(pairs: PairLines) -> Iterator[list[Any]]:
    """One import row per account x product pair: the ledger and the aggregates that
    create_purchases writes (PairLines.aggregates). Every value is checked and turned into text
    once per column, not once per pair: 266k pairs of Online Retail in about 1 s instead of 7."""
    totals = pairs.aggregates
    accounts = _texts(pairs.account, "account id")
    skus = _texts(pairs.sku, "sku")
    line_ids = _texts(pairs.line_id, "order line id")
    order_ids = _texts(pairs.order_id, "order id")
    line_at = list(map(str, pairs.line_at.tolist()))
    quantities = _numbers(pairs.quantity, "quantity")
    revenues = _numbers(pairs.revenue, "revenue")
    quantity = _numbers(totals.quantity, "quantity")
    revenue = _numbers(totals.revenue, "revenue")
    orders = totals.orders.tolist()
    first_at = totals.first_at.astype("datetime64[s]").astype(str).tolist()
    last_at = totals.last_at.astype("datetime64[s]").astype(str).tolist()
    join = IMPORT_ARRAY_DELIMITER.join
    for i, (s, e) in enumerate(pairwise(pairs.bounds.tolist())):
        yield [
            accounts[i],
            skus[i],
            join(line_ids[s:e]),
            join(order_ids[s:e]),
            join(line_at[s:e]),
            join(quantities[s:e]),
            join(revenues[s:e]),
            orders[i],
            quantity[i],
            revenue[i],
            first_at[i],
            last_at[i],
        ]


def _texts(values: npt.NDArray[np.object_], what: str) -> list[str]:
    """The values as text, refused if the importer would read one differently: a line break
    (fields may not span lines without the importer's slow multi-line mode) or the array
    delimiter."""
    texts = list(map(str, values.tolist()))
    joined = "".join(texts)
    if any(c in joined for c in UNSAFE):
        bad = next(t for t in texts if any(c in t for c in UNSAFE))
        raise InvalidInput(
            f"{what} {bad!r} holds a line break or the character U+{ord(IMPORT_ARRAY_DELIMITER):04X}, "
            "which the offline importer cannot take; load without --initial"
        )
    return texts


def _numbers(values: npt.NDArray[np.float64], what: str) -> list[str]:
    """Doubles as the importer parses them back to the same values (repr round-trips)."""
    finite = np.isfinite(values)
    if not finite.all():
        bad = values[~finite][0]
        raise InvalidInput(
            f"{what} {bad!r} cannot be written by the offline importer; load without --initial"
        )
    return list(map(repr, values.tolist()))


def _write_csv(path: Path, header: Iterable[str], rows: Iterable[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path
