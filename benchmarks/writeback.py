"""Write-back rewrite cost: how long replacing one model's SIMILAR_TO / RECOMMENDED with the next
model's takes, by how much of the lists changed, next to the former delete-all-create-all way.

    .venv/bin/python benchmarks/writeback.py                        # 20k accounts, 2k products
    .venv/bin/python benchmarks/writeback.py --accounts 100000 --churn 0 0.3 1

Starts its own Neo4j (the project's launcher, temporary data folder, free port), creates the
accounts and products, and writes a first model's lists (10 peers, 10 products per account).
For each churn c it derives a next model's lists from the first one (each slot replaced by a
random other target with probability c, the order shuffled, new scores) and times, from the
same starting graph, two ways of bringing the graph to them:

- crossgraph's `write_back`: per batch of accounts and in one transaction, kept pairs are
  updated in place, dropped ones deleted, new ones created;
- the reference it replaced: per batch, delete every relationship of the accounts, create all
  of the new lists.

A nightly retrain on a day's more data keeps most lists (churn near 0); a rerun on the same
data keeps all of them. Both ways leave the same relationships; the benchmark checks that.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from crossgraph.data.matrix import IdMap
from crossgraph.graph.driver import Graph
from crossgraph.graph.schema import init_schema
from crossgraph.graph.writeback import write_back
from crossgraph.model.artifact import Artifact
from crossgraph.server.local import LocalServer, free_port
from crossgraph.settings import Settings

# The write-back before in-place updates (delete all of the batch's, create all anew).
REFERENCE = ("write_similar_accounts", "write_recommendations")


class ReferenceGraph(Graph):
    """A Graph whose write-back queries are the reference ones (cypher/reference/)."""

    def write(self, name: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return super().write(f"reference/{name}" if name in REFERENCE else name, params)


def lists(
    rng: np.random.Generator, n_rows: int, n_targets: int, width: int, no_self: bool
) -> npt.NDArray[np.int32]:
    """Rows of `width` distinct random targets (never the row itself when `no_self`)."""
    out = np.empty((n_rows, width), dtype=np.int32)
    for r in range(n_rows):
        pick = rng.choice(n_targets - 1 if no_self else n_targets, size=width, replace=False)
        out[r] = pick + (pick >= r) if no_self else pick
    return out


def churned(
    rng: np.random.Generator, base: npt.NDArray[np.int32], n_targets: int, churn: float, no_self: bool
) -> npt.NDArray[np.int32]:
    """Each slot replaced with probability `churn` by a target not on the row, the row shuffled."""
    out = base.copy()
    for r, row in enumerate(out):
        taken = set(row.tolist()) | ({r} if no_self else set())
        for s in np.flatnonzero(rng.random(len(row)) < churn):
            while (t := int(rng.integers(n_targets))) in taken:
                pass
            taken.add(t)
            row[s] = t
        rng.shuffle(row)
    return out


def fake_artifact(
    version: str,
    accounts: IdMap,
    products: IdMap,
    peers: npt.NDArray[np.int32],
    items: npt.NDArray[np.int32],
    rng: np.random.Generator,
) -> Artifact:
    """What write_back reads of an artifact, scores descending along each row."""

    def scores(shape: tuple[int, ...]) -> npt.NDArray[np.float32]:
        return -np.sort(-rng.random(shape, dtype=np.float32), axis=1)

    return cast(
        Artifact,
        SimpleNamespace(
            version=version,
            accounts=accounts,
            products=products,
            similar_accounts=peers,
            similar_scores=scores(peers.shape),
            recommended=items,
            recommended_scores=scores(items.shape),
            manifest={"metrics": {}},
        ),
    )


def snapshot(graph: Graph) -> set[tuple[str, str, str, int]]:
    rows = graph.write_text(
        "MATCH (a:Account)-[r:SIMILAR_TO|RECOMMENDED]->(t) "
        "RETURN type(r) AS type, a.id AS a, coalesce(t.id, t.sku) AS t, r.rank AS rank"
    )
    return {(row["type"], row["a"], row["t"], row["rank"]) for row in rows}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--width", type=int, default=10, help="peers and products per account")
    parser.add_argument("--churn", type=float, nargs="+", default=[0.0, 0.3, 1.0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()
    console = Console(width=max(Console().width, 120))
    load_before = os.getloadavg()[0]
    rng = np.random.default_rng(args.seed)
    per_write = 2 * args.accounts * args.width

    with tempfile.TemporaryDirectory(prefix="crossgraph-writeback-bench-") as tmp:
        env = Settings()
        settings = Settings(
            neo4j_uri=None,
            neo4j_port=free_port(),
            data_dir=Path(tmp) / "data",
            neo4j_heap=env.neo4j_heap,
            neo4j_pagecache=env.neo4j_pagecache,
            neo4j_tx_memory=env.neo4j_tx_memory,
        )
        server = LocalServer(settings)
        try:
            server.start(echo=lambda m: console.print(m, style="dim"))
            with Graph.connect(settings) as graph:
                rows = run(graph, args, rng, console)
        finally:
            server.stop()

    table = Table(
        title=(
            f"Write-back benchmark: {args.accounts:,} accounts x {args.products:,} products, "
            f"{args.width} peers + {args.width} products each ({per_write:,} relationships per write)"
        )
    )
    for column in ("step", "seconds", "relationships/s", "reference / ours"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for row in rows:
        row["rate"] = per_write / row["seconds"]
        speedup = row.get("vs_reference")
        table.add_row(
            row["step"], f"{row['seconds']:.1f}", f"{row['rate']:,.0f}", f"{speedup:.2f}x" if speedup else ""
        )
    console.print(table)
    console.print(f"load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f}")
    if args.json:
        figures = {"arguments": vars(args) | {"json": str(args.json)}, "rows": rows}
        args.json.write_text(json.dumps(figures, indent=2))


def run(
    graph: Graph, args: argparse.Namespace, rng: np.random.Generator, console: Console
) -> list[dict[str, Any]]:
    """Seconds of the first write, then per churn of both ways from the same starting graph."""
    accounts = IdMap.from_array(np.asarray([f"A{i:07d}" for i in range(args.accounts)]))
    products = IdMap.from_array(np.asarray([f"P{i:05d}" for i in range(args.products)]))
    base_peers = lists(rng, args.accounts, args.accounts, args.width, no_self=True)
    base_items = lists(rng, args.accounts, args.products, args.width, no_self=False)
    base = fake_artifact("v-base", accounts, products, base_peers, base_items, rng)
    init_schema(graph)
    for label, key, ids in (("Account", "id", accounts.ids), ("Product", "sku", products.ids)):
        graph.write_text(f"UNWIND $ids AS id CREATE (:{label} {{{key}: id}})", {"ids": ids.tolist()})
    reference = ReferenceGraph(graph.driver, graph.database)
    ways = (("write_back (in place)", graph), ("reference (delete + create)", reference))
    rows: list[dict[str, Any]] = []

    def timed(step: str, target: Graph, artifact: Artifact) -> None:
        started = time.perf_counter()
        write_back(target, artifact, peers=args.width, products=args.width)
        rows.append({"step": step, "seconds": time.perf_counter() - started})
        console.print(f"{step}: {rows[-1]['seconds']:.1f} s", style="dim")

    timed("first write (empty graph)", graph, base)
    for churn in args.churn:
        peers = churned(rng, base_peers, args.accounts, churn, no_self=True)
        items = churned(rng, base_items, args.products, churn, no_self=False)
        nxt = fake_artifact(f"v-churn-{churn}", accounts, products, peers, items, rng)
        results = []
        for way, target in ways:
            write_back(graph, base, peers=args.width, products=args.width)  # the same start
            timed(f"rewrite, churn {churn:.0%}: {way}", target, nxt)
            results.append(snapshot(graph))
        assert results[0] == results[1], "both ways must leave the same relationships"
        rows[-2]["vs_reference"] = rows[-1]["seconds"] / rows[-2]["seconds"]
    return rows


if __name__ == "__main__":
    main()
