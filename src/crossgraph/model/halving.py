"""Successive halving under a deadline: the tuner's scheduler (pure logic, no models).

Candidates are scored on validation folds, most recent first. Rung 0 scores every
candidate, in the given order, on fold 0; the best `ceil(n / eta)` (at most `max_survivors`)
go on to the remaining folds, and a candidate's score is the mean over the folds it was
scored on. The winner is the best candidate among those that reached the highest rung.

Time: before each evaluation the scheduler checks `clock() < deadline`; past it, it starts
nothing new. The first `required` candidates (the starting parameters and the untuned
defaults) are always scored on fold 0, so there is a result even with no time left and the
known-good parameters always compete; a running evaluation is never interrupted, so the
overrun is at most one evaluation beyond those.
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
) -> HalvingResult[T]:
    """Score `candidates` with evaluate(candidate, fold) and return the best; see the module doc."""
    if not candidates:
        raise ValueError("successive halving needs at least one candidate")
    if n_folds < 1 or eta < 2 or max_survivors < 1:
        raise ValueError(
            f"need n_folds >= 1, eta >= 2, max_survivors >= 1; got {n_folds}, {eta}, {max_survivors}"
        )
    scored: list[Scored[T]] = []
    complete = True

    def run(entry: Scored[T], fold: int) -> None:
        started = clock()
        entry.fold_scores.append(float(evaluate(entry.candidate, fold)))
        entry.seconds += clock() - started

    for n, candidate in enumerate(candidates):
        if n >= required and clock() >= deadline:
            complete = False
            break
        entry = Scored(candidate)
        run(entry, 0)
        scored.append(entry)
    rung = sorted(scored, key=lambda s: -s.score)
    survivors = rung[: min(max_survivors, math.ceil(len(rung) / eta))]
    for fold in range(1, n_folds):
        for entry in survivors:
            if clock() >= deadline:
                complete = False
                break
            run(entry, fold)
    depth = max(len(s.fold_scores) for s in scored)
    finalists = [s for s in scored if len(s.fold_scores) == depth]
    best = max(finalists, key=lambda s: s.score)  # first of equals: the earlier candidate
    return HalvingResult(best=best, scored=scored, complete=complete)
