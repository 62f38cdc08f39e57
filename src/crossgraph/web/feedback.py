"""Feedback given on a page or in the widget: the same graph write as POST /v1/feedback,
and the same effect on this process's list at once (a dismissed or won product leaves it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crossgraph.api.deps import AppState
from crossgraph.errors import GraphUnavailable
from crossgraph.graph.feedback import Action, Feedback, Recorded, record_feedback

# After these the product leaves the account's list (won: it is owned now).
LEAVES_LIST: frozenset[str] = frozenset({"dismissed", "won"})


class WebFeedback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=200)
    action: Action
    kind: Literal["cross_sell", "upsell", "renewal"] = "cross_sell"


class Shown(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[WebFeedback] = Field(max_length=50)


def give_feedback(state: AppState, account_id: str, user: str, body: WebFeedback) -> Recorded:
    """Blocking (writes to Neo4j): call from a thread."""
    item = Feedback(
        id=str(uuid.uuid4()),
        account_id=account_id,
        sku=body.sku,
        action=body.action,
        user=user,
        at=datetime.now(UTC),
        kind=body.kind,
        model_version=state.holder.version,
    )
    stored = state.graph.run(lambda g: (record_feedback(g, item),))
    if stored is None:
        raise GraphUnavailable("Neo4j is unreachable: the feedback was not stored; try again shortly")
    if body.action in LEAVES_LIST:
        state.suppressions.add(account_id, body.sku)
    return stored[0]
