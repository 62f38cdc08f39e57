"""Successive halving under a deadline: the tuner's scheduler (pure logic, no models).

Candidates are scored on validation folds, most recent first. Rung 0 scores every
candidate, in the given order, on fold 0; the best `ceil(n / eta)` (at most `max_survivors`,
at least `finalists`) go on to the remaining folds, and a candidate's score is the mean over
the folds it was scored on. The winner is the best candidate among those that reached the
highest rung.

Time: before each evaluation the scheduler checks `clock() < deadline`; past it, it starts
nothing new. The first `required` candidates (the starting parameters and the untuned
defaults) are always scored on fold 0, so there is a result even with no time left and the
known-good parameters always compete; a running evaluation is never interrupted, so the
overrun is at most one evaluation beyond those.

Finalists: with `finalists = f > 0` rung 0 keeps time back for the later folds. It starts
candidate n only if, after it, the f best so far (n among them or not, whichever costs more)
can still be scored on every fold before the deadline:

    now + cost(n, 0) + max(R(top f), R(top f-1) + R(n)) <= deadline,
    R(c) = sum over folds j > 0 of cost(c, j)

with cost(c, j) the caller's estimate (`cost`, e.g. 0 for a score it has cached), else the
seconds c's fold-0 evaluation took, else the mean of those so far. A candidate whose fold-0
score costs nothing (cached by an earlier, cut-short pass) is always scored, so a resumed
search never knows fewer candidates than the pass before it. Those f are promoted
first, fold by fold, then the other survivors. So a budget that cannot score the whole grid
on fold 0 judges its winner on every fold instead of on the newest alone.

`every_window` is the scheduler without halving, for a grid whose candidates share the
expensive part of a fit per window (the tuner's EASE: one Gram matrix per window, one inverse
per lambda): every candidate on every fold, fold by fold, the winner the best mean over the
folds. Halving by the newest fold dropped the lambda that had the best mean over three
(docs/tuning.md, "The EASE baseline's whole grid").
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Scored(Generic[T]):
    candidate: T
    fold_scores: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(self.fold_scores) / len(self.fold_scores) if self.fold_scores else -math.inf


@dataclass
class HalvingResult(Generic[T]):
    best: Scored[T]
    scored: list[Scored[T]]  # every candidate scored at least once, in the order first scored
    complete: bool  # False when the deadline stopped the search early


def successive_halving(
    candidates: Sequence[T],
    evaluate: Callable[[T, int], float],
    n_folds: int,
    deadline: float,
    eta: int = 3,
    max_survivors: int = 4,
    clock: Callable[[], float] = time.monotonic,
    required: int = 1,
    finalists: int = 0,
    cost: Callable[[T, int], float | None] | None = None,
) -> HalvingResult[T]:
    """Score `candidates` with evaluate(candidate, fold) and return the best; see the module doc."""
    if not candidates:
        raise ValueError("successive halving needs at least one candidate")
    if n_folds < 1 or eta < 2 or max_survivors < 1 or finalists < 0:
        raise ValueError(
            f"need n_folds >= 1, eta >= 2, max_survivors >= 1, finalists >= 0; "
            f"got {n_folds}, {eta}, {max_survivors}, {finalists}"
        )
    scored: list[Scored[T]] = []
    first_seconds: dict[int, float] = {}  # id(entry) -> seconds of its fold-0 evaluation
    complete = True

    def run(entry: Scored[T], fold: int) -> None:
        measured = fold == 0 and (cost is None or cost(entry.candidate, 0) is None)  # not cached
        started = clock()
        entry.fold_scores.append(float(evaluate(entry.candidate, fold)))
        entry.seconds += clock() - started
        if measured:
            first_seconds[id(entry)] = entry.seconds

    def estimate(candidate: T, fold: int, entry: Scored[T] | None) -> float:
        known = cost(candidate, fold) if cost is not None else None
        if known is not None:
            return known
        if entry is not None and id(entry) in first_seconds:
            return first_seconds[id(entry)]
        return sum(first_seconds.values()) / len(first_seconds) if first_seconds else 0.0

    def rest(candidate: T, entry: Scored[T] | None) -> float:
        return sum(estimate(candidate, j, entry) for j in range(1, n_folds))

    def affordable(candidate: T) -> bool:
        if not finalists or n_folds == 1:
            return True
        best = [rest(s.candidate, s) for s in sorted(scored, key=lambda s: -s.score)[:finalists]]
        keep = max(sum(best), sum(best[: finalists - 1]) + rest(candidate, None))
        return clock() + estimate(candidate, 0, None) + keep <= deadline

    for n, candidate in enumerate(candidates):
        cached = cost is not None and cost(candidate, 0) == 0.0  # a resumed search's earlier score
        if n >= required and not cached and (clock() >= deadline or not affordable(candidate)):
            complete = False
            break
        entry = Scored(candidate)
        run(entry, 0)
        scored.append(entry)
    rung = sorted(scored, key=lambda s: -s.score)
    wanted = max(min(max_survivors, math.ceil(len(rung) / eta)), min(finalists, len(rung)))
    survivors = rung[:wanted]
    for group in (survivors[:finalists], survivors[finalists:]) if finalists else (survivors,):
        for fold in range(1, n_folds):
            for entry in group:
                if clock() >= deadline:
                    complete = False
                    break
                run(entry, fold)
    depth = max(len(s.fold_scores) for s in scored)
    deepest = [s for s in scored if len(s.fold_scores) == depth]
    best = max(deepest, key=lambda s: s.score)  # first of equals: the earlier candidate
    return HalvingResult(best=best, scored=scored, complete=complete)


def every_window(
    candidates: Sequence[T],
    evaluate: Callable[[T, int], float],
    n_folds: int,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
    required: int = 1,
    cost: Callable[[T, int], float | None] | None = None,
) -> HalvingResult[T]:
    """Score every candidate on every fold, window by window (fold 0 for all, then fold 1...), and
    return the best mean over the folds; no halving. For a grid whose candidates share the
    expensive part of a fit per window (EASE's Gram matrix: one inverse per lambda), where
    halving would drop on the newest window alone a candidate that wins on the others.

    Time as in `successive_halving`: nothing new starts past `deadline`, except the first
    `required` candidates on fold 0 and scores the caller has cached (`cost` 0). Cut short, the
    winner is the best mean over the folds every scored candidate reached, so no candidate
    wins by having been scored on more (or other) windows than the rest."""
    if not candidates:
        raise ValueError("every_window needs at least one candidate")
    if n_folds < 1:
        raise ValueError(f"need n_folds >= 1, got {n_folds}")
    entries: list[Scored[T]] = []
    complete = True
    for fold in range(n_folds):
        for n, candidate in enumerate(candidates):
            if fold > 0 and (n >= len(entries) or len(entries[n].fold_scores) != fold):
                continue  # not scored on the folds before: it stays behind (cut short)
            cached = cost is not None and cost(candidate, fold) == 0.0
            forced = fold == 0 and n < required
            if not (forced or cached) and clock() >= deadline:
                complete = False
                if fold == 0:
                    break  # candidates are scored in order: the rest of fold 0 stays unscored
                continue
            if fold == 0:
                entries.append(Scored(candidate))
            entry = entries[n]
            started = clock()
            entry.fold_scores.append(float(evaluate(candidate, fold)))
            entry.seconds += clock() - started
    depth = min(len(e.fold_scores) for e in entries)
    best = max(entries, key=lambda e: sum(e.fold_scores[:depth]) / depth)  # first of equals
    return HalvingResult(best=best, scored=entries, complete=complete)
