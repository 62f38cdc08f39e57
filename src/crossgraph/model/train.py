"""The nightly job without I/O: evaluate on a time split, gate, fit on everything, write the artifact.

The caller (CLI) brings order lines and display attributes (from the graph or files) and
does the promotion and the write-back, so this module is testable without a database.
Seconds per stage go into `TrainResult.timings` (in the order the stages ran); a caller
that times its own stages (export, write-back) passes its dict in with `timings=`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from crossgraph.data.matrix import Interactions, build_interactions
from crossgraph.data.orderlines import OrderLines
from crossgraph.data.split import Split
from crossgraph.errors import InvalidInput
from crossgraph.model.artifact import fingerprint, write_artifact
from crossgraph.model.base import Recommender
from crossgraph.model.baselines import KNN_DENSE_MAX_PRODUCTS, ItemKNNParams, ItemKNNRecommender
from crossgraph.model.bootstrap import Interval, paired_bootstrap
from crossgraph.model.dense import DenseLimit
from crossgraph.model.evaluate import (
    BASELINE,
    PAIRED_METRIC,
    EvaluationConfig,
    EvaluationReport,
    evaluate_split,
    evaluation_split,
    score_recommender,
)
from crossgraph.model.hybrid import HybridParams, HybridRecommender
from crossgraph.model.peers import PeerSearch
from crossgraph.model.registry import Registry
from crossgraph.model.tuning import DEFAULT_COMPONENTS, tune, tuned_config

if TYPE_CHECKING:
    from crossgraph.model.spark_als import SparkConfig

GATE_METRIC = PAIRED_METRIC  # the bootstrap resamples per-account NDCG@10


@contextmanager
def timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    """Add the wall-clock seconds of the block to timings[stage] (also when it raises)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - started


@dataclass(frozen=True)
class GateConfig:
    """A new model is promoted only if neither a baseline of the same run nor the current model
    (refitted with its own parameters on the same split) beats it with a paired bootstrap
    interval of the NDCG@10 difference that excludes zero (model.bootstrap).

    `tolerance` is what the gate used before (a point comparison with the current model within
    a relative tolerance); it is accepted so that older parameter files still load, and ignored."""

    metric: str = GATE_METRIC
    tolerance: float | None = None  # deprecated, ignored: the interval decides

    def __post_init__(self) -> None:
        if self.metric != GATE_METRIC:
            raise InvalidInput(
                f"gate metric {self.metric!r}: the gate compares per-account {GATE_METRIC} with a "
                f"paired bootstrap, so it must be {GATE_METRIC!r}"
            )


def baseline_reasons(report: EvaluationReport) -> list[str]:
    """Why the served model may not be promoted over the baselines of its run: one reason per
    baseline that beats it with an interval excluding zero (a difference within the interval's
    noise is no reason). Each names the baseline, both scores and the interval."""
    reasons = []
    served = report.served
    for baseline in (r for r in report.results if r.role == BASELINE):
        interval = report.interval(baseline.name)
        if interval is not None and interval.high < 0:
            reasons.append(
                f"{GATE_METRIC} {served.metrics[GATE_METRIC]:.4f} is below the baseline {baseline.name} "
                f"({baseline.metrics[GATE_METRIC]:.4f}) of this run: difference {interval.difference:+.4f}, "
                f"{interval.level:.0%} interval [{interval.low:+.4f}, {interval.high:+.4f}] excludes zero "
                f"(paired bootstrap over {interval.accounts:,} test accounts)"
            )
    return reasons


def current_model_reason(
    report: EvaluationReport, current: str, current_scores: Any
) -> tuple[Interval, str | None]:
    """The served model against the current model refitted on the same split (`current_scores`:
    its NDCG@10 per test account, the split's order): the paired bootstrap interval of served
    minus current, and a reason to refuse when it lies entirely below zero (else None)."""
    served = report.served
    if served.per_account is None:
        raise InvalidInput("the evaluation report has no per-account scores: the gate needs them")
    interval = paired_bootstrap(served.per_account, current_scores)
    if interval.high >= 0:
        return interval, None
    return interval, (
        f"{GATE_METRIC} {served.metrics[GATE_METRIC]:.4f} is below the current model {current} "
        f"({served.metrics[GATE_METRIC] - interval.difference:.4f}, refitted on the same split): "
        f"difference {interval.difference:+.4f}, {interval.level:.0%} interval "
        f"[{interval.low:+.4f}, {interval.high:+.4f}] excludes zero "
        f"(paired bootstrap over {interval.accounts:,} test accounts)"
    )


@dataclass
class TrainResult:
    version: str
    cutoff: datetime
    report: EvaluationReport
    passed: bool
    reasons: list[str] = field(default_factory=list)
    current_version: str | None = None
    current_score: float | None = None
    current_interval: Interval | None = None  # served minus the current model, paired bootstrap
    manifest: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage: tune, evaluate, ...

    @property
    def score(self) -> float:
        return float(self.report.served.metrics[GATE_METRIC])


def engine_record(model: HybridRecommender, spark: SparkConfig | None) -> dict[str, Any]:
    """The manifest's "engine": who fitted the model, whether EASE was kept, and per component
    what ran (components_record)."""
    engine: dict[str, Any] = {"name": "local"}
    if spark is not None:
        from crossgraph.model.spark_als import spark_version

        engine = {"name": "spark", "spark": spark_version(), **spark.to_dict()}
    if "ease" in model.left_out:
        engine["ease"] = f"left out: {model.left_out['ease']}"
    elif "ease" in model.capped:
        engine["ease"] = f"capped: {model.capped['ease']}"
    else:
        engine["ease"] = "kept" if model.params.ease_weight else "off"
    engine["components"] = components_record(model)
    return engine


def components_record(model: HybridRecommender) -> dict[str, dict[str, Any]]:
    """The manifest's engine.components: per blend component of the requested parameters whether
    the fitted model ran it "full", "capped" (item-kNN and RP3beta: their top neighbours per
    product, and how the similarity was computed: dense, sparse blocks or spark; EASE above
    CROSSGRAPH_DENSE_MAX_PRODUCTS: the best-selling products it was fitted on, of how many),
    "left out" (asked for, not fitted, with the reason: EASE above CROSSGRAPH_DENSE_MAX_PRODUCTS
    with CROSSGRAPH_DENSE_EASE=leave-out) or "off" (weight 0)."""
    fitted = {name for name, _, _ in model.components()}
    record: dict[str, dict[str, Any]] = {}
    for name in model.requested.blend:
        if name in model.left_out:
            record[name] = {"status": "left out", "reason": model.left_out[name]}
        elif name not in fitted:
            record[name] = {"status": "off"}
        elif name == "ease" and model.ease is not None and model.ease.columns is not None:
            record[name] = {
                "status": "capped",
                "products": len(model.ease.columns),
                "of": model.n_items,
                "reason": model.capped.get(name, ""),
            }
        elif name == "knn" and model.knn is not None:
            cap = model.knn.params.neighbours
            record[name] = {"status": "capped", "neighbours": cap, "similarity": model.knn.method}
        elif name == "rp3" and model.rp3 is not None:
            cap = model.rp3.params.neighbours
            record[name] = {"status": "capped", "neighbours": cap, "similarity": model.rp3.method}
        else:
            record[name] = {"status": "full"}
    return record


def default_cutoff(lines: OrderLines, test_days: int) -> datetime:
    return cutoff_before(lines.ordered_at.max(), test_days)


def cutoff_before(last: np.datetime64, test_days: int) -> datetime:
    """Midnight of the last purchase's day, minus test_days."""
    day: date = np.asarray(last).astype("datetime64[D]").item()
    return datetime.combine(day, datetime.min.time()) - timedelta(days=test_days)


def train(
    lines: OrderLines,
    accounts: list[dict[str, Any]],
    products: list[dict[str, Any]],
    registry: Registry,
    *,
    params: HybridParams | None = None,
    cutoff: datetime | None = None,
    test_days: int = 120,
    gate: GateConfig | None = None,
    segment_key: str = "segment",
    tune_minutes: float = 0.0,
    max_coverage_loss: float = 0.2,
    tune_components: Sequence[str] | None = None,  # None: tuning.DEFAULT_COMPONENTS
    progress: Callable[[str], None] | None = None,
    timings: dict[str, float] | None = None,
    installed: Sequence[tuple[str, str]] = (),
    changes_until: int = 0,
    peer_search: PeerSearch = PeerSearch(),
    spark: SparkConfig | None = None,
    knn_dense_max_products: int = KNN_DENSE_MAX_PRODUCTS,
    dense: DenseLimit = DenseLimit(),
) -> TrainResult:
    """[Tune within `tune_minutes`] -> evaluate (against the tuned baselines) -> gate -> fit on all
    data -> artifact (always kept). Promotion is the
    caller's. Tuning searches on validation windows before the evaluation cutoff only.
    `installed` (account id, sku) pairs count as owned in the artifact (see write_artifact);
    `changes_until` is the graph's change number read before the export (graph.changes).
    Stage seconds are added to `timings` (a new dict if None), also `result.timings`.
    With `spark`, the final fit's ALS runs on Spark MLlib (model.spark_als); evaluation and the
    gate stay single-machine. Item-kNN's similarity is dense up to `knn_dense_max_products`
    products, sparse blocks above; above `dense.max_products` EASE is capped to the best-selling
    products (or left out, as `dense.ease` says: of the served model, the baselines and the tuner)
    and RP3beta computed in sparse blocks (model.dense)."""
    say = progress or (lambda _: None)
    clock: dict[str, float] = {} if timings is None else timings
    if len(lines) == 0:
        raise InvalidInput("the graph holds no purchases to train on (load some first)")
    params = params or HybridParams()
    gate = gate or GateConfig()
    cut = cutoff or default_cutoff(lines, test_days)
    segments = {str(a["id"]): a.get(segment_key) for a in accounts}
    tuning: dict[str, Any] | None = None

    def knn(chosen: ItemKNNParams) -> ItemKNNRecommender:
        return ItemKNNRecommender(chosen, dense_max_products=knn_dense_max_products, dense=dense)

    config = EvaluationConfig(served=params, als=params.als, dense=dense)
    if tune_minutes:
        # Start from the last good parameters: the promoted version's, else the caller's.
        current = registry.current_version()
        start = HybridParams.from_dict(registry.get(current).manifest["params"]) if current else params
        window = (lines.ordered_at.max().astype("datetime64[s]") - np.datetime64(cut, "s")) / np.timedelta64(
            1, "D"
        )
        say(f"tuning on validation windows before {cut.date()} (at most {tune_minutes:g} minutes)")
        with timed(clock, "tune"):
            searched = tune(
                lines,
                cut,
                minutes=tune_minutes,
                window_days=float(window),
                start=start,
                max_coverage_loss=max_coverage_loss,
                progress=say,
                components=tune_components or DEFAULT_COMPONENTS,
                dense=dense,
            )
        params, tuning = searched.best, searched.to_dict()
        config = replace(tuned_config(searched), dense=dense)

    def evaluated() -> TrainResult:
        say(f"evaluating on a time split at {cut.date()}")
        with timed(clock, "split"):
            split = evaluation_split(lines, cut)
        with timed(clock, "evaluate"):
            report = evaluate_split(
                split,
                train_lines=len(split.train_lines),
                segments=segments,
                config=config,
                progress=say,
                knn=knn,
            )

        def refit(chosen: HybridParams) -> HybridRecommender:
            return HybridRecommender(chosen, knn=knn(chosen.knn), dense=dense).fit(split.train)

        return judged(report, cut, clock, registry, gate, split, refit)

    # The split (its train lines with their codes, its matrices) is freed on return, before the
    # final fit: at 100k accounts 7.3M lines, about 0.6 GB.
    result = evaluated()
    say("fitting the model on all purchases")
    with timed(clock, "fit"):
        interactions = build_interactions(lines)
        if spark is None:
            model = HybridRecommender(params, knn=knn(params.knn), dense=dense).fit(interactions)
            engine = engine_record(model, spark)
        else:
            from crossgraph.model.spark_als import SparkALSRecommender

            spark_als = SparkALSRecommender(params.als, spark)
            model = HybridRecommender(params, als=spark_als, knn=knn(params.knn), dense=dense).fit(
                interactions
            )
            engine = engine_record(model, spark)
            engine["reg_param"] = spark_als.reg_param
    write(
        result,
        registry,
        model,
        interactions,
        accounts,
        products,
        gate=gate,
        trained_until=str(np.datetime64(lines.ordered_at.max(), "s")),
        extra={"changes_until": changes_until, "tuning": tuning, "engine": engine},
        installed=installed,
        peer_search=peer_search,
        progress=say,
    )
    return result


def judged(
    report: EvaluationReport,
    cutoff: datetime,
    timings: dict[str, float],
    registry: Registry,
    gate: GateConfig,
    split: Split,
    refit: Callable[[HybridParams], Recommender],
) -> TrainResult:
    """The gate's verdict on an evaluated model, the same for both engines: refused when a
    baseline of the same run beats it (baseline_reasons), or when the current model's
    parameters, refitted on the same `split` by `refit`, beat it with a paired bootstrap
    interval excluding zero (current_model_reason)."""
    result = TrainResult(version="", cutoff=cutoff, report=report, passed=True, timings=timings)
    result.reasons += baseline_reasons(report)
    result.passed = not result.reasons
    current = registry.current_version()
    if current is None:
        return result
    with timed(timings, "gate"):
        current_params = HybridParams.from_dict(registry.get(current).manifest["params"])
        scored = score_recommender(refit(current_params), split)
        result.current_version, result.current_score = current, float(scored.metrics[gate.metric])
        result.current_interval, reason = current_model_reason(result.report, current, scored.per_account)
        if reason is not None:
            result.passed = False
            result.reasons.append(reason)
    return result


def write(
    result: TrainResult,
    registry: Registry,
    model: HybridRecommender,
    interactions: Interactions,
    accounts: list[dict[str, Any]],
    products: list[dict[str, Any]],
    *,
    gate: GateConfig,
    trained_until: str,
    extra: dict[str, Any],
    installed: Sequence[tuple[str, str]] = (),
    peer_search: PeerSearch = PeerSearch(),
    progress: Callable[[str], None] | None = None,
) -> None:
    """The artifact of `model` fitted on `interactions`, with the report and the gate's verdict
    in its manifest (result.version and result.manifest are set here)."""
    report, clock = result.report, result.timings
    (progress or (lambda _: None))("writing the artifact")
    with timed(clock, "artifact"):
        result.version = registry.new_version_name(fingerprint(interactions))
        with registry.writing(result.version) as folder:
            result.manifest = write_artifact(
                folder,
                version=result.version,
                model=model,
                interactions=interactions,
                accounts=accounts,
                products=products,
                metrics=report.to_dict(),
                installed=installed,
                peer_search=peer_search,
                extra={
                    "gate": {
                        "passed": result.passed,
                        "reasons": result.reasons,
                        "metric": gate.metric,
                        "current_version": result.current_version,
                        "current_score": result.current_score,
                        "current_interval": None
                        if result.current_interval is None
                        else result.current_interval.to_dict(),
                        "best_baseline": report.best_baseline(GATE_METRIC).name,
                        "interval": report.comparison(),
                    },
                    "trained_until": trained_until,
                    # changes_until: the graph's change feed number at export, serving replays the
                    # changes after it; tuning: the search, if any; engine: who fitted the model
                    **extra,
                },
            )
