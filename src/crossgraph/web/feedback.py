"""Feedback given on a page or in the widget: the same store_feedback as POST /v1/feedback
(a dismissed or won product leaves the account's list at once)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crossgraph.api.deps import AppState
from crossgraph.api.feedback_store import store_feedback
from crossgraph.graph.feedback import Action, Feedback, Recorded


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
    )
    return store_feedback(state, item).recorded
