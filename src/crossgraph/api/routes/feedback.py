"""What reps did with the suggestions: the feedback loop."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Response, Security, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from crossgraph.api.deps import StateDep, require
from crossgraph.api.errors import RESPONSES
from crossgraph.api.feedback_store import store_feedback
from crossgraph.api.fields import BodyFloat, StrictJsonRoute, Time
from crossgraph.api.schemas import ErrorResponse, ExperimentArm
from crossgraph.graph.feedback import Action, Feedback
from crossgraph.keys import ApiKey

router = APIRouter(prefix="/v1", tags=["feedback"], responses=RESPONSES, route_class=StrictJsonRoute)
WriteKey = Annotated[ApiKey, Security(require("write"))]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"account": "A00042", "sku": "SV-PRX-PRE", "action": "dismissed", "user": "j.meyer"}
        }
    )
    account: str = Field(min_length=1, max_length=200)
    sku: str = Field(min_length=1, max_length=200)
    action: Action = Field(description="shown | accepted | dismissed | won | lost")
    user: str = Field(min_length=1, max_length=200, description="Who acted (CRM user)")
    at: Time | None = Field(default=None, description="When (default: now; no offset: UTC)")
    kind: Literal["cross_sell", "upsell", "renewal"] = "cross_sell"
    model_version: str | None = Field(
        default=None, description="Default: the model serving the account (its experiment arm's)"
    )
    value: BodyFloat | None = Field(default=None, ge=0, description="Deal value (won deals)")
    note: str | None = Field(default=None, max_length=2000)
    id: str | None = Field(
        default=None,
        max_length=200,
        description="Idempotency key: a retried POST with the same id is stored once and answered "
        "with what was stored; the same id for another account, product or action is a 409",
    )


class FeedbackOut(BaseModel):
    id: str
    created: bool = Field(
        description="False when this id had been stored before (the answer is then the stored one)"
    )
    model_version: str | None
    suppressed: bool = Field(
        description="The product is no longer suggested to this account: dismissed (until "
        "suppressed_until) or won (for good: the account owns it now)"
    )
    suppressed_until: datetime | None = Field(
        description="For dismissals: the product is not suggested to this account until then"
    )
    experiment: ExperimentArm | None = Field(
        default=None, description="The experiment running when it was given and the account's arm"
    )


@router.post(
    "/feedback",
    response_model=FeedbackOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": FeedbackOut, "description": "A retry: this id was stored before, nothing new"},
        201: {"description": "Stored"},
        409: {
            "model": ErrorResponse,
            "description": "The id is stored for another account, product or action",
        },
    },
)
async def feedback(body: FeedbackIn, state: StateDep, _: WriteKey, response: Response) -> FeedbackOut:
    """Record what a rep did with a suggestion: 201 when stored, 200 for a retry of an id
    stored before. Dismissed suggestions disappear from this account's list for
    `feedback_suppress_days`; a won product leaves its suggestions for good (the account owns
    it now) and counts as a purchase in the next training run; `/v1/model` reports acceptance
    and win rate per model version."""
    at = body.at or datetime.now(UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    item = Feedback(
        id=body.id or str(uuid.uuid4()),
        account_id=body.account,
        sku=body.sku,
        action=body.action,
        user=body.user,
        at=at,
        kind=body.kind,
        model_version=body.model_version,  # default: the version serving the account (its arm's)
        value=body.value,
        note=body.note,
    )
    # It may have been stored with the answer lost in a timeout: only an id makes a retry safe.
    retry = (
        f"retry with the same id ({body.id!r})"
        if body.id
        else "retry later, with an id so that a retry is stored once"
    )
    stored = await run_in_threadpool(store_feedback, state, item, retry)
    recorded = stored.recorded
    if not recorded.created:
        response.status_code = status.HTTP_200_OK  # nothing new was created
    item = recorded.feedback  # on a retry: as stored the first time
    return FeedbackOut(
        id=item.id,
        created=recorded.created,
        model_version=item.model_version,
        suppressed=stored.suppressed,
        suppressed_until=stored.suppressed_until,
        experiment=None
        if item.experiment is None or item.arm is None
        else ExperimentArm(name=item.experiment, arm=item.arm),
    )
