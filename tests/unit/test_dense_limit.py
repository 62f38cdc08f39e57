"""Dense products x products components above CROSSGRAPH_DENSE_MAX_PRODUCTS (model.dense): EASE is
capped to the best-selling products (the EASE of that submatrix, no score or driver for the
others, standardised over its own products in the blend) or, when asked, left out of the blend
(which then ranks as the blend without it); RP3beta finds the dense path's neighbours in sparse
blocks, and a dense matrix too large for free memory is refused by name."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from crossgraph.errors import InvalidInput
from crossgraph.model.als import ALSParams
from crossgraph.model.baselines import EASERecommender, ItemKNNRecommender
from crossgraph.model.dense import DenseLimit, NotEnoughMemory, top_products
from crossgraph.model.evidence import blended_split
from crossgraph.model.explain import ALSExplainer
from crossgraph.model.hybrid import HybridParams, HybridRecommender
from crossgraph.model.rp3beta import RP3betaParams, RP3betaRecommender
from tests.unit.test_baselines import random_orders

FAST = HybridParams(als=ALSParams(factors=8, iterations=4), ease_weight=1.0, knn_weight=0.5, rp3_weight=0.5)
SMALL = DenseLimit(max_products=10)  # random_orders has 30 products: EASE capped to 10
LEAVE_OUT = DenseLimit(max_products=10, ease="leave-out")


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
    with pytest.raises(InvalidInput, match="cap, leave-out"):
        DenseLimit(ease="drop")


def test_the_best_selling_products_are_those_most_accounts_bought_ties_to_the_smaller_index() -> None:
    counts = np.array([3, 9, 5, 9, 1, 5])
    np.testing.assert_array_equal(top_products(counts, 3), [1, 2, 3])
    np.testing.assert_array_equal(top_products(counts, 4), [1, 2, 3, 5])
    assert DenseLimit(max_products=0).leaves_out_ease(6)  # a cap of no product is no EASE


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


def test_leaving_ease_out_the_blend_ranks_every_product_as_the_blend_without_ease() -> None:
    it = random_orders()
    capped = HybridRecommender(FAST, dense=LEAVE_OUT).fit(it)
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


def test_a_blend_of_ease_alone_left_out_is_refused_naming_the_settings() -> None:
    only_ease = HybridParams(als=FAST.als, als_weight=0.0, ease_weight=1.0, knn_weight=0.0)
    with pytest.raises(InvalidInput, match=r"CROSSGRAPH_DENSE_MAX_PRODUCTS.*CROSSGRAPH_DENSE_EASE=cap"):
        HybridRecommender(only_ease, dense=LEAVE_OUT).fit(random_orders())


def ease_closed_form(x: np.ndarray, regularization: float) -> np.ndarray:
    """Steck's EASE of a binary matrix, written out: B = -P / diag(P), P = (X^T X + lambda I)^-1."""
    p = scipy.linalg.inv(x.T @ x + regularization * np.eye(x.shape[1]))
    b = -p / np.diag(p)[np.newaxis, :]
    np.fill_diagonal(b, 0.0)
    return b


def test_a_capped_ease_is_the_ease_of_the_best_selling_products_and_scores_no_other() -> None:
    it = random_orders()
    counts = np.asarray(it.binary.sum(axis=0)).ravel()
    top = np.sort(np.argsort(-counts, kind="stable")[:10])
    capped = EASERecommender(dense=SMALL).fit(it)
    np.testing.assert_array_equal(capped.columns, top)
    x = it.binary[:, top].toarray().astype(np.float64)
    expected = ease_closed_form(x, capped.params.regularization)
    np.testing.assert_allclose(capped.weights, expected, rtol=1e-4, atol=1e-6)
    every = np.arange(it.shape[0])
    scores = capped.score(every)
    np.testing.assert_allclose(scores[:, top], x @ expected, rtol=1e-4, atol=1e-5)
    outside = np.setdiff1d(np.arange(it.shape[1]), top)
    assert np.isneginf(scores[:, outside]).all()
    listed = capped.recommend(every, k=10)[0]
    assert np.isin(listed[listed >= 0], top).all()  # the EASE baseline never lists another product
    # its terms: the owned products inside the cap, none for a product outside it
    account = int(np.argmax(np.asarray(it.binary[:, outside].sum(axis=1)).ravel()))
    owned, terms = capped.contributions(account, int(top[0]))
    assert np.isin(owned, top).all() and np.isclose(terms.sum(), scores[account, top[0]], atol=1e-5)
    assert len(capped.contributions(account, int(outside[0]))[0]) == 0
    # the memory check guards the capped matrix (10 x 10), not the catalogue's
    with pytest.raises(NotEnoughMemory, match="10 x 10"):
        EASERecommender(dense=DenseLimit(max_products=10, memory_share=1e-15)).fit(it)


def test_in_the_blend_a_capped_ease_moves_only_the_products_it_scores_and_drives_only_those() -> None:
    """Outside the cap the blend is the blend without EASE (z_ease = 0: not pushed down or up);
    inside it EASE adds its z-score over the account's unowned products inside the cap (mean 0,
    std 1), and EASE is a driver only where it scored."""
    it = random_orders()
    capped = HybridRecommender(FAST, dense=SMALL).fit(it)
    without = HybridRecommender(HybridParams(**{**FAST.__dict__, "ease_weight": 0.0})).fit(it)
    assert capped.left_out == {} and capped.capped == {
        "ease": "fitted on the 10 best-selling of 30 products (CROSSGRAPH_DENSE_MAX_PRODUCTS)"
    }
    assert capped.params == FAST and "EASE" in capped.params.describe()
    assert capped.ease is not None and capped.ease.columns is not None
    inside = capped.ease.covered
    assert inside is not None and inside.sum() == 10
    every = np.arange(it.shape[0])
    scores, base = capped.score(every), without.score(every)
    assert np.isfinite(scores).all()  # ALS, item-kNN and RP3beta still score every product
    np.testing.assert_allclose(scores[:, ~inside], base[:, ~inside], rtol=1e-5, atol=1e-5)
    ease_part = (scores - base)[:, inside]  # weight 1.0: EASE's z-score
    unowned = ~it.binary[:, inside].toarray().astype(bool)
    for row in range(it.shape[0]):
        z = ease_part[row, unowned[row]]
        if unowned[row].all():  # owns nothing inside the cap: EASE scores it 0 everywhere, no part
            assert not z.any()
        else:
            assert abs(z.mean()) < 1e-3 and abs(z.std() - 1.0) < 1e-3
    for account in range(0, it.shape[0], 7):
        outside_item = int(np.flatnonzero(~inside)[account % int((~inside).sum())])
        got, expected = capped.explain(account, outside_item), without.explain(account, outside_item)
        assert [j for j, _ in got] == [j for j, _ in expected]  # no EASE term moves a driver
        np.testing.assert_allclose([t for _, t in got], [t for _, t in expected], rtol=1e-5)
        inside_item = int(np.flatnonzero(inside)[account % 10])
        ease_owned, _ = capped.ease.contributions(account, inside_item)
        assert np.isin(ease_owned, np.flatnonzero(inside)).all()


def test_a_blend_of_a_capped_ease_alone_never_lists_a_product_outside_the_cap() -> None:
    only_ease = HybridParams(als=FAST.als, als_weight=0.0, ease_weight=1.0, knn_weight=0.0)
    model = HybridRecommender(only_ease, dense=SMALL).fit(random_orders())
    assert model.ease is not None and model.ease.columns is not None
    listed = model.recommend(np.arange(model.n_accounts), k=12)[0]
    assert np.isin(listed[listed >= 0], model.ease.columns).all()


def test_the_stored_split_of_a_capped_blend_gives_ease_no_part_or_driver_where_it_did_not_score() -> None:
    """model.evidence splits the served score into component parts (the reason's shares) and
    owned-product terms (the drivers): outside the cap they are those of the blend without EASE;
    inside it, owned products outside the cap get no EASE term; the parts sum to the score."""
    it = random_orders()
    capped = HybridRecommender(FAST, dense=SMALL).fit(it)
    without = HybridRecommender(HybridParams(**{**FAST.__dict__, "ease_weight": 0.0})).fit(it)
    assert capped.ease is not None and capped.ease.covered is not None
    inside = capped.ease.covered
    accounts = np.arange(0, it.shape[0], 5, dtype=np.intp)
    items = np.tile(np.arange(it.shape[1], dtype=np.intp), (len(accounts), 1))  # every product
    owned, terms, parts, _ = blended_split(capped, explainer(capped), accounts, items)
    owned_b, terms_b, _, _ = blended_split(without, explainer(without), accounts, items)
    np.testing.assert_array_equal(owned, owned_b)
    np.testing.assert_allclose(parts.sum(axis=1), capped.score(accounts), rtol=1e-3, atol=1e-3)
    ease = capped.params.weighted.index("ease")
    assert not parts[:, ease][:, ~inside].any()  # no EASE share outside the cap
    np.testing.assert_allclose(terms[:, :, ~inside], terms_b[:, :, ~inside], rtol=1e-5, atol=1e-6)
    ease_terms = terms - terms_b  # EASE's w t / std per owned product and item
    outside_owned = (owned >= 0) & ~inside[owned.clip(0)]
    assert np.allclose(ease_terms[outside_owned], 0.0, atol=1e-6)
    assert np.abs(ease_terms[:, :, inside]).max() > 0  # and EASE does drive products inside the cap


def explainer(model: HybridRecommender) -> ALSExplainer:
    confidence = (model.als.user_items * np.float32(model.params.als.alpha)).tocsr().astype(np.float32)
    return ALSExplainer(model.item_factors, confidence, model.params.als.regularization)
