"""The account plan's sections from hand-made facts."""

from __future__ import annotations

from datetime import UTC, date, datetime

from crossgraph.intel.signals import AccountFacts, Bought, Ledger, Product
from crossgraph.recommend.plan import revenue, to_markdown


def test_the_plans_revenue_table_shows_years_without_purchases_as_zero() -> None:
    def at(year: int) -> int:
        return int(datetime(year, 5, 1, tzinfo=UTC).timestamp())

    ledger = Ledger(
        at=(at(2021), at(2024)), orders=("o1", "o2"), quantities=(1.0, 1.0), revenues=(100.1, 50.2)
    )
    facts = AccountFacts("A1", "Acme", bought=(Bought(Product("S1", "Seal"), ledger),))
    table = revenue(facts, date(2026, 6, 30))["per_year"]
    assert table == {"2021": 100.1, "2022": 0.0, "2023": 0.0, "2024": 50.2, "2025": 0.0, "2026": 0.0}
    markdown = to_markdown(
        {
            "account": {"id": "A1", "name": "Acme"},
            "as_of": "2026-06-30",
            "model_version": "v1",
            "installed_base": {"count": 0},
            "contracts": [],
            "revenue": revenue(facts, date(2026, 6, 30)),
            "contacts": [],
            "touchpoints": {"count": 0, "last": []},
            "opportunities": [],
            "risks": [],
            "events": [],
            "actions": [],
            "notes": [],
        }
    )
    assert "| 2022 | 0.00 |" in markdown and "| 2021 | 100.10 |" in markdown
    assert "## Key contacts\nNo contacts recorded." in markdown
    assert "## Last touchpoints\n- none recorded\n" in markdown
