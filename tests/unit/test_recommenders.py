"""The contract every recommender shares, run against each of them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from crossgraph.data.matrix import build_interactions
from crossgraph.errors import ModelNotLoaded
from crossgraph.model.als import ALSParams, ALSRecommender
from crossgraph.model.base import Recommender, top_k, top_k_wide
from crossgraph.model.baselines import (
    EASEParams,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
    SegmentPopularityRecommender,
)
from crossgraph.model.hybrid import HybridParams, HybridRecommender
from crossgraph.model.rp3beta import RP3betaRecommender
from crossgraph.model.sequential import SequentialRecommender
from tests.unit.lines_factory import block_pairs

SMALL_ALS = ALSParams(factors=8, regularization=0.1, alpha=10.0, iterations=15)
FACTORIES: dict[str, Callable[[], Recommender]] = {
    "popularity": PopularityRecommender,
    "segment_popularity": lambda: SegmentPopularityRecommender({}, min_segment_size=2),
    "item_knn": ItemKNNRecommender,
    "ease": lambda: EASERecommender(EASEParams(regularization=1.0)),
    "als": lambda: ALSRecommender(SMALL_ALS),
    "rp3beta": RP3betaRecommender,
    "sequential": SequentialRecommender,
    "hybrid": lambda: HybridRecommender(
        HybridParams(als=SMALL_ALS, ease=EASEParams(regularization=1.0), ease_weight=0.5, knn_weight=0.5)
    ),
}
INTERACTIONS = build_interactions(block_pairs())


@pytest.fixture(params=sorted(FACTORIES))
def model(request: pytest.FixtureRequest) -> Recommender:
    return FACTORIES[request.param]().fit(INTERACTIONS)


def test_recommend_never_returns_owned_products(model: Recommender) -> None:
    accounts = np.arange(INTERACTIONS.shape[0])
    items, scores = model.recommend(accounts, k=3)
    owned = INTERACTIONS.binary.toarray().astype(bool)
    for a in accounts:
        shown = items[a][items[a] >= 0]
        assert not owned[a, shown].any()
    assert items.shape == scores.shape == (len(accounts), 3)


def test_scores_come_best_first(model: Recommender) -> None:
    _, scores = model.recommend(np.arange(INTERACTIONS.shape[0]), k=5)
    assert np.all(np.diff(scores, axis=1) <= 0)


def test_slots_beyond_the_unowned_products_are_empty(model: Recommender) -> None:
    n_items = INTERACTIONS.shape[1]
    items, scores = model.recommend([0], k=n_items + 2)
    unowned = n_items - INTERACTIONS.account_counts()[0]
    assert (items[0] >= 0).sum() == unowned
    assert np.all(items[0, unowned:] == -1) and np.all(np.isneginf(scores[0, unowned:]))


def test_owned_products_can_be_included_on_request(model: Recommender) -> None:
    items, _ = model.recommend([0], k=INTERACTIONS.shape[1], exclude_owned=False)
    assert sorted(items[0].tolist()) == list(range(INTERACTIONS.shape[1]))


def test_batches_give_the_same_answer_as_one_call(model: Recommender) -> None:
    accounts = np.arange(INTERACTIONS.shape[0])
    one, _ = model.recommend(accounts, k=4)
    batched, _ = model.recommend(accounts, k=4, batch_size=3)
    assert np.array_equal(one, batched)


def test_an_unknown_account_index_is_refused(model: Recommender) -> None:
    with pytest.raises(ValueError, match=f"account index {INTERACTIONS.shape[0]} is out of range"):
        model.recommend([INTERACTIONS.shape[0]], k=2)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_recommend_before_fit_says_so(name: str) -> None:
    with pytest.raises(ModelNotLoaded, match="not fitted"):
        FACTORIES[name]().recommend([0], k=1)


@pytest.mark.parametrize("name", ["item_knn", "ease", "als", "rp3beta", "hybrid"])
def test_collaborative_models_recommend_the_missing_product_of_the_block_first(name: str) -> None:
    model = FACTORIES[name]().fit(INTERACTIONS)
    items, _ = model.recommend(np.arange(INTERACTIONS.shape[0]), k=1)
    for a, account in enumerate(INTERACTIONS.accounts.ids):
        block, k = account[1], int(account[2:])
        assert INTERACTIONS.products.id(int(items[a, 0])) == f"P{block}{k % 4}"


@pytest.mark.parametrize("shape", [(7, 3000), (40, 900), (3, 50)])
def test_top_k_of_wide_rows_is_a_full_sort_cut_at_k(shape: tuple[int, int]) -> None:
    """top_k_wide (used for similar accounts over 100k columns) ranks like sorting each whole row:
    score descending, ties to the lower index, non-finite scores left out; its scores are
    top_k's."""
    rng = np.random.default_rng(shape[1])
    scores = rng.integers(0, 40, size=shape).astype(np.float32)  # many ties
    scores[0, :] = -np.inf
    scores[1, ::2] = -np.inf
    scores[2, 5] = np.nan
    clean = np.where(np.isnan(scores), -np.inf, scores)
    for k in (1, 10, 25):
        wide_items, wide_scores = top_k_wide(scores, k)
        expected = []
        for row in clean:
            order = np.lexsort((np.arange(len(row)), -row))[:k]
            expected.append([int(i) if np.isfinite(row[i]) else -1 for i in order])
        assert wide_items.tolist() == expected
        np.testing.assert_array_equal(wide_scores, top_k(clean.copy(), k)[1])
    assert (top_k_wide(scores, 5)[0][0] == -1).all()
