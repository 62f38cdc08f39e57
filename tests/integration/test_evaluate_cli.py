"""`crossgraph evaluate` on the graph: demo data loaded into a real Neo4j, every model scored."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crossgraph.cli import app
from crossgraph.data.demo import generate_demo
from crossgraph.graph.driver import Graph
from crossgraph.graph.feedback import Feedback, record_feedback
from crossgraph.graph.ingest import load_directory
from crossgraph.settings import Settings, get_settings

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]
METRICS = {
    f"{m}@{k}"
    for m in ("precision", "recall", "ndcg", "map", "hit_rate", "coverage", "top1_share")
    for k in (5, 10)
}


def test_evaluate_on_the_graph_writes_every_model_and_metric(
    graph: Graph, cli_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSGRAPH_MODEL_DIR", str(tmp_path / "models"))  # none promoted there
    get_settings.cache_clear()
    generate_demo(tmp_path / "demo", accounts=400, seed=3, as_of=date(2026, 6, 30))
    load_directory(graph, tmp_path / "demo")
    # The online side: feedback on two model versions, as POST /v1/feedback stores it.
    account, sku = "A00001", graph.write_text("MATCH (p:Product) RETURN p.sku AS sku LIMIT 1")[0]["sku"]
    for n, (version, action) in enumerate(
        [("v1", "shown"), ("v1", "shown"), ("v1", "accepted"), ("v1", "won"), ("v2", "shown"), ("v2", "lost")]
    ):
        record_feedback(
            graph,
            Feedback(
                str(n), account, sku, action, "rep", datetime(2026, 7, 1, tzinfo=UTC), model_version=version
            ),  # type: ignore[arg-type]
        )
    out, png = tmp_path / "eval.json", tmp_path / "eval.png"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--cutoff",
            "2025-12-31",
            "--segment",
            "industry",
            "--json",
            str(out),
            "--plot",
            str(png),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "served model: shipped parameters from training/params.json" in result.output
    report = json.loads(out.read_text())
    models = {m["name"]: m for m in report["models"]}
    assert {"popularity", "segment_popularity", "item_knn_bm25", "ease"} <= set(models)
    served = [m for m in report["models"] if m["role"] == "served"]
    assert len(served) == 1
    for model in report["models"]:
        assert set(model["metrics"]) == METRICS
    # Collaborative filtering finds the demo's co-purchase structure: far above popularity.
    assert served[0]["metrics"]["ndcg@10"] > 1.5 * models["popularity"]["metrics"]["ndcg@10"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report["online"]["v1"] == {
        "shown": 2,
        "accepted": 1,
        "dismissed": 0,
        "won": 1,
        "lost": 0,
        "acceptance_rate": 0.5,
        "win_rate": 1.0,
    }
    assert report["online"]["v2"]["win_rate"] == 0.0 and report["online"]["v2"]["acceptance_rate"] == 0.0
    assert "Online: feedback per model version" in result.output and "50.0%" in result.output


def test_evaluate_names_a_bad_cutoff(cli_env: Settings, tmp_path: Path) -> None:
    path = tmp_path / "purchases.csv"
    path.write_text("line_id,order_id,account_id,sku,quantity,revenue,ordered_at\nL1,O1,A,P,1,1,2024-01-01\n")
    result = CliRunner().invoke(app, ["evaluate", "--purchases", str(path), "--cutoff", "soon"])
    assert result.exit_code == 1
    assert "--cutoff 'soon' is not a date" in result.output
