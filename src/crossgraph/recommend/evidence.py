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

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

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


def stored_evidence(
    owned: sp.csr_matrix,
    similar: npt.NDArray[np.integer],
    recommended: npt.NDArray[np.integer],
    explainer: ALSExplainer,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, npt.NDArray[np.generic]]:
    """The four evidence arrays for every account's stored list."""
    n_accounts, top_n = recommended.shape
    n_items = owned.shape[1]
    counts = np.zeros((n_accounts, top_n), dtype=np.uint8)
    shown = np.full((n_accounts, top_n, TOP_PEERS), NONE_PEER, dtype=np.uint8)
    drivers = np.full((n_accounts, top_n, N_DRIVERS), -1, dtype=np.int32)
    contributions = np.zeros((n_accounts, top_n, N_DRIVERS), dtype=np.float32)
    for a in range(n_accounts):
        valid = recommended[a] >= 0
        items = recommended[a][valid].astype(np.intp)
        if len(items) == 0:
            continue
        peer_row = similar[a]
        positions = np.flatnonzero(peer_row >= 0)
        has = peers_owning(owned, peer_row[positions].astype(np.intp), items, n_items)  # [peers, items]
        counts[a, : len(items)] = has.sum(axis=0)
        for k in range(len(items)):
            holders = positions[has[:, k]][:TOP_PEERS]
            shown[a, k, : len(holders)] = holders
        for k, found in enumerate(explainer.drivers(a, items, N_DRIVERS)):
            for d, (j, c) in enumerate(found):
                drivers[a, k, d], contributions[a, k, d] = j, c
        if progress and (a + 1) % 5000 == 0:
            progress(a + 1, n_accounts)
    return {
        "evidence_counts": counts,
        "evidence_peers": shown,
        "driver_items": drivers,
        "driver_scores": contributions,
    }
