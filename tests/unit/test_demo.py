"""The demo generator writes loadable, deterministic files whose structure a user would notice."""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crossgraph.data.demo import DemoSummary, generate_demo
from crossgraph.data.tables import TABLES, TABLES_BY_NAME, read_table
from crossgraph.errors import InvalidInput

AS_OF = date(2025, 6, 30)
Rows = list[dict[str, Any]]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    return generate_demo(tmp_path_factory.mktemp("demo"), accounts=300, seed=11, as_of=AS_OF)


def rows(summary: DemoSummary, name: str) -> Rows:
    return _parsed(summary.paths[name], name)


@functools.cache
def _parsed(path: Path, name: str) -> Rows:
    table = read_table(TABLES_BY_NAME[name], path)
    assert not table.problems
    return table.rows


def test_every_file_loads_without_problems(demo: DemoSummary) -> None:
    for spec in TABLES:
        path = demo.out_dir / spec.filename
        table = read_table(spec, path)
        assert table.problems == [], table.problems[:5]
        assert len(table.rows) == demo.rows[spec.name] > 0
        header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
        assert header == [c.name for c in spec.columns]
    assert not list(demo.out_dir.glob(".*.tmp"))
    assert f"{demo.purchases:,} lines" in str(demo)


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "a", accounts=60, seed=3, as_of=AS_OF)
    again = generate_demo(tmp_path / "b", accounts=60, seed=3, as_of=AS_OF)
    other = generate_demo(tmp_path / "c", accounts=60, seed=4, as_of=AS_OF)
    for name, path in first.paths.items():
        assert path.read_bytes() == again.paths[name].read_bytes(), name
    assert first.paths["purchases"].read_bytes() != other.paths["purchases"].read_bytes()
    assert first.paths["accounts"].read_bytes() != other.paths["accounts"].read_bytes()


def test_purchases_refer_to_existing_accounts_and_products(demo: DemoSummary) -> None:
    accounts = {r["id"] for r in rows(demo, "accounts")}
    products = {r["sku"] for r in rows(demo, "products")}
    purchases = rows(demo, "purchases")
    assert {r["account_id"] for r in purchases} == accounts  # every account bought something
    assert {r["sku"] for r in purchases} <= products
    orders: dict[str, set[tuple[str, datetime]]] = defaultdict(set)
    for r in purchases:
        orders[r["order_id"]].add((r["account_id"], r["ordered_at"]))
    assert all(len(v) == 1 for v in orders.values())  # an order is one account at one time
    assert len(orders) < len(purchases)  # and many orders carry several lines


def test_parts_fit_machines_the_account_owns(demo: DemoSummary) -> None:
    products = {r["sku"]: r for r in rows(demo, "products")}
    machines: dict[str, set[str]] = defaultdict(set)
    for r in rows(demo, "assets"):
        machines[r["account_id"]].add(r["sku"])
    parts = [r for r in rows(demo, "purchases") if products[r["sku"]]["kind"] == "part"]
    fitting = sum(bool(set(products[r["sku"]]["fits"]) & machines[r["account_id"]]) for r in parts)
    assert len(parts) > 100
    assert fitting / len(parts) > 0.9


def test_upgrades_lead_to_the_pro_model_or_the_next_service_level(demo: DemoSummary) -> None:
    products = {r["sku"]: r for r in rows(demo, "products")}
    kinds: Counter[str] = Counter()
    for r in rows(demo, "upgrades"):
        source, target = products[r["from_sku"]], products[r["to_sku"]]
        assert source["kind"] == target["kind"]
        kinds[source["kind"]] += 1
        if source["kind"] == "machine":
            assert target["name"] == f"{source['name']} Pro"
            assert target["category"] == source["category"]
            assert (source["tier"], target["tier"]) == ("standard", "pro")
            assert target["list_price"] > source["list_price"]
        elif source["kind"] == "service":
            assert (source["tier"], target["tier"]) in {("basic", "premium"), ("premium", "full")}
            assert source["fits"] == target["fits"]
        else:
            assert (source["tier"], target["tier"]) == ("basic", "pro")
    assert kinds.keys() == {"machine", "service", "software"}


def test_discontinued_products_are_no_longer_ordered(demo: DemoSummary) -> None:
    inactive = {r["sku"] for r in rows(demo, "products") if not r["active"]}
    assert inactive
    last_year = datetime.combine(AS_OF, datetime.min.time()) - timedelta(days=300)
    assert not [r for r in rows(demo, "purchases") if r["sku"] in inactive and r["ordered_at"] >= last_year]


def test_contracts_come_up_for_renewal_and_cover_owned_machines(demo: DemoSummary) -> None:
    products = {r["sku"]: r for r in rows(demo, "products")}
    owned: dict[str, set[str]] = defaultdict(set)
    for r in rows(demo, "assets"):
        owned[r["account_id"]].add(r["sku"])
    contracts = rows(demo, "contracts")
    days_left = [(r["ends_at"] - AS_OF).days for r in contracts]
    assert sum(0 <= d <= 180 for d in days_left) / len(contracts) > 0.1
    assert any(0 <= d <= 90 for d in days_left)
    assert any(d < 0 for d in days_left)  # lapsed or renewed
    assert any(d > 365 for d in days_left)
    assert {r["level"] for r in contracts} == {"basic", "premium", "full"}
    for r in contracts:
        assert set(r["covers"]) <= owned[r["account_id"]]
        service = products[r["sku"]]
        assert service["kind"] == "service" and service["tier"] == r["level"]
        assert set(r["covers"]) <= set(service["fits"])


def test_industries_prefer_different_machine_families(demo: DemoSummary) -> None:
    industry = {r["id"]: r["industry"] for r in rows(demo, "accounts")}
    category = {r["sku"]: r["category"] for r in rows(demo, "products")}
    by_industry: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows(demo, "assets"):
        by_industry[industry[r["account_id"]]][category[r["sku"]]] += 1
    top = {name: counts.most_common(1)[0][0] for name, counts in by_industry.items()}
    assert len(top) == 8
    assert len(set(top.values())) >= 5, top


def test_owning_a_family_lifts_its_consumables(demo: DemoSummary) -> None:
    """The collaborative signal: F's consumables are bought by the accounts that run F."""
    products = {r["sku"]: r for r in rows(demo, "products")}
    family_of = {sku: p["category"] for sku, p in products.items() if p["kind"] == "machine"}
    runs: dict[str, set[str]] = defaultdict(set)  # machine category -> accounts
    for r in rows(demo, "assets"):
        runs[family_of[r["sku"]]].add(r["account_id"])
    buys: dict[str, set[str]] = defaultdict(set)  # machine category -> consumable buyers
    for r in rows(demo, "purchases"):
        product = products[r["sku"]]
        if product["kind"] == "consumable":
            buys[family_of[product["fits"][0]]].add(r["account_id"])
    n_accounts = demo.accounts
    lifts = []
    for category, owners in runs.items():
        if len(owners) < 20:
            continue
        with_rate = len(buys[category] & owners) / len(owners)
        without_rate = (len(buys[category] - owners) + 1) / (n_accounts - len(owners) + 1)
        lifts.append(with_rate / without_rate)
    assert len(lifts) >= 3
    assert min(lifts) > 5


def test_history_supports_a_time_split(demo: DemoSummary) -> None:
    purchases = rows(demo, "purchases")
    start = datetime.combine(AS_OF, datetime.min.time())
    times = [r["ordered_at"] for r in purchases]
    assert start - timedelta(days=5 * 365) <= min(times) < start - timedelta(days=4 * 365)
    assert max(times) < start
    cutoff = start - timedelta(days=365)
    before = {(r["account_id"], r["sku"]) for r in purchases if r["ordered_at"] < cutoff}
    new = {(r["account_id"], r["sku"]) for r in purchases if r["ordered_at"] >= cutoff} - before
    assert len({account for account, _ in new}) > 0.3 * demo.accounts


def test_installed_base_and_events_sit_where_a_rep_expects(demo: DemoSummary) -> None:
    assets = rows(demo, "assets")
    installed = [r["installed_at"] for r in assets]
    assert min(installed) >= AS_OF - timedelta(days=15 * 366) and max(installed) < AS_OF
    assert any(r["utilization"] >= 0.9 for r in assets)
    assert len({r["serial"] for r in assets}) == len(assets)
    events = rows(demo, "events")
    recent = sum(r["occurred_at"] >= AS_OF - timedelta(days=365) for r in events)
    assert recent / len(events) > 0.6
    skus = {r["sku"] for r in assets}
    assert all(r["sku"] in skus for r in events if r["sku"])
    assert any("capacity" in (r["text"] or "") for r in events)


def test_contacts_and_touchpoints_give_every_plan_something_to_show(demo: DemoSummary) -> None:
    contacts = {r["id"]: r for r in rows(demo, "contacts")}
    accounts = {r["id"] for r in rows(demo, "accounts")}
    assert {c["account_id"] for c in contacts.values()} == accounts  # everyone has a contact
    assert all(
        any(c["influence"] == "high" for c in contacts.values() if c["account_id"] == a) for a in accounts
    )
    left = [c for c in contacts.values() if c["left_at"] is not None]
    assert 0.03 < len(left) / len(contacts) < 0.15
    assert any(c["influence"] == "high" and c["left_at"] >= AS_OF - timedelta(days=365) for c in left)
    touchpoints = rows(demo, "touchpoints")
    assert all(AS_OF - timedelta(days=731) <= t["occurred_at"] <= AS_OF for t in touchpoints)
    for t in touchpoints:  # the person met works for the account and had not left yet
        if t["contact_id"] is not None:
            contact = contacts[t["contact_id"]]
            assert contact["account_id"] == t["account_id"]
            assert contact["left_at"] is None or contact["left_at"] > t["occurred_at"]
    last_talk: dict[str, date] = {}
    for t in touchpoints:
        if t["type"] == "upsell_conversation":
            last_talk[t["account_id"]] = max(
                last_talk.get(t["account_id"], t["occurred_at"]), t["occurred_at"]
            )
    kept = {t["account_id"] for t in touchpoints}
    due = [a for a in kept if a not in last_talk or (AS_OF - last_talk[a]).days > 182]
    assert 0.3 < len(due) / len(kept) < 0.9  # many, not all, accounts are due an upsell conversation


def test_accounts_form_believable_groups(demo: DemoSummary) -> None:
    accounts = {r["id"]: r for r in rows(demo, "accounts")}
    children = [r for r in accounts.values() if r["parent_id"]]
    assert children
    for child in children:
        parent = accounts[child["parent_id"]]
        assert parent["id"] != child["id"] and parent["parent_id"] is None
        assert parent["size_band"] in {"large", "enterprise"}
    sizes = Counter(r["size_band"] for r in accounts.values())
    assert min(sizes["small"], sizes["mid"]) > sizes["large"] > sizes["enterprise"] > 0


def test_counts_scale_with_accounts(tmp_path: Path) -> None:
    small = generate_demo(tmp_path / "s", accounts=50, seed=5, as_of=AS_OF)
    large = generate_demo(tmp_path / "l", accounts=200, seed=5, as_of=AS_OF)
    assert (small.accounts, large.accounts) == (50, 200)
    assert small.products == large.products  # the catalogue does not depend on the accounts
    for name in ("purchases", "assets", "contracts", "events"):
        assert 2.5 < large.rows[name] / small.rows[name] < 6.5, name


@pytest.mark.parametrize("products", [20, 57, 2000])
def test_catalogue_size_is_met_exactly(tmp_path: Path, products: int) -> None:
    summary = generate_demo(tmp_path, accounts=20, products=products, as_of=AS_OF)
    assert summary.products == products
    assert len(rows(summary, "products")) == products
    assert not read_table(TABLES_BY_NAME["purchases"], summary.paths["purchases"]).problems


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="products"):
        generate_demo(tmp_path, accounts=10, products=5)
    with pytest.raises(InvalidInput, match="accounts"):
        generate_demo(tmp_path, accounts=0)


def test_progress_reaches_the_total_of_every_file(tmp_path: Path) -> None:
    last: dict[str, tuple[int, int]] = {}
    summary = generate_demo(
        tmp_path, accounts=30, as_of=AS_OF, progress=lambda s, d, t: last.__setitem__(s, (d, t))
    )
    assert last.pop("generating") == (6, 6)  # six generation steps, the last one reached
    assert {name.removesuffix(".csv"): done for name, (done, _) in last.items()} == summary.rows
    assert all(done == total for done, total in last.values())


def test_a_failed_write_leaves_the_previous_file_and_no_temp_file(tmp_path: Path) -> None:
    generate_demo(tmp_path, accounts=30, seed=1, as_of=AS_OF)
    before = (tmp_path / "purchases.csv").read_bytes()

    def crash(stage: str, done: int, total: int) -> None:
        if stage == "purchases.csv" and done == 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_demo(tmp_path, accounts=30, seed=2, as_of=AS_OF, progress=crash)
    assert (tmp_path / "purchases.csv").read_bytes() == before
    assert not list(tmp_path.glob(".*.tmp"))
