"""One writer or several for create_purchases: wall and Neo4j CPU seconds on Online Retail.

    .venv/bin/python benchmarks/ingest_writers.py \
        ../shared/datasets/online_retail/online_retail.csv.gz --writers 1 2 1 2

Starts its own Neo4j (the project's launcher, temporary data folder; CROSSGRAPH_NEO4J_PORT if
set, else a free port), then for each --writers value in turn empties the graph, loads the
accounts and products and creates every BOUGHT with create_purchases, batches cut between
accounts (PairLines.batches) sent by that many threads. A deadlock between writers is a
transient error the driver retries; the BOUGHT count after each run shows nothing was lost.
The first run also pays the server's warm-up (JIT): repeat the values and compare the later
runs. The server's CPU is split by thread name (Linux /proc): HotSpot's compiler threads (the
JIT), the Bolt workers (the queries) and the rest.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

from crossgraph.data.online_retail import read_online_retail
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import LoadReport, PairLines, online_retail_rows, write_tables
from crossgraph.graph.schema import graph_stats, init_schema
from crossgraph.server.local import LocalServer, free_port
from crossgraph.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("online_retail", type=Path)
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 2, 1, 2])
    parser.add_argument("--batch-size", type=int, default=Settings().ingest_batch_size)
    args = parser.parse_args()
    env = Settings()
    table = Table(title=f"create_purchases, Online Retail, batch {args.batch_size:,}")
    columns = ("run", "writers", "seconds", "order lines/s", "Neo4j CPU s", "JIT", "Bolt", "other", "BOUGHT")
    for column in (*columns, "load average"):
        table.add_column(column, justify="right")
    data = read_online_retail(args.online_retail)
    pairs = PairLines.group(data.lines)
    batches = [params for params, _ in pairs.batches(args.batch_size)]
    with tempfile.TemporaryDirectory(prefix="crossgraph-bench-") as tmp:
        port = env.neo4j_port if "CROSSGRAPH_NEO4J_PORT" in os.environ else free_port()
        settings = Settings(
            neo4j_uri=None,
            neo4j_port=port,
            data_dir=Path(tmp) / "data",
            neo4j_heap=env.neo4j_heap,
            neo4j_pagecache=env.neo4j_pagecache,
        )
        server = LocalServer(settings)
        server.start(echo=lambda _: None)
        try:
            with Graph.connect(settings) as graph:
                init_schema(graph)
                for run, writers in enumerate(args.writers, start=1):
                    graph.write_autocommit("delete_all")
                    write_tables(graph, online_retail_rows(data), LoadReport(), args.batch_size)
                    started, cpu = time.perf_counter(), server_cpu(server)
                    with ThreadPoolExecutor(writers) as pool:
                        list(pool.map(lambda params: graph.write("create_purchases", params), batches))
                    seconds = time.perf_counter() - started
                    used = {k: v - cpu.get(k, 0.0) for k, v in server_cpu(server).items()}
                    table.add_row(
                        str(run),
                        str(writers),
                        f"{seconds:.1f}",
                        f"{len(data.lines) / seconds:,.0f}",
                        f"{sum(used.values()):.1f}",
                        f"{used.get('JIT', 0.0):.1f}",
                        f"{used.get('Bolt', 0.0):.1f}",
                        f"{used.get('other', 0.0):.1f}",
                        f"{graph_stats(graph).relationships['BOUGHT']:,}",
                        f"{os.getloadavg()[0]:.1f}",
                    )
        finally:
            server.stop()
    Console(width=max(Console().width, 140)).print(table)
    print(f"{len(data.lines):,} order lines, {len(pairs):,} pairs, {os.cpu_count()} CPUs")


def server_cpu(server: LocalServer) -> dict[str, float]:
    """CPU seconds the server's threads used so far: JIT (HotSpot's C1/C2 compiler threads), Bolt
    (the workers running queries) and other, from /proc/PID/task/*/stat. Threads that ended are
    lost, so the "other" part is a lower bound."""
    pid = server.pid()
    assert pid is not None, "the server should run"
    ticks = os.sysconf("SC_CLK_TCK")
    used = {"JIT": 0.0, "Bolt": 0.0, "other": 0.0}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        kind = "JIT" if "CompilerThre" in name else "Bolt" if "BoltWorke" in name else "other"
        used[kind] += (int(fields[11]) + int(fields[12])) / ticks
    return used


if __name__ == "__main__":
    main()
