"""Purchases and accounts posted between training runs: written to the graph as a load writes
them, and in this worker's answers at once (crossgraph.api.changes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Security
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from crossgraph.api.deps import AppState, StateDep, require
from crossgraph.api.errors import ERROR_BODY, RESPONSES
from crossgraph.api.fields import BodyFloat, StrictJsonRoute
from crossgraph.data.tables import ACCOUNTS, PURCHASES, TableSpec
from crossgraph.errors import GraphUnavailable
from crossgraph.graph.changes import ChangeKind
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import load_records
from crossgraph.keys import ApiKey

router = APIRouter(prefix="/v1", tags=["events"], responses=RESPONSES, route_class=StrictJsonRoute)
WriteKey = Annotated[ApiKey, Security(require("write"))]

MAX_ROWS = 1000  # order lines or accounts per call: one graph transaction, answered in well under a second

Id = Annotated[str, Field(min_length=1, max_length=200)]
# A number as sent (JSON number or text): the table's parser checks it, and a problem quotes it as sent
Number = Annotated[int, Field(strict=True)] | BodyFloat | Annotated[str, Field(max_length=50)]


class PurchaseLine(BaseModel):
    """One order line, with the columns of purchases.csv (docs/data-format.md); numbers may be
    JSON numbers or text, and every value is checked as the CSV loader checks it."""

    model_config = ConfigDict(extra="forbid")
    line_id: Id = Field(description="Unique order line id: a line seen before is never counted twice")
    order_id: Id
    account_id: Id = Field(description="An account in the graph (POST /v1/accounts first for a new one)")
    sku: Id = Field(description="A product in the graph")
    quantity: Number = Field(description="Greater than 0")
    revenue: Number = Field(description="Line revenue, at least 0")
    ordered_at: str = Field(max_length=40, description="YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS], local time")


class Purchases(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "lines": [
                    {
                        "line_id": "L-90001",
                        "order_id": "O-5001",
                        "account_id": "A00042",
                        "sku": "SV-PRX-PRE",
                        "quantity": 1,
                        "revenue": 1200.0,
                        "ordered_at": "2026-11-30 10:15",
                    }
                ]
            }
        },
    )
    lines: list[PurchaseLine] = Field(min_length=1, max_length=MAX_ROWS)


class AccountIn(BaseModel):
    """One account, with the columns of accounts.csv; a known id is updated (its values replaced)."""

    model_config = ConfigDict(extra="forbid")
    id: Id
    name: Id
    industry: str | None = Field(default=None, max_length=200)
    country: str | None = Field(default=None, max_length=200)
    size_band: str | None = Field(default=None, max_length=200)
    segment: str | None = Field(default=None, max_length=200, description="Default: the industry")
    parent_id: str | None = Field(default=None, max_length=200, description="An account in the graph")


class Accounts(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "accounts": [{"id": "A09001", "name": "Neubau GmbH", "industry": "Food", "country": "DE"}]
            }
        },
    )
    accounts: list[AccountIn] = Field(min_length=1, max_length=MAX_ROWS)


class Written(BaseModel):
    rows: int = Field(description="Rows in the body (identical duplicates counted once)")
    new_lines: int = Field(default=0, description="Purchases: order lines the graph did not hold yet")
    known_lines: int = Field(default=0, description="Purchases: lines already in the graph, skipped")
    accounts: list[str] = Field(description="The accounts whose answers changed (refolded)")
    change: int | None = Field(
        description="Number of the change in the feed; null when nothing new was written"
    )


@router.post(
    "/purchases",
    response_model=Written,
    responses={
        409: {**ERROR_BODY, "description": "Other writes to the same pairs overlapped it three times"},
        422: {**ERROR_BODY, "description": "A line is invalid"},
    },
)
async def purchases(body: Purchases, state: StateDep, _: WriteKey) -> Written:
    """Order lines as they happen, in the shape and with the checks of purchases.csv. Written
    as `crossgraph load` writes them: idempotent by line_id (a replay writes nothing), nothing
    written when any line is invalid. The accounts' next answers reflect them at once (on
    other workers within `api_poll_seconds`): bought products are never suggested again, count
    in peer evidence, and the account is ranked from its refolded ALS factor (basis "folded")
    until the next training run."""
    records = [_record(line.model_dump()) for line in body.lines]
    return await run_in_threadpool(_write, state, PURCHASES, "body.lines", records, "purchases")


@router.post(
    "/accounts",
    response_model=Written,
    responses={422: {**ERROR_BODY, "description": "An account is invalid"}},
)
async def accounts(body: Accounts, state: StateDep, _: WriteKey) -> Written:
    """New or changed accounts, in the shape and with the checks of accounts.csv, written as
    `crossgraph load` writes them (by id: posting the same account twice changes nothing). A
    new account gets segment popularity until its first purchases, then personal suggestions."""
    records = [_record(account.model_dump()) for account in body.accounts]
    return await run_in_threadpool(_write, state, ACCOUNTS, "body.accounts", records, "accounts")


def _record(values: dict[str, Any]) -> dict[str, str]:
    """JSON values -> the text a CSV cell would hold (the table's parsers check them)."""
    return {k: "" if v is None else repr(v) if isinstance(v, float) else str(v) for k, v in values.items()}


def _write(
    state: AppState, spec: TableSpec, source: str, records: Sequence[dict[str, str]], kind: ChangeKind
) -> Written:
    def write(graph: Graph) -> Written:
        with state.writes:  # this worker's writes one at a time: no two race for a pair
            report = load_records(graph, spec, source, records)  # reruns itself on overlap
        changed = [r[spec.key[0] if spec is ACCOUNTS else "account_id"] for r in records]
        ids = list(dict.fromkeys(s.strip() for s in changed))
        new = spec is ACCOUNTS or report.new_lines > 0
        change = state.changes.wrote(state.holder.loaded, graph, ids, kind) if new else None
        return Written(
            rows=report.rows.get(spec.name, 0),
            new_lines=report.new_lines,
            known_lines=report.known_lines,
            accounts=ids if new else [],
            change=change,
        )

    written = state.graph.run(write)
    if written is None:
        # A write cut off by the timeout may have committed: only an idempotent retry is safe to advise
        raise GraphUnavailable(
            "Neo4j is unreachable or did not answer in time; send the same body again shortly "
            "(rows already written are skipped)"
        )
    return written
