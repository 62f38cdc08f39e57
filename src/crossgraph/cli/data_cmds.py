"""crossgraph load | import online-retail | demo-data | export."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

import typer
from rich.table import Table

from crossgraph.cli.common import (
    console,
    err_console,
    fails_cleanly,
    graph,
    output_file,
    progress_bar,
    settings,
)
from crossgraph.graph.bulk import import_online_retail_initial, load_directory_initial
from crossgraph.graph.changes import record_load
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import (
    GraphChanged,
    LoadReport,
    import_online_retail,
    load_directory,
)

import_app = typer.Typer(help="Import public datasets into the graph.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("load")(load)
    app.command("demo-data")(demo_data)
    app.command("export")(export)
    app.add_typer(import_app, name="import")


@fails_cleanly
def export(
    parquet: Path = typer.Option(..., "--parquet", help="Folder to write order_lines.parquet into."),
    before: str = typer.Option(
        None, "--before", help="Only order lines strictly before this date (YYYY-MM-DD), as train's export."
    ),
) -> None:
    """The graph's order lines (BOUGHT ledgers plus won deals, as `crossgraph train` exports them)
    as Parquet, for the Spark engine or a data lake (docs/scale.md)."""
    from crossgraph.data.parquet import write_order_lines
    from crossgraph.dates import parse_cutoff
    from crossgraph.graph.export import export_order_lines

    with graph() as g:
        lines = export_order_lines(g, before=parse_cutoff(before) if before else None)
    path = write_order_lines(lines, parquet)
    console.print(f"wrote {len(lines):,} order lines to {path}", highlight=False)


@fails_cleanly
def load(
    directory: Path = typer.Argument(
        ...,
        help="Folder with accounts.csv, products.csv, purchases.csv, "
        "assets.csv, contracts.csv, upgrades.csv, events.csv (each optional, UTF-8, "
        "each may be gzip-compressed as NAME.csv.gz).",
    ),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Load the valid rows and write the rejected ones to --rejects."
    ),
    rejects: Path = typer.Option(
        Path("rejects.csv"), callback=output_file, help="Where --skip-invalid writes rejected rows."
    ),
    batch_size: int = typer.Option(
        None, min=1, max=100_000, help="Rows per write transaction (--initial has none)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the load report as JSON."),
    initial: bool = typer.Option(
        False,
        "--initial",
        help="First load into an empty database: write the purchases with Neo4j's offline importer "
        "(the local server is stopped and started again meanwhile).",
    ),
) -> None:
    """Check and load CSV files into the graph. Any bad row stops the load before anything is written.
    Running API servers answer the loaded accounts from their new purchases within one poll."""
    s = settings()
    if initial:
        with progress_bar() as progress:
            report = load_directory_initial(
                s,
                directory,
                skip_invalid=skip_invalid,
                rejects_path=rejects,
                progress=progress,
            )
        _print_report(report, as_json)
        return
    with graph() as g, progress_bar() as progress:
        report = recording_changes(
            g,
            lambda: load_directory(
                g,
                directory,
                skip_invalid=skip_invalid,
                rejects_path=rejects,
                batch_size=batch_size or s.ingest_batch_size,
                writers=s.ingest_writers,
                progress=progress,
            ),
            report_of=lambda loaded: loaded,
        )
    _print_report(report, as_json)


@import_app.command("online-retail")
@fails_cleanly
def import_online_retail_cmd(
    path: Path = typer.Argument(..., help="online_retail.csv or .csv.gz (UCI Online Retail)."),
    batch_size: int = typer.Option(
        None, min=1, max=100_000, help="Order lines per write transaction (--initial has none)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the import report as JSON."),
    initial: bool = typer.Option(
        False, "--initial", help="Into an empty database, with Neo4j's offline importer (as load --initial)."
    ),
) -> None:
    """Import the UCI Online Retail file: customers -> accounts, stock codes -> products."""
    s = settings()
    if initial:
        with progress_bar() as progress:
            report = import_online_retail_initial(s, path, progress=progress)
        _print_report(report, as_json)
        return
    with graph() as g, progress_bar() as progress:
        report, data = recording_changes(
            g,
            lambda: import_online_retail(
                g,
                path,
                batch_size=batch_size or s.ingest_batch_size,
                writers=s.ingest_writers,
                progress=progress,
            ),
            report_of=lambda imported: imported[0],
        )
    if not as_json:
        err_console.print(
            f"read {data.rows_read:,} rows: {data.purchase_rows:,} purchase rows of "
            f"{data.customers_in_purchases:,} customers; dropped "
            f"{data.dropped_non_product_rows:,} non-product rows (postage, fees, adjustments)",
            highlight=False,
        )
    _print_report(report, as_json)


Loaded = TypeVar("Loaded")


def recording_changes(
    graph: Graph, load: Callable[[], Loaded], report_of: Callable[[Loaded], LoadReport]
) -> Loaded:
    """Run a transactional load and record the accounts it wrote (its report_of(...).changed) in
    the change feed, so running APIs refold them at their next poll as after POST
    /v1/purchases; also when it ends overlapped by other writes after its reruns
    (GraphChanged), with what it did write."""
    try:
        loaded = load()
    except GraphChanged as overlapped:
        record_load(graph, overlapped.report.changed)
        raise
    record_load(graph, report_of(loaded).changed)
    return loaded


def _print_report(report: LoadReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
        return
    table = Table(title=f"Loaded in {report.seconds:.1f} s")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, count in report.rows.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    if "purchases" in report.rows:
        rate = report.rows["purchases"] / report.seconds if report.seconds else 0.0
        console.print(
            f"purchases: {report.new_lines:,} new order lines, {report.known_lines:,} already loaded, "
            f"{report.pairs:,} account x product pairs ({rate:,.0f} lines/s overall)"
        )
    if report.rejected:
        console.print(f"[yellow]{report.rejected:,} rows rejected -> {report.rejects_path}[/]")


@fails_cleanly
def demo_data(
    directory: Path = typer.Argument(Path("data/demo"), help="Where to write the CSV files."),
    accounts: int = typer.Option(500, min=1, max=1_000_000, help="Number of accounts."),
    products: int = typer.Option(None, min=20, max=100_000, help="Catalogue size (default: 240)."),
    seed: int = typer.Option(7, help="Random seed; the same seed gives the same files."),
    as_of: str = typer.Option(None, help="The data's 'today' (YYYY-MM-DD); default today."),
) -> None:
    """Write the CSV files of a believable synthetic machine manufacturer."""
    from crossgraph.data.demo import generate_demo

    reference = _parse_date(as_of) if as_of else None
    with progress_bar() as progress:
        summary = generate_demo(
            directory, accounts=accounts, products=products, seed=seed, as_of=reference, progress=progress
        )
    console.print(summary)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date (expected YYYY-MM-DD)", param_hint="--as-of"
        ) from None
