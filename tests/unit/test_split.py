"""Time splits: nothing on or after the cutoff reaches the training side."""

from __future__ import annotations

import numpy as np
import pytest

from crossgraph.data.split import time_split, validation_folds, validation_split
from crossgraph.errors import InvalidInput
from tests.unit.lines_factory import block_lines, lines_of

CUTOFF = "2024-03-01"
LINES = lines_of(
    [
        ("O1", "A1", "P1", "2024-01-05"),
        ("O2", "A1", "P2", "2024-02-10"),
        ("O3", "A2", "P1", "2024-02-20"),
        ("O4", "A1", "P1", "2024-03-01T00:00:00"),  # repeat at the cutoff instant: excluded
        ("O4", "A1", "P3", "2024-03-01T00:00:00"),  # at the cutoff instant: test side
        ("O5", "A2", "P2", "2024-04-01"),  # new for A2: test
        ("O5", "A2", "P9", "2024-04-01"),  # P9 never sold before: not testable
        ("O6", "A3", "P1", "2024-04-02"),  # A3 unseen before: not testable
        ("O7", "A9", "P3", "2024-02-25"),  # makes P3 known before the cutoff
    ]
)


def pairs(interactions) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    rows, cols = interactions.binary.nonzero()
    return {
        (interactions.accounts.id(r), interactions.products.id(c)) for r, c in zip(rows, cols, strict=True)
    }


def test_train_holds_only_lines_strictly_before_the_cutoff() -> None:
    split = time_split(LINES, CUTOFF)
    assert split.train_lines.ordered_at.max() < np.datetime64(CUTOFF)
    assert split.train.last_at.max() < np.datetime64(CUTOFF)
    assert pairs(split.train) == {("A1", "P1"), ("A1", "P2"), ("A2", "P1"), ("A9", "P3")}
    assert list(split.accounts.ids) == ["A1", "A2", "A9"]  # A3 only buys after the cutoff


def test_test_pairs_are_new_pairs_of_known_accounts_and_products() -> None:
    split = time_split(LINES, CUTOFF)
    assert pairs(split.test) == {("A1", "P3"), ("A2", "P2")}
    assert split.repeat_pairs == 1  # A1 x P1 bought again
    assert split.unseen_product_pairs == 1  # A2 x P9
    assert split.unseen_account_lines == 1  # A3
    assert split.test.shape == split.train.shape  # same id maps, so rows and columns line up
    assert split.test_accounts().tolist() == [0, 1]


def test_end_bounds_the_test_window() -> None:
    split = time_split(LINES, CUTOFF, end="2024-03-15")
    assert pairs(split.test) == {("A1", "P3")}


def test_no_history_before_the_cutoff_is_refused() -> None:
    with pytest.raises(InvalidInput, match="no order lines before"):
        time_split(LINES, "2023-01-01")


def test_validation_split_never_reads_a_line_on_or_after_the_cutoff() -> None:
    lines = block_lines(seed=1)
    cutoff = np.datetime64("2023-06-01")
    val = validation_split(lines, cutoff, window_days=40)
    assert val.end == cutoff
    assert val.cutoff == cutoff - np.timedelta64(40, "D")
    assert val.train_lines.ordered_at.max() < val.cutoff
    assert val.test.last_at.max() < cutoff  # the validation "future" ends at the real cutoff
    assert val.test.nnz > 0
    # Same answer whatever happens after the cutoff.
    val_before_only = validation_split(lines.before(cutoff), cutoff, window_days=40)
    assert pairs(val.test) == pairs(val_before_only.test)


def test_validation_folds_roll_back_from_the_cutoff() -> None:
    lines = block_lines(seed=2)
    folds = validation_folds(lines, "2023-09-01", window_days=60, n_folds=3, stride_days=30)
    ends = [str(f.end)[:10] for f in folds]
    assert ends == ["2023-09-01", "2023-08-02", "2023-07-03"]
    assert all(f.test.last_at.max() < f.end for f in folds if f.end is not None)
