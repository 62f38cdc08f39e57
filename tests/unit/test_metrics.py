"""Ranking metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from crossgraph.model.metrics import breadth, per_account_ndcg, popular_items, ranking_metrics, top_share


def relevant_rows(rows: list[list[int]], n_items: int = 10) -> sp.csr_matrix:
    data = [(r, c) for r, cols in enumerate(rows) for c in cols]
    r, c = zip(*data, strict=True) if data else ((), ())
    return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(rows), n_items))


def test_one_account_with_two_relevant_items() -> None:
    # relevant {1, 3}; ranked 1, 2, 3, 4, 5 -> hits at ranks 1 and 3
    m = ranking_metrics(np.array([[1, 2, 3, 4, 5]]), relevant_rows([[1, 3]]), ks=(1, 5))
    assert m["precision@5"] == pytest.approx(2 / 5)
    assert m["recall@5"] == pytest.approx(1.0)
    idcg = 1 + 1 / math.log2(3)
    assert m["ndcg@5"] == pytest.approx((1 + 1 / math.log2(4)) / idcg)
    assert m["map@5"] == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert m["hit_rate@5"] == 1.0
    assert m["precision@1"] == 1.0 and m["recall@1"] == 0.5 and m["ndcg@1"] == 1.0
    assert m["map@1"] == 1.0  # AP@1 divides by min(1, |R|)


def test_recall_divides_by_all_relevant_items_not_by_k() -> None:
    m = ranking_metrics(np.array([[0, 1]]), relevant_rows([[0, 1, 2, 3]]), ks=(2,))
    assert m["recall@2"] == pytest.approx(2 / 4)
    assert m["precision@2"] == 1.0 and m["ndcg@2"] == 1.0 and m["map@2"] == 1.0


def test_averages_skip_accounts_without_relevant_items() -> None:
    recommended = np.array([[1, 2, 3, 4, 5], [2, 3, 4, 5, 1], [6, 7, 8, 9, 0]])
    relevant = relevant_rows([[1, 3], [0], []])
    m = ranking_metrics(recommended, relevant, ks=(5,), n_items=10)
    assert m["precision@5"] == pytest.approx((2 / 5 + 0) / 2)
    assert m["hit_rate@5"] == pytest.approx(0.5)
    assert m["map@5"] == pytest.approx((5 / 6 + 0) / 2)
    # coverage counts the lists of evaluated accounts only: items 1..5 of 10
    assert m["coverage@5"] == pytest.approx(0.5)


def test_ndcg_is_one_only_for_an_ideal_ranking() -> None:
    ideal = ranking_metrics(np.array([[4, 7, 0]]), relevant_rows([[4, 7]]), ks=(3,))
    swapped = ranking_metrics(np.array([[0, 4, 7]]), relevant_rows([[4, 7]]), ks=(3,))
    assert ideal["ndcg@3"] == pytest.approx(1.0)
    assert swapped["ndcg@3"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3)))


def test_empty_slots_count_as_misses_and_not_as_coverage() -> None:
    m = ranking_metrics(np.array([[3, -1, -1]]), relevant_rows([[3, 5]]), ks=(3,), n_items=10)
    assert m["precision@3"] == pytest.approx(1 / 3)
    assert m["coverage@3"] == pytest.approx(0.1)


def test_k_larger_than_the_lists_is_refused() -> None:
    with pytest.raises(ValueError, match="k=10"):
        ranking_metrics(np.array([[1, 2]]), relevant_rows([[1]]), ks=(10,))


def test_per_account_ndcg_averages_to_ndcg_and_skips_accounts_without_relevant_items() -> None:
    recommended = np.array([[0, 1, 2], [2, 1, 0], [1, 0, 2]])
    relevant = sp.csr_matrix(np.array([[1, 0, 0], [0, 0, 0], [0, 0, 1]]))
    per = per_account_ndcg(recommended, relevant, k=3)
    assert per == pytest.approx([1.0, 1 / np.log2(4)])
    assert per.mean() == pytest.approx(ranking_metrics(recommended, relevant, ks=(3,))["ndcg@3"])


def test_top_share_counts_the_filled_slots_held_by_the_top_one_percent() -> None:
    # 200 products: the top 1 % are the two most bought (7 and 3).
    popularity = np.zeros(200, dtype=np.int64)
    popularity[[7, 3, 5]] = [50, 40, 30]
    recommended = np.array([[7, 3, 5, -1], [5, 9, 7, 11]])
    assert top_share(recommended, popularity) == pytest.approx(3 / 7)
    relevant = sp.csr_matrix(np.ones((2, 200)))
    metrics = ranking_metrics(recommended, relevant, ks=(4,), popularity=popularity)
    assert metrics["top1_share@4"] == pytest.approx(3 / 7)
    assert breadth(recommended, popularity, k=4) == {
        "coverage@4": pytest.approx(5 / 200),
        "top1_share@4": pytest.approx(3 / 7),
    }


def test_a_small_catalogue_still_has_a_top_product() -> None:
    assert list(popular_items(np.array([1, 5, 2]))) == [1]
