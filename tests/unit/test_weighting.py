"""Confidence weighting: each scheme against its documented formula."""

from __future__ import annotations

import numpy as np
import pytest
from implicit.nearest_neighbours import bm25_weight

from crossgraph.data.matrix import build_interactions
from crossgraph.data.weighting import WeightingConfig, weighted_matrix, weights
from crossgraph.errors import InvalidInput
from tests.unit.lines_factory import lines_of

LINES = lines_of(
    [
        ("O1", "A1", "P1", "2024-01-01"),
        ("O2", "A1", "P1", "2024-02-01"),
        ("O3", "A1", "P1", "2024-03-01"),  # A1 x P1: 3 orders, last 2024-03-01
        ("O3", "A1", "P2", "2024-03-01"),
        ("O4", "A2", "P2", "2024-04-10"),  # latest purchase: the default reference
        ("O5", "A3", "P3", "2023-04-11"),  # a year and a day before the reference
    ]
)
IT = build_interactions(LINES)  # pairs in order: A1P1 (3), A1P2 (1), A2P2 (1), A3P3 (1)


def test_binary_linear_and_log_follow_their_formulas() -> None:
    orders = np.array([3.0, 1.0, 1.0, 1.0])
    assert weights(IT, WeightingConfig(scheme="binary")).tolist() == [1.0, 1.0, 1.0, 1.0]
    np.testing.assert_allclose(weights(IT, WeightingConfig(scheme="linear", alpha=2.0)), 1 + 2 * orders)
    np.testing.assert_allclose(
        weights(IT, WeightingConfig(scheme="log", alpha=4.0)), 1 + 4 * np.log1p(orders), rtol=1e-6
    )


def test_revenue_can_drive_the_weight() -> None:
    w = weights(IT, WeightingConfig(scheme="linear", value="revenue", alpha=0.1))
    np.testing.assert_allclose(w, [1 + 0.1 * 30, 1 + 0.1 * 10, 2.0, 2.0], rtol=1e-6)


def test_bm25_matches_implicit_bm25_weight_on_products_by_accounts() -> None:
    rng = np.random.default_rng(3)
    rows = [
        (f"O{a}-{n}", f"A{a}", f"P{int(p)}", f"2024-01-{1 + n:02d}")
        for a in range(6)
        for n, p in enumerate(rng.integers(0, 10, size=8))
    ]
    it = build_interactions(lines_of(rows))
    ours = weighted_matrix(it, WeightingConfig(scheme="bm25", bm25_k1=1.2, bm25_b=0.75)).toarray()
    reference = bm25_weight(it.matrix.T.tocsr(), K1=1.2, B=0.75).T.toarray()
    np.testing.assert_allclose(ours, reference, rtol=1e-5)
    assert len(np.unique(ours[ours != 0].round(5))) > 3  # orders, idf and length all matter


def test_recency_halves_the_weight_every_half_life() -> None:
    reference = np.datetime64("2024-04-10")
    w = weights(IT, WeightingConfig(scheme="binary", half_life_days=40.0), reference=reference)
    # A1P1/A1P2 last bought 2024-03-01: 40 days old -> 0.5; A2P2 at the reference -> 1.
    np.testing.assert_allclose(w[:3], [0.5, 0.5, 1.0], rtol=1e-6)
    assert w[3] < 0.01  # 365 days old


def test_seasonal_recency_counts_last_year_same_season_as_recent() -> None:
    config = WeightingConfig(scheme="binary", half_life_days=40.0, seasonal_period_days=365.0)
    w = weights(IT, config, reference=np.datetime64("2024-04-10"))
    np.testing.assert_allclose(w[3], 1.0, rtol=1e-6)  # exactly one period ago
    np.testing.assert_allclose(w[0], 0.5, rtol=1e-6)  # unchanged for ages below half a period


def test_decay_never_looks_past_the_reference() -> None:
    w = weights(
        IT, WeightingConfig(scheme="binary", half_life_days=10.0), reference=np.datetime64("2024-03-01")
    )
    assert w[2] == 1.0  # bought after the reference: age clipped at 0, weight capped at 1


@pytest.mark.parametrize(
    "kwargs",
    [{"scheme": "tfidf"}, {"value": "margin"}, {"alpha": -1.0}, {"half_life_days": 0.0}, {"bm25_b": 2.0}],
)
def test_invalid_configs_are_refused_with_the_offending_value(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInput, match=str(next(iter(kwargs.values())))):
        WeightingConfig(**kwargs)  # type: ignore[arg-type]


def test_config_round_trips_through_a_dict() -> None:
    config = WeightingConfig(scheme="bm25", half_life_days=90.0)
    assert WeightingConfig.from_dict(config.to_dict()) == config
