"""Order lines as column arrays: the raw material of BOUGHT aggregates and of the training matrix."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from crossgraph.data.codes import factorize

StrArray = npt.NDArray[np.object_]
FloatArray = npt.NDArray[np.float64]
TimeArray = npt.NDArray[np.datetime64]
CodeArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class LineCodes:
    """Integer codes of the string columns, computed once per family of OrderLines (every
    `select` of a family shares its parent's distinct lists): hashing 7.9M order-line strings
    takes seconds, and a training run builds many matrices from subsets of the same lines."""

    accounts: StrArray  # distinct account ids, sorted (may include ids no line of a subset has)
    account: CodeArray  # per line: index into accounts
    skus: StrArray  # distinct skus, sorted
    sku: CodeArray
    order: CodeArray  # per line: a code telling orders apart (equal order ids, equal codes)

    def select(self, mask: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> LineCodes:
        return LineCodes(self.accounts, self.account[mask], self.skus, self.sku[mask], self.order[mask])


@dataclass(frozen=True)
class OrderLines:
    """One entry per order line; all arrays have the same length."""

    line_id: StrArray
    order_id: StrArray
    account_id: StrArray
    sku: StrArray
    quantity: FloatArray
    revenue: FloatArray
    ordered_at: TimeArray  # datetime64[s], local business time
    known_codes: LineCodes | None = field(default=None, compare=False, repr=False)
    # False when read for training, which never looks at line ids: line_id then holds "" for
    # every line (one shared str, 8 bytes a line instead of ~65), and nothing may write them.
    has_line_ids: bool = True

    def __post_init__(self) -> None:
        n = len(self.line_id)
        for name in ("order_id", "account_id", "sku", "quantity", "revenue", "ordered_at"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"OrderLines.{name} has {len(getattr(self, name))} entries, expected {n}")

    def __len__(self) -> int:
        return len(self.line_id)

    def select(self, mask: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> OrderLines:
        return OrderLines(
            line_id=self.line_id[mask],
            order_id=self.order_id[mask],
            account_id=self.account_id[mask],
            sku=self.sku[mask],
            quantity=self.quantity[mask],
            revenue=self.revenue[mask],
            ordered_at=self.ordered_at[mask],
            known_codes=None if self.known_codes is None else self.known_codes.select(mask),
            has_line_ids=self.has_line_ids,
        )

    def require_line_ids(self, what: str) -> None:
        """Refuse to `what` with lines read without their ids (a ledger or a file would get "")."""
        if not self.has_line_ids:
            raise ValueError(f"cannot {what}: these order lines were read without their line ids")

    def codes(self) -> LineCodes:
        """The lines' LineCodes, computed on first use and kept (subsets made by `select`
        afterwards inherit them)."""
        if self.known_codes is None:
            accounts, account = factorize(self.account_id)
            skus, sku = factorize(self.sku)
            # Order ids only need telling apart; str hashes do that at C speed (two different
            # order ids of one account x product pair sharing a 64-bit hash: ~1e-18).
            order = np.fromiter(map(hash, map(str, self.order_id.tolist())), np.intp, len(self))
            object.__setattr__(self, "known_codes", LineCodes(accounts, account, skus, sku, order))
        assert self.known_codes is not None
        return self.known_codes

    def before(self, cutoff: datetime | np.datetime64) -> OrderLines:
        """Lines strictly before the cutoff (a line at the cutoff instant belongs to the test side)."""
        return self.select(self.ordered_at < np.asarray(cutoff, dtype="datetime64[s]"))

    def on_or_after(self, cutoff: datetime | np.datetime64) -> OrderLines:
        return self.select(self.ordered_at >= np.asarray(cutoff, dtype="datetime64[s]"))

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> OrderLines:
        """Rows with keys line_id, order_id, account_id, sku, quantity, revenue, ordered_at."""
        items = list(rows)
        return cls(
            line_id=_strings(r["line_id"] for r in items),
            order_id=_strings(r["order_id"] for r in items),
            account_id=_strings(r["account_id"] for r in items),
            sku=_strings(r["sku"] for r in items),
            quantity=np.fromiter((float(r["quantity"]) for r in items), dtype=np.float64, count=len(items)),
            revenue=np.fromiter((float(r["revenue"]) for r in items), dtype=np.float64, count=len(items)),
            ordered_at=_datetimes(r["ordered_at"] for r in items),
        )

    @classmethod
    def empty(cls) -> OrderLines:
        return cls.from_rows([])


_EPOCH = datetime(1970, 1, 1)


def _datetimes(values: Iterable[Any]) -> TimeArray:
    """datetime objects (or ISO text) -> datetime64[s]. numpy converts datetime objects
    slowly (1.3 s per million); whole seconds since the epoch are 5x faster."""
    seconds = [
        (v - _EPOCH) // _SECOND if isinstance(v, datetime) else int(np.datetime64(v, "s").astype(np.int64))
        for v in values
    ]
    return np.array(seconds, dtype=np.int64).view("datetime64[s]")


_SECOND = timedelta(seconds=1)


def _strings(values: Iterable[Any]) -> StrArray:
    out = np.array([str(v) for v in values], dtype=object)
    return out.reshape(-1)
