"""The Spark engine end to end on small demo data: the graph's order lines as Parquet,
`crossgraph train --engine spark --master local[2]` (the graph's lines, then the Parquet's read in
Spark), and its artifact served by the real API."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from crossgraph.api.app import create_app
from crossgraph.cli import app
from crossgraph.data.demo import generate_demo
from crossgraph.data.parquet import read_order_lines
from crossgraph.graph.driver import Graph
from crossgraph.graph.export import export_order_lines
from crossgraph.graph.ingest import load_directory
from crossgraph.keys import ApiKey
from crossgraph.model.hybrid import HybridParams
from crossgraph.model.registry import Registry
from crossgraph.settings import Settings, get_settings
from tests.integration.served import small_params
from tests.optional import need

need("pyspark")
pytestmark = [pytest.mark.neo4j, pytest.mark.slow]
runner = CliRunner()


def test_spark_trained_artifact_is_served_through_the_api(
    graph: Graph, cli_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSGRAPH_MODEL_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    generate_demo(tmp_path / "demo", accounts=150, seed=5, as_of=date(2026, 6, 30))
    load_directory(graph, tmp_path / "demo")

    exported = runner.invoke(app, ["export", "--parquet", str(tmp_path / "lake"), "--before", "2026-01-01"])
    assert exported.exit_code == 0, exported.output
    lake = read_order_lines(tmp_path / "lake")
    same = export_order_lines(graph, before=datetime(2026, 1, 1))
    assert len(lake) > 0 and sorted(lake.line_id.tolist()) == sorted(same.line_id.tolist())
    assert lake.ordered_at.max() < np.datetime64("2026-01-01")

    params: HybridParams = small_params()
    config = tmp_path / "params.json"
    config.write_text(json.dumps({"model": params.to_dict(), "test_days": 180}))
    trained = runner.invoke(
        app,
        [
            "train",
            "--params",
            str(config),
            "--engine",
            "spark",
            "--master",
            "local[2]",
            "--driver-memory",
            "1g",
        ],
    )
    assert trained.exit_code == 0, trained.output
    current = Registry(tmp_path / "models").current()
    engine = current.manifest["engine"]
    assert engine["name"] == "spark" and engine["master"] == "local[2]" and engine["spark"].startswith("3.5.")
    assert engine["components"]["als"] == {"status": "full"}
    assert engine["components"]["knn"]["similarity"] == "dense"  # lines from the graph: on the driver
    shown = runner.invoke(app, ["models", "show"]).output
    assert "engine: Spark 3.5." in shown and "similar accounts: exact" in shown

    # the lines read in Spark from the Parquet a lake holds; the gate refits the current model there
    everything = runner.invoke(app, ["export", "--parquet", str(tmp_path / "all")])
    assert everything.exit_code == 0, everything.output
    # a lake file with a line without account: refused by column and count, nothing registered
    table = pq.read_table(tmp_path / "all" / "order_lines.parquet")
    accounts = table.column("account_id").to_pylist()
    accounts[3] = None
    broken = table.set_column(table.column_names.index("account_id"), "account_id", pa.array(accounts))
    (tmp_path / "broken").mkdir()
    pq.write_table(broken, tmp_path / "broken" / "order_lines.parquet")
    refused = runner.invoke(
        app,
        ["train", "--params", str(config), "--engine", "spark", "--parquet", str(tmp_path / "broken")],
    )
    assert refused.exit_code == 1 and "account_id: 1 line missing or empty" in " ".join(
        refused.output.split()
    )
    assert Registry(tmp_path / "models").current().version == current.version
    monkeypatch.setenv("CROSSGRAPH_KNN_DENSE_MAX_PRODUCTS", "0")  # item-kNN in Spark at any size
    monkeypatch.setenv("CROSSGRAPH_DENSE_MAX_PRODUCTS", "50")  # EASE capped, as above 20,000
    get_settings.cache_clear()
    from_lake = runner.invoke(
        app,
        [
            "train",
            "--params",
            str(config),
            "--engine",
            "spark",
            "--driver-memory",
            "1g",
            "--parquet",
            str(tmp_path / "all"),
            "--evaluation-sample",
            "25",
        ],
    )
    assert from_lake.exit_code == 0, from_lake.output
    lake_model = Registry(tmp_path / "models").current()
    assert lake_model.version != current.version
    engine = lake_model.manifest["engine"]
    assert engine["input"] == str(tmp_path / "all") and engine["evaluation"]["test_accounts"] == 25
    # item-kNN's neighbours found in Spark: only products x neighbours rows reached the driver
    assert engine["components"]["knn"] == {
        "status": "capped",
        "neighbours": params.knn.neighbours,
        "similarity": "spark",
    }
    assert engine["evaluation"]["of_test_accounts"] > 25
    # the shared dense threshold (the local engine's too): EASE capped in the blend and the baselines
    products = lake_model.manifest["data"]["products"]
    assert engine["components"]["ease"] == {
        "status": "capped",
        "products": 50,
        "of": products,
        "reason": f"fitted on the 50 best-selling of {products:,} products (CROSSGRAPH_DENSE_MAX_PRODUCTS)",
    }
    assert "ease (top 50 products)" in engine["evaluation"]["baselines"]
    assert "served: ease" in engine["evaluation"]["capped"] and engine["evaluation"]["left_out"] == {}
    assert "ease" in lake_model.manifest["components"]
    assert lake_model.manifest["gate"]["current_version"] == current.version
    assert lake_model.manifest["metrics"]["split"]["test_accounts"] == 25
    assert (lake_model.path / "account_ids.npy").read_bytes() == (
        current.path / "account_ids.npy"
    ).read_bytes()
    current = lake_model

    settings = cli_env.model_copy(
        update={
            "model_dir": tmp_path / "models",
            "api_keys": [ApiKey(name="reader", key=SecretStr("spark-key"), scopes=["read"])],
            "api_keys_file": tmp_path / "no-keys.json",
        }
    )
    first = next(iter(json.loads((current.path / "accounts.json").read_text())))
    with TestClient(create_app(settings)) as client:
        model = client.get("/v1/model", headers={"X-API-Key": "spark-key"})
        answer = client.get(f"/v1/accounts/{first}/recommendations", headers={"X-API-Key": "spark-key"})
    assert model.status_code == 200 and model.json()["version"] == current.version
    assert answer.status_code == 200, answer.text
    assert answer.json()["model_version"] == current.version and answer.json()["items"]
    get_settings.cache_clear()
