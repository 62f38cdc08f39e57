"""Drivers of an ALS score: which owned products make a product score high for an account.

Hu, Koren & Volinsky (2008), section 5: with W_u = (Y^T C_u Y + reg I)^-1 the account's
factor is x_u = W_u Y^T C_u p_u, so

    x_u . y_i = sum_j c_uj (y_j^T W_u y_i)      over the products j the account bought,

one term per owned product; implicit's `explain` computes these terms one pair at a time
with a Cholesky factorisation of a factors x factors matrix per account (about 1 ms at
256 factors). Serving needs them on every call, so here the account's part is a low-rank
update of a matrix shared by every account (Woodbury identity):

    W_u = (B + Y_o^T D Y_o)^-1,   B = Y^T Y + reg I,   D = diag(c_o - 1),  o = owned products
        = P - P Y_o^T (I + D S_oo)^-1 D Y_o P,        P = B^-1,  S = Y P Y^T

With G = Y P precomputed once, S_oo = G_o Y_o^T and S_oi = G_o Y_i^T, and the terms are

    T = diag(c_o) (S_oi - S_oo (I + D S_oo)^-1 D S_oi)

a solve of size (owned x owned) instead of (factors x factors): microseconds.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp


class ALSExplainer:
    def __init__(
        self, item_factors: npt.NDArray[np.float32], confidence: sp.csr_matrix, regularization: float
    ) -> None:
        y = np.asarray(item_factors, dtype=np.float64)
        self.item_factors = y
        self.confidence = confidence
        base = y.T @ y + regularization * np.eye(y.shape[1])
        # B is symmetric positive definite when reg > 0; pinv also covers a singular Y^T Y at reg 0
        self.shared = y @ (np.linalg.inv(base) if regularization > 0 else np.linalg.pinv(base))

    def for_rows(self, confidence: sp.csr_matrix) -> ALSExplainer:
        """The same explainer over other confidence rows (e.g. one account refolded since the
        fit): shares the precomputed Y and G, so it costs nothing to make."""
        other = object.__new__(ALSExplainer)
        other.item_factors, other.shared, other.confidence = self.item_factors, self.shared, confidence
        return other

    def contributions(
        self, account_idx: int, items: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
        """(owned product indices [n_owned], terms [n_owned, len(items)]): term (j, k) is
        c_uj y_j^T W_u y_items[k]; each column sums to the ALS score of that item."""
        items = np.asarray(items, dtype=np.intp).reshape(1, -1)
        owned, terms = self.contributions_batch(np.asarray([account_idx], dtype=np.intp), items)
        n_owned = int(np.sum(owned[0] >= 0))
        return owned[0, :n_owned].astype(np.int32), terms[0, :n_owned]

    def contributions_batch(
        self, accounts: npt.NDArray[np.intp], items: npt.NDArray[np.intp]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
        """`contributions` for many accounts at once, with one batched solve: accounts [B] and
        their items [B, N] (-1 = no item) give (owned [B, O], -1 after an account's own
        products; terms [B, O, N], zero in padded slots and for missing items). Padded slots
        hold zero factors and confidence 1, so they add an identity block that changes nothing."""
        conf = self.confidence
        starts = conf.indptr[accounts].astype(np.intp)
        lengths = conf.indptr[accounts + 1].astype(np.intp) - starts
        width = max(int(lengths.max(initial=0)), 1)
        valid = np.arange(width)[None, :] < lengths[:, None]  # [B, O]
        at = np.where(valid, starts[:, None] + np.arange(width)[None, :], 0)
        owned = np.where(valid, conf.indices[at] if conf.nnz else 0, -1).astype(np.intp)
        c = np.where(valid, conf.data[at] if conf.nnz else 1.0, 1.0).astype(np.float64)
        g_owned = np.where(valid[:, :, None], self.shared[owned.clip(0)], 0.0)  # [B, O, F]
        y_owned = np.where(valid[:, :, None], self.item_factors[owned.clip(0)], 0.0)
        wanted = items >= 0
        y_items = np.where(wanted[:, :, None], self.item_factors[items.clip(0)], 0.0)  # [B, N, F]
        s_oo = g_owned @ y_owned.transpose(0, 2, 1)  # [B, O, O]
        s_oi = g_owned @ y_items.transpose(0, 2, 1)  # [B, O, N]
        d = c - 1.0
        m = np.eye(width)[None] + d[:, :, None] * s_oo
        correction = s_oo @ np.linalg.solve(m, d[:, :, None] * s_oi)
        terms = c[:, :, None] * (s_oi - correction)
        terms[~valid] = 0.0
        terms[~np.broadcast_to(wanted[:, None, :], terms.shape)] = 0.0
        return owned, terms

    def drivers(self, account_idx: int, items: npt.ArrayLike, n: int = 3) -> list[list[tuple[int, float]]]:
        """Per item, up to n owned products with the largest positive contribution, largest first."""
        owned, terms = self.contributions(account_idx, items)
        out: list[list[tuple[int, float]]] = []
        if len(owned) == 0:
            return [[] for _ in range(terms.shape[1])]
        order = np.argsort(-terms, axis=0, kind="stable")[:n]
        for k in range(terms.shape[1]):
            out.append([(int(owned[j]), float(terms[j, k])) for j in order[:, k] if terms[j, k] > 0])
        return out
