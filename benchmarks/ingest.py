"""Ingest throughput: generate demo data of a given size, load it into Neo4j, print a table.

    .venv/bin/python benchmarks/ingest.py --accounts 20000          # about 1M order lines
    .venv/bin/python benchmarks/ingest.py --accounts 2000 --json out.json

Starts its own Neo4j (the project's launcher, temporary data folder, free port) unless
CROSSGRAPH_NEO4J_URI points at a server (which it then clears!). Target (issue 2): at least
50,000 purchase lines/s for 1M lines on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from crossgraph.data.demo import generate_demo
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import LoadReport, check_references, read_directory, write_tables
from crossgraph.graph.schema import init_schema
from crossgraph.server.local import LocalServer, free_port
from crossgraph.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()
    console = Console()

    with tempfile.TemporaryDirectory(prefix="crossgraph-bench-") as tmp:
        work = Path(tmp)
        env = Settings()
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

    table = Table(title=f"Ingest benchmark: demo data, {args.accounts:,} accounts")
    for column in ("step", "rows", "order lines", "seconds", "order lines/s"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for row in rows:
        rate = row["lines"] / row["seconds"] if row["lines"] and row["seconds"] else None
        table.add_row(
            row["step"],
            f"{row['rows']:,}",
            f"{row['lines']:,}" if row["lines"] else "",
            f"{row['seconds']:.2f}",
            f"{rate:,.0f}" if rate else "",
        )
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps({"accounts": args.accounts, "steps": rows}, indent=2))


def run(
    settings: Settings, demo_dir: Path, args: argparse.Namespace, console: Console
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def step(name: str, started: float, count: int, lines: int = 0) -> None:
        rows.append({"step": name, "rows": count, "lines": lines, "seconds": time.perf_counter() - started})
        console.print(f"{name}: {rows[-1]['seconds']:.2f} s", style="dim")

    started = time.perf_counter()
    summary = generate_demo(demo_dir, accounts=args.accounts, products=args.products, seed=args.seed)
    files = {p.stem: sum(1 for _ in p.open()) - 1 for p in sorted(demo_dir.glob("*.csv"))}
    step("generate demo CSV", started, sum(files.values()), files["purchases"])
    del summary

    with Graph.connect(settings) as graph:
        graph.write_autocommit("delete_all")
        init_schema(graph)
        for attempt in ("first load", "reload (all lines known)"):
            started = time.perf_counter()
            tables = read_directory(demo_dir)
            check_references(tables, graph)
            assert not any(t.problems for t in tables.values()), "demo data should load without problems"
            step(
                f"{attempt}: read + check",
                started,
                sum(len(t.rows) for t in tables.values()),
                files["purchases"],
            )
            write_started = time.perf_counter()
            report = LoadReport()
            stages: dict[str, list[float]] = {}

            def seen(stage: str, done: int, total: int, stages: dict[str, list[float]] = stages) -> None:
                now = time.perf_counter()
                stages.setdefault(stage, [now, now, 0.0])[1:] = [now, float(done)]

            write_tables(graph, {n: t.rows for n, t in tables.items()}, report, args.batch_size, seen)
            previous = write_started
            for stage, (_, last, done) in stages.items():
                rows.append(
                    {
                        "step": f"  write {stage}",
                        "rows": int(done),
                        "lines": int(done) if stage == "purchases" else 0,
                        "seconds": last - previous,
                    }
                )
                previous = last
            step(f"{attempt}: write", write_started, sum(report.rows.values()), files["purchases"])
            step(f"{attempt}: total", started, sum(report.rows.values()), files["purchases"])
            console.print(
                f"  new lines {report.new_lines:,}, known {report.known_lines:,}, pairs {report.pairs:,}",
                style="dim",
            )
    return rows


if __name__ == "__main__":
    main()
