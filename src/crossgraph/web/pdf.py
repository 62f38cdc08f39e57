"""The account plan as a printable A4 PDF (fpdf2, its built-in Helvetica: nothing to bundle).

The built-in PDF fonts only know Windows-1252 (Latin-1 plus curly quotes, dashes, the euro
sign, Œ, Š, Ž), so every text goes through `printable`: characters outside it lose their
accents (NFKD) or are spelt in Latin letters (Ł -> L), and what still does not fit becomes
"?". A name like "Łódź Maszyny ☃" prints as "Lodz Maszyny ?" instead of failing the download."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import date
from typing import Any

from fpdf import FPDF, FontFace, XPos, YPos
from fpdf.enums import TableBordersLayout, TableCellFillMode, VAlign

from crossgraph.web.render import money

ENCODING = "windows-1252"  # what fpdf2 declares for its core fonts (WinAnsiEncoding)
FONT = "Helvetica"
# Letters NFKD leaves alone (no combining accent to strip) and signs people type.
SPELLED = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Ħ": "H",
        "ħ": "h",
        "\u0131": "i",
        "Ŧ": "T",
        "ŧ": "t",
        "Ŋ": "N",
        "ŋ": "n",
        "ĸ": "k",
        "ŀ": "l",
        "Ŀ": "L",
        "→": "->",
        "←": "<-",
        "≥": ">=",
        "≤": "<=",
        "≠": "!=",
        "\u2212": "-",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
    }
)
GREY = (90, 90, 90)
RULE = (170, 170, 170)
HEAD_FILL = (232, 232, 232)
BAR = (120, 120, 120)


def printable(text: object) -> str:
    """`text` in Windows-1252 with nothing lost that can be kept (see the module docstring)."""
    out = []
    for ch in str(text).translate(SPELLED):
        if ch in "\t\n\r":
            out.append(" ")
            continue
        if unicodedata.category(ch) == "Cc":
            continue
        try:
            ch.encode(ENCODING)
        except UnicodeEncodeError:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            try:
                base.encode(ENCODING)
            except UnicodeEncodeError:
                base = ""
            out.append(base or "?")
        else:
            out.append(ch)
    return "".join(out)


def revenue_years(per_year: dict[str, float], as_of: str) -> list[tuple[int, float]]:
    """Every calendar year from the first purchase to the plan's year; years without revenue as 0."""
    if not per_year:
        return []
    years = {int(y): float(v) for y, v in per_year.items()}
    last = max(max(years), date.fromisoformat(as_of).year)
    return [(y, years.get(y, 0.0)) for y in range(min(years), last + 1)]


class PlanDocument(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.core_fonts_encoding = ENCODING
        self.footer_text = printable(footer_text)
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=18)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(*GREY)
        self.cell(0, 5, f"{self.footer_text} - page {self.page_no()} of {{nb}}", align="C")
        self.set_text_color(0, 0, 0)

    def heading(self, text: str) -> None:
        if self.will_page_break(22):  # never a heading alone at the foot of a page
            self.add_page()
        self.ln(3)
        self.set_font(FONT, "B", 12)
        self.cell(0, 7, printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1.5)
        self.set_font(FONT, size=9)

    def para(self, text: str, *, style: str = "", size: float = 9) -> None:
        self.set_font(FONT, style, size)
        self.multi_cell(0, 4.6, printable(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT, size=9)

    def bullet(self, text: str) -> None:
        self.set_font(FONT, size=9)
        self.set_x(self.l_margin + 2)
        self.cell(4, 4.6, "\u2022")
        self.multi_cell(0, 4.6, printable(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def grid(
        self, headings: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float], align: str
    ) -> None:
        """A table with a shaded heading row (repeated on a new page); `align` is one L/R/C per column."""
        self.set_font(FONT, size=8.5)
        self.set_draw_color(*RULE)
        names = {"L": "LEFT", "R": "RIGHT", "C": "CENTER"}
        with self.table(
            col_widths=tuple(widths),
            text_align=tuple(names[a] for a in align),
            headings_style=FontFace(emphasis="BOLD", fill_color=HEAD_FILL),
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
            cell_fill_mode=TableCellFillMode.NONE,
            v_align=VAlign.T,
            line_height=4.4,
            padding=(1, 1.5),
            width=self.epw,
        ) as table:
            for values in (headings, *rows):
                row = table.row()
                for value in values:
                    row.cell(printable(value))
        self.set_font(FONT, size=9)


def plan_pdf(plan: dict[str, Any]) -> bytes:
    """The dict `recommend.plan.build_plan` returns, as an A4 PDF (the sections of its markdown)."""
    account = plan["account"]
    name = account.get("name") or account["id"]
    doc = PlanDocument(f"Account plan {name} ({account['id']}), as of {plan['as_of']}")
    doc.set_title(printable(f"Account plan: {name}"))
    doc.set_author("crossgraph")
    doc.add_page()

    doc.set_font(FONT, "B", 18)
    doc.multi_cell(0, 8, printable(f"Account plan: {name}"), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_text_color(*GREY)
    doc.para(f"As of {plan['as_of']} - model {plan['model_version']}")
    doc.set_text_color(0, 0, 0)

    _facts(doc, plan)
    _installed_base(doc, plan["installed_base"])
    _contracts(doc, plan["contracts"])
    _revenue(doc, plan)
    _contacts(doc, plan["contacts"], plan["touchpoints"])
    _opportunities(doc, plan["opportunities"])
    doc.heading("Risks")
    for risk in plan["risks"] or [{"reason": "None flagged."}]:
        doc.bullet(risk["reason"])
    if plan["events"]:
        doc.heading("Recent events")
        doc.grid(
            ("date", "event", "what happened"),
            [(e["occurred_at"], e["type"].replace("_", " "), e["text"] or "") for e in plan["events"]],
            (22, 28, 130),
            "LLL",
        )
    _actions(doc, plan["actions"])
    if plan["notes"]:
        doc.heading("Notes")
        for note in plan["notes"]:
            doc.bullet(note)
    return bytes(doc.output())


def _facts(doc: PlanDocument, plan: dict[str, Any]) -> None:
    account, base, r = plan["account"], plan["installed_base"], plan["revenue"]
    active = [c for c in plan["contracts"] if c["active"]]
    trend = f" ({r['trend']:+.0%})" if r["trend"] is not None else ""
    last = (
        f"{r['last_purchase']} ({r['days_since_last_purchase']} days ago)" if r["last_purchase"] else "never"
    )
    oldest = f", the oldest {base['oldest_years']} years old" if base["count"] else ""
    facts = [
        ("Account", account["id"]),
        ("Industry", account.get("industry") or "-"),
        ("Country", account.get("country") or "-"),
        ("Installed base", f"{base['count']} assets{oldest}"),
        ("Active contracts", f"{len(active)}, {money(sum(c['annual_value'] for c in active))} a year"),
        (
            "Revenue, last 12 months",
            f"{money(r['last_12_months'])} against {money(r['previous_12_months'])} the 12 before{trend}",
        ),
        ("Last purchase", last),
    ]
    doc.heading("Account facts")
    for label, value in facts:
        doc.set_font(FONT, "B", 9)
        doc.cell(45, 5, printable(label))
        doc.set_font(FONT, size=9)
        doc.multi_cell(0, 5, printable(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _installed_base(doc: PlanDocument, base: dict[str, Any]) -> None:
    doc.heading("Installed base")
    if not base["count"]:
        doc.para("No installed assets recorded.")
        return
    rows = [
        (
            a["serial"],
            a["name"],
            a["installed_at"],
            f"{a['age_years']} y",
            f"{a['utilization']:.0%}" if a["utilization"] is not None else "-",
        )
        for a in base["assets"]
    ]
    doc.grid(("serial", "model", "installed", "age", "utilisation"), rows, (38, 78, 24, 16, 24), "LLLRR")


def _contracts(doc: PlanDocument, contracts: list[dict[str, Any]]) -> None:
    doc.heading("Contracts")
    if not contracts:
        doc.para("No service contracts.")
        return
    rows = [
        (
            c["id"],
            c["level"],
            c["product"] or "-",
            c["starts_at"],
            c["ends_at"],
            str(c["days_left"]) if c["active"] else "ended",
            money(c["annual_value"]),
        )
        for c in contracts
    ]
    doc.grid(
        ("contract", "level", "product", "starts", "ends", "days left", "per year"),
        rows,
        (20, 18, 60, 20, 20, 18, 24),
        "LLLLLRR",
    )


def _contacts(doc: PlanDocument, contacts: list[dict[str, Any]], touchpoints: dict[str, Any]) -> None:
    doc.heading("Key contacts")
    if contacts:
        rows = [
            (
                c["name"],
                c["role"] or "-",
                c["influence"] or "-",
                c["last_touchpoint"] or "-",
                f"left {c['left_at']}" if c["left_at"] else "active",
            )
            for c in contacts
        ]
        doc.grid(("name", "role", "influence", "last met", "status"), rows, (46, 56, 20, 24, 34), "LLLLL")
    else:
        doc.para("No contacts recorded.")
    doc.heading("Last touchpoints")
    if not touchpoints["last"]:
        doc.para("None recorded.")
        return
    rows = [
        (
            t["occurred_at"],
            t["type"].replace("_", " "),
            t["contact"] or "-",
            t["owner"] or "-",
            t["notes"] or "",
        )
        for t in touchpoints["last"]
    ]
    doc.grid(("date", "type", "with", "by", "notes"), rows, (22, 34, 36, 28, 60), "LLLLL")
    talk = touchpoints["last_upsell_conversation"]
    doc.para(
        f"Last upsell conversation: {talk} ({touchpoints['days_since_upsell_conversation']} days ago)."
        if talk
        else "No upsell conversation on record."
    )


def _revenue(doc: PlanDocument, plan: dict[str, Any]) -> None:
    """Per year: the amount and a bar scaled to the best year, so gaps and trends show at a glance."""
    doc.heading("Revenue per year")
    years = revenue_years(plan["revenue"]["per_year"], plan["as_of"])
    if not years:
        doc.para("No purchases recorded.")
        return
    top = max(v for _, v in years) or 1.0
    bar_x, bar_width, height = doc.l_margin + 48, 110.0, 5.0
    for year, value in years:
        if doc.will_page_break(height):
            doc.add_page()
        y = doc.get_y()
        doc.cell(14, height, str(year))
        doc.cell(30, height, money(value), align="R")
        if value > 0:
            doc.set_fill_color(*BAR)
            doc.rect(bar_x, y + 1, max(0.5, bar_width * value / top), height - 2, style="F")
            doc.set_fill_color(255, 255, 255)
        doc.set_xy(doc.l_margin, y + height)


def _opportunities(doc: PlanDocument, items: list[dict[str, Any]]) -> None:
    doc.heading("Top opportunities")
    if not items:
        doc.para("No opportunities found.")
        return
    rows = [
        (
            str(item["rank"]),
            item["kind"].replace("_", "-"),
            item["name"],
            money(item["expected_value"]),
            item["reason"],
        )
        for item in items
    ]
    doc.grid(("#", "kind", "product", "expected margin", "why"), rows, (7, 18, 45, 24, 86), "RLLRL")


def _actions(doc: PlanDocument, actions: list[dict[str, Any]]) -> None:
    doc.heading("Actions by quarter")
    if not actions:
        doc.para("Nothing due in the next four quarters.")
        return
    current = None
    for action in actions:
        if action["quarter"] != current:
            current = action["quarter"]
            if doc.will_page_break(12):
                doc.add_page()
            doc.ln(1)
            doc.para(current, style="B", size=10)
        doc.bullet(action["action"])
