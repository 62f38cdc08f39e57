"""Soak: mixed traffic for ten minutes, a model promotion every minute, one Neo4j restart.

    .venv/bin/python benchmarks/soak.py                    # 10 minutes, 2k accounts x 400 products
    .venv/bin/python benchmarks/soak.py --minutes 2        # a quick look
    .venv/bin/python benchmarks/soak.py --workdir /tmp/cg-soak   # keep data + models for reruns

Builds (once per --workdir) demo data in a local Neo4j and two trained model versions; starts
`crossgraph serve` as a separate process and keeps --concurrency keep-alive connections busy
with sidebar, fused-list, evidence, plan and similar calls for random accounts. Every minute
it promotes the other model version (the server swaps it in); halfway through it SIGKILLs
Neo4j and starts it again. Prints, per route: requests, answers by status, partial answers,
p50/p99; the API process's RSS at start and end (a leak shows there); how long /readyz said
degraded around the restart. A call unanswered after 30 s counts as `timeout`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from crossgraph.data.demo import generate_demo
from crossgraph.graph.driver import Graph
from crossgraph.graph.export import export_accounts, export_installed, export_order_lines, export_products
from crossgraph.graph.ingest import load_directory
from crossgraph.graph.schema import init_schema
from crossgraph.keys import create_key
from crossgraph.model.als import ALSParams
from crossgraph.model.artifact import Artifact
from crossgraph.model.hybrid import HybridParams
from crossgraph.model.registry import Registry
from crossgraph.model.train import train
from crossgraph.server.local import LocalServer, free_port
from crossgraph.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import bench_settings  # the same local Neo4j set-up as benchmarks/api.py

console = Console(width=140)
CALL_TIMEOUT = 30.0


@dataclass
class Record:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    partial: Counter[str] = field(default_factory=Counter)


def build(settings: Settings, work: Path, accounts: int, products: int, seed: int) -> list[str]:
    """Demo data in the graph and two model versions (the first promoted), unless kept."""
    registry = Registry(settings.model_dir)
    versions = [v.version for v in registry.versions()][-2:]
    if len(versions) >= 2:
        console.print(f"reusing models {versions[-2:]} in {settings.model_dir}", style="dim")
        return versions
    with Graph.connect(settings) as g:
        if not g.read("count_nodes"):
            generate_demo(
                work / "demo", accounts=accounts, products=products, seed=seed, as_of=date(2026, 6, 30)
            )
            init_schema(g)
            load_directory(g, work / "demo")
        tables = (export_order_lines(g), export_accounts(g), export_products(g))
        installed = export_installed(g)
    versions = []
    for factors in (16, 24):
        params = HybridParams(als=ALSParams(factors=factors, iterations=8, regularization=1.0))
        result = train(*tables, registry, params=params, test_days=180, installed=installed)
        versions.append(result.version)
    registry.promote(versions[0])
    return versions


def paths(accounts: list[str], skus: list[str], rng: random.Random, n: int) -> list[tuple[str, str]]:
    """(route, path) pairs, the routes taking turns, random accounts."""
    out = []
    for i in range(n):
        account = rng.choice(accounts)
        base = f"/v1/accounts/{account}"
        out += [
            ("sidebar", f"{base}/recommendations?limit=5"),
            ("fused", f"{base}/recommendations?opportunity=cross_sell,upsell,renewal&limit=5"),
            ("evidence", f"{base}/evidence/{skus[i % len(skus)]}"),
            ("plan", f"{base}/plan"),
            ("similar", f"{base}/similar"),
        ]
    return out


async def drive(
    port: int, calls: list[tuple[str, str]], key: str, concurrency: int, seconds: float, record: Record
) -> None:
    deadline = time.perf_counter() + seconds

    async def connection(offset: int) -> None:
        n = offset
        reader = writer = None
        while time.perf_counter() < deadline:
            route, path = calls[n % len(calls)]
            n += concurrency
            start = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                assert reader is not None
                request = f"GET {path} HTTP/1.1\r\nHost: soak\r\nX-API-Key: {key}\r\n\r\n".encode()
                writer.write(request)
                status, body = await asyncio.wait_for(_response(reader), CALL_TIMEOUT)
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                record.statuses[route]["timeout" if isinstance(exc, TimeoutError) else "error"] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            record.latencies[route].append(time.perf_counter() - start)
            record.statuses[route][str(status)] += 1
            if status == 200 and b'"partial":true' in body:
                record.partial[route] += 1
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection(i) for i in range(concurrency)))


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return int(head[9:12]), await reader.readexactly(length)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ready_status(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            return str(json.load(r)["status"])
    except OSError:
        return "no answer"


def chaos(
    server: LocalServer, registry: Registry, versions: list[str], port: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Promotions every minute, one kill + start halfway; /readyz watched every 0.2 s."""
    seconds = args.minutes * 60
    started = time.monotonic()
    events: dict[str, Any] = {"promotions": 0, "not_ready_s": 0.0}
    next_promotion, restarted = 60.0, False
    last = time.monotonic()
    while (now := time.monotonic()) - started < seconds:
        if ready_status(port) != "ready":
            events["not_ready_s"] += now - last
        last = now
        if now - started >= next_promotion:
            events["promotions"] += 1
            registry.promote(versions[events["promotions"] % 2])
            next_promotion += 60.0
        if not restarted and now - started >= seconds / 2:
            restarted = True
            server.kill()
            began = time.monotonic()
            server.start(echo=lambda _: None)
            events["neo4j_start_s"] = time.monotonic() - began
        time.sleep(0.2)
    return events


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--products", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None, help="keep data and models here for reruns")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="crossgraph-soak-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        settings = bench_settings(work, heap="1g", pagecache="512m")
        server = LocalServer(settings)
        server.start(echo=lambda m: console.print(m, style="dim"))
        api: subprocess.Popen[bytes] | None = None
        try:
            versions = build(settings, work, args.accounts, args.products, args.seed)
            registry = Registry(settings.model_dir)
            registry.promote(versions[0])
            key = create_key(settings.keys_file, f"soak-{time.time_ns()}", ["read"])
            port = free_port()
            env = {
                **os.environ,
                "CROSSGRAPH_NEO4J_PORT": str(settings.neo4j_port),
                "CROSSGRAPH_DATA_DIR": str(settings.data_dir),
                "CROSSGRAPH_MODEL_DIR": str(settings.model_dir),
                "CROSSGRAPH_API_KEYS_FILE": str(settings.keys_file),
            }
            env.pop("CROSSGRAPH_NEO4J_URI", None)
            command = [
                sys.executable,
                "-m",
                "crossgraph",
                "serve",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ]
            api = subprocess.Popen(command, env=env)
            wait_ready(port)
            artifact = Artifact.load(registry.current().path)
            rng = random.Random(args.seed)
            calls = paths(artifact.accounts.ids.tolist(), artifact.products.ids.tolist(), rng, 5000)
            record = Record()
            rss_start = rss_mib(api.pid)
            load_start = os.getloadavg()[0]
            traffic = threading.Thread(
                target=lambda: asyncio.run(
                    drive(port, calls, key, args.concurrency, args.minutes * 60, record)
                )
            )
            traffic.start()
            events = chaos(server, registry, versions, port, args)
            traffic.join()
            rss_end = rss_mib(api.pid)
        finally:
            if api is not None:
                api.terminate()
                api.wait(timeout=30)
            server.stop()
    report(record, events, rss_start, rss_end, (load_start, os.getloadavg()[0]), args)


def wait_ready(port: int, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready_status(port) == "ready":
            return
        time.sleep(0.5)
    raise SystemExit("the API did not become ready")


def report(
    record: Record,
    events: dict[str, Any],
    rss_start: float,
    rss_end: float,
    load: tuple[float, float],
    args: argparse.Namespace,
) -> None:
    title = (
        f"Soak: {args.minutes:g} min, {args.accounts:,} accounts x {args.products:,} products, "
        f"{args.concurrency} connections, {events['promotions']} promotions, 1 Neo4j kill + start"
    )
    table = Table(title=title)
    for column in ("route", "requests", "by status", "partial", "p50 ms", "p99 ms"):
        table.add_column(column, justify="left" if column in ("route", "by status") else "right")
    rows = []
    for route in sorted(record.statuses):
        ms = np.asarray(record.latencies[route] or [float("nan")]) * 1000
        statuses = dict(sorted(record.statuses[route].items()))
        row = {
            "route": route,
            "requests": sum(statuses.values()),
            "statuses": statuses,
            "partial": record.partial[route],
            "p50": float(np.percentile(ms, 50)),
            "p99": float(np.percentile(ms, 99)),
        }
        rows.append(row)
        table.add_row(
            route,
            f"{row['requests']:,}",
            " ".join(f"{s}: {n:,}" for s, n in statuses.items()),
            f"{row['partial']:,}",
            f"{row['p50']:.1f}",
            f"{row['p99']:.1f}",
        )
    console.print(table)
    console.print(
        f"API RSS {rss_start:.0f} MiB at start, {rss_end:.0f} MiB at end; Neo4j start after the kill "
        f"{events.get('neo4j_start_s', float('nan')):.0f} s; /readyz not ready for "
        f"{events['not_ready_s']:.0f} s in all; load average {load[0]:.1f} at start, {load[1]:.1f} at end"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"routes": rows, "events": events, "rss_mib": [rss_start, rss_end]}, indent=2)
        )


if __name__ == "__main__":
    main()
