"""Typed settings: every default in one place, read from CROSSGRAPH_* variables or .env."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crossgraph.keys import ApiKey

if TYPE_CHECKING:
    from crossgraph.model.dense import DenseLimit
    from crossgraph.model.peers import PeerSearch

# db.tx_log.rotation.retention_policy values Neo4j 5 accepts
TX_LOG_RETENTION = re.compile(
    r"true|false|keep_all|keep_none|\d+[kKmMgG]? +(files|size|txs|entries|hours|days)", re.IGNORECASE
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CROSSGRAPH_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Neo4j. Without neo4j_uri the project's own local server is used (crossgraph neo4j start).
    neo4j_uri: str | None = Field(
        default=None,
        description="Bolt/neo4j URI of an external server (Docker, Aura, cluster). "
        "Unset: the local server started by `crossgraph neo4j start`.",
    )
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr | None = Field(
        default=None,
        description="Password for an external server. The local server's password is "
        "generated and kept in <data_dir>/neo4j/password (mode 600).",
    )
    neo4j_database: str = "neo4j"

    # The local server (Neo4j Community from Maven Central, run embedded with Bolt).
    neo4j_version: str = "5.26.30"
    neo4j_host: str = "127.0.0.1"
    neo4j_port: int = Field(default=7687, ge=1, le=65535)
    neo4j_heap: str = Field(default="2g", description="JVM heap, e.g. 2g or 512m")
    neo4j_pagecache: str = Field(default="2g", description="Neo4j page cache, e.g. 2g")
    neo4j_tx_memory: str = Field(default="1g", description="Global transaction memory limit")
    neo4j_tx_log_retention: str = Field(
        default="1G size",
        description=(
            "How much transaction log the local Neo4j keeps (db.tx_log.rotation.retention_policy: "
            "'1G size', '2 files', '1 days', 'keep_none', ...); Neo4j's own default of 2 days "
            "held 4.4 GB beside a 2.4 GB store after two nightly runs at 100k accounts"
        ),
    )
    neo4j_start_timeout: float = Field(default=120.0, gt=0)
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "crossgraph",
        description="Where the Neo4j jars are fetched once",
    )

    data_dir: Path = Path("data")
    model_dir: Path = Path("models")
    worklist_dir: Path | None = Field(
        default=None,
        description="Worklist snapshots (crossgraph worklist refresh); default <data_dir>/worklist",
    )

    ingest_batch_size: int = Field(default=5000, ge=1, le=100_000)
    ingest_writers: int = Field(
        default=2,
        ge=1,
        le=16,
        description="concurrent transactions creating new purchase pairs on `crossgraph load` and "
        "`import online-retail` (merges into existing pairs stay one at a time)",
    )

    # Similar accounts (model.peers; docs/scale.md): exact below the threshold, HNSW above it.
    peers_ann_min_accounts: int = Field(
        default=50_000,
        ge=1,
        description="From this many accounts on, training searches similar accounts in an HNSW index "
        "(faiss) instead of comparing every pair; serving searches the same index",
    )
    peers_hnsw_m: int = Field(default=32, ge=4, le=256, description="HNSW links per account")
    peers_ef_construction: int = Field(
        default=80, ge=8, le=4096, description="HNSW candidate list while building the index"
    )
    peers_ef_search: int = Field(
        default=96,
        ge=8,
        le=4096,
        description="HNSW candidate list per search where calibration starts (higher: better recall, slower)",
    )
    peers_ef_search_max: int = Field(
        default=1024,
        ge=8,
        le=32_768,
        description="Calibration raises the HNSW candidate list up to this value to reach the recall target",
    )
    peers_recall_target: float = Field(
        default=0.98,
        gt=0,
        le=1,
        description="Calibration picks the smallest HNSW candidate list whose recall of the exact peers "
        "(one-sided 95 % lower bound, on peers_recall_sample accounts) reaches this",
    )
    peers_recall_sample: int = Field(
        default=1000, ge=1, description="Accounts whose HNSW peers are compared with exact ones (manifest)"
    )

    # Item-kNN (model.baselines; docs/scale.md): a dense products x products similarity up to the
    # threshold, sparse row blocks cut to each product's top neighbours above it (same lists).
    knn_dense_max_products: int = Field(
        default=10_000,
        ge=0,
        description="Up to this many products the local engine's item-kNN multiplies a dense products x "
        "products matrix (8 bytes x products^2); above, sparse row blocks keep each product's top neighbours",
    )

    # Dense products x products components (model.dense; docs/scale.md): EASE is capped to the
    # best-selling products (or left out) in the blend, the baselines and the tuner above the
    # threshold, RP3beta computed in sparse blocks.
    dense_max_products: int = Field(
        default=20_000,
        ge=0,
        description="Above this many products EASE (a dense products x products inverse, 2.5 x 8 bytes x "
        "products^2: 20k = 8 GB) is fitted on the best-selling this many products (or left out, see "
        "CROSSGRAPH_DENSE_EASE) and RP3beta keeps its top neighbours from sparse row blocks",
    )
    dense_ease: Literal["cap", "leave-out"] = Field(
        default="cap",
        description="Above CROSSGRAPH_DENSE_MAX_PRODUCTS products: 'cap' fits EASE on that many best-selling "
        "products (no EASE score for the others), 'leave-out' leaves EASE out of the blend, the baselines "
        "and the tuner",
    )
    dense_memory_share: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="A dense products x products matrix that would take more than this share of the "
        "available memory is refused before it is allocated, naming the setting",
    )

    # The API (crossgraph serve).
    api_host: str = Field(default="127.0.0.1", description="Interface to bind; loopback by default")
    api_port: int = Field(default=8000, ge=1, le=65535)
    api_workers: int = Field(default=1, ge=1, le=64)
    api_keys: list[ApiKey] = Field(
        default_factory=list,
        description='Keys as JSON, e.g. [{"name": "crm", "key": "...", "scopes": ["read"]}]; '
        "usually kept in the keys file instead (crossgraph api-key create)",
    )
    api_keys_file: Path | None = Field(
        default=None, description="JSON list of keys (sha256 only); default <data_dir>/api-keys.json"
    )
    api_batch_max: int = Field(default=500, ge=1, le=10_000, description="Accounts per batch call")
    api_batch_max_work: int = Field(
        default=20_000,
        ge=1,
        description="Largest batch call: accounts x limit x opportunity kinds; beyond it 422 (the "
        "issue's 500 x 100 x 3 = 150,000 took 25-31 s and 30.8 MB)",
    )
    api_batch_max_graph: int = Field(
        default=100,
        ge=1,
        description="Accounts per batch call with upsell or renewal (each reads its signals from Neo4j); "
        "beyond it 422",
    )
    # Per-key rate limits (token buckets, per process): requests per minute by the key's broadest
    # scope, 0 = unlimited. A batch call costs api_rate_batch_account_cost per account.
    api_rate_read: int = Field(default=1200, ge=0, description="Requests per minute of a read key")
    api_rate_write: int = Field(default=1200, ge=0, description="Requests per minute of a write key")
    api_rate_admin: int = Field(default=0, ge=0, description="Requests per minute of an admin key")
    api_rate_batch_account_cost: float = Field(
        default=1.0, ge=0, description="Requests one account of a batch call counts as (at least 1 a call)"
    )
    api_max_body_bytes: int = Field(
        default=1_000_000, ge=1024, le=1_000_000_000, description="Largest request body; beyond it 413"
    )
    api_graph_timeout: float = Field(
        default=2.0,
        gt=0,
        description="Seconds a request's graph work may take in all (connecting, waiting for a "
        "connection, retries, the queries) before it answers without the graph: partial, or 503",
    )
    api_report_timeout: float = Field(
        default=30.0,
        gt=0,
        description="The same limit for whole-graph reports (/v1/kpis, the whitespace matrix)",
    )
    api_graph_probe_seconds: float = Field(
        default=1.0, gt=0, description="How often the server runs a real query to tell whether Neo4j is up"
    )
    experiment_alpha: float = Field(
        default=0.05,
        gt=0,
        lt=0.5,
        description="Significance level of an experiment's verdict (two-sided, split over the "
        "comparisons with the first arm); docs/experiments.md",
    )
    experiment_min_shown: int = Field(
        default=200, ge=1, description="Suggestions shown per arm before an experiment gives a verdict"
    )
    change_retention_days: float = Field(
        default=30.0,
        gt=0,
        description="Days the change feed keeps a change (crossgraph train deletes older :Change "
        "nodes); longer than any model stays current without a new training run",
    )
    feedback_suppress_days: int = Field(
        default=90, ge=0, description="Days a dismissed suggestion stays hidden for that account"
    )
    # Account intelligence: signals from the graph and how they are fused with cross-sell.
    renewal_days: int = Field(default=180, ge=1, description="Contracts ending within this many days")
    replacement_years: dict[str, int] = Field(
        default_factory=lambda: {"machine": 10}, description="Replacement age per product kind, in years"
    )
    utilization_threshold: float = Field(default=0.85, gt=0, le=1, description="Capacity upsell at or above")
    kpi_cac: float | None = Field(
        default=None, gt=0, description="Customer acquisition cost, for the CLV/CAC KPI (unset: not shown)"
    )
    contact_left_days: int = Field(
        default=365, ge=1, description="A key contact who left within this many days is a risk"
    )
    upsell_talk_days: int = Field(
        default=182, ge=1, description="An upsell conversation is due when the last one is older"
    )
    event_days: int = Field(default=180, ge=0, description="Trigger events this recent boost opportunities")
    event_boost: float = Field(default=1.5, ge=1, description="Expected-value multiplier of a related event")
    likelihood: dict[str, float] = Field(
        default_factory=dict,
        description="Overrides of the fusion's likelihood per signal (upgrade_path, aging_asset, "
        "contract_level, capacity, volume, renewal): the prior mean before feedback (docs/ranking.md)",
    )
    likelihood_prior_strength: float = Field(
        default=20.0,
        gt=0,
        description="Pseudo-decisions behind each configured likelihood: feedback outweighs it after "
        "this many won, lost or dismissed items of the signal",
    )
    calibration_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How often likelihoods are recalibrated from the feedback in the graph",
    )
    margin_rates: dict[str, float] = Field(
        default_factory=dict,
        description="Overrides of the gross margin share per product kind (machine 0.25, part 0.45, "
        "consumable 0.40, service 0.60, training 0.50, software 0.75, accessory 0.35); a product's "
        "own margin column wins",
    )
    default_margin: float = Field(
        default=0.30, ge=0, le=1, description="Margin share of a product without kind or own margin"
    )
    urgency_full_days: int = Field(
        default=90, ge=1, description="A renewal ending within this many days counts in full"
    )
    urgency_half_life_days: int = Field(
        default=60,
        ge=1,
        description="Beyond urgency_full_days a renewal's weight halves every this many days",
    )
    need_start: float = Field(
        default=0.6,
        ge=0,
        lt=1,
        description="An upgrade's need at or below which its likelihood is need_floor",
    )
    need_floor: float = Field(
        default=0.1, ge=0, le=1, description="Likelihood multiplier of an upgrade nothing presses"
    )
    api_poll_seconds: float = Field(
        default=5.0, gt=0, description="How often the server checks for a newly promoted model and Neo4j"
    )

    # The web face: pages for people who sign in, and the embeddable CRM sidebar (docs/web.md).
    users_file: Path | None = Field(
        default=None, description="Users who sign in (argon2 hashes); default <data_dir>/users.json"
    )
    web_secret: SecretStr | None = Field(
        default=None,
        description="Signs session cookies; unset: generated once in <data_dir>/web-secret (mode 600). "
        "Set the same value on every replica.",
    )
    web_session_hours: float = Field(default=12.0, gt=0, le=24 * 30, description="Sign-in lasts this long")
    web_login_attempts: int = Field(
        default=5, ge=1, le=1000, description="Failed sign-ins per user or client address per 15 minutes"
    )
    web_trusted_user_header: str | None = Field(
        default=None,
        description="Behind a company SSO proxy: the request header naming the signed-in user (e.g. "
        "X-Forwarded-User). Only set it when the proxy is the only way to reach the service.",
    )
    web_public_docs: bool = Field(
        default=True, description="/docs and /redoc without sign-in (they hold no account data)"
    )
    embed_secret: SecretStr | None = Field(
        default=None,
        description="HMAC key the CRM's server signs embed tokens with; unset: generated once in "
        "<data_dir>/embed-secret (mode 600). Never give it to a browser.",
    )
    embed_frame_ancestors: list[str] = Field(
        default_factory=list,
        description="Sites that may frame /embed pages (CSP frame-ancestors), e.g. "
        '["https://crm.example.com"]; empty: only this service itself. Other pages refuse framing.',
    )
    embed_max_ttl_seconds: int = Field(
        default=24 * 3600, ge=60, description="Embed tokens valid for longer than this are refused"
    )
    embed_leeway_seconds: int = Field(
        default=30, ge=0, le=600, description="Clock skew allowed between the CRM's server and this one"
    )

    @field_validator("neo4j_tx_log_retention")
    @classmethod
    def _retention(cls, value: str) -> str:
        value = " ".join(value.split())
        if not TX_LOG_RETENTION.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a transaction log retention: use keep_all, keep_none or "
                "'<number>[K|M|G] <files|size|txs|entries|hours|days>', e.g. '1G size' or '2 files'"
            )
        return value

    @field_validator("peers_ef_search_max")
    @classmethod
    def _ef_search_max(cls, value: int, info: ValidationInfo) -> int:
        start = info.data.get("peers_ef_search")
        if start is not None and value < start:
            raise ValueError(
                f"CROSSGRAPH_PEERS_EF_SEARCH_MAX ({value}) must be >= CROSSGRAPH_PEERS_EF_SEARCH ({start}), "
                "the candidate list calibration starts from"
            )
        return value

    @field_validator("neo4j_heap", "neo4j_pagecache", "neo4j_tx_memory")
    @classmethod
    def _memory_size(cls, value: str) -> str:
        parse_memory(value)
        return value

    @property
    def dense(self) -> DenseLimit:
        """The dense products x products limits of the model (model.dense)."""
        from crossgraph.model.dense import DenseLimit

        return DenseLimit(self.dense_max_products, self.dense_memory_share, self.dense_ease)

    @property
    def peer_search(self) -> PeerSearch:
        from crossgraph.model.peers import PeerSearch  # numpy and scipy: not at settings import

        return PeerSearch(
            ann_min_accounts=self.peers_ann_min_accounts,
            hnsw_m=self.peers_hnsw_m,
            ef_construction=self.peers_ef_construction,
            ef_search=self.peers_ef_search,
            recall_sample=self.peers_recall_sample,
            recall_target=self.peers_recall_target,
            ef_search_max=self.peers_ef_search_max,
        )

    @property
    def neo4j_home(self) -> Path:
        return self.data_dir / "neo4j"

    @property
    def keys_file(self) -> Path:
        return self.api_keys_file or self.data_dir / "api-keys.json"

    @property
    def users_path(self) -> Path:
        return self.users_file or self.data_dir / "users.json"

    @property
    def worklist_folder(self) -> Path:
        return self.worklist_dir or self.data_dir / "worklist"

    @property
    def uses_local_server(self) -> bool:
        return self.neo4j_uri is None


def parse_memory(value: str) -> int:
    """'512m' -> 536870912; accepts k, m, g suffixes (binary) or plain bytes."""
    text = value.strip().lower()
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    try:
        if text and text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(text)
    except ValueError:
        raise ValueError(f"memory size {value!r} is not a number with k, m or g suffix") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
