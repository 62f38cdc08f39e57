"""The explanation stays true to the served score: drivers split the blend that ranked the list
(every weighted component), the reason names the components with their share, and the manifest
names what scores (issue 11, item 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crossgraph.data.matrix import build_interactions
from crossgraph.model.als import ALSParams
from crossgraph.model.artifact import Artifact, write_artifact
from crossgraph.model.baselines import EASEParams
from crossgraph.model.evidence import blended_split
from crossgraph.model.explain import ALSExplainer
from crossgraph.model.hybrid import HybridParams, HybridRecommender
from crossgraph.recommend.engine import Engine
from tests.unit.lines_factory import block_lines, block_pairs

LINES = block_lines(
    n_accounts=48, n_blocks=3, block_size=6, seed=5, days=150
)  # most lack some of their block
IT = build_interactions(LINES)
PAIRS = build_interactions(block_pairs())  # ALS converges on these: its scores spread
# Well-converged ALS: its explain terms come from the exact solve, the factors from CG steps
ALS = ALSParams(factors=8, regularization=1.0, alpha=1.0, iterations=30, random_state=7)


def explainer(model: HybridRecommender) -> ALSExplainer:
    confidence = (model.als.user_items * np.float32(model.params.als.alpha)).tocsr().astype(np.float32)
    return ALSExplainer(model.item_factors, confidence, model.params.als.regularization)


def serve(model: HybridRecommender, folder: Path) -> tuple[Engine, dict[str, object]]:
    folder.mkdir(parents=True)
    products = [{"sku": s, "name": f"Product {s}"} for s in IT.products.ids]
    accounts = [{"id": a, "name": f"Account {a}"} for a in IT.accounts.ids]
    manifest = write_artifact(
        folder,
        version="v1",
        model=model,
        interactions=IT,
        accounts=accounts,
        products=products,
        metrics={},
        similar_k=5,
        top_n=6,
    )
    return Engine(Artifact.load(folder)), manifest


def test_an_item_knn_served_alone_is_what_the_drivers_and_the_reason_show(tmp_path: Path) -> None:
    # ALS weight 0: the tuner serves item-kNN; ALS still gives the peers
    model = HybridRecommender(HybridParams(als=ALS, als_weight=0.0, ease_weight=0.0, knn_weight=1.0)).fit(IT)
    engine, manifest = serve(model, tmp_path / "v1")
    assert manifest["model"] == "hybrid (item-kNN; ALS for peers)"
    assert model.knn is not None
    for account in range(0, 48, 7):
        std = float(model.standardised(np.asarray([account]))["knn"][2][0, 0])
        for item in engine.recommend(account, limit=6):
            index = engine.product_index[item["sku"]]
            owned, terms = model.knn.contributions(account, index)
            expected = sorted(
                (
                    (IT.products.ids[j], t / std)
                    for j, t in zip(owned.tolist(), terms.tolist(), strict=True)
                    if t > 0
                ),
                key=lambda p: -p[1],
            )[:3]
            assert [d["sku"] for d in item["drivers"]] == [sku for sku, _ in expected]
            assert [d["contribution"] for d in item["drivers"]] == pytest.approx(
                [c for _, c in expected], rel=1e-4
            )
            assert item["reason"].endswith("; scored by item-kNN 100 %"), item["reason"]
            assert "ALS" not in item["reason"]


def test_blended_drivers_are_the_blends_explain_and_add_up_to_the_score() -> None:
    model = HybridRecommender(
        HybridParams(
            als=ALS,
            ease=EASEParams(regularization=1.0),
            als_weight=1.0,
            ease_weight=2.0,
            knn_weight=0.5,
            rp3_weight=1.0,
        )
    ).fit(PAIRS)
    accounts = np.arange(PAIRS.shape[0], dtype=np.intp)
    items, scores = model.recommend(accounts, k=5)  # every product an account lacks
    owned, terms, parts, _ = blended_split(model, explainer(model), accounts, items)
    assert model.params.weighted == ["als", "ease", "knn", "rp3"]
    # each component's part of the score, summed, is the score
    np.testing.assert_allclose(parts.sum(axis=1), scores, rtol=1e-4, atol=1e-4)
    # every owned product's contribution, summed, is the score up to a constant per account: the
    # standardisation's means, and for ALS the gap between the exact solve and the fitted factors
    gaps = terms.sum(axis=1) - scores
    assert np.all(np.ptp(gaps, axis=1) < 0.01 * np.ptp(scores, axis=1) + 1e-3)
    # and they are HybridRecommender.explain's numbers
    for b, account in enumerate(accounts.tolist()):
        item = int(items[b, 0])
        explained = dict(model.explain(account, item, n=100))
        mine = {int(j): float(terms[b, o, 0]) for o, j in enumerate(owned[b].tolist()) if j >= 0}
        assert mine.keys() == explained.keys()
        for j, t in mine.items():
            assert t == pytest.approx(explained[j], rel=1e-3, abs=1e-3)


def test_without_als_the_drivers_add_up_exactly_and_the_reason_gives_each_share(tmp_path: Path) -> None:
    params = HybridParams(
        als=ALS,
        ease=EASEParams(regularization=1.0),
        als_weight=0.0,
        ease_weight=1.5,
        knn_weight=1.0,
        rp3_weight=0.5,
    )
    model = HybridRecommender(params).fit(IT)
    accounts = np.arange(48, dtype=np.intp)
    items, scores = model.recommend(accounts, k=6)
    _, terms, parts, offset = blended_split(model, explainer(model), accounts, items)
    np.testing.assert_allclose(terms.sum(axis=1) - offset, scores, rtol=1e-4, atol=1e-4)
    engine, manifest = serve(model, tmp_path / "v1")
    assert manifest["model"] == "hybrid (EASE + item-kNN + RP3beta; ALS for peers)"
    item = engine.recommend(3, limit=1)[0]
    k = int(np.flatnonzero(items[3] == engine.product_index[item["sku"]])[0])
    positive = parts[3, :, k].clip(0)
    share = dict(
        zip(
            ["EASE", "item-kNN", "RP3beta"],
            np.rint(100 * positive / positive.sum()).astype(int).tolist(),
            strict=True,
        )
    )
    expected = ", ".join(f"{c} {p} %" for c, p in sorted(share.items(), key=lambda x: -x[1]) if p > 0)
    assert item["reason"].endswith(f"; scored by {expected}"), item["reason"]
