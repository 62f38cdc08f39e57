"""The nightly job against a real Neo4j: promote, write back, and refuse a bad model."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from crossgraph.cli import app
from crossgraph.data.demo import generate_demo
from crossgraph.data.weighting import WeightingConfig
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import load_directory
from crossgraph.model.artifact import Artifact
from crossgraph.model.baselines import EASEParams
from crossgraph.model.hybrid import HybridParams
from crossgraph.model.registry import Registry
from crossgraph.settings import Settings

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]
runner = CliRunner()
# On this 300-account demo the blend of the earlier defaults, with recency half-lives (ALS 90
# days, EASE 30; NDCG@10 0.113), loses to EASE (0.177) with a bootstrap interval excluding
# zero, and the gate refuses it (issue 11). A blend led by an EASE like the baseline's is within
# the noise of every baseline, so the gate passes it.
DECAYED = HybridParams(
    als=replace(HybridParams().als, weighting=WeightingConfig(scheme="log", half_life_days=90.0)),
    ease=EASEParams(regularization=100.0, weighting=WeightingConfig(scheme="binary", half_life_days=30.0)),
)
GOOD = HybridParams.from_dict(
    {
        **HybridParams().to_dict(),
        "als_weight": 0.25,
        "ease": EASEParams().to_dict(),
        "ease_weight": 1.0,
        "knn_weight": 1.0,
    }
)


def params_file(path: Path, params: HybridParams) -> Path:
    path.write_text(json.dumps({"model": params.to_dict(), "test_days": 180}))
    return path


def test_train_promotes_writes_back_and_the_gate_refuses_a_bad_model(
    graph: Graph, cli_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSGRAPH_MODEL_DIR", str(tmp_path / "models"))
    from crossgraph.settings import get_settings

    get_settings.cache_clear()
    generate_demo(tmp_path / "demo", accounts=300, seed=5, as_of=date(2026, 6, 30))
    load_directory(graph, tmp_path / "demo")
    default = runner.invoke(app, ["train", "--params", str(params_file(tmp_path / "d.json", DECAYED))])
    assert default.exit_code == 2, default.output
    assert "is below the baseline ease" in default.output and "excludes zero" in default.output
    good = params_file(tmp_path / "good.json", GOOD)
    first = runner.invoke(app, ["train", "--params", str(good)])
    assert first.exit_code == 0, first.output
    registry = Registry(tmp_path / "models")
    current = registry.current()
    artifact = Artifact.load(current.path)
    n_accounts = len(artifact.accounts)
    assert n_accounts == 300
    assert artifact.account_factors.shape[0] == n_accounts
    # Peers never include the account itself; recommendations are never owned products.
    assert not np.any(artifact.similar_accounts == np.arange(n_accounts)[:, None])
    owned = artifact.owned.toarray() > 0
    recs = np.asarray(artifact.recommended[:, :10])
    assert not any(owned[a, i] for a in range(n_accounts) for i in recs[a] if i >= 0)

    counts = graph.write_text(
        "MATCH ()-[s:SIMILAR_TO]->() WITH count(s) AS similar, collect(DISTINCT s.model_version) AS sv "
        "MATCH ()-[r:RECOMMENDED]->() "
        "RETURN similar, sv, count(r) AS recommended, collect(DISTINCT r.model_version) AS rv"
    )[0]
    assert counts["similar"] == int((np.asarray(artifact.similar_accounts[:, :10]) >= 0).sum())
    assert counts["recommended"] == int((recs >= 0).sum())
    assert counts["sv"] == counts["rv"] == [current.version]

    bad_params = HybridParams.from_dict(
        {
            **HybridParams().to_dict(),
            "ease_weight": 0.0,
            "knn_weight": 0.0,
            "als": {**HybridParams().als.to_dict(), "factors": 1, "iterations": 1},
        }
    )
    bad = runner.invoke(app, ["train", "--params", str(params_file(tmp_path / "bad.json", bad_params))])
    assert bad.exit_code == 2, bad.output
    assert "gate refused" in bad.output
    assert registry.current().version == current.version
    assert len(registry.versions()) == 3  # the refused artifacts are kept for inspection
    # The graph still holds the promoted model's write-back.
    versions = graph.write_text("MATCH ()-[s:SIMILAR_TO]->() RETURN collect(DISTINCT s.model_version) AS v")[
        0
    ]["v"]
    assert versions == [current.version]
    listing = runner.invoke(app, ["models", "list"])
    assert "refused" in listing.output and "passed" in listing.output

    # Tuning searches before the cutoff and the manifest records what it chose; the tuned model
    # is within the noise of the current one (or better), so the run passes.
    start = params_file(tmp_path / "start.json", HybridParams())
    tuned = runner.invoke(app, ["train", "--params", str(start), "--tune-minutes", "0.25", "--no-write-back"])
    assert tuned.exit_code == 0, tuned.output
    manifest = Registry(tmp_path / "models").versions()[-1].manifest
    assert manifest["gate"]["passed"] is True
    tuning = manifest["tuning"]
    assert tuning["best"] == manifest["params"] and tuning["budget_seconds"] == 15.0
    stages = {t["stage"] for t in tuning["trials"]}
    assert stages >= {"popularity", "ease", "knn", "rp3", "als"}
    # The baselines were searched too, and the guard says whether the blend had to lean on one.
    assert tuning["baselines"]["ease"]["regularization"] in {
        t["params"]["regularization"] for t in tuning["trials"] if t["stage"] == "ease"
    }
    assert tuning["guard"]["best_baseline"] in {"popularity", "ease", "knn"} and tuning["guard"]["met"]

    # Promote and rollback by hand: the graph's write-back and ModelVersion follow the served model.
    def graph_versions() -> tuple[list[str], list[str]]:
        row = graph.write_text(
            "MATCH ()-[s:SIMILAR_TO]->() WITH collect(DISTINCT s.model_version) AS sv "
            "MATCH (m:ModelVersion) RETURN sv, collect(m.version) AS mv"
        )[0]
        return row["sv"], row["mv"]

    refused = next(v.version for v in registry.versions() if not v.manifest["gate"]["passed"])
    before = registry.current().version
    promoted = runner.invoke(app, ["models", "promote", refused])
    assert promoted.exit_code == 0, promoted.output
    assert graph_versions() == ([refused], [refused])
    shown = runner.invoke(app, ["models", "show", refused])
    assert "refused:" in shown.output and "Offline metrics" in shown.output
    assert json.loads(runner.invoke(app, ["models", "show", refused, "--json"]).output)["version"] == refused
    rolled = runner.invoke(app, ["models", "rollback"])
    assert rolled.exit_code == 0, rolled.output
    assert registry.current().version == before
    assert graph_versions() == ([before], [before])
    get_settings.cache_clear()
