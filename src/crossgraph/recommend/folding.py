"""Account rows read from the graph -> accounts folded into the served model (recommend.overlay)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from crossgraph.graph.changes import AccountRow
from crossgraph.recommend.engine import Engine
from crossgraph.recommend.overlay import FoldedAccount


def fold_account(engine: Engine, row: AccountRow) -> FoldedAccount:
    """Refold one account from its current row: factor, owned products, nearest peers."""
    index = engine.account_index.get(row.id)
    items = np.asarray([engine.product_index.get(s, -1) for s in row.skus], dtype=np.intp)
    known = items >= 0  # products newer than the model have no factor; they stay owned by sku
    value = engine.fold_in.params.weighting.value
    values = {"orders": row.orders, "lines": row.lines, "quantity": row.quantity, "revenue": row.revenue}[
        value
    ]
    weighted = engine.fold_in.row(items[known], values[known], row.last_at[known])
    vector = engine.fold_in.fold(weighted)
    installed = [engine.product_index[s] for s in row.installed if s in engine.product_index]
    owned = np.unique(np.concatenate([items[known], np.asarray(installed, dtype=np.intp)]))
    if index is not None:  # what it owned at fit time stays owned (e.g. lines before the ledger's cut)
        owned = np.union1d(owned, engine.owned_indices(index)).astype(np.intp)
    peers, scores = engine.nearest_accounts(vector, engine.peers_k, exclude=index)
    model = engine.artifact.account_info.get(row.id, {})
    return FoldedAccount(
        id=row.id,
        name=row.name if row.name is not None else model.get("name"),
        industry=row.industry,
        country=row.country,
        index=index,
        vector=vector,
        confidence=weighted * np.float32(engine.fold_in.params.alpha),
        owned=owned,
        owned_skus=tuple(dict.fromkeys([*row.skus, *row.installed])),
        peers=peers,
        peer_scores=scores,
    )


def fold_rows(engine: Engine, rows: Sequence[AccountRow], seq: int | None = None) -> None:
    """Fold `rows` into the engine's overlay (one new snapshot); `seq`: the change number read."""
    folded = [fold_account(engine, row) for row in rows]
    engine.overlay = engine.overlay.with_accounts(folded, engine.owned, seq)
