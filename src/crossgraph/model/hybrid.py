"""The served model: ALS at the core, blended with EASE, item-kNN, RP3beta and "bought next" as the
tuner chooses.

For account u and a product i it does not own, each component's score is standardised
over the account's unowned products, then blended:

    z_c(u, i) = (s_c(u, i) - mean_u(s_c)) / std_u(s_c)
    score(u, i) = w_als z_als + w_ease z_ease + w_knn z_knn + w_rp3 z_rp3 + w_seq z_seq

ALS stays the model of "customers like you": `similar_accounts` are nearest neighbours in
the ALS account factors. Every component is linear in the account's owned products, so
`explain` splits the blended score into one term per owned product:

    score(u, i) = sum_j sum_c w_c t_c(u, j, i) / std_u(s_c)  -  sum_c w_c mean_u(s_c) / std_u(s_c)

with t_c the component's own terms (ALS: implicit's explain, EASE: B_ji, kNN: sim(j, i),
RP3beta: W_ji, bought next: r_uj T_ji). A component with weight 0 is not fitted.
Above CROSSGRAPH_DENSE_MAX_PRODUCTS products (model.dense) EASE - a dense products x products
inverse - is capped to the best-selling max_products products (`capped` says so): it scores those
only, so mean_u and std_u of z_ease are taken over the account's unowned products inside the cap,
and a product outside it gets z_ease = 0 and no EASE term - the value of an average product
inside the cap, so EASE's silence neither pushes it down (as the lowest EASE score would) nor up;
the other components rank it as they rank every product. A product that no weighted component
scores (EASE alone in the blend, outside the cap) gets -inf: never ranked. With
CROSSGRAPH_DENSE_EASE=leave-out EASE is left out instead: `params` become the blend that scored
(EASE weight 0, the others' ratios unchanged), `requested` keeps the one asked for and
`left_out` says why.
The second sum is the same for every product of the account (a capped EASE's mean term
only for the products inside its cap: outside it EASE adds neither a term nor its mean), so
it never changes how one product's drivers rank. All parameters, blend weights included,
round-trip through `to_dict` for the model manifest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from crossgraph.data.matrix import Interactions
from crossgraph.data.weighting import WeightingConfig
from crossgraph.errors import InvalidInput
from crossgraph.model.als import ALSParams, ALSRecommender
from crossgraph.model.base import IntArray, Recommender, ScoreArray
from crossgraph.model.baselines import EASEParams, EASERecommender, ItemKNNParams, ItemKNNRecommender
from crossgraph.model.dense import DenseLimit
from crossgraph.model.rp3beta import RP3betaParams, RP3betaRecommender
from crossgraph.model.sequential import SequentialParams, SequentialRecommender

# How a component is named to a rep (the reason's "scored by ...") and in the manifest
COMPONENT_LABELS = {"als": "ALS", "ease": "EASE", "knn": "item-kNN", "rp3": "RP3beta", "seq": "bought next"}

# The components whose score is X M, linear in the owned products (their terms are exact drivers)
LINEAR_COMPONENTS = (EASERecommender, ItemKNNRecommender, RP3betaRecommender, SequentialRecommender)

# Defaults: the result of `crossgraph.model.tuning.tune` (seed 0, budget 20, three rolling
# 99-day validation folds ending 2011-09-01) on Online Retail - purchases before the
# 2011-09-01 cutoff only - without the recency half-lives it chose (ALS 90 days, EASE 30):
# the tuner no longer searches decay, as validation windows overrate it (model.tuning).
DEFAULT_ALS = ALSParams(
    factors=256,
    regularization=10.0,
    alpha=1.0,
    iterations=15,
    weighting=WeightingConfig(scheme="log", value="orders", alpha=1.0),
)
DEFAULT_EASE = EASEParams(regularization=100.0, weighting=WeightingConfig(scheme="binary"))


@dataclass(frozen=True)
class HybridParams:
    als: ALSParams = field(default_factory=lambda: DEFAULT_ALS)
    ease: EASEParams = field(default_factory=lambda: DEFAULT_EASE)
    knn: ItemKNNParams = field(default_factory=ItemKNNParams)
    als_weight: float = 1.0
    ease_weight: float = 1.0
    knn_weight: float = 0.5
    rp3: RP3betaParams = field(default_factory=RP3betaParams)
    rp3_weight: float = 0.0
    seq: SequentialParams = field(default_factory=SequentialParams)
    seq_weight: float = 0.0

    def __post_init__(self) -> None:
        # ALS weight 0 is how the tuner serves a tuned baseline that no blend beats (model.tuning):
        # ALS is still fitted, for "customers like you" (similar_accounts) and peer evidence.
        if self.als_weight < 0:
            raise InvalidInput(f"als_weight must be >= 0, got {self.als_weight}")
        if self.als_weight + self.ease_weight + self.knn_weight + self.rp3_weight + self.seq_weight <= 0:
            raise InvalidInput("at least one blend weight must be > 0")
        if min(self.ease_weight, self.knn_weight, self.rp3_weight, self.seq_weight) < 0:
            raise InvalidInput(
                "blend weights must be >= 0, got "
                f"ease_weight={self.ease_weight}, knn_weight={self.knn_weight}, "
                f"rp3_weight={self.rp3_weight}, seq_weight={self.seq_weight}"
            )

    @property
    def blend(self) -> dict[str, float]:
        """Blend weights scaled to sum to 1 (only their ratios matter)."""
        total = self.als_weight + self.ease_weight + self.knn_weight + self.rp3_weight + self.seq_weight
        return {
            "als": self.als_weight / total,
            "ease": self.ease_weight / total,
            "knn": self.knn_weight / total,
            "rp3": self.rp3_weight / total,
            "seq": self.seq_weight / total,
        }

    @property
    def weighted(self) -> list[str]:
        """The components that score (weight > 0), in blend order."""
        return [name for name, share in self.blend.items() if share > 0]

    def describe(self) -> str:
        """'hybrid (ALS + EASE + item-kNN)', 'hybrid (item-kNN; ALS for peers)': what scores the list
        (EASE with a dropout or normalised: 'EASE (EDLAE, dropout 0.25)', EASEParams.variant)."""
        labels = dict(COMPONENT_LABELS)
        if self.ease.variant:
            labels["ease"] = f"EASE ({self.ease.variant})"
        scoring = " + ".join(labels[c] for c in self.weighted)
        return f"hybrid ({scoring}{'' if self.als_weight > 0 else '; ALS for peers'})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "als": self.als.to_dict(),
            "ease": self.ease.to_dict(),
            "knn": self.knn.to_dict(),
            "als_weight": self.als_weight,
            "ease_weight": self.ease_weight,
            "knn_weight": self.knn_weight,
            "rp3": self.rp3.to_dict(),
            "rp3_weight": self.rp3_weight,
            "seq": self.seq.to_dict(),
            "seq_weight": self.seq_weight,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HybridParams:
        return cls(
            als=ALSParams.from_dict(data["als"]),
            ease=EASEParams.from_dict(data["ease"]),
            knn=ItemKNNParams.from_dict(data.get("knn", {})),
            als_weight=float(data["als_weight"]),
            ease_weight=float(data.get("ease_weight", 0.0)),
            knn_weight=float(data.get("knn_weight", 0.0)),
            rp3=RP3betaParams.from_dict(data.get("rp3", {})),
            rp3_weight=float(data.get("rp3_weight", 0.0)),
            seq=SequentialParams.from_dict(data.get("seq", {})),
            seq_weight=float(data.get("seq_weight", 0.0)),
        )


class HybridRecommender(Recommender):
    name = "hybrid"

    def __init__(
        self,
        params: HybridParams | None = None,
        show_progress: bool = False,
        als: ALSRecommender | None = None,
        knn: ItemKNNRecommender | None = None,
        dense: DenseLimit | None = None,
    ) -> None:
        """`als`: another fitter of the same ALS (e.g. model.spark_als), with params.als; `knn`:
        another fitter of the same item-kNN (model.spark_knn, or another dense threshold), with
        params.knn, fitted only if knn_weight > 0; `dense`: above its max_products EASE is capped
        (or left out, as its `ease` says) and RP3beta computed in sparse blocks."""
        super().__init__()
        self.params = params or HybridParams()
        self.requested = self.params  # as asked; `params` is what fit() ran (see left_out)
        self.dense = dense or DenseLimit()
        self.left_out: dict[str, str] = {}  # component -> why it was not fitted
        self.capped: dict[str, str] = {}  # component -> which products it was fitted on
        if knn is not None and knn.params != self.params.knn:
            raise InvalidInput(f"the item-kNN given has {knn.params}, the blend {self.params.knn}")
        self.als = als or ALSRecommender(self.params.als, show_progress=show_progress)
        self.knn_fitter = knn
        self.ease: EASERecommender | None = None
        self.knn: ItemKNNRecommender | None = None
        self.rp3: RP3betaRecommender | None = None
        self.seq: SequentialRecommender | None = None
        self.fit_seconds: dict[str, float] = {}  # per fitted component
        # Per component (mean_u, std_u) of every account scored since `keep_statistics`, so that
        # splitting a stored list's scores (model.evidence) need not score every product again
        self.statistics: dict[str, tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]] | None = None

    @property
    def user_factors(self) -> npt.NDArray[np.float32]:
        return self.als.user_factors

    @property
    def item_factors(self) -> npt.NDArray[np.float32]:
        return self.als.item_factors

    def _fit(self, interactions: Interactions) -> None:
        self.params, self.left_out, self.capped = self.requested, {}, {}
        n_items = interactions.shape[1]
        if self.params.ease_weight and self.dense.caps_ease(n_items):
            self.capped["ease"] = self.dense.cap_reason(n_items)
        if self.params.ease_weight and self.dense.leaves_out_ease(n_items):
            self.left_out["ease"] = self.dense.reason(n_items)
            if self.params.blend["ease"] == 1.0:
                raise InvalidInput(
                    f"EASE is the only blend component that scores and it is left out at "
                    f"{self.left_out['ease']}: give ALS or item-kNN a weight, raise "
                    "CROSSGRAPH_DENSE_MAX_PRODUCTS or set CROSSGRAPH_DENSE_EASE=cap"
                )
            self.params = replace(self.params, ease_weight=0.0)
        self.ease = EASERecommender(self.params.ease, dense=self.dense) if self.params.ease_weight else None
        self.knn = (
            (self.knn_fitter or ItemKNNRecommender(self.params.knn, dense=self.dense))
            if self.params.knn_weight
            else None
        )
        self.rp3 = RP3betaRecommender(self.params.rp3, dense=self.dense) if self.params.rp3_weight else None
        self.seq = SequentialRecommender(self.params.seq) if self.params.seq_weight else None
        self.fit_seconds = {}
        for name, _, model in self.components():
            started = time.perf_counter()
            model.fit(interactions)
            self.fit_seconds[name] = time.perf_counter() - started

    def components(self) -> list[tuple[str, float, Recommender]]:
        out: list[tuple[str, float, Recommender]] = [("als", self.params.als_weight, self.als)]
        if self.ease is not None:
            out.append(("ease", self.params.ease_weight, self.ease))
        if self.knn is not None:
            out.append(("knn", self.params.knn_weight, self.knn))
        if self.rp3 is not None:
            out.append(("rp3", self.params.rp3_weight, self.rp3))
        if self.seq is not None:
            out.append(("seq", self.params.seq_weight, self.seq))
        return out

    def standardised(self, account_indices: IntArray) -> dict[str, tuple[ScoreArray, ScoreArray, ScoreArray]]:
        """Per component: (raw scores, mean_u, std_u) with the statistics over unowned products
        (of those it covers: a capped EASE's, -inf outside its cap)."""
        owned = self.owned[account_indices]
        mask = np.zeros((len(account_indices), self.n_items), dtype=bool)
        mask[np.repeat(np.arange(len(account_indices)), np.diff(owned.indptr)), owned.indices] = True
        free = ~mask
        n_free = np.maximum(free.sum(axis=1, keepdims=True), 1)
        out: dict[str, tuple[ScoreArray, ScoreArray, ScoreArray]] = {}
        for name, _, model in self.components():
            raw = np.asarray(model.score(account_indices), dtype=np.float32)
            covered = model.covered
            use, n_use, skip = free, n_free, mask
            if covered is not None:
                use = free & covered[np.newaxis, :]
                n_use = np.maximum(use.sum(axis=1, keepdims=True), 1)
                skip = ~use
            mean = np.where(use, raw, 0.0).sum(axis=1, keepdims=True) / n_use
            squares = raw - mean  # in place from here: one block-sized temporary instead of three
            np.square(squares, out=squares)
            squares[skip] = 0.0
            var = squares.sum(axis=1, keepdims=True) / n_use
            std = np.sqrt(var)
            out[name] = (raw, mean.astype(np.float32), np.where(std > 0, std, 1.0).astype(np.float32))
        return out

    def keep_statistics(self) -> None:
        """From now on `score` records each account's standardisation (see `statistics`)."""
        self.statistics = {
            name: (np.zeros(self.n_accounts, dtype=np.float32), np.ones(self.n_accounts, dtype=np.float32))
            for name, _, _ in self.components()
        }

    def score(self, account_indices: IntArray) -> ScoreArray:
        weights = {name: w for name, w, _ in self.components()}
        covers = {name: model.covered for name, _, model in self.components()}
        total = np.zeros((len(account_indices), self.n_items), dtype=np.float32)
        for name, (raw, mean, std) in self.standardised(account_indices).items():
            z = (raw - mean) / std
            covered = covers[name]
            if covered is not None:
                z[:, ~covered] = 0.0  # no score: the average of those it scored
            total += weights[name] * z
            if self.statistics is not None:  # rows of this call's accounts only: thread-safe
                self.statistics[name][0][account_indices] = mean[:, 0]
                self.statistics[name][1][account_indices] = std[:, 0]
        scored = self.covered
        if scored is not None:
            total[:, ~scored] = -np.inf
        return total

    @property
    def covered(self) -> npt.NDArray[np.bool_] | None:
        """The products some component with weight > 0 scores (None: every product)."""
        out: npt.NDArray[np.bool_] | None = None
        for _, weight, model in self.components():
            if weight <= 0:
                continue
            covered = model.covered
            if covered is None:
                return None
            out = covered.copy() if out is None else out | covered
        return out

    def explain(self, account_idx: int, item_idx: int, n: int = 10) -> list[tuple[int, float]]:
        """The owned products contributing most to the blended score, largest first."""
        self._check_accounts([account_idx])
        if not 0 <= item_idx < self.n_items:
            raise ValueError(f"item index {item_idx} is out of range: the model has {self.n_items} items")
        owned = self.owned[account_idx].indices
        if len(owned) == 0:
            return []
        stats = self.standardised(np.asarray([account_idx], dtype=np.intp))
        terms = np.zeros(self.n_items, dtype=np.float64)
        for name, weight, model in self.components():
            std = float(stats[name][2][0, 0])
            if isinstance(model, ALSRecommender):
                for j, t in model.explain(account_idx, item_idx, n=len(owned)):
                    terms[j] += weight * t / std
            elif isinstance(model, LINEAR_COMPONENTS):
                js, ts = model.contributions(account_idx, item_idx)
                np.add.at(terms, js, weight * ts.astype(np.float64) / std)
        order = owned[np.argsort(-terms[owned], kind="stable")][:n]
        return [(int(j), float(terms[j])) for j in order]

    def similar_accounts(self, account_idx: int, k: int = 20) -> tuple[IntArray, ScoreArray]:
        """Peers from the ALS account factors (cosine), the account itself excluded."""
        return self.als.similar_accounts(account_idx, k)

    def similar_accounts_batch(
        self, account_indices: npt.ArrayLike, k: int = 20
    ) -> tuple[IntArray, ScoreArray]:
        return self.als.similar_accounts_batch(account_indices, k)
