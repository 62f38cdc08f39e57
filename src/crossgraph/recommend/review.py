"""The quarterly account review of the strategic accounts (DOMAIN.md, "Account planning").

Strategic accounts are the smallest set of accounts, largest first, whose revenue in the
quarter's last 12 months covers `share` (default 80 %) of all accounts' revenue, or a chosen
list. For each, the review compares the opportunity list kept for the quarter (the last
`crossgraph worklist refresh` in it, recommend.worklist.write_lists) with the list kept for the
quarter before, so it reports what really was on a rep's list then, not a recomputed one:

- status: revenue in the quarter against the quarter before, and the potential score;
- converted: products of the previous list the account first bought in the quarter, or that a
  rep marked won in it;
- new: products on this quarter's list that were not on the previous one;
- dead: products of the previous list that are gone from this one and were not converted,
  with why: lost or dismissed (feedback in the quarter), or no longer suggested (expired);
- risks that changed: raised and resolved, between the two lists' risk flags;
- actions for next quarter: those the account plan schedules for it.

Without a list kept for the quarter (no refresh ran in it yet), the current list is computed
live and the review says so; without one for the previous quarter, nothing can be converted,
new or dead, and the review says that too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from crossgraph.dates import today
from crossgraph.errors import InvalidInput
from crossgraph.graph.driver import Graph
from crossgraph.money import cents, money_text
from crossgraph.recommend.engine import Engine
from crossgraph.recommend.nba import Intel
from crossgraph.recommend.plan import build_plan

QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
EPOCH = date(1970, 1, 1)


def parse_quarter(text: str) -> tuple[int, int]:
    """'2026Q4' (or '2026-Q4') -> (2026, 4)."""
    found = QUARTER.match(text.strip())
    if not found:
        raise InvalidInput(f"quarter: {text!r} is not a quarter (expected YYYYQn, e.g. 2026Q4)")
    year, number = int(found.group(1)), int(found.group(2))
    if not 1900 <= year <= 2999:
        raise InvalidInput(f"quarter: {text!r} lies outside 1900..2999")
    return year, number


def label(q: tuple[int, int]) -> str:
    return f"{q[0]}Q{q[1]}"


def bounds(q: tuple[int, int]) -> tuple[date, date]:
    """First day and the day after the last."""
    start = date(q[0], 3 * q[1] - 2, 1)
    after = date(q[0] + 1, 1, 1) if q[1] == 4 else date(q[0], 3 * q[1] + 1, 1)
    return start, after


def previous(q: tuple[int, int]) -> tuple[int, int]:
    return (q[0] - 1, 4) if q[1] == 1 else (q[0], q[1] - 1)


def following(q: tuple[int, int]) -> tuple[int, int]:
    return (q[0] + 1, 1) if q[1] == 4 else (q[0], q[1] + 1)


def strategic(rows: Sequence[dict[str, Any]], share: float) -> list[dict[str, Any]]:
    """The smallest prefix of `rows` (largest revenue first) whose revenue reaches `share` of the total."""
    total = sum(r["revenue"] for r in rows)
    chosen, covered = [], 0.0
    for row in rows:
        if total <= 0 or covered >= share * total:
            break
        chosen.append(row)
        covered += row["revenue"]
    return chosen


def build_review(
    engine: Engine,
    graph: Graph,
    quarter: str,
    *,
    accounts: Sequence[str] = (),
    share: float = 0.8,
    intel: Intel | None = None,
    as_of: date | None = None,
) -> dict[str, Any]:
    """The review as a JSON-ready dict (render it with `to_markdown`)."""
    if not 0 < share <= 1:
        raise InvalidInput(f"share: {share} must be in (0, 1]")
    q = parse_quarter(quarter)
    start, after = bounds(q)
    day = min(as_of or today(), after - timedelta(days=1))
    if day < start:
        raise InvalidInput(f"quarter: {label(q)} has not started on {day}")
    prev = previous(q)
    prev_start, _ = bounds(prev)
    year_ago = after - timedelta(days=365)
    # strategic accounts by revenue of the 12 months up to the quarter's end
    by_revenue = graph.read(
        "review_revenue",
        {"ids": None, "since": _seconds(year_ago), "until": _seconds(after), "before": _seconds(year_ago)},
    )
    if accounts:
        found = {r["id"]: r for r in by_revenue}
        missing = [a for a in accounts if a not in found and a not in engine.account_index]
        if missing:
            raise InvalidInput(f"accounts: unknown or without revenue {missing[:10]}")
        chosen = [found.get(a) or {"id": a, "name": a, "revenue": 0.0} for a in accounts]
    else:
        chosen = strategic(by_revenue, share)
    ids = [str(r["id"]) for r in chosen]
    total = sum(r["revenue"] for r in by_revenue)
    quarter_revenue = {
        r["id"]: r
        for r in graph.read(
            "review_revenue",
            {"ids": ids, "since": _seconds(start), "until": _seconds(after), "before": _seconds(prev_start)},
        )
    }
    lists: dict[tuple[str, str], dict[str, Any]] = {
        (r["account_id"], r["quarter"]): r
        for r in graph.read("review_lists", {"ids": ids, "quarters": [label(prev), label(q)]})
    }
    since_time, until_time = datetime.combine(start, time()), datetime.combine(after, time())
    outcomes = {
        r["account_id"]: r
        for r in graph.read(
            "review_outcomes",
            {
                "ids": ids,
                "since_time": since_time,
                "until_time": until_time,
                "since_zoned": since_time.replace(tzinfo=UTC),
                "until_zoned": until_time.replace(tzinfo=UTC),
            },
        )
    }
    intel = intel or Intel()
    reviewed = []
    for row in chosen:
        account_id = str(row["id"])
        plan = build_plan(engine, lambda call: call(graph), account_id, as_of=day, intel=intel)
        current = lists.get((account_id, label(q))) or _live_list(plan)
        reviewed.append(
            _account_review(
                plan,
                current,
                lists.get((account_id, label(prev))),
                outcomes.get(account_id, {"bought": [], "feedback": []}),
                quarter_revenue.get(account_id, {"revenue": 0.0, "previous": 0.0}),
                following(q),
            )
        )
    covered = sum(r["revenue"] for r in chosen)
    return {
        "quarter": label(q),
        "previous_quarter": label(prev),
        "as_of": day.isoformat(),
        "quarter_complete": day >= after - timedelta(days=1),
        "model_version": engine.version,
        "selection": "chosen" if accounts else f"top accounts covering {share:.0%} of revenue",
        "revenue_12m_covered": cents(covered),
        "revenue_12m_total": cents(total),
        "accounts": reviewed,
    }


def _live_list(plan: dict[str, Any]) -> dict[str, Any]:
    items = plan["opportunities"]
    return {
        "quarter": None,
        "taken_on": plan["as_of"],
        "skus": [i["sku"] for i in items],
        "names": [i["name"] for i in items],
        "kinds": [i["kind"] for i in items],
        "values": [i["expected_value"] for i in items],
        "risks": sorted({r["flag"] for r in plan["risks"]}),
        "potential": None,
        "live": True,
    }


def _entries(kept: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        sku: {"sku": sku, "name": name, "kind": kind, "expected_value": cents(float(value))}
        for sku, name, kind, value in zip(
            kept["skus"], kept["names"], kept["kinds"], kept["values"], strict=True
        )
    }


def _account_review(
    plan: dict[str, Any],
    current: dict[str, Any],
    before: dict[str, Any] | None,
    outcome: dict[str, Any],
    money: dict[str, Any],
    next_quarter: tuple[int, int],
) -> dict[str, Any]:
    now = _entries(current)
    bought = {b["sku"]: b for b in outcome["bought"]}
    feedback = {f["sku"]: f for f in outcome["feedback"]}
    notes = []
    if current.get("live"):
        notes.append(
            "no list was kept for this quarter (run crossgraph worklist refresh): the current list is live"
        )
    converted: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    dead: list[dict[str, Any]] = []
    raised: list[str] = []
    resolved: list[str] = []
    if before is None:
        notes.append("no list was kept for the previous quarter: nothing to compare with")
    else:
        then = _entries(before)
        for sku, entry in then.items():
            if sku in bought or feedback.get(sku, {}).get("action") == "won":
                how = "bought" if sku in bought else "won"
                converted.append({**entry, "how": how})
            elif sku not in now:
                action = feedback.get(sku, {}).get("action")
                dead.append({**entry, "why": action if action in ("lost", "dismissed") else "expired"})
        new = [entry for sku, entry in now.items() if sku not in then]
        raised = sorted(set(current["risks"]) - set(before["risks"]))
        resolved = sorted(set(before["risks"]) - set(current["risks"]))
    revenue, prior = float(money["revenue"]), float(money["previous"])
    next_label = f"{next_quarter[0]}-Q{next_quarter[1]}"
    return {
        "account": plan["account"],
        "status": {
            "revenue_quarter": cents(revenue),
            "revenue_previous_quarter": cents(prior),
            "change": round(revenue / prior - 1, 4) if prior else None,
            "potential": current.get("potential"),
            "potential_before": before.get("potential") if before else None,
        },
        "converted": converted,
        "new": new,
        "dead": dead,
        "risks_raised": raised,
        "risks_resolved": resolved,
        "risks": plan["risks"],
        "actions_next_quarter": [a for a in plan["actions"] if a["quarter"] == next_label],
        "list_kept_on": str(current["taken_on"]) if current.get("taken_on") else None,
        "notes": notes,
    }


def to_markdown(review: dict[str, Any]) -> str:
    lines = [
        f"# Quarterly account review {review['quarter']}",
        "",
        f"{len(review['accounts'])} strategic accounts ({review['selection']}: "
        f"{money_text(review['revenue_12m_covered'])} of {money_text(review['revenue_12m_total'])} revenue "
        f"in the last 12 months) · as of {review['as_of']} · model {review['model_version']}",
    ]
    for item in review["accounts"]:
        a, s = item["account"], item["status"]
        change = f" ({s['change']:+.0%})" if s["change"] is not None else ""
        lines += [
            "",
            f"## {a.get('name') or a['id']} ({a['id']})",
            "",
            f"Revenue this quarter{'' if review['quarter_complete'] else ' to date'} "
            f"{money_text(s['revenue_quarter'])} against "
            f"{money_text(s['revenue_previous_quarter'])} the quarter before{change}."
            + (f" Upsell potential {s['potential']}" if s["potential"] is not None else "")
            + (f" (was {s['potential_before']})." if s["potential_before"] is not None else "."),
        ]
        for title, entries, extra in (
            ("Converted", item["converted"], "how"),
            ("New", item["new"], None),
            ("Dead", item["dead"], "why"),
        ):
            shown = [
                f"{e['name']} ({e['kind'].replace('_', '-')}, {money_text(e['expected_value'])})"
                + (f" - {e[extra]}" if extra else "")
                for e in entries
            ]
            lines.append(f"- **{title}:** " + ("; ".join(shown) if shown else "none"))
        changed = [f"raised {r.replace('_', ' ')}" for r in item["risks_raised"]]
        changed += [f"resolved {r.replace('_', ' ')}" for r in item["risks_resolved"]]
        lines.append("- **Risks changed:** " + (", ".join(changed) if changed else "none"))
        lines.append("- **Next quarter:**")
        lines += [f"  - {x['action']}" for x in item["actions_next_quarter"]] or [
            "  - no action scheduled: plan one"
        ]
        lines += [f"\n_Note: {n}_" for n in item["notes"]]
    return "\n".join(lines) + "\n"


def _seconds(day: date) -> int:
    """Epoch seconds of the day's midnight, local business time read as UTC (as order lines)."""
    return (day - EPOCH).days * 86_400
