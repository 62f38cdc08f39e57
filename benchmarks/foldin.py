"""Learning between training runs: from POST /v1/purchases to the changed answer, and what fold-in costs.

    .venv/bin/python benchmarks/foldin.py                                # 10k accounts, 2k products
    .venv/bin/python benchmarks/foldin.py --accounts 2000 --products 400 --rounds 100   # quick look
    .venv/bin/python benchmarks/foldin.py --workdir /tmp/cg-api          # reuse benchmarks/api.py's data

Builds (once per --workdir, as benchmarks/api.py does) demo data in a local Neo4j and a trained,
promoted model (training/params.json), then runs the app in process (TestClient, lifespan on):

1. POST -> answer: per round a random model account buys its current top suggestion over
   POST /v1/purchases, then GET its recommendations; the time from sending the POST to
   holding the answer without that product (checked every round), p50/p99; and the POST alone.
2. Fold-in cost, one BLAS thread: implicit's recalculate_user on an account's weighted row,
   and the whole refold of one account (row, solve, nearest peers by cosine over all accounts),
   next to one Neo4j round trip (a trivial read), the unit a POST spends six of.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import bench_settings, build

from crossgraph.api.app import create_app
from crossgraph.graph.changes import account_rows
from crossgraph.graph.driver import Graph
from crossgraph.keys import ApiKey
from crossgraph.recommend.engine import Engine
from crossgraph.recommend.folding import fold_account
from crossgraph.server.local import LocalServer

console = Console(width=140)
KEY = "bench-write-key"


def post_to_answer(client: TestClient, accounts: list[str], rounds: int, seed: int) -> dict[str, list[float]]:
    rng = random.Random(seed)
    headers = {"X-API-Key": KEY}
    out: dict[str, list[float]] = {"post_to_answer": [], "post": []}
    for n in range(rounds):
        account = rng.choice(accounts)
        items = client.get(f"/v1/accounts/{account}/recommendations?limit=10", headers=headers).json()[
            "items"
        ]
        sku = items[0]["sku"]
        line = {
            "line_id": f"BENCH-{time.time_ns()}-{n}",
            "order_id": f"BENCH-O-{n}",
            "account_id": account,
            "sku": sku,
            "quantity": 1,
            "revenue": 10.0,
            "ordered_at": "2026-07-01",
        }
        start = time.perf_counter()
        response = client.post("/v1/purchases", json={"lines": [line]}, headers=headers)
        posted = time.perf_counter()
        answer = client.get(f"/v1/accounts/{account}/recommendations?limit=10", headers=headers).json()
        done = time.perf_counter()
        if response.status_code != 200 or sku in {i["sku"] for i in answer["items"]}:
            raise SystemExit(f"round {n}: {sku} still suggested to {account} after the POST: {response.text}")
        out["post"].append((posted - start) * 1000)
        out["post_to_answer"].append((done - start) * 1000)
    return out


def fold_costs(engine: Engine, graph: Graph, accounts: list[str], repeats: int) -> dict[str, list[float]]:
    rows = account_rows(graph, accounts)
    out: dict[str, list[float]] = {"neo4j round trip": [], "recalculate_user": [], "refold one account": []}
    for _ in range(200):  # the unit a POST spends six of (references, pairs, write, change, row read)
        start = time.perf_counter()
        graph.read("change_seq")
        out["neo4j round trip"].append((time.perf_counter() - start) * 1000)
    with threadpool_limits(1, "blas"):
        for row in rows:
            folded = fold_account(engine, row)
            for _ in range(repeats):
                start = time.perf_counter()
                engine.fold_in.fold(folded.confidence / np.float32(engine.fold_in.params.alpha))
                out["recalculate_user"].append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            fold_account(engine, row)
            out["refold one account"].append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=200, help="POST -> answer rounds")
    parser.add_argument("--workdir", type=Path, default=None, help="keep data and model here for reruns")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory(prefix="crossgraph-foldin-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        settings = bench_settings(
            work,
            api_keys_file=work / "no-keys.json",
            api_keys=[ApiKey(name="bench", key=SecretStr(KEY), scopes=["write"])],
        )
        server = LocalServer(settings)
        server.start(echo=lambda m: console.print(m, style="dim"))
        try:
            build(settings, work, args.accounts, args.products, args.seed)
            with TestClient(create_app(settings)) as client:
                engine: Engine = client.app.state.crossgraph.holder.engine  # type: ignore[attr-defined]
                accounts = list(engine.account_ids)
                latency = post_to_answer(client, accounts, args.rounds, args.seed)
                with Graph.connect(settings) as g:
                    costs = fold_costs(engine, g, random.Random(args.seed).sample(accounts, 200), 20)
                factors = engine.product_factors.shape[1]
                shape = f"{engine.n_accounts} accounts x {len(engine.skus)} products, {factors} factors"
        finally:
            server.stop()
    report({**latency, **costs}, shape, args)


def report(figures: dict[str, list[float]], shape: str, args: argparse.Namespace) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    table = Table(title=f"Fold-in ({shape}; one BLAS thread; load average {load})")
    for column in ("measure", "n", "p50 ms", "p99 ms", "mean ms"):
        table.add_column(column, justify="right" if column != "measure" else "left")
    rows: list[dict[str, Any]] = []
    for name, values in figures.items():
        ms = np.asarray(values)
        row = {
            "measure": name,
            "n": len(ms),
            "p50": float(np.percentile(ms, 50)),
            "p99": float(np.percentile(ms, 99)),
            "mean": float(ms.mean()),
        }
        rows.append(row)
        table.add_row(name, str(row["n"]), f"{row['p50']:.3f}", f"{row['p99']:.3f}", f"{row['mean']:.3f}")
    console.print(table)
    if args.json:
        args.json.write_text(
            json.dumps({"shape": shape, "load": os.getloadavg(), "rows": rows}, indent=1) + "\n"
        )


if __name__ == "__main__":
    main()
