"""Peer evidence and drivers for the products an account is offered, computed once per fit.

Serving reads these for the stored top-N of every account (the sidebar's hot path) and
computes the same quantities on the fly only for products outside it (filters that run past
the stored list, evidence for any product). Both paths use the functions here, so the stored
and the live answers are the same numbers.

    evidence_counts[a, k]     how many of account a's K closest peers own product recommended[a, k]
    evidence_peers[a, k, :]   positions (in similar_accounts[a]) of the closest few of them; 255 = none
    driver_items[a, k, :]     the owned products contributing most to its ALS score; -1 = none
    driver_scores[a, k, :]    their contributions
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from crossgraph.model.base import for_chunks, in_threads
from crossgraph.recommend.explain import ALSExplainer

TOP_PEERS = 3
N_DRIVERS = 3
NONE_PEER = 255


def peers_owning(
    owned: sp.csr_matrix, peers: npt.NDArray[np.integer], items: npt.NDArray[np.integer], n_items: int
) -> npt.NDArray[np.bool_]:
    """Boolean [len(peers), len(items)]: peer p owns item i (one pass over the peers' rows)."""
    out = np.zeros((len(peers), len(items)), dtype=bool)
    if len(peers) == 0 or len(items) == 0:
        return out
    position = np.full(n_items, -1, dtype=np.intp)
    position[items] = np.arange(len(items))
    starts, ends = owned.indptr[peers], owned.indptr[peers + 1]
    rows = np.repeat(np.arange(len(peers)), ends - starts)
    cols = np.concatenate([owned.indices[s:e] for s, e in zip(starts, ends, strict=True)])
    hit = position[cols]
    out[rows[hit >= 0], hit[hit >= 0]] = True
    return out


def _store_drivers(
    explainer: ALSExplainer,
    recommended: npt.NDArray[np.integer],
    drivers: npt.NDArray[np.int32],
    contributions: npt.NDArray[np.float32],
    rows_per_batch: int = 16_384,
) -> None:
    """Fill drivers/contributions [accounts, N, N_DRIVERS] for every stored recommendation.
    Accounts go in order of how many products they own, so a batch pads little; each batch
    holds about `rows_per_batch` owned slots (one batched solve)."""
    indptr = explainer.confidence.indptr
    by_size = np.argsort(np.diff(indptr), kind="stable").astype(np.intp)
    sizes = np.maximum(np.diff(indptr)[by_size], 1)
    ranges: list[tuple[int, int]] = []
    start = 0
    while start < len(by_size):  # sizes ascend: grow a batch while its widest account fits the budget
        stop = start + 1
        while stop < len(by_size) and (stop - start + 1) * int(sizes[stop]) <= rows_per_batch:
            stop += 1
        ranges.append((start, stop))
        start = stop

    def store(start: int, stop: int) -> None:
        accounts = by_size[start:stop]
        items = recommended[accounts].astype(np.intp)
        owned, terms = explainer.contributions_batch(accounts, items)  # [B, O, N]
        take = min(N_DRIVERS, owned.shape[1])
        ranked = np.where(owned[:, :, None] >= 0, -terms, np.inf)
        best = np.argsort(ranked, axis=1, kind="stable")[:, :take, :]  # [B, take, N]
        values = np.take_along_axis(terms, best, axis=1)
        chosen = np.take_along_axis(np.broadcast_to(owned[:, :, None], terms.shape), best, axis=1)
        ok = (values > 0) & (chosen >= 0) & (items >= 0)[:, None, :]
        drivers[accounts, :, :take] = np.where(ok, chosen, -1).transpose(0, 2, 1)
        contributions[accounts, :, :take] = np.where(ok, values, 0.0).transpose(0, 2, 1)

    in_threads(store, ranges)


def stored_evidence(
    owned: sp.csr_matrix,
    similar: npt.NDArray[np.integer],
    recommended: npt.NDArray[np.integer],
    explainer: ALSExplainer,
    batch: int = 256,
) -> dict[str, npt.NDArray[np.generic]]:
    """The four evidence arrays for every account's stored list, in batches of accounts: the
    peers' rows become one dense block per batch, so ownership is a gather, not a loop."""
    n_accounts, top_n = recommended.shape
    counts = np.zeros((n_accounts, top_n), dtype=np.uint8)
    shown = np.full((n_accounts, top_n, TOP_PEERS), NONE_PEER, dtype=np.uint8)
    drivers = np.full((n_accounts, top_n, N_DRIVERS), -1, dtype=np.int32)
    contributions = np.zeros((n_accounts, top_n, N_DRIVERS), dtype=np.float32)

    def gather(start: int, stop: int) -> None:
        items = recommended[start:stop].astype(np.intp)  # [B, N], -1 = none
        peers = similar[start:stop].astype(np.intp)  # [B, K], -1 = none
        unique, where = np.unique(peers.clip(0), return_inverse=True)
        block = owned[unique].toarray() > 0  # [U, n_items]
        has = block[where.reshape(peers.shape)[:, :, None], items.clip(0)[:, None, :]]  # [B, K, N]
        has &= (peers >= 0)[:, :, None] & (items >= 0)[:, None, :]
        counts[start:stop] = has.sum(axis=1)
        first = has & (np.cumsum(has, axis=1) <= TOP_PEERS)  # the closest few owners per product
        order = np.argsort(~first, axis=1, kind="stable")[:, :TOP_PEERS, :]  # [B, TOP, N]
        valid = np.take_along_axis(first, order, axis=1)
        shown[start:stop] = np.where(valid, order, NONE_PEER).transpose(0, 2, 1).astype(np.uint8)

    for_chunks(n_accounts, batch, gather)
    _store_drivers(explainer, recommended, drivers, contributions)
    return {
        "evidence_counts": counts,
        "evidence_peers": shown,
        "driver_items": drivers,
        "driver_scores": contributions,
    }
