"""The installed base (machines standing at accounts) and the service contracts on it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crossgraph.data.demo.accounts import Accounts
from crossgraph.data.demo.catalogue import Catalogue
from crossgraph.data.demo.common import (
    INSTALL_YEARS,
    YEAR,
    BoolArray,
    Calendar,
    FloatArray,
    IntArray,
    cumulative_by_group,
    group_sample,
    lognormal,
    rank_in_segment,
    segment_starts,
)
from crossgraph.data.demo.vocab import INDUSTRIES

MACHINES_PER_SIZE = (0.6, 2.0, 5.0, 12.0)  # extra machines beyond the first, by size band
SERIES_SHARE = (1.0, 0.55, 0.3)  # the first series of a process sells best
REPEAT_FAMILY = 0.5  # chance that a further machine is of the account's first family
DISCOUNT_BY_SIZE = (0.02, 0.05, 0.08, 0.12)


@dataclass(frozen=True)
class Assets:
    """One entry per machine, sorted by account then install day."""

    account: IntArray
    model: IntArray
    product: IntArray
    family: IntArray
    day: IntArray  # install day (days since 1970-01-01)
    utilization: FloatArray
    serials: list[str]
    configs: list[str]
    ptr: IntArray  # assets of account a are ptr[a]:ptr[a+1]

    def __len__(self) -> int:
        return len(self.account)


@dataclass(frozen=True)
class Contracts:
    account: IntArray
    family: IntArray
    level: IntArray  # index into SERVICE_LEVELS
    start: IntArray
    end: IntArray
    value: FloatArray
    product: IntArray
    machines: IntArray  # number of covered machines
    covers: list[str]

    def __len__(self) -> int:
        return len(self.account)


def industry_family_weights(rng: np.random.Generator, cat: Catalogue) -> FloatArray:
    """(industries x families) purchase propensity: who buys which machine line."""
    weights = np.empty((len(INDUSTRIES), len(cat.families)))
    for f, fam in enumerate(cat.families):
        share = SERIES_SHARE[fam.process.series.index(fam.series)]
        for i, industry in enumerate(INDUSTRIES):
            weights[i, f] = fam.process.industries.get(industry, 0.0) * share
    weights *= rng.uniform(0.8, 1.25, weights.shape)
    return weights + 0.02


def build_assets(rng: np.random.Generator, cat: Catalogue, accounts: Accounts, cal: Calendar) -> Assets:
    n = len(accounts)
    lam = np.asarray(MACHINES_PER_SIZE)[accounts.size] * np.sqrt(accounts.activity)
    count = (1 + rng.poisson(lam) + accounts.growing).astype(np.int64)
    acc = np.repeat(np.arange(n, dtype=np.int64), count)
    rank = rank_in_segment(count)
    total = len(acc)

    n_fam = len(cat.families)
    weights = industry_family_weights(rng, cat)
    ptr = np.arange(0, len(INDUSTRIES) * n_fam + 1, n_fam, dtype=np.int64)
    cum = cumulative_by_group(weights.ravel(), ptr)
    fresh = group_sample(rng, accounts.industry[acc], cum, ptr) % n_fam
    first = fresh[segment_starts(count)[:-1]]
    repeat = (rank > 0) & (rng.random(total) < REPEAT_FAMILY)
    family = np.where(repeat, first[acc], fresh)

    n_models = np.asarray([len(m) for m in cat.family_models], dtype=np.int64)[family]
    first_model = np.asarray([m[0] for m in cat.family_models], dtype=np.int64)[family]
    wanted = accounts.size[acc] * (n_models - 1) / 3 + rng.normal(0, 0.7, total)
    model = first_model + np.clip(np.rint(wanted), 0, n_models - 1).astype(np.int64)

    age = np.floor(rng.random(total) * INSTALL_YEARS * YEAR).astype(np.int64)
    newest = rank == count[acc] - 1
    # a growing account has just added a machine
    recent = accounts.growing[acc] & newest
    age = np.where(recent, np.floor(rng.random(total) * 540).astype(np.int64), age)
    day = cal.weekday_shift(cal.today - 1 - age)
    pro_p = 0.1 + 0.35 * accounts.sophistication[acc] + 0.15 * (age < 5 * YEAR)
    pro = rng.random(total) < pro_p
    product = np.where(pro, np.asarray(cat.model_pro)[model], np.asarray(cat.model_std)[model])
    utilization = np.where(accounts.growing[acc], rng.beta(14.0, 1.5, total), rng.beta(4.0, 2.2, total))
    utilization = np.round(np.clip(utilization, 0.05, 1.0), 2)

    order = np.lexsort((day, acc))
    acc, model, product, family = acc[order], model[order], product[order], family[order]
    day, utilization, pro = day[order], utilization[order], pro[order]
    return Assets(
        account=acc,
        model=model,
        product=product.astype(np.int64),
        family=family,
        day=day,
        utilization=utilization.astype(np.float64),
        serials=_serials(cat, family, day),
        configs=_configs(rng, cat, model, pro),
        ptr=segment_starts(np.bincount(acc, minlength=n).astype(np.int64)),
    )


def _serials(cat: Catalogue, family: IntArray, day: IntArray) -> list[str]:
    years = day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    codes = [fam.code for fam in cat.families]
    width = max(6, len(str(len(family))))
    return [
        f"{codes[f]}-{y}-{i + 1:0{width}d}"
        for i, (f, y) in enumerate(zip(family.tolist(), years.tolist(), strict=True))
    ]


def _configs(rng: np.random.Generator, cat: Catalogue, model: IntArray, pro: BoolArray) -> list[str]:
    """'250 t press force, servo drive, vision option': Pro machines carry more options."""
    total = len(model)
    n_options = np.where(pro, 1 + rng.poisson(1.2, total), rng.poisson(0.6, total))
    shuffled = np.argsort(rng.random((total, 5)), axis=1).tolist()
    out = []
    families = cat.model_family
    for i, m in enumerate(model.tolist()):
        process = cat.families[families[m]].process
        parts = [process.capacity_unit.format(cat.model_capacity[m])]
        chosen = [process.options[k] for k in shuffled[i] if k < len(process.options)]
        parts += chosen[: int(n_options[i])]
        out.append(", ".join(parts))
    return out


def build_contracts(
    rng: np.random.Generator, cat: Catalogue, accounts: Accounts, assets: Assets, cal: Calendar
) -> Contracts:
    """Contracts on (account, machine family) pairs: current terms, some lapsed, some renewed."""
    g_acc, g_fam, g_machines, g_first, inverse = owned_groups(assets.account, assets.family, assets.day)
    soph = accounts.sophistication[g_acc]
    n = len(g_acc)

    has = rng.random(n) < np.clip(0.15 + 0.12 * accounts.size[g_acc] + 0.35 * soph, 0, 0.9)
    u = rng.random(n)
    p_basic = np.clip(0.75 - 0.5 * soph, 0.1, 1.0)
    p_full = 0.04 + 0.3 * soph**2
    level = np.where(u < p_basic, 0, np.where(u > 1 - p_full, 2, 1)).astype(np.int64)
    term = rng.choice(np.array([1, 2, 3], dtype=np.int64), size=n, p=[0.35, 0.35, 0.3]) * YEAR
    # ends spread so that about 1 in 8 ends within 90 days and 1 in 10 has lapsed
    end = cal.today + np.rint(rng.uniform(-0.12, 0.88, n) * term).astype(np.int64)
    start = end - term + 1
    late = start < g_first
    start = np.where(late, g_first, start)
    end = np.where(late, start + term - 1, end)
    renewed = (rng.random(n) < 0.45) & (start - term >= g_first)
    prev_level = np.maximum(level - (rng.random(n) < 0.4), 0)

    discount = np.asarray(DISCOUNT_BY_SIZE)[accounts.size[g_acc]]
    service = np.asarray(cat.service, dtype=np.int64)
    noise = lognormal(rng, 0.05, n)

    sel, prev = np.flatnonzero(has), np.flatnonzero(has & renewed)
    c_group = np.concatenate([sel, prev])
    c_level = np.concatenate([level[sel], prev_level[prev]])
    c_start = np.concatenate([start[sel], start[prev] - term[prev]])
    c_end = np.concatenate([end[sel], start[prev] - 1])
    c_fam = g_fam[c_group]
    c_product = service[c_fam, c_level]
    c_value = cat.price[c_product] * g_machines[c_group] * (1 - discount[c_group]) * noise[c_group]
    c_value[len(sel) :] *= 0.95  # the earlier term was cheaper

    order = np.lexsort((c_start, g_acc[c_group]))
    c_group = c_group[order]
    covered = _covered_skus(cat, inverse, assets.product, n)
    return Contracts(
        account=g_acc[c_group],
        family=c_fam[order],
        level=c_level[order],
        start=c_start[order],
        end=c_end[order],
        value=np.round(c_value[order], 2),
        product=c_product[order],
        machines=g_machines[c_group],
        covers=[covered[g] for g in c_group.tolist()],
    )


def owned_groups(
    account: IntArray, item: IntArray, day: IntArray
) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray]:
    """Distinct (account, item) pairs of the installed base: account, item, machine count,
    earliest install day, and the pair of every asset."""
    width = int(item.max()) + 1 if len(item) else 1
    key = account * width + item
    groups, inverse = np.unique(key, return_inverse=True)
    count = np.bincount(inverse, minlength=len(groups)).astype(np.int64)
    earliest = np.full(len(groups), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(earliest, inverse, day)
    return groups // width, groups % width, count, earliest, inverse.astype(np.int64)


def _covered_skus(cat: Catalogue, group: IntArray, product: IntArray, n_groups: int) -> list[str]:
    pairs = np.unique(group * len(cat) + product)
    out: list[list[str]] = [[] for _ in range(n_groups)]
    for g, p in zip((pairs // len(cat)).tolist(), (pairs % len(cat)).tolist(), strict=True):
        out[g].append(cat.sku[p])
    return [";".join(skus) for skus in out]
