"""Top-k ranking metrics with binary relevance.

For one account with relevant set R (its test pairs) and ranked list r_1..r_k (owned items
already excluded; -1 marks an empty slot), hits h_i = [r_i in R]:

    precision@k = sum_i h_i / k
    recall@k    = sum_i h_i / |R|                       (the usual IR definition; note that
                  implicit's own `precision_at_k` divides by min(k, |R|) instead)
    NDCG@k      = sum_i h_i / log2(i + 1)  /  sum_{i <= min(k, |R|)} 1 / log2(i + 1)
    AP@k        = sum_i h_i * precision@i  /  min(k, |R|)    (MAP@k = mean of AP@k)
    hit rate@k  = [sum_i h_i > 0]

each averaged over the accounts with |R| >= 1, and

    coverage@k  = |items appearing in any top-k list| / catalogue size,
    top1_share@k = share of the filled top-k slots (all accounts) taken by the top 1 % of
                  the catalogue by training popularity (accounts that bought the product;
                  at least one product), when the popularity is given.

Coverage and top-1 % share say how far a model leans on the best sellers: a model can gain
NDCG by showing everyone the same few products, and these two show the price.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

METRICS = ("precision", "recall", "ndcg", "map", "hit_rate", "coverage")
TOP_SHARE = 0.01  # the "top 1 %" of top1_share@k


def hits_matrix(recommended: npt.NDArray[np.integer], relevant: sp.csr_matrix) -> npt.NDArray[np.bool_]:
    """h[u, i] = whether recommended[u, i] is in row u of `relevant` (rows aligned)."""
    n, k = recommended.shape
    if relevant.shape[0] != n:
        raise ValueError(f"relevant has {relevant.shape[0]} rows, expected one per ranked list ({n})")
    rel = relevant.tocsr()
    m = rel.shape[1]
    # One sorted search over (row, item) keys instead of an isin per row: the same answer, much faster.
    relevant_keys = np.sort(np.repeat(np.arange(n, dtype=np.int64), np.diff(rel.indptr)) * m + rel.indices)
    items = np.asarray(recommended, dtype=np.int64).reshape(n, k)
    valid = (items >= 0) & (items < m)
    keys = np.where(valid, np.arange(n, dtype=np.int64)[:, None] * m + items, -1)
    if len(relevant_keys) == 0:
        return np.zeros((n, k), dtype=bool)
    at = np.minimum(np.searchsorted(relevant_keys, keys), len(relevant_keys) - 1)
    hits: npt.NDArray[np.bool_] = valid & (relevant_keys[at] == keys)
    return hits


def ranking_metrics(
    recommended: npt.NDArray[np.integer],
    relevant: sp.csr_matrix,
    ks: Sequence[int] = (5, 10),
    n_items: int | None = None,
    popularity: npt.NDArray[np.integer] | None = None,
) -> dict[str, float]:
    """Metrics named like 'ndcg@10'. Row u of `recommended` is the ranked list for the
    account whose relevant items are row u of `relevant`; rows with no relevant item are
    skipped. `n_items` is the catalogue size for coverage (default: relevant's columns);
    with `popularity` (training accounts per product) top1_share@k is added too."""
    if recommended.ndim != 2:
        raise ValueError(f"recommended must be 2-D (accounts x k), got shape {recommended.shape}")
    if ks and max(ks) > recommended.shape[1]:
        raise ValueError(f"k={max(ks)} needs at least {max(ks)} columns, got {recommended.shape[1]}")
    catalogue = relevant.shape[1] if n_items is None else n_items
    n_relevant = np.diff(relevant.tocsr().indptr)
    keep = n_relevant > 0
    recs = np.asarray(recommended)[keep]
    n_rel = n_relevant[keep].astype(np.float64)
    hits = hits_matrix(recs, relevant.tocsr()[np.flatnonzero(keep)]).astype(np.float64)
    out: dict[str, float] = {}
    discounts = 1.0 / np.log2(np.arange(2, recs.shape[1] + 2))
    for k in ks:
        h = hits[:, :k]
        n_hits = h.sum(axis=1)
        ideal_len = np.minimum(n_rel, k).astype(np.intp)
        idcg = np.cumsum(discounts[:k])[ideal_len - 1]
        precision_at_i = np.cumsum(h, axis=1) / np.arange(1, k + 1)
        empty = len(recs) == 0
        out[f"precision@{k}"] = 0.0 if empty else float(np.mean(n_hits / k))
        out[f"recall@{k}"] = 0.0 if empty else float(np.mean(n_hits / n_rel))
        out[f"ndcg@{k}"] = 0.0 if empty else float(np.mean((h @ discounts[:k]) / idcg))
        out[f"map@{k}"] = 0.0 if empty else float(np.mean((h * precision_at_i).sum(axis=1) / ideal_len))
        out[f"hit_rate@{k}"] = 0.0 if empty else float(np.mean(n_hits > 0))
        top = recs[:, :k]
        shown = np.unique(top[top >= 0])
        out[f"coverage@{k}"] = float(len(shown) / catalogue) if catalogue else 0.0
        if popularity is not None:
            out[f"top1_share@{k}"] = top_share(recs[:, :k], popularity)
    return out


def per_account_ndcg(
    recommended: npt.NDArray[np.integer], relevant: sp.csr_matrix, k: int = 10
) -> npt.NDArray[np.float64]:
    """NDCG@k of each account with a relevant item, in row order (their mean is ndcg@k):
    the paired samples of `model.bootstrap`."""
    n_relevant = np.diff(relevant.tocsr().indptr)
    keep = np.flatnonzero(n_relevant > 0)
    recs = np.asarray(recommended)[keep, :k]
    if recs.shape[1] < k:
        raise ValueError(f"k={k} needs at least {k} columns, got {recs.shape[1]}")
    h = hits_matrix(recs, relevant.tocsr()[keep]).astype(np.float64)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    idcg = np.cumsum(discounts)[np.minimum(n_relevant[keep], k) - 1]
    out: npt.NDArray[np.float64] = (h @ discounts) / idcg
    return out


def popular_items(popularity: npt.NDArray[np.integer], share: float = TOP_SHARE) -> npt.NDArray[np.intp]:
    """The ceil(share x catalogue) most popular items (at least one; ties to the lower index)."""
    n = max(1, math.ceil(share * len(popularity)))
    order = np.argsort(-np.asarray(popularity, dtype=np.int64), kind="stable")
    return np.sort(order[:n]).astype(np.intp)


def top_share(
    recommended: npt.NDArray[np.integer], popularity: npt.NDArray[np.integer], share: float = TOP_SHARE
) -> float:
    """Share of the filled slots of `recommended` (empty slots are -1) that hold one of the
    top `share` most popular items; 0 when no slot is filled."""
    recs = np.asarray(recommended)
    filled = recs[recs >= 0]
    if len(filled) == 0:
        return 0.0
    return float(np.isin(filled, popular_items(popularity, share)).mean())


def breadth(
    recommended: npt.NDArray[np.integer], popularity: npt.NDArray[np.integer], k: int = 10
) -> dict[str, float]:
    """coverage@k and top1_share@k of top-k lists over a catalogue of len(popularity)
    products: what a tuner's coverage guard compares between two configurations."""
    top = np.asarray(recommended)[:, :k]
    shown = np.unique(top[top >= 0])
    catalogue = len(popularity)
    return {
        f"coverage@{k}": float(len(shown) / catalogue) if catalogue else 0.0,
        f"top1_share@{k}": top_share(top, popularity),
    }
