"""Where an increment's time goes: the phases of write_purchases on Online Retail's last tenth.

    .venv/bin/python benchmarks/ingest_increment.py \
        ../shared/datasets/online_retail/online_retail.csv.gz --rounds 2 --writers 1

Starts its own Neo4j (the project's launcher, temporary data folder, a free port), loads the
accounts, products and the first nine tenths of the order lines by date, then times the
increment (the last tenth) phase by phase, as write_purchases runs it: reading the ledgers of
the pairs the load touches (pairs_in_graph), creating the new pairs (create_purchases) and
extending the ledgers of existing pairs (ledger_extensions: their ledgers read, then
extend_purchases), each with `--writers` concurrent transactions. With `--rounds 2` the
graph is rebuilt and the increment run again on the same, now warm, server: the first round
pays the JIT. Wall seconds and the server's CPU seconds split
by thread (benchmarks/ingest_writers.py's server_cpu).
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from ingest_writers import server_cpu
from rich.console import Console
from rich.table import Table

from crossgraph.data.online_retail import read_online_retail
from crossgraph.graph import ingest
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import LoadReport, PairLines, online_retail_rows, write_purchases, write_tables
from crossgraph.graph.schema import init_schema
from crossgraph.server.local import LocalServer, free_port
from crossgraph.settings import Settings

T = TypeVar("T")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("online_retail", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--writers", type=int, default=1, help="concurrent transactions per phase")
    parser.add_argument("--batch-size", type=int, default=Settings().ingest_batch_size)
    args = parser.parse_args()
    data = read_online_retail(args.online_retail)
    lines = data.lines
    cutoff = np.sort(lines.ordered_at)[int(len(lines) * 0.9)]
    earlier, later = lines.before(cutoff), lines.on_or_after(cutoff)
    table = Table(
        title=f"Increment of {len(later):,} lines, {args.writers} writer(s), batch {args.batch_size:,}"
    )
    for column in COLUMNS:
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory(prefix="crossgraph-bench-") as tmp:
        settings = Settings(neo4j_uri=None, neo4j_port=free_port(), data_dir=Path(tmp) / "data")
        server = LocalServer(settings)
        server.start(echo=lambda _: None)
        try:
            with Graph.connect(settings) as graph:
                for round_ in range(1, args.rounds + 1):
                    graph.write_autocommit("delete_all")
                    init_schema(graph)
                    write_tables(graph, online_retail_rows(data), LoadReport(), args.batch_size)
                    write_purchases(graph, earlier, LoadReport(), args.batch_size, writers=args.writers)
                    pairs = PairLines.group(later)
                    timed = functools.partial(phase, server, table, round_)
                    in_graph = timed(
                        "read ledgers", pairs, functools.partial(ingest.pairs_in_graph, graph, pairs)
                    )
                    created = pairs.select(~in_graph.exists)
                    batches = created.batches(args.batch_size)
                    timed(
                        "create new pairs",
                        created,
                        functools.partial(written, graph, "create_purchases", batches, args.writers),
                    )
                    extended = pairs.select(in_graph.fresh)
                    batches = ingest.ledger_extensions(
                        graph, extended, in_graph.bought[in_graph.fresh], args.batch_size
                    )
                    timed(
                        "extend existing",
                        extended,
                        functools.partial(written, graph, "extend_purchases", batches, args.writers),
                    )
        finally:
            server.stop()
    Console(width=max(Console().width, 140)).print(table)


COLUMNS = ("round", "phase", "pairs", "lines", "seconds", "Neo4j CPU s", "JIT", "Bolt", "load average")


def phase(
    server: LocalServer, table: Table, round_: int, name: str, pairs: PairLines, work: Callable[[], T]
) -> T:
    """Run `work`, adding its wall and server CPU seconds to the table."""
    cpu, started = server_cpu(server), time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    used = {k: v - cpu.get(k, 0.0) for k, v in server_cpu(server).items()}
    table.add_row(
        str(round_),
        name,
        f"{len(pairs):,}",
        f"{pairs.lines:,}",
        f"{seconds:.2f}",
        f"{sum(used.values()):.2f}",
        f"{used['JIT']:.2f}",
        f"{used['Bolt']:.2f}",
        f"{os.getloadavg()[0]:.1f}",
    )
    return result


def written(graph: Graph, query: str, batches: Iterator[tuple[dict[str, Any], int]], writers: int) -> int:
    """The lines `query` wrote over the batches, as write_purchases runs it."""
    return sum(written["lines"] for written, _ in ingest.write_batches(graph, query, batches, writers))


if __name__ == "__main__":
    main()
