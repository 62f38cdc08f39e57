"""The order in which the tuner scores a grid: the likely-good region first (pure logic).

A search cut short by its time budget has scored only the head of its list, so the list
starts with the parameters known to be good - the last promoted ones (the start), then the
untuned defaults - and goes on with the grid nearest to the start:

    distance(a, b) = sum over parameters p of |log(a_p / b_p)|   (both positive numbers)
                                              0 / 1              (otherwise: equal / not)

so candidates that change one parameter by one log step come before those that change
several (a local refinement around the last good values before the far corners of the
grid). Ties keep a seeded random order, so equally near candidates are sampled evenly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


def flat(params: Any, prefix: str = "") -> dict[str, Any]:
    """A dataclass, dict or scalar as {dotted name: leaf value}."""
    if is_dataclass(params) and not isinstance(params, type):
        params = asdict(params)
    if isinstance(params, dict):
        out: dict[str, Any] = {}
        for key, value in params.items():
            out.update(flat(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): params}


def distance(a: Any, b: Any) -> float:
    """The log distance of two parameter sets (see the module doc)."""
    fa, fb = flat(a), flat(b)
    total = 0.0
    for key in fa.keys() | fb.keys():
        x, y = fa.get(key), fb.get(key)
        numbers = isinstance(x, int | float) and isinstance(y, int | float) and not isinstance(x, bool)
        if numbers and x > 0 and y > 0:  # type: ignore[operator]
            total += abs(math.log(x / y))  # type: ignore[operator]
        elif x != y:
            total += 1.0
    return total


def likely_good_first(
    start: T,
    defaults: Sequence[T],
    grid: Sequence[T],
    rng: np.random.Generator,
    measure: Callable[[T, T], float] = distance,
) -> tuple[list[T], int]:
    """[start, the defaults, the grid nearest to the start first], each candidate once; and how
    many lead the list (start + defaults), which the caller scores whatever the budget."""
    head: list[T] = []
    for candidate in (start, *defaults):
        if candidate not in head:
            head.append(candidate)
    rest = [g for g in grid if g not in head]
    ties = rng.permutation(len(rest))
    order = sorted(range(len(rest)), key=lambda i: (round(measure(start, rest[i]), 9), int(ties[i])))
    return head + [rest[i] for i in order], len(head)
