"""Pydantic models at the HTTP boundary: what every endpoint returns, with examples for the docs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crossgraph.api.fields import BodyBool, BodyInt, Day

Source = Literal["model", "als", "segment_popularity"]
MAX_ITEMS = 100  # products per account list, in the single call and the batch alike
SCORE_TEXT = (
    "0-100: where the product stands among all products this account could still buy (active, "
    "not owned), by the model's ranking of the account: 100 = its first choice, 50 = the middle, "
    "0 = last (accounts newer than the model: ranked by popularity in their segment)."
)


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
    contribution: float = Field(
        description="This owned product's part of the score: for the model's list, of the served "
        "blend (summed over its weighted components); for items beyond it, of the ALS score"
    )


class EvidenceSummary(BaseModel):
    peers_considered: int = Field(description="The account's K closest peers (K of the model)")
    peers_owning: int = Field(description="How many of them own the product")
    top_peers: list[PeerRef] = Field(description="The closest peers that own it")


class TriggerEventRef(BaseModel):
    id: str
    type: str
    occurred_at: str
    text: str | None = None
    sku: str | None = Field(default=None, description="The product the event names, if any")
    boosted_skus: list[str] = Field(
        default_factory=list,
        description="The listed items it boosted: those of the product it names, or with no product "
        "named, those whose signal its type makes more likely",
    )


class Recommendation(BaseModel):
    sku: str
    name: str
    category: str | None = None
    product_kind: str | None = Field(default=None, description="machine, part, consumable, service, ...")
    kind: Literal["cross_sell", "upsell", "renewal"] = Field(
        description="cross_sell: customers like you buy it (the model); upsell: more or better of what the "
        "account has; renewal: a contract ending soon"
    )
    signal: str | None = Field(
        default=None,
        description="upsell and renewal: the rule that found it (upgrade_path, aging_asset, contract_level, "
        "capacity, volume, renewal)",
    )
    rank: int
    score: float | None = Field(
        description=f"{SCORE_TEXT} The same number on every endpoint for the same account and "
        "product. None for an upsell or renewal of a product the account owns. Lists with upsell "
        "or renewal are ranked by expected_value, not by score"
    )
    source: str = Field(
        description="model: the served blend; als: ALS alone, after the model's precomputed list ran "
        "out under the filters; segment_popularity: account newer than the model; graph: a signal"
    )
    reason: str
    evidence: EvidenceSummary | None = Field(description="Cross-sell: the closest peers that own it")
    facts: dict[str, Any] | None = Field(default=None, description="Upsell and renewal: the data behind it")
    drivers: list[Driver] = Field(description="Owned products that contribute most (ALS explain)")
    likelihood: float = Field(
        description="Cross-sell: share of closest peers owning it; else the signal's rate calibrated "
        "on feedback, times the need factor of a speculative upgrade (docs/ranking.md)"
    )
    likelihood_basis: str | None = Field(
        default=None,
        description="Where the likelihood comes from: 'prior 0.80, no decisions yet', "
        "'0.62 from 12 decisions (7 won; prior 0.80)', need factor",
    )
    value: float = Field(description="List price of the product, or the contract's annual value")
    margin_rate: float | None = Field(
        default=None, description="Gross margin share: the product's own, else its product kind's"
    )
    margin: float | None = Field(default=None, description="value x margin_rate")
    need: float | None = Field(
        default=None,
        description="Upgrade path of installed machines: how close they are to replacement age or "
        "to the capacity threshold, 0-1; null where not measured",
    )
    boost: float = Field(description="> 1 when a recent trigger event relates to it")
    urgency: float | None = Field(
        default=None,
        description="Renewals: 1 up to urgency_full_days before the end, less further out; else 1",
    )
    due_in_days: int | None = Field(default=None, description="Renewals: days until the contract ends")
    expected_value: float = Field(
        description="Expected margin: likelihood x margin x boost x urgency (docs/ranking.md)"
    )
    ranking: str | None = Field(default=None, description="expected_value and its factors, in words")
    event_ids: list[str] = Field(
        description="The recent trigger events behind the boost: their text is in the list's events"
    )
    related_skus: list[str] = Field(description="The account's products the item stems from")
    model_score: float | None = Field(
        default=None,
        description="Cross-sell: the raw score of `source` (blended z-scores for model, ALS dot "
        "product for als, the segment's share owning it for segment_popularity); not comparable "
        "across sources or endpoints: show `score`",
    )


class ExperimentArm(BaseModel):
    name: str = Field(description="The running experiment")
    arm: str = Field(description="The account's arm: `current` or a model version")


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
                        "kind": "cross_sell",
                        "product_kind": "service",
                        "rank": 1,
                        "score": 99.6,
                        "model_score": 2.41,
                        "source": "model",
                        "reason": "7 of your 20 closest peers own Service Premium; goes with Press X100, "
                        "which you own; scored by EASE 60 %, ALS 40 %",
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
    kinds: list[Literal["cross_sell", "upsell", "renewal"]]
    as_of: date = Field(
        description="The day upsell, renewal and trigger events are judged at (its end): the request's "
        "as_of, default today in UTC as for plans and KPIs"
    )
    items: list[Recommendation]
    events: list[TriggerEventRef] = Field(
        default_factory=list,
        description="With upsell or renewal: the account's trigger events of the last event_days, "
        "each once, with the items it boosted",
    )
    fallback_segment: str | None = Field(
        default=None, description="For accounts newer than the model: the segment whose popularity ranks"
    )
    basis: Literal["model", "folded", "segment_popularity"] = Field(
        default="model",
        description="What ranked the cross-sell items: the trained model; folded (the account bought, "
        "won or was created after the model was trained: its ALS factor refolded from its current "
        "purchases, peers the model's accounts closest to it, until the next training run); or "
        "segment_popularity (an account newer than the model with no purchases yet)",
    )
    partial: bool = Field(
        default=False, description="True when Neo4j could not be asked, so live facts are missing"
    )
    notes: list[str] = Field(default_factory=list)
    experiment: ExperimentArm | None = Field(
        default=None,
        description="While an experiment runs: its name and the account's arm (which answered); "
        "null otherwise",
    )


class ScoredProduct(Product):
    score: float = Field(description=SCORE_TEXT)


class SimilarAccount(BaseModel):
    id: str
    name: str
    industry: str | None
    country: str | None
    similarity: float
    shared_products: int
    products_they_own_you_lack: list[ScoredProduct] = Field(
        description="Best first: by score for the account asking"
    )


class SimilarList(BaseModel):
    account: AccountRef
    model_version: str
    peers: list[SimilarAccount]


class Dismissal(BaseModel):
    at: datetime = Field(description="When a rep last dismissed this product for the account")
    by: str | None = Field(default=None, description="Who (the CRM user of the feedback)")
    note: str | None = None
    suppressed_until: datetime = Field(description="Not suggested to this account until then")
    suppressed: bool = Field(description="True while suppressed_until is in the future")


class PeerPurchase(PeerRef):
    first_bought: datetime | None = None
    last_bought: datetime | None = None
    orders: int | None = None
    quantity: float | None = None
    revenue: float | None = None
    bought_before: list[Product] = Field(
        default_factory=list, description="The products it bought before this one, by sku"
    )


class PriorProduct(Product):
    peers: int = Field(description="How many of the buying peers owned it before buying the product")
    account_owns: bool


class ProductEvidence(BaseModel):
    account: AccountRef
    product: Product
    model_version: str
    score: float | None = Field(description=f"{SCORE_TEXT} None when the account owns it")
    model_score: float | None = Field(
        default=None, description="The raw model score behind it, as in the recommendations' model_score"
    )
    rank: int | None = Field(description="Rank in the account's served list; None when outside it")
    account_owns: bool
    peers_considered: int
    peers_owning: int
    share_of_all_accounts: float = Field(description="Share of every account in the model owning it")
    peers: list[PeerPurchase] = Field(description="The peers that bought it, closest first")
    owned_before: list[PriorProduct] = Field(description="What those peers had bought before it")
    drivers: list[Driver]
    dismissed: Dismissal | None = Field(
        default=None, description="Set when a rep dismissed this product for the account (POST /v1/feedback)"
    )
    partial: bool = Field(description="True when purchase dates are missing because Neo4j is down")
    notes: list[str] = Field(default_factory=list)


class BatchRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"accounts": ["A00001", "A00002"], "limit": 5}})
    accounts: list[str] = Field(min_length=1, description="Account ids (at most api_batch_max)")
    limit: BodyInt = Field(
        default=10, ge=1, le=MAX_ITEMS, description="Products per account, as in the single call"
    )
    category: list[str] = Field(default_factory=list, description="As in the single call")
    product_kind: list[str] = Field(default_factory=list, description="As in the single call")
    kind: list[str] = Field(
        default_factory=list,
        description="Deprecated: the old name of product_kind",
        json_schema_extra={"deprecated": True},
    )
    exclude: list[str] = Field(default_factory=list)
    drivers: BodyBool = Field(default=False, description="Compute drivers (slower for big batches)")
    opportunity: list[str] = Field(
        default_factory=list, description="As in the single call (default cross_sell)"
    )
    kinds: list[str] = Field(
        default_factory=list,
        description="Deprecated: the old name of opportunity",
        json_schema_extra={"deprecated": True},
    )
    as_of: Day | None = Field(default=None, description="As in the single call")


class BatchError(BaseModel):
    account: str
    status: int
    message: str


class BatchResponse(BaseModel):
    model_version: str
    results: list[RecommendationList]
    errors: list[BatchError]


class Likelihood(BaseModel):
    signal: str
    kind: str = Field(description="upsell or renewal")
    prior: float = Field(description="The configured rate: the likelihood before any feedback")
    prior_strength: float = Field(description="Pseudo-decisions the prior weighs as")
    won: int = Field(description="Items of this signal won (latest decision per account and product)")
    failed: int = Field(description="Items lost or dismissed")
    decisions: int = Field(description="won + failed")
    likelihood: float = Field(
        description="Posterior mean (prior x prior_strength + won) / (prior_strength + decisions): "
        "the rate the fused list uses now"
    )


class CrossSellFactor(BaseModel):
    prior_strength: float = Field(description="Pseudo-wins behind the factor's prior of 1")
    won: int = Field(description="Cross-sell items won (latest decision per account and product)")
    failed: int = Field(description="Cross-sell items lost or dismissed")
    decisions: int = Field(description="won + failed (decisions that recorded the peers' share)")
    expected: float = Field(description="Wins the peers' shares of those items predicted (their sum)")
    factor: float = Field(
        description="(prior_strength + won) / (prior_strength + expected): what the fused list multiplies "
        "a cross-sell item's peer share by (capped at 1); 1 before any decision"
    )


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
    likelihoods: list[Likelihood] = Field(
        default_factory=list,
        description="The fused list's likelihood per upsell and renewal signal, calibrated on feedback "
        "(docs/ranking.md)",
    )
    calibrated_at: datetime | None = Field(
        default=None, description="When the likelihoods were last calibrated; null: never (Neo4j down)"
    )
    cross_sell_calibration: CrossSellFactor | None = Field(
        default=None, description="How cross-sell wins follow the peers' share (docs/ranking.md)"
    )
    load_error: LoadError | None = Field(
        default=None,
        description="The last promoted version this server refused to load (damaged or of an unknown "
        "format) while it goes on serving `version`; null when the current version loaded. A refused "
        "version is retried on POST /v1/admin/reload or when another version is promoted.",
    )


class LoadError(BaseModel):
    version: str | None = Field(description="The promoted version that could not be loaded")
    at: datetime
    reason: str = Field(description="Why, naming files relative to the model registry")


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
    code: str = Field(
        description="Stable, machine-readable: bad_request (400), unauthorized (401), forbidden (403), "
        "account_not_found, product_not_found, not_found (404), conflict (409), too_large (413), "
        "invalid_request (every 422), rate_limited (429), graph_query_failed (502), model_not_loaded, "
        "graph_unavailable (503)"
    )
    detail: str = Field(description="What went wrong, naming the offending value")
    errors: list[dict[str, Any]] | None = Field(
        default=None,
        description="422: each invalid field, value and message (field, input, message; "
        "expected: the valid values when the value is unknown)",
    )


class WhitespaceCell(BaseModel):
    owned: bool
    revenue: float | None = Field(default=None, description="Owned cells: revenue so far (graph)")
    score: float | None = Field(
        default=None, description=f"Open cells: {SCORE_TEXT} Category cells: the best product's"
    )
    rank: int | None = Field(default=None, description="Open cells: rank in the account's served list")
    peer_share: float | None = Field(
        default=None, description="Open cells: share of the closest peers owning it"
    )
    best_sku: str | None = Field(default=None, description="Open category cells: the product to offer")


class WhitespaceMatrix(BaseModel):
    by: Literal["product", "category"]
    row_order: Literal["as_given", "revenue"] = Field(
        description="as_given: the accounts in the order of the request; revenue: the top accounts by "
        "total revenue, largest first, ties by account id"
    )
    model_version: str
    accounts: list[dict[str, Any]] = Field(
        description="One per row: id, name, industry, country, revenue (all purchases; null when Neo4j "
        "is down)"
    )
    columns: list[dict[str, Any]] = Field(
        description="The skus or categories given, in that order; else products by how many accounts "
        "own them (most first, ties by sku) or categories by name"
    )
    cells: list[list[WhitespaceCell]] = Field(description="One row per account, one cell per column")
    filled: float = Field(description="Share of owned cells")
    partial: bool
    notes: list[str]


class PotentialComponent(BaseModel):
    value: float = Field(description="0 to 1")
    weight: float
    detail: str = Field(description="The fact behind the value, for a person")


class WorklistOpportunity(BaseModel):
    kind: Literal["cross_sell", "upsell", "renewal"]
    signal: str
    sku: str
    name: str
    expected_value: float
    reason: str


class ContractEnd(BaseModel):
    id: str
    ends_at: date
    days_left: int


class TouchpointRef(BaseModel):
    type: str
    occurred_at: date
    owner: str | None


class WorklistRow(BaseModel):
    id: str
    name: str
    segment: str | None
    industry: str | None
    country: str | None
    owner: str | None
    potential: int = Field(description="Upsell potential, 0-100 (docs/worklist.md)")
    components: dict[str, PotentialComponent]
    open_value: float = Field(description="Sum of the expected values of the top open opportunities")
    opportunities: int
    top_opportunity: WorklistOpportunity | None
    next_contract_end: ContractEnd | None
    last_touchpoint: TouchpointRef | None
    days_since_touchpoint: int | None
    days_since_upsell_conversation: int | None
    revenue_12m: float
    revenue_trend: float | None = Field(description="Last 12 months against the 12 before, e.g. -0.3")
    flags: list[Literal["upsell_talk_due", "contract_ends_soon", "revenue_falling", "key_contact_left"]]


class WorklistPage(BaseModel):
    as_of: date = Field(description="The day the snapshot was computed for")
    model_version: str
    created_at: datetime
    total: int = Field(description="Accounts matching the filters")
    offset: int
    limit: int
    sort: str
    items: list[WorklistRow]


class Rate(BaseModel):
    value: float
    low: float = Field(description="95 % interval")
    high: float


class ArmStatus(BaseModel):
    arm: str
    shown: int = Field(
        description="Suggestions the API served in this arm (counted per worker, flushed each poll)"
    )
    accepted: int
    dismissed: int
    won: int
    lost: int
    won_value: float = Field(description="Sum of the values of the won feedback")
    take_rate: Rate | None = Field(description="accepted / shown, Wilson interval; null before any is shown")
    win_rate: Rate | None = Field(description="won / (won + lost), Wilson interval")
    value_per_shown: Rate | None = Field(description="won value / shown, t interval")


class Difference(BaseModel):
    difference: float = Field(description="This arm minus the control")
    low: float = Field(description="95 % interval")
    high: float
    p_value: float
    test: str
    significant: bool = Field(description="p below alpha split over the comparisons (Bonferroni)")


class Comparison(BaseModel):
    arm: str
    against: str = Field(description="The control: the first arm")
    take_rate: Difference | None
    win_rate: Difference | None
    value_per_shown: Difference | None
    clear: bool = Field(description="The take rate differs clearly, with enough shown per arm")


class ExperimentStatus(BaseModel):
    name: str
    status: Literal["running", "stopped"]
    shares: dict[str, int] = Field(description="Arm -> percent of accounts")
    started_at: str
    stopped_at: str | None
    arms: list[ArmStatus]
    comparisons: list[Comparison]
    verdict: str | None = Field(description="Only when the difference is statistically clear")
    why_no_verdict: str | None
    method: str = Field(description="The tests and thresholds behind the verdict")
