"""A first load at Neo4j's own speed (`crossgraph load --initial`): every table goes into the
store through Neo4j's offline importer instead of transactions.

Only for an empty database on the project's local server. The checks are the transactional
load's (every file parsed, every reference resolved, nothing written on a bad row). Then the
importer writes every node, relationship and property the transactional load's queries would
write into the empty graph (graph/bulk_files.py): the tables' nodes and links, the categories,
every BOUGHT with its ledger and aggregates (computed by the same code as create_purchases)
and, for `crossgraph load`, the change feed that record_load writes after a load. The server
restarts and the schema is applied in one transaction. The graph is the one `crossgraph load`
gives.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from crossgraph.data.online_retail import read_online_retail
from crossgraph.data.orderlines import OrderLines
from crossgraph.data.tables import TABLES
from crossgraph.errors import InvalidInput, Neo4jServerError
from crossgraph.graph.bulk_files import write_import_files
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import (
    GC_FREEZE_LINES,
    LoadReport,
    PairLines,
    Progress,
    Row,
    check_tables,
    gc_frozen,
    online_retail_rows,
    read_directory,
)
from crossgraph.graph.schema import init_schema
from crossgraph.server.local import LocalServer
from crossgraph.settings import Settings


def load_directory_initial(
    settings: Settings,
    directory: Path,
    *,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
) -> LoadReport:
    """`load_directory` into an empty database through the offline importer, with the change
    feed `crossgraph load` records after it (record_load)."""
    started = time.perf_counter()
    server = local_server(settings)
    tables = read_directory(directory)
    with Graph.connect(settings) as graph:
        require_empty(graph)
        report = check_tables(graph, tables, skip_invalid=skip_invalid, rejects_path=rejects_path)
    rows = {name: t.rows for name, t in tables.items() if name != "purchases"}
    lines = tables["purchases"].order_lines() if "purchases" in tables else OrderLines.empty()
    write_initial(server, rows, lines, report, progress, record_changes=True)
    report.seconds = time.perf_counter() - started
    return report


def import_online_retail_initial(
    settings: Settings, path: Path, *, progress: Progress | None = None
) -> LoadReport:
    """`import_online_retail` into an empty database through the offline importer, with the
    change feed `crossgraph import online-retail` records after it (record_load)."""
    started = time.perf_counter()
    server = local_server(settings)
    with Graph.connect(settings) as graph:
        require_empty(graph)
    data = read_online_retail(path)
    report = LoadReport()
    write_initial(server, online_retail_rows(data), data.lines, report, progress, record_changes=True)
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
    progress: Progress | None = None,
    *,
    record_changes: bool = False,
) -> str:
    """Import the checked rows of every table and the order lines offline (the server is
    stopped meanwhile and started again), then apply the schema. With `record_changes`, the
    change feed is imported as record_load would write it after the transactional load.
    Returns the importer's summary line."""

    def done(stage: str) -> None:  # each step as a finished progress stage (the benchmark times them)
        if progress:
            progress(stage, 1, 1)

    settings = server.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="import-", dir=settings.data_dir) as tmp:
        folder = Path(tmp)
        # No cyclic GC passes over the parsed rows while the pairs and the files are made (2.3M
        # demo lines: the files in 6.6 s instead of 10.6); one freeze, one full collection.
        with gc_frozen(len(lines) >= GC_FREEZE_LINES):
            pairs = PairLines.group(lines)
            for spec in TABLES:  # what write_tables and write_purchases report
                if spec.name != "purchases" and rows.get(spec.name):
                    report.rows[spec.name] = len(rows[spec.name])
            if rows.get("accounts"):
                report.changed["accounts"] = [str(row["id"]) for row in rows["accounts"]]
            if len(lines):
                report.changed["purchases"] = list(dict.fromkeys(pairs.account.tolist()))
                report.rows["purchases"] = len(lines)
            report.pairs = len(pairs)
            report.new_lines = len(lines)
            report.known_lines = 0
            files = write_import_files(folder, rows, pairs, report.changed if record_changes else None)
        done("import files")
        server.stop()
        done("server stop")
        try:
            summary = server.import_csv(
                files.nodes, files.relationships, report=folder / "import.report", multiline=files.multiline
            )
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
    return summary
