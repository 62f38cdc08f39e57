"""Fold-in: an account's factor from its row with the product factors fixed, weighted as training."""

from __future__ import annotations

import numpy as np
import pytest

from crossgraph.data.weighting import WeightingConfig, recency_decay
from crossgraph.model.als import ALSParams
from crossgraph.model.foldin import FoldIn

RNG = np.random.default_rng(7)
Y = RNG.normal(size=(12, 4)).astype(np.float32)  # 12 products x 4 factors


def test_the_folded_factor_is_the_als_least_squares_solution() -> None:
    params = ALSParams(factors=4, regularization=0.5, alpha=2.0, weighting=WeightingConfig(scheme="log"))
    fold = FoldIn(Y, params)
    items = np.array([1, 4, 9])
    orders = np.array([1.0, 3.0, 7.0])
    at = np.array(["2026-01-01", "2026-02-01", "2026-03-01"], dtype="datetime64[s]")
    row = fold.row(items, orders, at)
    x = fold.fold(row)
    # x_u = (Y^T C_u Y + reg I)^-1 Y^T C_u p_u, c = alpha * (1 + log1p(orders)) where bought, 1 elsewhere
    c = np.ones(12)
    c[items] = 2.0 * (1.0 + np.log1p(orders))
    p = np.zeros(12)
    p[items] = 1.0
    y = Y.astype(np.float64)
    expected = np.linalg.solve(y.T @ (c[:, None] * y) + 0.5 * np.eye(4), y.T @ (c * p))
    np.testing.assert_allclose(x, expected, rtol=1e-4, atol=1e-5)


def test_recency_decays_against_the_fits_latest_purchase() -> None:
    weighting = WeightingConfig(scheme="linear", alpha=1.0, half_life_days=30.0)
    until = np.datetime64("2026-06-30T00:00:00", "s")
    fold = FoldIn(Y, ALSParams(factors=4, weighting=weighting), trained_until=until)
    at = np.array(["2026-05-31", "2026-07-05"], dtype="datetime64[s]")
    w = fold.weights(np.array([1.0, 1.0]), at)
    np.testing.assert_allclose(w, 2.0 * recency_decay(at, until, 30.0), rtol=1e-6)
    assert w[1] == pytest.approx(2.0)  # bought after the fit: age 0, full weight
    assert w[0] == pytest.approx(1.0, rel=1e-3)  # one half-life before it


def test_a_row_naming_a_product_outside_the_model_is_refused() -> None:
    fold = FoldIn(Y, ALSParams(factors=4))
    with pytest.raises(ValueError, match=r"product indices must be in 0\.\.11"):
        fold.row(np.array([12]), np.array([1.0]), np.array(["2026-01-01"], dtype="datetime64[s]"))
