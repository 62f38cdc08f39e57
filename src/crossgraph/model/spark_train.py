"""The nightly job on the Spark engine from Parquet order lines (`crossgraph train --engine spark
--parquet DIR`): the lines never come to the driver.

In Spark (data.spark_lines, one session for the run): read the lines, the time split and its id
maps, per-pair aggregates, the confidences, every ALS fit (model.spark_als) and item-kNN's top
neighbours per product (model.spark_knn). Back on the driver: the id maps, the pair table (one
row per bought pair: the owned matrix the artifact stores and the driver-side blend components,
EASE and popularity, fit on), products x neighbours similarities, the test pairs of at most
`SparkConfig.evaluation_sample` test accounts, and the factors. Evaluation, the gate and the
artifact are then model.train's, so serving, the registry and write-back do not change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from crossgraph.data import spark_lines
from crossgraph.errors import InvalidInput
from crossgraph.model.baselines import KNN_DENSE_MAX_PRODUCTS, ItemKNNParams
from crossgraph.model.dense import DenseLimit
from crossgraph.model.evaluate import EvaluationConfig, evaluate_split
from crossgraph.model.hybrid import HybridParams, HybridRecommender
from crossgraph.model.peers import PeerSearch
from crossgraph.model.registry import Registry
from crossgraph.model.spark_als import SparkALSRecommender, SparkConfig, spark_session
from crossgraph.model.spark_knn import SparkItemKNNRecommender
from crossgraph.model.train import (
    GateConfig,
    TrainResult,
    cutoff_before,
    engine_record,
    judged,
    timed,
    write,
)

EVALUATION_SEED = 0


def train_on_spark(
    source: Path | str,
    accounts: list[dict[str, Any]],
    products: list[dict[str, Any]],
    registry: Registry,
    *,
    spark: SparkConfig,
    params: HybridParams | None = None,
    cutoff: datetime | None = None,
    test_days: int = 120,
    gate: GateConfig | None = None,
    segment_key: str = "segment",
    progress: Callable[[str], None] | None = None,
    timings: dict[str, float] | None = None,
    installed: Sequence[tuple[str, str]] = (),
    changes_until: int = 0,
    peer_search: PeerSearch = PeerSearch(),
    knn_dense_max_products: int = KNN_DENSE_MAX_PRODUCTS,
    dense: DenseLimit = DenseLimit(),
) -> TrainResult:
    """read -> split -> evaluate (sampled test accounts) -> gate -> fit on all lines -> artifact,
    as model.train.train does on the driver; stage seconds in `timings`. No tuning here (it
    searches on validation windows of the lines on one machine). Item-kNN's neighbours are found
    in Spark above `knn_dense_max_products` products, on the driver (dense) up to it; EASE (on
    the driver) is capped to the best-selling `dense.max_products` products above that many, or
    left out as `dense.ease` says (model.dense), in the blend and the evaluation's baselines."""
    say = progress or (lambda _: None)
    clock: dict[str, float] = {} if timings is None else timings
    params = params or HybridParams()
    gate = gate or GateConfig()
    segments = {str(a["id"]): a.get(segment_key) for a in accounts}
    with spark_session(spark) as session:
        say(f"reading order lines from {source} on Spark {session.version} ({spark.master})")
        with timed(clock, "read"):
            lines = spark_lines.read_lines(session, source).cache()
            count, last = spark_lines.checked(lines, source)
        if not count or last is None:
            raise InvalidInput(f"{source} holds no order lines to train on")
        cut = cutoff or cutoff_before(np.datetime64(int(last), "s"), test_days)
        with timed(clock, "split"):
            split = spark_lines.time_split(lines, cut, sample=spark.evaluation_sample, seed=EVALUATION_SEED)
        if split.test.nnz == 0:
            raise InvalidInput(
                f"no test pairs on or after the cutoff {cut.date()}: no account seen before it bought a "
                "product new to it afterwards; pick an earlier cutoff"
            )
        say(
            f"evaluating on a time split at {cut.date()} ({len(split.test_accounts()):,} of "
            f"{split.test_account_total:,} test accounts)"
        )

        def on_spark(chosen: HybridParams, pairs: spark_lines.SparkPairs) -> HybridRecommender:
            return HybridRecommender(
                chosen,
                als=SparkALSRecommender(chosen.als, spark, session=session, pairs=pairs),
                knn=SparkItemKNNRecommender(
                    chosen.knn, pairs=pairs, dense_max_products=knn_dense_max_products
                ),
                dense=dense,
            )

        def knn(chosen: ItemKNNParams) -> SparkItemKNNRecommender:
            return SparkItemKNNRecommender(
                chosen, pairs=split.train_pairs, dense_max_products=knn_dense_max_products
            )

        with timed(clock, "evaluate"):
            served = on_spark(params, split.train_pairs)
            report = evaluate_split(
                split,
                train_lines=split.train_lines,
                segments=segments,
                config=EvaluationConfig(served=served.params, als=None, dense=dense),
                served=served,
                progress=say,
                knn=knn,
            )

        def refit(chosen: HybridParams) -> HybridRecommender:
            return on_spark(chosen, split.train_pairs).fit(split.train)

        result = judged(report, cut, clock, registry, gate, split, refit)
        say("fitting the model on all purchases")
        with timed(clock, "fit"):
            everything = spark_lines.pairs(lines)
            interactions, _ = spark_lines.collect_pairs(
                everything.frame, everything.accounts, everything.products
            )
            model = on_spark(params, everything).fit(interactions)
            engine = engine_record(model, spark)
            assert isinstance(model.als, SparkALSRecommender)
            engine.update(
                reg_param=model.als.reg_param,
                input=str(source),
                evaluation={
                    "test_accounts": len(split.test_accounts()),
                    "of_test_accounts": split.test_account_total,
                    "sample_limit": spark.evaluation_sample,
                    "seed": EVALUATION_SEED,
                    "baselines": [r.name for r in report.results if r.role == "baseline"],
                    "left_out": report.left_out,
                    "capped": report.capped,
                },
            )
        lines.unpersist()
    write(
        result,
        registry,
        model,
        interactions,
        accounts,
        products,
        gate=gate,
        trained_until=str(np.datetime64(int(last), "s")),
        extra={"changes_until": changes_until, "tuning": None, "engine": engine},
        installed=installed,
        peer_search=peer_search,
        progress=say,
    )
    return result
