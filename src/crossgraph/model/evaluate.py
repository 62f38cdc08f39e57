"""Offline evaluation: the served model next to every baseline, on one time split, in one run.

Every model is fitted on the lines before the cutoff and ranks, for each test account
(an account seen before the cutoff that buys at least one product new to it after), the
products it did not own at the cutoff. Metrics are those of `model.metrics` at each k,
with coverage and the top-1 % share of the lists next to them. The served model is set
against the best baseline with a paired bootstrap interval of the NDCG@10 difference over
the test accounts (`model.bootstrap`; docs/quality.md). Above CROSSGRAPH_DENSE_MAX_PRODUCTS
products (model.dense) the EASE baseline, its partner reference and the served model's EASE are
capped to the best-selling max_products products (the rows are named "ease (top 20,000
products)", the report's `capped` says which), so the gate still meets an EASE baseline; with
CROSSGRAPH_DENSE_EASE=leave-out they are left out instead: the report's `left_out` names each
with the reason, and the served model meets the baselines that ran.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from crossgraph.data.orderlines import OrderLines
from crossgraph.data.split import Split, TimeSplit, time_split
from crossgraph.errors import InvalidInput
from crossgraph.model.als import ALSParams, ALSRecommender
from crossgraph.model.base import Recommender
from crossgraph.model.baselines import (
    EASEParams,
    EASERecommender,
    ItemKNNParams,
    ItemKNNRecommender,
    PopularityRecommender,
    SegmentPopularityRecommender,
)
from crossgraph.model.bootstrap import Interval, paired_bootstrap
from crossgraph.model.dense import DenseLimit
from crossgraph.model.hybrid import HybridParams, HybridRecommender
from crossgraph.model.metrics import per_account_ndcg, ranking_metrics

PAIRED_METRIC = "ndcg@10"  # the metric whose per-account scores the bootstrap resamples
SERVED = "served"
BASELINE = "baseline"
REFERENCE = "reference"  # shown for context, neither served nor a baseline (plain ALS)


@dataclass(frozen=True)
class EvaluationConfig:
    served: HybridParams = field(default_factory=HybridParams)
    # Reference lines (neither served nor baselines): the served model's ALS alone, and its
    # EASE partner alone when that differs from the EASE baseline (e.g. time-decayed).
    als: ALSParams | None = field(default_factory=lambda: HybridParams().als)
    partner_reference: bool = True
    knn: ItemKNNParams = field(default_factory=ItemKNNParams)
    ease: EASEParams = field(default_factory=EASEParams)
    popularity_days: float | None = None  # popularity over the last N days (tuned: model.tuning)
    min_segment_size: int = 20
    ks: tuple[int, ...] = (5, 10)
    end: datetime | None = None  # end of the test window (default: end of the data)
    dense: DenseLimit = field(default_factory=DenseLimit)  # above its max_products: EASE capped or left out


@dataclass(frozen=True)
class ModelResult:
    name: str
    role: str  # served | baseline | reference
    metrics: dict[str, float]
    fit_seconds: float
    recommend_seconds: float
    shared: bool = False  # the served model's fitted component: fit_seconds were spent once, there
    # NDCG@10 per test account (the split's test accounts in order): the bootstrap's pairs
    per_account: npt.NDArray[np.float64] | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "metrics": self.metrics,
            "fit_seconds": round(self.fit_seconds, 3),
            "recommend_seconds": round(self.recommend_seconds, 3),
        }


@dataclass(frozen=True)
class EvaluationReport:
    cutoff: str
    end: str | None
    train_lines: int
    accounts: int
    products: int
    test_accounts: int
    test_pairs: int
    unseen_product_pairs: int
    results: list[ModelResult]
    served_params: dict[str, Any]
    seconds: float
    # what did not run, with the reason: "ease" (the baseline), "served: ease" (a blend component)
    left_out: dict[str, str] = field(default_factory=dict)
    # what ran capped, with which products: "ease (top 20,000 products)", "served: ease"
    capped: dict[str, str] = field(default_factory=dict)
    # intervals already computed, by model name (a bootstrap over many accounts takes a second)
    known_intervals: dict[str, Interval | None] = field(default_factory=dict, compare=False, repr=False)

    @property
    def served(self) -> ModelResult:
        return next(r for r in self.results if r.role == SERVED)

    def best_baseline(self, metric: str = "ndcg@10") -> ModelResult:
        return max((r for r in self.results if r.role == BASELINE), key=lambda r: r.metrics[metric])

    def lift(self, metric: str = "ndcg@10") -> float:
        """Relative gain of the served model over the best baseline (0.05 = +5 %); inf when
        the best baseline scores 0 (see `lift_text`)."""
        base = self.best_baseline(metric).metrics[metric]
        return self.served.metrics[metric] / base - 1.0 if base > 0 else float("inf")

    def result(self, name: str) -> ModelResult:
        found = next((r for r in self.results if r.name == name), None)
        if found is None:
            raise KeyError(f"no model {name!r} in the report (models: {[r.name for r in self.results]})")
        return found

    def interval(self, against: str | None = None) -> Interval | None:
        """Paired bootstrap interval of the served model's NDCG@10 minus that of `against`
        (default: the best baseline), over the test accounts; None for results made without
        per-account scores (a report put together by hand)."""
        other = self.best_baseline(PAIRED_METRIC) if against is None else self.result(against)
        if other.name not in self.known_intervals:
            ours, theirs = self.served.per_account, other.per_account
            found = None if ours is None or theirs is None else paired_bootstrap(ours, theirs)
            self.known_intervals[other.name] = found
        return self.known_intervals[other.name]

    def lift_text(self, metric: str = "ndcg@10") -> str:
        """'+5.6%', or 'n/a, best baseline 0' when there is nothing to divide by."""
        lift = self.lift(metric)
        return f"{lift:+.1%}" if math.isfinite(lift) else "n/a, best baseline 0"

    def comparison(self) -> dict[str, Any] | None:
        """The served model against the best baseline: its name, the metric and the interval."""
        interval = self.interval()
        if interval is None:
            return None
        return {
            "baseline": self.best_baseline(PAIRED_METRIC).name,
            "metric": PAIRED_METRIC,
            **interval.to_dict(),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff,
            "end": self.end,
            "split": {
                "train_lines": self.train_lines,
                "accounts": self.accounts,
                "products": self.products,
                "test_accounts": self.test_accounts,
                "test_pairs": self.test_pairs,
                "unseen_product_pairs": self.unseen_product_pairs,
            },
            "models": [r.to_dict() for r in self.results],
            "served_params": self.served_params,
            "best_baseline": self.best_baseline().name,
            "served_lift_ndcg@10": round(self.lift(), 4) if math.isfinite(self.lift()) else None,
            "served_vs_best_baseline": self.comparison(),
            "left_out": self.left_out,
            "capped": self.capped,
            "seconds": round(self.seconds, 2),
        }

    def to_json(self, path: Path | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            path.write_text(text + "\n")
        return text


@dataclass(frozen=True)
class Scored:
    metrics: dict[str, float]
    per_account: npt.NDArray[np.float64]  # NDCG@10 per test account, the split's order
    seconds: float  # ranking the test accounts


def score_recommender(model: Recommender, split: Split, ks: tuple[int, ...] = (5, 10)) -> Scored:
    """Metrics (with coverage and top1_share) of an already fitted model on the split's test
    accounts, its NDCG@10 per test account, and the seconds ranking took."""
    accounts = split.test_accounts()
    k = max(*ks, 10)
    start = time.perf_counter()
    items, _ = model.recommend(accounts, k=k, exclude_owned=True)
    seconds = time.perf_counter() - start
    relevant = split.test.binary[accounts]
    popularity = split.train.product_counts()
    metrics = ranking_metrics(items, relevant, ks=ks, n_items=split.train.shape[1], popularity=popularity)
    return Scored(metrics, per_account_ndcg(items, relevant, k=10), seconds)


def evaluate_recommender(
    model: Recommender, split: Split, ks: tuple[int, ...] = (5, 10)
) -> tuple[dict[str, float], float]:
    """Metrics of an already fitted model on the split's test accounts, and seconds taken."""
    scored = score_recommender(model, split, ks)
    return scored.metrics, scored.seconds


def evaluate_models(
    lines: OrderLines,
    cutoff: datetime | np.datetime64 | str,
    segments: Mapping[str, str | None] | None = None,
    config: EvaluationConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> EvaluationReport:
    """Fit the served hybrid, plain ALS and every baseline on one split; score each.

    A reference or baseline with the same class and parameters as one of the served model's
    components (plain ALS always, usually the EASE partner) is that fitted component: the
    fit is deterministic, so fitting it again would give the same model. Its fit_seconds are
    those of the component inside the served model's fit."""
    config = config or EvaluationConfig()
    say = progress or (lambda _: None)
    started = time.perf_counter()
    split = evaluation_split(lines, cutoff, end=config.end)
    return evaluate_split(
        split,
        train_lines=len(split.train_lines),
        segments=segments,
        config=config,
        progress=say,
        started=started,
    )


def evaluation_split(
    lines: OrderLines, cutoff: datetime | np.datetime64 | str, end: datetime | None = None
) -> TimeSplit:
    """The time split the evaluation ranks on; InvalidInput naming the dates when it has nothing
    to fit on or no test pair."""
    check_cutoff(lines, cutoff, end=end)
    split = time_split(lines, cutoff, end=end)
    if split.test.nnz == 0:
        raise InvalidInput(
            f"no test pairs on or after the cutoff {_day(cutoff)}: no account seen before it "
            f"bought a product new to it (and sold before it) afterwards{_span(lines)}; "
            "pick an earlier cutoff"
        )
    return split


def evaluate_split(
    split: Split,
    *,
    train_lines: int,
    segments: Mapping[str, str | None] | None = None,
    config: EvaluationConfig | None = None,
    progress: Callable[[str], None] | None = None,
    served: HybridRecommender | None = None,
    ease_baseline: bool = True,
    started: float | None = None,
    knn: Callable[[ItemKNNParams], ItemKNNRecommender] = ItemKNNRecommender,
) -> EvaluationReport:
    """`evaluate_models` on a split already made (the Spark engine's, data.spark_lines):
    `served` is the (unfitted) served model when its ALS is fitted elsewhere (model.spark_als);
    `ease_baseline=False` leaves the EASE baseline out (as more products than
    config.dense.max_products do with CROSSGRAPH_DENSE_EASE=leave-out); `knn` makes the item-kNN
    of the baseline and of a served model built here (model.spark_knn, or another dense
    threshold)."""
    config = config or EvaluationConfig()
    say = progress or (lambda _: None)
    started = time.perf_counter() if started is None else started
    say(
        f"split at {split.cutoff}: {train_lines} train lines, "
        f"{len(split.test_accounts())} test accounts, {split.test.nnz} test pairs"
    )
    served = served or HybridRecommender(config.served, knn=knn(config.served.knn), dense=config.dense)
    products = split.train.shape[1]
    dense_ok = not config.dense.leaves_out_ease(products)
    cap = f" (top {config.dense.max_products:,} products)" if config.dense.caps_ease(products) else ""
    left_out: dict[str, str] = {}
    capped: dict[str, str] = {}
    candidates: list[tuple[str, Recommender]] = [(SERVED, served)]
    if config.als is not None:
        candidates.append((REFERENCE, ALSRecommender(config.als)))
    if config.partner_reference and config.served.ease_weight > 0 and config.served.ease != config.ease:
        if dense_ok:
            partner = EASERecommender(config.served.ease, name="ease_partner" + cap, dense=config.dense)
            candidates.append((REFERENCE, partner))
        else:
            left_out["ease_partner"] = config.dense.reason(products)
    candidates.append((BASELINE, PopularityRecommender(config.popularity_days)))
    if segments is not None:
        candidates.append((BASELINE, SegmentPopularityRecommender(segments, config.min_segment_size)))
    candidates.append((BASELINE, knn(config.knn)))
    if ease_baseline and dense_ok:
        candidates.append((BASELINE, EASERecommender(config.ease, name="ease" + cap, dense=config.dense)))
    elif ease_baseline:
        left_out["ease"] = config.dense.reason(products)
    if cap:
        capped.update(
            {m.name: config.dense.cap_reason(products) for _, m in candidates if m.name.endswith(cap)}
        )
    for name, reason in left_out.items():
        say(f"{name}: left out, {reason}")
    for name, reason in capped.items():
        say(f"{name}: capped, {reason}")

    results: list[ModelResult] = []
    for role, model in candidates:
        name = model.name
        shared = _component_of(served, model) if model is not served else None
        if shared is None:
            t0 = time.perf_counter()
            model.fit(split.train)
            fit_seconds = time.perf_counter() - t0
        else:
            model, fit_seconds = shared
        scored = score_recommender(model, split, config.ks)
        metrics = scored.metrics
        results.append(
            ModelResult(
                name,
                role,
                metrics,
                fit_seconds,
                scored.seconds,
                shared=shared is not None,
                per_account=scored.per_account,
            )
        )
        top = f"ndcg@{max(config.ks)}"
        say(f"{name}: {top}={metrics[top]:.4f} ({fit_seconds:.1f}s fit{', shared' if shared else ''})")
    if isinstance(served, HybridRecommender):
        left_out.update({f"served: {c}": reason for c, reason in served.left_out.items()})
        capped.update({f"served: {c}": reason for c, reason in served.capped.items()})
    return EvaluationReport(
        cutoff=str(split.cutoff),
        end=None if split.end is None else str(split.end),
        train_lines=train_lines,
        accounts=split.train.shape[0],
        products=split.train.shape[1],
        test_accounts=len(split.test_accounts()),
        test_pairs=split.test.nnz,
        unseen_product_pairs=split.unseen_product_pairs,
        results=results,
        served_params=config.served.to_dict(),
        seconds=time.perf_counter() - started,
        left_out=left_out,
        capped=capped,
    )


def check_cutoff(
    lines: OrderLines,
    cutoff: datetime | np.datetime64 | str,
    end: datetime | np.datetime64 | str | None = None,
) -> None:
    """InvalidInput, naming the data's date range, when the cutoff leaves nothing to fit on or
    no purchase to test on (cheap: run before tuning or fitting anything)."""
    cut = np.asarray(cutoff, dtype="datetime64[s]")[()]
    at = lines.ordered_at.astype("datetime64[s]")
    if not np.any(at < cut):
        raise InvalidInput(
            f"no training lines: no purchase before the cutoff {_day(cutoff)}{_span(lines)}; "
            "pick a later cutoff"
        )
    after = at >= cut
    if end is not None:
        after &= at < np.asarray(end, dtype="datetime64[s]")
    if not np.any(after):
        window = "" if end is None else f" and before {_day(end)}"
        raise InvalidInput(
            f"no test pairs: no purchase on or after the cutoff {_day(cutoff)}{window}"
            f"{_span(lines)}; pick an earlier cutoff"
        )


def _day(value: datetime | np.datetime64 | str) -> str:
    return str(np.asarray(value, dtype="datetime64[D]"))


def _span(lines: OrderLines) -> str:
    """' (the purchases run from 2022-05-26 to 2026-05-20)', or '' without lines."""
    if len(lines) == 0:
        return ""
    return f" (the purchases run from {_day(lines.ordered_at.min())} to {_day(lines.ordered_at.max())})"


def _component_of(hybrid: HybridRecommender, model: Recommender) -> tuple[Recommender, float] | None:
    """The hybrid's fitted component of the same class and parameters as `model`, and its fit seconds."""
    for name, _, component in hybrid.components():
        if type(component) is type(model) and getattr(component, "params", None) == getattr(
            model, "params", 0
        ):
            return component, hybrid.fit_seconds[name]
    return None


COLUMNS = ("precision", "recall", "ndcg", "map", "hit_rate")


def render_table(report: EvaluationReport, ks: tuple[int, ...] = (5, 10)) -> Any:
    """A rich Table: one row per model, P/R/NDCG/MAP/HR at each k, coverage and top-1 % share
    at max k; the caption gives the served model's interval against the best baseline."""
    from rich.table import Table

    top = max(ks)
    best = report.best_baseline(f"ndcg@{top}")
    table = Table(
        title=(
            f"cutoff {report.cutoff[:10]} - {report.test_accounts} test accounts, {report.test_pairs} "
            f"new pairs; served vs best baseline ({best.name}) NDCG@{top}: {report.lift_text(f'ndcg@{top}')}"
        ),
        caption=interval_line(report) + left_out_line(report) + capped_line(report),
    )
    table.add_column("model")
    table.add_column("role")
    for k in ks:
        for metric in COLUMNS:
            table.add_column(f"{_short(metric)}@{k}", justify="right")
    table.add_column(f"cov@{top}", justify="right")
    table.add_column(f"top1%@{top}", justify="right")
    table.add_column("fit s", justify="right")
    for r in report.results:
        cells = [f"{r.metrics[f'{m}@{k}']:.4f}" for k in ks for m in COLUMNS]
        style = "bold" if r.role == SERVED else None
        share = r.metrics.get(f"top1_share@{top}")
        table.add_row(
            r.name,
            r.role,
            *cells,
            f"{r.metrics[f'coverage@{top}']:.3f}",
            "" if share is None else f"{share:.3f}",
            f"{r.fit_seconds:.1f}",
            style=style,
        )
    return table


def interval_line(report: EvaluationReport) -> str:
    """'served - ease NDCG@10: +0.0070, 95 % interval [+0.0012, +0.0131] (paired bootstrap over
    1,411 test accounts, 2,000 resamples, seed 0)', ending 'not distinguishable' when it covers 0."""
    interval = report.interval()
    if interval is None:
        return "no per-account scores: no interval"
    verdict = "" if interval.distinguishable else ": not distinguishable"
    return (
        f"served - {report.best_baseline(PAIRED_METRIC).name} NDCG@10: {interval.difference:+.4f}, "
        f"{interval.level:.0%} interval [{interval.low:+.4f}, {interval.high:+.4f}] (paired bootstrap over "
        f"{interval.accounts:,} test accounts, {interval.resamples:,} resamples, "
        f"seed {interval.seed}){verdict}"
    )


def left_out_line(report: EvaluationReport) -> str:
    """'; left out: ease (30,000 products > 20,000 (CROSSGRAPH_DENSE_MAX_PRODUCTS)), ...' or ''."""
    if not report.left_out:
        return ""
    return "; left out: " + ", ".join(f"{name} ({reason})" for name, reason in report.left_out.items())


def capped_line(report: EvaluationReport) -> str:
    """'; capped: ease (top 20,000 products) (fitted on the 20,000 best-selling of 30,000 products
    (CROSSGRAPH_DENSE_MAX_PRODUCTS)), served: ease (...)' or ''."""
    if not report.capped:
        return ""
    return "; capped: " + ", ".join(f"{name} ({reason})" for name, reason in report.capped.items())


def _short(metric: str) -> str:
    return {"precision": "P", "recall": "R", "ndcg": "NDCG", "map": "MAP", "hit_rate": "HR"}[metric]


def plot_report(
    report: EvaluationReport,
    path: Path,
    metrics: tuple[str, ...] = ("ndcg@10", "map@10", "recall@10", "precision@10"),
) -> Path:
    """A grouped bar chart (one group per metric, one bar per model) written as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r.name for r in report.results]
    x = np.arange(len(metrics))
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(4.5 + 1.6 * len(metrics), 4.5))
    for i, r in enumerate(report.results):
        values = [r.metrics[m] for m in metrics]
        bars = ax.bar(x + (i - (len(names) - 1) / 2) * width, values, width, label=f"{r.name} ({r.role})")
        if r.role == SERVED:
            for bar in bars:
                bar.set_edgecolor("black")
                bar.set_linewidth(1.5)
    ax.set_xticks(x, list(metrics))
    ax.set_ylabel("score")
    ax.set_title(f"crossgraph offline evaluation, cutoff {report.cutoff[:10]}")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
