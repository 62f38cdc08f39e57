"""Peer evidence and drivers for the products an account is offered, computed once per fit.

Serving reads these for the stored top-N of every account (the sidebar's hot path) and
computes the same quantities on the fly only for products outside it (filters that run past
the stored list, evidence for any product). Both paths use the functions here, so the stored
and the live answers are the same numbers.

    evidence_counts[a, k]     how many of account a's K closest peers own product recommended[a, k]
    evidence_peers[a, k, :]   positions (in similar_accounts[a]) of the closest few of them; 255 = none
    driver_items[a, k, :]     the owned products contributing most to its served (blended) score;
                              -1 = none
    driver_scores[a, k, :]    their contributions, summed over the weighted components
    component_shares[a, k, :] percent of the score each weighted component gave (blend order)

The drivers split the served blend, not ALS alone (HybridRecommender.explain, batched here):
owned product j's contribution to item i is sum_c w_c t_c(u, j, i) / std_u(s_c) over the
components with weight > 0, so with ALS at weight 0 they are the served baseline's own terms.
A component's share is its positive part w_c z_c(u, i) over the sum of the positive parts
(what raised the product, not what held it back); the parts sum to the score. A capped EASE
(model.hybrid) has no part, no term and so no driver for a product outside its cap, and no term
from an owned product outside it. Peer evidence
stays with the ALS peers (similar_accounts), whatever the blend.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from crossgraph.model.als import ALSRecommender
from crossgraph.model.base import Recommender, for_chunks, in_threads
from crossgraph.model.baselines import EASERecommender
from crossgraph.model.explain import ALSExplainer
from crossgraph.model.hybrid import LINEAR_COMPONENTS, HybridRecommender

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


def blended_split(
    model: HybridRecommender,
    explainer: ALSExplainer,
    accounts: npt.NDArray[np.intp],
    items: npt.NDArray[np.intp],
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The served score of items [B, N] (-1 = none) split two ways, for accounts [B]:

    owned [B, O]      the accounts' products, -1 after an account's own
    terms [B, O, N]   owned product j's part, sum_c w_c t_c(u, j, i) / std_u(s_c)
    parts [B, C, N]   component c's part w_c z_c(u, i), C = model.params.weighted
    offset [B, N]     sum_c w_c mean_u(s_c) / std_u(s_c) over the components that score item i

    so that score = parts.sum(C) = terms.sum(O) - offset (ALS terms up to the gap between its
    fitted factors and the exact solve, see model.explain)."""
    owned, als_terms = explainer.contributions_batch(accounts, items)
    wanted = items >= 0
    safe = items.clip(0)
    names = model.params.weighted
    terms = np.zeros_like(als_terms)
    parts = np.zeros((len(accounts), len(names), items.shape[1]))
    offset = np.zeros(items.shape)
    for name, weight, component in model.components():
        if weight <= 0:
            continue
        mean, std = _statistics(model, name, accounts)  # [B, 1] each
        if isinstance(component, ALSRecommender):
            own = als_terms
            # x_u . y_i from the fitted factors: the served score, not the terms' exact solve
            user = np.asarray(model.user_factors[accounts], dtype=np.float64)
            raw = np.einsum("bf,bnf->bn", user, np.asarray(model.item_factors[safe], dtype=np.float64))
        else:
            own = _linear_terms(component, accounts, owned, safe)
            raw = own.sum(axis=1)  # these components are linear: their terms sum to the score
        covered = component.covered
        scores = wanted if covered is None else wanted & covered[safe]  # a capped EASE: inside the cap
        parts[:, names.index(name)] = np.where(scores, weight * (raw - mean) / std, 0.0)
        offset += np.where(scores, weight * mean / std, 0.0)
        terms += (weight / std[:, :, None]) * own
    terms *= wanted[:, None, :]
    return owned, terms, parts, offset


def _statistics(
    model: HybridRecommender, name: str, accounts: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(mean_u, std_u) [B, 1] of a component: recorded by the scoring that ranked the list
    (HybridRecommender.keep_statistics), else computed now (every product scored again)."""
    if model.statistics is not None:
        mean, std = model.statistics[name]
        return mean[accounts, None].astype(np.float64), std[accounts, None].astype(np.float64)
    _, mean_now, std_now = model.standardised(accounts)[name]
    return mean_now.astype(np.float64), std_now.astype(np.float64)


def _linear_terms(
    component: Recommender,
    accounts: npt.NDArray[np.intp],
    owned: npt.NDArray[np.intp],
    items: npt.NDArray[np.intp],
) -> npt.NDArray[np.float64]:
    """[B, O, N] terms x_uj M_ji of a component scoring X M (EASE, item-kNN, RP3beta, bought next)."""
    if not isinstance(component, LINEAR_COMPONENTS):
        raise TypeError(f"{type(component).__name__} is not a linear item-item component")
    x, weights = component.linear_parts()
    if isinstance(component, EASERecommender):  # B of a capped EASE covers its cap only
        x = component.owned
    valid = owned >= 0
    values = np.take_along_axis(np.asarray(x[accounts].toarray()), owned.clip(0), axis=1) * valid
    if isinstance(component, EASERecommender):
        gathered = component.weights_at(owned.clip(0)[:, :, None], items[:, None, :])  # 0 outside a cap
    elif isinstance(weights, sp.csr_matrix):  # the batch's owned rows, dense [U, P], then a gather
        unique, where = np.unique(owned.clip(0), return_inverse=True)
        block = weights[unique].toarray()
        gathered = block[where.reshape(owned.shape)[:, :, None], items[:, None, :]]  # [B, O, N]
    else:
        gathered = weights[owned.clip(0)[:, :, None], items[:, None, :]]
    out: npt.NDArray[np.float64] = values[:, :, None] * gathered
    return out


def component_shares(parts: npt.NDArray[np.float64], blend: list[float]) -> npt.NDArray[np.uint8]:
    """Percent [B, N, C] each component gave, from parts [B, C, N]: positive parts over their sum
    (the blend weights where nothing is positive)."""
    positive = parts.clip(0)
    total = positive.sum(axis=1, keepdims=True)
    weights = np.asarray(blend, dtype=np.float64)[None, :, None] / sum(blend)
    share = np.where(total > 0, positive / np.where(total > 0, total, 1.0), weights)
    out: npt.NDArray[np.uint8] = np.rint(100 * share).astype(np.uint8).transpose(0, 2, 1)
    return out


def _store_drivers(
    model: HybridRecommender,
    explainer: ALSExplainer,
    recommended: npt.NDArray[np.integer],
    drivers: npt.NDArray[np.int32],
    contributions: npt.NDArray[np.float32],
    shares: npt.NDArray[np.uint8],
    rows_per_batch: int = 16_384,
    max_accounts: int = 256,
) -> None:
    """Fill drivers/contributions [accounts, N, N_DRIVERS] and shares [accounts, N, C] for every
    stored recommendation. Accounts go in order of how many products they own, so a batch pads
    little; each batch holds about `rows_per_batch` owned slots (one batched solve) and at most
    `max_accounts` accounts (the blend scores them over every product to standardise)."""
    indptr = explainer.confidence.indptr
    by_size = np.argsort(np.diff(indptr), kind="stable").astype(np.intp)
    sizes = np.maximum(np.diff(indptr)[by_size], 1)
    ranges: list[tuple[int, int]] = []
    start = 0
    while start < len(by_size):  # sizes ascend: grow a batch while its widest account fits the budget
        stop = start + 1
        while (
            stop < len(by_size)
            and stop - start < max_accounts
            and (stop - start + 1) * int(sizes[stop]) <= rows_per_batch
        ):
            stop += 1
        ranges.append((start, stop))
        start = stop
    blend = [model.params.blend[c] for c in model.params.weighted]

    def store(start: int, stop: int) -> None:
        accounts = by_size[start:stop]
        items = recommended[accounts].astype(np.intp)
        owned, terms, parts, _ = blended_split(model, explainer, accounts, items)  # [B, O, N]
        shares[accounts] = component_shares(parts, blend)
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
    model: HybridRecommender,
    explainer: ALSExplainer,
    batch: int = 256,
) -> dict[str, npt.NDArray[np.generic]]:
    """The five evidence arrays for every account's stored list, in batches of accounts: the
    peers' rows become one dense block per batch, so ownership is a gather, not a loop."""
    n_accounts, top_n = recommended.shape
    counts = np.zeros((n_accounts, top_n), dtype=np.uint8)
    shown = np.full((n_accounts, top_n, TOP_PEERS), NONE_PEER, dtype=np.uint8)
    drivers = np.full((n_accounts, top_n, N_DRIVERS), -1, dtype=np.int32)
    contributions = np.zeros((n_accounts, top_n, N_DRIVERS), dtype=np.float32)
    shares = np.zeros((n_accounts, top_n, len(model.params.weighted)), dtype=np.uint8)

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
    _store_drivers(model, explainer, recommended, drivers, contributions, shares)
    return {
        "evidence_counts": counts,
        "evidence_peers": shown,
        "driver_items": drivers,
        "driver_scores": contributions,
        "component_shares": shares,
    }
