"""Drivers of an ALS score: which owned products make a product score high for an account.

Hu, Koren & Volinsky (2008), section 5: with W_u = (Y^T C_u Y + reg I)^-1 the account's
factor is x_u = W_u Y^T C_u p_u, so

    x_u . y_i = sum_j c_uj (y_i^T W_u y_j)      over the products j the account bought,

one term per owned product. This is what implicit's `explain` computes one pair at a time;
here one Cholesky factorisation per account serves every product asked about, so the drivers
of a whole recommendation list cost one small (factors x factors) solve.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.linalg
import scipy.sparse as sp


class ALSExplainer:
    def __init__(
        self, item_factors: npt.NDArray[np.float32], confidence: sp.csr_matrix, regularization: float
    ) -> None:
        self.item_factors = np.asarray(item_factors, dtype=np.float64)
        self.confidence = confidence
        factors = self.item_factors.shape[1]
        # Y^T Y + reg I: shared by every account (Y^T C_u Y = Y^T Y + Y^T (C_u - I) Y).
        self.base = self.item_factors.T @ self.item_factors + regularization * np.eye(factors)

    def contributions(
        self, account_idx: int, items: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
        """(owned product indices [n_owned], terms [n_owned, len(items)]): term (j, k) is
        c_uj y_items[k]^T W_u y_j; each column sums to the ALS score of that item."""
        items = np.asarray(items, dtype=np.intp)
        row = self.confidence[account_idx]
        owned = row.indices.astype(np.int32)
        if len(owned) == 0 or len(items) == 0:
            return owned, np.zeros((len(owned), len(items)))
        conf = row.data.astype(np.float64)
        y_owned = self.item_factors[owned]
        a = self.base + (y_owned * (conf - 1.0)[:, None]).T @ y_owned
        weighted = scipy.linalg.cho_solve(scipy.linalg.cho_factor(a), self.item_factors[items].T)
        return owned, (y_owned @ weighted) * conf[:, None]

    def drivers(self, account_idx: int, items: npt.ArrayLike, n: int = 3) -> list[list[tuple[int, float]]]:
        """Per item, up to n owned products with the largest positive contribution, largest first."""
        owned, terms = self.contributions(account_idx, items)
        out: list[list[tuple[int, float]]] = []
        for column in terms.T:
            order = np.argsort(-column, kind="stable")[:n]
            out.append([(int(owned[j]), float(column[j])) for j in order if column[j] > 0])
        return out
