"""Account-growth KPIs computed from the graph. Definitions, formulas and reasons: docs/kpis.md.

`as_of` is the reporting day. "This year" is the 12 months before it, [as_of - 1 year, as_of),
and "last year" the 12 months before that; order-line times are local business time, so a day
starts at midnight with no zone shift. Reading the graph (`read_facts`) is kept apart from the
arithmetic (`kpis_from_facts`), which works on numpy arrays so that 100k accounts and 8M order
lines stay a matter of seconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from crossgraph.dates import today
from crossgraph.errors import InvalidInput
from crossgraph.graph.driver import Graph
from crossgraph.money import cents

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.object_]

ENDING_DAYS = 90  # "contracts ending in the next 90 days": ends_at - as_of in 0..90 days
NRR_GOAL = 1.10  # the domain's target for net revenue retention
_EPOCH = date(1970, 1, 1)
_DAY = 86_400


# The amounts among the KPI fields (the rest are counts and ratios)
MONEY = frozenset(
    {
        "revenue",
        "revenue_previous",
        "cross_sell_revenue",
        "upgrade_revenue",
        "retention_revenue_previous",
        "retention_revenue_current",
        "contracts_ending_value",
        "upsell_average_value",
        "average_yearly_revenue",
        "customer_lifetime_value",
        "acquisition_cost",
    }
)


DATES = ("as_of", "year_start", "previous_start")
HISTORY_QUARTERS = 6  # the KPI history: the reporting day and the starts of six quarters before it


@dataclass(frozen=True)
class KPIs:
    """The account-growth figures on one reporting day, with the counts behind each.
    Ratios are fractions (0.42 = 42 %) and None when their denominator is zero."""

    as_of: date
    year_start: date  # first day of the 12 months before as_of ("this year")
    previous_start: date  # first day of the 12 months before that ("last year")
    # context
    revenue: float  # this year, all accounts
    revenue_previous: float  # last year, all accounts
    active_accounts: int  # accounts with an order line this year
    # products per customer: distinct products an active account bought this year
    products_per_customer: float | None
    products_per_customer_median: float | None
    # whitespace: active accounts x categories in play, filled = the account holds the category
    whitespace_filled: float | None
    whitespace_filled_cells: int
    whitespace_cells: int
    whitespace_categories: int
    # revenue this year from products an existing account did not hold at the year's start
    cross_sell_share: float | None
    cross_sell_revenue: float
    cross_sell_pairs: int
    cross_sell_accounts: int
    upgrade_share: float | None  # the same for products on an upgrade path of something held
    upgrade_revenue: float
    upgrade_pairs: int
    # deals: account x product pairs first held this year by buying them (any account)
    deals: int
    upsell_deal_share: float | None  # upgrade pairs / deals
    upsell_average_value: float | None  # upgrade revenue this year / upgrade pairs
    # from an account's first holding to its first upgrade (ever, up to as_of), in days
    time_to_upsell_days: float | None  # median over the accounts with an upgrade
    time_to_upsell_accounts: int
    # retention of the accounts with revenue last year
    net_revenue_retention: float | None
    gross_revenue_retention: float | None
    retention_base_accounts: int
    retention_retained_accounts: int
    retention_revenue_previous: float
    retention_revenue_current: float
    net_revenue_retention_goal: float
    # customer lifetime value = average yearly revenue x average relationship length, the length
    # being 1 / yearly account churn of the retention base (a constant churn's expected lifetime)
    average_yearly_revenue: float | None  # revenue this year / active accounts
    account_churn: float | None  # base accounts without revenue this year / base accounts
    relationship_years: float | None  # 1 / account_churn
    customer_lifetime_value: float | None
    acquisition_cost: float | None  # CAC as configured (CROSSGRAPH_KPI_CAC); None: not known
    clv_to_cac: float | None
    # contract terms whose last day is within ENDING_DAYS of as_of, without a signed successor
    contracts_ending: int
    contracts_ending_accounts: int
    contracts_ending_value: float
    contracts_ending_renewed: int  # ending terms left out because a successor is signed
    ending_days: int

    def to_dict(self) -> dict[str, Any]:
        """Flat, JSON-ready: dates as YYYY-MM-DD, money in cents, other floats to 6 decimals."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, float):
                value = cents(value) if f.name in MONEY else round(value, 6)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> KPIs:
        """The figures to_dict wrote (a nightly snapshot's), as rounded there; other keys ignored."""
        values = {f.name: body[f.name] for f in fields(cls)}
        for name in DATES:
            values[name] = date.fromisoformat(values[name])
        return cls(**values)


@dataclass(frozen=True)
class PurchaseFacts:
    """Purchases as the KPIs read them: one entry per account x product pair bought before as_of
    (with the time of its first line) and one per order line of the two years before as_of.
    Times are seconds since 1970-01-01 00:00 local business time."""

    pair_account: StrArray
    pair_sku: StrArray
    pair_first_at: IntArray
    line_pair: IntArray  # index into the pair arrays
    line_at: IntArray
    line_revenue: FloatArray

    @classmethod
    def empty(cls) -> PurchaseFacts:
        none = np.zeros(0, dtype=np.int64)
        text = np.zeros(0, dtype=object)
        return cls(text, text, none, none, none, np.zeros(0, dtype=np.float64))


@dataclass(frozen=True)
class Holding:
    """An account holds a product from `since` on (an installed asset, a contract's service)."""

    account_id: str
    sku: str
    since: date


@dataclass(frozen=True)
class ContractTerm:
    id: str
    account_id: str
    sku: str | None  # the service product sold
    starts_at: date
    ends_at: date
    annual_value: float
    covers: frozenset[str] = frozenset()  # the products the service is for


@dataclass(frozen=True)
class GraphFacts:
    """Everything the KPIs read from the graph."""

    purchases: PurchaseFacts
    assets: list[Holding]
    contracts: list[ContractTerm]
    categories: Mapping[str, str]  # sku -> category
    upgrades: list[tuple[str, str]]  # (from_sku, to_sku)


def compute_kpis(graph: Graph, *, as_of: date | None = None, cac: float | None = None) -> KPIs:
    """The KPIs on `as_of` (default: today in UTC, crossgraph.dates.today, as for plans and
    next-best actions). `cac`: the customer acquisition cost, for CLV/CAC."""
    as_of = as_of or today()
    return kpis_from_facts(read_facts(graph, as_of), as_of, cac=cac)


def kpi_history(graph: Graph, days: Sequence[date], *, cac: float | None = None) -> list[KPIs]:
    """The KPIs on each of `days` (in the order given) from one read of the graph: the facts up to
    the latest day, with order lines back to two years before the earliest. Each figure equals
    compute_kpis(graph, as_of=day); kpis_from_facts cuts every fact at its own as_of, so facts
    after an earlier day are read but not counted."""
    if not days:
        return []
    facts = read_facts(graph, max(days), since=years_before(min(days), 2))
    return [kpis_from_facts(facts, day, cac=cac) for day in days]


def history_days(day: date) -> list[date]:
    """The days of the KPI history charts: the starts of the last HISTORY_QUARTERS quarters
    before `day`, oldest first, then `day` itself."""
    return [*quarter_starts(day, HISTORY_QUARTERS), day]


def quarter_starts(day: date, n: int) -> list[date]:
    """The first days of the n quarters before `day` (a quarter start itself excluded), oldest first."""
    month = (day.month - 1) // 3 * 3 + 1
    start = date(day.year, month, 1)
    if start == day:
        start = _months_back(start, 3)
    out = [start]
    while len(out) < n:
        out.append(_months_back(out[-1], 3))
    return sorted(out)


def _months_back(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 - months
    return date(total // 12, total % 12 + 1, 1)


def read_facts(graph: Graph, as_of: date, *, since: date | None = None) -> GraphFacts:
    """What the KPIs on `as_of` need: nothing on or after as_of is read, except contract terms
    (a term signed to start later is the renewal of one that ends). Order lines from `since`
    (default: two years before as_of, all the KPIs look at)."""
    start = years_before(as_of, 2) if since is None else since
    params = {"since": _seconds(start), "until": _seconds(as_of)}
    accounts: list[str] = []
    skus: list[str] = []
    first_at: list[int] = []
    counts: list[int] = []
    line_at: list[int] = []
    revenue: list[float] = []
    for row in graph.stream("kpi_purchases", params):
        accounts.append(row["account_id"])
        skus.append(row["sku"])
        first_at.append(row["first_at"])
        counts.append(len(row["line_at"]))
        line_at.extend(row["line_at"])
        revenue.extend(row["revenues"])
    purchases = PurchaseFacts(
        pair_account=np.array(accounts, dtype=object),
        pair_sku=np.array(skus, dtype=object),
        pair_first_at=np.array(first_at, dtype=np.int64),
        line_pair=np.repeat(np.arange(len(counts), dtype=np.int64), counts),
        line_at=np.array(line_at, dtype=np.int64),
        line_revenue=np.array(revenue, dtype=np.float64),
    )
    assets = [
        Holding(r["account_id"], r["sku"], _native_date(r["since"]))
        for r in graph.read("kpi_assets", {"until": as_of})
    ]
    contracts = [
        ContractTerm(
            id=str(r["id"]),
            account_id=r["account_id"],
            sku=r["sku"],
            starts_at=_native_date(r["starts_at"]),
            ends_at=_native_date(r["ends_at"]),
            annual_value=float(r["annual_value"] or 0.0),
            covers=frozenset(r["covers"]),
        )
        for r in graph.read("kpi_contracts")
    ]
    categories = {r["sku"]: r["category"] for r in graph.read("kpi_categories")}
    upgrades = [(r["from_sku"], r["to_sku"]) for r in graph.read("kpi_upgrades")]
    return GraphFacts(purchases, assets, contracts, categories, upgrades)


def kpis_from_facts(facts: GraphFacts, as_of: date, *, cac: float | None = None) -> KPIs:
    """The arithmetic of every KPI; see docs/kpis.md for the definitions."""
    year_start, previous_start = years_before(as_of, 1), years_before(as_of, 2)
    end, start, prev = _seconds(as_of), _seconds(year_start), _seconds(previous_start)
    accounts, products = _Index(), _Index()
    p = facts.purchases
    pair_acc, pair_sku = accounts.codes(p.pair_account), products.codes(p.pair_sku)

    # Holdings: every account x product pair with the moment it was first held before as_of.
    held = [h for h in facts.assets if h.since < as_of] + [
        Holding(c.account_id, c.sku, c.starts_at) for c in facts.contracts if c.sku and c.starts_at < as_of
    ]
    bought = p.pair_first_at < end
    held_acc = np.concatenate([pair_acc[bought], accounts.codes(h.account_id for h in held)])
    held_sku = np.concatenate([pair_sku[bought], products.codes(h.sku for h in held)])
    held_at = np.concatenate([p.pair_first_at[bought], _seconds_array(h.since for h in held)])
    n_acc, n_sku = len(accounts), len(products)
    codes, since = _earliest(held_acc * n_sku + held_sku, held_at)

    pair_code = pair_acc * n_sku + pair_sku  # one pair per BOUGHT: distinct
    pair_since = _lookup(pair_code, codes, since)

    line_acc = pair_acc[p.line_pair]
    this_year = (p.line_at >= start) & (p.line_at < end)
    last_year = (p.line_at >= prev) & (p.line_at < start)
    rev_now = np.bincount(line_acc[this_year], weights=p.line_revenue[this_year], minlength=n_acc)
    rev_before = np.bincount(line_acc[last_year], weights=p.line_revenue[last_year], minlength=n_acc)
    revenue = float(rev_now.sum())
    bought_now = np.zeros(len(pair_code), dtype=bool)  # pairs with a line this year
    bought_now[p.line_pair[this_year]] = True
    active = np.zeros(n_acc, dtype=bool)
    active[pair_acc[bought_now]] = True

    per_account = np.bincount(pair_acc[bought_now], minlength=n_acc)[active]
    whitespace = _whitespace(codes, n_sku, facts.categories, products, active)

    ancestors = _ancestors(facts.upgrades)
    held_at_start = codes[since < start]
    existing = np.zeros(n_acc, dtype=bool)
    existing[held_at_start // n_sku] = True
    new = bought_now & existing[pair_acc] & (pair_since >= start)
    upgrade = new & _on_upgrade_path(pair_code, new, held_at_start, n_sku, ancestors, products)
    cross = new & ~upgrade
    cross_revenue = float(p.line_revenue[this_year & cross[p.line_pair]].sum())
    upgrade_revenue = float(p.line_revenue[this_year & upgrade[p.line_pair]].sum())

    base = rev_before > 0
    base_before, base_now = float(rev_before[base].sum()), float(rev_now[base].sum())
    kept = float(np.minimum(rev_now, rev_before)[base].sum())

    ending, renewed = _contracts_ending(facts.contracts, as_of, ancestors)
    deals = int((bought_now & (pair_since >= start)).sum())
    to_upsell = _time_to_upsell(
        codes, since, pair_code[bought], pair_since[bought], n_sku, ancestors, products
    )
    active_count = int(active.sum())
    average_yearly = revenue / active_count if active_count else None
    churn = 1 - float((base & (rev_now > 0)).sum()) / float(base.sum()) if base.any() else None
    years = 1 / churn if churn else None
    clv = average_yearly * years if average_yearly is not None and years is not None else None
    return KPIs(
        as_of=as_of,
        year_start=year_start,
        previous_start=previous_start,
        revenue=revenue,
        revenue_previous=float(rev_before.sum()),
        active_accounts=int(active.sum()),
        products_per_customer=float(per_account.mean()) if len(per_account) else None,
        products_per_customer_median=float(np.median(per_account)) if len(per_account) else None,
        whitespace_filled=_ratio(whitespace[0], whitespace[1]),
        whitespace_filled_cells=whitespace[0],
        whitespace_cells=whitespace[1],
        whitespace_categories=whitespace[2],
        cross_sell_share=_ratio(cross_revenue, revenue),
        cross_sell_revenue=cross_revenue,
        cross_sell_pairs=int(cross.sum()),
        cross_sell_accounts=len(np.unique(pair_acc[cross])),
        upgrade_share=_ratio(upgrade_revenue, revenue),
        upgrade_revenue=upgrade_revenue,
        upgrade_pairs=int(upgrade.sum()),
        deals=deals,
        upsell_deal_share=_ratio(float(upgrade.sum()), float(deals)),
        upsell_average_value=_ratio(upgrade_revenue, float(upgrade.sum())),
        time_to_upsell_days=float(np.median(to_upsell)) if len(to_upsell) else None,
        time_to_upsell_accounts=len(to_upsell),
        net_revenue_retention=_ratio(base_now, base_before),
        gross_revenue_retention=_ratio(kept, base_before),
        retention_base_accounts=int(base.sum()),
        retention_retained_accounts=int((base & (rev_now > 0)).sum()),
        retention_revenue_previous=base_before,
        retention_revenue_current=base_now,
        net_revenue_retention_goal=NRR_GOAL,
        average_yearly_revenue=average_yearly,
        account_churn=churn,
        relationship_years=years,
        customer_lifetime_value=clv,
        acquisition_cost=cac,
        clv_to_cac=clv / cac if clv is not None and cac else None,
        contracts_ending=len(ending),
        contracts_ending_accounts=len({c.account_id for c in ending}),
        contracts_ending_value=sum(c.annual_value for c in ending),
        contracts_ending_renewed=len(renewed),
        ending_days=ENDING_DAYS,
    )


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


class _Index:
    """Dense integer codes for string ids, shared by every source so codes line up."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def codes(self, values: Iterable[str]) -> IntArray:
        values = list(values)
        ids = self.ids
        for value in dict.fromkeys(values):  # the distinct values, few: a Python loop is fine
            if value not in ids:
                ids[value] = len(ids)
        return np.fromiter(map(ids.__getitem__, values), dtype=np.int64, count=len(values))


def _earliest(codes: IntArray, at: IntArray) -> tuple[IntArray, IntArray]:
    """Distinct codes (sorted) and the earliest time of each."""
    order = np.lexsort((at, codes))
    codes, at = codes[order], at[order]
    first = np.ones(len(codes), dtype=bool)
    first[1:] = codes[1:] != codes[:-1]
    return codes[first], at[first]


def _lookup(keys: IntArray, codes: IntArray, values: IntArray) -> IntArray:
    """values[i] for each key equal to codes[i] (codes sorted and holding every key). The keys
    are sorted first: searchsorted with sorted needles walks memory in order, several times faster."""
    if not len(codes):
        return np.zeros(len(keys), dtype=np.int64)
    order = np.argsort(keys)
    out = np.empty(len(keys), dtype=np.int64)
    out[order] = values[np.minimum(np.searchsorted(codes, keys[order]), len(codes) - 1)]
    return out


def _whitespace(
    held: IntArray, n_sku: int, categories: Mapping[str, str], products: _Index, active: BoolArray
) -> tuple[int, int, int]:
    """(filled cells, cells, categories in play) of the active accounts x categories matrix."""
    names = {name: i for i, name in enumerate(sorted(set(categories.values())))}
    category_of = np.full(n_sku, -1, dtype=np.int64)
    for sku, name in categories.items():
        if sku in products.ids:
            category_of[products.ids[sku]] = names[name]
    held_cat = category_of[held % n_sku] if n_sku else np.zeros(0, dtype=np.int64)
    has = held_cat >= 0
    in_play = len(np.unique(held_cat[has]))  # categories at least one account holds
    width = max(len(names), 1)
    cells = np.unique((held[has] // n_sku) * width + held_cat[has])
    filled = int(active[cells // width].sum())
    return filled, int(active.sum()) * in_play, in_play


def _ancestors(upgrades: list[tuple[str, str]]) -> dict[str, set[str]]:
    """For each product, every product with an upgrade path to it (X -> X Pro -> X Pro Max)."""
    parents: dict[str, set[str]] = defaultdict(set)
    for src, dst in upgrades:
        parents[dst].add(src)
    out: dict[str, set[str]] = {}
    for sku in parents:
        seen: set[str] = set()
        todo = list(parents[sku])
        while todo:
            q = todo.pop()
            if q not in seen:
                seen.add(q)
                todo.extend(parents.get(q, ()))
        seen.discard(sku)
        out[sku] = seen
    return out


def _on_upgrade_path(
    pair_code: IntArray,
    new: BoolArray,
    held_at_start: IntArray,
    n_sku: int,
    ancestors: dict[str, set[str]],
    products: _Index,
) -> BoolArray:
    """Which new pairs are for a product on an upgrade path from a product the account held at
    the start of the year (held_at_start: sorted codes)."""
    ids = products.ids
    edges = [
        (ids[src], ids[dst]) for dst, srcs in ancestors.items() if dst in ids for src in srcs if src in ids
    ]
    out = np.zeros(len(pair_code), dtype=bool)
    if not edges or not new.any():
        return out
    src, dst = np.array(edges, dtype=np.int64).T
    order = np.argsort(dst, kind="stable")
    src, dst = src[order], dst[order]
    # expand every new pair into (pair, ancestor) candidates: the ancestors of its product
    cand = np.flatnonzero(new)
    cand_sku = pair_code[cand] % n_sku
    lo, hi = np.searchsorted(dst, cand_sku, "left"), np.searchsorted(dst, cand_sku, "right")
    count = hi - lo
    owner = np.repeat(cand, count)
    offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    ancestor = src[np.repeat(lo, count) + offset]
    wanted = (pair_code[owner] // n_sku) * n_sku + ancestor
    pos = np.minimum(np.searchsorted(held_at_start, wanted), max(len(held_at_start) - 1, 0))
    found = held_at_start[pos] == wanted if len(held_at_start) else np.zeros(len(wanted), dtype=bool)
    out[owner[found]] = True
    return out


def _time_to_upsell(
    codes: IntArray,
    since: IntArray,
    pair_code: IntArray,
    pair_since: IntArray,
    n_sku: int,
    ancestors: dict[str, set[str]],
    products: _Index,
) -> FloatArray:
    """Days from each account's first holding to its first upgrade, for the accounts with one. An
    upgrade: a bought product on an upgrade path from a product the account held strictly before
    (codes/since: every holding, sorted by code, with its earliest time)."""
    ids = products.ids
    edges = [
        (ids[src], ids[dst]) for dst, srcs in ancestors.items() if dst in ids for src in srcs if src in ids
    ]
    if not edges or not len(pair_code):
        return np.zeros(0, dtype=np.float64)
    src, dst = np.array(edges, dtype=np.int64).T
    order = np.argsort(dst, kind="stable")
    src, dst = src[order], dst[order]
    sku = pair_code % n_sku
    lo, hi = np.searchsorted(dst, sku, "left"), np.searchsorted(dst, sku, "right")
    count = hi - lo
    owner = np.repeat(np.arange(len(pair_code)), count)
    offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    wanted = (pair_code[owner] // n_sku) * n_sku + src[np.repeat(lo, count) + offset]
    pos = np.minimum(np.searchsorted(codes, wanted), len(codes) - 1)
    held_before = (codes[pos] == wanted) & (since[pos] < pair_since[owner])
    upsell_pairs = np.unique(owner[held_before])
    if not len(upsell_pairs):
        return np.zeros(0, dtype=np.float64)
    account = pair_code[upsell_pairs] // n_sku
    first_upsell = np.full(int(account.max()) + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_upsell, account, pair_since[upsell_pairs])
    first_held = np.full(len(first_upsell), np.iinfo(np.int64).max, dtype=np.int64)
    held_account = codes // n_sku
    keep = held_account < len(first_held)
    np.minimum.at(first_held, held_account[keep], since[keep])
    with_upsell = np.unique(account)
    days: FloatArray = (first_upsell[with_upsell] - first_held[with_upsell]).astype(np.float64) / _DAY
    return days


def _contracts_ending(
    contracts: list[ContractTerm], as_of: date, ancestors: dict[str, set[str]]
) -> tuple[list[ContractTerm], list[ContractTerm]]:
    """(ending without a successor, ending with one). A successor is a term of the same account
    that starts and ends later, sells the same service product or an upgrade of it (basic ->
    premium renewal) and, when both name covered products, covers one of the same: a parallel
    contract for other machines is no renewal."""
    by_account: dict[str, list[ContractTerm]] = defaultdict(list)
    for c in contracts:
        by_account[c.account_id].append(c)
    ending: list[ContractTerm] = []
    renewed: list[ContractTerm] = []
    for c in contracts:
        if not 0 <= (c.ends_at - as_of).days <= ENDING_DAYS:
            continue
        followed = any(_succeeds(n, c, ancestors) for n in by_account[c.account_id])
        (renewed if followed else ending).append(c)
    return ending, renewed


def _succeeds(n: ContractTerm, c: ContractTerm, ancestors: dict[str, set[str]]) -> bool:
    if c.sku is None or n.sku is None or not (n.starts_at > c.starts_at and n.ends_at > c.ends_at):
        return False
    same_service = n.sku == c.sku or c.sku in ancestors.get(n.sku, ())
    return same_service and (not n.covers or not c.covers or bool(n.covers & c.covers))


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _seconds(day: date) -> int:
    """Midnight at the start of `day` in the ledger's unit (seconds since 1970, local time)."""
    return (day - _EPOCH).days * _DAY


def _seconds_array(days: Iterable[date]) -> IntArray:
    return np.fromiter((_seconds(d) for d in days), dtype=np.int64)


def _native_date(value: Any) -> date:
    """A date from what the driver returns for a Date, LocalDateTime or ISO string property."""
    native = value.to_native() if hasattr(value, "to_native") else value
    if isinstance(native, datetime):
        return native.date()
    if isinstance(native, date):
        return native
    if isinstance(native, str):
        try:  # a stored date, not a user's: any day of the calendar
            return date.fromisoformat(native[:10])
        except ValueError:
            raise InvalidInput(f"stored date {native!r} is not a date (expected YYYY-MM-DD)") from None
    raise InvalidInput(f"expected a date in the graph, got {value!r}")
