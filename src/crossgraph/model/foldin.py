"""Fold-in: an account's ALS factor recomputed from its current row, item factors held fixed.

ALS alternates x_u = (Y^T C_u Y + reg I)^-1 Y^T C_u p_u over accounts and the same over
products; with the served product factors Y fixed, one such solve gives the factor of an
account whose purchases changed since the fit (or that did not exist then), so it scores and
finds peers like any trained account until the next training run. implicit's
`recalculate_user` does the solve (Cholesky, one BLAS thread; benchmarks/foldin.py measures it).

The row is weighted exactly as training weighted it (data.weighting: scheme, value, recency
decay against the fit's latest purchase `trained_until`), except bm25, whose per-product
length normalisation needs the whole training matrix: there every product counts as average
length (L_p = 1) and the account's idf uses the products of its own row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from crossgraph.data.weighting import WeightingConfig, recency_decay, value_weights
from crossgraph.model.als import ALSParams


class FoldIn:
    """Folds account rows into the factor space of one fitted ALS (the served artifact's)."""

    def __init__(
        self,
        product_factors: npt.NDArray[np.float32],
        params: ALSParams,
        trained_until: np.datetime64 | None = None,
    ) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        self.params = params
        self.n_products = int(product_factors.shape[0])
        self.trained_until = trained_until
        self._model = AlternatingLeastSquares(
            factors=int(product_factors.shape[1]),
            regularization=params.regularization,
            alpha=params.alpha,
            num_threads=1,
        )
        # a writable copy (implicit refuses the artifact's read-only memory map): products x factors
        self._model.item_factors = np.array(product_factors, dtype=np.float32, order="C")
        _ = self._model.YtY  # cached Y^T Y: computed once, not on the first request

    @classmethod
    def of_manifest(cls, product_factors: npt.NDArray[np.float32], manifest: dict[str, Any]) -> FoldIn:
        until = manifest.get("trained_until")
        return cls(
            product_factors,
            ALSParams.from_dict(manifest["params"]["als"]),
            np.datetime64(until, "s") if until else None,
        )

    def weights(
        self, values: npt.NDArray[np.float64], last_at: npt.NDArray[np.datetime64]
    ) -> npt.NDArray[np.float32]:
        """Training's confidence weights of one account's products (values: the aggregate
        the weighting uses, one per product; last_at: the pair's last purchase)."""
        config: WeightingConfig = self.params.weighting
        v = np.maximum(np.asarray(values, dtype=np.float64), 0.0)
        if config.scheme == "bm25":
            idf = np.log(float(self.n_products)) - np.log1p(len(v))
            w = v * (config.bm25_k1 + 1.0) / (config.bm25_k1 + v) * idf
        else:
            w = value_weights(v, config)
        if config.half_life_days is not None and len(v):
            reference = self.trained_until if self.trained_until is not None else last_at.max()
            w = w * recency_decay(last_at, reference, config.half_life_days, config.seasonal_period_days)
        out: npt.NDArray[np.float32] = np.asarray(w, dtype=np.float32)
        return out

    def row(
        self,
        items: npt.NDArray[np.intp],
        values: npt.NDArray[np.float64],
        last_at: npt.NDArray[np.datetime64],
    ) -> sp.csr_matrix:
        """The account's weighted row (1 x products), as the fit saw rows."""
        items = np.asarray(items, dtype=np.intp)
        if len(items) and (items.min() < 0 or items.max() >= self.n_products):
            raise ValueError(f"product indices must be in 0..{self.n_products - 1}, got {items.tolist()}")
        w = self.weights(values, last_at)
        keep = w > 0  # a zero weight is no interaction (and implicit skips it too)
        return sp.csr_matrix(
            (w[keep], (np.zeros(int(keep.sum()), dtype=np.intp), items[keep])), shape=(1, self.n_products)
        )

    def fold(self, row: sp.csr_matrix) -> npt.NDArray[np.float32]:
        """x_u = (Y^T C_u Y + reg I)^-1 Y^T C_u p_u for the row (c = alpha x weight). The caller
        limits BLAS to one thread (the API's lifespan does): a solve this small only loses by more."""
        if row.shape != (1, self.n_products):
            raise ValueError(f"row must have shape (1, {self.n_products}), got {row.shape}")
        vector: npt.NDArray[np.float32] = np.asarray(self._model.recalculate_user(0, row), dtype=np.float32)
        return vector
