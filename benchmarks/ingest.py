"""Ingest throughput: generate demo data of a given size, load it into Neo4j, print a table.

    .venv/bin/python benchmarks/ingest.py --accounts 14000 --products 2000   # about 1M order lines
    .venv/bin/python benchmarks/ingest.py --accounts 2000 --json out.json

Starts its own Neo4j (the project's launcher, temporary data folder, free port) unless
CROSSGRAPH_NEO4J_URI points at a server (which it then clears!). Loads the demo folder twice:
a first load into the empty graph, then a reload in which every order line is known.

Target (issue 2): at least 50,000 order lines/s for 1M lines on a 2-core machine. The summary
gives two figures per load: the purchase write (from the checked rows to the last BOUGHT
written: grouping into pairs, reading which pairs exist, writing) and end to end (reading and
checking every file, then writing every table). The 1-minute load average before and after is
printed too: on 2 cores anything else running shows in every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from crossgraph.data.demo import generate_demo
from crossgraph.data.orderlines import OrderLines
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import (
    LoadReport,
    check_references,
    read_directory,
    write_purchases,
    write_tables,
)
from crossgraph.graph.schema import init_schema
from crossgraph.server.local import LocalServer, free_port
from crossgraph.settings import Settings

TARGET = 50_000  # order lines/s (issue 2)
LOADS = ("first load", "reload")  # the reload finds every order line known


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    env = Settings()
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=env.ingest_batch_size,
        help="rows (order lines) per write transaction; default: as crossgraph load",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()
    console = Console(width=max(Console().width, 120))
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="crossgraph-bench-") as tmp:
        work = Path(tmp)
        settings = (
            env
            if not env.uses_local_server
            else Settings(
                neo4j_uri=None,
                neo4j_port=free_port(),
                data_dir=work / "data",
                neo4j_heap=env.neo4j_heap,
                neo4j_pagecache=env.neo4j_pagecache,
                neo4j_tx_memory=env.neo4j_tx_memory,
            )
        )
        server = LocalServer(settings) if settings.uses_local_server else None
        try:
            if server:
                server.start(echo=lambda m: console.print(m, style="dim"))
            rows = run(settings, work / "demo", args, console)
        finally:
            if server:
                server.stop()
    load_after = os.getloadavg()[0]

    table = Table(title=f"Ingest benchmark: demo data, {args.accounts:,} accounts, batch {args.batch_size:,}")
    for column in ("step", "rows", "order lines", "seconds", "order lines/s"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for row in rows:
        table.add_row(
            row["step"],
            f"{row['rows']:,}",
            f"{row['lines']:,}" if row["lines"] else "",
            f"{row['seconds']:.2f}",
            f"{row['rate']:,.0f}" if row["rate"] else "",
        )
    console.print(table)
    summary = [
        (load, figure, row)
        for load in LOADS
        for figure, step in (("purchase write", "write purchases"), ("end to end", "total"))
        for row in rows
        if row["step"] == f"{load}: {step}"
    ]
    console.print(f"Target (issue 2): >= {TARGET:,} order lines/s")
    for load, figure, row in summary:
        verdict = "met" if row["rate"] >= TARGET else "not met"
        console.print(
            f"  {load}, {figure}: {row['lines']:,} lines in {row['seconds']:.1f} s = "
            f"{row['rate']:,.0f} lines/s ({verdict})"
        )
    console.print(
        f"  load average (1 min) before / after: {load_before:.2f} / {load_after:.2f} "
        f"on {os.cpu_count()} CPUs"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "accounts": args.accounts,
                    "batch_size": args.batch_size,
                    "load_average": [load_before, load_after],
                    "steps": rows,
                },
                indent=2,
            )
        )


def run(
    settings: Settings, demo_dir: Path, args: argparse.Namespace, console: Console
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(name: str, seconds: float, count: int, lines: int = 0) -> None:
        rate = lines / seconds if lines and seconds else 0.0
        rows.append({"step": name, "rows": count, "lines": lines, "seconds": seconds, "rate": rate})

    def step(name: str, started: float, count: int, lines: int = 0) -> None:
        add(name, time.perf_counter() - started, count, lines)
        console.print(f"{name}: {rows[-1]['seconds']:.2f} s", style="dim")

    started = time.perf_counter()
    summary = generate_demo(demo_dir, accounts=args.accounts, products=args.products, seed=args.seed)
    files = {p.stem: sum(1 for _ in p.open()) - 1 for p in sorted(demo_dir.glob("*.csv"))}
    step("generate demo CSV", started, sum(files.values()), files["purchases"])
    del summary

    with Graph.connect(settings) as graph:
        graph.write_autocommit("delete_all")
        init_schema(graph)
        for load in LOADS:
            started = time.perf_counter()
            tables = read_directory(demo_dir)
            check_references(tables, graph)
            assert not any(t.problems for t in tables.values()), "demo data should load without problems"
            step(
                f"{load}: read + check",
                started,
                sum(len(t.rows) for t in tables.values()),
                files["purchases"],
            )
            report = LoadReport()
            stages: dict[str, list[float]] = {}

            def seen(stage: str, done: int, total: int, stages: dict[str, list[float]] = stages) -> None:
                now = time.perf_counter()
                stages.setdefault(stage, [now, now, 0.0])[1:] = [now, float(done)]

            # What write_tables does for a whole load, with the purchases timed on their own.
            others_started = time.perf_counter()
            write_tables(
                graph,
                {n: t.rows for n, t in tables.items() if n != "purchases"},
                report,
                args.batch_size,
                seen,
            )
            previous = others_started
            for stage, (_, last, done) in stages.items():
                add(f"  write {stage}", last - previous, int(done))
                previous = last
            step(f"{load}: write other tables", others_started, sum(report.rows.values()))
            purchases_started = time.perf_counter()
            write_purchases(graph, OrderLines.from_rows(tables["purchases"].rows), report, args.batch_size)
            step(f"{load}: write purchases", purchases_started, report.rows["purchases"], files["purchases"])
            step(f"{load}: total", started, sum(report.rows.values()), files["purchases"])
            console.print(
                f"  new lines {report.new_lines:,}, known {report.known_lines:,}, pairs {report.pairs:,}",
                style="dim",
            )
    return rows


if __name__ == "__main__":
    main()
