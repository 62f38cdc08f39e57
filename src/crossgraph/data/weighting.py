"""Confidence weighting: how strongly a past purchase says "this account wants this product".

For a pair with aggregate value v (distinct orders by default; or lines, quantity, revenue):

    binary   w = 1
    linear   w = 1 + alpha * v                      (Hu, Koren, Volinsky 2008)
    log      w = 1 + alpha * log1p(v)               (damps heavy repeat buyers and big tickets)
    bm25     w = v * (k1 + 1) / (k1 * L_p + v) * idf_a
             with products as the BM25 "documents" and accounts as the "terms", exactly as
             implicit's `bm25_weight` is applied to an items x users matrix:
             idf_a = log(n_products) - log1p(products bought by account a),
             L_p   = (1 - b) + b * (sum of v over product p) / (mean of that sum over products)

and, when `half_life_days` is set, every weight is multiplied by a recency decay

    w *= 0.5 ** (age_days / half_life_days),  age_days = (reference - last purchase of the pair)

with `reference` the latest purchase in the interactions unless given (never in the future
of the training data, so an evaluation fit never looks past its cutoff). With
`seasonal_period_days` = P (e.g. 365.25) the age is measured on that cycle instead,

    age_days = min(a mod P, P - a mod P),  a = reference - last purchase,

so a purchase made a year before the reference counts as recent: for a seasonal business
the same season last year says more than last month. A validation split shorter than
P / 2 cannot tell the two apart, so this is a prior to switch on knowingly, not to tune.

ALS reads these weights as confidences c_ui (and implicit scales them by its own `alpha`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal, cast, get_args

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from crossgraph.data.matrix import Interactions
from crossgraph.errors import InvalidInput

Scheme = Literal["binary", "linear", "log", "bm25"]
Value = Literal["orders", "lines", "quantity", "revenue"]
SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class WeightingConfig:
    scheme: Scheme = "log"
    value: Value = "orders"
    alpha: float = 1.0
    bm25_k1: float = 100.0
    bm25_b: float = 0.8
    half_life_days: float | None = None
    seasonal_period_days: float | None = None

    def __post_init__(self) -> None:
        if self.scheme not in get_args(Scheme):
            raise InvalidInput(f"weighting scheme {self.scheme!r} is not one of {get_args(Scheme)}")
        if self.value not in get_args(Value):
            raise InvalidInput(f"weighting value {self.value!r} is not one of {get_args(Value)}")
        if self.alpha < 0:
            raise InvalidInput(f"weighting alpha must be >= 0, got {self.alpha}")
        if self.bm25_k1 <= 0 or not 0 <= self.bm25_b <= 1:
            raise InvalidInput(f"bm25 needs k1 > 0 and 0 <= b <= 1, got k1={self.bm25_k1}, b={self.bm25_b}")
        if self.half_life_days is not None and self.half_life_days <= 0:
            raise InvalidInput(f"half_life_days must be > 0 or None, got {self.half_life_days}")
        if self.seasonal_period_days is not None and self.seasonal_period_days <= 0:
            raise InvalidInput(f"seasonal_period_days must be > 0 or None, got {self.seasonal_period_days}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WeightingConfig:
        return cls(**data)


def pair_values(interactions: Interactions, value: Value) -> npt.NDArray[np.float64]:
    """The raw aggregate per stored pair; negative revenue (refund artefacts) counts as 0."""
    raw: npt.NDArray[np.float32] = getattr(interactions, value)
    return np.maximum(raw.astype(np.float64), 0.0)


def recency_decay(
    last_at: npt.NDArray[np.datetime64],
    reference: datetime | np.datetime64,
    half_life_days: float,
    seasonal_period_days: float | None = None,
) -> npt.NDArray[np.float64]:
    """0.5 ** (age_days / half_life_days); purchases after `reference` count as age 0."""
    ref = cast(np.datetime64, np.asarray(reference, dtype="datetime64[s]")[()])
    age_days = (ref - last_at.astype("datetime64[s]")).astype(np.float64) / SECONDS_PER_DAY
    age_days = np.maximum(age_days, 0.0)
    if seasonal_period_days is not None:
        phase = np.mod(age_days, seasonal_period_days)
        age_days = np.minimum(phase, seasonal_period_days - phase)
    return np.asarray(0.5 ** (age_days / half_life_days), dtype=np.float64)


def bm25(matrix: sp.csr_matrix, k1: float = 100.0, b: float = 0.8) -> sp.csr_matrix:
    """BM25 with rows as documents and columns as terms (implicit's `bm25_weight`)."""
    coo = sp.coo_matrix(matrix, dtype=np.float64)
    n_docs = float(coo.shape[0])
    idf = np.log(n_docs) - np.log1p(np.bincount(coo.col, minlength=coo.shape[1]))
    row_sums = np.asarray(coo.sum(axis=1)).ravel()
    mean_len = row_sums.mean() if len(row_sums) else 1.0
    length_norm = (1.0 - b) + b * row_sums / (mean_len if mean_len > 0 else 1.0)
    data = coo.data * (k1 + 1.0) / (k1 * length_norm[coo.row] + coo.data) * idf[coo.col]
    return sp.csr_matrix((data, (coo.row, coo.col)), shape=coo.shape)


def weights(
    interactions: Interactions,
    config: WeightingConfig,
    reference: datetime | np.datetime64 | None = None,
) -> npt.NDArray[np.float32]:
    """One weight per stored pair, aligned with `interactions.indices`."""
    v = pair_values(interactions, config.value)
    if config.scheme == "bm25":
        w = _bm25_aligned(interactions, v, config.bm25_k1, config.bm25_b)
    else:
        w = value_weights(v, config)
    if config.half_life_days is not None and interactions.nnz:
        ref = reference if reference is not None else interactions.last_at.max()
        w = w * recency_decay(interactions.last_at, ref, config.half_life_days, config.seasonal_period_days)
    return w.astype(np.float32)


def value_weights(v: npt.NDArray[np.float64], config: WeightingConfig) -> npt.NDArray[np.float64]:
    """The binary, linear or log weight of raw values v >= 0 (bm25 needs the whole matrix)."""
    if config.scheme == "binary":
        return np.ones_like(v)
    if config.scheme == "linear":
        return 1.0 + config.alpha * v
    if config.scheme == "log":
        return np.asarray(1.0 + config.alpha * np.log1p(v), dtype=np.float64)
    raise InvalidInput(f"value_weights covers binary, linear and log, not {config.scheme!r}")


def weighted_matrix(
    interactions: Interactions,
    config: WeightingConfig,
    reference: datetime | np.datetime64 | None = None,
) -> sp.csr_matrix:
    """Accounts x products float32 CSR of confidences."""
    return interactions.with_values(weights(interactions, config, reference))


def _bm25_aligned(
    interactions: Interactions, v: npt.NDArray[np.float64], k1: float, b: float
) -> npt.NDArray[np.float64]:
    # Products x accounts, weighted, then back to the accounts x products entry order.
    # Every stored pair has v >= 0; zeros are kept so the structure stays aligned.
    rows = interactions.rows
    cols = interactions.indices
    n_products, n_accounts = interactions.shape[1], interactions.shape[0]
    idf = np.log(float(n_products)) - np.log1p(np.bincount(rows, minlength=n_accounts))
    product_len = np.bincount(cols, weights=v, minlength=n_products)
    mean_len = product_len.mean() if n_products else 1.0
    length_norm = (1.0 - b) + b * product_len / (mean_len if mean_len > 0 else 1.0)
    return np.asarray(v * (k1 + 1.0) / (k1 * length_norm[cols] + v) * idf[rows], dtype=np.float64)
