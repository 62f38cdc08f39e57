"""Synthetic data of a believable B2B machine manufacturer, in the CSV files crossgraph loads.

Accounts in eight industries own machines from product families that suit their industry;
what they buy afterwards (consumables, wear parts, training, service, software) follows
from that installed base, their size and a hidden appetite for premium tiers. The purchase
matrix therefore carries structure a collaborative filter can learn, plus noise.
Same arguments (accounts, products, seed, as_of) give byte-identical files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from crossgraph.data.csvout import Progress, RowChunk, write_csv, write_lines
from crossgraph.data.demo.accounts import Accounts, build_accounts
from crossgraph.data.demo.catalogue import DEFAULT_PRODUCTS, MIN_PRODUCTS, Catalogue, build_catalogue
from crossgraph.data.demo.common import Calendar, day_strings
from crossgraph.data.demo.events import Events, build_events
from crossgraph.data.demo.installed import Assets, Contracts, build_assets, build_contracts
from crossgraph.data.demo.people import (
    Contacts,
    Touchpoints,
    account_owner,
    build_contacts,
    build_touchpoints,
)
from crossgraph.data.demo.purchases import Purchases, build_purchases
from crossgraph.data.demo.vocab import COUNTRIES, INDUSTRIES, SERVICE_LEVELS, SIZE_BANDS
from crossgraph.data.tables import (
    ACCOUNTS,
    ASSETS,
    CONTACTS,
    CONTRACTS,
    EVENTS,
    PRODUCTS,
    PURCHASES,
    TOUCHPOINTS,
    UPGRADES,
    TableSpec,
)
from crossgraph.errors import InvalidInput

__all__ = ["DEFAULT_PRODUCTS", "MIN_PRODUCTS", "DemoSummary", "generate_demo"]

FILES = (
    "accounts",
    "products",
    "upgrades",
    "assets",
    "contracts",
    "events",
    "contacts",
    "touchpoints",
    "purchases",
)


@dataclass(frozen=True)
class DemoSummary:
    """What generate_demo wrote: rows per file, the data's 'today' and where the files are."""

    out_dir: Path
    as_of: date
    seed: int
    accounts: int
    products: int
    upgrades: int
    assets: int
    contracts: int
    events: int
    contacts: int
    touchpoints: int
    purchases: int
    orders: int

    @property
    def rows(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in FILES}

    @property
    def paths(self) -> dict[str, Path]:
        return {name: self.out_dir / f"{name}.csv" for name in FILES}

    def __str__(self) -> str:
        lines = [f"demo data as of {self.as_of} (seed {self.seed}) in {self.out_dir}"]
        for name, rows in self.rows.items():
            extra = f" lines in {self.orders:,} orders" if name == "purchases" else ""
            lines.append(f"  {name + '.csv':<15}{rows:>12,}{extra}")
        return "\n".join(lines)

    def __rich__(self) -> str:
        """rich's console.print shows the same table as str()."""
        return str(self)


def generate_demo(
    out_dir: Path,
    *,
    accounts: int = 500,
    products: int | None = None,
    seed: int = 7,
    as_of: date | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Write the nine CSV files into `out_dir` (created if needed), each atomically.

    `products` is met exactly (default DEFAULT_PRODUCTS, at least MIN_PRODUCTS).
    `progress(stage, done, total)` is called per generation step ("generating") and per
    written chunk of each file (stage = file name).
    """
    if accounts < 1:
        raise InvalidInput(f"accounts={accounts} must be at least 1")
    if seed < 0:
        raise InvalidInput(f"seed={seed} must be zero or positive")
    n_products = DEFAULT_PRODUCTS if products is None else products
    cal = Calendar(as_of or date.today())
    step = _stepper(progress, 6)
    # one independent stream per stage: the catalogue does not depend on the account count, and
    # streams added later (contacts, touchpoints) leave the files of the earlier ones unchanged
    rngs = np.random.default_rng(seed).spawn(8)
    cat = build_catalogue(rngs[0], n_products)
    step()
    accts = build_accounts(rngs[1], accounts)
    step()
    assets = build_assets(rngs[2], cat, accts, cal)
    contracts = build_contracts(rngs[3], cat, accts, assets, cal)
    step()
    purchases = build_purchases(rngs[4], cat, accts, assets, contracts, cal)
    step()
    events = build_events(rngs[5], cat, accts, assets, cal)
    step()
    contacts = build_contacts(rngs[6], accts, cal)
    touchpoints = build_touchpoints(rngs[7], accts, contacts, cal)
    step()

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_accounts(out_dir, accts, progress)
    _write_products(out_dir, cat, progress)
    _write(out_dir, UPGRADES, len(cat.upgrades), _upgrade_rows(cat), progress)
    _write_assets(out_dir, cat, accts, assets, progress)
    _write_contracts(out_dir, cat, accts, contracts, progress)
    _write_events(out_dir, cat, accts, events, progress)
    _write_contacts(out_dir, accts, contacts, progress)
    _write_touchpoints(out_dir, accts, touchpoints, _contact_ids(len(contacts)), progress)
    _write_purchases(out_dir, cat, accts, purchases, progress)
    return DemoSummary(
        out_dir=out_dir,
        as_of=cal.as_of,
        seed=seed,
        accounts=len(accts),
        products=len(cat),
        upgrades=len(cat.upgrades),
        assets=len(assets),
        contracts=len(contracts),
        events=len(events),
        contacts=len(contacts),
        touchpoints=len(touchpoints),
        purchases=len(purchases),
        orders=purchases.n_orders,
    )


def _stepper(progress: Progress | None, total: int) -> Callable[[], None]:
    done = 0
    if progress is not None:
        progress("generating", 0, total)

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress("generating", done, total)

    return step


def _write(out_dir: Path, spec: TableSpec, n: int, rows: RowChunk, progress: Progress | None) -> None:
    write_csv(out_dir / spec.filename, [c.name for c in spec.columns], n, rows, progress)


def _upgrade_rows(cat: Catalogue) -> RowChunk:
    return lambda lo, hi: [(cat.sku[a], cat.sku[b]) for a, b in cat.upgrades[lo:hi]]


def _write_accounts(out_dir: Path, accts: Accounts, progress: Progress | None) -> None:
    def rows(lo: int, hi: int) -> Iterable[Sequence[object]]:
        for i in range(lo, hi):
            industry = INDUSTRIES[accts.industry[i]]
            size = SIZE_BANDS[accts.size[i]]
            parent = int(accts.parent[i])
            yield (
                accts.ids[i],
                accts.names[i],
                industry,
                COUNTRIES[accts.country[i]].name,
                size,
                f"{industry} / {size}",
                accts.ids[parent] if parent >= 0 else "",
                account_owner(i),
            )

    _write(out_dir, ACCOUNTS, len(accts), rows, progress)


def _write_products(out_dir: Path, cat: Catalogue, progress: Progress | None) -> None:
    def rows(lo: int, hi: int) -> Iterable[Sequence[object]]:
        for i in range(lo, hi):
            yield (
                cat.sku[i],
                cat.name[i],
                cat.category[i],
                cat.kind[i],
                cat.tier[i],
                "true" if cat.active[i] else "false",
                f"{cat.price[i]:.2f}",
                "",  # margin: the demo's products take their kind's rate (docs/ranking.md)
                cat.fits[i],
            )

    _write(out_dir, PRODUCTS, len(cat), rows, progress)


def _write_assets(
    out_dir: Path, cat: Catalogue, accts: Accounts, assets: Assets, progress: Progress | None
) -> None:
    def rows(lo: int, hi: int) -> Iterable[Sequence[object]]:
        days = day_strings(assets.day[lo:hi])
        acc = assets.account[lo:hi].tolist()
        prod = assets.product[lo:hi].tolist()
        util = assets.utilization[lo:hi].tolist()
        return [
            (
                assets.serials[lo + k],
                accts.ids[acc[k]],
                cat.sku[prod[k]],
                days[k],
                f"{util[k]:.2f}",
                assets.configs[lo + k],
            )
            for k in range(hi - lo)
        ]

    _write(out_dir, ASSETS, len(assets), rows, progress)


def _write_contracts(
    out_dir: Path, cat: Catalogue, accts: Accounts, contracts: Contracts, progress: Progress | None
) -> None:
    width = max(6, len(str(len(contracts))))

    def rows(lo: int, hi: int) -> Iterable[Sequence[object]]:
        starts = day_strings(contracts.start[lo:hi])
        ends = day_strings(contracts.end[lo:hi])
        return [
            (
                f"C{i + 1:0{width}d}",
                accts.ids[contracts.account[i]],
                SERVICE_LEVELS[contracts.level[i]],
                starts[i - lo],
                ends[i - lo],
                f"{contracts.value[i]:.2f}",
                cat.sku[contracts.product[i]],
                contracts.covers[i],
            )
            for i in range(lo, hi)
        ]

    _write(out_dir, CONTRACTS, len(contracts), rows, progress)


def _write_events(
    out_dir: Path, cat: Catalogue, accts: Accounts, events: Events, progress: Progress | None
) -> None:
    width = max(6, len(str(len(events))))

    def rows(lo: int, hi: int) -> Iterable[Sequence[object]]:
        days = day_strings(events.day[lo:hi])
        acc = events.account[lo:hi].tolist()
        prod = events.product[lo:hi].tolist()
        return [
            (
                f"E{lo + k + 1:0{width}d}",
                accts.ids[acc[k]],
                events.kind[lo + k],
                days[k],
                events.text[lo + k],
                cat.sku[prod[k]] if prod[k] >= 0 else "",
            )
            for k in range(hi - lo)
        ]

    _write(out_dir, EVENTS, len(events), rows, progress)


def _write_purchases(
    out_dir: Path, cat: Catalogue, accts: Accounts, purchases: Purchases, progress: Progress | None
) -> None:
    line_width = max(7, len(str(len(purchases))))
    order_width = max(6, len(str(purchases.n_orders)))
    ids, skus = accts.ids, cat.sku
    day = purchases.seconds // 86_400
    first_day = int(day.min()) if len(day) else 0
    dates = day_strings(np.arange(first_day, int(day.max()) + 1 if len(day) else 0))
    clock = [f"{m // 60:02d}:{m % 60:02d}:00" for m in range(24 * 60)]

    def lines(lo: int, hi: int) -> list[str]:
        # ids, skus and numbers never contain a comma or a quote, so no csv quoting is needed
        rows = zip(
            range(lo + 1, hi + 1),
            purchases.order[lo:hi].tolist(),
            purchases.account[lo:hi].tolist(),
            purchases.product[lo:hi].tolist(),
            purchases.quantity[lo:hi].tolist(),
            purchases.revenue[lo:hi].tolist(),
            (day[lo:hi] - first_day).tolist(),
            (purchases.seconds[lo:hi] % 86_400 // 60).tolist(),
            strict=True,
        )
        return [
            f"L{i:0{line_width}d},O{o + 1:0{order_width}d},"
            f"{ids[a]},{skus[p]},{q},{r:.2f},{dates[d]} {clock[m]}\n"
            for i, o, a, p, q, r, d, m in rows
        ]

    columns = [c.name for c in PURCHASES.columns]
    write_lines(out_dir / PURCHASES.filename, columns, len(purchases), lines, progress)


def _contact_ids(n: int) -> list[str]:
    width = max(6, len(str(n)))
    return [f"P{i + 1:0{width}d}" for i in range(n)]


def _write_contacts(out_dir: Path, accts: Accounts, contacts: Contacts, progress: Progress | None) -> None:
    ids = _contact_ids(len(contacts))

    def rows(lo: int, hi: int) -> Iterable[Sequence[object]]:
        left = contacts.left[lo:hi]
        days = day_strings(np.maximum(left, 0))
        return [
            (
                ids[i],
                accts.ids[contacts.account[i]],
                contacts.name[i],
                contacts.role[i],
                contacts.influence[i],
                contacts.email[i],
                days[i - lo] if left[i - lo] >= 0 else "",
            )
            for i in range(lo, hi)
        ]

    _write(out_dir, CONTACTS, len(contacts), rows, progress)


def _write_touchpoints(
    out_dir: Path,
    accts: Accounts,
    touchpoints: Touchpoints,
    contact_ids: list[str],
    progress: Progress | None,
) -> None:
    width = max(6, len(str(len(touchpoints))))

    def rows(lo: int, hi: int) -> Iterable[Sequence[object]]:
        days = day_strings(touchpoints.day[lo:hi])
        return [
            (
                f"T{i + 1:0{width}d}",
                accts.ids[touchpoints.account[i]],
                contact_ids[touchpoints.contact[i]] if touchpoints.contact[i] >= 0 else "",
                touchpoints.kind[i],
                days[i - lo],
                touchpoints.owner[i],
                touchpoints.notes[i],
            )
            for i in range(lo, hi)
        ]

    _write(out_dir, TOUCHPOINTS, len(touchpoints), rows, progress)
