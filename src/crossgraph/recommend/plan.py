"""The account plan: one page a rep can read before a meeting, built from the graph and the model.

Sections: installed base (count, ages), contracts and end dates, revenue per year and its
trend, last purchase, key contacts and the last touchpoints, the top next-best actions with
their evidence, risks (a key contact who left among them), and actions per quarter derived
from the data:

- a renewal talk in the quarter before a contract's last quarter (this quarter if that has
  passed);
- replacement and capacity reviews (aging assets, assets at capacity) this quarter;
- other upsell (upgrade paths, service level, volume) next quarter;
- the top three cross-sell products, one per quarter from this one;
- a reactivation call (long silence) or an account review (falling revenue) this quarter;
- an upsell conversation this quarter when the last one is more than six months ago (only for
  accounts whose touchpoints are kept);
- meeting the successor of a key contact who left, this quarter.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from crossgraph.dates import today
from crossgraph.errors import GraphUnavailable
from crossgraph.intel.signals import (
    AccountFacts,
    AccountSignals,
    SignalConfig,
    SignalFacts,
    TriggerEvent,
    compute_signals,
    event_window,
    full_years,
    read_signal_facts,
    upsell_talk_due,
)
from crossgraph.money import cents, money_text
from crossgraph.recommend.actions import KINDS, list_events
from crossgraph.recommend.engine import Engine, Filters
from crossgraph.recommend.nba import Candidates, GraphRun, Intel, ListOptions, cross_sell, fuse_for

QUARTERS_AHEAD = 4


def quarter(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def shift(q: tuple[int, int], n: int) -> tuple[int, int]:
    index = q[0] * 4 + (q[1] - 1) + n
    return index // 4, index % 4 + 1


def label(q: tuple[int, int]) -> str:
    return f"{q[0]}-Q{q[1]}"


@dataclass(frozen=True)
class AccountView:
    """One account as the graph and the model see it at the end of `day`, read in one pass: what
    the plan, the worklist and the fused list are computed from."""

    candidates: Candidates
    facts: AccountFacts  # cut at `day`
    signals: AccountSignals
    events: list[TriggerEvent]
    items: list[dict[str, Any]]  # the fused next-best actions
    day: date


def account_view(
    engine: Engine,
    run: GraphRun,
    account_id: str,
    *,
    as_of: date | None = None,
    intel: Intel | None = None,
    top: int = 8,
    suppressed: frozenset[str] = frozenset(),
) -> AccountView:
    """Raises GraphUnavailable when the graph cannot be asked (the facts live there)."""
    intel = intel or Intel()
    day = as_of or today()
    options = view_options(day, top, suppressed)
    candidates = cross_sell(engine, run, account_id, options)

    peer_ids = candidates.peers(engine)

    window = event_window(day, intel.fusion.event_days)
    found: SignalFacts | None = run(
        lambda g: read_signal_facts(
            g, account_id, peers=peer_ids, events=window, as_of=day, config=intel.signals
        )
    )
    if found is None:
        raise GraphUnavailable(
            "an account plan needs the graph (installed base, contracts, revenue); try again"
        )
    return view_of(engine, candidates, found, options, intel)


def view_options(day: date, top: int, suppressed: frozenset[str]) -> ListOptions:
    """The list an account view fuses: every kind, `top` items, the `suppressed` skus left out."""
    return ListOptions(limit=top, kinds=KINDS, as_of=day, drivers=3, filters=Filters(exclude=suppressed))


def view_of(
    engine: Engine, candidates: Candidates, found: SignalFacts, options: ListOptions, intel: Intel
) -> AccountView:
    """The view from what account_view reads (the worklist reads the facts a page at a time)."""
    day = options.as_of or today()
    signals = compute_signals(found.facts, found.peers, day, intel.signals)
    items = fuse_for(engine, candidates, signals, found.events, options, day, intel)
    return AccountView(candidates, found.facts.as_of(day), signals, found.events, items, day)


def build_plan(
    engine: Engine,
    run: GraphRun,
    account_id: str,
    *,
    as_of: date | None = None,
    intel: Intel | None = None,
    top: int = 8,
    suppressed: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The plan as a JSON-ready dict (render it with `to_markdown`). Needs the graph: the
    installed base, contracts and revenue are live facts, not part of the model. `suppressed`:
    skus the account's reps dismissed or won, left out of the opportunities as in its lists."""
    intel = intel or Intel()
    view = account_view(engine, run, account_id, as_of=as_of, intel=intel, top=top, suppressed=suppressed)
    now, day, items, signals = view.facts, view.day, view.items, view.signals
    return {
        "account": view.candidates.account,
        "as_of": day.isoformat(),
        "model_version": engine.version,
        "installed_base": installed_base(now, day),
        "contracts": contracts(now, day),
        "revenue": revenue(now, day),
        "contacts": contacts_section(now, day),
        "touchpoints": touchpoints_section(now, day, intel.signals),
        "opportunities": items,
        "risks": [{"flag": r.flag, "reason": r.reason} for r in signals.risks],
        "events": list_events(view.events, items, day, intel.fusion),
        "actions": quarter_actions(items, signals, now, day, intel.signals),
        "notes": view.candidates.notes,
    }


def installed_base(facts: AccountFacts, day: date) -> dict[str, Any]:
    assets = sorted(facts.assets, key=lambda a: a.installed_at)
    return {
        "count": len(assets),
        "oldest_years": full_years(assets[0].installed_at, day) if assets else None,
        "assets": [
            {
                "serial": a.serial,
                "sku": a.model.sku,
                "name": a.model.name,
                "installed_at": a.installed_at.isoformat(),
                "age_years": full_years(a.installed_at, day),
                "utilization": a.utilization,
            }
            for a in assets
        ],
    }


def contracts(facts: AccountFacts, day: date) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "level": c.level,
            "product": c.product.name if c.product else None,
            "starts_at": c.starts_at.isoformat(),
            "ends_at": c.ends_at.isoformat(),
            "days_left": (c.ends_at - day).days,
            "annual_value": cents(c.annual_value),
            "active": c.active(day),
        }
        for c in sorted(facts.contracts, key=lambda c: c.ends_at)
    ]


INFLUENCE_ORDER = {"high": 0, "medium": 1, "low": 2}
TOUCHPOINTS_SHOWN = 5


def contacts_section(facts: AccountFacts, day: date) -> list[dict[str, Any]]:
    """Every contact, those still there first, by influence (key contacts first), then name; with
    the day of the last touchpoint with each."""
    last_met: dict[str, date] = {}
    for t in facts.touchpoints:  # newest first
        if t.contact_id is not None:
            last_met.setdefault(t.contact_id, t.occurred_at)
    ordered = sorted(
        facts.contacts,
        key=lambda c: (not c.present(day), INFLUENCE_ORDER.get(c.influence or "", 3), c.name, c.id),
    )
    return [
        {
            "id": c.id,
            "name": c.name,
            "role": c.role,
            "influence": c.influence,
            "key": c.key,
            "email": c.email,
            "left_at": c.left_at.isoformat() if c.left_at else None,
            "last_touchpoint": last_met[c.id].isoformat() if c.id in last_met else None,
        }
        for c in ordered
    ]


def touchpoints_section(facts: AccountFacts, day: date, config: SignalConfig) -> dict[str, Any]:
    """The last touchpoints (newest first), the last upsell conversation and whether one is due."""
    names = {c.id: c.name for c in facts.contacts}
    due, days = upsell_talk_due(facts, day, config)
    talk = facts.last_touchpoint("upsell_conversation")
    return {
        "count": len(facts.touchpoints),
        "last": [
            {
                "id": t.id,
                "type": t.type,
                "occurred_at": t.occurred_at.isoformat(),
                "contact": names.get(t.contact_id) if t.contact_id else None,
                "owner": t.owner,
                "notes": t.notes,
            }
            for t in facts.touchpoints[:TOUCHPOINTS_SHOWN]
        ],
        "last_upsell_conversation": talk.occurred_at.isoformat() if talk else None,
        "days_since_upsell_conversation": days,
        "upsell_conversation_due": due,
    }


def revenue(facts: AccountFacts, day: date) -> dict[str, Any]:
    """Revenue per calendar year (every year from the first purchase to as_of's, a year without
    purchases as 0: a gap is news to a rep), the last 12 months against the 12 before, the last
    purchase."""
    per_year: dict[int, float] = defaultdict(float)
    end = _seconds(day + timedelta(days=1))
    year_ago, two_years_ago = _seconds(day - timedelta(days=365)), _seconds(day - timedelta(days=730))
    last_12 = previous_12 = 0.0
    last_at = None
    for bought in facts.bought:
        for at, value in zip(bought.ledger.at, bought.ledger.revenues, strict=True):
            if at >= end:
                continue
            per_year[datetime.fromtimestamp(at, UTC).year] += value
            if at >= year_ago:
                last_12 += value
            elif at >= two_years_ago:
                previous_12 += value
            last_at = at if last_at is None or at > last_at else last_at
    last = datetime.fromtimestamp(last_at, UTC).date() if last_at is not None else None
    years = range(min(per_year), day.year + 1) if per_year else range(0)
    return {
        "per_year": {str(y): cents(per_year.get(y, 0.0)) for y in years},
        "last_12_months": cents(last_12),
        "previous_12_months": cents(previous_12),
        "trend": round(last_12 / previous_12 - 1, 4) if previous_12 else None,
        "last_purchase": last.isoformat() if last else None,
        "days_since_last_purchase": (day - last).days if last else None,
    }


def quarter_actions(
    items: list[dict[str, Any]],
    signals: AccountSignals,
    facts: AccountFacts,
    day: date,
    config: SignalConfig = SignalConfig(),
) -> list[dict[str, Any]]:
    """Suggested actions for this quarter and the next three, in the order they are due."""
    this = quarter(day)
    horizon = {shift(this, n) for n in range(QUARTERS_AHEAD)}
    planned: list[tuple[tuple[int, int], str, str | None]] = []
    for c in facts.contracts:
        if c.active(day) and quarter(c.ends_at) in horizon:
            talk = max(shift(quarter(c.ends_at), -1), this)
            name = c.product.name if c.product else f"contract {c.id}"
            planned.append(
                (
                    talk,
                    f"Renewal talk: {name} ({c.level}) ends {c.ends_at}, {c.annual_value:,.0f} a year",
                    None,
                )
            )
    cross = 0
    for item in items:
        if item["kind"] == "upsell":
            due = this if item["signal"] in ("aging_asset", "capacity") else shift(this, 1)
            verb = {"aging_asset": "Replacement review", "capacity": "Capacity review"}.get(
                item["signal"], "Propose"
            )
            planned.append((due, f"{verb}: {item['name']} - {_first(item['reason'])}", item["sku"] or None))
        elif item["kind"] == "cross_sell" and cross < 3:
            planned.append(
                (shift(this, cross), f"Offer {item['name']}: {_first(item['reason'])}", item["sku"])
            )
            cross += 1
    for risk in signals.risks:
        if risk.flag == "silence":
            planned.append((this, f"Reactivation call: {risk.reason}", None))
        elif risk.flag == "revenue_falling":
            planned.append((this, f"Account review: {risk.reason}", None))
        elif risk.flag == "key_contact_left":
            planned.append((this, f"Meet the successor: {risk.reason}", None))
    talk_due, talk_days = upsell_talk_due(facts, day, config)
    if talk_due:
        when = f"the last was {talk_days} days ago" if talk_days is not None else "none on record"
        planned.append(
            (this, f"Upsell conversation: {when} (due every {config.upsell_talk_days} days)", None)
        )
    planned.sort(key=lambda p: p[0])
    return [{"quarter": label(q), "action": text, "sku": sku} for q, text, sku in planned]


def to_markdown(plan: dict[str, Any]) -> str:
    a = plan["account"]
    lines = [
        f"# Account plan: {a.get('name') or a['id']} ({a['id']})",
        "",
        f"{a.get('industry') or ''}, {a.get('country') or ''} · as of {plan['as_of']} · "
        f"model {plan['model_version']}",
        "",
        "## Installed base",
    ]
    base = plan["installed_base"]
    if base["count"]:
        lines.append(f"{base['count']} assets, the oldest {base['oldest_years']} years old.")
        lines.append("")
        lines.append("| serial | model | installed | age | utilisation |")
        lines.append("|---|---|---|---|---|")
        for s in base["assets"]:
            util = f"{s['utilization']:.0%}" if s["utilization"] is not None else ""
            lines.append(
                f"| {s['serial']} | {s['name']} | {s['installed_at']} | {s['age_years']} y | {util} |"
            )
    else:
        lines.append("No installed assets recorded.")
    lines += ["", "## Contracts"]
    if plan["contracts"]:
        lines += ["| contract | level | product | ends | days left | per year |", "|---|---|---|---|---|---|"]
        for c in plan["contracts"]:
            lines.append(
                f"| {c['id']} | {c['level']} | {c['product'] or ''} | {c['ends_at']} | {c['days_left']} | "
                f"{money_text(c['annual_value'])} |"
            )
    else:
        lines.append("No service contracts.")
    r = plan["revenue"]
    trend = f"{r['trend']:+.0%}" if r["trend"] is not None else "n/a"
    lines += [
        "",
        "## Revenue",
        "| year | revenue |",
        "|---|---|",
        *[f"| {y} | {money_text(v)} |" for y, v in r["per_year"].items()],
        "",
        f"Last 12 months {money_text(r['last_12_months'])} against {money_text(r['previous_12_months'])} "
        f"the 12 before ({trend}).",
        f"Last purchase: {r['last_purchase'] or 'never'}"
        + (f" ({r['days_since_last_purchase']} days ago)." if r["last_purchase"] else "."),
        "",
        "## Top opportunities",
        "| # | kind | product | expected margin | why |",
        "|---|---|---|---|---|",
    ]
    for item in plan["opportunities"]:
        lines.append(
            f"| {item['rank']} | {item['kind'].replace('_', '-')} | {item['name']} | "
            f"{money_text(item['expected_value'])} | {item['reason']} |"
        )
    lines += ["", "## Key contacts"]
    if plan["contacts"]:
        lines += ["| name | role | influence | last met | status |", "|---|---|---|---|---|"]
        for c in plan["contacts"]:
            status = f"left {c['left_at']}" if c["left_at"] else "active"
            lines.append(
                f"| {c['name']} | {c['role'] or ''} | {c['influence'] or ''} | "
                f"{c['last_touchpoint'] or ''} | {status} |"
            )
    else:
        lines.append("No contacts recorded.")
    tp = plan["touchpoints"]
    lines += ["", "## Last touchpoints"]
    lines += [
        f"- {t['occurred_at']} {t['type'].replace('_', ' ')}"
        + (f" with {t['contact']}" if t["contact"] else "")
        + (f" ({t['owner']})" if t["owner"] else "")
        + (f": {t['notes']}" if t["notes"] else "")
        for t in tp["last"]
    ] or ["- none recorded"]
    if tp["count"]:
        talk = tp["last_upsell_conversation"]
        lines.append(
            f"\nLast upsell conversation: {talk} ({tp['days_since_upsell_conversation']} days ago)."
            if talk
            else "\nNo upsell conversation on record."
        )
    lines += ["", "## Risks"]
    lines += [f"- {r['reason']}" for r in plan["risks"]] or ["- none flagged"]
    if plan["events"]:
        lines += ["", "## Recent events"]
        lines += [
            f"- {e['occurred_at']} {e['type'].replace('_', ' ')}: {e['text'] or ''}" for e in plan["events"]
        ]
    lines += ["", "## Actions by quarter"]
    current = None
    for action in plan["actions"]:
        if action["quarter"] != current:
            current = action["quarter"]
            lines += ["", f"**{current}**"]
        lines.append(f"- {action['action']}")
    if not plan["actions"]:
        lines.append("- nothing due in the next four quarters")
    for note in plan["notes"]:
        lines += ["", f"_Note: {note}_"]
    return "\n".join(lines) + "\n"


def _first(reason: str) -> str:
    """The reason's main clause (the rest, events and peer counts, is in the opportunity table)."""
    return reason.split("; ")[0]


def _seconds(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
