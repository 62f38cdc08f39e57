"""The re-ranker's pure parts (model.rerank): candidates, features and labels on a tiny hand-made
split, reranking; and that a LightGBM ranker learns an obvious signal (needs the rerank extra)."""

from __future__ import annotations

import numpy as np
import pytest

from crossgraph.data.matrix import Interactions
from crossgraph.data.split import time_split
from crossgraph.model.base import IntArray, Recommender, ScoreArray
from crossgraph.model.rerank import (
    Candidates,
    FeatureTable,
    account_features,
    build_features,
    candidate_union,
    fit_ranker,
    labels_for,
    personal_features,
    product_features,
    relative_features,
    rerank,
    with_positives,
)
from tests.optional import need
from tests.unit.lines_factory import lines_of

# Before the cutoff 2024-03-01: A owns P0, P1 (two orders); B owns P1, P2; C owns P3; D owns P4.
# After it: A buys P2 (new) and P0 again (a repeat: not a test pair), B buys P4.
LINES = lines_of(
    [
        ("A1", "A", "P0", "2024-01-01"),
        ("A1", "A", "P1", "2024-01-01"),
        ("A2", "A", "P1", "2024-02-01"),
        ("B1", "B", "P1", "2024-01-15"),
        ("B1", "B", "P2", "2024-01-15"),
        ("C1", "C", "P3", "2024-02-20"),
        ("D1", "D", "P4", "2024-02-25"),
        ("A3", "A", "P2", "2024-03-05"),
        ("A3", "A", "P0", "2024-03-05"),
        ("B2", "B", "P4", "2024-03-10"),
    ]
)
SPLIT = time_split(LINES, "2024-03-01")
AT = SPLIT.cutoff
A, B, C, D = range(4)
P0, P1, P2, P3, P4 = range(5)


class Fixed(Recommender):
    """Scores given by hand (accounts x products)."""

    name = "fixed"

    def __init__(self, scores: list[list[float]]) -> None:
        super().__init__()
        self.scores = np.asarray(scores, dtype=np.float32)

    def _fit(self, interactions: Interactions) -> None:
        pass

    def score(self, account_indices: IntArray) -> ScoreArray:
        out: ScoreArray = self.scores[account_indices]
        return out


FIRST = Fixed([[9, 8, 1, 3, 2], [0, 0, 0, 7, 6], [1, 2, 3, 4, 5], [5, 4, 3, 2, 1]]).fit(SPLIT.train)
SECOND = Fixed([[0, 0, 5, 0, 1], [4, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]).fit(SPLIT.train)


def table(m: int = 2) -> FeatureTable:
    return build_features(
        {"first": FIRST, "second": SECOND},
        np.array([A, B], dtype=np.intp),
        SPLIT.train,
        SPLIT.train_lines,
        AT,
        m=m,
        relevant=SPLIT.test.binary,
    )


def rows_of(t: FeatureTable, account: int) -> dict[int, dict[str, float]]:
    c = t.candidates
    g = int(np.flatnonzero(c.accounts == account)[0])
    return {
        int(c.items[r]): dict(zip(t.names, map(float, t.values[r]), strict=True))
        for r in range(c.offsets[g], c.offsets[g + 1])
    }


def test_the_split_is_the_one_the_tests_describe() -> None:
    assert list(SPLIT.train.accounts.ids) == ["A", "B", "C", "D"]
    assert list(SPLIT.train.products.ids) == ["P0", "P1", "P2", "P3", "P4"]
    assert sorted(zip(*SPLIT.test.binary.nonzero(), strict=True)) == [(A, P2), (B, P4)]


def test_candidates_are_the_union_of_each_sources_top_lists_per_account() -> None:
    first = np.array([[3, 4], [0, -1]])
    second = np.array([[2, 4], [0, 3]])
    c = candidate_union([first, second], np.array([7, 9], dtype=np.intp))
    assert c.accounts.tolist() == [7, 9]
    assert c.offsets.tolist() == [0, 3, 5]
    assert c.items.tolist() == [2, 3, 4, 0, 3]  # each product once, ascending; -1 slots dropped
    assert c.rows.tolist() == [0, 0, 0, 1, 1]


def test_owned_products_are_never_candidates_and_each_sources_top_m_is_in() -> None:
    t = table(m=2)
    # A owns P0 and P1: FIRST's best unowned are P3, P4; SECOND's P2, P4
    assert sorted(rows_of(t, A)) == [P2, P3, P4]
    # B owns P1 and P2: FIRST's best unowned P3, P4; SECOND's P0 and then P3 (ties by lower index)
    assert sorted(rows_of(t, B)) == [P0, P3, P4]


def test_a_candidate_bought_in_the_window_is_labelled_1_and_the_others_0() -> None:
    t = table()
    assert t.labels is not None
    labelled = {
        (int(a), int(i)): int(y)
        for a, i, y in zip(
            t.candidates.accounts[t.candidates.rows], t.candidates.items, t.labels, strict=True
        )
    }
    assert labelled == {(A, P2): 1, (A, P3): 0, (A, P4): 0, (B, P0): 0, (B, P3): 0, (B, P4): 1}
    assert with_positives(t).tolist() == [0, 1]


def test_features_belong_to_their_candidate_row() -> None:
    a = rows_of(table(), A)
    # FIRST scores A's unowned P2, P3, P4 as 1, 3, 2: ranks 3, 1, 2; mean 2, std sqrt(2/3)
    assert [a[i]["first_score"] for i in (P2, P3, P4)] == [1.0, 3.0, 2.0]
    assert [a[i]["first_rank"] for i in (P2, P3, P4)] == [3.0, 1.0, 2.0]
    assert a[P3]["first_z"] == pytest.approx(1 / np.sqrt(2 / 3), rel=1e-5)
    assert [a[i]["second_score"] for i in (P2, P3, P4)] == [5.0, 0.0, 1.0]
    assert a[P2]["second_rank"] == 1.0
    # product P4: one account (D), bought 5 days before the cutoff, first sold then too
    assert a[P4]["product_accounts"] == 1.0
    assert a[P4]["product_age_days"] == pytest.approx(5.0)
    assert a[P4]["product_idle_days"] == pytest.approx(5.0)
    # account A: two products, two orders, the last on 2024-02-01 (29 days before the cutoff)
    assert (a[P2]["account_products"], a[P2]["account_orders"], a[P2]["account_idle_days"]) == (2, 2, 29)


def test_product_and_account_features_as_of_the_cutoff() -> None:
    products = product_features(SPLIT.train, AT, recent_days=30)
    # P1: bought by A (last 2024-02-01, within 30 days) and B (2024-01-15, not): 2 accounts, 1 recent
    assert products[P1, :2].tolist() == [2.0, 1.0]
    assert products[P0, 2] == pytest.approx(60.0)  # first sold 2024-01-01; 2024 is a leap year
    accounts = account_features(SPLIT.train, SPLIT.train_lines, AT)
    assert accounts[:, 1].tolist() == [2.0, 1.0, 1.0, 1.0]  # distinct orders, not lines


def test_rerank_orders_each_accounts_candidates_by_score_and_pads_short_lists() -> None:
    c = Candidates(
        np.array([0, 1], dtype=np.intp), np.array([2, 3, 4, 0], dtype=np.intp), np.array([0, 3, 4])
    )
    items = rerank(c, np.array([0.1, 0.9, 0.5, 0.2]), k=2)
    assert items.tolist() == [[3, 4], [0, -1]]


def test_labels_for_reads_the_relevant_matrix_by_account_index() -> None:
    c = Candidates(np.array([B], dtype=np.intp), np.array([P3, P4], dtype=np.intp), np.array([0, 2]))
    assert labels_for(c, SPLIT.test.binary).tolist() == [0, 1]


def test_subset_keeps_the_groups_asked_for_with_their_rows() -> None:
    t = table()
    sub = t.subset(np.array([1], dtype=np.intp))
    assert sub.candidates.accounts.tolist() == [B]
    assert sorted(sub.candidates.items.tolist()) == [P0, P3, P4]
    assert np.array_equal(sub.values, t.values[t.candidates.offsets[1] :])


def test_a_lightgbm_ranker_puts_what_a_feature_says_was_bought_first() -> None:
    need("lightgbm")
    rng = np.random.default_rng(0)
    groups, size = 120, 20
    # One informative feature (the bought candidate's is highest) and one of noise.
    signal = rng.normal(size=(groups, size))
    bought = rng.integers(0, size, size=groups)
    signal[np.arange(groups), bought] += 3.0
    values = np.column_stack([signal.ravel(), rng.normal(size=groups * size)]).astype(np.float32)
    labels = np.zeros(groups * size, dtype=np.int8)
    labels[np.arange(groups) * size + bought] = 1
    items = np.tile(np.arange(size, dtype=np.intp), groups)
    offsets = np.arange(0, groups * size + 1, size, dtype=np.intp)
    whole = FeatureTable(
        Candidates(np.arange(groups, dtype=np.intp), items, offsets), ("signal", "noise"), values, labels
    )
    learn, held = whole.subset(np.arange(0, 90)), whole.subset(np.arange(90, groups))
    ranker = fit_ranker(learn, held)
    top = rerank(held.candidates, ranker.predict(held.values), k=1)[:, 0]
    assert np.mean(top == bought[90:]) > 0.8  # chance alone: 1 in 20


def test_the_relative_feature_set_keeps_ranks_z_scores_and_account_activity_only() -> None:
    t = table()
    relative = t.only(relative_features(t.names))
    assert relative.names == (
        "first_rank",
        "first_z",
        "second_rank",
        "second_z",
        "account_products",
        "account_orders",
        "account_idle_days",
    )
    a = rows_of(relative, A)
    assert [a[i]["first_rank"] for i in (P2, P3, P4)] == [3.0, 1.0, 2.0]  # columns moved with names
    assert np.array_equal(relative.labels, t.labels)


def test_the_personal_feature_set_drops_the_sources_that_score_every_account_alike() -> None:
    names = ("blend_rank", "blend_z", "popularity_rank", "popularity_z", "segment_rank", "account_orders")
    assert personal_features(names) == ("blend_rank", "blend_z", "account_orders")
