"""Storing feedback and its effect on this process's lists, shared by POST /v1/feedback, the
workspace pages and the CRM widget: one write, one rule for what leaves a list."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from crossgraph.api.deps import AppState
from crossgraph.errors import GraphUnavailable
from crossgraph.graph.feedback import Feedback, Recorded, outcome_counts, record_feedback
from crossgraph.recommend.actions import calibrated
from crossgraph.recommend.ranking import OUTCOMES


@dataclass(frozen=True)
class Stored:
    recorded: Recorded  # what the graph holds under the id (on a retry: the first one)
    suppressed: bool  # the product has left the account's list (dismissed, or won: owned now)
    suppressed_until: datetime | None  # dismissals only: when it may come back


def store_feedback(state: AppState, item: Feedback, retry: str = "try again shortly") -> Stored:
    """Write `item` (idempotent by id) and take a dismissed or won product out of this process's
    list at once; other workers follow at their next suppression refresh from the graph.
    Blocking: call from a thread. `retry` ends the message when Neo4j cannot be reached.
    While an experiment runs, the feedback is stored with the account's arm, and without a
    model version given, with the version that arm serves."""
    tag, version = state.experiments.tag(item.account_id)
    if tag is not None:
        item = replace(item, experiment=tag["name"], arm=tag["arm"])
    item = replace(item, model_version=item.model_version or version)
    if item.kind == "cross_sell" and item.action in OUTCOMES:
        item = replace(item, likelihood=_shown_likelihood(state, item))
    stored = state.graph.run(lambda g: (record_feedback(g, item),))
    if stored is None:
        raise GraphUnavailable(f"Neo4j is unreachable: feedback cannot be stored now; {retry}")
    recorded = stored[0]
    kept = recorded.feedback
    now = datetime.now(UTC)
    until = None
    suppressed = False
    if kept.action == "dismissed":
        until = kept.at + timedelta(days=state.settings.feedback_suppress_days)
        suppressed = until > now
    elif kept.action == "won":
        suppressed = True
    if suppressed:
        state.suppressions.add(kept.account_id, kept.sku)
    if kept.action == "won" and recorded.created:  # owned now: refold here, and tell the other workers
        state.graph.run(lambda g: state.changes.wrote(state.holder.loaded, g, [kept.account_id], "won"))
    if kept.action in OUTCOMES and recorded.created:  # a decision: this process's likelihoods at once
        recalibrate(state)
    return Stored(recorded, suppressed, until)


def _shown_likelihood(state: AppState, item: Feedback) -> float | None:
    """The peers' share the account's model gives the product now (what its cross-sell item
    shows before calibration), recorded with a decision so the calibration can compare wins
    with it; None without a model or when the model does not know the account or product."""
    current = state.holder.loaded
    if current is None:
        return None
    engine, _ = state.experiments.pick(item.account_id, current)
    return engine.cross_sell_likelihood(item.account_id, item.sku)


def recalibrate(state: AppState, *, tick: bool = False) -> None:
    """The fused list's likelihoods from every decided feedback in the graph (one aggregate
    read; at start, every `calibration_seconds` and after this process's own decisions).
    With the graph down the last calibration stays. A tick starts no read while its last one
    is still waiting on Neo4j (GraphLink.run's `alone`); a decision's always reads."""
    alone = "calibration" if tick else None
    rows = state.graph.run(lambda g: outcome_counts(g, OUTCOMES), alone=alone)
    if rows is None:
        return
    state.intel = replace(state.intel, fusion=calibrated(state.intel.fusion, rows))
    state.calibrated_at = datetime.now(UTC)
