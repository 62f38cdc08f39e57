"""Reading and checking a first load's CSV files: the row path against the columnar purchases.

    .venv/bin/python benchmarks/ingest_read.py --accounts 20000 --products 2000
    .venv/bin/python benchmarks/ingest_read.py --accounts 100000 --products 5000 --data /tmp/demo-100k

Generates the demo data (`crossgraph demo-data`, seed 7, as of 2026-06-30: 100k x 5k gives
7,882,851 order lines) into --data (kept and reused when it is there), then
reads and checks the nine files the way `crossgraph load [--initial]` does before it writes
anything, once per path, each in its own process (so each peak RSS is its own):
- row path: purchases.csv parsed row by row (tables.read_table, a dict per line), then the
  order lines built from the rows (OrderLines.from_rows), as before the columnar path;
- columnar: purchases.csv read by pyarrow and checked column by column (purchase_columns),
  as read_directory does now.
The other eight files take the row path in both. "check" is check_parents and
check_references without a graph (the demo's references are all in its files). No Neo4j.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from crossgraph.data.demo import generate_demo
from crossgraph.data.purchase_columns import parse_purchases
from crossgraph.data.tables import PURCHASES, TABLES, ParsedTable, read_table
from crossgraph.graph.ingest import check_parents, check_references, table_file

PATHS = {"row path": "rows", "columnar": "columns"}
AS_OF = date(2026, 6, 30)  # a fixed date: the same files on every run (benchmarks/scale.py's)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument(
        "--data", type=Path, default=None, help="demo folder (default: /tmp/crossgraph-read-AxP)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    parser.add_argument("--measure", choices=PATHS.values(), help=argparse.SUPPRESS)  # a child run
    args = parser.parse_args()
    folder = args.data or Path(f"/tmp/crossgraph-read-{args.accounts}x{args.products}")
    if args.measure:
        print(json.dumps(measure(folder, args.measure)))
        return
    console = Console(width=max(Console().width, 120))
    if not (folder / PURCHASES.filename).exists():
        console.print(f"generating {args.accounts:,} x {args.products:,} demo data in {folder}", style="dim")
        generate_demo(folder, accounts=args.accounts, products=args.products, seed=7, as_of=AS_OF)
    load_before = os.getloadavg()[0]
    results = {name: child(folder, mode, args) for name, mode in PATHS.items()}
    load_after = os.getloadavg()[0]
    lines = results["row path"]["lines"]
    table = Table(
        title=f"Read + check of a first load: {args.accounts:,} x {args.products:,} demo, {lines:,} lines"
    )
    columns = (
        "path",
        "read purchases s",
        "read others s",
        "check s",
        "order lines s",
        "total s",
        "peak RSS GB",
        "lines/s",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "path" else "right")
    for name, r in results.items():
        table.add_row(
            name,
            f"{r['read_purchases']:.2f}",
            f"{r['read_others']:.2f}",
            f"{r['check']:.2f}",
            f"{r['order_lines']:.2f}",
            f"{r['total']:.2f}",
            f"{r['peak_gb']:.2f}",
            f"{r['lines'] / r['total']:,.0f}",
        )
    console.print(table)
    console.print(
        f"  load average (1 min) before / after: {load_before:.2f} / {load_after:.2f} "
        f"on {os.cpu_count()} CPUs"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"data": str(folder), "load_average": [load_before, load_after], **results}, indent=2)
        )


def child(folder: Path, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """One path measured in a fresh interpreter (its own peak RSS)."""
    command = [sys.executable, __file__, "--data", str(folder), "--measure", mode]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.splitlines()[-1]))


def measure(folder: Path, mode: str) -> dict[str, Any]:
    """Seconds of each step and this process's peak RSS, reading as `mode` says."""
    started = time.perf_counter()
    path = table_file(folder, PURCHASES.filename)
    assert path is not None, f"no purchases file in {folder}"
    purchases = read_table(PURCHASES, path) if mode == "rows" else parse_purchases(path)
    assert (purchases.columnar is not None) == (mode == "columns"), "the demo file should take the fast path"
    read_purchases = time.perf_counter()
    tables: dict[str, ParsedTable] = {}
    for spec in TABLES:
        found = table_file(folder, spec.filename)
        if found is not None:
            tables[spec.name] = purchases if spec is PURCHASES else read_table(spec, found)
    read_others = time.perf_counter()
    check_parents(tables, None)
    check_references(tables, None)
    assert not any(t.problems for t in tables.values()), "demo data should load without problems"
    checked = time.perf_counter()
    lines = purchases.order_lines()
    done = time.perf_counter()
    return {
        "lines": len(lines),
        "read_purchases": read_purchases - started,
        "read_others": read_others - read_purchases,
        "check": checked - read_others,
        "order_lines": done - checked,
        "total": done - started,
        "peak_gb": own_peak_gb(),
    }


def own_peak_gb() -> float:
    """This process's peak RSS (VmHWM), in GB."""
    status = Path("/proc/self/status").read_text().splitlines()
    return next((int(x.split()[1]) for x in status if x.startswith("VmHWM")), 0) / 1e6


if __name__ == "__main__":
    main()
