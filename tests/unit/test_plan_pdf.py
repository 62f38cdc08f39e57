"""The account plan as PDF: a rep downloads it, prints it, and finds what the page shows."""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfReader

from crossgraph.web.pdf import plan_pdf, printable, revenue_years


def a_plan(name: str = "Łódź Maszyny ☃") -> dict[str, Any]:
    return {
        "account": {"id": "A00042", "name": name, "industry": "metal", "country": "Poland", "in_model": True},
        "as_of": "2026-11-30",
        "model_version": "20261130-000000-test",
        "installed_base": {
            "count": 1,
            "oldest_years": 9,
            "assets": [
                {
                    "serial": "CNC-2017-000001",
                    "sku": "CNC-L200",
                    "name": "CNC lathe L200",
                    "installed_at": "2017-03-01",
                    "age_years": 9,
                    "utilization": 0.91,
                }
            ],
        },
        "contracts": [
            {
                "id": "C000777",
                "level": "premium",
                "product": "CNC lathe Service Premium",
                "starts_at": "2025-12-01",
                "ends_at": "2026-11-30",
                "days_left": 0,
                "annual_value": 1234567.89,
                "active": True,
            }
        ],
        # 2024 and 2026 have no revenue: the PDF shows them as 0
        "revenue": {
            "per_year": {"2022": 1000.4, "2023": 25000.0, "2025": 4999.5},
            "last_12_months": 4999.5,
            "previous_12_months": 0.0,
            "trend": None,
            "last_purchase": "2025-06-01",
            "days_since_last_purchase": 547,
        },
        "opportunities": [
            {
                "rank": 1,
                "kind": "cross_sell",
                "sku": "CNC-BAR",
                "name": "Bar feeder → CNC “L” series",
                "expected_value": 43210.6,
                "reason": "7 of your 20 closest peers own Bar feeder",
            }
        ],
        "contacts": [
            {
                "id": "P1",
                "name": "Zofia Wójcik",
                "role": "Plant manager",
                "influence": "high",
                "key": True,
                "email": None,
                "left_at": "2026-09-30",
                "last_touchpoint": "2026-05-12",
            }
        ],
        "touchpoints": {
            "count": 1,
            "last": [
                {
                    "id": "T1",
                    "type": "upsell_conversation",
                    "occurred_at": "2026-05-12",
                    "contact": "Zofia Wójcik",
                    "owner": "m.keller",
                    "notes": "Showed the L200 Pro",
                }
            ],
            "last_upsell_conversation": "2026-05-12",
            "days_since_upsell_conversation": 202,
            "upsell_conversation_due": True,
        },
        "risks": [{"flag": "silence", "reason": "No purchase for 547 days"}],
        "events": [
            {"type": "new_site", "occurred_at": "2026-10-04", "text": "New plant in Gdańsk", "sku": None}
        ],
        "actions": [
            {"quarter": "2026-Q4", "action": "Renewal talk: CNC lathe Service Premium", "sku": None},
            {"quarter": "2027-Q1", "action": "Offer Bar feeder", "sku": "CNC-BAR"},
        ],
        "notes": ["Revenue before 2022 is not in the graph."],
    }


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_pdf_holds_the_name_contracts_money_and_zero_revenue_years() -> None:
    pdf = plan_pdf(a_plan())
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    assert "Lódz Maszyny ?" in text  # Ł spelt as L, ź without its accent, the snowman as ?
    assert "C000777" in text and "1,234,568" in text and "43,211" in text
    lines = [line.split() for line in text.splitlines()]
    assert ["2024", "0"] in lines and ["2026", "0"] in lines and ["2023", "25,000"] in lines
    for heading in ("Account facts", "Installed base", "Contracts", "Revenue per year", "Top opportunities"):
        assert heading in text
    assert "Risks" in text and "Recent events" in text and "Gdansk" in text
    assert "2027-Q1" in text and "Offer Bar feeder" in text
    assert "Key contacts" in text and "Zofia Wójcik" in text and "left 2026-09-30" in text
    assert "Last upsell conversation: 2026-05-12 (202 days ago)." in text


def test_any_unicode_prints_instead_of_failing() -> None:
    assert printable("Łódź Maszyny ☃") == "Lódz Maszyny ?"
    assert printable("“Straße” \u2013 5 € → ≥ 3\n中") == "“Straße” \u2013 5 € -> >= 3 ?"
    for name in ("", "🙂" * 300, "\x00\x1b[31m", "Ǆemal Škorić ŒUVRE"):
        assert plan_pdf(a_plan(name)).startswith(b"%PDF-")


def test_revenue_years_run_from_the_first_purchase_to_the_plans_year() -> None:
    assert revenue_years({"2023": 5.0, "2021": 1.0}, "2024-02-01") == [
        (2021, 1.0),
        (2022, 0.0),
        (2023, 5.0),
        (2024, 0.0),
    ]
    assert revenue_years({}, "2024-02-01") == []
