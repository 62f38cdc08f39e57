"""Order lines that follow from the installed base, contracts and hidden account traits.

Every line has a reason a sales rep would recognise: a machine was installed, its
consumables are reordered, worn parts are replaced, operators are trained, the service
contract is billed each year, software is subscribed and sometimes upgraded. A little
unstructured noise keeps the matrix from being trivially predictable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crossgraph.data.demo.accounts import Accounts
from crossgraph.data.demo.catalogue import Catalogue, csr
from crossgraph.data.demo.common import (
    HISTORY_DAYS,
    YEAR,
    Calendar,
    FloatArray,
    Int8Array,
    Int32Array,
    IntArray,
    group_sample,
    lognormal,
)
from crossgraph.data.demo.installed import DISCOUNT_BY_SIZE, Assets, Contracts, owned_groups

STOCK, MACHINE, SERVICE, TRAINING, SOFTWARE = range(5)  # order channels
ORDER_CYCLE_DAYS = (60, 30, 14, 7)  # how often an account's stock orders go out, by size band
CONSUMABLE_QTY = (2.0, 4.0, 8.0, 16.0)
VOLUME = (0.7, 1.0, 1.4, 2.0)
SEATS = (0.5, 1.0, 2.0, 3.0)


@dataclass(frozen=True)
class Purchases:
    """Merged order lines sorted by order time; `order` numbers orders from 0 in time order."""

    account: Int32Array
    product: Int32Array
    quantity: Int32Array
    revenue: FloatArray
    order: Int32Array
    seconds: IntArray  # ordered_at, seconds since 1970-01-01 (local business time)
    n_orders: int

    def __len__(self) -> int:
        return len(self.account)


@dataclass(frozen=True)
class _Lines:
    """Order lines before grouping into orders, in compact dtypes (there are millions)."""

    account: Int32Array
    product: Int32Array
    day: Int32Array
    quantity: Int32Array
    channel: Int8Array
    revenue: FloatArray  # NaN: priced from the list price

    @staticmethod
    def of(
        account: IntArray,
        product: IntArray,
        day: IntArray,
        quantity: IntArray,
        channel: int,
        revenue: FloatArray | None = None,
    ) -> _Lines:
        n = len(account)
        return _Lines(
            account=account.astype(np.int32),
            product=product.astype(np.int32),
            day=day.astype(np.int32),
            quantity=quantity.astype(np.int32),
            channel=np.full(n, channel, dtype=np.int8),
            revenue=np.full(n, np.nan) if revenue is None else revenue.astype(np.float64),
        )

    def select(self, mask: IntArray | np.ndarray[tuple[int], np.dtype[np.bool_]]) -> _Lines:
        return _Lines(
            self.account[mask],
            self.product[mask],
            self.day[mask],
            self.quantity[mask],
            self.channel[mask],
            self.revenue[mask],
        )

    @staticmethod
    def concat(parts: list[_Lines]) -> _Lines:
        return _Lines(*(np.concatenate([getattr(p, f) for p in parts]) for f in _Lines.__dataclass_fields__))


@dataclass(frozen=True)
class _World:
    rng: np.random.Generator
    cat: Catalogue
    accounts: Accounts
    assets: Assets
    cal: Calendar
    until: IntArray  # last day a product can be ordered (discontinued products stop early)


def build_purchases(
    rng: np.random.Generator,
    cat: Catalogue,
    accounts: Accounts,
    assets: Assets,
    contracts: Contracts,
    cal: Calendar,
) -> Purchases:
    until = np.full(len(cat), cal.today, dtype=np.int64)
    inactive = np.flatnonzero(~cat.active)
    until[inactive] = cal.history_start + (rng.uniform(0.3, 0.8, len(inactive)) * HISTORY_DAYS).astype(
        np.int64
    )
    world = _World(rng, cat, accounts, assets, cal, until)
    lines = _Lines.concat(
        [
            _machines(world),
            _consumables(world),
            _parts(world),
            _accessories(world),
            _training(world),
            _service(world, contracts),
            _software(world),
            _noise(world),
        ]
    )
    keep = (lines.day >= cal.history_start) & (lines.day < until[lines.product])
    lines = _with_every_account(world, lines.select(keep))
    return _into_orders(world, lines)


def _from_rates(
    world: _World,
    account: IntArray,
    product: IntArray,
    rate: FloatArray,
    start: IntArray,
    qty_mean: FloatArray,
) -> _Lines:
    """Poisson order lines at `rate` a year from `start` until the product or history ends."""
    end = world.until[product]
    span = np.maximum(end - start, 0)
    n = world.rng.poisson(rate * span / YEAR)
    idx = np.repeat(np.arange(len(account)), n)
    day = start[idx] + np.floor(world.rng.random(len(idx)) * span[idx]).astype(np.int64)
    qty = 1 + world.rng.poisson(np.maximum(qty_mean[idx] - 1, 0))
    return _Lines.of(account[idx], product[idx], day, qty, STOCK)


def _pairs(account: IntArray, product: IntArray, n_products: int) -> IntArray:
    """Indices of the first occurrence of each distinct (account, product)."""
    _, first = np.unique(account * n_products + product, return_index=True)
    return np.sort(first)


def _breadth(ptr: IntArray) -> FloatArray:
    """How long each item list is compared with a short one of five.

    With a longer list an account buys more distinct items, each less often: the machine
    wears out the same, the catalogue just slices its needs finer."""
    return np.maximum(np.diff(ptr) / 5.0, 0.6)


def _machines(world: _World) -> _Lines:
    a = world.assets
    bought = np.flatnonzero(a.day >= world.cal.history_start)
    return _Lines.of(
        a.account[bought], a.product[bought], a.day[bought], np.ones(len(bought), dtype=np.int64), MACHINE
    )


def _consumables(world: _World) -> _Lines:
    """A few consumables per owned family, reordered several times a year."""
    rng, cat, acc = world.rng, world.cat, world.accounts
    g_acc, g_fam, g_count, g_first, _ = owned_groups(
        world.assets.account, world.assets.family, world.assets.day
    )
    ptr, items, cum = csr(cat.family_consumables, cat.weight)
    breadth = _breadth(ptr)[g_fam] ** 0.3
    k = 1 + rng.poisson((0.8 + 0.6 * acc.size[g_acc]) * breadth)
    who = np.repeat(np.arange(len(g_acc)), k)
    product = items[group_sample(rng, g_fam[who], cum, ptr)]
    keep = _pairs(g_acc[who], product, len(cat))
    who, product = who[keep], product[keep]
    account = g_acc[who]
    n = len(who)
    rate = (
        1.8
        / breadth[who]
        * lognormal(rng, 0.5, n)
        * g_count[who] ** 0.6
        * acc.activity[account]
        * np.asarray(VOLUME)[acc.size[account]]
    )
    start = np.maximum(g_first[who], world.cal.history_start) + rng.integers(0, 30, n)
    qty = np.asarray(CONSUMABLE_QTY)[acc.size[account]] * lognormal(rng, 0.4, n)
    return _from_rates(world, account, product, rate, start, qty)


def _parts(world: _World) -> _Lines:
    """Wear parts for the models an account runs; older machines need more of them."""
    rng, cat, acc = world.rng, world.cat, world.accounts
    g_acc, g_model, g_count, g_first, _ = owned_groups(
        world.assets.account, world.assets.model, world.assets.day
    )
    ptr, items, cum = csr(cat.model_parts, cat.weight)
    breadth = _breadth(ptr)[g_model]
    k = rng.poisson((1.2 + 0.4 * acc.size[g_acc]) * breadth**0.6)
    who = np.repeat(np.arange(len(g_acc)), k)
    product = items[group_sample(rng, g_model[who], cum, ptr)]
    keep = _pairs(g_acc[who], product, len(cat))
    who, product = who[keep], product[keep]
    account = g_acc[who]
    n = len(who)
    age_years = (world.cal.today - g_first[who]) / YEAR
    rate = (
        0.35
        / breadth[who] ** 0.4
        * lognormal(rng, 0.6, n)
        * (1 + age_years / 8)
        * np.sqrt(g_count[who])
        * acc.activity[account]
    )
    start = np.maximum(g_first[who], world.cal.history_start)
    return _from_rates(world, account, product, rate, start, np.full(n, 1.4))


def _accessories(world: _World) -> _Lines:
    rng, cat, a, cal = world.rng, world.cat, world.assets, world.cal
    counts = np.asarray([len(x) for x in cat.family_accessories], dtype=np.int64)
    chosen = np.flatnonzero((rng.random(len(a)) < 0.3) & (counts[a.family] > 0))
    fam = a.family[chosen]
    pick = np.floor(rng.random(len(chosen)) * counts[fam]).astype(np.int64)
    product = np.asarray(
        [cat.family_accessories[f][p] for f, p in zip(fam.tolist(), pick.tolist(), strict=True)],
        dtype=np.int64,
    )
    installed = a.day[chosen]
    later = cal.history_start + np.floor(rng.random(len(chosen)) * HISTORY_DAYS).astype(np.int64)
    day = np.where(installed >= cal.history_start, installed + rng.integers(0, 45, len(chosen)), later)
    return _Lines.of(a.account[chosen], product, day, np.ones(len(chosen), dtype=np.int64), STOCK)


def _training(world: _World) -> _Lines:
    """Operators are trained after an install; maintenance staff less often; refreshers later."""
    rng, cat, acc, a, cal = world.rng, world.cat, world.accounts, world.assets, world.cal
    training = np.asarray(cat.training, dtype=np.int64)
    new = a.day >= cal.history_start
    operator = np.flatnonzero(new & (rng.random(len(a)) < 0.6))
    maint = np.flatnonzero(new & (rng.random(len(a)) < 0.3) & (training[a.family, 1] >= 0))
    old = np.flatnonzero(~new & (rng.random(len(a)) < 0.15))
    who = np.concatenate([operator, maint, old])
    product = np.concatenate(
        [training[a.family[operator], 0], training[a.family[maint], 1], training[a.family[old], 0]]
    )
    day = np.concatenate(
        [
            a.day[operator] + rng.integers(3, 60, len(operator)),
            a.day[maint] + rng.integers(20, 200, len(maint)),
            cal.history_start + rng.integers(0, HISTORY_DAYS, len(old)),
        ]
    )
    account = a.account[who]
    seats = 1 + rng.poisson(np.asarray(SEATS)[acc.size[account]])
    return _Lines.of(account, product, day, seats, TRAINING)


def _service(world: _World, contracts: Contracts) -> _Lines:
    """Each contract year is billed on its anniversary, quantity = machines covered."""
    cal = world.cal
    parts = []
    for year in range(3):
        day = contracts.start + year * YEAR
        due = np.flatnonzero((day <= contracts.end) & (day >= cal.history_start) & (day < cal.today))
        parts.append(
            _Lines.of(
                contracts.account[due],
                contracts.product[due],
                cal.weekday_shift(day[due]),
                contracts.machines[due],
                SERVICE,
                contracts.value[due],
            )
        )
    return _Lines.concat(parts)


def _software(world: _World) -> _Lines:
    """Yearly subscriptions; some accounts start on Pro, some upgrade from Basic later."""
    rng, cat, acc, cal = world.rng, world.cat, world.accounts, world.cal
    n, n_suites = len(acc), len(cat.software)
    appetite = 0.02 + 0.4 * acc.sophistication * (0.4 + 0.2 * acc.size)
    suite_share = np.asarray([1.0, 0.5, 0.35][:n_suites])
    takes = rng.random((n, n_suites)) < appetite[:, None] * suite_share[None, :]
    account, suite = np.nonzero(takes)
    m = len(account)
    soph = acc.sophistication[account]
    start = cal.today - 1 - rng.integers(0, HISTORY_DAYS + YEAR, m)
    on_pro = rng.random(m) < 0.15 + 0.3 * soph
    upgrade = ~on_pro & (rng.random(m) < 0.35)
    switch = np.where(
        on_pro,
        start,
        np.where(upgrade, start + YEAR * (1 + np.floor(rng.random(m) * 3)).astype(np.int64), cal.today),
    )
    software = np.asarray(cat.software, dtype=np.int64)
    seats = 1 + rng.poisson(0.3 * acc.size[account])
    parts = []
    for year in range(int((HISTORY_DAYS + YEAR) / YEAR) + 1):
        day = start + year * YEAR
        live = (day >= cal.history_start) & (day < cal.today)
        tier = (day >= switch).astype(np.int64)
        due = np.flatnonzero(live)
        parts.append(
            _Lines.of(
                account[due],
                software[suite[due], tier[due]],
                cal.weekday_shift(day[due]),
                seats[due],
                SOFTWARE,
            )
        )
    return _Lines.concat(parts)


def _noise(world: _World) -> _Lines:
    """Unstructured buying: the odd part or consumable with no installed machine behind it."""
    rng, cat, acc, cal = world.rng, world.cat, world.accounts, world.cal
    stock = np.flatnonzero(np.isin(np.asarray(cat.kind), ("part", "consumable", "accessory")))
    p = cat.weight[stock] / cat.weight[stock].sum()
    k = rng.poisson(0.7 * acc.activity)
    account = np.repeat(np.arange(len(acc), dtype=np.int64), k)
    product = stock[rng.choice(len(stock), size=len(account), p=p)]
    start = cal.history_start + rng.integers(0, HISTORY_DAYS, len(account))
    first = _Lines.of(account, product, start, np.ones(len(account), dtype=np.int64), STOCK)
    repeats = _from_rates(
        world, account, product, np.full(len(account), 0.4), start, np.full(len(account), 2.0)
    )
    return _Lines.concat([first, repeats])


def _with_every_account(world: _World, lines: _Lines) -> _Lines:
    """An account with no line yet reorders a consumable for its first machine."""
    rng, cat, a, cal = world.rng, world.cat, world.assets, world.cal
    missing = np.flatnonzero(np.bincount(lines.account, minlength=len(world.accounts)) == 0)
    if len(missing) == 0:
        return lines
    family = a.family[a.ptr[missing]]
    product = np.asarray([cat.family_consumables[f][0] for f in family.tolist()], dtype=np.int64)
    day = cal.history_start + rng.integers(HISTORY_DAYS // 2, HISTORY_DAYS, len(missing))
    extra = _Lines.of(missing, product, day, np.ones(len(missing), dtype=np.int64), STOCK)
    return _Lines.concat([lines, extra])


def _into_orders(world: _World, lines: _Lines) -> Purchases:
    """Group lines into orders and merge repeated skus within an order.

    Stock lines snap to the account's ordering rhythm (every 7-60 days by size), so one
    order carries several consumables and parts; machines, service, training and software
    each come on their own orders. Intermediates are dropped early: at 100k accounts each
    one is tens of megabytes.
    """
    rng, n_acc, n_prod = world.rng, len(world.accounts), len(world.cat)
    revenue = _revenue(world, lines)
    order_key = (_order_days(world, lines) * n_acc + lines.account) * 5 + lines.channel
    orders, order_of_line = np.unique(order_key, return_inverse=True)
    del order_key
    minute = rng.integers(7 * 60, 18 * 60, len(orders))
    o_day = orders // (5 * n_acc)
    by_time = np.lexsort((orders, minute, o_day))
    rank = np.empty(len(orders), dtype=np.int64)
    rank[by_time] = np.arange(len(orders))
    line_key = rank[order_of_line] * n_prod + lines.product
    del order_of_line, rank
    merged, line_of = np.unique(line_key, return_inverse=True)
    del line_key
    quantity = np.bincount(line_of, weights=lines.quantity).astype(np.int32)
    revenue = np.round(np.bincount(line_of, weights=revenue), 2)
    del line_of
    order = merged // n_prod
    first = by_time[order]  # the order of each merged line, as a position in `orders`
    return Purchases(
        account=((orders[first] // 5) % n_acc).astype(np.int32),
        product=(merged % n_prod).astype(np.int32),
        quantity=quantity,
        revenue=revenue,
        order=order.astype(np.int32),
        seconds=o_day[first] * 86_400 + minute[first] * 60,
        n_orders=len(orders),
    )


def _order_days(world: _World, lines: _Lines) -> IntArray:
    """Order day of each line: stock lines snap to the account's ordering cycle."""
    acc, cal = world.accounts, world.cal
    cycle = np.asarray(ORDER_CYCLE_DAYS, dtype=np.int64)[acc.size]
    phase = world.rng.integers(0, 1 << 16, len(acc)) % cycle
    c, ph = cycle[lines.account], phase[lines.account]
    day = lines.day.astype(np.int64)
    snapped = day - (day - ph) % c
    snapped = np.where(snapped < cal.history_start, snapped + c, snapped)
    return cal.weekday_shift(np.where(lines.channel == STOCK, snapped, day))


def _revenue(world: _World, lines: _Lines) -> FloatArray:
    """List price x quantity less the account's discount, with a little noise per line."""
    rng, acc = world.rng, world.accounts
    discount = np.clip(np.asarray(DISCOUNT_BY_SIZE)[acc.size] + rng.normal(0, 0.015, len(acc)), 0.0, 0.25)
    factor = (1 - discount[lines.account]) * (1 + rng.normal(0, 0.01, len(lines.account)))
    priced = world.cat.price[lines.product] * lines.quantity * factor
    return np.where(np.isnan(lines.revenue), priced, lines.revenue)
