"""Ingest throughput: load demo data of a given size, or the UCI Online Retail file, into
Neo4j and print a table.

    .venv/bin/python benchmarks/ingest.py --accounts 14000 --products 2000   # about 1M order lines
    .venv/bin/python benchmarks/ingest.py --initial \
        --online-retail ../shared/datasets/online_retail/online_retail.csv.gz
    .venv/bin/python benchmarks/ingest.py --accounts 2000 --json out.json

Starts its own Neo4j (the project's launcher, temporary data folder; CROSSGRAPH_NEO4J_PORT if
set, else a free port) unless CROSSGRAPH_NEO4J_URI points at a server (which it then clears!).
Loads, each into a graph that holds the data's accounts and products:
- first load: every order line into an empty graph;
- reload: the same lines again (every line is known: the ledgers are read, nothing written);
- increment: the last tenth of the lines by date, after the other nine tenths were loaded;
- with --initial: `load --initial`'s path (Neo4j's offline importer writes accounts, products,
  their links and BOUGHT, the server restarts, the schema and the other tables load) into an
  empty database, then each of its phases (wall seconds from the end of the one before);
- with --initial-only: only that (for sizes where the transactional loads take too long).

Target (issues 2 and 15): at least 50,000 order lines/s. Each step gives wall seconds and the
CPU seconds of this process (the importer's included) and of the Neo4j server: on 2 cores
shared with other work the wall figures swing, the CPU figures much less. The 1-minute load
average before and after is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from crossgraph.data.demo import generate_demo
from crossgraph.data.online_retail import read_online_retail
from crossgraph.data.orderlines import OrderLines
from crossgraph.graph.bulk import write_initial
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import (
    LoadReport,
    check_references,
    online_retail_rows,
    read_directory,
    write_purchases,
    write_tables,
)
from crossgraph.graph.schema import GraphStats, graph_stats, init_schema
from crossgraph.server.local import LocalServer, free_port
from crossgraph.settings import Settings

TARGET = 50_000  # order lines/s (issues 2 and 15)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    env = Settings()
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--online-retail", type=Path, default=None, help="load this Online Retail file instead of demo data"
    )
    parser.add_argument("--initial", action="store_true", help="also time load --initial (offline importer)")
    parser.add_argument(
        "--initial-only",
        action="store_true",
        help="time only load --initial (for sizes where the transactional loads take too long)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=env.ingest_batch_size,
        help="rows (order lines) per write transaction; default: as crossgraph load",
    )
    parser.add_argument(
        "--writers",
        type=int,
        default=env.ingest_writers,
        help="concurrent transactions creating new pairs; default: as crossgraph load",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()
    console = Console(width=max(Console().width, 140))
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory(prefix="crossgraph-bench-") as tmp:
        work = Path(tmp)
        settings = (
            env
            if not env.uses_local_server
            else Settings(
                neo4j_uri=None,
                neo4j_port=env.neo4j_port if "CROSSGRAPH_NEO4J_PORT" in os.environ else free_port(),
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
            rows = run(settings, server, work, args, console)
        finally:
            if server:
                server.stop()
    load_after = os.getloadavg()[0]

    source = (
        f"Online Retail ({args.online_retail.name})"
        if args.online_retail
        else f"demo data, {args.accounts:,} accounts"
    )
    table = Table(title=f"Ingest benchmark: {source}, batch {args.batch_size:,}, {args.writers} writer(s)")
    columns = ("step", "rows", "order lines", "seconds", "order lines/s", "client CPU s", "server CPU s")
    for column in columns:
        table.add_column(column, justify="left" if column == "step" else "right")
    for row in rows:
        table.add_row(
            row["step"],
            f"{row['rows']:,}",
            f"{row['lines']:,}" if row["lines"] else "",
            f"{row['seconds']:.2f}",
            f"{row['rate']:,.0f}" if row["rate"] else "",
            "" if row["client_cpu"] != row["client_cpu"] else f"{row['client_cpu']:.1f}",  # nan: not measured
            "" if row["server_cpu"] is None else f"{row['server_cpu']:.1f}",
        )
    console.print(table)
    console.print(f"Target: >= {TARGET:,} order lines/s")
    for row in rows:
        if row["rate"] and ("purchases" in row["step"] or "total" in row["step"]):
            verdict = "met" if row["rate"] >= TARGET else "not met"
            console.print(f"  {row['step']}: {row['rate']:,.0f} lines/s ({verdict})")
    console.print(
        f"  load average (1 min) before / after: {load_before:.2f} / {load_after:.2f} "
        f"on {os.cpu_count()} CPUs"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "source": source,
                    "batch_size": args.batch_size,
                    "load_average": [load_before, load_after],
                    "steps": rows,
                },
                indent=2,
            )
        )


class Clock:
    """Wall seconds, and CPU seconds of this process (with its children: the offline importer)
    and of the local Neo4j server (from /proc; None for an external server)."""

    def __init__(self, server: LocalServer | None) -> None:
        self.server = server

    def read(self) -> tuple[float, float, float | None]:
        times = os.times()
        client = times.user + times.system + times.children_user + times.children_system
        return time.perf_counter(), client, self._server_cpu()

    def _server_cpu(self) -> float | None:
        pid = self.server.pid() if self.server else None
        if pid is None:
            return None
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(
    settings: Settings,
    server: LocalServer | None,
    work: Path,
    args: argparse.Namespace,
    console: Console,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    clock = Clock(server)

    def step(
        name: str,
        since: tuple[float, float, float | None],
        count: int,
        lines: int = 0,
        restarted: bool = False,
    ) -> None:
        wall, client, server_cpu = clock.read()
        server_cpu = None if restarted else server_cpu
        seconds = wall - since[0]
        rows.append(
            {
                "step": name,
                "rows": count,
                "lines": lines,
                "seconds": seconds,
                "rate": lines / seconds if lines and seconds else 0.0,
                "client_cpu": client - since[1],
                "server_cpu": None if server_cpu is None or since[2] is None else server_cpu - since[2],
            }
        )
        console.print(f"{name}: {seconds:.2f} s", style="dim")

    started = clock.read()
    if args.online_retail:
        data = read_online_retail(args.online_retail)
        tables, lines = online_retail_rows(data), data.lines
        step("read Online Retail", started, data.rows_read, len(lines))
    else:
        demo_dir = work / "demo"
        generate_demo(demo_dir, accounts=args.accounts, products=args.products, seed=args.seed)
        step("generate demo CSV", started, 0)
        started = clock.read()
        parsed = read_directory(demo_dir)
        with Graph.connect(settings) as graph:
            graph.write_autocommit("delete_all")
            check_references(parsed, graph)
        assert not any(t.problems for t in parsed.values()), "demo data should load without problems"
        tables = {n: t.rows for n, t in parsed.items() if n != "purchases"}
        lines = parsed["purchases"].order_lines()
        step("read + check CSV", started, sum(len(t) for t in parsed.values()), len(lines))
    # The increment: the last tenth of the lines by date, after the rest was loaded.
    cutoff = np.sort(lines.ordered_at)[int(len(lines) * 0.9)]
    earlier, later = lines.before(cutoff), lines.on_or_after(cutoff)
    others = sum(len(t) for t in tables.values())

    def clear(graph: Graph) -> None:
        graph.write_autocommit("delete_all")
        init_schema(graph)

    if args.initial_only:
        initial(settings, server, tables, lines, others, None, args, clock, step, rows, console)
        return rows
    with Graph.connect(settings) as graph:
        clear(graph)
        for load in ("first load", "reload"):
            report = LoadReport()
            started = clock.read()
            write_tables(graph, tables, report, args.batch_size)
            step(f"{load}: other tables", started, others)
            purchases = clock.read()
            write_purchases(graph, lines, report, args.batch_size, writers=args.writers)
            step(f"{load}: purchases", purchases, len(lines), len(lines))
            step(f"{load}: total", started, others + len(lines), len(lines))
            console.print(f"  new lines {report.new_lines:,}, known {report.known_lines:,}", style="dim")
        loaded = graph_stats(graph)
        clear(graph)
        report = LoadReport()
        write_tables(graph, tables, report, args.batch_size)
        write_purchases(graph, earlier, report, args.batch_size, writers=args.writers)
        started = clock.read()
        report = LoadReport()
        write_purchases(graph, later, report, args.batch_size, writers=args.writers)
        step(f"increment (last 10% from {cutoff}): purchases", started, len(later), len(later))
        console.print(f"  new lines {report.new_lines:,}, known {report.known_lines:,}", style="dim")
        if args.initial:
            graph.write_autocommit("delete_all")
    if args.initial:
        initial(settings, server, tables, lines, others, loaded, args, clock, step, rows, console)
    return rows


def initial(
    settings: Settings,
    server: LocalServer | None,
    tables: dict[str, list[dict[str, Any]]],
    lines: OrderLines,
    others: int,
    loaded: GraphStats | None,
    args: argparse.Namespace,
    clock: Clock,
    step: Callable[..., None],
    rows: list[dict[str, Any]],
    console: Console,
) -> None:
    """`load --initial`'s path into the (empty) database: the total, then each phase (wall
    seconds from the end of the one before, as write_initial reports its stages done)."""
    assert server is not None, "--initial needs the local server"
    report = LoadReport()
    finished: list[tuple[str, float]] = []

    def stage(name: str, done: int, total: int) -> None:
        if done == total:
            finished.append((name, time.perf_counter()))

    started = clock.read()
    summary = write_initial(server, tables, lines, report, progress=stage)
    # The server restarts. The stopped server was this process's child, so its CPU since its
    # start lands in the children's time with the importer's: taken out again (the new
    # server's is in neither figure).
    step("initial (offline import): total", started, others + len(lines), len(lines), restarted=True)
    rows[-1]["client_cpu"] -= started[2] or 0.0
    before = started[0]
    for name, at in finished:
        rows.append(
            {
                "step": f"  initial: {name}",
                "rows": 0,
                "lines": 0,
                "seconds": at - before,
                "rate": 0.0,
                "client_cpu": float("nan"),
                "server_cpu": None,
            }
        )
        before = at
    console.print(f"  importer: {summary}")
    if loaded is not None:
        with Graph.connect(settings) as graph:
            same = graph_stats(graph) == loaded
        console.print(f"  node and relationship counts as after the transactional load: {same}")


if __name__ == "__main__":
    main()
