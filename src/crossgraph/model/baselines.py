"""Simple, strong alternatives every served model is compared with on the same split.

- `PopularityRecommender`: score_i = number of accounts that bought i.
- `SegmentPopularityRecommender`: share of the account's segment (industry, country...)
  that bought i; accounts in segments smaller than `min_segment_size` (or without one)
  get global popularity. Global share breaks ties inside a segment.
- `ItemKNNRecommender`: item-item similarity of BM25-weighted item vectors (products as
  BM25 documents over accounts, as implicit's BM25Recommender): dot products by default,
  cosine if asked; top `neighbours` per item; score_ui = sum_j x_uj sim(j, i) with x_uj
  the account's order count (or 1) for product j. Up to `dense_max_products` products the
  similarity is one dense products x products matrix (8 bytes x products^2: 10k = 0.8 GB);
  above it, blocks of rows as sparse products, each cut to its top `neighbours` at once, so
  only products x neighbours entries are ever held (`top_neighbours_sparse`, same result).
- `EASERecommender`: Steck 2019, "Embarrassingly Shallow Autoencoders", closed form
  P = (X^T X + lambda I)^-1,  B_ij = -P_ij / P_jj,  B_jj = 0,  score_u = x_u B
  with x_u the binary owned row (X in the Gram matrix may be time-weighted, see EASEParams).
  With `dropout` p > 0 it is EDLAE (Steck 2020, the emphasized denoising linear autoencoder):
  the same closed form with lambda I replaced by diag(lambda + p / (1 - p) (X^T X)_ii): a
  product many accounts bought gets a heavier penalty on its weights as an input (row i of B),
  so owning a best seller says less about what comes next; p = 0 is EASE.
  With `user_exponent` beta and `popularity_exponent` gamma it is EASE with DAN's normalisation
  (Park et al., SIGIR 2025, "Why is Normalization Necessary for Linear Recommenders?"): account
  u's row weighs |u|^-beta in the Gram matrix (|u| its distinct products: a large buyer says less
  per product), and W_ij = B_ij (c_i / c_j)^gamma with c the product's buyers (a best seller as the
  next product is damped, as an owned input it is lifted to match); lambda is scaled with the
  Gram matrix's mean diagonal, so it means the same at every beta. 0, 0 is EASE.
  B is dense items x items: 3,400 products take 46 MB (float32) plus the float64 Gram matrix,
  inverted in place (~90 MB), while fitting; 20k products take ~8 GB. Above
  CROSSGRAPH_DENSE_MAX_PRODUCTS (model.dense) it is capped: X and B are those of the best-selling
  max_products products (`columns`), exactly the EASE of that submatrix, and every other product
  gets no score (-inf: never ranked; `covered`) and no term; callers leave it out instead when
  CROSSGRAPH_DENSE_EASE is "leave-out". A tuner trying several lambdas on the same data passes a
  `GramCache`: X^T X is built once, only the inverse changes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.linalg
import scipy.sparse as sp
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from crossgraph.data.matrix import Interactions
from crossgraph.data.weighting import WeightingConfig, bm25, pair_values, weighted_matrix
from crossgraph.errors import InvalidInput
from crossgraph.model.base import IntArray, Recommender, ScoreArray
from crossgraph.model.dense import DenseLimit, top_products

# Item-kNN builds its similarity as one dense products x products matrix up to this many products
# (8 bytes x products^2 plus as much for the top-k selection: 10k products = 1.6 GB), in sparse
# row blocks above it (settings: CROSSGRAPH_KNN_DENSE_MAX_PRODUCTS).
KNN_DENSE_MAX_PRODUCTS = 10_000

# EASE's inverse runs on every core up to this many products and on one thread above: scipy
# 1.17.1's OpenBLAS (0.3.31) segfaults inverting a 16,500 x 16,500 or 20,000 x 20,000 matrix on
# 2 threads (scipy.linalg.inv and LAPACK potrf alike, within 30 s; measured 2026-12-02 on the
# 2-core trainer), while 14,847 products on 2 threads and 16,500 on one thread complete
# (docs/scale.md, "EASE capped at the threshold").
THREADED_INVERSE_MAX = 15_000


class PopularityRecommender(Recommender):
    """score_i = accounts that bought i; with `window_days`, only accounts whose last purchase
    of i falls in the last `window_days` before the newest purchase fitted on (all-time counts
    break ties)."""

    name = "popularity"

    def __init__(self, window_days: float | None = None) -> None:
        super().__init__()
        if window_days is not None and window_days <= 0:
            raise InvalidInput(f"popularity window_days must be > 0, got {window_days}")
        self.window_days = window_days
        self.popularity: npt.NDArray[np.float32] = np.zeros(0, dtype=np.float32)

    def _fit(self, interactions: Interactions) -> None:
        counts = interactions.product_counts().astype(np.float64)
        if self.window_days is not None and interactions.nnz:
            last = interactions.last_at.astype("datetime64[s]")
            since = last.max() - np.timedelta64(round(self.window_days * 86_400), "s")
            recent = np.bincount(interactions.indices[last >= since], minlength=interactions.shape[1])
            counts = recent + counts / (counts.max() + 1.0)
        self.popularity = counts.astype(np.float32)

    def score(self, account_indices: IntArray) -> ScoreArray:
        return np.tile(self.popularity, (len(account_indices), 1))


class SegmentPopularityRecommender(Recommender):
    name = "segment_popularity"

    def __init__(self, segments: Mapping[str, str | None], min_segment_size: int = 20) -> None:
        super().__init__()
        self.segments = segments
        self.min_segment_size = min_segment_size
        self.account_segment: IntArray = np.zeros(0, dtype=np.intp)  # -1 = global fallback
        self.table: npt.NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)
        self.labels: list[str] = []

    def _fit(self, interactions: Interactions) -> None:
        owned = self.owned
        n_accounts, n_items = owned.shape
        raw = [self.segments.get(str(a)) for a in interactions.accounts.ids]
        self.labels = sorted({s for s in raw if s})
        code = {s: i for i, s in enumerate(self.labels)}
        seg = np.array([code[s] if s else -1 for s in raw], dtype=np.intp)
        sizes = np.bincount(seg[seg >= 0], minlength=len(self.labels))
        small = np.flatnonzero(sizes < self.min_segment_size)
        seg[np.isin(seg, small)] = -1
        self.account_segment = seg
        global_share = np.asarray(owned.sum(axis=0)).ravel() / max(n_accounts, 1)
        table = np.zeros((len(self.labels) + 1, n_items), dtype=np.float64)
        table[-1] = global_share  # row -1 = the global fallback
        for s in np.unique(seg[seg >= 0]):
            members = np.flatnonzero(seg == s)
            table[s] = np.asarray(owned[members].sum(axis=0)).ravel() / len(members) + 1e-3 * global_share
        self.table = table.astype(np.float32)

    def score(self, account_indices: IntArray) -> ScoreArray:
        return self.table[self.account_segment[account_indices]]


@dataclass(frozen=True)
class ItemKNNParams:
    # Defaults: implicit's BM25Recommender (K1=1.2, B=0.75, dot products, binary x_u) with
    # K=50, the best of a small grid on the Online Retail validation split (not the test).
    neighbours: int = 50
    k1: float = 1.2
    b: float = 0.75
    cosine: bool = False
    account_value: Literal["binary", "orders"] = "binary"  # x_u in score_u = x_u S
    # With cosine: sim(i, j) = v_i . v_j / (|v_i| |v_j| + shrinkage) - pairs with few common
    # accounts (small dot products) shrink towards 0 (Koren 2008; the tuner's grid).
    shrinkage: float = 0.0

    def __post_init__(self) -> None:
        if self.neighbours < 1:
            raise InvalidInput(f"item-kNN neighbours must be >= 1, got {self.neighbours}")
        if self.shrinkage < 0:
            raise InvalidInput(f"item-kNN shrinkage must be >= 0, got {self.shrinkage}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ItemKNNParams:
        return cls(**data)


class ItemKNNRecommender(Recommender):
    name = "item_knn_bm25"

    def __init__(
        self,
        params: ItemKNNParams | None = None,
        *,
        dense_max_products: int = KNN_DENSE_MAX_PRODUCTS,
        dense: DenseLimit | None = None,
    ) -> None:
        """`dense`: the memory check before the dense similarity (its share of free memory)."""
        super().__init__()
        if dense_max_products < 0:
            raise InvalidInput(f"item-kNN dense_max_products must be >= 0, got {dense_max_products}")
        self.params = params or ItemKNNParams()
        self.dense_max_products = dense_max_products
        self.dense = dense or DenseLimit()
        self.similarity: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self.account_rows: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self.method = ""  # how the similarity was computed: dense, sparse blocks (or spark)

    def _fit(self, interactions: Interactions) -> None:
        counts = interactions.with_values(pair_values(interactions, "orders"))
        self.similarity = self._similarity(counts)
        self.account_rows = counts if self.params.account_value == "orders" else self.owned

    def _similarity(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """The top `neighbours` similarities per product of the account x product order counts."""
        p = self.params
        weighted = bm25(counts.T.tocsr(), p.k1, p.b)  # products x accounts
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel()) if p.cosine else None
        if weighted.shape[0] > self.dense_max_products:
            self.method = "sparse blocks"
            return top_neighbours_sparse(weighted, p.neighbours, norms, p.shrinkage)
        self.method = "dense"
        # the dots, -dots and the argpartition's indices in _top_neighbours: 3 copies at its peak
        self.dense.check(weighted.shape[0], 3, "item-kNN (below CROSSGRAPH_KNN_DENSE_MAX_PRODUCTS)")
        dots = (weighted @ weighted.T).toarray()
        if norms is not None:
            dots /= np.outer(norms, norms) + max(p.shrinkage, 1e-12)
        return _top_neighbours(dots, p.neighbours)

    def score(self, account_indices: IntArray) -> ScoreArray:
        return np.asarray((self.account_rows[account_indices] @ self.similarity).toarray(), dtype=np.float32)

    def linear_parts(self) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """(X, S) with score = X S: account rows x_u and the item-item similarity."""
        return self.account_rows, self.similarity

    def contributions(self, account_idx: int, item_idx: int) -> tuple[IntArray, npt.NDArray[np.float32]]:
        """Owned items j of the account and x_uj * sim(j, item): the exact terms of its score."""
        row = self.account_rows[account_idx]
        sims = np.asarray(self.similarity[row.indices, item_idx].toarray()).ravel()
        return row.indices.astype(np.intp), (row.data * sims).astype(np.float32)


def _top_neighbours(sim: npt.NDArray[np.float64], k: int) -> sp.csr_matrix:
    """Keep the k largest off-diagonal entries per row of a dense similarity matrix."""
    n = sim.shape[0]
    np.fill_diagonal(sim, 0.0)
    cols = np.argpartition(-sim, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (n, 1))
    vals = np.take_along_axis(sim, cols, axis=1)
    rows = np.repeat(np.arange(n), cols.shape[1])
    out = sp.csr_matrix((vals.ravel(), (rows, cols.ravel())), shape=(n, n), dtype=np.float32)
    out.eliminate_zeros()
    return out


def top_neighbours_sparse(
    weighted: sp.csr_matrix,
    k: int,
    norms: npt.NDArray[np.float64] | None = None,
    shrinkage: float = 0.0,
    block_entries: int = 4_000_000,
    *,
    other: sp.csr_matrix | None = None,
    column_divisor: npt.NDArray[np.float64] | None = None,
) -> sp.csr_matrix:
    """`_top_neighbours` of weighted @ weighted.T (cosine when `norms` are given) without a dense
    products x products matrix: rows in blocks of about `block_entries` / products, each block's
    sparse product cut to its top k at once (`top_k_rows`). Each entry is the dense path's own
    float64 sum (a row of a sparse product depends on that row only), so the result is the dense
    one's, except which of equal values at the k-th place is kept (here: the lower column).
    `other` (accounts x products) replaces weighted.T, and `column_divisor` divides column j of
    the product (RP3beta's walk and popularity penalty)."""
    n = weighted.shape[0]
    if other is None:
        other = weighted.T.tocsr()  # accounts x products, as scipy turns weighted.T into for the product
    rows_per_block = max(1, block_entries // max(n, 1))
    kept: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]] = []
    for start in range(0, n, rows_per_block):
        block = (weighted[start : start + rows_per_block] @ other).tocoo()
        rows, cols, values = block.row.astype(np.int64) + start, block.col.astype(np.int64), block.data
        del block
        if norms is not None:
            values = values / (norms[rows] * norms[cols] + max(shrinkage, 1e-12))
        if column_divisor is not None:
            values = values / column_divisor[cols]
        keep = top_k_rows(rows, cols, values, n, k)
        kept.append((rows[keep], cols[keep], values[keep]))
    rows, cols, values = (
        np.concatenate([part[i] for part in kept]) if kept else np.zeros(0) for i in range(3)
    )
    out = sp.csr_matrix((values, (rows, cols)), shape=(n, n), dtype=np.float32)
    out.eliminate_zeros()
    return out


def top_k_rows(
    rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64], values: npt.NDArray[np.float64], n: int, k: int
) -> npt.NDArray[np.bool_]:
    """Which stored entries of an n x n matrix `_top_neighbours` would keep: per row the k largest
    of its n values, the diagonal and every entry not stored counting as 0. So a row keeps its
    positive values up to k, then zeros (dropped), and negative values only where fewer than k
    positives and zeros remain; ties go to the lower column."""
    stored = (values != 0) & (rows != cols)
    order = np.lexsort((cols, -values, rows))
    order = order[stored[order]]
    r, v = rows[order], values[order]
    first = np.searchsorted(r, r)  # entries are grouped by row now: rank = position - row start
    rank = np.arange(len(order)) - first
    positives = np.bincount(r[v > 0], minlength=n)
    negatives = np.bincount(r[v < 0], minlength=n)
    zeros = n - positives - negatives  # the diagonal and every unstored column
    negative_slots = np.maximum(k - positives - zeros, 0)
    kept = np.where(v > 0, rank < k, rank - positives[r] < negative_slots[r])
    keep = np.zeros(len(values), dtype=bool)
    keep[order[kept]] = True
    return keep


@dataclass(frozen=True)
class EASEParams:
    regularization: float = 250.0
    # Weights of X in the Gram matrix X^T X only (scoring always uses the binary owned
    # row). The default, binary without decay, is Steck's EASE; a half-life makes the
    # item-item weights follow recent buying patterns.
    weighting: WeightingConfig = field(default_factory=lambda: WeightingConfig(scheme="binary"))
    # EDLAE (Steck 2020, "Autoencoders that don't overfit towards the identity"): the emphasized
    # denoising linear autoencoder with dropout rate p. With B's zero diagonal its closed form is
    # EASE with a per-product penalty lambda_i = lambda + p / (1 - p) G_ii (G = X^T X): the weights
    # from a product many accounts bought (row i of B) are shrunk more. 0 is exactly EASE.
    dropout: float = 0.0
    # DAN (Park et al. 2025): beta, the account normalisation of the Gram matrix, and gamma, the
    # product normalisation of the weights (see the module's docstring). 0, 0 is EASE.
    user_exponent: float = 0.0
    popularity_exponent: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.dropout < 1:
            raise InvalidInput(f"EASE dropout must be within [0, 1), got {self.dropout}")
        for name in ("user_exponent", "popularity_exponent"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise InvalidInput(f"EASE {name} must be within [0, 1], got {value}")

    @property
    def variant(self) -> str:
        """What sets it apart from plain EASE, for a person: 'EDLAE, dropout 0.25',
        'DAN, accounts beta 0.25, products gamma 0.1', '' for EASE."""
        parts = [f"EDLAE, dropout {self.dropout:g}"] if self.dropout else []
        if self.user_exponent or self.popularity_exponent:
            parts.append(
                f"DAN, accounts beta {self.user_exponent:g}, products gamma {self.popularity_exponent:g}"
            )
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "regularization": self.regularization,
            "weighting": self.weighting.to_dict(),
            "dropout": self.dropout,
            "user_exponent": self.user_exponent,
            "popularity_exponent": self.popularity_exponent,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EASEParams:
        return cls(
            regularization=float(data["regularization"]),
            weighting=WeightingConfig.from_dict(data.get("weighting", {"scheme": "binary"})),
            dropout=float(data.get("dropout", 0.0)),  # absent (older manifests): EASE
            user_exponent=float(data.get("user_exponent", 0.0)),
            popularity_exponent=float(data.get("popularity_exponent", 0.0)),
        )

    def penalty(self, gram_diagonal: npt.NDArray[np.float64]) -> npt.NDArray[np.float64] | float:
        """What is added to the Gram matrix's diagonal: lambda (EASE), or lambda + p / (1 - p) G_ii
        per product (EDLAE)."""
        if not self.dropout:
            return self.regularization
        return self.regularization + self.dropout / (1.0 - self.dropout) * gram_diagonal


def gram_matrix(
    interactions: Interactions,
    weighting: WeightingConfig,
    columns: IntArray | None = None,
    user_exponent: float = 0.0,
) -> npt.NDArray[np.float64]:
    """X^T X (dense, items x items) of the weighted matrix: EASE's Gram matrix before lambda;
    with `columns`, of those products' columns only; with `user_exponent` beta, X^T D X with
    D = diag(|u|^-beta) (|u|: the account's distinct products, at least 1), rescaled to the mean
    diagonal of X^T X, so that one lambda means the same penalty at every beta."""
    x = weighted_matrix(interactions, weighting).astype(np.float64)
    if columns is not None:
        x = x.tocsc()[:, columns]
    if not user_exponent:
        return np.asarray((x.T @ x).toarray())
    sizes = np.maximum(np.diff(interactions.indptr), 1).astype(np.float64)
    gram = np.asarray((x.T @ (sp.diags(sizes**-user_exponent) @ x)).toarray())
    plain = float(np.asarray(x.multiply(x).sum(axis=0)).mean())
    normalised = float(np.diag(gram).mean())
    if normalised > 0:
        gram *= plain / normalised
    return gram


class GramCache:
    """EASE's X^T X per (interactions, weighting, columns, user exponent), for fits of several
    lambdas on the same data.

    Keyed by the identity of the Interactions object (a validation window's training matrix is
    one object for every candidate) and the capped columns (None: all); holds at most `size`
    matrices (8 bytes x items^2 each), dropping the oldest. It also keeps the last EASE weights B
    it was given (`keep`, 4 bytes x items^2), before DAN's product normalisation: candidates that
    differ only in their popularity exponent share one inverse."""

    def __init__(self, size: int = 3) -> None:
        self.size = size
        self._held: list[
            tuple[Interactions, WeightingConfig, IntArray | None, float, npt.NDArray[np.float64]]
        ] = []
        self._weights: (
            tuple[Interactions, tuple[Any, ...], IntArray | None, npt.NDArray[np.float32]] | None
        ) = None

    def kept(
        self, interactions: Interactions, key: tuple[Any, ...], columns: IntArray | None
    ) -> npt.NDArray[np.float32] | None:
        """The B kept for these interactions and columns under `key` (everything else B depends
        on), or None."""
        if self._weights is None:
            return None
        held, held_key, cols, weights = self._weights
        same = held is interactions and held_key == key and _same_columns(cols, columns)
        return weights if same else None

    def keep(
        self,
        interactions: Interactions,
        key: tuple[Any, ...],
        columns: IntArray | None,
        weights: npt.NDArray[np.float32],
    ) -> None:
        self._weights = (interactions, key, columns, weights)

    def get(
        self,
        interactions: Interactions,
        weighting: WeightingConfig,
        columns: IntArray | None = None,
        user_exponent: float = 0.0,
    ) -> npt.NDArray[np.float64]:
        for held, w, cols, beta, gram in self._held:
            if (
                held is interactions
                and w == weighting
                and beta == user_exponent
                and _same_columns(cols, columns)
            ):
                return gram
        gram = gram_matrix(interactions, weighting, columns, user_exponent)
        self._held = [*self._held, (interactions, weighting, columns, user_exponent, gram)][-self.size :]
        return gram


def _same_columns(a: IntArray | None, b: IntArray | None) -> bool:
    """Both all products (None), or the same capped columns."""
    return a is None if b is None else a is not None and np.array_equal(a, b)


class EASERecommender(Recommender):
    name = "ease"

    def __init__(
        self,
        params: EASEParams | None = None,
        name: str = "ease",
        grams: GramCache | None = None,
        dense: DenseLimit | None = None,
    ) -> None:
        """`dense`: above its max_products products EASE is capped to the best-selling
        max_products (`columns`), and the memory check guards the Gram matrix (its share of free
        memory); whether EASE runs at all there (CROSSGRAPH_DENSE_EASE) is its caller's choice."""
        super().__init__()
        self.name = name
        self.params = params or EASEParams()
        self.grams = grams
        self.dense = dense or DenseLimit()
        self.weights: npt.NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)
        self.columns: IntArray | None = None  # the products B covers, ascending (None: all)
        self._position: IntArray = np.zeros(0, dtype=np.intp)  # product -> row of B (-1: none)
        self._capped_owned: sp.csr_matrix | None = None  # owned[:, columns]

    @property
    def covered(self) -> npt.NDArray[np.bool_] | None:
        if self.columns is None:
            return None
        return self._position >= 0

    def _fit(self, interactions: Interactions) -> None:
        weighting = self.params.weighting
        n_items = interactions.shape[1]
        self.columns, self._capped_owned = None, None
        if self.dense.caps_ease(n_items):
            self.columns = top_products(interactions.product_counts(), self.dense.max_products)
            self._capped_owned = self.owned.tocsc()[:, self.columns].tocsr()
        self._position = np.full(n_items, -1, dtype=np.intp)
        kept = np.arange(n_items) if self.columns is None else self.columns
        self._position[kept] = np.arange(len(kept))
        # The Gram matrix (while built from its sparse product: up to 2 copies), inverted in place,
        # then B as float32 (half a copy); a cache holds one more and a B (half a copy).
        copies = 2.5 + 1.5 * (self.grams is not None)
        self.dense.check(len(kept), copies, "EASE" if self.columns is None else "EASE (capped)")
        beta = self.params.user_exponent
        # Everything B depends on before the product normalisation, next to the data and columns.
        key = (weighting, self.params.regularization, self.params.dropout, beta)
        b = None if self.grams is None else self.grams.kept(interactions, key, self.columns)
        if b is None:
            b = self._weights_before_normalisation(interactions, kept, beta)
            if self.grams is not None:
                self.grams.keep(interactions, key, self.columns, b)
        gamma = self.params.popularity_exponent
        if not gamma:
            self.weights = b
            return
        # W_ij = B_ij (c_i / c_j)^gamma, c: buyers per product (DAN's product normalisation).
        lift = (np.maximum(interactions.product_counts()[kept], 1).astype(np.float64) ** gamma).astype(
            np.float32
        )
        self.weights = b * lift[:, np.newaxis]
        self.weights /= lift[np.newaxis, :]

    def _weights_before_normalisation(
        self, interactions: Interactions, kept: IntArray, beta: float
    ) -> npt.NDArray[np.float32]:
        weighting = self.params.weighting
        if self.grams is None:
            gram = gram_matrix(interactions, weighting, self.columns, beta)
        else:  # the cached one stays lambda-free
            gram = self.grams.get(interactions, weighting, self.columns, beta).copy()
        gram[np.diag_indices_from(gram)] += self.params.penalty(np.diag(gram).copy())
        # Inversion is a BLAS job: use every core here, even if OPENBLAS_NUM_THREADS=1 was set for ALS
        # (one thread above THREADED_INVERSE_MAX products: see there).
        # In place (LU of the Fortran view: the matrix is symmetric, so it is its own transpose):
        # numpy's inv would hold two more copies.
        threads = (os.cpu_count() or 1) if len(kept) <= THREADED_INVERSE_MAX else 1
        with threadpool_limits(limits=threads, user_api="blas"):
            p = scipy.linalg.inv(gram.T, overwrite_a=True, check_finite=False).T
        del gram
        p /= -np.diag(p).copy()[np.newaxis, :]  # B_ij = -P_ij / P_jj
        np.fill_diagonal(p, 0.0)
        weights: npt.NDArray[np.float32] = p.astype(np.float32)
        return weights

    def score(self, account_indices: IntArray) -> ScoreArray:
        if self._capped_owned is None or self.columns is None:
            return np.asarray(self.owned[account_indices] @ self.weights, dtype=np.float32)
        out = np.full((len(account_indices), self.n_items), -np.inf, dtype=np.float32)
        out[:, self.columns] = self._capped_owned[account_indices] @ self.weights
        return out

    def linear_parts(self) -> tuple[sp.csr_matrix, npt.NDArray[np.float32]]:
        """(X, B) with score = X B: the binary owned rows and the item-item weights (of the
        capped columns only when capped: see `weights_at` for product indices)."""
        if self._capped_owned is not None:
            return self._capped_owned, self.weights
        return self.owned, self.weights

    def weights_at(self, rows: npt.NDArray[np.intp], cols: npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
        """B_rows,cols for product indices (broadcast as numpy indexing), 0 where either product
        is outside the cap: the capped model's score has no such term."""
        if self.columns is None:
            return self.weights[rows, cols]
        r, c = self._position[rows], self._position[cols]
        inside = (r >= 0) & (c >= 0)
        out: npt.NDArray[np.float32] = np.where(inside, self.weights[r.clip(0), c.clip(0)], np.float32(0.0))
        return out

    def contributions(self, account_idx: int, item_idx: int) -> tuple[IntArray, npt.NDArray[np.float32]]:
        """Owned items j of the account and B_j,item: the exact terms of its score (none for a
        product outside the cap; only the owned products inside it when capped)."""
        owned = self.owned[account_idx].indices.astype(np.intp)
        if self.columns is not None:
            if self._position[item_idx] < 0:
                return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
            owned = owned[self._position[owned] >= 0]
        return owned, self.weights_at(owned, np.full(len(owned), item_idx, dtype=np.intp)).astype(np.float32)
