"""Training's read of the graph: seconds and peak memory of `export_order_lines` (the nightly
`crossgraph train`'s first stage) on large demo data, and what the lines hold afterwards.

    .venv/bin/python benchmarks/export.py --keep-data data/export-bench            # 100k x 5k
    .venv/bin/python benchmarks/export.py --accounts 5000 --products 500           # quick check

Generates demo data (100k accounts x 5k products: ~7.9M order lines), starts its own Neo4j
(the project's launcher, a free port; the data folder under --keep-data survives for reruns),
loads it with `load --initial` (Neo4j's offline importer) once, then exports every order line
--repeats times (without their line ids, as `crossgraph train` does; --line-ids as `export
--parquet` does), each in a fresh child process so that its peak resident memory (VmHWM) is the
export's own. Prints, per run: wall seconds, peak RSS, RSS after the export (what training
starts from), and the lines' count.

To compare with an earlier version of the export, run this script from a worktree of that
commit with PYTHONPATH=src against the same --keep-data folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

AS_OF = date(2026, 6, 30)


def own_status_gb(field: str) -> float:
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith(field))
    return int(line.split()[1]) / 1024 / 1024


def child(port: int, data: Path, line_ids: bool) -> None:
    """One export in this process; prints its figures as JSON."""
    from crossgraph.graph.driver import Graph
    from crossgraph.graph.export import export_order_lines
    from crossgraph.settings import Settings

    settings = Settings(neo4j_uri=None, neo4j_port=port, data_dir=data)
    with Graph.connect(settings) as graph:
        before = own_status_gb("VmRSS")
        started = time.perf_counter()
        lines = export_order_lines(graph, line_ids=line_ids)
        seconds = time.perf_counter() - started
        lines.codes()  # what training computes first (the export may already hold them)
        figures = {
            "seconds": round(seconds, 1),
            "codes_seconds": round(time.perf_counter() - started - seconds, 1),
            "lines": len(lines),
            "rss_before_gb": round(before, 2),
            "peak_rss_gb": round(own_status_gb("VmHWM"), 2),
            "rss_after_gb": round(own_status_gb("VmRSS"), 2),
        }
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=2, help="exports, each in a fresh process")
    parser.add_argument("--keep-data", type=Path, help="demo CSV and the loaded graph, reused by reruns")
    parser.add_argument(
        "--tx-memory", default="1g", help="the server's transaction memory limit (the default's)"
    )
    parser.add_argument(
        "--line-ids",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="read the line ids too, as `export --parquet` does (training does not: the default)",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), Path(args.child[1]), args.child[2] == "ids")
        return

    from crossgraph.data.demo import generate_demo
    from crossgraph.graph.bulk import load_directory_initial
    from crossgraph.server.local import LocalServer, free_port
    from crossgraph.settings import Settings

    console = Console() if sys.stdout.isatty() else Console(width=120)
    with tempfile.TemporaryDirectory(prefix="crossgraph-export-bench-") as tmp:
        work = (args.keep_data or Path(tmp)).resolve() / f"{args.accounts}x{args.products}"
        settings = Settings(
            neo4j_uri=None,
            neo4j_port=free_port(),
            data_dir=work / "data",
            neo4j_heap="4g",
            neo4j_pagecache="4g",
            neo4j_tx_memory=args.tx_memory,
        )
        server = LocalServer(settings)
        runs: list[dict[str, Any]] = []
        try:
            if not (work / "loaded").exists():
                console.print(f"generating {args.accounts:,} x {args.products:,} demo data and loading it")
                generate_demo(
                    work / "demo", accounts=args.accounts, products=args.products, seed=7, as_of=AS_OF
                )
                server.start(echo=lambda _: None)
                load_directory_initial(settings, work / "demo")
                (work / "loaded").touch()
            else:
                server.start(echo=lambda _: None)
            for repeat in range(args.repeats):
                load = os.getloadavg()[0]
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        str(settings.neo4j_port),
                        str(settings.data_dir),
                        "ids" if args.line_ids else "no-ids",
                    ],
                    capture_output=True,
                    text=True,
                )
                if out.returncode:
                    raise SystemExit(f"the export failed:\n{out.stderr}")
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]) | {"load": round(load, 1)})
                console.print(f"run {repeat + 1}: {runs[-1]}")
        finally:
            server.stop()

    ids = "with line ids" if args.line_ids else "without line ids (as training reads)"
    table = Table(title=f"export_order_lines, {args.accounts:,} x {args.products:,} demo data, {ids}")
    for column in ("run", "lines", "export s", "codes s", "peak RSS GB", "RSS after GB", "load avg"):
        table.add_column(column, justify="right")
    for i, run in enumerate(runs, 1):
        table.add_row(
            str(i),
            f"{run['lines']:,}",
            f"{run['seconds']:.1f}",
            f"{run['codes_seconds']:.1f}",
            f"{run['peak_rss_gb']:.2f}",
            f"{run['rss_after_gb']:.2f}",
            f"{run['load']:.1f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
