"""What changed since the served model was trained, kept on top of its read-only artifact.

A purchase, a won deal or a new account posted between two training runs changes the answer
at once: the account's ALS factor is refolded from its current row in the graph
(model.foldin), what it owns now is never offered, and it counts in the peer evidence of the
accounts that have it among their peers. The overlay is one immutable snapshot, replaced by
one assignment (requests see the old or the new one, never half of it) and dropped with the
model it sits on: the next model was trained on these purchases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp


@dataclass(frozen=True)
class FoldedAccount:
    """An account as the graph holds it now, folded into the served model's factor space."""

    id: str
    name: str | None
    industry: str | None
    country: str | None
    index: int | None  # its row in the model; None for an account newer than the model
    vector: npt.NDArray[np.float32]  # refolded ALS factor
    confidence: sp.csr_matrix  # 1 x products: alpha x training weight of what it bought
    owned: npt.NDArray[np.intp]  # product indices owned now: bought, won or installed
    owned_skus: tuple[str, ...]  # the same as skus, with products newer than the model
    peers: npt.NDArray[np.intp]  # the model's accounts closest to `vector` (cosine), closest first
    peer_scores: npt.NDArray[np.float32]


EMPTY: Mapping[int, frozenset[int]] = MappingProxyType({})


@dataclass(frozen=True)
class Overlay:
    """The folded accounts of one served model, and the change number they include."""

    seq: int = 0  # the feed's changes up to this number are folded in (see graph.changes)
    folded: Mapping[str, FoldedAccount] = field(default_factory=lambda: MappingProxyType({}))
    # model account index -> products it owns now but did not at fit time (peer evidence)
    extra_owned: Mapping[int, frozenset[int]] = field(default_factory=lambda: EMPTY)

    def with_accounts(
        self, accounts: list[FoldedAccount], owned_at_fit: sp.csr_matrix, seq: int | None = None
    ) -> Overlay:
        """A new snapshot with `accounts` (re)folded and the feed read up to `seq`."""
        folded = dict(self.folded)
        extra = dict(self.extra_owned)
        for account in accounts:
            folded[account.id] = account
            if account.index is not None:
                before = owned_at_fit.indices[
                    owned_at_fit.indptr[account.index] : owned_at_fit.indptr[account.index + 1]
                ]
                new = frozenset(np.setdiff1d(account.owned, before).tolist())
                if new:
                    extra[account.index] = new
                else:
                    extra.pop(account.index, None)
        return Overlay(
            seq=self.seq if seq is None else max(seq, self.seq),
            folded=MappingProxyType(folded),
            extra_owned=MappingProxyType(extra) if extra else EMPTY,
        )

    def touches(self, peers: npt.NDArray[np.integer]) -> bool:
        """Whether any of `peers` owns products it did not own at fit time."""
        extra = self.extra_owned
        return bool(extra) and any(int(p) in extra for p in peers.tolist())
