"""A learned second stage over the blend's candidates (prototype, benchmarks/rerank.py).

Not served: tried and not adopted (it lost to the blend and to tuned EASE on the test of all
three data sets; docs/tuning.md, "Tried, not adopted: a learned re-ranker"). It stays so that
the measurement can be rerun and extended.

Stage 1 is the served blend's components, each fitted as the tuner chose. For every account
the candidates are the union of each source's top M unowned products; each (account,
candidate) row gets features

    per source s: raw score s(u, i), rank of i among u's unowned products (1 = best),
                  z-score (s(u, i) - mean_u) / std_u over the unowned products
    product:      accounts that bought it, accounts whose last purchase of it falls in the
                  last RECENT_DAYS, days since its first and since its last sale
    account:      products owned, distinct orders, days since its last order

and, for learning, label 1 when the account bought the candidate in the window after the
fit (a first purchase: owned products are never candidates). A LightGBM lambdarank model
(`fit_ranker`, the optional `rerank` extra) orders each account's candidates. Everything
here but `fit_ranker` is numpy: the tests run without LightGBM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from crossgraph.data.matrix import Interactions, is_member
from crossgraph.data.orderlines import OrderLines
from crossgraph.errors import InvalidInput
from crossgraph.model.base import IntArray, Recommender, top_k

CANDIDATES_PER_SOURCE = 50  # M: fixed before any result was looked at
RECENT_DAYS = 30.0
PRODUCT_FEATURES = ("product_accounts", "product_recent_accounts", "product_age_days", "product_idle_days")
ACCOUNT_FEATURES = ("account_products", "account_orders", "account_idle_days")
SOURCE_FEATURES = ("score", "rank", "z")
FloatMatrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Candidates:
    """Rows (account, product), grouped by account in the order of `accounts`: the rows of
    accounts[g] are offsets[g]:offsets[g + 1], their products ascending."""

    accounts: IntArray  # one per group
    items: IntArray  # one per row
    offsets: IntArray  # len(accounts) + 1

    @property
    def rows(self) -> IntArray:
        """Group (position in `accounts`) of every row."""
        return np.repeat(np.arange(len(self.accounts), dtype=np.intp), np.diff(self.offsets))

    @property
    def sizes(self) -> IntArray:
        return np.diff(self.offsets).astype(np.intp)


def candidate_union(tops: Sequence[IntArray], accounts: IntArray) -> Candidates:
    """The union of each source's top lists (accounts x M, -1 for an empty slot), per account."""
    if not tops:
        raise InvalidInput("candidate_union needs at least one source's top lists")
    n = len(accounts)
    for top in tops:
        if top.shape[0] != n:
            raise ValueError(f"a top list has {top.shape[0]} rows, expected one per account ({n})")
    stacked = np.concatenate([np.asarray(t, dtype=np.int64) for t in tops], axis=1)
    width = int(stacked.max(initial=-1)) + 1
    rows = np.repeat(np.arange(n, dtype=np.int64), stacked.shape[1])
    flat = stacked.ravel()
    keep = flat >= 0
    keys = np.unique(rows[keep] * max(width, 1) + flat[keep])  # sorted: by account, then product
    group, items = np.divmod(keys, max(width, 1))
    offsets = np.concatenate([[0], np.cumsum(np.bincount(group, minlength=n))]).astype(np.intp)
    return Candidates(np.asarray(accounts, dtype=np.intp), items.astype(np.intp), offsets)


def source_features(raw: FloatMatrix, owned: sp.csr_matrix, candidates: Candidates) -> FloatMatrix:
    """(score, rank, z) of every candidate row, from one source's dense scores of the
    candidates' accounts (row g of `raw` and `owned` is accounts[g]). Rank 1 is the source's
    best unowned product (ties by lower index, as top_k); owned products rank last."""
    n, m = raw.shape
    if n != len(candidates.accounts) or owned.shape != raw.shape:
        raise ValueError(
            f"raw scores {raw.shape} and owned {owned.shape} must both have one row per account "
            f"({len(candidates.accounts)}) and one column per product"
        )
    masked = np.array(raw, dtype=np.float32, copy=True)
    owned_rows = np.repeat(np.arange(n), np.diff(owned.indptr))
    masked[owned_rows, owned.indices] = -np.inf
    masked[~np.isfinite(masked)] = -np.inf
    order = np.argsort(-masked, axis=1, kind="stable")
    ranks = np.empty((n, m), dtype=np.int32)
    np.put_along_axis(ranks, order, np.arange(1, m + 1, dtype=np.int32)[None, :].repeat(n, axis=0), axis=1)
    free = np.isfinite(masked)
    n_free = np.maximum(free.sum(axis=1), 1)
    mean = np.where(free, masked, 0.0).sum(axis=1) / n_free
    var = np.where(free, (np.where(free, masked, 0.0) - mean[:, None]) ** 2, 0.0).sum(axis=1) / n_free
    std = np.sqrt(var)
    std = np.where(std > 0, std, 1.0)
    g, i = candidates.rows, candidates.items
    score = raw[g, i].astype(np.float32)
    out = np.empty((len(i), 3), dtype=np.float32)
    out[:, 0] = score
    out[:, 1] = ranks[g, i]
    out[:, 2] = (score - mean[g]) / std[g]
    return out


def product_features(train: Interactions, at: np.datetime64, recent_days: float = RECENT_DAYS) -> FloatMatrix:
    """Per product (rows) the PRODUCT_FEATURES, as of `at` (the end of the fitted period)."""
    m = train.shape[1]
    now = np.asarray(at, dtype="datetime64[s]")
    accounts = np.bincount(train.indices, minlength=m).astype(np.float32)
    since = now - np.timedelta64(round(recent_days * 86_400), "s")
    last = train.last_at.astype("datetime64[s]")
    recent = np.bincount(train.indices[last >= since], minlength=m).astype(np.float32)
    day = np.timedelta64(86_400, "s")
    first_sale = np.full(m, now, dtype="datetime64[s]")
    np.minimum.at(first_sale, train.indices, train.first_at.astype("datetime64[s]"))
    last_sale = np.full(m, np.datetime64("1970-01-01", "s"), dtype="datetime64[s]")
    np.maximum.at(last_sale, train.indices, last)
    sold = accounts > 0
    age = (now - first_sale) / day
    idle = np.where(sold, (now - last_sale) / day, np.nan)
    return np.column_stack([accounts, recent, age, idle]).astype(np.float32)


def account_features(train: Interactions, lines: OrderLines, at: np.datetime64) -> FloatMatrix:
    """Per account of `train` (rows) the ACCOUNT_FEATURES, as of `at`; `lines` are the lines
    `train` was built from (for the distinct orders)."""
    n = train.shape[0]
    now = np.asarray(at, dtype="datetime64[s]")
    products = train.account_counts().astype(np.float32)
    index = train.accounts.indices(lines.account_id)
    known = index >= 0
    # order codes are hashes (data.orderlines): distinct (account, order) rows, counted per account
    pairs = np.unique(np.column_stack([index[known], lines.codes().order[known]]), axis=0)
    orders = np.bincount(pairs[:, 0], minlength=n).astype(np.float32)
    last = np.full(n, np.datetime64("1970-01-01", "s"), dtype="datetime64[s]")
    np.maximum.at(last, train.rows, train.last_at.astype("datetime64[s]"))
    idle = np.where(products > 0, (now - last) / np.timedelta64(86_400, "s"), np.nan)
    return np.column_stack([products, orders, idle]).astype(np.float32)


@dataclass(frozen=True)
class FeatureTable:
    candidates: Candidates
    names: tuple[str, ...]
    values: FloatMatrix  # rows x names
    labels: npt.NDArray[np.int8] | None = field(default=None)  # 1: bought in the window

    def only(self, names: Sequence[str]) -> FeatureTable:
        """The same rows with only the named feature columns, in that order."""
        missing = [n for n in names if n not in self.names]
        if missing:
            raise InvalidInput(f"no feature {missing[0]!r} in the table (features: {', '.join(self.names)})")
        columns = [self.names.index(n) for n in names]
        return FeatureTable(self.candidates, tuple(names), self.values[:, columns], self.labels)

    def subset(self, groups: IntArray) -> FeatureTable:
        """The rows of the given groups (positions in candidates.accounts), in that order."""
        c = self.candidates
        pieces = [np.arange(c.offsets[g], c.offsets[g + 1]) for g in groups]
        rows = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.intp)
        sizes = c.sizes[groups]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)
        sub = Candidates(c.accounts[groups], c.items[rows], offsets)
        labels = None if self.labels is None else self.labels[rows]
        return FeatureTable(sub, self.names, self.values[rows], labels)


def relative_features(names: Sequence[str]) -> tuple[str, ...]:
    """The features that do not change scale with the length of the fitted history: each
    source's rank and z-score and the account's activity (no raw score, no product count or age)."""
    return tuple(n for n in names if n.endswith(("_rank", "_z")) or n in ACCOUNT_FEATURES)


def personal_features(names: Sequence[str]) -> tuple[str, ...]:
    """`relative_features` without the sources that score every account alike (popularity) or
    a whole segment alike: their rank names the product, whatever the account."""
    shared = ("popularity_", "segment_")
    return tuple(n for n in relative_features(names) if not n.startswith(shared))


def labels_for(candidates: Candidates, relevant: sp.csr_matrix) -> npt.NDArray[np.int8]:
    """1 where the candidate's product is in its account's row of `relevant` (accounts x
    products, e.g. a split's test pairs), else 0."""
    rel = relevant.tocsr()
    m = rel.shape[1]
    rows = np.repeat(np.arange(rel.shape[0], dtype=np.int64), np.diff(rel.indptr))
    known = np.sort(rows * m + rel.indices)
    keys = candidates.accounts[candidates.rows].astype(np.int64) * m + candidates.items
    return is_member(keys, known).astype(np.int8)


def build_features(
    sources: Mapping[str, Recommender],
    accounts: IntArray,
    train: Interactions,
    lines: OrderLines,
    at: np.datetime64,
    m: int = CANDIDATES_PER_SOURCE,
    candidate_sources: Sequence[str] | None = None,
    relevant: sp.csr_matrix | None = None,
    batch: int = 512,
) -> FeatureTable:
    """Candidates (the union of each of `candidate_sources`' top m, default every source) and
    features of `accounts`, from fitted `sources` (name -> model fitted on `train`); labels from
    `relevant` when given."""
    names = list(sources)
    chosen = list(candidate_sources) if candidate_sources is not None else names
    owned_all = train.binary
    products = product_features(train, at)
    activity = account_features(train, lines, at)
    parts: list[FeatureTable] = []
    for start in range(0, len(accounts), batch):
        chunk = np.asarray(accounts[start : start + batch], dtype=np.intp)
        owned = owned_all[chunk]
        raws = {name: np.asarray(sources[name].score(chunk), dtype=np.float32) for name in names}
        tops = [top_k(raws[name].copy(), m, owned)[0] for name in chosen]
        cands = candidate_union(tops, chunk)
        blocks = [source_features(raws[name], owned, cands) for name in names]
        item_rows = products[cands.items]
        account_rows = activity[cands.accounts[cands.rows]]
        values = np.concatenate([*blocks, item_rows, account_rows], axis=1)
        parts.append(FeatureTable(cands, (), values))
    feature_names = (
        *(f"{name}_{f}" for name in names for f in SOURCE_FEATURES),
        *PRODUCT_FEATURES,
        *ACCOUNT_FEATURES,
    )
    table = _concat(parts, feature_names, len(feature_names))
    if relevant is not None:
        table = FeatureTable(
            table.candidates, table.names, table.values, labels_for(table.candidates, relevant)
        )
    return table


def _concat(parts: list[FeatureTable], names: tuple[str, ...], width: int) -> FeatureTable:
    if not parts:
        empty = Candidates(np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(1, np.intp))
        return FeatureTable(empty, names, np.zeros((0, width), dtype=np.float32))
    accounts = np.concatenate([p.candidates.accounts for p in parts])
    items = np.concatenate([p.candidates.items for p in parts])
    sizes = np.concatenate([p.candidates.sizes for p in parts])
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)
    values = np.concatenate([p.values for p in parts], axis=0)
    return FeatureTable(Candidates(accounts, items, offsets), names, values)


def rerank(candidates: Candidates, scores: npt.NDArray[np.floating], k: int = 10) -> IntArray:
    """Top-k products per group by `scores` (one per row), best first; ties by lower product
    index; -1 where a group has fewer than k candidates."""
    out = np.full((len(candidates.accounts), k), -1, dtype=np.intp)
    groups = candidates.rows
    order = np.lexsort((candidates.items, -np.asarray(scores, dtype=np.float64), groups))
    position = np.arange(len(order)) - candidates.offsets[groups[order]]
    keep = position < k
    out[groups[order][keep], position[keep]] = candidates.items[order][keep]
    return out


@dataclass(frozen=True)
class RankerParams:
    """LightGBM lambdarank, fixed before any result (docs/tuning.md, "learned re-ranker")."""

    trees: int = 200
    leaves: int = 31
    learning_rate: float = 0.05
    min_child_samples: int = 20
    subsample: float = 0.8
    colsample: float = 0.8
    early_stopping: int = 20
    seed: int = 0
    threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def with_positives(table: FeatureTable) -> IntArray:
    """Groups with at least one label 1 (the only ones a lambdarank gradient sees)."""
    if table.labels is None:
        raise InvalidInput("the feature table has no labels")
    c = table.candidates
    hits = np.bincount(c.rows[table.labels > 0], minlength=len(c.accounts))
    return np.flatnonzero(hits > 0).astype(np.intp)


def fit_ranker(train: FeatureTable, valid: FeatureTable, params: RankerParams | None = None) -> Any:
    """A fitted lightgbm.Booster (lambdarank on NDCG@10, what LGBMRanker fits, through LightGBM's
    own API so that scikit-learn is not needed), early-stopped on `valid`; only groups with a
    positive label are used (the others carry no gradient). `booster.best_iteration` is the
    number of trees kept; `booster.predict(values)` scores rows."""
    import lightgbm as lgb

    params = params or RankerParams()
    fit_on, stop_on = train.subset(with_positives(train)), valid.subset(with_positives(valid))
    if not len(fit_on.candidates.accounts) or not len(stop_on.candidates.accounts):
        raise InvalidInput("no account with a bought candidate to learn from (or to stop on)")
    settings = {
        "objective": "lambdarank",
        "metric": "ndcg",
        "eval_at": [10],
        "num_leaves": params.leaves,
        "learning_rate": params.learning_rate,
        "min_data_in_leaf": params.min_child_samples,
        "bagging_fraction": params.subsample,
        "bagging_freq": 1,
        "feature_fraction": params.colsample,
        "seed": params.seed,
        "num_threads": params.threads,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }
    names = list(train.names)
    learn = lgb.Dataset(fit_on.values, label=fit_on.labels, group=fit_on.candidates.sizes, feature_name=names)
    stop = lgb.Dataset(stop_on.values, label=stop_on.labels, group=stop_on.candidates.sizes, reference=learn)
    return lgb.train(
        settings,
        learn,
        num_boost_round=params.trees,
        valid_sets=[stop],
        callbacks=[lgb.early_stopping(params.early_stopping, verbose=False)],
    )
