"""Bought next: products accounts buy for the first time within a window after another one.

A transition model learned from the time order of each account's purchases. With f_ui the
first purchase time of product i by account u and W the window,

    C_ij = #{u : f_ui < f_uj <= f_ui + W}          (j first bought within W days after i)
    T_ij = C_ij / (n_i + shrinkage) / n_j^beta      (n_i: accounts owning i)

C_ij / n_i estimates "an account that bought i buys j next"; the shrinkage keeps rare
products from making confident transitions, and beta > 0 lowers the pull towards best
sellers (as RP3beta's beta). Products first bought in the same instant (one order) are not a
transition: co-purchase is what item-kNN and EASE model. Each row of T keeps its
`neighbours` largest entries. An account is scored from its recent purchases,

    r_ui = 2^(-(t_end - l_ui) / half_life)          (l_ui: last purchase of i by u; 1 without a half-life)
    score(u, j) = sum_{i owned by u} r_ui T_ij

with t_end the newest purchase fitted on, so what the account bought lately decides what
comes next. The score is linear in the owned products: its terms r_ui T_ij are exact drivers
(`contributions`). C is accumulated sparse, in chunks of transitions, never as a dense block.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from crossgraph.data.matrix import Interactions
from crossgraph.errors import InvalidInput
from crossgraph.model.base import IntArray, Recommender, ScoreArray

DAY_SECONDS = 86_400
CHUNK = 4_000_000  # transitions turned into one sparse block at a time (bounds memory)


@dataclass(frozen=True)
class SequentialParams:
    window_days: float = 90.0
    beta: float = 0.0
    half_life_days: float | None = 30.0  # None: every owned product weighs 1 (no recency decay)
    shrinkage: float = 10.0
    neighbours: int = 100

    def __post_init__(self) -> None:
        if self.window_days <= 0:
            raise InvalidInput(f"bought-next window_days must be > 0, got {self.window_days}")
        if self.beta < 0:
            raise InvalidInput(f"bought-next beta must be >= 0, got {self.beta}")
        if self.half_life_days is not None and self.half_life_days <= 0:
            raise InvalidInput(f"bought-next half_life_days must be > 0, got {self.half_life_days}")
        if self.shrinkage < 0:
            raise InvalidInput(f"bought-next shrinkage must be >= 0, got {self.shrinkage}")
        if self.neighbours < 1:
            raise InvalidInput(f"bought-next neighbours must be >= 1, got {self.neighbours}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SequentialParams:
        return cls(**data)


def transition_counts(interactions: Interactions, window_days: float) -> sp.csr_matrix:
    """C [products x products]: how many accounts first bought j within `window_days` after
    first buying i (strictly after; the same instant is no transition)."""
    m = interactions.shape[1]
    if interactions.nnz == 0:
        return sp.csr_matrix((m, m), dtype=np.float32)
    first = interactions.first_at.astype("datetime64[s]").astype(np.int64)
    first = first - first.min()
    window = round(window_days * DAY_SECONDS)
    # One sortable key per pair: account, then first purchase time. The span leaves room for
    # the window, so a search from one account's pair never reaches the next account's.
    span = int(first.max()) + window + 1
    key = interactions.rows.astype(np.int64) * span + first
    order = np.argsort(key, kind="stable")
    key, items = key[order], interactions.indices[order]
    starts = np.searchsorted(key, key, side="right")  # first pair strictly later than this one
    stops = np.searchsorted(key, key + window, side="right")
    lengths = stops - starts
    counts = sp.csr_matrix((m, m), dtype=np.float32)
    ends = np.cumsum(lengths)
    begin = 0
    while begin < len(key):
        # the next run of pairs with at most CHUNK transitions (at least one pair)
        end = max(begin + 1, int(np.searchsorted(ends, (ends[begin - 1] if begin else 0) + CHUNK, "right")))
        n = lengths[begin:end]
        source = np.repeat(items[begin:end], n)
        offset = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        target = items[np.repeat(starts[begin:end], n) + offset]
        block = sp.csr_matrix(
            (np.ones(len(source), dtype=np.float32), (source, target)), shape=(m, m)
        )  # duplicates summed: one per account
        counts = counts + block
        begin = end
    return counts.tocsr()


def top_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """The k largest entries of each row of a sparse matrix (ties: lower column first)."""
    matrix = matrix.tocsr()
    matrix.eliminate_zeros()
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((matrix.indices, -matrix.data, rows))
    rank = np.arange(len(order)) - matrix.indptr[rows[order]]
    keep = order[rank < k]
    return sp.csr_matrix(
        (matrix.data[keep], (rows[keep], matrix.indices[keep])), shape=matrix.shape, dtype=np.float32
    )


class SequentialRecommender(Recommender):
    name = "sequential"

    def __init__(self, params: SequentialParams | None = None) -> None:
        super().__init__()
        self.params = params or SequentialParams()
        self.transitions: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self.recency: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)

    def _fit(self, interactions: Interactions) -> None:
        p = self.params
        counts = transition_counts(interactions, p.window_days)
        owners = interactions.product_counts().astype(np.float64)
        source = 1.0 / np.maximum(owners + p.shrinkage, 1e-12)
        target = 1.0 / np.power(np.maximum(owners, 1.0), p.beta)
        weights = sp.diags(source) @ counts @ sp.diags(target)
        self.transitions = top_per_row(sp.csr_matrix(weights, dtype=np.float32), p.neighbours)
        last = interactions.last_at.astype("datetime64[s]").astype(np.int64)
        age_days = (last.max() - last) / DAY_SECONDS if len(last) else last.astype(np.float64)
        decay = np.ones_like(age_days) if p.half_life_days is None else np.exp2(-age_days / p.half_life_days)
        self.recency = interactions.with_values(decay)

    def score(self, account_indices: IntArray) -> ScoreArray:
        return np.asarray((self.recency[account_indices] @ self.transitions).toarray(), dtype=np.float32)

    def linear_parts(self) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """(R, T) with score = R T: the recency-weighted owned rows and the transitions."""
        return self.recency, self.transitions

    def contributions(self, account_idx: int, item_idx: int) -> tuple[IntArray, npt.NDArray[np.float32]]:
        """Owned items i of the account and r_ui T_i,item: the exact terms of its score."""
        row = self.recency[account_idx]
        owned = row.indices.astype(np.intp)
        weights = np.asarray(self.transitions[owned, item_idx].toarray()).ravel()
        return owned, (row.data * weights).astype(np.float32)
