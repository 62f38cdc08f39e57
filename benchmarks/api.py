"""API latency and throughput on demo data, plus the in-process cost of one account's answer.

    .venv/bin/python benchmarks/api.py                               # 10k accounts, 2k products
    .venv/bin/python benchmarks/api.py --accounts 2000 --products 400 --duration 5   # quick look
    .venv/bin/python benchmarks/api.py --workdir /tmp/cg-api         # keep data + model for reruns

Builds (once per --workdir) demo data, a local Neo4j with it loaded and a trained, promoted
model (training/params.json's model, no tuning); then starts `crossgraph serve` as a separate
process and drives it over keep-alive HTTP/1.1 connections from a small asyncio client:

1. HTTP: requests/s and p50/p95/p99 at --concurrency connections for the recommendations
   endpoint (random accounts, limit 10, with evidence and drivers) next to /healthz, a
   trivial JSON endpoint of the same app, in the same run. Targets (issue 4): ours >= 50 %
   of the trivial one's throughput, p99 < 20 ms.
2. In process: one account's recommendations with evidence and drivers (Engine.recommend)
   next to a bare numpy scoring + top-k of the same account. Target: <= 3x.
3. With --batch (issue 14, item 10): a heavy caller with its own read key posts batch calls of
   --batch-accounts x --batch-limit x --batch-kinds back to back (honouring Retry-After) while
   the sidebar call is driven as in 1 (with an admin key, unlimited: only the heavy caller
   meets the rate limit); each batch's status, seconds and bytes, and the sidebar's
   throughput next to its throughput alone. --no-limits serves without the batch
   work cap and rate limits (as before them), for the before/after figures:

    .venv/bin/python benchmarks/api.py --accounts 2000 --products 400 --workdir /tmp/cg-api \
        --batch --batch-limit 100 --no-limits                      # before: 500 x 100 x 3
    .venv/bin/python benchmarks/api.py ... --batch --batch-limit 100   # after: 422 at once
    .venv/bin/python benchmarks/api.py ... --batch --batch-accounts 100 --batch-limit 66  # largest allowed
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
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from crossgraph.data.demo import generate_demo
from crossgraph.graph.bulk import load_directory_initial
from crossgraph.graph.driver import Graph
from crossgraph.graph.export import export_accounts, export_order_lines, export_products
from crossgraph.graph.ingest import load_directory
from crossgraph.graph.schema import init_schema
from crossgraph.keys import create_key
from crossgraph.model.artifact import Artifact
from crossgraph.model.hybrid import HybridParams
from crossgraph.model.registry import Registry
from crossgraph.model.train import train
from crossgraph.recommend.engine import Engine
from crossgraph.server.local import LocalServer, free_port
from crossgraph.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
console = Console(width=140)


def bench_settings(work: Path, *, heap: str = "2g", pagecache: str = "1g", **overrides: Any) -> Settings:
    """A benchmark's own local Neo4j (a free port unless `neo4j_port` is given) with its data,
    models and keys in `work`; the benchmarks share this so they measure the same set-up."""
    fields: dict[str, Any] = {
        "neo4j_uri": None,
        "neo4j_port": free_port(),
        "data_dir": work / "data",
        "model_dir": work / "models",
        "api_keys_file": work / "keys.json",
        "neo4j_heap": heap,
        "neo4j_pagecache": pagecache,
    }
    return Settings(**{**fields, **{k: v for k, v in overrides.items() if v is not None}})


def build(
    settings: Settings,
    work: Path,
    accounts: int,
    products: int | None,
    seed: int,
    as_of: date | None = date(2026, 6, 30),
) -> None:
    """Demo data in the graph and a promoted model, unless --workdir already has them
    (`products` None: the generator's default; `as_of` None: today)."""
    registry = Registry(settings.model_dir)
    if registry.current_version() is not None:
        console.print(f"reusing model {registry.current_version()} in {settings.model_dir}", style="dim")
        return
    started = time.perf_counter()
    with Graph.connect(settings) as g:
        empty = not g.read("count_nodes")  # a kept --workdir has the data already
    if empty:
        generate_demo(work / "demo", accounts=accounts, products=products, seed=seed, as_of=as_of)
        console.print(f"demo data written in {time.perf_counter() - started:.0f} s", style="dim")
        if settings.uses_local_server:  # an empty store: Neo4j's offline importer (load --initial)
            load_directory_initial(settings, work / "demo")
        else:
            with Graph.connect(settings) as g:
                init_schema(g)
                load_directory(g, work / "demo")
        console.print(f"demo data loaded in {time.perf_counter() - started:.0f} s", style="dim")
    with Graph.connect(settings) as g:
        config = json.loads((ROOT / "training" / "params.json").read_text())
        result = train(
            export_order_lines(g),
            export_accounts(g),
            export_products(g),
            registry,
            params=HybridParams.from_dict(config["model"]),
            test_days=int(config.get("test_days", 120)),
        )
    registry.promote(result.version)
    console.print(f"model {result.version} trained in {time.perf_counter() - started:.0f} s", style="dim")


async def drive(
    port: int, paths: list[str], key: str, concurrency: int, seconds: float
) -> tuple[list[float], dict[int, int]]:
    """Keep `concurrency` connections busy for `seconds`; latency of every request."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def connection(offset: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        n = offset
        while time.perf_counter() < deadline:
            path = paths[n % len(paths)]
            n += concurrency
            request = f"GET {path} HTTP/1.1\r\nHost: bench\r\nX-API-Key: {key}\r\n\r\n".encode()
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            status = int(head[9:12])
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    await asyncio.gather(*(connection(i) for i in range(concurrency)))
    return latencies, statuses


def http_rows(port: int, key: str, accounts: list[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    rng = random.Random(args.seed)
    targets = {
        "GET /healthz (trivial)": ["/healthz"],
        "GET /v1/accounts/{id}/recommendations": [
            f"/v1/accounts/{a}/recommendations?limit=10" for a in rng.choices(accounts, k=5000)
        ],
    }
    rows = []
    for name, paths in targets.items():
        asyncio.run(drive(port, paths, key, args.concurrency, min(2.0, args.duration)))  # warm-up
        latencies, statuses = asyncio.run(drive(port, paths, key, args.concurrency, args.duration))
        ms = np.asarray(latencies) * 1000
        rows.append(
            {
                "endpoint": name,
                "requests": len(ms),
                "rps": len(ms) / args.duration,
                "p50": float(np.percentile(ms, 50)),
                "p95": float(np.percentile(ms, 95)),
                "p99": float(np.percentile(ms, 99)),
                "non_200": sum(n for s, n in statuses.items() if s != 200),
            }
        )
    return rows


def post_batch(port: int, key: str, body: bytes) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/recommendations/batch",
        data=body,
        headers={"X-API-Key": key, "Content-Type": "application/json"},
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=600) as r:
            status, data, retry = r.status, r.read(), None
    except urllib.error.HTTPError as e:
        status, data, retry = e.code, e.read(), e.headers.get("Retry-After")
    return {"status": status, "seconds": time.perf_counter() - start, "bytes": len(data), "retry": retry}


def batch_rows(
    port: int, sidebar_key: str, batch_key: str, accounts: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    """The sidebar alone, then while a heavy caller posts batches back to back."""
    rng = random.Random(args.seed)
    paths = [f"/v1/accounts/{a}/recommendations?limit=10" for a in rng.choices(accounts, k=5000)]
    body = json.dumps(
        {
            "accounts": rng.sample(accounts, args.batch_accounts),
            "limit": args.batch_limit,
            "opportunity": args.batch_kinds.split(","),
        }
    ).encode()
    asyncio.run(drive(port, paths, sidebar_key, args.concurrency, min(2.0, args.duration)))  # warm-up
    alone, _ = asyncio.run(drive(port, paths, sidebar_key, args.concurrency, args.duration))
    calls: list[dict[str, Any]] = []
    stop = threading.Event()

    def heavy() -> None:
        while not stop.is_set():
            call = post_batch(port, batch_key, body)
            calls.append(call)
            if call["retry"]:
                stop.wait(float(call["retry"]))

    thread = threading.Thread(target=heavy, daemon=True)
    thread.start()
    time.sleep(0.5)  # the first batch is under way
    during, statuses = asyncio.run(drive(port, paths, sidebar_key, args.concurrency, args.duration))
    stop.set()
    thread.join()
    return {
        "batch": f"{args.batch_accounts} x {args.batch_limit} x {args.batch_kinds}",
        "limits": not args.no_limits,
        "calls": calls,
        "sidebar_alone_rps": len(alone) / args.duration,
        "sidebar_during_rps": len(during) / args.duration,
        "sidebar_during_p99": float(np.percentile(np.asarray(during) * 1000, 99)),
        "sidebar_non_200": sum(n for s, n in statuses.items() if s != 200),
    }


def in_process(model_dir: Path, n: int, seed: int) -> list[dict[str, Any]]:
    engine = Engine(Artifact.load(Registry(model_dir).current().path))
    rng = np.random.default_rng(seed)
    sample = rng.integers(0, engine.n_accounts, size=n)
    factors = np.ascontiguousarray(engine.account_factors)
    items = np.ascontiguousarray(engine.product_factors)

    def bare(a: int) -> Any:
        scores = items @ factors[a]
        scores[engine.owned_indices(a)] = -np.inf
        top = np.argpartition(-scores, 10)[:10]
        return top[np.argsort(-scores[top])]

    def ours(a: int) -> Any:
        return engine.recommend(a, limit=10)

    rows = []
    limits = threadpool_limits(1, "blas")  # as the server does: small solves, no BLAS threads
    for name, call in (
        ("bare numpy: ALS scores + top-10", bare),
        ("Engine.recommend: + evidence, drivers", ours),
    ):
        for a in sample[:50]:
            call(int(a))  # warm caches
        times = []
        for a in sample:
            start = time.perf_counter()
            call(int(a))
            times.append(time.perf_counter() - start)
        us = np.asarray(times) * 1e6
        rows.append({"what": name, "median_us": float(np.median(us)), "p99_us": float(np.percentile(us, 99))})
    limits.restore_original_limits()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--workdir", type=Path, default=None, help="keep data and model here for reruns")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    parser.add_argument(
        "--batch", action="store_true", help="only the heavy batch caller next to the sidebar"
    )
    parser.add_argument("--batch-accounts", type=int, default=500)
    parser.add_argument("--batch-limit", type=int, default=100)
    parser.add_argument("--batch-kinds", default="cross_sell,upsell,renewal")
    parser.add_argument(
        "--no-limits", action="store_true", help="serve without batch work cap and rate limits"
    )
    args = parser.parse_args()

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="crossgraph-api-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        settings = bench_settings(work)
        server = LocalServer(settings)
        server.start(echo=lambda m: console.print(m, style="dim"))
        api: subprocess.Popen[bytes] | None = None
        try:
            build(settings, work, args.accounts, args.products, args.seed)
            # With --batch the sidebar's key is an admin key (unlimited by default): only the
            # heavy caller, with a read key, meets the rate limit.
            key = create_key(
                settings.keys_file, f"bench-{time.time_ns()}", ["admin" if args.batch else "read"]
            )
            batch_key = create_key(settings.keys_file, f"bench-batch-{time.time_ns()}", ["read"])
            port = free_port()
            env = {
                **os.environ,
                "CROSSGRAPH_NEO4J_PORT": str(settings.neo4j_port),
                "CROSSGRAPH_DATA_DIR": str(settings.data_dir),
                "CROSSGRAPH_MODEL_DIR": str(settings.model_dir),
                "CROSSGRAPH_API_KEYS_FILE": str(settings.keys_file),
            }
            env.pop("CROSSGRAPH_NEO4J_URI", None)
            if args.no_limits:
                env.update(
                    {
                        "CROSSGRAPH_API_BATCH_MAX_WORK": str(10**9),
                        "CROSSGRAPH_API_BATCH_MAX_GRAPH": str(10**9),
                        "CROSSGRAPH_API_RATE_READ": "0",
                    }
                )
            api = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "crossgraph",
                    "serve",
                    "--port",
                    str(port),
                    "--workers",
                    str(args.workers),
                    "--log-level",
                    "warning",
                ],
                env=env,
            )
            wait_ready(port)
            accounts = Artifact.load(Registry(settings.model_dir).current().path).accounts.ids.tolist()
            if args.batch:
                heavy = batch_rows(port, key, batch_key, accounts, args)
            else:
                http = http_rows(port, key, accounts, args)
                local = in_process(settings.model_dir, 2000, args.seed)
        finally:
            if api is not None:
                api.terminate()
                api.wait(timeout=30)
            server.stop()

    if args.batch:
        report_batch(heavy, args)
    else:
        report(http, local, args)


def report_batch(heavy: dict[str, Any], args: argparse.Namespace) -> None:
    limits = "with the limits" if heavy["limits"] else "without limits (--no-limits)"
    table = Table(title=f"Batch {heavy['batch']} back to back, {limits}, next to the sidebar call")
    for column in ("batch calls", "status", "seconds (median)", "MB (median)"):
        table.add_column(column, justify="right")
    by_status: dict[int, list[dict[str, Any]]] = {}
    for call in heavy["calls"]:
        by_status.setdefault(call["status"], []).append(call)
    for status, calls in sorted(by_status.items()):
        table.add_row(
            str(len(calls)),
            str(status),
            f"{np.median([c['seconds'] for c in calls]):.2f}",
            f"{np.median([c['bytes'] for c in calls]) / 1e6:.2f}",
        )
    console.print(table)
    share = heavy["sidebar_during_rps"] / heavy["sidebar_alone_rps"]
    console.print(
        f"sidebar: {heavy['sidebar_alone_rps']:,.0f} req/s alone, {heavy['sidebar_during_rps']:,.0f} req/s "
        f"during the batches ({share:.0%}), p99 {heavy['sidebar_during_p99']:.1f} ms, "
        f"{heavy['sidebar_non_200']} non-200"
    )
    if args.json:
        args.json.write_text(json.dumps(heavy, indent=2))


def wait_ready(port: int, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if json.load(r)["status"] == "ready":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("the API did not become ready")


def report(http: list[dict[str, Any]], local: list[dict[str, Any]], args: argparse.Namespace) -> None:
    title = (
        f"HTTP: {args.accounts:,} accounts x {args.products:,} products, {args.concurrency} connections, "
        f"{args.duration:.0f} s each, {args.workers} worker(s)"
    )
    table = Table(title=title)
    for column in ("endpoint", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "non-200"):
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    for r in http:
        table.add_row(
            r["endpoint"],
            f"{r['requests']:,}",
            f"{r['rps']:,.0f}",
            f"{r['p50']:.2f}",
            f"{r['p95']:.2f}",
            f"{r['p99']:.2f}",
            str(r["non_200"]),
        )
    console.print(table)
    trivial, ours = http
    share = ours["rps"] / trivial["rps"]
    console.print(
        f"recommendations throughput = {share:.0%} of the trivial endpoint (target >= 50 %): "
        f"{'met' if share >= 0.5 else 'NOT met'}; p99 {ours['p99']:.1f} ms (target < 20 ms): "
        f"{'met' if ours['p99'] < 20 else 'NOT met'}"
    )
    inproc = Table(title="In process, one account (2,000 random accounts)")
    for column in ("what", "median µs", "p99 µs"):
        inproc.add_column(column, justify="left" if column == "what" else "right")
    for r in local:
        inproc.add_row(r["what"], f"{r['median_us']:.0f}", f"{r['p99_us']:.0f}")
    console.print(inproc)
    ratio = local[1]["median_us"] / local[0]["median_us"]
    console.print(f"ours / bare = {ratio:.2f}x (target <= 3x): {'met' if ratio <= 3 else 'NOT met'}")
    if args.json:
        args.json.write_text(
            json.dumps({"http": http, "in_process": local, "ratio": ratio, "share": share}, indent=2)
        )


if __name__ == "__main__":
    main()
