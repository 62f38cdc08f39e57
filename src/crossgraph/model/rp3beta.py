"""RP3beta: a three-step random walk on the account-product graph with a popularity penalty.

Paudel, Christoffel, Mesas & Bernstein (2017), "Updatable, accurate, diverse, and scalable
recommendations for interactive applications"; one of the strongest simple models in
Ferrari Dacrema et al. (2019). With X the binary accounts x products matrix,

    P_ui = X_ui / |u|                (account -> product, one step)
    P_iu = X_ui / |i|                (product -> account)
    W_ji = sum_u P_ju^alpha P_ui^alpha / pop_i^beta      (product j -> account -> product i)

pop_i the number of accounts owning i; beta > 0 lowers the walk's pull towards best sellers.
Each row of W keeps its `neighbours` largest entries (sparse, like item-kNN), and

    score(u, i) = sum_{j owned by u} W_ji

is linear in the owned products, so its terms are exact drivers (`contributions`).
Up to CROSSGRAPH_DENSE_MAX_PRODUCTS products W is one dense products x products block before
pruning; above, sparse row blocks of P_iu P_ui, each cut to its top neighbours at once
(baselines.top_neighbours_sparse, as item-kNN at scale): the same lists without a products^2
matrix.
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
from crossgraph.model.baselines import _top_neighbours, top_neighbours_sparse
from crossgraph.model.dense import DenseLimit


@dataclass(frozen=True)
class RP3betaParams:
    alpha: float = 1.0
    beta: float = 0.5
    neighbours: int = 100

    def __post_init__(self) -> None:
        if self.alpha <= 0:
            raise InvalidInput(f"RP3beta alpha must be > 0, got {self.alpha}")
        if self.beta < 0:
            raise InvalidInput(f"RP3beta beta must be >= 0, got {self.beta}")
        if self.neighbours < 1:
            raise InvalidInput(f"RP3beta neighbours must be >= 1, got {self.neighbours}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RP3betaParams:
        return cls(**data)


class RP3betaRecommender(Recommender):
    name = "rp3beta"

    def __init__(self, params: RP3betaParams | None = None, dense: DenseLimit | None = None) -> None:
        """`dense`: up to its max_products W is built dense (after a memory check), sparse above."""
        super().__init__()
        self.params = params or RP3betaParams()
        self.dense = dense or DenseLimit()
        self.similarity: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self.method = ""  # how W was computed: dense or sparse blocks

    def _fit(self, interactions: Interactions) -> None:
        x = self.owned.astype(np.float64)
        per_account = np.asarray(x.sum(axis=1)).ravel()
        popularity = np.asarray(x.sum(axis=0)).ravel()
        p_ui = sp.diags(1.0 / np.maximum(per_account, 1.0)) @ x
        p_iu = (x @ sp.diags(1.0 / np.maximum(popularity, 1.0))).T.tocsr()
        if self.params.alpha != 1.0:
            p_ui = p_ui.power(self.params.alpha)
            p_iu = p_iu.power(self.params.alpha)
        penalty = np.power(np.maximum(popularity, 1.0), self.params.beta)
        n_items = x.shape[1]
        if not self.dense.allows(n_items):
            self.method = "sparse blocks"
            self.similarity = top_neighbours_sparse(
                p_iu, self.params.neighbours, other=p_ui.tocsr(), column_divisor=penalty
            )
            return
        self.method = "dense"
        # the walk, -walk and the argpartition's indices in _top_neighbours: 3 copies at its peak
        self.dense.check(n_items, 3, "RP3beta")
        walk = np.asarray((p_iu @ p_ui).toarray())
        walk /= penalty[np.newaxis, :]
        self.similarity = _top_neighbours(walk, self.params.neighbours)

    def score(self, account_indices: IntArray) -> ScoreArray:
        return np.asarray((self.owned[account_indices] @ self.similarity).toarray(), dtype=np.float32)

    def linear_parts(self) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """(X, W) with score = X W: the binary owned rows and the walk's item-item weights."""
        return self.owned, self.similarity

    def contributions(self, account_idx: int, item_idx: int) -> tuple[IntArray, npt.NDArray[np.float32]]:
        """Owned items j of the account and W_j,item: the exact terms of its score."""
        owned = self.owned[account_idx].indices.astype(np.intp)
        sims = np.asarray(self.similarity[owned, item_idx].toarray()).ravel()
        return owned, sims.astype(np.float32)
