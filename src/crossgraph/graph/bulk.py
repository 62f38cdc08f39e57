"""A first load at Neo4j's own speed (`crossgraph load --initial`): the purchases go into the
store through Neo4j's offline importer instead of transactions.

Only for an empty database on the project's local server. The checks are the transactional
load's (every file parsed, every reference resolved, nothing written on a bad row). Then the
importer writes the Account and Product nodes with the properties upsert_accounts and
upsert_products set, the categories and the PART_OF, IN_CATEGORY and FITS links, and every
BOUGHT with its ledger and aggregates, computed by the same code as create_purchases; the
server restarts, the schema is applied in one transaction, and every other table is written by
the transactional load's own queries. The graph is the one `crossgraph load` gives.

A property text holding a line break cannot go through the importer (fields may not span lines
without its slow multi-line mode): that table's nodes are then imported by key only and its
properties and links written by the transactional queries after the restart, as before.
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
# The nodes' properties as upsert_accounts and upsert_products set them (an empty field is no
# property, as SET to null is).
ACCOUNT_HEADER = ("id:ID(Account)", "name", "industry", "country", "size_band", "owner", "segment")
PRODUCT_HEADER = (
    "sku:ID(Product)",
    "name",
    "category",
    "kind",
    "tier",
    "active:boolean",
    "list_price:double",
    "margin:double",
)
# What the importer would read differently from the value itself (see _texts).
LINE_BREAKS = ("\n", "\r")
UNSAFE = (*LINE_BREAKS, IMPORT_ARRAY_DELIMITER)


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
    """Import the checked rows' accounts, products, their links and BOUGHT offline (the server
    is stopped meanwhile and started again), apply the schema, then write every other table as
    the transactional load does. Returns the importer's summary line."""

    def done(stage: str) -> None:  # each step as a finished progress stage (the benchmark times them)
        if progress:
            progress(stage, 1, 1)

    pairs = PairLines.group(lines)
    settings = server.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Tables whose properties and links the importer writes (see the module's docstring).
    imported = {name for name in ("accounts", "products") if importable(rows.get(name, []))}
    with tempfile.TemporaryDirectory(prefix="import-", dir=settings.data_dir) as tmp:
        folder = Path(tmp)
        nodes, links = import_files(folder, rows, pairs, imported)
        done("import files")
        server.stop()
        done("server stop")
        try:
            summary = server.import_csv(nodes, links, report=folder / "import.report")
            done("offline import")
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
    done("server start")
    with Graph.connect(settings) as graph:
        init_schema(graph)
        done("schema")
        write_tables(
            graph, {n: t for n, t in rows.items() if n not in imported}, report, batch_size, progress
        )
    for name in sorted(imported):
        if rows.get(name):  # what write_tables reports for the tables it writes
            report.rows[name] = len(rows[name])
    if "accounts" in imported and rows.get("accounts"):
        report.changed["accounts"] = [str(row["id"]) for row in rows["accounts"]]
    report.pairs = len(pairs)
    report.new_lines = len(lines)
    report.known_lines = 0
    report.rows["purchases"] = len(lines)
    return summary


def import_files(
    folder: Path, rows: dict[str, list[Row]], pairs: PairLines, imported: set[str]
) -> tuple[list[tuple[str, Path]], list[tuple[str, Path]]]:
    """The importer's node and relationship files, as (label or type, path): the accounts and
    products (with their properties if `imported` names their table), the categories and
    links of the tables imported, and BOUGHT."""
    accounts, products = rows.get("accounts", []), rows.get("products", [])
    nodes = [
        ("Account", _write_csv(folder / "accounts.csv", *account_nodes(rows, "accounts" in imported))),
        ("Product", _write_csv(folder / "products.csv", *product_nodes(rows, "products" in imported))),
    ]
    links = [("BOUGHT", _write_csv(folder / "bought.csv", BOUGHT_HEADER, bought_rows(pairs)))]
    if "accounts" in imported:
        links.append(("PART_OF", _write_csv(folder / "part_of.csv", *part_of_rows(accounts))))
    if "products" in imported:
        categories = sorted({str(p["category"]) for p in products if p.get("category") is not None})
        header = ["name:ID(Category)"]
        nodes.append(("Category", _write_csv(folder / "categories.csv", header, ([c] for c in categories))))
        links.append(("IN_CATEGORY", _write_csv(folder / "in_category.csv", *in_category_rows(products))))
        links.append(("FITS", _write_csv(folder / "fits.csv", *fits_rows(products))))
    return nodes, links


def importable(rows: list[Row]) -> bool:
    """Whether every property text of these account or product rows can go through the
    importer (no line break; the keys are checked by _texts)."""
    return not any(
        isinstance(value, str) and any(c in value for c in LINE_BREAKS)
        for row in rows
        for value in row.values()
    )


def account_nodes(
    rows: dict[str, list[Row]], with_properties: bool
) -> tuple[tuple[str, ...], Iterator[list[Any]]]:
    """The Account file: header and rows, with the properties or the keys only."""
    ids = _keys(rows, "accounts", "id")
    if not with_properties:
        return ACCOUNT_HEADER[:1], ([key] for key in ids)
    return ACCOUNT_HEADER, (
        [
            key,
            row.get("name"),
            row.get("industry"),
            row.get("country"),
            row.get("size_band"),
            row.get("owner"),
            _first(row, "segment", "industry", "country"),  # upsert_accounts' coalesce
        ]
        for key, row in zip(ids, rows["accounts"], strict=True)
    )


def product_nodes(
    rows: dict[str, list[Row]], with_properties: bool
) -> tuple[tuple[str, ...], Iterator[list[Any]]]:
    """The Product file: header and rows, with the properties or the keys only."""
    skus = _keys(rows, "products", "sku")
    if not with_properties:
        return PRODUCT_HEADER[:1], ([key] for key in skus)
    return PRODUCT_HEADER, (
        [
            key,
            row.get("name"),
            row.get("category"),
            row.get("kind"),
            row.get("tier"),
            _boolean(row.get("active")),
            _double(row.get("list_price")),
            _double(row.get("margin")),
        ]
        for key, row in zip(skus, rows["products"], strict=True)
    )


def part_of_rows(accounts: list[Row]) -> tuple[tuple[str, ...], Iterator[list[Any]]]:
    """(:Account)-[:PART_OF]->(:Account) as link_account_parents writes it."""
    return (":START_ID(Account)", ":END_ID(Account)"), (
        [row["id"], row["parent_id"]] for row in accounts if row.get("parent_id") is not None
    )


def in_category_rows(products: list[Row]) -> tuple[tuple[str, ...], Iterator[list[Any]]]:
    """(:Product)-[:IN_CATEGORY]->(:Category) as upsert_products writes it."""
    return (":START_ID(Product)", ":END_ID(Category)"), (
        [row["sku"], row["category"]] for row in products if row.get("category") is not None
    )


def fits_rows(products: list[Row]) -> tuple[tuple[str, ...], Iterator[list[Any]]]:
    """(:Product)-[:FITS]->(:Product) as link_product_fits writes it: one per distinct machine."""
    return (":START_ID(Product)", ":END_ID(Product)"), (
        [row["sku"], machine] for row in products for machine in dict.fromkeys(row.get("fits") or [])
    )


def _first(row: Row, *columns: str) -> Any:
    return next((row[c] for c in columns if row.get(c) is not None), None)


def _boolean(value: Any) -> str | None:
    return None if value is None else "true" if value else "false"


def _double(value: Any) -> str | None:
    return None if value is None else repr(float(value))


def _keys(rows: dict[str, list[Row]], table: str, key: str) -> list[str]:
    values = np.empty(len(rows.get(table, [])), dtype=object)
    values[:] = [row[key] for row in rows.get(table, [])]
    return _texts(values, NOUNS[table] + " " + key)


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
