"""Time-bounded search for the served model AND every baseline, on validation windows before the cutoff.

Protocol (docs/tuning.md): `n_folds` validation windows of `window_days` (callers pass the
test window's length) ending `0, stride_days, 2 stride_days...` before `cutoff`, each a
`time_split` of the history before its end - accounts seen before, only products new to the
account, products sold before - exactly the test task. Nothing on or after `cutoff` is read.
Each window's test accounts are scored (a seeded sample of at most `max_accounts`).

Search, in stages, each given a share of the time budget (unused time rolls over):

1. the baselines and blend components, one grid each - popularity window, EASE lambda (log
   grid), item-kNN neighbours x shrinkage, RP3beta alpha x beta, bought next window x beta x
   half-life - and ALS (seeded random
   order over factors x regularisation (log grid) x alpha x weighting);
   each stage is successive halving over the windows (model.halving), the starting
   parameters and the untuned defaults first and always scored, then the grid nearest to the
   start (model.grid_order), so the baselines get the same effort on the same windows as the
   model and a search cut short has scored the likely-good region; EASE and popularity
   (`WHOLE_GRID`) are not halved: their whole grid is scored on every window (EASE: one Gram
   matrix per window, one inverse per lambda; popularity: a count) and the winner is the best
   mean over the windows; EASE may run past its share up to `WHOLE_GRID_MAX_SHARE` of the time
   left, taken from the stages after it (`RUNS_PAST_SHARE`);
2. blend weights on a coarse simplex (steps of `blend_step`, ALS > 0, nearest to the starting
   blend first), then steps of `blend_step / 2` around the best, on cached standardised
   scores (no refit);
3. coverage guard: a blend may not lose more than `max_coverage_loss` (relative) of the best
   tuned baseline's catalogue coverage@k;
4. never worse than a baseline: when the best blend scores below the best tuned baseline,
   that baseline's weight (EASE or item-kNN are blend components) rises until it does not;
   the result records which (`guard`).

The blend's EASE (stage "ease_variant", after EASE): at the lambda the EASE stage chose, the
blend's EASE component may be normalised as DAN does (Park et al. 2025; model.baselines.
EASEParams.user_exponent x popularity_exponent, `space.ease_user_exponent` x
`space.ease_popularity_exponent`), or be the emphasized denoising linear autoencoder (Steck 2020;
EASEParams.dropout, `space.ease_dropout`, empty by default: tried and not adopted,
docs/tuning.md); plain EASE (its scores reused) is among the candidates. Candidates are grouped by
their user exponent, so that those differing in the popularity exponent alone share one inverse
(GramCache.kept). The EASE *baseline* stays the EASE stage's winner, plain EASE with its tuned
lambda; the blend's EASE is this stage's winner, and the guard's "raise EASE" raises it.

Recency decay is not searched (`decay=False`, the default): every candidate of every stage -
the start, the defaults and the grid, served components and baselines alike - is replaced by
its no-decay twin (half-life and seasonal cycle off: ALS and EASE weighting, bought next's
recency). The validation windows end 0-60 days before the cutoff and share the newest
window's season, so they rate a half-life by how well the last weeks predict the next ones
there, which did not carry over to the test (docs/tuning.md: Spearman of validation and
test over EASE with and without a 30-day half-life -0.09 and 0.03 on two sets, 1.0 and 0.5
without decay). `decay=True` searches the grid's half-lives as given.
EASE candidates of one window share one Gram matrix X^T X (`GramCache`): only the inverse
changes with lambda. Above `dense.max_products` products (CROSSGRAPH_DENSE_MAX_PRODUCTS,
model.dense) EASE is capped to each window's best-selling max_products products (`capped` says
so): its cached z-scores are standardised over the products inside the cap and 0 outside, as the
served blend does (model.hybrid); with CROSSGRAPH_DENSE_EASE=leave-out the EASE stage is skipped
instead: EASE is neither a blend component nor a baseline here (`left_out` says why). RP3beta is
computed in sparse blocks.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

from crossgraph.data.orderlines import OrderLines
from crossgraph.data.split import TimeSplit, validation_folds
from crossgraph.data.weighting import WeightingConfig
from crossgraph.errors import InvalidInput
from crossgraph.model.als import ALSParams, ALSRecommender
from crossgraph.model.base import Recommender, top_k
from crossgraph.model.baselines import (
    EASEParams,
    EASERecommender,
    GramCache,
    ItemKNNParams,
    ItemKNNRecommender,
    PopularityRecommender,
)
from crossgraph.model.dense import DenseLimit
from crossgraph.model.evaluate import EvaluationConfig
from crossgraph.model.grid_order import likely_good_first
from crossgraph.model.halving import HalvingResult, every_window, successive_halving
from crossgraph.model.hybrid import DEFAULT_ALS, DEFAULT_EASE, HybridParams
from crossgraph.model.metrics import ranking_metrics
from crossgraph.model.rp3beta import RP3betaParams, RP3betaRecommender
from crossgraph.model.sequential import SequentialParams, SequentialRecommender

COMPONENTS = ("als", "ease", "knn", "rp3", "seq")  # blend components, in blend-weight order
# What a tune searches unless told otherwise (training/params.json "tune_components"): bought
# next is opt-in, because the validation windows overrate it (docs/tuning.md: chosen on Online
# Retail and Complete Journey, it lowered their test NDCG@10 with intervals excluding zero).
DEFAULT_COMPONENTS = ("als", "ease", "knn", "rp3")
BASELINES = ("popularity", "ease", "knn")  # the tuned baselines the served model must not lose to
# Each stage keeps time back so that its best two reach every window (model.halving): a blend
# is chosen on the windows every winner reached, and one window alone misjudged it
# (docs/tuning.md, "Finalists").
FINALISTS = 2
# Stages whose whole grid is scored on every window, no halving (model.halving.every_window):
# EASE's candidates share one Gram matrix per window, so each lambda costs one inverse, and
# halving by the newest window dropped the lambda the windows prefer on the mean (docs/tuning.md,
# "The EASE baseline's whole grid"). Such a stage may run past its share, up to
# WHOLE_GRID_MAX_SHARE of the time left when it starts; what it takes beyond its share comes out
# of the stages after it, in proportion to theirs (their deadlines are computed from the time left).
# Popularity's grid is four cheap fits, but the first fit of a run also pays one-off costs (the
# first ranking: 2 s against 0.15 s for the next on Complete Journey), and halving, estimating
# the rest from it, stopped its 3 % share after one candidate (docs/tuning.md, "The search"):
# scored window by window it needs no estimate. Only the stages in RUNS_PAST_SHARE may take more
# than their share.
WHOLE_GRID = ("popularity", "ease")
RUNS_PAST_SHARE = ("ease",)
WHOLE_GRID_MAX_SHARE = 0.5
KEEP_PER_WINDOW = 5  # standardised score blocks kept per component and window (> max survivors)
STAGE_SHARES = {
    "popularity": 0.03,
    "ease": 0.17,
    "ease_variant": 0.07,
    "knn": 0.13,
    "rp3": 0.09,
    "seq": 0.06,
    "als": 0.35,
    "blend": 0.15,
}


def _default_weightings() -> tuple[WeightingConfig, ...]:
    return (
        WeightingConfig(scheme="binary"),
        WeightingConfig(scheme="log"),
        WeightingConfig(scheme="log", half_life_days=90.0),
        WeightingConfig(scheme="bm25", bm25_k1=1.2, bm25_b=0.75),
    )


@dataclass(frozen=True)
class SearchSpace:
    factors: tuple[int, ...] = (64, 128, 256)
    regularization: tuple[float, ...] = (1.0, 10.0, 100.0)  # log grid
    alpha: tuple[float, ...] = (1.0,)
    iterations: tuple[int, ...] = (15,)
    weighting: tuple[WeightingConfig, ...] = field(default_factory=_default_weightings)
    ease_regularization: tuple[float, ...] = (30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0)  # log grid
    # The blend's EASE component at the tuned EASE lambda (the "ease_variant" stage; the EASE
    # baseline stays plain EASE): DAN's user x popularity exponents (0, 0: EASE), docs/tuning.md
    # "DAN normalisation", and EDLAE's dropouts p.
    ease_user_exponent: tuple[float, ...] = (0.0, 0.25, 0.5)
    ease_popularity_exponent: tuple[float, ...] = (0.0, 0.1, 0.2)
    # EDLAE: empty, the default.
    # Tried with (0.1, 0.25, 0.5) and not adopted: at the tuned lambda EDLAE scored as EASE on
    # validation and on the test of three sets (docs/tuning.md, "Tried, not adopted: EDLAE").
    ease_dropout: tuple[float, ...] = ()
    knn_neighbours: tuple[int, ...] = (20, 50, 200)
    knn_shrinkage: tuple[float | None, ...] = (None, 0.0, 10.0, 100.0)  # None: BM25 dot products
    popularity_days: tuple[float | None, ...] = (None, 30.0, 90.0, 365.0)  # None: all time
    rp3_alpha: tuple[float, ...] = (0.5, 1.0)
    rp3_beta: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75)
    rp3_neighbours: int = 100
    seq_window_days: tuple[float, ...] = (30.0, 90.0)
    seq_beta: tuple[float, ...] = (0.0, 0.25)
    seq_half_life_days: tuple[float, ...] = (30.0, 180.0)
    blend_step: float = 0.25

    def als_candidates(self) -> list[tuple[int, float, float, int, WeightingConfig]]:
        return list(
            itertools.product(self.factors, self.regularization, self.alpha, self.iterations, self.weighting)
        )

    def blends(self, components: Sequence[str]) -> list[dict[str, float]]:
        """Weights on the simplex in steps of `blend_step` (summing to 1), ALS always > 0."""
        steps = round(1 / self.blend_step)
        out = []
        for parts in itertools.product(range(steps + 1), repeat=len(components)):
            if sum(parts) == steps and parts[0] > 0:
                out.append({c: p / steps for c, p in zip(components, parts, strict=True)})
        return out

    def refinements(self, weights: dict[str, float]) -> list[dict[str, float]]:
        """The blends `blend_step / 2` away from `weights`: half a step moved from one component
        to another (ALS stays > 0 unless it was 0 already, no weight below 0)."""
        half = self.blend_step / 2
        out = []
        for give, take in itertools.permutations(weights, 2):
            if weights[give] < half - 1e-9 or (give == "als" and weights[give] - half < 1e-9):
                continue
            moved = dict(weights)
            moved[give] = round(moved[give] - half, 6)
            moved[take] = round(moved[take] + half, 6)
            out.append(moved)
        return out


@dataclass(frozen=True)
class Trial:
    stage: str  # popularity | ease | ease_variant | knn | rp3 | seq | als | blend | guard
    params: dict[str, Any]
    score: float  # mean of the metric over the windows it was scored on
    fold_scores: list[float]
    seconds: float
    coverage: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "params": self.params,
            "score": round(self.score, 5),
            "fold_scores": [round(s, 5) for s in self.fold_scores],
            "seconds": round(self.seconds, 2),
            "coverage": None if self.coverage is None else round(self.coverage, 4),
        }


@dataclass(frozen=True)
class TunedBaselines:
    """The best tuned parameters of each baseline, for the evaluation and the gate."""

    popularity_days: float | None
    ease: EASEParams
    knn: ItemKNNParams

    def to_dict(self) -> dict[str, Any]:
        return {
            "popularity": {"window_days": self.popularity_days},
            "ease": self.ease.to_dict(),
            "knn": self.knn.to_dict(),
        }


@dataclass(frozen=True)
class TuningResult:
    best: HybridParams
    baselines: TunedBaselines
    metric: str
    trials: list[Trial]
    folds: list[dict[str, Any]]
    seed: int
    seconds: float
    budget_seconds: float
    complete: bool  # every stage finished its search before the budget ran out
    guard: dict[str, Any]  # never-worse-than-a-baseline and coverage guards: what they did
    left_out: dict[str, str] = field(default_factory=dict)  # stage -> why it was not searched
    capped: dict[str, str] = field(default_factory=dict)  # stage -> which products it was fitted on

    def best_score(self, stage: str) -> float:
        return max((t.score for t in self.trials if t.stage == stage), default=float("nan"))

    def to_dict(self) -> dict[str, Any]:
        stages = sorted(
            {t.stage for t in self.trials},
            key=lambda s: list(STAGE_SHARES).index(s) if s in STAGE_SHARES else 99,
        )
        return {
            "best": self.best.to_dict(),
            "baselines": self.baselines.to_dict(),
            "metric": self.metric,
            "seed": self.seed,
            "folds": self.folds,
            "best_by_stage": {s: round(self.best_score(s), 5) for s in stages},
            "guard": self.guard,
            "left_out": self.left_out,
            "capped": self.capped,
            "complete": self.complete,
            "trials": [t.to_dict() for t in self.trials],
            "seconds": round(self.seconds, 1),
            "budget_seconds": round(self.budget_seconds, 1),
        }

    def render_table(self, top: int = 5) -> Any:
        """The best `top` trials of each stage as a rich Table."""
        from rich.table import Table

        table = Table(
            title=f"tuning: mean {self.metric} over {len(self.folds)} validation windows, "
            f"{self.seconds:.0f}s of a {self.budget_seconds:.0f}s budget"
            + ("" if self.complete else " (budget reached: search cut short)")
        )
        table.add_column("stage")
        table.add_column("params")
        table.add_column(self.metric, justify="right")
        table.add_column("per window", justify="right")
        table.add_column("coverage", justify="right")
        for stage in STAGE_SHARES:
            ranked = sorted((t for t in self.trials if t.stage == stage), key=lambda t: -t.score)
            for t in ranked[:top]:
                params = ", ".join(f"{k}={v}" for k, v in t.params.items())
                folds = " ".join(f"{s:.4f}" for s in t.fold_scores)
                cov = "" if t.coverage is None else f"{t.coverage:.3f}"
                table.add_row(stage, params, f"{t.score:.4f}", folds, cov)
        return table


def _als_summary(p: ALSParams) -> dict[str, Any]:
    w = p.weighting
    return {
        "factors": p.factors,
        "regularization": p.regularization,
        "alpha": p.alpha,
        "iterations": p.iterations,
        "weighting": w.scheme,
        "half_life_days": w.half_life_days,
    }


FloatMatrix = npt.NDArray[np.float32]
P = TypeVar("P")


def undecayed(params: P) -> P:
    """The no-decay twin of a component's parameters: half-life and seasonal cycle off (ALS and
    EASE weighting, bought next's recency); other parameters as they are."""
    if isinstance(params, ALSParams | EASEParams):
        plain = replace(params.weighting, half_life_days=None, seasonal_period_days=None)
        return cast(P, replace(params, weighting=plain))
    if isinstance(params, SequentialParams):
        return cast(P, replace(params, half_life_days=None))
    return params


def plain(params: EASEParams) -> EASEParams:
    """EASE without its variant (no dropout, no DAN normalisation): what the EASE baseline is."""
    return replace(params, dropout=0.0, user_exponent=0.0, popularity_exponent=0.0)


@dataclass
class _Window:
    """One validation window, ready to score: sampled test accounts, their owned and relevant rows."""

    split: TimeSplit
    accounts: npt.NDArray[np.intp]
    owned: Any
    relevant: Any

    @property
    def n_items(self) -> int:
        return int(self.split.train.shape[1])


def zscores(raw: FloatMatrix, owned: Any, covered: npt.NDArray[np.bool_] | None = None) -> FloatMatrix:
    """(raw - mean_u) / std_u with the statistics over each row's unowned products (as
    HybridRecommender.standardised); owned entries are left as they are (top_k excludes them).
    With `covered` (a capped EASE's products) the statistics are over the unowned covered
    products and every other product's z is 0."""
    n, m = raw.shape
    mask = np.zeros((n, m), dtype=bool)
    mask[np.repeat(np.arange(n), np.diff(owned.indptr)), owned.indices] = True
    free = ~mask if covered is None else ~mask & covered[np.newaxis, :]
    n_free = np.maximum(free.sum(axis=1, keepdims=True), 1)
    mean = np.where(free, raw, 0.0).sum(axis=1, keepdims=True) / n_free
    var = np.where(free, (np.where(free, raw, mean) - mean) ** 2, 0.0).sum(axis=1, keepdims=True) / n_free
    std = np.sqrt(var)
    std = np.where(std > 0, std, 1.0)
    z: FloatMatrix = ((raw - mean) / std).astype(np.float32)
    if covered is not None:
        z[:, ~covered] = 0.0
    return z


class _Scorer:
    """Fits one configuration on one window and scores it; keeps standardised scores of the
    configurations that may still win (blend components), keyed by (component, key, window)."""

    def __init__(
        self, windows: list[_Window], k: int, metric: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.windows, self.k, self.metric, self.clock = windows, k, metric, clock
        self.z: dict[tuple[str, str, int], FloatMatrix] = {}
        self.coverage: dict[tuple[str, str, int], float] = {}
        self.scores: dict[tuple[str, str, int], float] = {}
        self.fit_seconds: dict[tuple[str, str], float] = {}  # first fit and scoring of each candidate
        # products a capped component scores, per (component, window) (absent: every product)
        self.covered: dict[tuple[str, int], npt.NDArray[np.bool_]] = {}

    def cost(self, component: str, key: str, fold: int) -> float | None:
        """Seconds scoring (component, key) on `fold` will take: 0 when cached, else its first
        fit's, else the mean first fit of the component, else None (nothing fitted yet)."""
        if (component, key, fold) in self.scores:
            return 0.0
        if (component, key) in self.fit_seconds:
            return self.fit_seconds[(component, key)]
        known = [s for (c, _), s in self.fit_seconds.items() if c == component]
        return sum(known) / len(known) if known else None

    def run(self, component: str, key: str, model: Recommender, fold: int, keep: bool) -> float:
        if (component, key, fold) in self.scores:  # a resumed stage: scored before, no refit
            return self.scores[(component, key, fold)]
        w = self.windows[fold]
        started = self.clock()
        model.fit(w.split.train)
        raw = np.asarray(model.score(w.accounts), dtype=np.float32)
        items, _ = top_k(raw.copy(), self.k, w.owned)
        metrics = ranking_metrics(items, w.relevant, ks=(self.k,), n_items=w.n_items)
        self.fit_seconds.setdefault((component, key), self.clock() - started)
        self.coverage[(component, key, fold)] = metrics[f"coverage@{self.k}"]
        score = float(metrics[self.metric])
        self.scores[(component, key, fold)] = score
        if keep:
            # Only the few best of a window can survive the halving: standardise (a few dense
            # passes over accounts x products) only a score that ranks among them.
            held = sorted(
                (x for x in self.z if x[0] == component and x[2] == fold), key=lambda x: -self.scores[x]
            )
            if len(held) < KEEP_PER_WINDOW or score > self.scores[held[KEEP_PER_WINDOW - 1]]:
                self.z[(component, key, fold)] = zscores(raw, w.owned, self._covered(component, model, fold))
                for x in held[KEEP_PER_WINDOW - 1 :] if len(held) >= KEEP_PER_WINDOW else []:
                    del self.z[x]
        return score

    def standardise(self, component: str, key: str, model: Recommender, fold: int) -> None:
        """Refit a winner whose standardised scores were dropped (it was not among a window's
        best when scored, or its stage's earlier winner replaced it) and cache them."""
        w = self.windows[fold]
        model.fit(w.split.train)
        self.z[(component, key, fold)] = zscores(
            np.asarray(model.score(w.accounts), dtype=np.float32),
            w.owned,
            self._covered(component, model, fold),
        )

    def _covered(self, component: str, model: Recommender, fold: int) -> npt.NDArray[np.bool_] | None:
        """The fitted model's covered products, remembered for the blends of this window."""
        covered = model.covered
        if covered is not None:
            self.covered[(component, fold)] = covered
        return covered

    def mean_coverage(self, component: str, key: str, folds: int) -> float:
        values = [
            self.coverage[(component, key, f)] for f in range(folds) if (component, key, f) in self.coverage
        ]
        return float(np.mean(values)) if values else 0.0

    def forget(self, component: str, keep_key: str) -> None:
        for key in [k for k in self.z if k[0] == component and k[1] != keep_key]:
            del self.z[key]

    def blend(self, weights: dict[str, float], keys: dict[str, str], folds: int) -> tuple[list[float], float]:
        """Per-window metric and mean coverage of the blend sum_c w_c z_c (cached scores only)."""
        scores, coverage = [], []
        for f in range(folds):
            w = self.windows[f]
            total = np.zeros((len(w.accounts), w.n_items), dtype=np.float32)
            scored: npt.NDArray[np.bool_] | None = np.zeros(w.n_items, dtype=bool)
            for c, weight in weights.items():
                if weight:
                    total += np.float32(weight) * self.z[(c, keys[c], f)]
                    covered = self.covered.get((c, f))
                    scored = None if scored is None or covered is None else scored | covered
            if scored is not None:  # as HybridRecommender.score: what no weighted component scores
                total[:, ~scored] = -np.inf
            items, _ = top_k(total, self.k, w.owned)
            metrics = ranking_metrics(items, w.relevant, ks=(self.k,), n_items=w.n_items)
            scores.append(float(metrics[self.metric]))
            coverage.append(metrics[f"coverage@{self.k}"])
        return scores, float(np.mean(coverage))


def _windows(folds: list[TimeSplit], max_accounts: int, seed: int) -> list[_Window]:
    rng = np.random.default_rng(seed)
    out = []
    for split in folds:
        accounts = split.test_accounts()
        if len(accounts) > max_accounts:
            accounts = np.sort(rng.choice(accounts, size=max_accounts, replace=False))
        out.append(_Window(split, accounts, split.train.binary[accounts], split.test.binary[accounts]))
    return out


def tune(
    lines: OrderLines,
    cutoff: datetime | np.datetime64 | str,
    space: SearchSpace | None = None,
    minutes: float = 3.0,
    seed: int = 0,
    window_days: float = 99.0,
    n_folds: int = 3,
    stride_days: float = 30.0,
    metric: str = "ndcg@10",
    start: HybridParams | None = None,
    seasonal_period_days: float | None = None,
    max_accounts: int = 3000,
    max_coverage_loss: float = 0.2,
    progress: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    components: Sequence[str] = DEFAULT_COMPONENTS,
    decay: bool = False,
    finalists: int = FINALISTS,
    dense: DenseLimit | None = None,
) -> TuningResult:
    """Search the served model's and the baselines' parameters on windows before `cutoff`
    within `minutes` (see the module doc); return the best and every trial.

    With `decay` the half-lives of the start, the defaults and the grid are searched as given,
    and `seasonal_period_days` is applied to every weighting with a half-life (see
    data.weighting); without (the default) every candidate is its no-decay twin. `finalists`:
    how many of each stage's best the scheduler keeps time for on every window (model.halving).
    Above `dense.max_products` products EASE is capped (`capped`), or with its `ease`
    "leave-out" left out (`left_out`) and the start's EASE baseline parameters kept untuned.
    """
    if minutes <= 0:
        raise InvalidInput(f"tuning minutes must be > 0, got {minutes}")
    if not 0 <= max_coverage_loss <= 1:
        raise InvalidInput(f"max_coverage_loss must be within 0..1, got {max_coverage_loss}")
    if not {"als", "ease", "knn"} <= set(components) <= set(COMPONENTS):
        raise InvalidInput(
            f"tune components must include als, ease and knn (the guard may raise a baseline's weight) "
            f"and be among {', '.join(COMPONENTS)}; got {', '.join(components)}"
        )
    dense = dense or DenseLimit()
    space = space or SearchSpace()
    start = start or HybridParams()
    say = progress or (lambda _: None)
    began = clock()
    deadline = began + minutes * 60.0
    k = int(metric.split("@")[1])
    folds = validation_folds(lines, cutoff, window_days, n_folds, stride_days=stride_days)
    fold_info: list[dict[str, Any]] = [
        {
            "cutoff": str(f.cutoff),
            "end": str(f.end),
            "train_accounts": f.train.shape[0],
            "test_accounts": len(f.test_accounts()),
            "test_pairs": f.test.nnz,
        }
        for f in folds
    ]
    usable = [i for i, f in enumerate(folds) if len(f.test_accounts())]
    if not usable:
        raise InvalidInput(
            f"no validation window before {np.asarray(cutoff, dtype='datetime64[D]')!s} has a test purchase "
            f"({n_folds} windows of {window_days:g} days): too little history to tune on"
        )
    folds = [folds[i] for i in usable]
    n_items = max(f.train.shape[1] for f in folds)
    left_out = {"ease": dense.reason(n_items)} if dense.leaves_out_ease(n_items) else {}
    capped = {"ease": dense.cap_reason(n_items)} if dense.caps_ease(n_items) else {}
    blended = tuple(c for c in COMPONENTS if c in components and c not in left_out)  # blend-weight order
    baselines = tuple(b for b in BASELINES if b not in left_out)
    for stage, reason in left_out.items():
        say(f"{stage}: left out, {reason}")
    for stage, reason in capped.items():
        say(f"{stage}: capped, {reason}")
    say("validation windows: " + "; ".join(f"{str(f.cutoff)[:10]}..{str(f.end)[:10]}" for f in folds))
    scorer = _Scorer(_windows(folds, max_accounts, seed), k, metric, clock)
    grams = GramCache(size=len(folds))
    rng = np.random.default_rng(seed)
    trials: list[Trial] = []
    results: dict[str, HalvingResult[Any]] = {}  # each stage's latest search
    plans: dict[str, tuple[Any, ...]] = {}  # each stage's search arguments, to resume it
    spent: dict[tuple[str, str], float] = {}  # seconds per (stage, candidate) over both passes
    # A component left out of the search leaves its share to the stages after it.
    # The blend's EASE variants are searched only for a blended EASE (else its share, too, goes to
    # the stages after it).
    variants = "ease" in blended and any(
        (*space.ease_dropout, *space.ease_user_exponent, *space.ease_popularity_exponent)
    )
    shares_left = {
        s: share
        for s, share in STAGE_SHARES.items()
        if (s not in COMPONENTS or s in blended) and (s != "ease_variant" or variants)
    }

    planned: dict[str, float] = {}  # a whole-grid stage's share of the time left, in seconds

    def stage_deadline(stage: str) -> float:
        share = shares_left.pop(stage)
        rest = share + sum(shares_left.values())
        now = clock()
        fraction = share / rest
        if stage in RUNS_PAST_SHARE:
            planned[stage] = max(deadline - now, 0.0) * fraction
            fraction = max(fraction, WHOLE_GRID_MAX_SHARE)
        return now + max(deadline - now, 0.0) * fraction

    def seasonal(w: WeightingConfig) -> WeightingConfig:
        if seasonal_period_days is None or w.half_life_days is None:
            return w
        return replace(w, seasonal_period_days=seasonal_period_days)

    def search(
        stage: str,
        options: list[Any],
        make: Callable[[Any], Recommender],
        describe: Callable[[Any], dict[str, Any]],
        cache: bool,
        required: int = 1,
        until: float | None = None,
    ) -> HalvingResult[Any]:
        plans[stage] = (options, make, describe, cache, required)
        keys = {id(o): repr(o) for o in options}
        stage_began, first_pass = clock(), until is None
        until = stage_deadline(stage) if until is None else until
        component = scored_as.get(stage, stage)  # EDLAE's candidates are EASE's: one score cache

        def evaluate(option: Any, fold: int) -> float:
            return scorer.run(component, keys[id(option)], make(option), fold, keep=cache)

        def cost(option: Any, fold: int) -> float | None:
            return scorer.cost(component, keys[id(option)], fold)

        if stage in WHOLE_GRID:
            found = every_window(options, evaluate, len(folds), until, clock, required, cost)
        else:
            found = successive_halving(
                options,
                evaluate,
                len(folds),
                until,
                clock=clock,
                required=required,
                finalists=finalists,
                cost=cost,
            )
        results[stage] = found
        trials[:] = [t for t in trials if t.stage != stage]  # a resumed stage replaces its trials
        for s in found.scored:
            key = keys[id(s.candidate)]
            spent[(stage, key)] = spent.get((stage, key), 0.0) + s.seconds
            cov = scorer.mean_coverage(component, key, len(s.fold_scores))
            trials.append(
                Trial(stage, describe(s.candidate), s.score, s.fold_scores, spent[(stage, key)], cov)
            )
        if cache:
            scorer.forget(component, keys[id(found.best.candidate)])
        say(
            f"{stage}: {len(found.scored)}/{len(options)} candidates in {clock() - began:.0f}s, best "
            f"{describe(found.best.candidate)} -> {found.best.score:.4f}"
            + ("" if found.complete else " (stage budget reached)")
            + (
                f"; {clock() - stage_began:.0f}s of its share's {planned[stage]:.0f}s "
                f"(a whole-grid stage may take up to {WHOLE_GRID_MAX_SHARE:.0%} of the time left; "
                "beyond its share, from the stages after it)"
                if first_pass and stage in planned
                else ""
            )
        )
        return found

    scored_as = {"ease_variant": "ease"}

    def ordered(first: Any, defaults: Sequence[Any], grid: list[Any]) -> tuple[list[Any], int]:
        if not decay:  # twins may coincide: keep each once, in order
            first = undecayed(first)
            defaults = list(dict.fromkeys(undecayed(d) for d in defaults))
            grid = list(dict.fromkeys(undecayed(g) for g in grid))
        return likely_good_first(first, defaults, grid, rng)

    # 1. Baselines and blend components, the starting parameters first.
    pop = search(
        "popularity",
        list(space.popularity_days),
        lambda d: PopularityRecommender(window_days=d),
        lambda d: {"window_days": d},
        cache=False,
    )
    ease_options, required = ordered(
        plain(start.ease),  # the EASE baseline is plain EASE; its variants are searched next
        [EASEParams(), DEFAULT_EASE],
        [EASEParams(regularization=r) for r in space.ease_regularization],
    )
    ease = None
    if "ease" not in left_out:
        ease = search(
            "ease",
            ease_options,
            lambda p: EASERecommender(p, grams=grams, dense=dense),
            lambda p: {"regularization": p.regularization, "half_life_days": p.weighting.half_life_days},
            cache=True,
            required=required,
        )

    def variant_options() -> tuple[list[EASEParams], int]:
        """The blend's EASE at the tuned EASE lambda: the start's variant, then plain EASE (the EASE
        stage's winner, scored already), then DAN's grid and the dropouts; after the head, grouped
        by user exponent (nearest the start's first), so popularity exponents share an inverse."""
        assert ease is not None
        tuned = ease.best.candidate
        options, required = ordered(
            replace(
                tuned,
                dropout=start.ease.dropout,
                user_exponent=start.ease.user_exponent,
                popularity_exponent=start.ease.popularity_exponent,
            ),
            [tuned],
            [
                replace(tuned, user_exponent=b, popularity_exponent=g)
                for b, g in itertools.product(space.ease_user_exponent, space.ease_popularity_exponent)
            ]
            + [replace(tuned, dropout=p) for p in space.ease_dropout],
        )
        rest = sorted(
            options[required:], key=lambda p: abs(p.user_exponent - start.ease.user_exponent)
        )  # stable: within a group, the nearness order
        return options[:required] + rest, required

    def variant_search(until: float | None = None) -> HalvingResult[Any]:
        options, required = variant_options()
        return search(
            "ease_variant",
            options,
            lambda p: EASERecommender(p, grams=grams, dense=dense),
            lambda p: {
                "regularization": p.regularization,
                "dropout": p.dropout,
                "user_exponent": p.user_exponent,
                "popularity_exponent": p.popularity_exponent,
                "half_life_days": p.weighting.half_life_days,
            },
            cache=True,
            required=required,
            until=until,
        )

    if ease is not None and variants:
        variant_search()
    knn_options, required = ordered(
        start.knn,
        [ItemKNNParams()],
        [
            ItemKNNParams(neighbours=n)
            if s is None
            else ItemKNNParams(neighbours=n, cosine=True, shrinkage=s)
            for n, s in itertools.product(space.knn_neighbours, space.knn_shrinkage)
        ],
    )
    knn = search(
        "knn",
        knn_options,
        ItemKNNRecommender,
        lambda p: {"neighbours": p.neighbours, "cosine": p.cosine, "shrinkage": p.shrinkage},
        cache=True,
        required=required,
    )
    rp3_options, required = ordered(
        start.rp3,
        [RP3betaParams()],
        [
            RP3betaParams(alpha=a, beta=b, neighbours=space.rp3_neighbours)
            for a, b in itertools.product(space.rp3_alpha, space.rp3_beta)
        ],
    )
    rp3 = search(
        "rp3",
        rp3_options,
        lambda p: RP3betaRecommender(p, dense=dense),
        lambda p: p.to_dict(),
        cache=True,
        required=required,
    )
    seq_options, required = ordered(
        start.seq,
        [SequentialParams()],
        [
            replace(start.seq, window_days=w, beta=b, half_life_days=h)
            for w, b, h in itertools.product(space.seq_window_days, space.seq_beta, space.seq_half_life_days)
        ],
    )
    seq = None
    if "seq" in blended:
        seq = search(
            "seq", seq_options, SequentialRecommender, lambda p: p.to_dict(), cache=True, required=required
        )
    als_start = replace(start.als, weighting=seasonal(start.als.weighting))
    als_options, required = ordered(
        als_start,
        [
            replace(
                DEFAULT_ALS, weighting=seasonal(DEFAULT_ALS.weighting), random_state=start.als.random_state
            )
        ],
        [
            ALSParams(
                factors=f,
                regularization=r,
                alpha=a,
                iterations=i,
                weighting=seasonal(w),
                random_state=start.als.random_state,
            )
            for f, r, a, i, w in space.als_candidates()
        ],
    )
    als = search("als", als_options, ALSRecommender, _als_summary, cache=True, required=required)

    # 1b. Time the stages left unused (a stage that finished early) goes back to the stages cut
    # short, in order, keeping the blend's share: each resumes its search, reusing every score
    # it computed before, so only new fits cost time.
    reserve = STAGE_SHARES["blend"] * minutes * 60.0
    cut = [stage for stage, r in results.items() if not r.complete]
    if "ease" in cut and "ease_variant" in results and "ease_variant" not in cut:
        cut.insert(cut.index("ease") + 1, "ease_variant")  # its lambda follows EASE's winner
    for i, stage in enumerate(cut):
        left = deadline - reserve - clock()
        if left <= 0:
            break
        share = STAGE_SHARES[stage] / sum(STAGE_SHARES[c] for c in cut[i:])
        if stage == "ease_variant":  # at the lambda EASE's resumed search chose
            ease = results["ease"]
            variant_search(until=clock() + left * share)
            continue
        options_, make_, describe_, cache_, required_ = plans[stage]
        search(stage, options_, make_, describe_, cache_, required_, until=clock() + left * share)
    pop, knn, rp3, als = (results[s] for s in ("popularity", "knn", "rp3", "als"))
    ease, seq, variant = results.get("ease"), results.get("seq"), results.get("ease_variant")

    # 2. Blend weights on the simplex, on cached scores of each component's winner. Only the
    # windows every winner was scored on count (a stage cut short may have scored only one).
    # The blend's EASE is the variant stage's winner (plain EASE among its candidates); the EASE
    # baseline stays the EASE stage's (plain EASE).
    searched = {"als": als, "ease": variant or ease, "knn": knn, "rp3": rp3, "seq": seq}
    found = {c: r for c, r in searched.items() if r is not None}
    tuned_baselines = {**found, **({"ease": ease} if ease is not None else {})}
    keys = {c: repr(found[c].best.candidate) for c in blended}
    depth = min(len(found[c].best.fold_scores) for c in blended)
    if ease is not None:  # the EASE baseline is judged on the same windows as the blend
        depth = min(depth, len(ease.best.fold_scores))
    for c in blended:
        for f in range(depth):
            if (c, keys[c], f) not in scorer.z:
                scorer.standardise(c, keys[c], plans[c][1](found[c].best.candidate), f)
    until = stage_deadline("blend")
    baseline_scores = {
        b: float(np.mean((pop if b == "popularity" else tuned_baselines[b]).best.fold_scores[:depth]))
        for b in baselines
    }
    best_baseline = max(baselines, key=lambda b: baseline_scores[b])
    baseline_coverage = scorer.mean_coverage(
        best_baseline,
        repr(tuned_baselines[best_baseline].best.candidate)
        if best_baseline != "popularity"
        else repr(pop.best.candidate),
        depth,
    )
    min_coverage = (1 - max_coverage_loss) * baseline_coverage
    start_blend = {
        "als": start.als_weight,
        "ease": start.ease_weight,
        "knn": start.knn_weight,
        "rp3": start.rp3_weight,
        "seq": start.seq_weight,
    }
    start_blend = {c: w for c, w in start_blend.items() if c in blended}
    total = sum(start_blend.values())
    first = {c: w / total for c, w in start_blend.items()}
    default_blend = {c: w for c, w in HybridParams().blend.items() if c in blended}
    options, _ = likely_good_first(first, [default_blend], space.blends(blended), rng, _blend_distance)
    best_blend: dict[str, float] | None = None
    best_score, best_cov = -math.inf, 0.0
    tried: list[dict[str, float]] = []

    def try_blends(candidates: list[dict[str, float]]) -> bool:
        """Score the candidates not tried yet in order; False when the stage's time ran out."""
        nonlocal best_blend, best_score, best_cov
        for weights in candidates:
            if any(_blend_distance(weights, t) < 1e-6 for t in tried):
                continue
            if tried and clock() >= until:
                return False
            tried.append(weights)
            t0 = clock()
            scores, cov = scorer.blend(weights, keys, depth)
            score = float(np.mean(scores))
            params = {f"{c}_weight": round(w, 4) for c, w in weights.items()}
            trials.append(Trial("blend", params, score, scores, clock() - t0, cov))
            if cov >= min_coverage and score > best_score:
                best_blend, best_score, best_cov = weights, score, cov
        return True

    finished = try_blends(options)
    refined: dict[str, float] | None = None
    while finished and best_blend is not None and best_blend != refined:
        # Half steps around the best until none improves it (each blend is scored once).
        refined = best_blend
        finished = try_blends(space.refinements(best_blend))
    complete = finished and all(r.complete for r in results.values())
    guard: dict[str, Any] = {
        "best_baseline": best_baseline,
        "best_baseline_score": round(baseline_scores[best_baseline], 5),
        "best_baseline_coverage": round(baseline_coverage, 4),
        "max_coverage_loss": max_coverage_loss,
        "min_coverage": round(min_coverage, 4),
        "blend_score": None if best_blend is None else round(best_score, 5),
        "raised": None,
    }

    # 3. Never worse than the best tuned baseline: raise its weight until the blend is not.
    if best_blend is None or best_score < baseline_scores[best_baseline]:
        guard["raised"] = best_baseline
        base = best_blend or options[0]
        fallback = "ease" if "ease" in blended else "knn"
        lead = best_baseline if best_baseline in blended else fallback
        if best_baseline not in blended:
            guard["note"] = f"{best_baseline} is not a blend component; raising {lead} instead"
        for share in (0.5, 0.75, 0.9, 0.97, 0.995, 1.0):  # 1.0: serve the baseline itself
            weights = {c: (1 - share) * w for c, w in base.items()}
            weights[lead] += share
            scores, cov = scorer.blend(weights, keys, depth)
            score = float(np.mean(scores))
            trials.append(
                Trial(
                    "guard", {f"{c}_weight": round(w, 4) for c, w in weights.items()}, score, scores, 0.0, cov
                )
            )
            best_blend, best_score, best_cov = weights, score, cov
            if score >= baseline_scores[best_baseline]:
                break
        guard["blend_score"] = round(best_score, 5)
    guard["met"] = bool(best_score >= baseline_scores[best_baseline])
    guard["blend_coverage"] = round(best_cov, 4)
    assert best_blend is not None
    say(
        f"blend: {', '.join(f'{c}={w:.2f}' for c, w in best_blend.items())} -> {best_score:.4f} "
        f"(best tuned baseline {best_baseline} {baseline_scores[best_baseline]:.4f}"
        + (f"; raised {guard['raised']}" if guard["raised"] else "")
        + ")"
    )
    weights = {c: round(w, 4) for c, w in best_blend.items()}
    best = HybridParams(
        als=als.best.candidate,
        ease=start.ease if found.get("ease") is None else found["ease"].best.candidate,
        knn=knn.best.candidate,
        rp3=rp3.best.candidate,
        als_weight=weights["als"],
        ease_weight=weights.get("ease", 0.0),
        knn_weight=weights["knn"],
        rp3_weight=weights["rp3"],
        seq=seq.best.candidate if seq is not None else start.seq,
        seq_weight=weights.get("seq", 0.0),
    )
    return TuningResult(
        best=best,
        baselines=TunedBaselines(
            pop.best.candidate, start.ease if ease is None else ease.best.candidate, knn.best.candidate
        ),
        metric=metric,
        trials=trials,
        folds=[fold_info[i] for i in usable],
        seed=seed,
        seconds=clock() - began,
        budget_seconds=minutes * 60.0,
        complete=complete,
        guard=guard,
        left_out=left_out,
        capped=capped,
    )


def _blend_distance(a: dict[str, float], b: dict[str, float]) -> float:
    """L1 distance of two blends' weights (each summing to 1)."""
    return sum(abs(a.get(c, 0.0) - b.get(c, 0.0)) for c in a.keys() | b.keys())


def tuned_config(result: TuningResult) -> EvaluationConfig:
    """The evaluation of a tuning result: its served model against its tuned baselines."""
    return EvaluationConfig(
        served=result.best,
        als=result.best.als,
        ease=result.baselines.ease,
        knn=result.baselines.knn,
        popularity_days=result.baselines.popularity_days,
    )
