"""The whitespace matrix: accounts x products (or categories), each cell owned or open.

An owned cell carries the revenue (from the graph, live); an open cell carries what helps
decide whether to work it: the account's 0-100 score for the product (engine.fit_score, the
number its recommendations and evidence show), the product's rank in the account's served
list when it is in it, and the share of the account's closest peers that own it. For
categories, a cell is owned when the account bought any product of the category; an open one
shows its best product (the best placed in the account's ranking).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from crossgraph.errors import AccountNotFound, GraphUnavailable, InvalidInput
from crossgraph.graph.live import account_revenue, top_accounts
from crossgraph.money import cents
from crossgraph.recommend.engine import Engine, fit_score
from crossgraph.recommend.nba import GraphRun

By = Literal["product", "category"]
# Rows: the accounts in the order the caller gave them, or (none given) the top accounts by
# total revenue, largest first, ties by account id. Columns: the skus or categories in the
# order given, else products by how many accounts own them (most first, ties by sku) or
# categories by name. The CSV lists the cells row by row in that order.
RowOrder = Literal["as_given", "revenue"]


@dataclass(frozen=True)
class Cell:
    owned: bool
    revenue: float | None = None  # owned cells, when the graph answered
    score: float | None = None  # open cells: 0-100 (engine.fit_score)
    rank: int | None = None  # open cells: rank in the account's served list, if in it
    peer_share: float | None = None  # open cells: share of the K closest peers owning it
    best_sku: str | None = None  # open category cells: the best product to offer

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Whitespace:
    by: By
    accounts: list[dict[str, Any]]  # id, name, industry, country
    columns: list[dict[str, Any]]  # products (sku, name, category, kind) or categories (name)
    cells: list[list[Cell]]  # [account][column]
    model_version: str
    partial: bool = False  # revenue missing because the graph did not answer
    notes: list[str] = field(default_factory=list)
    row_order: RowOrder = "as_given"

    @property
    def filled(self) -> float:
        """Share of owned cells (the 'whitespace filled %' of these accounts and columns)."""
        total = sum(len(row) for row in self.cells)
        return sum(c.owned for row in self.cells for c in row) / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "row_order": self.row_order,
            "model_version": self.model_version,
            "accounts": self.accounts,
            "columns": self.columns,
            "cells": [[c.to_dict() for c in row] for row in self.cells],
            "filled": round(self.filled, 4),
            "partial": self.partial,
            "notes": self.notes,
        }

    def to_csv(self) -> str:
        """One row per account x column: spreadsheet-friendly (pivot it as you like)."""
        out = io.StringIO()
        writer = csv.writer(out)
        key = "sku" if self.by == "product" else "category"
        writer.writerow(
            ["account_id", "account_name", key, "owned", "revenue", "score", "rank", "peer_share", "best_sku"]
        )
        for account, row in zip(self.accounts, self.cells, strict=True):
            for column, c in zip(self.columns, row, strict=True):
                writer.writerow(
                    [
                        account["id"],
                        account["name"],
                        column["sku"] if self.by == "product" else column["name"],
                        "yes" if c.owned else "no",
                        "" if c.revenue is None else f"{c.revenue:.2f}",
                        "" if c.score is None else f"{c.score:.1f}",
                        "" if c.rank is None else c.rank,
                        "" if c.peer_share is None else f"{c.peer_share:.3f}",
                        c.best_sku or "",
                    ]
                )
        return out.getvalue()


@dataclass(frozen=True)
class Ranking:
    """Account ids by total revenue, largest first, and when they were ranked (ISO, UTC)."""

    ids: list[str]
    computed_at: str


def choose_columns(engine: Engine, by: By, columns: Sequence[str], limit: int) -> list[str]:
    """The given skus or categories (checked), else the `limit` most owned ones."""
    if by == "product":
        if columns:
            unknown = [c for c in columns if c not in engine.product_index]
            if unknown:
                raise InvalidInput(f"products not in model {engine.version}: {', '.join(unknown[:10])}")
            return list(dict.fromkeys(columns))
        order = np.lexsort((np.asarray(engine.skus, dtype=object), -engine.popularity))
        return [engine.skus[int(i)] for i in order[engine.active[order]][:limit]]
    known = sorted({str(c) for c in engine.categories if c})
    if columns:
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise InvalidInput(f"unknown categories: {', '.join(unknown)} (known: {', '.join(known)})")
        return list(dict.fromkeys(columns))
    return known[:limit]


def whitespace(
    engine: Engine,
    account_ids: Sequence[str],
    *,
    by: By = "product",
    columns: Sequence[str] = (),
    limit: int = 30,
    revenue: Mapping[tuple[str, str], float] | None = None,
) -> Whitespace:
    """The matrix for accounts in the model. `revenue[(account, sku)]` from the graph; None
    when the graph could not be asked (owned cells then come from the model's data)."""
    missing = [a for a in account_ids if a not in engine.account_index]
    if missing:
        raise (
            AccountNotFound(missing[0])
            if len(missing) == 1
            else InvalidInput(f"accounts not in model {engine.version}: {', '.join(missing[:10])}")
        )
    names = choose_columns(engine, by, columns, limit)
    product_cols = [engine.product_index[s] for s in names] if by == "product" else []
    category_members = (
        {
            c: np.asarray([i for i, cat in enumerate(engine.categories) if cat == c], dtype=np.intp)
            for c in names
        }
        if by == "category"
        else {}
    )
    bought: dict[str, set[str]] = {}
    for acc, sku in revenue or {}:
        bought.setdefault(acc, set()).add(sku)
    rows: list[list[Cell]] = []
    for account_id in account_ids:
        a = engine.account_index[account_id]
        owned = set(engine.owned_indices(a).tolist())
        live = bought.get(account_id, set())
        places = engine.places(a)
        candidates = int(engine.candidates[a])
        served = [int(i) for i in engine.recommended[a] if i >= 0]
        rank_of = {item: r for r, item in enumerate(served, start=1)}
        peers = engine.similar[a]
        peers = peers[peers >= 0]
        if by == "product":
            has = engine.peers_owning(peers, np.asarray(product_cols, dtype=np.intp))
            shares = has.mean(axis=0).tolist() if len(peers) else [0.0] * len(product_cols)
            row = []
            for k, item in enumerate(product_cols):
                sku = engine.skus[item]
                if item in owned or sku in live:
                    row.append(Cell(owned=True, revenue=_revenue(revenue, account_id, [sku])))
                else:
                    row.append(
                        Cell(
                            owned=False,
                            score=_score(places, candidates, item),
                            rank=rank_of.get(item),
                            peer_share=shares[k],
                        )
                    )
            rows.append(row)
        else:
            row = []
            for name in names:
                members = category_members[name]
                skus = [engine.skus[int(i)] for i in members]
                if owned.intersection(members.tolist()) or live.intersection(skus):
                    row.append(Cell(owned=True, revenue=_revenue(revenue, account_id, skus)))
                    continue
                open_items = members[places[members] >= 0]
                if len(open_items) == 0:
                    row.append(Cell(owned=False))
                    continue
                best = int(open_items[np.argmin(places[open_items])])
                has = engine.peers_owning(peers, members)
                share = float(has.any(axis=1).mean()) if len(peers) else 0.0
                row.append(
                    Cell(
                        owned=False,
                        score=_score(places, candidates, best),
                        rank=rank_of.get(best),
                        peer_share=share,
                        best_sku=engine.skus[best],
                    )
                )
            rows.append(row)
    accounts = [_account(engine, a, revenue) for a in account_ids]
    cols = (
        [engine.product_dict(i) for i in product_cols]
        if by == "product"
        else [{"name": n, "products": len(category_members[n])} for n in names]
    )
    notes = (
        []
        if revenue is not None
        else ["Neo4j is unreachable: owned cells come from the model's data, without revenue"]
    )
    return Whitespace(by, accounts, cols, rows, engine.version, partial=revenue is None, notes=notes)


def _score(places: npt.NDArray[np.int64], candidates: int, item: int) -> float | None:
    """engine.fit_scores(account)[item] from the account's places, for the cells' items only."""
    place = int(places[item])
    return fit_score(place, candidates) if place >= 0 else None


def _account(
    engine: Engine, account_id: str, revenue: Mapping[tuple[str, str], float] | None
) -> dict[str, Any]:
    i = engine.account_index[account_id]
    total = None if revenue is None else sum(v for (a, _), v in revenue.items() if a == account_id)
    return {
        "id": account_id,
        "name": engine.account_names[i],
        "industry": engine.industries[i],
        "country": engine.countries[i],
        "revenue": None if total is None else cents(total),  # all purchases: the top-N order
    }


def _revenue(
    revenue: Mapping[tuple[str, str], float] | None, account: str, skus: Sequence[str]
) -> float | None:
    if revenue is None:
        return None
    return cents(sum(revenue.get((account, s), 0.0) for s in skus))


def build_whitespace(
    engine: Engine,
    run: GraphRun,
    *,
    accounts: Sequence[str] = (),
    top: int = 20,
    by: By = "product",
    columns: Sequence[str] = (),
    limit: int = 30,
    ranking: Ranking | None = None,
) -> Whitespace:
    """The matrix for the given accounts, or the `top` accounts by revenue. `run(call)` asks
    the graph and returns None when it cannot (the API's GraphLink.run; the CLI calls directly).
    `ranking`: the accounts by revenue as the nightly run ranked them (intel.nightly), read
    instead of ranking every account's purchases on the call when it is long enough."""
    notes: list[str] = []
    chosen = list(dict.fromkeys(accounts))
    if not chosen:
        if ranking is not None and len(ranking.ids) >= top * 2:
            ranked: list[str] | None = ranking.ids[: top * 2]
            notes.append(f"top accounts by revenue as ranked at {ranking.computed_at}")
        else:
            ranked = run(lambda g: top_accounts(g, top * 2))
        if ranked is None:
            raise GraphUnavailable(
                "picking the top accounts by revenue needs Neo4j; pass the accounts instead"
            )
        chosen = [a for a in ranked if a in engine.account_index][:top]
        if len(chosen) < min(top, len(ranked)):
            notes.append(f"top accounts newer than model {engine.version} are left out")
    revenue = run(lambda g: account_revenue(g, chosen))
    matrix = whitespace(engine, chosen, by=by, columns=columns, limit=limit, revenue=revenue)
    matrix.notes.extend(notes)
    return replace(matrix, row_order="as_given" if accounts else "revenue")
