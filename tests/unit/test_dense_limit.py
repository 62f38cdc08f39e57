"""Dense products x products components above CROSSGRAPH_DENSE_MAX_PRODUCTS (model.dense): EASE is
left out of the blend (which then ranks as the blend without it), RP3beta finds the dense path's
neighbours in sparse blocks, and a dense matrix too large for free memory is refused by name."""

from __future__ import annotations

import numpy as np
import pytest

from crossgraph.errors import InvalidInput
from crossgraph.model.als import ALSParams
from crossgraph.model.baselines import EASERecommender, ItemKNNRecommender
from crossgraph.model.dense import DenseLimit, NotEnoughMemory
from crossgraph.model.hybrid import HybridParams, HybridRecommender
from crossgraph.model.rp3beta import RP3betaParams, RP3betaRecommender
from tests.unit.test_baselines import random_orders

FAST = HybridParams(als=ALSParams(factors=8, iterations=4), ease_weight=1.0, knn_weight=0.5, rp3_weight=0.5)
SMALL = DenseLimit(max_products=10)  # random_orders has 30 products


def test_the_memory_estimate_is_8_bytes_per_entry_per_copy_against_the_share_of_free_memory() -> None:
    limit = DenseLimit(memory_share=0.5)
    limit.check(30_000, 2.5, "EASE", available=40 * 10**9)  # 18 GB <= 20 GB
    with pytest.raises(NotEnoughMemory) as refused:
        limit.check(30_000, 2.5, "EASE", available=32 * 10**9)  # 18 GB > 16 GB
    message = str(refused.value)
    assert "EASE" in message and "30,000 x 30,000" in message and "18.0 GB" in message
    assert "CROSSGRAPH_DENSE_MEMORY_SHARE" in message and "CROSSGRAPH_DENSE_MAX_PRODUCTS" in message
    with pytest.raises(InvalidInput, match="memory_share"):
        DenseLimit(memory_share=0.0)
    with pytest.raises(InvalidInput, match="max_products"):
        DenseLimit(max_products=-1)


@pytest.mark.parametrize(
    "make",
    [
        lambda limit: EASERecommender(dense=limit),
        lambda limit: RP3betaRecommender(dense=limit),
        lambda limit: ItemKNNRecommender(dense=limit),
    ],
    ids=["ease", "rp3beta", "item-knn"],
)
def test_a_dense_matrix_larger_than_the_share_of_free_memory_is_refused_before_it_is_allocated(
    make,  # type: ignore[no-untyped-def]
) -> None:
    tiny_share = DenseLimit(memory_share=1e-15)  # 30 products would need more than a byte
    with pytest.raises(NotEnoughMemory, match="CROSSGRAPH_DENSE_MEMORY_SHARE"):
        make(tiny_share).fit(random_orders())


@pytest.mark.parametrize(
    "params",
    [RP3betaParams(neighbours=5), RP3betaParams(alpha=0.5, beta=0.25, neighbours=5), RP3betaParams()],
)
def test_rp3beta_in_sparse_blocks_keeps_the_neighbours_and_scores_of_the_dense_path(
    params: RP3betaParams,
) -> None:
    it = random_orders()
    dense = RP3betaRecommender(params).fit(it)
    blocks = RP3betaRecommender(params, dense=SMALL).fit(it)
    assert (dense.method, blocks.method) == ("dense", "sparse blocks")
    assert blocks.similarity.nnz == dense.similarity.nnz > 0
    # Each product keeps neighbours of the same weights; of equal weights at the k-th place
    # (binary purchases tie often) either path may keep another product.
    np.testing.assert_allclose(
        np.sort(blocks.similarity.toarray(), axis=1), np.sort(dense.similarity.toarray(), axis=1), rtol=1e-6
    )
    if params.neighbours >= it.shape[1]:  # nothing cut: the same matrix, the same lists
        np.testing.assert_allclose(blocks.similarity.toarray(), dense.similarity.toarray(), rtol=1e-6)
        every = np.arange(it.shape[0])
        np.testing.assert_array_equal(blocks.recommend(every, k=10)[0], dense.recommend(every, k=10)[0])


def test_above_the_threshold_the_blend_ranks_every_product_as_the_blend_without_ease() -> None:
    it = random_orders()
    capped = HybridRecommender(FAST, dense=SMALL).fit(it)
    without = HybridRecommender(HybridParams(**{**FAST.__dict__, "ease_weight": 0.0})).fit(it)
    assert capped.ease is None and capped.left_out == {
        "ease": "30 products > 10 (CROSSGRAPH_DENSE_MAX_PRODUCTS)"
    }
    assert capped.requested == FAST and capped.params.ease_weight == 0.0
    assert "EASE" not in capped.params.describe() and capped.params.weighted == ["als", "knn", "rp3"]
    every = np.arange(it.shape[0])
    scores = capped.score(every)
    assert np.isfinite(scores).all()  # every product gets a score from the components that ran
    np.testing.assert_allclose(scores, without.score(every), rtol=1e-5, atol=1e-5)
    # the drivers are those of the components that ran: no EASE term in them
    for account in range(0, it.shape[0], 10):
        item = int(capped.recommend(np.array([account]), k=1)[0][0, 0])
        assert capped.explain(account, item) == without.explain(account, item)
    # at or under the threshold, EASE is fitted again by the same model object
    assert HybridRecommender(FAST, dense=DenseLimit(max_products=30)).fit(it).ease is not None


def test_a_blend_of_ease_alone_above_the_threshold_is_refused_naming_the_setting() -> None:
    only_ease = HybridParams(als=FAST.als, als_weight=0.0, ease_weight=1.0, knn_weight=0.0)
    with pytest.raises(InvalidInput, match="CROSSGRAPH_DENSE_MAX_PRODUCTS"):
        HybridRecommender(only_ease, dense=SMALL).fit(random_orders())
