"""The "bought next" component (model.sequential): transitions learned from the time order of
purchases, scored from recent ones, explained term by term, and weighted by the tuner only
where the order of purchases predicts (issue 11, item 4)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from crossgraph.data.matrix import build_interactions
from crossgraph.data.weighting import WeightingConfig
from crossgraph.errors import InvalidInput
from crossgraph.model.als import ALSParams
from crossgraph.model.artifact import Artifact, write_artifact
from crossgraph.model.baselines import EASEParams
from crossgraph.model.evidence import blended_split
from crossgraph.model.explain import ALSExplainer
from crossgraph.model.hybrid import HybridParams, HybridRecommender
from crossgraph.model.sequential import SequentialParams, SequentialRecommender, transition_counts
from crossgraph.model.tuning import COMPONENTS, DEFAULT_COMPONENTS, SearchSpace, TuningResult, tune
from crossgraph.recommend.engine import Engine
from tests.unit.lines_factory import Row, block_lines, lines_of

# A buys P0, 10 days later P1, 40 days after that P2; B buys P0 and P3 in one order, then P1
# 5 days later; C buys P2 only.
TINY = lines_of(
    [
        ("A1", "A", "P0", "2024-01-01"),
        ("A2", "A", "P1", "2024-01-11"),
        ("A3", "A", "P2", "2024-02-20"),
        ("B1", "B", "P0", "2024-01-01"),
        ("B1", "B", "P3", "2024-01-01"),
        ("B2", "B", "P1", "2024-01-06"),
        ("C1", "C", "P2", "2024-02-20"),
    ]
)


def test_transitions_count_the_accounts_that_first_bought_j_within_the_window_after_i() -> None:
    it = build_interactions(TINY)
    assert list(it.products.ids) == ["P0", "P1", "P2", "P3"]
    # 30 days: P0 -> P1 by A (10 days) and B (5 days); P1 -> P2 took A 40 days; P0 and P3 were one
    # order (no transition, either way); P3 -> P1 by B
    assert transition_counts(it, 30).toarray().tolist() == [
        [0, 2, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 1, 0, 0],
    ]
    # 60 days: A's P0 -> P2 (50 days) and P1 -> P2 (40 days) count too; nothing runs backwards
    assert transition_counts(it, 60).toarray().tolist() == [
        [0, 2, 1, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 0],
        [0, 1, 0, 0],
    ]


def test_bought_next_weights_by_hand_and_its_terms_add_up_to_the_score() -> None:
    it = build_interactions(TINY)
    model = SequentialRecommender(
        SequentialParams(window_days=60, beta=1.0, half_life_days=20, shrinkage=1.0)
    ).fit(it)
    # T_ij = C_ij / (n_i + 1) / n_j: n = (2, 2, 2, 1) accounts own P0..P3
    expected = np.array(
        [[0, 2 / 3 / 2, 1 / 3 / 2, 0], [0, 0, 1 / 3 / 2, 0], [0, 0, 0, 0], [0, 1 / 2 / 2, 0, 0]]
    )
    np.testing.assert_allclose(model.transitions.toarray(), expected, rtol=1e-6)
    # B's purchases are 50 days (P0, P3) and 45 days (P1) before the newest one (2024-02-20)
    recency = model.recency.toarray()[1]
    np.testing.assert_allclose(recency, [2 ** (-50 / 20), 2 ** (-45 / 20), 0, 2 ** (-50 / 20)], rtol=1e-6)
    scores = model.score(np.arange(3, dtype=np.intp))
    owned, terms = model.contributions(1, 2)  # B and P2: only from P0 and P1
    assert dict(zip(owned.tolist(), terms.tolist(), strict=True)) == pytest.approx(
        {0: recency[0] / 6, 1: recency[1] / 6, 3: 0.0}
    )
    assert float(terms.sum()) == pytest.approx(float(scores[1, 2]))


def test_bought_next_without_a_half_life_weighs_every_owned_product_alike() -> None:
    model = SequentialRecommender(
        SequentialParams(window_days=60, beta=1.0, half_life_days=None, shrinkage=1.0)
    ).fit(build_interactions(TINY))
    np.testing.assert_allclose(model.recency.toarray()[1], [1, 1, 0, 1])
    owned, terms = model.contributions(1, 2)
    assert dict(zip(owned.tolist(), terms.tolist(), strict=True)) == pytest.approx({0: 1 / 6, 1: 1 / 6, 3: 0})


def test_bought_next_parameters_are_checked_and_older_manifests_load_without_it() -> None:
    with pytest.raises(InvalidInput, match="window_days must be > 0, got 0"):
        SequentialParams(window_days=0)
    with pytest.raises(InvalidInput, match="seq_weight=-1"):
        HybridParams(seq_weight=-1.0)
    params = HybridParams(seq=SequentialParams(window_days=90), seq_weight=0.5)
    assert HybridParams.from_dict(params.to_dict()) == params
    before = {k: v for k, v in params.to_dict().items() if k not in ("seq", "seq_weight")}
    assert HybridParams.from_dict(before).seq_weight == 0.0


ALS = ALSParams(factors=8, regularization=1.0, alpha=1.0, iterations=30, random_state=7)
BLOCKS = build_interactions(block_lines(n_accounts=48, n_blocks=3, block_size=6, seed=5, days=150))


def test_a_blend_with_bought_next_explains_its_score_and_the_reason_names_it(tmp_path: Path) -> None:
    params = HybridParams(
        als=ALS,
        ease=EASEParams(regularization=1.0),
        als_weight=0.0,
        ease_weight=1.0,
        knn_weight=0.0,
        seq_weight=1.0,
    )
    model = HybridRecommender(params).fit(BLOCKS)
    assert model.params.weighted == ["ease", "seq"]
    accounts = np.arange(48, dtype=np.intp)
    items, scores = model.recommend(accounts, k=6)
    confidence = (model.als.user_items * np.float32(ALS.alpha)).tocsr().astype(np.float32)
    explainer = ALSExplainer(model.item_factors, confidence, ALS.regularization)
    owned, terms, parts, offset = blended_split(model, explainer, accounts, items)
    # the owned products' terms, EASE's and bought next's, sum to the served score
    np.testing.assert_allclose(terms.sum(axis=1) - offset, scores, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(parts.sum(axis=1), scores, rtol=1e-4, atol=1e-4)
    assert np.abs(parts[:, 1]).max() > 0.1  # bought next moved the scores
    for b in range(0, 48, 5):
        explained = dict(model.explain(b, int(items[b, 0]), n=100))
        mine = {int(j): float(terms[b, o, 0]) for o, j in enumerate(owned[b].tolist()) if j >= 0}
        assert mine == pytest.approx(explained, rel=1e-3, abs=1e-4)

    folder = tmp_path / "v1"
    folder.mkdir()
    manifest = write_artifact(
        folder,
        version="v1",
        model=model,
        interactions=BLOCKS,
        accounts=[{"id": a, "name": a} for a in BLOCKS.accounts.ids],
        products=[{"sku": s, "name": s} for s in BLOCKS.products.ids],
        metrics={},
        similar_k=5,
        top_n=6,
    )
    assert manifest["model"] == "hybrid (EASE + bought next; ALS for peers)"
    assert manifest["components"] == ["ease", "seq"]
    reasons = [
        item["reason"] for a in range(48) for item in Engine(Artifact.load(folder)).recommend(a, limit=3)
    ]
    assert any("scored by" in r and "bought next" in r for r in reasons), reasons[:5]


def chain_lines(n_accounts: int = 80, n_products: int = 40, seed: int = 3) -> list[Row]:
    """Products on a cycle P00 -> P01 -> ... -> P39 -> P00: every account starts at a random
    product on a random day and buys the next one every 12-18 days. Owning a product says
    nothing about which neighbour comes next (the run before the start is as common as the run
    after the end); only the order does."""
    rng = np.random.default_rng(seed)
    rows: list[Row] = []
    for a in range(n_accounts):
        position = int(rng.integers(n_products))
        day = int(rng.integers(0, 100))
        while day < 360:
            at = datetime(2023, 1, 1) + timedelta(days=day)
            rows.append((f"O{a}-{day}", f"A{a:02d}", f"P{position:02d}", at.isoformat()))
            position = (position + 1) % n_products
            day += int(rng.integers(12, 19))
    return rows


def misleading_order_lines(
    n_accounts: int = 96, n_blocks: int = 4, block_size: int = 5, seed: int = 3
) -> list[Row]:
    """Accounts of block b buy all of its products but one in a first order, a random product of
    another block 10 days later, and the missing product of their block 120-140 days after the
    first order. Owning predicts the missing product; the only purchases that follow another
    within any window the tuner tries are the random ones, so the order misleads."""
    rng = np.random.default_rng(seed)
    rows: list[Row] = []
    for a in range(n_accounts):
        block = a % n_blocks
        products = [f"P{block * block_size + j:02d}" for j in range(block_size)]
        missing = int(rng.integers(block_size))
        day = int(rng.integers(0, 230))
        others = [p for p in range(n_blocks * block_size) if p // block_size != block]
        at = [
            datetime(2023, 1, 1) + timedelta(days=d)
            for d in (day, day + 10, day + int(rng.integers(120, 141)))
        ]
        rows += [
            (f"O{a}-1", f"A{a:02d}", p, at[0].isoformat()) for j, p in enumerate(products) if j != missing
        ]
        rows.append((f"O{a}-2", f"A{a:02d}", f"P{int(rng.choice(others)):02d}", at[1].isoformat()))
        rows.append((f"O{a}-3", f"A{a:02d}", products[missing], at[2].isoformat()))
    return rows


SPACE = SearchSpace(
    factors=(4, 8),
    regularization=(0.1, 1.0),
    alpha=(5.0,),
    iterations=(5,),
    weighting=(WeightingConfig(scheme="binary"),),
    ease_regularization=(5.0, 50.0),
    knn_neighbours=(20,),
    knn_shrinkage=(None, 10.0),
    popularity_days=(None, 30.0),
    rp3_alpha=(1.0,),
    rp3_beta=(0.0, 0.5),
    seq_window_days=(30.0,),
    seq_beta=(0.0, 0.5),
    seq_half_life_days=(30.0,),
    blend_step=0.5,
)
START = HybridParams(
    als=ALSParams(factors=8, regularization=0.1, alpha=5.0, iterations=8),
    ease=EASEParams(regularization=5.0),
    knn_weight=0.5,
)


def tuning(rows: list[Row], cutoff: str, components: tuple[str, ...]) -> TuningResult:
    return tune(
        lines_of(rows),
        cutoff,
        space=SPACE,
        minutes=30,
        window_days=45,
        n_folds=2,
        stride_days=20,
        start=START,
        components=components,
    )


def tuned(rows: list[Row], cutoff: str) -> HybridParams:
    result = tuning(rows, cutoff, COMPONENTS)  # bought next is opt-in
    assert result.complete
    assert {t.stage for t in result.trials} >= {"seq", "blend"}
    return result.best


def test_bought_next_is_opt_in_a_default_tune_neither_searches_nor_weights_it() -> None:
    result = tuning(chain_lines(), "2023-11-01", DEFAULT_COMPONENTS)
    assert "seq" not in {t.stage for t in result.trials}
    assert result.best.seq_weight == 0, result.best.to_dict()


def test_the_tuner_weights_bought_next_where_only_the_order_of_purchases_predicts() -> None:
    best = tuned(chain_lines(), "2023-11-01")
    assert best.seq_weight > 0, best.to_dict()


def test_the_tuner_gives_bought_next_no_weight_where_the_order_says_nothing() -> None:
    best = tuned(misleading_order_lines(), "2023-11-01")
    assert best.seq_weight == 0, best.to_dict()
