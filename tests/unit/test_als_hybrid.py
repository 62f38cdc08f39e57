"""ALS specifics (factors, peers, explanations) and the served hybrid's parameters."""

from __future__ import annotations

import json

import numpy as np
import pytest

from crossgraph.data.matrix import build_interactions
from crossgraph.data.weighting import WeightingConfig
from crossgraph.errors import InvalidInput
from crossgraph.model.als import ALSParams, ALSRecommender
from crossgraph.model.baselines import EASEParams
from crossgraph.model.hybrid import HybridParams, HybridRecommender
from crossgraph.model.rp3beta import RP3betaParams
from tests.unit.lines_factory import block_pairs

IT = build_interactions(block_pairs())
PARAMS = ALSParams(factors=8, regularization=0.1, alpha=10.0, iterations=15, random_state=7)


def block_of(account_idx: int) -> str:
    return IT.accounts.id(account_idx)[1]


def test_factors_are_float32_one_row_per_account_and_product() -> None:
    model = ALSRecommender(PARAMS).fit(IT)
    assert model.user_factors.dtype == np.float32 and model.item_factors.dtype == np.float32
    assert model.user_factors.shape == (IT.shape[0], 8)
    assert model.item_factors.shape == (IT.shape[1], 8)


def test_the_same_seed_gives_the_same_model() -> None:
    a = ALSRecommender(PARAMS).fit(IT)
    b = ALSRecommender(PARAMS).fit(IT)
    np.testing.assert_array_equal(a.user_factors, b.user_factors)
    assert np.array_equal(
        a.recommend(np.arange(IT.shape[0]), k=3)[0], b.recommend(np.arange(IT.shape[0]), k=3)[0]
    )


def test_similar_accounts_are_peers_of_the_same_block_never_the_account_itself() -> None:
    model = ALSRecommender(PARAMS).fit(IT)
    peers, scores = model.similar_accounts(0, k=5)
    assert 0 not in peers.tolist()
    assert {block_of(int(p)) for p in peers} == {block_of(0)}
    assert np.all(np.diff(scores) <= 0) and scores[0] <= 1.0 + 1e-6
    _batch, batch_scores = model.similar_accounts_batch(np.arange(IT.shape[0]), k=5)
    np.testing.assert_allclose(batch_scores[0], scores, rtol=1e-5)  # ties may swap places


def test_explain_names_owned_products_of_the_same_block() -> None:
    model = ALSRecommender(PARAMS).fit(IT)
    items, _ = model.recommend([0], k=1)
    reasons = model.explain(0, int(items[0, 0]), n=2)
    owned = set(IT.binary[0].indices.tolist())
    assert len(reasons) == 2 and {j for j, _ in reasons} <= owned
    assert reasons[0][1] >= reasons[1][1] > 0


def test_weighting_changes_the_confidences_als_reads() -> None:
    params = ALSParams(factors=4, iterations=2, weighting=WeightingConfig(scheme="linear", alpha=3.0))
    model = ALSRecommender(params).fit(IT)
    assert np.allclose(model.user_items.data, 4.0)  # 1 + 3 * one order


@pytest.mark.parametrize("kwargs", [{"factors": 0}, {"alpha": 0.0}, {"regularization": -1.0}])
def test_invalid_als_params_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidInput):
        ALSParams(**kwargs)  # type: ignore[arg-type]


def test_hybrid_params_round_trip_through_json() -> None:
    params = HybridParams(
        als=ALSParams(factors=32, weighting=WeightingConfig(scheme="bm25", half_life_days=60.0)),
        ease=EASEParams(
            regularization=100.0, weighting=WeightingConfig(scheme="binary", half_life_days=90.0)
        ),
        als_weight=1.0,
        ease_weight=0.75,
        knn_weight=0.25,
        rp3=RP3betaParams(alpha=0.5, beta=0.25),
        rp3_weight=0.5,
    )
    assert HybridParams.from_dict(json.loads(json.dumps(params.to_dict()))) == params
    assert params.blend == pytest.approx({"als": 0.4, "ease": 0.3, "knn": 0.1, "rp3": 0.2, "seq": 0.0})


def test_a_hybrid_without_any_weight_or_with_a_negative_one_is_refused() -> None:
    with pytest.raises(InvalidInput, match="at least one blend weight"):
        HybridParams(als_weight=0.0, ease_weight=0.0, knn_weight=0.0)
    with pytest.raises(InvalidInput, match="als_weight must be >= 0"):
        HybridParams(als_weight=-1.0)
    # ALS weight 0 serves a tuned baseline; ALS is still fitted for the peers.
    model = HybridRecommender(HybridParams(als_weight=0.0, knn_weight=1.0, ease_weight=0.0)).fit(IT)
    assert model.similar_accounts(0, k=3)[0].shape == (3,)


def test_hybrid_explanations_add_up_to_the_score_up_to_a_per_account_constant() -> None:
    # Well-converged ALS: implicit's explain solves the account's equations exactly while the
    # fitted factors come from conjugate-gradient steps; z-scoring magnifies any gap between them.
    als = ALSParams(factors=8, regularization=1.0, alpha=1.0, iterations=30, random_state=7)
    model = HybridRecommender(
        HybridParams(
            als=als,
            ease=EASEParams(regularization=1.0),
            als_weight=1.0,
            ease_weight=1.0,
            knn_weight=1.0,
            rp3_weight=1.0,
        )
    ).fit(IT)
    account = 3
    unowned = np.setdiff1d(np.arange(IT.shape[1]), IT.binary[account].indices)
    scores = model.score(np.array([account]))[0]
    totals = np.array([sum(t for _, t in model.explain(account, int(i), n=100)) for i in unowned])
    offsets = scores[unowned] - totals
    assert np.ptp(offsets) < 0.01 * np.ptp(scores[unowned]) + 1e-3
    best = int(unowned[np.argmax(scores[unowned])])
    assert {IT.products.id(j)[1] for j, _ in model.explain(account, best, n=3)} == {block_of(account)}


def test_hybrid_peers_come_from_als_factors() -> None:
    model = HybridRecommender(HybridParams(als=PARAMS, ease=EASEParams(regularization=1.0))).fit(IT)
    peers, _ = model.similar_accounts(2, k=4)
    assert np.array_equal(peers, model.als.similar_accounts(2, k=4)[0])
    assert model.user_factors is model.als.user_factors
