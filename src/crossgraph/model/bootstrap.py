"""Paired bootstrap intervals of a difference in mean per-account scores.

Two models ranked the same test accounts; a[i] and b[i] are their scores (NDCG@10) on
account i. The difference of the means, d = mean(a - b), is resampled by drawing the
accounts with replacement `resamples` times (the same draw for both models: paired), and
the interval is the (1 - level) / 2 and (1 + level) / 2 percentiles of the resampled
differences (the percentile bootstrap, Efron & Tibshirani 1993, ch. 13). The generator is
numpy's PCG64 seeded with `seed`, so a report is reproducible.

When the interval covers zero the two models are "not distinguishable" on this test set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

RESAMPLES = 2000
SEED = 0
LEVEL = 0.95
_CHUNK_CELLS = 4_000_000  # draws held in memory at once (32 MB of int64)


@dataclass(frozen=True)
class Interval:
    difference: float  # mean(a - b) on the test accounts as they are
    low: float
    high: float
    accounts: int
    resamples: int = RESAMPLES
    seed: int = SEED
    level: float = LEVEL

    @property
    def distinguishable(self) -> bool:
        """Whether the interval excludes zero."""
        return self.low > 0 or self.high < 0

    def text(self) -> str:
        """'+0.0070 [+0.0012, +0.0131]' and, when it covers zero, ', not distinguishable'."""
        verdict = "" if self.distinguishable else ", not distinguishable"
        return f"{self.difference:+.4f} [{self.low:+.4f}, {self.high:+.4f}]{verdict}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "difference": round(self.difference, 6),
            "low": round(self.low, 6),
            "high": round(self.high, 6),
            "level": self.level,
            "resamples": self.resamples,
            "seed": self.seed,
            "accounts": self.accounts,
            "distinguishable": self.distinguishable,
        }


def paired_bootstrap(
    a: npt.NDArray[np.floating],
    b: npt.NDArray[np.floating],
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = LEVEL,
) -> Interval:
    """The percentile interval of mean(a - b) over accounts resampled with replacement."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a and b must be 1-D and of one length (paired), got {a.shape} and {b.shape}")
    if len(a) == 0:
        raise ValueError("no paired scores to resample (no test account)")
    if resamples < 1 or not 0 < level < 1:
        raise ValueError(f"resamples must be >= 1 and level in (0, 1), got {resamples} and {level}")
    d = a - b
    n = len(d)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    step = max(1, _CHUNK_CELLS // n)
    for start in range(0, resamples, step):
        count = min(step, resamples - start)
        means[start : start + count] = d[rng.integers(0, n, size=(count, n))].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(d.mean()), float(low), float(high), n, resamples, seed, level)
