"""The account x product interaction matrix built from order lines, with explicit id maps.

One stored entry per account x product pair that has at least one order line. The CSR
structure (`indptr`, `indices`) is shared by every per-pair aggregate, so a weighting
scheme is just a new `data` array on the same structure (`Interactions.with_values`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from itertools import repeat

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from crossgraph.data.codes import factorize
from crossgraph.data.orderlines import OrderLines

IntArray = npt.NDArray[np.intp]
Float32Array = npt.NDArray[np.float32]
TimeArray = npt.NDArray[np.datetime64]


@dataclass(frozen=True)
class IdMap:
    """External ids <-> contiguous indices 0..n-1, in sorted id order (so the same id set
    always gets the same indices). Save it with `to_array()` (a plain unicode array,
    `np.save`-able without pickle) and read it back with `IdMap.from_array`."""

    ids: npt.NDArray[np.object_]  # sorted, unique, str

    def __post_init__(self) -> None:
        if self.ids.ndim != 1:
            raise ValueError(f"IdMap ids must be 1-D, got shape {self.ids.shape}")
        if len(self.ids) > 1 and not bool(np.all(self.ids[1:] > self.ids[:-1])):
            raise ValueError("IdMap ids must be sorted and unique; build it with IdMap.from_ids")

    @classmethod
    def from_ids(cls, values: Iterable[object] | npt.NDArray[np.generic]) -> IdMap:
        """The sorted distinct ids of `values` (converted to str)."""
        items = values.reshape(-1) if isinstance(values, np.ndarray) else list(values)
        return cls(factorize(items)[0])

    @classmethod
    def from_array(cls, array: npt.NDArray[np.generic]) -> IdMap:
        return cls(np.asarray([str(v) for v in array], dtype=object))

    def to_array(self) -> npt.NDArray[np.str_]:
        return np.asarray(self.ids, dtype=np.str_) if len(self.ids) else np.zeros(0, dtype="<U1")

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, value: object) -> bool:
        return self.index(str(value)) >= 0

    def id(self, index: int) -> str:
        return str(self.ids[index])

    def index(self, value: str) -> int:
        """The index of `value`, or -1 when it is not in the map."""
        return int(self.indices(np.asarray([value], dtype=object))[0])

    def indices(self, values: npt.NDArray[np.generic]) -> IntArray:
        """Index of each value (converted to str); -1 for values not in the map."""
        items = np.asarray(values).reshape(-1)
        found = map(self._positions.get, map(str, items), repeat(-1))
        return np.fromiter(found, dtype=np.intp, count=len(items))

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {str(v): i for i, v in enumerate(self.ids)}


@dataclass(frozen=True)
class Interactions:
    """Accounts x products: per-pair aggregates aligned with one CSR structure.

    `orders` counts distinct orders (the default interaction strength), `lines` order
    lines, `quantity` and `revenue` are sums, `first_at`/`last_at` the first and last
    order time of the pair (datetime64[s]).
    """

    accounts: IdMap
    products: IdMap
    indptr: IntArray
    indices: IntArray
    orders: Float32Array
    lines: Float32Array
    quantity: Float32Array
    revenue: Float32Array
    first_at: TimeArray
    last_at: TimeArray

    def __post_init__(self) -> None:
        if len(self.indptr) != len(self.accounts) + 1:
            raise ValueError(
                f"indptr has {len(self.indptr)} entries, expected {len(self.accounts) + 1} (accounts + 1)"
            )
        nnz = len(self.indices)
        for name in ("orders", "lines", "quantity", "revenue", "first_at", "last_at"):
            if len(getattr(self, name)) != nnz:
                raise ValueError(
                    f"Interactions.{name} has {len(getattr(self, name))} entries, expected {nnz}"
                )

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.accounts), len(self.products))

    @property
    def nnz(self) -> int:
        return len(self.indices)

    @property
    def rows(self) -> IntArray:
        """Account index of every stored entry."""
        return np.repeat(np.arange(len(self.accounts), dtype=np.intp), np.diff(self.indptr))

    @property
    def matrix(self) -> sp.csr_matrix:
        """Distinct orders per pair as a float32 CSR matrix."""
        return self.with_values(self.orders)

    @property
    def binary(self) -> sp.csr_matrix:
        return self.with_values(np.ones(self.nnz, dtype=np.float32))

    def with_values(self, data: npt.NDArray[np.floating]) -> sp.csr_matrix:
        """A float32 CSR matrix with this structure and `data` as values."""
        if len(data) != self.nnz:
            raise ValueError(f"data has {len(data)} values, expected one per stored pair ({self.nnz})")
        return sp.csr_matrix(
            (np.asarray(data, dtype=np.float32), self.indices.copy(), self.indptr.copy()), shape=self.shape
        )

    def keys(self) -> npt.NDArray[np.int64]:
        """A unique int64 key per stored pair (row * n_products + column), ascending."""
        return self.rows.astype(np.int64) * len(self.products) + self.indices

    def select_pairs(self, keep: npt.NDArray[np.bool_]) -> Interactions:
        """Only the stored pairs where `keep` is true (same id maps)."""
        if len(keep) != self.nnz:
            raise ValueError(f"keep has {len(keep)} entries, expected {self.nnz}")
        counts = np.bincount(self.rows[keep], minlength=len(self.accounts))
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.intp)
        return Interactions(
            accounts=self.accounts,
            products=self.products,
            indptr=indptr,
            indices=self.indices[keep],
            orders=self.orders[keep],
            lines=self.lines[keep],
            quantity=self.quantity[keep],
            revenue=self.revenue[keep],
            first_at=self.first_at[keep],
            last_at=self.last_at[keep],
        )

    def without_pairs_of(self, other: Interactions) -> Interactions:
        """The pairs of `self` that `other` does not hold (both must share id maps)."""
        if other.shape != self.shape:
            raise ValueError(f"other has shape {other.shape}, expected {self.shape} (the same id maps)")
        return self.select_pairs(~is_member(self.keys(), other.keys()))

    def account_counts(self) -> IntArray:
        """Number of distinct products per account."""
        return np.diff(self.indptr).astype(np.intp)

    def product_counts(self) -> IntArray:
        """Number of distinct accounts per product."""
        return np.bincount(self.indices, minlength=len(self.products)).astype(np.intp)


def build_interactions(
    lines: OrderLines, accounts: IdMap | None = None, products: IdMap | None = None
) -> Interactions:
    """Aggregate order lines per account x product pair.

    Without id maps, they are the sorted distinct ids of `lines`. With fixed id maps (to
    align a test matrix with the training one), lines whose account or product is not in
    the map are dropped.
    """
    codes = lines.codes()
    accounts, rows = _coded(codes.accounts, codes.account, accounts)
    products, cols = _coded(codes.skus, codes.sku, products)
    known = (rows >= 0) & (cols >= 0)
    rows, cols = rows[known], cols[known]
    n_accounts, n_products = len(accounts), len(products)
    if not known.any():
        return _empty(accounts, products)

    pair = rows.astype(np.int64) * n_products + cols
    order_code = codes.order[known]
    order = np.lexsort((order_code, pair))
    pair, order_code = pair[order], order_code.reshape(-1)[order]
    quantity = lines.quantity[known][order]
    revenue = lines.revenue[known][order]
    at = lines.ordered_at[known][order].astype("datetime64[s]")

    new_pair = np.ones(len(pair), dtype=bool)
    new_pair[1:] = pair[1:] != pair[:-1]
    new_order = new_pair.copy()
    new_order[1:] |= order_code[1:] != order_code[:-1]
    starts = np.flatnonzero(new_pair)
    pair_id = np.cumsum(new_pair) - 1

    keys = pair[starts]
    key_rows = (keys // n_products).astype(np.intp)
    counts = np.bincount(key_rows, minlength=n_accounts)
    at_int = at.astype(np.int64)
    return Interactions(
        accounts=accounts,
        products=products,
        indptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.intp),
        indices=(keys % n_products).astype(np.intp),
        orders=np.bincount(pair_id, weights=new_order).astype(np.float32),
        lines=np.diff(np.append(starts, len(pair))).astype(np.float32),
        quantity=np.add.reduceat(quantity, starts).astype(np.float32),
        revenue=np.add.reduceat(revenue, starts).astype(np.float32),
        first_at=np.minimum.reduceat(at_int, starts).astype("datetime64[s]"),
        last_at=np.maximum.reduceat(at_int, starts).astype("datetime64[s]"),
    )


def is_member(values: npt.NDArray[np.int64], sorted_keys: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """np.isin(values, sorted_keys) for keys already sorted (as Interactions.keys() are):
    one binary search per value instead of hashing both arrays."""
    if len(sorted_keys) == 0:
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    found: npt.NDArray[np.bool_] = sorted_keys[at] == values
    return found


def _coded(distinct: npt.NDArray[np.object_], code: IntArray, ids: IdMap | None) -> tuple[IdMap, IntArray]:
    """An id map and each line's index in it, from the lines' codes into `distinct` (sorted):
    without `ids`, the distinct values the lines use; with `ids`, -1 for values not in it."""
    if ids is not None:
        return ids, ids.indices(distinct)[code] if len(distinct) else np.full(len(code), -1, np.intp)
    used = np.bincount(code, minlength=len(distinct)) > 0
    position = np.cumsum(used) - 1
    return IdMap(distinct[used]), position[code].astype(np.intp)


def _empty(accounts: IdMap, products: IdMap) -> Interactions:
    zeros = np.zeros(0, dtype=np.float32)
    never = np.zeros(0, dtype="datetime64[s]")
    return Interactions(
        accounts=accounts,
        products=products,
        indptr=np.zeros(len(accounts) + 1, dtype=np.intp),
        indices=np.zeros(0, dtype=np.intp),
        orders=zeros,
        lines=zeros.copy(),
        quantity=zeros.copy(),
        revenue=zeros.copy(),
        first_at=never,
        last_at=never.copy(),
    )
