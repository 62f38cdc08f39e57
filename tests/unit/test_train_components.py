"""What the manifest says about each blend component, that item-kNN in sparse blocks (above
CROSSGRAPH_KNN_DENSE_MAX_PRODUCTS) serves the lists the dense path serves, and that above
CROSSGRAPH_DENSE_MAX_PRODUCTS training caps EASE (or, when asked, leaves it out) and says so
(model.train)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from crossgraph.cli import app
from crossgraph.data.demo import generate_demo
from crossgraph.data.matrix import build_interactions
from crossgraph.data.orderlines import OrderLines
from crossgraph.data.purchase_file import read_purchase_file
from crossgraph.model.als import ALSParams
from crossgraph.model.artifact import Artifact
from crossgraph.model.baselines import EASEParams, ItemKNNRecommender
from crossgraph.model.dense import DenseLimit, top_products
from crossgraph.model.hybrid import HybridParams
from crossgraph.model.registry import Registry
from crossgraph.model.train import train
from crossgraph.recommend.engine import Engine
from crossgraph.settings import get_settings

SMALL = HybridParams(als=ALSParams(factors=8, iterations=4), ease_weight=1.0, knn_weight=0.5)


def demo_tables(tmp_path: Path) -> tuple[OrderLines, list[dict[str, str]], list[dict[str, str]], Registry]:
    """200 demo accounts' order lines, account and product rows, and an empty registry."""
    generate_demo(tmp_path / "demo", accounts=200, seed=3, as_of=date(2026, 6, 30))
    lines = read_purchase_file(tmp_path / "demo" / "purchases.csv").lines
    accounts = [{"id": a, "name": a} for a in sorted(set(lines.account_id))]
    products = [{"sku": s, "name": s} for s in sorted(set(lines.sku))]
    return lines, accounts, products, Registry(tmp_path / "models")


def test_item_knn_in_sparse_blocks_serves_the_dense_lists_and_the_manifest_says_how(tmp_path: Path) -> None:
    lines, accounts, products, registry = demo_tables(tmp_path)
    dense = train(lines, accounts, products, registry, params=SMALL, test_days=180)
    blocks = train(lines, accounts, products, registry, params=SMALL, test_days=180, knn_dense_max_products=1)

    components = blocks.manifest["engine"]["components"]
    assert components == {
        "als": {"status": "full"},
        "ease": {"status": "full"},
        "knn": {"status": "capped", "neighbours": SMALL.knn.neighbours, "similarity": "sparse blocks"},
        "rp3": {"status": "off"},
        "seq": {"status": "off"},
    }
    assert dense.manifest["engine"]["components"]["knn"]["similarity"] == "dense"
    assert blocks.score == dense.score
    # Equal similarities at a product's k-th place: each path may keep another of them (the
    # demo has products bought by the same accounts). Every other account's list is the same.
    interactions = build_interactions(lines)
    tied = (
        ItemKNNRecommender(SMALL.knn).fit(interactions).similarity
        != ItemKNNRecommender(SMALL.knn, dense_max_products=1).fit(interactions).similarity
    ).tocoo()
    untouched = np.asarray(interactions.binary[:, np.unique(tied.row)].sum(axis=1)).ravel() == 0
    assert untouched.mean() > 0.5
    for name in ("recommended.npy", "recommended_scores.npy"):
        got = np.load(registry.get(blocks.version).path / name)
        expected = np.load(registry.get(dense.version).path / name)
        np.testing.assert_array_equal(got[untouched], expected[untouched])


def test_above_the_dense_threshold_train_caps_ease_and_the_manifest_and_the_drivers_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines, accounts, products, registry = demo_tables(tmp_path)
    params = replace(SMALL, rp3_weight=0.5)
    n_products = len(products)
    assert n_products > 50
    result = train(
        lines, accounts, products, registry, params=params, test_days=180, dense=DenseLimit(max_products=50)
    )

    manifest = result.manifest
    reason = f"fitted on the 50 best-selling of {n_products:,} products (CROSSGRAPH_DENSE_MAX_PRODUCTS)"
    assert manifest["engine"]["ease"] == f"capped: {reason}"
    assert manifest["engine"]["components"] == {
        "als": {"status": "full"},
        "ease": {"status": "capped", "products": 50, "of": n_products, "reason": reason},
        "knn": {"status": "capped", "neighbours": params.knn.neighbours, "similarity": "dense"},
        "rp3": {"status": "capped", "neighbours": params.rp3.neighbours, "similarity": "sparse blocks"},
        "seq": {"status": "off"},
    }
    assert manifest["components"] == ["als", "ease", "knn", "rp3"] and "EASE" in manifest["model"]
    # the evaluation met the capped EASE baseline, by a name that says so
    metrics = manifest["metrics"]
    names = {m["name"] for m in metrics["models"]}
    assert "ease (top 50 products)" in names and "ease" not in names
    split_products = metrics["split"]["products"]
    before = f"fitted on the 50 best-selling of {split_products:,} products (CROSSGRAPH_DENSE_MAX_PRODUCTS)"
    assert metrics["left_out"] == {}
    assert metrics["capped"] == {
        "ease_partner (top 50 products)": before,
        "ease (top 50 products)": before,
        "served: ease": before,
    }
    assert manifest["gate"]["best_baseline"] in names - {"hybrid", "als"}
    # no reason names EASE for a product outside the cap; inside it, EASE scores
    interactions = build_interactions(lines)
    inside = {interactions.products.ids[j] for j in top_products(interactions.product_counts(), 50)}
    engine = Engine(Artifact.load(registry.get(result.version).path))
    by_ease = {True: 0, False: 0}
    for account in range(0, len(accounts), 3):
        listed = engine.recommended[account]
        assert (listed >= 0).all()
        for item in listed[:5].tolist():
            _, scored_by = engine.explained(account, item)
            by_ease[engine.skus[item] in inside] += "EASE" in scored_by
    assert by_ease[False] == 0 and by_ease[True] > 0
    # and `crossgraph models show` says it
    monkeypatch.setenv("CROSSGRAPH_MODEL_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    shown = CliRunner().invoke(app, ["models", "show", result.version], env={"COLUMNS": "400"})
    get_settings.cache_clear()
    assert shown.exit_code == 0, shown.output
    assert f"capped in the blend: ease (top 50 of {n_products:,} products)" in " ".join(shown.output.split())
    lam = manifest["params"]["ease"]["regularization"]
    assert f"EASE lambda {lam};" in " ".join(shown.output.split())  # plain EASE: no dropout named


def test_above_the_dense_threshold_train_leaves_ease_out_when_asked_and_the_manifest_and_the_drivers_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines, accounts, products, registry = demo_tables(tmp_path)
    params = replace(SMALL, rp3_weight=0.5)
    n_products = len(products)
    assert n_products > 50
    result = train(
        lines,
        accounts,
        products,
        registry,
        params=params,
        test_days=180,
        dense=DenseLimit(max_products=50, ease="leave-out"),
    )

    manifest = result.manifest
    reason = f"{n_products:,} products > 50 (CROSSGRAPH_DENSE_MAX_PRODUCTS)"
    assert manifest["engine"]["ease"] == f"left out: {reason}"
    assert manifest["engine"]["components"] == {
        "als": {"status": "full"},
        "ease": {"status": "left out", "reason": reason},
        "knn": {"status": "capped", "neighbours": params.knn.neighbours, "similarity": "dense"},
        "rp3": {"status": "capped", "neighbours": params.rp3.neighbours, "similarity": "sparse blocks"},
        "seq": {"status": "off"},
    }
    # what scored is what the manifest serves; the requested EASE weight is not among it
    assert manifest["components"] == ["als", "knn", "rp3"] and "EASE" not in manifest["model"]
    # the evaluation ran without the EASE baseline and says so; the gate compared with the rest
    metrics = manifest["metrics"]
    names = {m["name"] for m in metrics["models"]}
    assert "ease" not in names and {"popularity", "item_knn_bm25"} <= names
    before = f"{metrics['split']['products']:,} products > 50 (CROSSGRAPH_DENSE_MAX_PRODUCTS)"
    # the EASE baseline, the served blend's EASE and its EASE alone (a reference line)
    assert metrics["left_out"] == {"ease_partner": before, "ease": before, "served: ease": before}
    assert manifest["gate"]["best_baseline"] in names - {"hybrid", "als"}
    # the served lists cover every account and no reason names a component that did not score
    engine = Engine(Artifact.load(registry.get(result.version).path))
    for account in range(0, len(accounts), 7):
        listed = engine.recommended[account]
        assert (listed >= 0).all()
        for item in listed[:5].tolist():
            _, scored_by = engine.explained(account, item)
            assert "EASE" not in scored_by
    # and `crossgraph models show` says it
    monkeypatch.setenv("CROSSGRAPH_MODEL_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    shown = CliRunner().invoke(app, ["models", "show", result.version], env={"COLUMNS": "400"})
    get_settings.cache_clear()
    assert shown.exit_code == 0, shown.output
    assert f"left out of the blend: ease ({reason})" in " ".join(shown.output.split())


def test_a_dan_normalised_ease_is_named_in_the_manifest_and_by_models_show_and_explains_its_score(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The blend's EASE with DAN's normalisation: the manifest keeps both exponents and names them,
    `crossgraph models show` says which EASE serves, and the served lists are not plain EASE's."""
    lines, accounts, products, registry = demo_tables(tmp_path)
    dan = replace(SMALL, ease=EASEParams(regularization=50.0, user_exponent=0.5, popularity_exponent=0.3))
    plain = replace(SMALL, ease=EASEParams(regularization=50.0))
    result = train(lines, accounts, products, registry, params=dan, test_days=180)
    before = train(lines, accounts, products, registry, params=plain, test_days=180)
    manifest = result.manifest
    assert manifest["params"]["ease"]["user_exponent"] == 0.5
    assert manifest["params"]["ease"]["popularity_exponent"] == 0.3
    assert "EASE (DAN, accounts beta 0.5, products gamma 0.3)" in manifest["model"]
    got = np.load(registry.get(result.version).path / "recommended.npy")
    expected = np.load(registry.get(before.version).path / "recommended.npy")
    changed = np.mean([set(g[:10]) != set(e[:10]) for g, e in zip(got, expected, strict=True)])
    assert changed > 0.1  # the normalisation changes what is offered, not only its order
    engine = Engine(Artifact.load(registry.get(result.version).path))
    _, scored_by = engine.explained(0, int(engine.recommended[0][0]))
    assert "EASE" in scored_by
    monkeypatch.setenv("CROSSGRAPH_MODEL_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    shown = CliRunner().invoke(app, ["models", "show", result.version], env={"COLUMNS": "400"})
    get_settings.cache_clear()
    assert shown.exit_code == 0, shown.output
    assert "EASE lambda 50.0 (DAN, accounts beta 0.5, products gamma 0.3);" in " ".join(shown.output.split())
