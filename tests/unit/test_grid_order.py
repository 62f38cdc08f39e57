"""The tuner's grid order: the start, the untuned defaults, then the grid nearest to the start."""

from __future__ import annotations

import numpy as np

from crossgraph.model.baselines import EASEParams, ItemKNNParams
from crossgraph.model.grid_order import distance, likely_good_first
from crossgraph.model.tuning import SearchSpace


def test_a_budget_that_stops_after_three_ease_fits_has_scored_the_start_the_default_and_a_neighbour() -> None:
    grid = [EASEParams(regularization=r) for r in (30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0)]
    start = EASEParams(regularization=1000.0)
    order, head = likely_good_first(start, [EASEParams()], grid, np.random.default_rng(0))
    assert head == 2
    lambdas = [p.regularization for p in order]
    assert lambdas[:2] == [1000.0, 250.0]  # the start, then the untuned default
    assert set(lambdas[2:4]) == {300.0, 3000.0}  # one log step either side of the start
    assert lambdas[-1] == 30.0  # the far end of the grid last
    assert sorted(lambdas) == sorted({*lambdas}) and len(lambdas) == 7  # each once


def test_one_changed_parameter_comes_before_two() -> None:
    start = ItemKNNParams(neighbours=50)
    near = ItemKNNParams(neighbours=200)
    far = ItemKNNParams(neighbours=200, cosine=True, shrinkage=10.0)
    assert distance(start, near) < distance(start, far)
    order, head = likely_good_first(start, [start], [far, near], np.random.default_rng(0))
    assert head == 1 and order == [start, near, far]


def test_blend_refinements_move_half_a_step_and_keep_als_and_the_simplex() -> None:
    space = SearchSpace(blend_step=0.25)
    best = {"als": 0.25, "ease": 0.75, "knn": 0.0, "rp3": 0.0}
    moves = space.refinements(best)
    assert {"als": 0.375, "ease": 0.625, "knn": 0.0, "rp3": 0.0} in moves
    assert {"als": 0.25, "ease": 0.625, "knn": 0.125, "rp3": 0.0} in moves
    assert all(abs(sum(m.values()) - 1) < 1e-9 and min(m.values()) >= 0 for m in moves)
    assert all(m["als"] > 0 for m in moves)
