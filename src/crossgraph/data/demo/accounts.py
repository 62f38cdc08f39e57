"""Customer accounts: industry, country, size, group links and the hidden traits behind behaviour."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from crossgraph.data.demo.common import BoolArray, FloatArray, IntArray, lognormal
from crossgraph.data.demo.vocab import (
    COUNTRIES,
    INDUSTRIES,
    INDUSTRY_SHARE,
    INDUSTRY_WORDS,
    NAME_HEADS,
    NAME_TAILS,
    SIZE_BANDS,
    SIZE_SHARE,
    SURNAMES,
)

SUBSIDIARY_SHARE = 0.04


@dataclass(frozen=True)
class Accounts:
    ids: list[str]
    names: list[str]
    industry: IntArray
    country: IntArray
    size: IntArray  # index into SIZE_BANDS
    parent: IntArray  # -1 without a parent
    # hidden traits: appetite for premium tiers and software, order volume, capacity growth
    sophistication: FloatArray
    activity: FloatArray
    growing: BoolArray

    def __len__(self) -> int:
        return len(self.ids)


def build_accounts(rng: np.random.Generator, n: int) -> Accounts:
    industry = rng.choice(len(INDUSTRIES), size=n, p=_norm(INDUSTRY_SHARE)).astype(np.int64)
    country = rng.choice(len(COUNTRIES), size=n, p=_norm([c.share for c in COUNTRIES]))
    size = rng.choice(len(SIZE_BANDS), size=n, p=_norm(SIZE_SHARE)).astype(np.int64)
    parent = _parents(rng, size)
    has_parent = parent >= 0
    # group companies work in the parent's industry
    industry[has_parent] = industry[parent[has_parent]]

    heads = [a + b for a in NAME_HEADS for b in NAME_TAILS] + list(SURNAMES)
    head = rng.integers(len(heads), size=n)
    word = rng.integers(1 << 20, size=n)
    legal = rng.integers(1 << 20, size=n)
    head[has_parent] = head[parent[has_parent]]
    word[has_parent] = word[parent[has_parent]]

    sophistication = np.clip(rng.beta(2.0, 2.5, n) + 0.08 * size, 0.0, 1.0)
    width = max(5, len(str(n)))
    ids = [f"A{i + 1:0{width}d}" for i in range(n)]
    names = []
    for i in range(n):
        words = INDUSTRY_WORDS[INDUSTRIES[industry[i]]]
        forms = COUNTRIES[country[i]].legal_forms
        names.append(f"{heads[head[i]]} {words[word[i] % len(words)]} {forms[legal[i] % len(forms)]}")
    return Accounts(
        ids=ids,
        names=_disambiguate(names, country),
        industry=industry,
        country=country.astype(np.int64),
        size=size,
        parent=parent,
        sophistication=sophistication.astype(np.float64),
        activity=lognormal(rng, 0.45, n),
        growing=rng.random(n) < 0.12,
    )


def _parents(rng: np.random.Generator, size: IntArray) -> IntArray:
    """A few subsidiaries hang under large/enterprise accounts; parents have no parent."""
    n = len(size)
    parent = np.full(n, -1, dtype=np.int64)
    big = np.flatnonzero(size >= 2)
    others = np.flatnonzero(size < 2)
    n_children = min(len(others), round(SUBSIDIARY_SHARE * n))
    if len(big) == 0 or n_children == 0:
        return parent
    children = rng.choice(others, size=n_children, replace=False)
    # groups are concentrated: few parents hold several subsidiaries
    group_heads = rng.choice(big, size=max(1, len(big) // 4), replace=False)
    parent[np.sort(children)] = rng.choice(group_heads, size=n_children)
    return parent


def _disambiguate(names: list[str], country: IntArray) -> list[str]:
    """Repeated names become sites: 'Nordhafen Foods GmbH (Leipzig)'."""
    seen: Counter[str] = Counter()
    out = []
    for name, c in zip(names, country.tolist(), strict=True):
        k = seen[name]
        seen[name] += 1
        if k == 0:
            out.append(name)
            continue
        cities = COUNTRIES[c].cities
        suffix = cities[(k - 1) % len(cities)]
        round_no = (k - 1) // len(cities)
        out.append(f"{name} ({suffix})" if round_no == 0 else f"{name} ({suffix} {round_no + 1})")
    return out


def _norm(weights: tuple[float, ...] | list[float]) -> FloatArray:
    w = np.asarray(weights, dtype=np.float64)
    return np.asarray(w / w.sum(), dtype=np.float64)
