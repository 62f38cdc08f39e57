"""The KPI page quotes each formula of docs/kpis.md word for word, and shows real KPI fields."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from crossgraph.intel.kpis import KPIs
from crossgraph.web.kpidefs import KPIS

DOCS = Path(__file__).parents[2] / "docs" / "kpis.md"


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("*", "").replace("`", "")).strip()


def test_every_formula_is_in_the_kpi_docs() -> None:
    docs = flat(DOCS.read_text(encoding="utf-8"))
    missing = [d.key for d in KPIS if flat(d.formula) not in docs]
    assert not missing, f"formulas not in docs/kpis.md: {missing}"


def test_every_figure_and_count_names_a_kpi_field() -> None:
    names = {f.name for f in fields(KPIs)}
    used = {d.field for d in KPIS} | {c.field for d in KPIS for c in d.counts}
    assert used <= names, used - names
    ratios = {"products_per_customer", "whitespace_filled", "cross_sell_share", "upgrade_share"}
    upsell = {"upsell_deal_share", "time_to_upsell_days", "customer_lifetime_value"}
    assert ratios | upsell | {"net_revenue_retention", "gross_revenue_retention", "contracts_ending"} == {
        d.field for d in KPIS
    }
