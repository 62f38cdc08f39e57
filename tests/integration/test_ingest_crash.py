"""A load killed mid-way (SIGKILL: no cleanup, no except clause runs) and run again gives the
graph a clean load gives: no order line lost, none counted twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from crossgraph.data.demo import generate_demo
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import load_directory
from crossgraph.graph.schema import graph_stats, init_schema
from crossgraph.settings import Settings

pytestmark = pytest.mark.neo4j

AGGREGATES = (
    "MATCH (a:Account)-[b:BOUGHT]->(p:Product) "
    "RETURN a.id AS account, p.sku AS sku, b.orders AS orders, b.quantity AS quantity, "
    "b.revenue AS revenue, b.first_at AS first_at, b.last_at AS last_at, b.line_ids AS line_ids"
)
COUNT_BOUGHT = "MATCH ()-[b:BOUGHT]->() RETURN count(b) AS pairs"


def aggregates(graph: Graph) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Every BOUGHT's aggregates and its ledger of line ids, by (account, sku)."""
    return {
        (r["account"], r["sku"]): (
            r["orders"],
            r["quantity"],
            r["revenue"],
            r["first_at"],
            r["last_at"],
            sorted(r["line_ids"]),
        )
        for r in graph.write_text(AGGREGATES)
    }


def pairs(graph: Graph) -> int:
    return int(graph.write_text(COUNT_BOUGHT)[0]["pairs"])


def test_a_load_killed_mid_way_and_run_again_equals_a_clean_load(
    graph: Graph, cli_env: Settings, tmp_path: Path
) -> None:
    demo = tmp_path / "demo"
    generate_demo(demo, accounts=80, seed=7)  # 4,805 order lines of 80 accounts
    for path in demo.glob("*.csv"):  # BOUGHT needs only these three
        if path.stem not in ("accounts", "products", "purchases"):
            path.unlink()
    load_directory(graph, demo)
    clean = aggregates(graph)
    clean_stats = graph_stats(graph)
    graph.write_autocommit("delete_all")
    init_schema(graph)

    # Batches of 50 lines, cut between accounts: one purchase transaction per account, so the
    # kill lands between two of them (or inside one, which Neo4j then rolls back).
    command = [sys.executable, "-m", "crossgraph", "load", str(demo), "--batch-size", "50"]
    load = subprocess.Popen(command, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while pairs(graph) == 0 and load.poll() is None:
            time.sleep(0.02)
    finally:
        load.kill()  # SIGKILL
        _, stderr = load.communicate(timeout=30)
    assert load.returncode == -signal.SIGKILL, f"the load ended before it was killed: {stderr.decode()}"
    written = pairs(graph)
    assert 0 < written < len(clean), "the kill should land after some purchases and before the last"

    again = load_directory(graph, demo)
    assert again.known_lines > 0  # the killed load's lines were found in the ledgers, not added twice
    after = aggregates(graph)
    lost = clean.keys() - after.keys()
    duplicated = pairs(graph) - len(after)  # a second BOUGHT of the same account and product
    differ = [key for key in clean.keys() & after.keys() if clean[key] != after[key]]
    assert (len(lost), duplicated, len(differ)) == (0, 0, 0), (sorted(lost)[:5], differ[:5])
    assert graph_stats(graph) == clean_stats
