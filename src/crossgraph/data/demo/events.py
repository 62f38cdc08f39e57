"""Trigger events and field notes, mostly from the last year, tied to the installed base."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crossgraph.data.demo.accounts import Accounts
from crossgraph.data.demo.catalogue import Catalogue
from crossgraph.data.demo.common import YEAR, Calendar, FloatArray, IntArray
from crossgraph.data.demo.installed import Assets
from crossgraph.data.demo.vocab import COMPETITORS, COUNTRIES, DOWNTIME_CAUSES, MONTHS
from crossgraph.data.tables import EVENT_TYPES

EVENTS_PER_SIZE = (1.0, 2.0, 4.0, 8.0)
# relative frequency of each type in EVENT_TYPES order, for steady and for growing accounts
TYPE_WEIGHTS = {
    False: (0.04, 0.07, 0.02, 0.08, 0.08, 0.44, 0.08, 0.19),
    True: (0.10, 0.22, 0.02, 0.05, 0.05, 0.40, 0.10, 0.06),
}
SKU_TYPES = frozenset({"service_visit", "downtime"})  # notes about one of our machines
HIGH_LOAD = 0.88


@dataclass(frozen=True)
class Events:
    account: IntArray
    kind: list[str]
    day: IntArray
    text: list[str]
    product: IntArray  # -1: no product

    def __len__(self) -> int:
        return len(self.account)


def build_events(
    rng: np.random.Generator, cat: Catalogue, accounts: Accounts, assets: Assets, cal: Calendar
) -> Events:
    n_acc = len(accounts)
    count = rng.poisson(np.asarray(EVENTS_PER_SIZE)[accounts.size] * (1 + accounts.growing))
    account = np.repeat(np.arange(n_acc, dtype=np.int64), count)
    n = len(account)
    recent = rng.random(n) < 0.7
    ago = np.where(recent, rng.integers(1, YEAR, n), rng.integers(YEAR, 3 * YEAR, n))
    day = cal.today - ago
    kind = np.empty(n, dtype=np.int64)
    for growing, weights in TYPE_WEIGHTS.items():
        rows = np.flatnonzero(accounts.growing[account] == growing)
        p = np.asarray(weights) / sum(weights)
        kind[rows] = rng.choice(len(EVENT_TYPES), size=len(rows), p=p)
    owned = assets.ptr[account + 1] - assets.ptr[account]
    asset = assets.ptr[account] + np.floor(rng.random(n) * owned).astype(np.int64)
    # notes are rewritten in a stable order: sort by account then day
    order = np.lexsort((day, account))
    account, day, kind, asset = account[order], day[order], kind[order], asset[order]
    draws = rng.random((n, 4))
    texts, products = [], []
    for i in range(n):
        name = EVENT_TYPES[kind[i]]
        a = int(asset[i])
        texts.append(_note(name, cat, accounts, assets, a, int(account[i]), draws[i]))
        products.append(int(assets.product[a]) if name in SKU_TYPES else -1)
    return Events(
        account=account,
        kind=[EVENT_TYPES[k] for k in kind.tolist()],
        day=day.astype(np.int64),
        text=texts,
        product=np.asarray(products, dtype=np.int64),
    )


def _pick(options: tuple[str, ...], u: float) -> str:
    return options[int(u * len(options))]


def _note(
    kind: str, cat: Catalogue, accounts: Accounts, assets: Assets, a: int, account: int, u: FloatArray
) -> str:
    machine = cat.name[int(assets.product[a])]
    process = cat.families[int(assets.family[a])].process
    line = 1 + int(u[1] * 4)
    load = round(float(assets.utilization[a]) * 100)
    month = _pick(MONTHS, float(u[2]))
    percent = 10 + int(u[3] * 30)
    if kind == "service_visit":
        if assets.utilization[a] >= HIGH_LOAD:
            next_step = "a second machine" if machine.endswith(" Pro") else "the upgrade to Pro"
            return _pick(
                (
                    f"Service visit: line {line} {machine} running at {load}% capacity, "
                    "customer plans second shift",
                    f"Service visit: {machine} on line {line} at {load}% load for months; production "
                    "manager asked about a second machine",
                    f"Service visit: {machine} is the bottleneck on line {line} ({load}% "
                    f"utilisation), {next_step} discussed",
                ),
                float(u[0]),
            )
        option = _pick(process.options, float(u[3]))
        part = _pick(process.parts, float(u[2]))
        return _pick(
            (
                f"Service visit: routine maintenance on {machine} (line {line}), {part.lower()} replaced",
                f"Service visit: {machine} at {load}% utilisation, operators do not use the {option} feature",
                f"Service visit: {machine} inspected, wear on {part.lower()}; offered a spare parts kit",
            ),
            float(u[0]),
        )
    if kind == "downtime":
        cause = _pick(DOWNTIME_CAUSES, float(u[2]))
        hours = 4 + int(u[3] * 44)
        return _pick(
            (
                f"Unplanned stop on {machine} (line {line}): {hours} h downtime, {cause}",
                f"{2 + line} unplanned stops on {machine} this quarter, {hours} hours lost in total",
            ),
            float(u[0]),
        )
    if kind == "growth":
        return _pick(
            (
                f"Customer adds a second shift from {month}; expects volume +{percent}%",
                f"Order intake up {percent}% year on year; capacity planning for next year started",
                f"Hiring {line * 4} operators for a new {process.name.lower()} line",
            ),
            float(u[0]),
        )
    if kind == "new_site":
        city = _pick(COUNTRIES[int(accounts.country[account])].cities, float(u[2]))
        return _pick(
            (
                f"New plant in {city} under construction, start of production planned for {month}",
                f"Customer leased a second hall in {city}; needs more {process.category.lower()} capacity",
            ),
            float(u[0]),
        )
    if kind == "management_change":
        return _pick(
            (
                f"New plant manager since {month}; wants an OEE review of all lines",
                "Head of purchasing replaced; new contact prefers framework agreements",
                "Managing director retired; successor comes from a competitor's customer",
                "New maintenance manager; asked for a list of all service contracts",
            ),
            float(u[0]),
        )
    if kind == "competitor_complaint":
        rival = _pick(COMPETITORS, float(u[2]))
        return _pick(
            (
                f"Customer unhappy with {rival} {process.name.lower()}: long spare part lead times",
                f"{rival} machine on line {line} has frequent stops; customer asked for our offer",
                f"{rival} raised service prices by {percent}%; customer compares with our contract",
            ),
            float(u[0]),
        )
    if kind == "product_launch":
        return _pick(
            (
                f"Launching a new product range in {month}; new formats need faster changeovers",
                f"Customer introduces {line * 5} new variants, asks about quick-change tooling",
            ),
            float(u[0]),
        )
    parent = int(accounts.parent[account])
    if parent >= 0:
        return f"Now part of the {accounts.names[parent]} group; purchasing to be centralised"
    return "Merger with a competitor announced; plants to be consolidated within two years"
