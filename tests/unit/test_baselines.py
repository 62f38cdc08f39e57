"""Popularity, segment popularity, item-kNN and EASE on toy cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from crossgraph.data.matrix import build_interactions
from crossgraph.errors import InvalidInput
from crossgraph.model.base import top_k
from crossgraph.model.baselines import (
    EASEParams,
    EASERecommender,
    GramCache,
    ItemKNNParams,
    ItemKNNRecommender,
    PopularityRecommender,
    SegmentPopularityRecommender,
    _top_neighbours,
    top_k_rows,
)
from crossgraph.model.hybrid import HybridParams
from crossgraph.model.rp3beta import RP3betaParams, RP3betaRecommender
from tests.unit.lines_factory import block_pairs, lines_of

# P1 bought by 4 accounts, P2 by 3, P3 by 2, P4 by 1.
POP = build_interactions(
    lines_of(
        [
            ("O1", "A1", "P1", "2024-01-01"),
            ("O2", "A2", "P1", "2024-01-01"),
            ("O3", "A3", "P1", "2024-01-01"),
            ("O4", "A4", "P1", "2024-01-01"),
            ("O5", "A2", "P2", "2024-01-01"),
            ("O6", "A3", "P2", "2024-01-01"),
            ("O7", "A4", "P2", "2024-01-01"),
            ("O8", "A4", "P3", "2024-01-01"),
            ("O9", "A5", "P3", "2024-01-01"),
            ("O9", "A5", "P4", "2024-01-01"),
        ]
    )
)


def ids(interactions, items) -> list[str]:  # type: ignore[no-untyped-def]
    return [interactions.products.id(int(i)) for i in items if i >= 0]


def test_popularity_ranks_by_buyers_and_skips_what_the_account_owns() -> None:
    model = PopularityRecommender().fit(POP)
    items, scores = model.recommend([POP.accounts.index("A1"), POP.accounts.index("A5")], k=3)
    assert ids(POP, items[0]) == ["P2", "P3", "P4"]
    assert scores[0].tolist() == [3.0, 2.0, 1.0]
    assert ids(POP, items[1]) == ["P1", "P2"]  # owns P3, P4


def test_segment_popularity_uses_the_segment_and_falls_back_to_global_for_small_ones() -> None:
    # A1, A5 are "DE" (P3 is the segment's favourite beyond what A1 owns); A2-A4 "FR"; A6 unknown.
    segments = {"A1": "DE", "A5": "DE", "A2": "FR", "A3": "FR", "A4": "FR"}
    model = SegmentPopularityRecommender(segments, min_segment_size=2).fit(POP)
    items, _ = model.recommend([POP.accounts.index("A1")], k=3)
    assert ids(POP, items[0])[:2] == ["P3", "P4"]  # DE bought P3 and P4, not P2
    fallback = SegmentPopularityRecommender(segments, min_segment_size=3).fit(POP)
    items, _ = fallback.recommend([POP.accounts.index("A1")], k=3)
    assert ids(POP, items[0]) == ["P2", "P3", "P4"]  # DE has 2 accounts < 3: global order


def test_ease_weights_match_the_closed_form_by_hand() -> None:
    # X = [[1, 1], [1, 0]], lambda = 1: G + I = [[3, 1], [1, 2]], P = [[2, -1], [-1, 3]] / 5,
    # B_01 = -P_01 / P_11 = 1/3, B_10 = -P_10 / P_00 = 1/2, diagonal 0.
    it = build_interactions(
        lines_of(
            [
                ("O1", "A1", "P1", "2024-01-01"),
                ("O1", "A1", "P2", "2024-01-01"),
                ("O2", "A2", "P1", "2024-01-01"),
            ]
        )
    )
    model = EASERecommender(EASEParams(regularization=1.0)).fit(it)
    np.testing.assert_allclose(model.weights, [[0.0, 1 / 3], [1 / 2, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(model.score(np.array([1])), [[0.0, 1 / 3]], rtol=1e-6)  # A2 owns P1


def test_ease_fits_sharing_one_gram_matrix_equal_fits_of_their_own() -> None:
    """A tuner's lambdas on one window reuse X^T X; the weights must not change, and the cached
    matrix must stay lambda-free after each fit."""
    data = build_interactions(block_pairs(blocks=3, accounts_per_block=10))
    grams = GramCache(size=1)
    for regularization in (1.0, 10.0, 1.0):
        params = EASEParams(regularization=regularization)
        shared = EASERecommender(params, grams=grams).fit(data)
        alone = EASERecommender(params).fit(data)
        np.testing.assert_allclose(shared.weights, alone.weights, rtol=1e-6)
    assert len(grams._held) == 1


def test_edlae_at_dropout_0_is_ease_and_matches_its_closed_form_by_hand() -> None:
    data = build_interactions(block_pairs(blocks=3, accounts_per_block=10))
    ease = EASERecommender(EASEParams(regularization=5.0)).fit(data)
    edlae0 = EASERecommender(EASEParams(regularization=5.0, dropout=0.0)).fit(data)
    np.testing.assert_allclose(edlae0.weights, ease.weights, atol=1e-6)
    # Steck 2020: lambda_i = lambda + p / (1 - p) G_ii, P = (G + diag(lambda_i))^-1,
    # B = I - P diag(1 / diag P).
    x = data.binary.toarray().astype(np.float64)
    g = x.T @ x
    p = 0.25
    inv = np.linalg.inv(g + np.diag(5.0 + p / (1 - p) * np.diag(g)))
    b = -inv / np.diag(inv)[np.newaxis, :]
    np.fill_diagonal(b, 0.0)
    edlae = EASERecommender(EASEParams(regularization=5.0, dropout=p)).fit(data)
    np.testing.assert_allclose(edlae.weights, b, atol=1e-6)


def test_edlae_gives_an_owned_best_seller_less_say_in_what_comes_next() -> None:
    """The dropout penalises each product's weights as an input (row i of B) in proportion to its
    buyers (G_ii): next to EASE at the same lambda, the weights from a product most accounts own
    to the others shrink, relative to the other products' weights, as p rises."""
    rng = np.random.default_rng(0)
    rows = []
    for a in range(60):
        owned = {"HIT"} if a % 4 else set()  # HIT bought by 3 in 4 accounts
        owned |= {f"P{j}" for j in rng.choice(12, size=3, replace=False)}
        rows += [(f"O{a}", f"A{a}", sku, "2024-01-01") for sku in sorted(owned)]
    data = build_interactions(lines_of(rows))
    hit = data.products.index("HIT")
    others = np.array([i for i in range(data.shape[1]) if i != hit])
    shares = []
    for p in (0.0, 0.25, 0.5):
        model = EASERecommender(EASEParams(regularization=10.0, dropout=p)).fit(data)
        weights = np.abs(model.weights.astype(np.float64))
        shares.append(weights[hit, others].sum() / weights[np.ix_(others, others)].sum())
    assert shares[0] > shares[1] > shares[2]


def test_ease_dropout_round_trips_and_an_older_manifest_without_it_is_ease() -> None:
    params = EASEParams(regularization=100.0, dropout=0.25)
    assert EASEParams.from_dict(params.to_dict()) == params
    assert HybridParams(ease=params).describe() == "hybrid (ALS + EASE (EDLAE, dropout 0.25) + item-kNN)"
    assert HybridParams().describe() == "hybrid (ALS + EASE + item-kNN)"
    assert EASEParams.from_dict({"regularization": 100.0}).dropout == 0.0
    with pytest.raises(InvalidInput, match="dropout"):
        EASEParams(dropout=1.0)


def test_dan_matches_its_closed_form_by_hand_and_at_zero_is_ease() -> None:
    """Park et al. 2025: G = X^T diag(|u|^-beta) X, rescaled to the mean diagonal of X^T X (so
    lambda keeps its meaning), P = (G + lambda I)^-1, B = I - P diag(1 / diag P), then
    W_ij = B_ij (c_i / c_j)^gamma with c the buyers per product."""
    data = build_interactions(block_pairs(blocks=3, accounts_per_block=10))
    x = data.binary.toarray().astype(np.float64)
    x[0, :] = 0.0  # one account with more products than the others, to make beta matter
    x[0, :5] = 1.0
    data = build_interactions(
        lines_of(
            [
                (f"O{a}", f"A{a:02d}", f"P{i:02d}", "2024-01-01")
                for a, row in enumerate(x)
                for i in np.flatnonzero(row)
            ]
        )
    )
    x = data.binary.toarray().astype(np.float64)
    beta, gamma, lam = 0.5, 0.2, 5.0
    plain = EASERecommender(EASEParams(regularization=lam)).fit(data)
    zero = EASERecommender(EASEParams(regularization=lam, user_exponent=0.0, popularity_exponent=0.0)).fit(
        data
    )
    np.testing.assert_array_equal(zero.weights, plain.weights)
    sizes = x.sum(axis=1)
    g = x.T @ np.diag(sizes**-beta) @ x
    g *= np.diag(x.T @ x).mean() / np.diag(g).mean()
    inv = np.linalg.inv(g + lam * np.eye(len(g)))
    b = -inv / np.diag(inv)[np.newaxis, :]
    np.fill_diagonal(b, 0.0)
    c = x.sum(axis=0)
    w = b * (c[:, np.newaxis] / c[np.newaxis, :]) ** gamma
    dan = EASERecommender(EASEParams(regularization=lam, user_exponent=beta, popularity_exponent=gamma)).fit(
        data
    )
    np.testing.assert_allclose(dan.weights, w, atol=1e-5)
    assert not np.allclose(dan.weights, plain.weights, atol=1e-3)


def test_dan_lets_a_product_that_fits_the_account_rank_above_the_best_seller() -> None:
    """An account owns A. HIT is bought by nearly everyone, every buyer of A included; NICHE by
    few, most of them A's buyers. Plain EASE puts HIT first for the account; with DAN's
    popularity exponent the product that goes with A in particular comes first."""
    rows = []
    for a in range(80):
        owned = {"HIT"} if a % 10 else set()
        if a < 12:
            owned |= {"A", "HIT"}
        if a < 6 or a in (40, 41):
            owned.add("NICHE")
        owned.add(f"F{a % 8}")
        rows += [(f"O{a}", f"C{a:02d}", sku, "2024-01-01") for sku in sorted(owned)]
    rows.append(("Q", "ME", "A", "2024-01-01"))
    data = build_interactions(lines_of(rows))
    me = np.array([data.accounts.index("ME")])
    first = {}
    for gamma in (0.0, 0.2):
        model = EASERecommender(EASEParams(regularization=10.0, popularity_exponent=gamma)).fit(data)
        items, _ = top_k(model.score(me), 1, data.binary[me])
        first[gamma] = data.products.ids[int(items[0, 0])]
    assert first == {0.0: "HIT", 0.2: "NICHE"}


def test_ease_variants_differing_in_the_popularity_exponent_share_one_inverse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The tuner's DAN candidates at one lambda and user exponent reuse the kept B: one inverse for
    all their popularity exponents, the same weights as fits of their own; a new lambda inverts again."""
    import crossgraph.model.baselines as baselines

    data = build_interactions(block_pairs(blocks=3, accounts_per_block=10))
    inverses = []
    real = baselines.scipy.linalg.inv

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        inverses.append(1)
        return real(*args, **kwargs)

    grams = GramCache(size=1)
    expected = {
        g: EASERecommender(EASEParams(regularization=5.0, user_exponent=0.25, popularity_exponent=g))
        .fit(data)
        .weights
        for g in (0.0, 0.1, 0.2)
    }
    monkeypatch.setattr(baselines.scipy.linalg, "inv", counting)
    for g in (0.0, 0.1, 0.2):
        params = EASEParams(regularization=5.0, user_exponent=0.25, popularity_exponent=g)
        np.testing.assert_allclose(
            EASERecommender(params, grams=grams).fit(data).weights, expected[g], rtol=1e-6
        )
    assert len(inverses) == 1
    EASERecommender(EASEParams(regularization=50.0, user_exponent=0.25), grams=grams).fit(data)
    assert len(inverses) == 2


def test_dan_round_trips_is_named_and_an_older_manifest_without_it_is_ease() -> None:
    params = EASEParams(regularization=100.0, user_exponent=0.25, popularity_exponent=0.1)
    assert EASEParams.from_dict(params.to_dict()) == params
    assert HybridParams(ease=params).describe() == (
        "hybrid (ALS + EASE (DAN, accounts beta 0.25, products gamma 0.1) + item-kNN)"
    )
    old = EASEParams.from_dict({"regularization": 100.0, "dropout": 0.0})
    assert (old.user_exponent, old.popularity_exponent) == (0.0, 0.0) and old.variant == ""
    with pytest.raises(InvalidInput, match="popularity_exponent must be within"):
        EASEParams(popularity_exponent=-0.1)
    with pytest.raises(InvalidInput, match="user_exponent must be within"):
        EASEParams(user_exponent=1.5)


@pytest.mark.parametrize(
    "params",
    [
        EASEParams(regularization=2.0),
        EASEParams(regularization=2.0, user_exponent=0.5, popularity_exponent=0.2),
    ],
    ids=["ease", "dan"],
)
def test_ease_contributions_add_up_to_the_score(params: EASEParams) -> None:
    """The drivers an explanation shows are the score's own terms, DAN's normalisation included."""
    it = build_interactions(block_pairs())
    model = EASERecommender(params).fit(it)
    owned, terms = model.contributions(0, 1)
    assert terms.sum() == pytest.approx(float(model.score(np.array([0]))[0, 1]), rel=1e-5)
    assert abs(terms.sum()) > 0
    assert set(owned.tolist()) == set(it.binary[0].indices.tolist())


def test_item_knn_similarity_links_only_co_bought_products() -> None:
    it = build_interactions(block_pairs())
    model = ItemKNNRecommender().fit(it)
    sim = model.similarity.toarray()
    block0 = [i for i, p in enumerate(it.products.ids) if p.startswith("P0")]
    block1 = [i for i, p in enumerate(it.products.ids) if p.startswith("P1")]
    assert sim[np.ix_(block0, block1)].max() == 0.0
    assert sim[np.ix_(block0, block0)].max() > 0.0
    assert np.all(np.diag(sim) == 0.0)
    _owned, terms = model.contributions(0, 0)
    assert terms.sum() == pytest.approx(float(model.score(np.array([0]))[0, 0]), rel=1e-5)


def random_orders(n_accounts: int = 80, n_products: int = 30, per_account: int = 7, seed: int = 4):  # type: ignore[no-untyped-def]
    """Each account orders `per_account` random products 1 to 4 times: BM25 similarities
    without ties, so the top neighbours of every product are one set."""
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(n_accounts):
        for p in rng.choice(n_products, per_account, replace=False):
            for o in range(int(rng.integers(1, 5))):
                rows.append((f"O{a}-{o}", f"A{a:03d}", f"P{p:02d}", f"2024-01-{o + 1:02d}"))
    return build_interactions(lines_of(rows))


@pytest.mark.parametrize(
    "params",
    [
        ItemKNNParams(neighbours=4),
        ItemKNNParams(neighbours=4, cosine=True, shrinkage=10.0),
        ItemKNNParams(neighbours=4, account_value="orders"),
        ItemKNNParams(neighbours=100),  # more than the products: every co-bought pair stays
    ],
)
def test_item_knn_in_sparse_blocks_keeps_the_neighbours_and_scores_of_the_dense_path(
    params: ItemKNNParams,
) -> None:
    it = random_orders()
    dense = ItemKNNRecommender(params).fit(it)
    blocks = ItemKNNRecommender(params, dense_max_products=10).fit(it)  # 30 products > 10
    assert (dense.method, blocks.method) == ("dense", "sparse blocks")
    assert blocks.similarity.nnz == dense.similarity.nnz > 0
    assert (blocks.similarity != dense.similarity).nnz == 0
    every = np.arange(it.shape[0])
    np.testing.assert_array_equal(blocks.recommend(every, k=10)[0], dense.recommend(every, k=10)[0])


def test_top_k_rows_keeps_what_the_dense_top_k_keeps_with_negatives_and_missing_pairs() -> None:
    # unstored pairs and the diagonal count as 0: they outrank negative similarities
    rng = np.random.default_rng(1)
    n = 7
    dense = rng.choice([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0], size=(n, n)) + rng.uniform(0, 0.01, (n, n))
    dense[rng.random((n, n)) < 0.3] = 0.0
    rows, cols = np.nonzero(dense)
    for k in range(1, n + 1):
        expected = _top_neighbours(dense.copy(), k).toarray() != 0
        keep = top_k_rows(rows.astype(np.int64), cols.astype(np.int64), dense[rows, cols], n, k)
        got = np.zeros((n, n), dtype=bool)
        got[rows[keep], cols[keep]] = True
        np.testing.assert_array_equal(got, expected, err_msg=f"k={k}")


def test_item_knn_refuses_a_negative_dense_threshold() -> None:
    with pytest.raises(InvalidInput, match="dense_max_products"):
        ItemKNNRecommender(dense_max_products=-1)


def test_a_popularity_window_ranks_by_recent_buyers() -> None:
    """P1 has the most buyers of all time, P9 the most in the last 30 days."""
    rows = [(f"O{a}", f"A{a}", "P1", "2024-01-01") for a in range(4)]
    rows += [(f"N{a}", f"B{a}", "P9", "2024-06-01") for a in range(2)]
    rows += [("X", "C0", "P5", "2024-06-01")]
    it = build_interactions(lines_of(rows))
    everyone = [it.accounts.index("C0")]
    all_time, _ = PopularityRecommender().fit(it).recommend(everyone, k=2)
    recent, _ = PopularityRecommender(window_days=30).fit(it).recommend(everyone, k=2)
    assert ids(it, all_time[0]) == ["P1", "P9"]
    assert ids(it, recent[0]) == ["P9", "P1"]  # P1 still ranks (all-time count breaks ties)


def test_item_knn_shrinkage_lowers_similarities_of_rarely_co_bought_products() -> None:
    it = build_interactions(block_pairs())
    plain = ItemKNNRecommender(ItemKNNParams(cosine=True)).fit(it).similarity.toarray()
    shrunk = ItemKNNRecommender(ItemKNNParams(cosine=True, shrinkage=10.0)).fit(it).similarity.toarray()
    linked = plain > 0
    assert np.all(shrunk[linked] < plain[linked]) and np.all(shrunk[~linked] == 0.0)
    with pytest.raises(InvalidInput, match="shrinkage"):
        ItemKNNParams(shrinkage=-1.0)


def test_rp3beta_walk_weights_by_hand_and_contributions_add_up_to_the_score() -> None:
    """A1 owns P1 P2, A2 owns P1 P3. From P2 the walk goes to A1 (only buyer), then to P1 or P2
    with 1/2 each: W(P2 -> P1) = 1/2 before the penalty; P1 has 2 buyers, so beta = 1 halves it."""
    it = build_interactions(
        lines_of(
            [
                ("O1", "A1", "P1", "2024-01-01"),
                ("O1", "A1", "P2", "2024-01-01"),
                ("O2", "A2", "P1", "2024-01-01"),
                ("O2", "A2", "P3", "2024-01-01"),
            ]
        )
    )
    p1, p2, p3 = (it.products.index(p) for p in ("P1", "P2", "P3"))
    plain = RP3betaRecommender(RP3betaParams(beta=0.0)).fit(it).similarity.toarray()
    penalised = RP3betaRecommender(RP3betaParams(beta=1.0)).fit(it)
    assert plain[p2, p1] == pytest.approx(0.5)
    assert penalised.similarity.toarray()[p2, p1] == pytest.approx(0.25)
    assert plain[p2, p3] == 0.0  # no walk of length 3 joins them
    a1 = it.accounts.index("A1")
    owned, terms = penalised.contributions(a1, p3)
    assert set(owned.tolist()) == {p1, p2}
    assert terms.sum() == pytest.approx(float(penalised.score(np.array([a1]))[0, p3]))
