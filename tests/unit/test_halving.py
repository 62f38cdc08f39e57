"""The tuner's scheduler: successive halving over validation windows under a deadline."""

from __future__ import annotations

import pytest

from crossgraph.model.halving import every_window, successive_halving

QUALITY = {"a": 0.1, "b": 0.5, "c": 0.9, "d": 0.3, "e": 0.7, "f": 0.2}


class Clock:
    """Moves one unit per evaluation (the evaluate callback advances it)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def scorer(clock: Clock, calls: list[tuple[str, int]]):  # type: ignore[no-untyped-def]
    def evaluate(candidate: str, fold: int) -> float:
        calls.append((candidate, fold))
        clock.now += 1.0
        return QUALITY[candidate] - 0.01 * fold

    return evaluate


def test_every_candidate_sees_the_newest_window_and_only_the_best_third_the_others() -> None:
    clock, calls = Clock(), []  # type: ignore[var-annotated]
    result = successive_halving(list(QUALITY), scorer(clock, calls), n_folds=3, deadline=1e9, clock=clock)
    assert result.complete and result.best.candidate == "c"
    assert [c for c, f in calls if f == 0] == list(QUALITY)
    assert sorted(c for c, f in calls if f > 0) == ["c", "c", "e", "e"]  # ceil(6 / 3) survivors
    assert result.best.fold_scores == pytest.approx([0.9, 0.89, 0.88])


def test_the_deadline_stops_new_evaluations_but_the_start_is_always_scored() -> None:
    clock, calls = Clock(), []  # type: ignore[var-annotated]
    clock.now = 10.0
    result = successive_halving(list(QUALITY), scorer(clock, calls), n_folds=3, deadline=5.0, clock=clock)
    assert calls == [("a", 0)] and result.best.candidate == "a" and not result.complete
    clock2, calls2 = Clock(), []  # type: ignore[var-annotated]
    cut = successive_halving(list(QUALITY), scorer(clock2, calls2), n_folds=3, deadline=3.0, clock=clock2)
    assert len(calls2) == 3 and not cut.complete
    assert cut.best.candidate == "c"  # the best of the three scored (a, b, c)


def test_a_winner_must_have_reached_the_deepest_rung() -> None:
    clock, calls = Clock(), []  # type: ignore[var-annotated]
    # Six on window 0 (t=6), then only the first survivor gets window 1 before the deadline.
    result = successive_halving(list(QUALITY), scorer(clock, calls), n_folds=2, deadline=7.0, clock=clock)
    assert result.best.candidate == "c" and len(result.best.fold_scores) == 2


def test_finalists_stop_the_first_rung_early_so_the_best_two_reach_every_window() -> None:
    # Budget 7 evaluations: without finalists all six take window 0 and one gets window 1.
    clock, calls = Clock(), []  # type: ignore[var-annotated]
    result = successive_halving(
        list(QUALITY), scorer(clock, calls), n_folds=3, deadline=7.0, clock=clock, finalists=2
    )
    assert [c for c, f in calls if f == 0] == ["a", "b", "c"]  # d would leave no time for two finalists
    assert sorted(c for c, f in calls if f > 0) == ["b", "b", "c", "c"]
    assert result.best.candidate == "c" and len(result.best.fold_scores) == 3 and not result.complete
    plain_clock, plain_calls = Clock(), []  # type: ignore[var-annotated]
    plain = successive_halving(
        list(QUALITY), scorer(plain_clock, plain_calls), n_folds=3, deadline=7.0, clock=plain_clock
    )
    assert len(plain.best.fold_scores) == 2  # the same budget without finalists: judged on fewer windows


def test_finalists_cost_nothing_when_the_budget_scores_the_whole_grid() -> None:
    clock, calls = Clock(), []  # type: ignore[var-annotated]
    result = successive_halving(
        list(QUALITY), scorer(clock, calls), n_folds=3, deadline=1e9, clock=clock, finalists=2
    )
    assert result.complete and result.best.candidate == "c"
    assert [c for c, f in calls if f == 0] == list(QUALITY)
    assert sorted(c for c, f in calls if f > 0) == ["c", "c", "e", "e"]


def test_scores_the_caller_has_cached_do_not_use_up_the_finalists_reserve() -> None:
    # A resumed stage: a, b, c were scored on every window before; only new fits cost time.
    cached = {"a", "b", "c"}
    clock, calls = Clock(), []  # type: ignore[var-annotated]

    def evaluate(candidate: str, fold: int) -> float:
        calls.append((candidate, fold))
        clock.now += 0.0 if candidate in cached else 1.0
        return QUALITY[candidate] - 0.01 * fold

    result = successive_halving(
        list(QUALITY),
        evaluate,
        n_folds=3,
        deadline=2.0,
        clock=clock,
        finalists=2,
        cost=lambda c, f: 0.0 if c in cached else None,
    )
    # c and b are the finalists and cost nothing, so d (1 s) still fits; e does not: 1 s on
    # window 0 and, should it displace b, 2 s on the other windows.
    assert [c for c, f in calls if f == 0] == ["a", "b", "c", "d"]
    assert result.best.candidate == "c" and len(result.best.fold_scores) == 3


def test_a_resumed_search_with_no_time_left_keeps_every_candidate_it_scored_before() -> None:
    # The first pass scored a..d on window 0 (cached: free now); the resumed pass has no time
    # for anything new, yet its best is still the best of those four, not the start alone.
    cached = {("a", 0), ("b", 0), ("c", 0), ("d", 0)}
    clock, calls = Clock(), []  # type: ignore[var-annotated]

    def evaluate(candidate: str, fold: int) -> float:
        calls.append((candidate, fold))
        clock.now += 0.0 if (candidate, fold) in cached else 1.0
        return QUALITY[candidate] - 0.01 * fold

    result = successive_halving(
        list(QUALITY),
        evaluate,
        n_folds=3,
        deadline=0.5,
        clock=clock,
        finalists=2,
        cost=lambda c, f: 0.0 if (c, f) in cached else 1.0,
    )
    assert [c for c, f in calls if f == 0] == ["a", "b", "c", "d"]
    assert result.best.candidate == "c" and not result.complete


# Modelled on EASE on Instacart (docs/tuning.md): lambda 1,000 loses on the newest window, wins on the
# two older ones, and has the best mean; halving dropped it after the newest window.
LAMBDAS = {
    30.0: [0.120, 0.130, 0.130],
    100.0: [0.126, 0.140, 0.141],
    300.0: [0.1275, 0.150, 0.151],
    1000.0: [0.1237, 0.159, 0.160],
    3000.0: [0.110, 0.150, 0.152],
    10000.0: [0.090, 0.130, 0.133],
}


def lambda_scorer(clock: Clock, calls: list[tuple[float, int]]):  # type: ignore[no-untyped-def]
    def evaluate(candidate: float, fold: int) -> float:
        calls.append((candidate, fold))
        clock.now += 1.0
        return LAMBDAS[candidate][fold]

    return evaluate


def test_halving_drops_a_candidate_that_loses_only_on_the_newest_window() -> None:
    clock, calls = Clock(), []  # type: ignore[var-annotated]
    halving = successive_halving(
        list(LAMBDAS), lambda_scorer(clock, calls), n_folds=3, deadline=1e9, clock=clock
    )
    assert halving.best.candidate == 300.0  # 1,000 was not promoted: it lost on window 0


def test_every_window_scores_the_whole_grid_and_keeps_the_best_mean() -> None:
    clock, calls = Clock(), []  # type: ignore[var-annotated]
    result = every_window(list(LAMBDAS), lambda_scorer(clock, calls), n_folds=3, deadline=1e9, clock=clock)
    assert result.complete and result.best.candidate == 1000.0
    assert result.best.fold_scores == pytest.approx(LAMBDAS[1000.0])
    # window by window: all of window 0, then all of window 1...
    assert calls == [(lam, fold) for fold in range(3) for lam in LAMBDAS]


def test_every_window_cut_short_compares_on_the_windows_every_candidate_reached() -> None:
    # 6 on window 0, then 3 on window 1 before the deadline: 30, 100 and 300 reach window 1,
    # 1,000 does not; the winner is the best on window 0 alone (300), not the best of those
    # scored on two windows.
    clock, calls = Clock(), []  # type: ignore[var-annotated]
    result = every_window(list(LAMBDAS), lambda_scorer(clock, calls), n_folds=3, deadline=9.0, clock=clock)
    assert not result.complete and len(calls) == 9
    assert result.best.candidate == 300.0


def test_every_window_always_scores_the_required_and_the_cached() -> None:
    clock, calls = Clock(), []  # type: ignore[var-annotated]
    clock.now = 10.0
    cached = {(30.0, 1)}
    result = every_window(
        list(LAMBDAS),
        lambda_scorer(clock, calls),
        n_folds=3,
        deadline=5.0,
        clock=clock,
        required=2,
        cost=lambda c, f: 0.0 if (c, f) in cached else 1.0,
    )
    assert calls == [(30.0, 0), (100.0, 0), (30.0, 1)] and not result.complete
    assert result.best.candidate == 100.0  # compared on window 0, the one both reached
