"""ALS on the weighted account x product matrix, with `implicit` doing the fit.

The confidence matrix C (accounts x products, what implicit >= 0.5 calls `user_items`)
comes from `data.weighting`; implicit then minimises

    sum_ui c_ui (p_ui - x_u . y_i)^2 + reg (|x_u|^2 + |y_i|^2),  c_ui = alpha * C_ui,
    p_ui = [C_ui > 0],  c_ui = 1 where nothing was bought,

alternating  x_u = (Y^T C_u Y + reg I)^-1 Y^T C_u p_u  and the same for y_i.
Scores are x_u . y_i; "customers like you" are the accounts with the most similar x_u.
BLAS runs with 1 thread during the fit (implicit parallelises over users itself and warns
about a multi-threaded BLAS); the seed is fixed, so the same data gives the same model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from crossgraph.data.matrix import Interactions
from crossgraph.data.weighting import WeightingConfig, weighted_matrix
from crossgraph.errors import InvalidInput
from crossgraph.model.base import IntArray, Recommender, ScoreArray, for_chunks, top_k_wide


@dataclass(frozen=True)
class ALSParams:
    factors: int = 64
    regularization: float = 0.05
    alpha: float = 1.0  # implicit's multiplier on the weighted confidences
    iterations: int = 15
    weighting: WeightingConfig = field(default_factory=WeightingConfig)
    random_state: int = 42

    def __post_init__(self) -> None:
        if self.factors < 1 or self.iterations < 1:
            raise InvalidInput(
                f"ALS needs factors >= 1 and iterations >= 1, got {self.factors}, {self.iterations}"
            )
        if self.regularization < 0 or self.alpha <= 0:
            raise InvalidInput(
                f"ALS needs regularization >= 0 and alpha > 0, got {self.regularization}, {self.alpha}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "factors": self.factors,
            "regularization": self.regularization,
            "alpha": self.alpha,
            "iterations": self.iterations,
            "weighting": self.weighting.to_dict(),
            "random_state": self.random_state,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ALSParams:
        values = dict(data)
        values["weighting"] = WeightingConfig.from_dict(values.get("weighting", {}))
        return cls(**values)


class ALSRecommender(Recommender):
    name = "als"

    def __init__(self, params: ALSParams | None = None, show_progress: bool = False) -> None:
        super().__init__()
        self.params = params or ALSParams()
        self.show_progress = show_progress
        self.user_items: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self.user_factors: npt.NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)
        self.item_factors: npt.NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)
        self._model: Any = None

    def _fit(self, interactions: Interactions) -> None:
        from implicit.als import AlternatingLeastSquares

        p = self.params
        self.user_items = weighted_matrix(interactions, p.weighting)
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=p.factors,
                regularization=p.regularization,
                alpha=p.alpha,
                iterations=p.iterations,
                random_state=p.random_state,
                calculate_training_loss=False,
                use_gpu=False,
            )
            model.fit(self.user_items, show_progress=self.show_progress)
        self._model = model
        self.user_factors = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.ascontiguousarray(model.item_factors, dtype=np.float32)

    def score(self, account_indices: IntArray) -> ScoreArray:
        return self.user_factors[account_indices] @ self.item_factors.T

    def explain(self, account_idx: int, item_idx: int, n: int = 10) -> list[tuple[int, float]]:
        """The owned products contributing most to score(account, item), largest first.

        Hu et al. section 5: x_u . y_i = sum_j s_u^ij c_uj with s_u^ij = y_i^T W_u y_j and
        W_u = (Y^T C_u Y + reg I)^-1; implicit's `explain` computes these terms.
        """
        self._check_accounts([account_idx])
        if not 0 <= item_idx < self.n_items:
            raise ValueError(f"item index {item_idx} is out of range: the model has {self.n_items} items")
        with threadpool_limits(1, "blas"):
            _, top, _ = self._model.explain(account_idx, self.user_items, item_idx, N=n)
        return [(int(i), float(s)) for i, s in top]

    def similar_accounts(self, account_idx: int, k: int = 20) -> tuple[IntArray, ScoreArray]:
        """The k accounts with the most similar factors (cosine), the account itself excluded."""
        items, scores = self.similar_accounts_batch(np.asarray([account_idx]), k)
        return items[0], scores[0]

    def similar_accounts_batch(
        self, account_indices: npt.ArrayLike, k: int = 20, batch_size: int = 1024
    ) -> tuple[IntArray, ScoreArray]:
        """Batched `similar_accounts`: (indices[n, k], cosine[n, k]); -1 pads missing slots.
        Ties go to the lower account index."""
        accounts = self._check_accounts(account_indices)
        norms = np.linalg.norm(self.user_factors, axis=1)
        unit = self.user_factors / np.where(norms > 0, norms, 1.0)[:, None]
        out_i = np.full((len(accounts), k), -1, dtype=np.intp)
        out_s = np.full((len(accounts), k), -np.inf, dtype=np.float32)
        empty = norms == 0

        def rank(start: int, stop: int) -> None:
            chunk = accounts[start:stop]
            sims = (unit[chunk] @ unit.T).astype(np.float32, copy=False)
            sims[np.arange(len(chunk)), chunk] = -np.inf  # not your own peer
            sims[:, empty] = -np.inf
            out_i[start:stop], out_s[start:stop] = top_k_wide(sims, k)

        for_chunks(len(accounts), batch_size, rank)
        return out_i, out_s
