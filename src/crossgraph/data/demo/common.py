"""Array types, the calendar of the demo data and vectorised sampling helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
Int8Array = npt.NDArray[np.int8]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

YEAR = 365
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
HISTORY_DAYS = int(4.5 * YEAR)  # purchases span 4.5 years before as_of
INSTALL_YEARS = 15  # the installed base goes back this far


@dataclass(frozen=True)
class Calendar:
    """Days are counted since 1970-01-01 (what numpy's datetime64[D] uses)."""

    as_of: date

    @property
    def today(self) -> int:
        return self.as_of.toordinal() - EPOCH_ORDINAL

    @property
    def history_start(self) -> int:
        return self.today - HISTORY_DAYS

    def weekday_shift(self, days: IntArray) -> IntArray:
        """Move Saturdays to Friday and Sundays to Monday (or Friday if Monday is not yet past)."""
        weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        shifted = np.where(weekday == 5, days - 1, np.where(weekday == 6, days + 1, days))
        return np.where(shifted >= self.today, shifted - 3, shifted).astype(np.int64)


def day_strings(days: IntArray) -> list[str]:
    return list(np.datetime_as_string(days.astype("datetime64[D]"), unit="D"))


def group_sample(rng: np.random.Generator, groups: IntArray, cum: FloatArray, ptr: IntArray) -> IntArray:
    """One weighted draw per entry of `groups` from that group's slice of items.

    Group g owns positions ptr[g]:ptr[g+1] (never empty), whose cumulative weights `cum`
    are normalised to end at 1 inside each group. Adding the group number to both sides
    turns all groups into one sorted array, so a single searchsorted answers every draw.
    """
    offsets = np.repeat(np.arange(len(ptr) - 1, dtype=np.float64), np.diff(ptr))
    shifted = cum + offsets
    u = rng.random(len(groups))
    found = np.searchsorted(shifted, groups + u, side="right")
    return np.minimum(found, ptr[groups + 1] - 1).astype(np.int64)


def cumulative_by_group(weights: FloatArray, ptr: IntArray) -> FloatArray:
    """Per-group cumulative weights normalised to end at exactly 1."""
    cum = np.empty_like(weights)
    for g in range(len(ptr) - 1):
        lo, hi = int(ptr[g]), int(ptr[g + 1])
        part = np.cumsum(weights[lo:hi])
        part /= part[-1]
        part[-1] = 1.0
        cum[lo:hi] = part
    return cum


def segment_starts(counts: IntArray) -> IntArray:
    """ptr array (length n+1) of consecutive segments with the given sizes."""
    ptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return ptr


def rank_in_segment(counts: IntArray) -> IntArray:
    """0, 1, ... within each consecutive segment of np.repeat(..., counts)."""
    total = int(counts.sum())
    starts = np.repeat(segment_starts(counts)[:-1], counts)
    return (np.arange(total, dtype=np.int64) - starts).astype(np.int64)


def lognormal(rng: np.random.Generator, sigma: float, size: int) -> FloatArray:
    """Mean-one multiplicative noise."""
    return np.exp(rng.normal(-0.5 * sigma * sigma, sigma, size)).astype(np.float64)
