"""The feedback loop in the graph: what reps did with suggestions, and what it changes.

- dismissed: the suggestion is left out for that account for a configurable period;
- won: left out of that account's suggestions from then on (it owns the product now), and
  counts as a purchase in the next training run (until the real order line arrives,
  which then replaces it: won deals are exported only for pairs without a BOUGHT);
- shown / accepted / won / lost per model version: acceptance and win rate, the online
  counterpart of the offline metrics;
- the decided outcomes per kind and signal: what the fused list's likelihoods are calibrated
  on (recommend.ranking.calibrate).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from crossgraph.errors import AccountNotFound, Conflict, ProductNotFound
from crossgraph.graph.driver import Graph

Action = Literal["shown", "accepted", "dismissed", "won", "lost"]
ACTIONS: tuple[Action, ...] = ("shown", "accepted", "dismissed", "won", "lost")


@dataclass(frozen=True)
class Feedback:
    id: str
    account_id: str
    sku: str
    action: Action
    user: str
    at: datetime
    kind: str = "cross_sell"
    signal: str | None = None  # the item's signal (upgrade_path, renewal, ...), when the client sent it
    model_version: str | None = None
    value: float | None = None
    note: str | None = None
    experiment: str | None = None  # the experiment running when it was given, and the account's arm
    arm: str | None = None
    likelihood: float | None = None  # cross-sell decisions: the peers' share the item showed (server-side)


@dataclass(frozen=True)
class Recorded:
    """What the graph holds under a feedback id after a POST: the new feedback, or on a retry
    the one stored first."""

    feedback: Feedback
    created: bool


def record_feedback(graph: Graph, feedback: Feedback) -> Recorded:
    """Store it. A retry (an id stored before) changes nothing and returns the stored
    feedback; an id stored for another account, product or action is a Conflict."""
    rows = graph.write(
        "record_feedback",
        {
            "id": feedback.id,
            "account_id": feedback.account_id,
            "sku": feedback.sku,
            "action": feedback.action,
            "user": feedback.user,
            "at": feedback.at.isoformat(),
            "kind": feedback.kind,
            "signal": feedback.signal,
            "model_version": feedback.model_version,
            "value": feedback.value,
            "note": feedback.note,
            "experiment": feedback.experiment,
            "arm": feedback.arm,
            "likelihood": feedback.likelihood,
        },
    )
    row = rows[0]
    if not row["account_found"]:
        raise AccountNotFound(feedback.account_id)
    if not row["product_found"]:
        raise ProductNotFound(feedback.sku)
    if row["created"]:
        return Recorded(feedback, created=True)
    stored = (row["stored_account"], row["stored_sku"], row["stored_action"])
    if stored != (feedback.account_id, feedback.sku, feedback.action):
        raise Conflict(
            f"feedback id {feedback.id!r} is already stored for account {stored[0]!r}, product "
            f"{stored[1]!r}, action {stored[2]!r}; use a new id for other feedback"
        )
    at = row["stored_at"].to_native()  # neo4j DateTime -> datetime (microseconds, time zone)
    stored_as = {
        "model_version": row["stored_model"],
        "experiment": row["stored_experiment"],
        "arm": row["stored_arm"],
    }
    return Recorded(replace(feedback, at=at, **stored_as), created=False)


def suppressions(graph: Graph, dismissed_since: datetime) -> dict[str, frozenset[str]]:
    """Account id -> skus not to suggest: dismissed at or after `dismissed_since`, or won."""
    found: dict[str, set[str]] = defaultdict(set)
    for row in graph.read("active_suppressions", {"since": dismissed_since.isoformat()}):
        found[str(row["account_id"])].add(str(row["sku"]))
    return {account: frozenset(skus) for account, skus in found.items()}


def feedback_stats(graph: Graph) -> dict[str, dict[str, Any]]:
    """Per model version: counts per action, acceptance rate (accepted / shown) and win rate
    (won / (won + lost)); a rate is None until its denominator is positive."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ACTIONS, 0))
    for row in graph.read("feedback_stats"):
        counts[str(row["model_version"])][str(row["action"])] = int(row["n"])
    return {version: with_rates(c) for version, c in counts.items()}


def with_rates(counts: dict[str, int]) -> dict[str, Any]:
    shown, decided = counts.get("shown", 0), counts.get("won", 0) + counts.get("lost", 0)
    return {
        **counts,
        "acceptance_rate": counts.get("accepted", 0) / shown if shown else None,
        "win_rate": counts.get("won", 0) / decided if decided else None,
    }


def outcome_counts(graph: Graph, outcomes: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows of kind, signal, action, n: account x product x kind x signal pairs by their latest
    feedback among `outcomes` (a rep who dismissed an item twice decided once)."""
    return graph.read("feedback_outcomes", {"outcomes": list(outcomes)})


def won_deals(graph: Graph, before: int | None = None) -> list[dict[str, Any]]:
    """Won deals for pairs not in the purchase ledger (epoch seconds `at`, revenue)."""
    return graph.read("export_won_feedback", {"before": before})
