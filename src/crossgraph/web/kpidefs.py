"""What the KPI page says about each figure: its definition (the formulas of docs/kpis.md,
word for word; tests/unit/test_web_kpidefs.py keeps them in step), the counts behind it, and
whether it has a chart over time. Values are the field names of intel.kpis.KPIs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Fmt = Literal["pct", "num", "money", "count", "days"]  # days: rounded to whole days


@dataclass(frozen=True)
class Count:
    label: str
    field: str
    fmt: Fmt = "count"


@dataclass(frozen=True)
class Definition:
    key: str
    title: str
    field: str
    fmt: Fmt
    formula: str  # as in docs/kpis.md
    notes: str
    counts: tuple[Count, ...]
    chart: bool = False  # drawn over the last quarters
    goal: str | None = None  # the field holding its goal, drawn on the chart


KPIS: tuple[Definition, ...] = (
    Definition(
        "products_per_customer",
        "Products per customer",
        "products_per_customer",
        "num",
        "products per customer = sum over active accounts of (distinct products bought this year)"
        " / active accounts",
        "Active: at least one order line this year (the 12 months before the reporting day). "
        "Breadth of the relationship: an account buying machines, parts, service and training "
        "is harder for a competitor to take.",
        (
            Count("median", "products_per_customer_median", "num"),
            Count("active accounts", "active_accounts"),
        ),
        chart=True,
    ),
    Definition(
        "whitespace_filled",
        "Whitespace filled",
        "whitespace_filled",
        "pct",
        "whitespace filled = filled cells / (active accounts x categories in play)",
        "A cell is filled when the account holds a product of the category (bought, installed "
        "or under contract before the reporting day). Categories in play: held by at least one "
        "account.",
        (
            Count("filled cells", "whitespace_filled_cells"),
            Count("cells", "whitespace_cells"),
            Count("categories in play", "whitespace_categories"),
        ),
        chart=True,
    ),
    Definition(
        "cross_sell_share",
        "Cross-sell revenue share",
        "cross_sell_share",
        "pct",
        "cross-sell share = revenue this year from new products at existing accounts, upgrades"
        " excluded / revenue this year (all accounts)",
        "Existing account: held a product before this year started. New product: not held when "
        "the year started. Upgrades (an UPGRADES_TO path from a held product) are counted apart.",
        (
            Count("cross-sell revenue", "cross_sell_revenue", "money"),
            Count("new account x product pairs", "cross_sell_pairs"),
            Count("accounts with one", "cross_sell_accounts"),
            Count("revenue this year", "revenue", "money"),
        ),
    ),
    Definition(
        "upgrade_share",
        "Upgrade revenue share",
        "upgrade_share",
        "pct",
        "upgrade revenue share (same denominator)",
        "Revenue this year from new products on an upgrade path from a product the account held "
        "when the year started (Press X1 -> X1 Pro, Service Basic -> Premium), over all revenue "
        "this year.",
        (
            Count("upgrade revenue", "upgrade_revenue", "money"),
            Count("upgrade pairs", "upgrade_pairs"),
        ),
    ),
    Definition(
        "net_revenue_retention",
        "Net revenue retention",
        "net_revenue_retention",
        "pct",
        "NRR = revenue this year of the accounts with revenue last year / their revenue last year",
        "Base: every account with revenue above zero last year. Expansion adds, contraction and "
        "churn subtract; accounts won this year are not in it. Target: 110 % or more.",
        (
            Count("base accounts", "retention_base_accounts"),
            Count("of them bought again", "retention_retained_accounts"),
            Count("their revenue last year", "retention_revenue_previous", "money"),
            Count("their revenue this year", "retention_revenue_current", "money"),
            Count("goal", "net_revenue_retention_goal", "pct"),
        ),
        chart=True,
        goal="net_revenue_retention_goal",
    ),
    Definition(
        "gross_revenue_retention",
        "Gross revenue retention",
        "gross_revenue_retention",
        "pct",
        "gross revenue retention = sum over the base of min(this year, last year) / last year",
        "Retention without expansion, at most 100 %. Machine orders make yearly revenue lumpy, "
        "so it is low even for loyal accounts.",
        (
            Count("base accounts", "retention_base_accounts"),
            Count("their revenue last year", "retention_revenue_previous", "money"),
        ),
    ),
    Definition(
        "upsell_deal_share",
        "Upsell deals",
        "upsell_deal_share",
        "pct",
        "upsell deals share = upgrade pairs / deals (account x product pairs first bought this year)",
        "A deal is a product an account holds for the first time and bought this year; an upsell "
        "deal is one on an upgrade path from a product it held when the year started.",
        (
            Count("upsell deals", "upgrade_pairs"),
            Count("deals", "deals"),
            Count("average upsell value", "upsell_average_value", "money"),
        ),
    ),
    Definition(
        "time_to_upsell",
        "Time to upsell (days)",
        "time_to_upsell_days",
        "days",
        "time to upsell = median over accounts with an upgrade of (first upgrade - first holding), in days",
        "First holding: the account's first purchase, installed asset or contract. First upgrade: "
        "its first product on an upgrade path from one it held before, up to the reporting day.",
        (Count("accounts with an upgrade", "time_to_upsell_accounts"),),
    ),
    Definition(
        "customer_lifetime_value",
        "Customer lifetime value",
        "customer_lifetime_value",
        "money",
        "CLV = (revenue this year / active accounts) x (1 / account churn)",
        "Account churn: the share of last year's paying accounts without revenue this year; 1 / "
        "churn is the expected relationship length in years under a constant churn. CLV/CAC needs "
        "CROSSGRAPH_KPI_CAC; the domain's target is 3 or more.",
        (
            Count("average yearly revenue", "average_yearly_revenue", "money"),
            Count("relationship years", "relationship_years", "num"),
            Count("account churn", "account_churn", "pct"),
            Count("CLV/CAC", "clv_to_cac", "num"),
        ),
    ),
    Definition(
        "contracts_ending",
        "Contracts ending in the next 90 days",
        "contracts_ending",
        "count",
        "last day (ends_at) is between as_of and as_of + 90 days, both included",
        "Terms with a signed successor (same account, same service or an upgrade of it, the same "
        "machines) are left out and counted as already renewed.",
        (
            Count("accounts", "contracts_ending_accounts"),
            Count("annual value", "contracts_ending_value", "money"),
            Count("already renewed", "contracts_ending_renewed"),
        ),
    ),
)
