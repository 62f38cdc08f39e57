"""crossgraph kpis: whether account growth works, in the figures of docs/kpis.md."""

from __future__ import annotations

import json
from datetime import timedelta

import typer
from rich.table import Table

from crossgraph.cli.common import console, fails_cleanly, graph, settings
from crossgraph.dates import parse_day
from crossgraph.intel.kpis import KPIs, compute_kpis


def register(app: typer.Typer) -> None:
    app.command("kpis")(kpis)


@fails_cleanly
def kpis(
    as_of: str = typer.Option(
        None, "--as-of", help="Reporting day YYYY-MM-DD (default: today, UTC, as for plans)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts (ratios as fractions)."),
) -> None:
    """Products per customer, whitespace filled, cross-sell share, net revenue retention, contracts ending."""
    day = parse_day(as_of) if as_of else None
    with graph() as g:
        result = compute_kpis(g, as_of=day, cac=settings().kpi_cac)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    console.print(kpi_table(result))


def kpi_table(k: KPIs) -> Table:
    year = f"{k.year_start} to {k.as_of - timedelta(days=1)}"
    table = Table(title=f"Account growth as of {k.as_of} (this year: {year})")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    table.add_column("from")
    table.add_row(
        "products per customer",
        _num(k.products_per_customer),
        f"median {_num(k.products_per_customer_median)}; distinct products bought this year "
        f"by {k.active_accounts:,} active accounts",
    )
    table.add_row(
        "whitespace filled",
        _pct(k.whitespace_filled),
        f"{k.whitespace_filled_cells:,} of {k.whitespace_cells:,} cells "
        f"({k.active_accounts:,} active accounts x {k.whitespace_categories:,} categories)",
    )
    table.add_row(
        "cross-sell revenue share",
        _pct(k.cross_sell_share),
        f"{_money(k.cross_sell_revenue)} of {_money(k.revenue)}: {k.cross_sell_pairs:,} new "
        f"products at {k.cross_sell_accounts:,} existing accounts",
    )
    table.add_row(
        "upgrade revenue share",
        _pct(k.upgrade_share),
        f"{_money(k.upgrade_revenue)}: {k.upgrade_pairs:,} new products on an upgrade path",
    )
    table.add_row(
        "upsell deals",
        _pct(k.upsell_deal_share),
        f"{k.upgrade_pairs:,} of {k.deals:,} deals (products first bought this year); "
        f"average upsell value {_money(k.upsell_average_value)}",
    )
    table.add_row(
        "time to upsell",
        "-" if k.time_to_upsell_days is None else f"{k.time_to_upsell_days / 365.25:,.1f} years",
        f"median from first holding to first upgrade, {k.time_to_upsell_accounts:,} accounts",
    )
    table.add_row(
        "net revenue retention",
        _pct(k.net_revenue_retention),
        f"{_money(k.retention_revenue_current)} this year from {k.retention_base_accounts:,} accounts "
        f"with {_money(k.retention_revenue_previous)} last year; gross {_pct(k.gross_revenue_retention)}, "
        f"{k.retention_retained_accounts:,} still buying",
    )
    renewed = f"; {k.contracts_ending_renewed:,} more already renewed" if k.contracts_ending_renewed else ""
    table.add_row(
        f"contracts ending in {k.ending_days} days",
        f"{k.contracts_ending:,}",
        f"at {k.contracts_ending_accounts:,} accounts, {_money(k.contracts_ending_value)} a year{renewed}",
    )
    clv_cac = f"; CLV/CAC {_num(k.clv_to_cac)} (CAC {_money(k.acquisition_cost)})" if k.clv_to_cac else ""
    table.add_row(
        "customer lifetime value",
        _money(k.customer_lifetime_value),
        f"{_money(k.average_yearly_revenue)} a year x {_num(k.relationship_years)} years "
        f"(1 / churn {_pct(k.account_churn)}){clv_cac}",
    )
    table.add_row("revenue", _money(k.revenue), f"last year {_money(k.revenue_previous)}")
    table.add_row("active accounts", f"{k.active_accounts:,}", "with an order line this year")
    return table


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"
