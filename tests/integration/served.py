"""A served model for API tests: demo data in the test Neo4j, a real (small, fast) fit,
promoted in a temporary registry, plus one account that arrived after the fit."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import SecretStr

from crossgraph.data.demo import generate_demo
from crossgraph.graph.driver import Graph
from crossgraph.graph.export import export_accounts, export_installed, export_order_lines, export_products
from crossgraph.graph.ingest import load_directory
from crossgraph.graph.schema import init_schema
from crossgraph.keys import ApiKey
from crossgraph.model.als import ALSParams
from crossgraph.model.artifact import Artifact
from crossgraph.model.hybrid import HybridParams
from crossgraph.model.registry import Registry
from crossgraph.model.train import train
from crossgraph.settings import Settings

READ_KEY = "test-read-key"
ADMIN_KEY = "test-admin-key"
WRITE_KEY = "test-write-key"
WRITE = {"X-API-Key": WRITE_KEY}
READ = {"X-API-Key": READ_KEY}
ADMIN = {"X-API-Key": ADMIN_KEY}
NEW_ACCOUNT = "NEW-0001"


def wait_for(condition: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds (a generous
    bound for a loaded machine: the test waits for an event, it does not time one)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.02)


def small_params(factors: int = 16) -> HybridParams:
    return HybridParams(als=ALSParams(factors=factors, iterations=6, regularization=1.0))


@dataclass
class Served:
    settings: Settings
    registry: Registry
    artifact: Artifact
    new_account_sku: str

    def fit_new_version(self, graph: Graph, factors: int) -> str:
        """Train another version (not promoted) on the same graph."""
        lines = export_order_lines(graph)
        result = train(
            lines,
            export_accounts(graph),
            export_products(graph),
            self.registry,
            params=small_params(factors),
            test_days=180,
            installed=export_installed(graph),
        )
        return result.version


def build_served(neo4j_settings: Settings, root: Path, *, accounts: int = 200, seed: int = 11) -> Served:
    registry = Registry(root / "models")
    with Graph.connect(neo4j_settings) as g:
        g.write_autocommit("delete_all")
        init_schema(g)
        generate_demo(root / "demo", accounts=accounts, seed=seed, as_of=date(2026, 6, 30))
        load_directory(g, root / "demo")
        result = train(
            export_order_lines(g),
            export_accounts(g),
            export_products(g),
            registry,
            params=small_params(),
            test_days=180,
            installed=export_installed(g),
        )
        registry.promote(result.version)
        artifact = Artifact.load(registry.current().path)
        # An account that arrives after the fit: in the graph, not in the model.
        first = artifact.account_info[artifact.accounts.id(0)]
        sku = artifact.products.id(int(artifact.owned[0].indices[0]))
        new = root / "new"
        new.mkdir()
        (new / "accounts.csv").write_text(
            "id,name,industry,country,size_band,segment,parent_id\n"
            f"{NEW_ACCOUNT},Newcomer Werke AG,{first['industry']},{first['country']},small,,\n"
        )
        (new / "purchases.csv").write_text(
            f"line_id,order_id,account_id,sku,quantity,revenue,ordered_at\nNL1,NO1,{NEW_ACCOUNT},{sku},1,100,2026-07-01\n"
        )
        load_directory(g, new)
    settings = neo4j_settings.model_copy(
        update={
            "model_dir": root / "models",
            "api_keys": [
                ApiKey(name="reader", key=SecretStr(READ_KEY), scopes=["read"]),
                ApiKey(name="ops", key=SecretStr(ADMIN_KEY), scopes=["admin"]),
                ApiKey(name="crm", key=SecretStr(WRITE_KEY), scopes=["write"]),
            ],
            "api_keys_file": root / "no-keys.json",
            "api_poll_seconds": 0.2,
            "api_graph_timeout": 2.0,
            # Tests that hammer one key (a reload under load) test something else; the limits
            # have their own tests (test_api_limits.py), which set them.
            "api_rate_read": 0,
            "api_rate_write": 0,
        }
    )
    return Served(settings, registry, artifact, sku)
