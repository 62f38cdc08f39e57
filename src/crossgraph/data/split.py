"""Time splits for honest offline evaluation.

`time_split(lines, cutoff)`:
- train = every order line strictly before `cutoff` (the id maps are the accounts and
  products seen there, nothing else);
- test  = account x product pairs with a line on or after `cutoff` (and before `end`, if
  given) whose account AND product were both seen before the cutoff, minus every pair
  the account already bought before the cutoff - i.e. "what did it buy next that it did
  not buy yet".
Accounts first seen on or after the cutoff are left out (no history to recommend from);
pairs with products first sold on or after the cutoff are left out too, because no
model fitted before the cutoff can rank a product it has never seen - they are counted in
`unseen_product_pairs` so the report can say how much of the future that is.

`validation_split(lines, cutoff, window_days)` carves the same kind of split from the
training period only: a validation cutoff `window_days` before `cutoff`, with the test
side ending at `cutoff`. Tuning on it never reads a line on or after `cutoff`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, cast

import numpy as np
import numpy.typing as npt

from crossgraph.data.matrix import IdMap, Interactions, build_interactions, is_member
from crossgraph.data.orderlines import OrderLines
from crossgraph.errors import InvalidInput


@dataclass(frozen=True)
class TimeSplit:
    cutoff: np.datetime64
    end: np.datetime64 | None
    train_lines: OrderLines
    train: Interactions
    test: Interactions  # same id maps as train; only pairs new to each account
    unseen_account_lines: int  # test-period lines of accounts never seen before the cutoff
    unseen_product_pairs: int  # new pairs of known accounts with products never seen before
    repeat_pairs: int  # test-period pairs the account had already bought (excluded)

    @property
    def accounts(self) -> IdMap:
        return self.train.accounts

    @property
    def products(self) -> IdMap:
        return self.train.products

    def test_accounts(self) -> npt.NDArray[np.intp]:
        """Indices of accounts with at least one test pair (the ones metrics average over)."""
        return np.flatnonzero(self.test.account_counts() > 0)


class Split(Protocol):
    """What evaluating on a split reads: a TimeSplit, or data.spark_lines.SparkSplit (computed in
    Spark, its train lines left there)."""

    @property
    def cutoff(self) -> np.datetime64: ...

    @property
    def end(self) -> np.datetime64 | None: ...

    @property
    def unseen_product_pairs(self) -> int: ...

    @property
    def train(self) -> Interactions: ...

    @property
    def test(self) -> Interactions: ...

    def test_accounts(self) -> npt.NDArray[np.intp]: ...


def _instant(value: datetime | np.datetime64 | str) -> np.datetime64:
    return cast(np.datetime64, np.asarray(value, dtype="datetime64[s]")[()])


def time_split(
    lines: OrderLines,
    cutoff: datetime | np.datetime64 | str,
    end: datetime | np.datetime64 | str | None = None,
) -> TimeSplit:
    cut = _instant(cutoff)
    stop = _instant(end) if end is not None else None
    if stop is not None and stop <= cut:
        raise InvalidInput(f"split end {stop} must be after the cutoff {cut}")
    lines.codes()  # once: every subset below shares them
    at = lines.ordered_at.astype("datetime64[s]")
    train_lines = lines.select(at < cut)
    if len(train_lines) == 0:
        raise InvalidInput(f"no order lines before the cutoff {cut}; pick a later cutoff")
    after = at >= cut
    if stop is not None:
        after &= at < stop
    future = lines.select(after)

    train = build_interactions(train_lines)
    known_account = train.accounts.indices(future.account_id) >= 0
    future_known = future.select(known_account)
    # Pairs whose product was never sold before the cutoff: counted, then dropped.
    all_products = build_interactions(future_known)
    new_products = train.products.indices(all_products.products.ids) < 0
    unseen_product_pairs = 0
    if all_products.nnz:
        first_time = _first_time_pairs(all_products, train)
        unseen_product_pairs = int(np.sum(new_products[all_products.indices] & first_time))

    test_all = build_interactions(future_known, accounts=train.accounts, products=train.products)
    test = test_all.without_pairs_of(train)
    return TimeSplit(
        cutoff=cut,
        end=stop,
        train_lines=train_lines,
        train=train,
        test=test,
        unseen_account_lines=int(np.sum(~known_account)),
        unseen_product_pairs=unseen_product_pairs,
        repeat_pairs=test_all.nnz - test.nnz,
    )


def _first_time_pairs(future: Interactions, train: Interactions) -> npt.NDArray[np.bool_]:
    """For each stored pair of `future` (own id maps), whether `train` lacks that pair."""
    acc = train.accounts.indices(future.accounts.ids)[future.rows]
    prod = train.products.indices(future.products.ids)[future.indices]
    known = (acc >= 0) & (prod >= 0)
    keys = acc.astype(np.int64) * len(train.products) + prod
    seen = np.zeros(future.nnz, dtype=bool)
    seen[known] = is_member(keys[known], train.keys())
    return ~seen


def validation_split(
    lines: OrderLines, cutoff: datetime | np.datetime64 | str, window_days: float
) -> TimeSplit:
    """A time split inside the training period: test window [cutoff - window_days, cutoff)."""
    if window_days <= 0:
        raise InvalidInput(f"validation window_days must be > 0, got {window_days}")
    cut = _instant(cutoff)
    lines.codes()
    history = lines.select(lines.ordered_at.astype("datetime64[s]") < cut)
    val_cut = cut - np.timedelta64(round(window_days * 86_400), "s")
    return time_split(history, val_cut, end=cut)


def validation_folds(
    lines: OrderLines,
    cutoff: datetime | np.datetime64 | str,
    window_days: float,
    n_folds: int = 3,
    stride_days: float | None = None,
) -> list[TimeSplit]:
    """Rolling-origin validation inside the training period.

    Fold i ends `i * stride_days` before `cutoff` (stride defaults to half a window) and
    tests the `window_days` before its end; fold 0 is `validation_split(lines, cutoff,
    window_days)`. Averaging over folds keeps tuning from fitting one window's quirks
    (e.g. a short recency half-life that only pays off within one season).
    """
    if n_folds < 1:
        raise InvalidInput(f"n_folds must be >= 1, got {n_folds}")
    stride = window_days / 2 if stride_days is None else stride_days
    cut = _instant(cutoff)
    return [
        validation_split(lines, cut - np.timedelta64(round(i * stride * 86_400), "s"), window_days)
        for i in range(n_folds)
    ]
