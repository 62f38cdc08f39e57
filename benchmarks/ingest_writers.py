"""One writer or several for create_purchases: wall and Neo4j CPU seconds on Online Retail.

    .venv/bin/python benchmarks/ingest_writers.py \
        ../shared/datasets/online_retail/online_retail.csv.gz --writers 1 2 1 2

Starts its own Neo4j (the project's launcher, temporary data folder; CROSSGRAPH_NEO4J_PORT if
set, else a free port), then for each --writers value in turn empties the graph, loads the
accounts and products and creates every BOUGHT with create_purchases, batches cut between
accounts (PairLines.batches) sent by that many threads. A deadlock between writers is a
transient error the driver retries; the BOUGHT count after each run shows nothing was lost.
The first run also pays the server's warm-up (JIT): repeat the values and compare the later
runs.
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
    for column in ("run", "writers", "seconds", "order lines/s", "Neo4j CPU s", "BOUGHT", "load average"):
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
                    table.add_row(
                        str(run),
                        str(writers),
                        f"{seconds:.1f}",
                        f"{len(data.lines) / seconds:,.0f}",
                        f"{server_cpu(server) - cpu:.1f}",
                        f"{graph_stats(graph).relationships['BOUGHT']:,}",
                        f"{os.getloadavg()[0]:.1f}",
                    )
        finally:
            server.stop()
    Console().print(table)
    print(f"{len(data.lines):,} order lines, {len(pairs):,} pairs, {os.cpu_count()} CPUs")


def server_cpu(server: LocalServer) -> float:
    pid = server.pid()
    assert pid is not None, "the server should run"
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
