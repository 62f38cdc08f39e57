"""Pydantic models at the HTTP boundary: what every endpoint returns, with examples for the docs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["model", "als", "segment_popularity"]


class Product(BaseModel):
    sku: str
    name: str
    category: str | None = None
    kind: str | None = Field(default=None, description="machine, part, consumable, service, ...")


class AccountRef(BaseModel):
    id: str
    name: str | None = None
    industry: str | None = None
    country: str | None = None
    in_model: bool = Field(description="False for accounts newer than the served model")


class PeerRef(BaseModel):
    id: str
    name: str
    similarity: float = Field(description="Cosine of the ALS account factors, -1..1")


class Driver(BaseModel):
    sku: str
    name: str
    contribution: float = Field(description="This owned product's share of the ALS score")


class EvidenceSummary(BaseModel):
    peers_considered: int = Field(description="The account's K closest peers (K of the model)")
    peers_owning: int = Field(description="How many of them own the product")
    top_peers: list[PeerRef] = Field(description="The closest peers that own it")


class Recommendation(Product):
    rank: int
    score: float = Field(description="Model score; comparable within one list, not across sources")
    source: Source = Field(
        description="model: the served blend; als: ALS alone, after the model's precomputed list ran "
        "out under the filters; segment_popularity: account newer than the model"
    )
    reason: str
    evidence: EvidenceSummary
    drivers: list[Driver] = Field(description="Owned products that contribute most (ALS explain)")


class RecommendationList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "account": {"id": "A00042", "name": "Nordhafen Packaging GmbH", "in_model": True},
                "model_version": "20261123-101500-3f2a9c1d",
                "items": [
                    {
                        "sku": "SVC-PREM",
                        "name": "Service Premium",
                        "rank": 1,
                        "score": 2.41,
                        "source": "model",
                        "reason": "7 of your 20 closest peers own Service Premium; goes with Press X100",
                        "evidence": {"peers_considered": 20, "peers_owning": 7, "top_peers": []},
                        "drivers": [{"sku": "M-100", "name": "Press X100", "contribution": 0.31}],
                    }
                ],
                "partial": False,
            }
        }
    )
    account: AccountRef
    model_version: str
    items: list[Recommendation]
    fallback_segment: str | None = Field(
        default=None, description="For accounts newer than the model: the segment whose popularity ranks"
    )
    partial: bool = Field(
        default=False, description="True when Neo4j could not be asked, so live facts are missing"
    )
    notes: list[str] = Field(default_factory=list)


class SimilarAccount(BaseModel):
    id: str
    name: str
    industry: str | None
    country: str | None
    similarity: float
    shared_products: int
    products_they_own_you_lack: list[Product]


class SimilarList(BaseModel):
    account: AccountRef
    model_version: str
    peers: list[SimilarAccount]


class PeerPurchase(PeerRef):
    first_bought: datetime | None = None
    last_bought: datetime | None = None
    orders: int | None = None
    quantity: float | None = None
    revenue: float | None = None
    bought_before: list[str] = Field(default_factory=list, description="Skus it bought before this one")


class PriorProduct(Product):
    peers: int = Field(description="How many of the buying peers owned it before buying the product")
    account_owns: bool


class ProductEvidence(BaseModel):
    account: AccountRef
    product: Product
    model_version: str
    score: float
    rank: int | None = Field(description="Rank in the account's served list; None when outside it")
    account_owns: bool
    peers_considered: int
    peers_owning: int
    share_of_all_accounts: float = Field(description="Share of every account in the model owning it")
    peers: list[PeerPurchase] = Field(description="The peers that bought it, closest first")
    owned_before: list[PriorProduct] = Field(description="What those peers had bought before it")
    drivers: list[Driver]
    partial: bool = Field(description="True when purchase dates are missing because Neo4j is down")
    notes: list[str] = Field(default_factory=list)


class BatchRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"accounts": ["A00001", "A00002"], "limit": 5}})
    accounts: list[str] = Field(min_length=1, description="Account ids (at most api_batch_max)")
    limit: int = Field(default=10, ge=1, le=50)
    category: list[str] = Field(default_factory=list)
    kind: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    drivers: bool = Field(default=False, description="Compute drivers (slower for big batches)")


class BatchError(BaseModel):
    account: str
    status: int
    message: str


class BatchResponse(BaseModel):
    model_version: str
    results: list[RecommendationList]
    errors: list[BatchError]


class ModelInfo(BaseModel):
    version: str
    created: str | None
    loaded_at: datetime
    model: str | None
    data: dict[str, Any]
    params: dict[str, Any]
    metrics: dict[str, Any] = Field(description="Served model and baselines on the same time split")
    similar_k: int
    top_n: int
    feedback: dict[str, Any] | None = Field(
        description="Online results of this version from POST /v1/feedback: counts per action, "
        "acceptance_rate (accepted / shown), win_rate (won / (won + lost)); null when Neo4j is down"
    )
    feedback_by_version: dict[str, dict[str, Any]] | None = Field(
        default=None, description="The same for every model version that received feedback"
    )


class ReloadResult(BaseModel):
    previous: str | None
    current: str
    changed: bool


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "degraded", "unavailable"]
    model_version: str | None
    graph: Literal["up", "down"]
    detail: str | None = None


class ErrorResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"code": "account_not_found", "detail": "account 'A9' not found"}}
    )
    code: str = Field(description="Stable, machine-readable: account_not_found, unauthorized, ...")
    detail: str = Field(description="What went wrong, naming the offending value")
    errors: list[dict[str, Any]] | None = Field(default=None, description="Each invalid field (422)")
