"""What the manifest says about each blend component, and that item-kNN in sparse blocks (above
CROSSGRAPH_KNN_DENSE_MAX_PRODUCTS) serves the lists the dense path serves (model.train)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from crossgraph.data.demo import generate_demo
from crossgraph.data.matrix import build_interactions
from crossgraph.data.purchase_file import read_purchase_file
from crossgraph.model.als import ALSParams
from crossgraph.model.baselines import ItemKNNRecommender
from crossgraph.model.hybrid import HybridParams
from crossgraph.model.registry import Registry
from crossgraph.model.train import train

SMALL = HybridParams(als=ALSParams(factors=8, iterations=4), ease_weight=1.0, knn_weight=0.5)


def test_item_knn_in_sparse_blocks_serves_the_dense_lists_and_the_manifest_says_how(tmp_path: Path) -> None:
    generate_demo(tmp_path / "demo", accounts=200, seed=3, as_of=date(2026, 6, 30))
    lines = read_purchase_file(tmp_path / "demo" / "purchases.csv").lines
    accounts = [{"id": a, "name": a} for a in sorted(set(lines.account_id))]
    products = [{"sku": s, "name": s} for s in sorted(set(lines.sku))]
    registry = Registry(tmp_path / "models")
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
