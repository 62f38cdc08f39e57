"""KPI arithmetic on tiny hand-made facts, without a database."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from crossgraph.dates import parse_day
from crossgraph.errors import InvalidInput
from crossgraph.intel.kpis import (
    ContractTerm,
    GraphFacts,
    Holding,
    PurchaseFacts,
    history_days,
    kpis_from_facts,
    years_before,
)
from crossgraph.intel.nightly import read_nightly, write_nightly

AS_OF = date(2024, 7, 1)


def purchases(lines: list[tuple[str, str, str, float]]) -> PurchaseFacts:
    """(account, sku, 'YYYY-MM-DD[ HH:MM]', revenue) lines, all before AS_OF, as the graph query
    returns them: one pair per account x product with its first line."""
    pairs: dict[tuple[str, str], int] = {}
    first: list[int] = []
    line_pair, line_at, revenue = [], [], []
    for account, sku, when, value in lines:
        at = int((datetime.fromisoformat(when) - datetime(1970, 1, 1)).total_seconds())
        k = pairs.setdefault((account, sku), len(pairs))
        if k == len(first):
            first.append(at)
        first[k] = min(first[k], at)
        line_pair.append(k)
        line_at.append(at)
        revenue.append(value)
    return PurchaseFacts(
        pair_account=np.array([a for a, _ in pairs], dtype=object),
        pair_sku=np.array([s for _, s in pairs], dtype=object),
        pair_first_at=np.array(first, dtype=np.int64),
        line_pair=np.array(line_pair, dtype=np.int64),
        line_at=np.array(line_at, dtype=np.int64),
        line_revenue=np.array(revenue, dtype=np.float64),
    )


def facts(
    lines: list[tuple[str, str, str, float]],
    *,
    assets: list[Holding] | None = None,
    contracts: list[ContractTerm] | None = None,
    upgrades: list[tuple[str, str]] | None = None,
    categories: dict[str, str] | None = None,
) -> GraphFacts:
    return GraphFacts(purchases(lines), assets or [], contracts or [], categories or {}, upgrades or [])


def contract(
    cid: str, ends: str, *, sku: str = "S-B", starts: str = "2022-01-01", covers: str = ""
) -> ContractTerm:
    return ContractTerm(
        cid,
        "A1",
        sku,
        date.fromisoformat(starts),
        date.fromisoformat(ends),
        1000.0,
        frozenset(covers.split() or ()),
    )


def test_windows_are_calendar_years_and_29_february_falls_back() -> None:
    assert years_before(date(2024, 2, 29), 1) == date(2023, 2, 28)
    assert years_before(date(2024, 2, 29), 2) == date(2022, 2, 28)
    assert years_before(date(2024, 3, 1), 1) == date(2023, 3, 1)


def test_a_bad_day_names_the_option() -> None:
    with pytest.raises(InvalidInput, match=r"--as-of '2024-13-01' is not a date \(expected YYYY-MM-DD\)"):
        parse_day("2024-13-01")
    assert parse_day("2024-07-01") == AS_OF


def test_nothing_to_divide_gives_none_not_zero() -> None:
    k = kpis_from_facts(GraphFacts(PurchaseFacts.empty(), [], [], {}, []), AS_OF)
    assert k.active_accounts == 0 and k.revenue == 0.0
    assert k.products_per_customer is None and k.products_per_customer_median is None
    assert k.whitespace_filled is None and k.cross_sell_share is None and k.upgrade_share is None
    assert k.net_revenue_retention is None and k.gross_revenue_retention is None
    assert json.loads(json.dumps(k.to_dict()))["as_of"] == "2024-07-01"


def test_a_line_at_midnight_on_the_first_day_belongs_to_the_new_year() -> None:
    k = kpis_from_facts(
        facts([("A1", "C", "2023-06-30 23:59", 10.0), ("A1", "C", "2023-07-01 00:00", 7.0)]), AS_OF
    )
    assert (k.revenue, k.revenue_previous) == (7.0, 10.0)
    assert k.net_revenue_retention == pytest.approx(0.7) and k.gross_revenue_retention == pytest.approx(0.7)


def test_an_upgrade_over_two_steps_is_not_cross_sell() -> None:
    k = kpis_from_facts(
        facts(
            [
                ("A1", "X", "2022-01-01", 100.0),
                ("A1", "X-MAX", "2024-01-01", 300.0),
                ("A1", "Y", "2024-02-01", 50.0),
            ],
            upgrades=[("X", "X-PRO"), ("X-PRO", "X-MAX")],
        ),
        AS_OF,
    )
    assert (k.upgrade_revenue, k.upgrade_pairs) == (300.0, 1)
    assert (k.cross_sell_revenue, k.cross_sell_pairs, k.cross_sell_accounts) == (50.0, 1, 1)
    assert k.cross_sell_share == pytest.approx(50 / 350)


def test_installed_base_makes_an_account_existing_and_a_product_held() -> None:
    machine = Holding("A1", "M", date(2015, 1, 1))
    later = Holding("A1", "K", date(2024, 9, 1))  # installed after as_of: not held yet
    k = kpis_from_facts(
        facts(
            [("A1", "M", "2024-03-01", 900.0), ("A1", "C", "2024-03-01", 100.0)],
            assets=[machine, later],
            categories={"M": "Presses", "C": "Consumables", "K": "Cutters"},
        ),
        AS_OF,
    )
    # M was standing before the year: a repeat, not cross-sell; C is new for an existing account
    assert (k.cross_sell_revenue, k.cross_sell_pairs) == (100.0, 1)
    assert (k.whitespace_filled_cells, k.whitespace_cells, k.whitespace_categories) == (2, 2, 2)


def test_contracts_ending_count_day_0_to_day_90() -> None:
    terms = [
        contract("yesterday", "2024-06-30"),
        contract("day0", "2024-07-01", sku="S-0"),
        contract("day90", "2024-09-29", sku="S-90"),
        contract("day91", "2024-09-30", sku="S-91"),
    ]
    k = kpis_from_facts(facts([], contracts=terms), AS_OF)
    assert (k.contracts_ending, k.contracts_ending_accounts, k.contracts_ending_value) == (2, 1, 2000.0)
    assert k.contracts_ending_renewed == 0


@pytest.mark.parametrize(
    ("successor", "renewed"),
    [
        (contract("next", "2027-08-01", sku="S-B", starts="2024-08-02", covers="M1"), True),
        (contract("next", "2027-08-01", sku="S-P", starts="2024-08-02", covers="M1"), True),  # upgraded
        (contract("next", "2027-08-01", sku="S-P", starts="2024-08-02"), True),  # names no machines
        (contract("other", "2027-08-01", sku="S-B", starts="2024-01-01", covers="M2"), False),  # parallel
        (
            contract("other", "2027-08-01", sku="T-1", starts="2024-08-02", covers="M1"),
            False,
        ),  # other service
        (
            contract("older", "2024-12-31", sku="S-B", starts="2020-01-01", covers="M1"),
            False,
        ),  # starts earlier
    ],
)
def test_a_signed_successor_takes_a_contract_off_the_ending_list(
    successor: ContractTerm, renewed: bool
) -> None:
    ending = contract("ending", "2024-08-01", covers="M1")
    k = kpis_from_facts(facts([], contracts=[ending, successor], upgrades=[("S-B", "S-P")]), AS_OF)
    assert k.contracts_ending_renewed == int(renewed)
    assert k.contracts_ending == (0 if renewed else 1) + (successor.ends_at <= date(2024, 9, 29))


def test_upsell_deals_time_to_upsell_and_lifetime_value_by_hand() -> None:
    """This year is 2023-07-01 .. 2024-06-30. A1 moves from Press X to X Pro this year and adds a
    consumable; A4 made the same move in 2022; A3 is new; A2 paid last year and stopped; A5 paid
    both years. Upgrades: X -> X Pro."""
    got = kpis_from_facts(
        facts(
            [
                ("A1", "X", "2022-01-10", 100.0),
                ("A1", "XP", "2023-09-01", 500.0),
                ("A1", "C", "2023-10-01", 50.0),
                ("A2", "X", "2022-08-01", 200.0),
                ("A3", "Y", "2023-08-01", 30.0),
                ("A4", "X", "2021-05-01", 10.0),
                ("A4", "XP", "2022-03-01", 20.0),
                ("A4", "XP", "2023-08-01", 40.0),
                ("A5", "Z", "2022-09-01", 100.0),
                ("A5", "Z", "2023-09-01", 100.0),
            ],
            upgrades=[("X", "XP")],
        ),
        AS_OF,
        cac=120.0,
    )
    # deals: products first held this year by buying them: A1's X Pro and C, A3's Y
    assert (got.deals, got.upgrade_pairs) == (3, 1)
    assert got.upsell_deal_share == pytest.approx(1 / 3)
    assert got.upsell_average_value == 500.0
    a1 = (date(2023, 9, 1) - date(2022, 1, 10)).days  # 599
    a4 = (date(2022, 3, 1) - date(2021, 5, 1)).days  # 304
    assert got.time_to_upsell_accounts == 2
    assert got.time_to_upsell_days == pytest.approx((a1 + a4) / 2)
    # base: A2 and A5 paid last year; A2 stopped: churn 1/2, two years of relationship
    assert got.account_churn == pytest.approx(0.5) and got.relationship_years == pytest.approx(2.0)
    assert got.average_yearly_revenue == pytest.approx(720.0 / 4)  # A1, A3, A4, A5 active
    assert got.customer_lifetime_value == pytest.approx(360.0)
    assert got.clv_to_cac == pytest.approx(3.0) and got.acquisition_cost == 120.0
    assert got.net_revenue_retention_goal == 1.1
    figures = got.to_dict()
    assert figures["customer_lifetime_value"] == 360.0 and figures["upsell_average_value"] == 500.0


def test_lifetime_value_needs_churn_and_clv_to_cac_a_cost() -> None:
    got = kpis_from_facts(facts([("A1", "X", "2022-08-01", 100.0), ("A1", "X", "2023-08-01", 100.0)]), AS_OF)
    assert got.account_churn == 0.0
    assert got.relationship_years is None and got.customer_lifetime_value is None
    assert got.clv_to_cac is None and got.time_to_upsell_days is None and got.deals == 0


def test_the_history_is_six_quarter_starts_before_the_day_then_the_day() -> None:
    assert history_days(date(2026, 6, 30)) == [
        *(date(y, m, 1) for y, m in ((2025, 1), (2025, 4), (2025, 7), (2025, 10), (2026, 1), (2026, 4))),
        date(2026, 6, 30),
    ]
    assert history_days(date(2026, 4, 1))[-3:] == [date(2025, 10, 1), date(2026, 1, 1), date(2026, 4, 1)]


def test_a_nightly_snapshot_gives_the_kpi_page_the_same_figures_and_history(tmp_path: Path) -> None:
    lines = [
        ("A1", "C", "2023-03-02", 40.0),
        ("A1", "D", "2024-02-01", 7.5),
        ("A2", "C", "2024-05-05", 12.25),
    ]
    series = [kpis_from_facts(facts(lines), day, cac=100.0) for day in history_days(AS_OF)]
    write_nightly(tmp_path, series[-1], ["A1", "A2"], history=series[:-1])
    stored = read_nightly(tmp_path / "nightly.json").kpi_series()
    assert stored is not None
    assert [k.to_dict() for k in stored] == [k.to_dict() for k in series]
    assert [k.as_of for k in stored] == history_days(AS_OF)
    write_nightly(tmp_path, series[-1], ["A1", "A2"])  # as written before the history was stored
    assert read_nightly(tmp_path / "nightly.json").kpi_series() is None
