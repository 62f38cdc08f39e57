"""The Spark engine (model.spark_als) on local[2]: MLlib ALS on the same confidences and id maps
as implicit, ranking as well on a time split, and an artifact that serving loads unchanged."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from crossgraph.data.matrix import build_interactions
from crossgraph.data.split import time_split
from crossgraph.model.als import ALSParams, ALSRecommender
from crossgraph.model.artifact import Artifact
from crossgraph.model.dense import DenseLimit
from crossgraph.model.evaluate import evaluate_recommender
from crossgraph.model.hybrid import HybridParams
from crossgraph.model.peers import PeerIndex
from crossgraph.model.registry import Registry
from crossgraph.model.spark_als import SparkALSRecommender, SparkConfig
from crossgraph.model.train import train
from crossgraph.recommend.engine import Engine
from tests.optional import need
from tests.unit.lines_factory import block_lines

need("pyspark")
pytestmark = pytest.mark.slow

LINES = block_lines(n_accounts=60, n_blocks=3, block_size=6, seed=3)
ALS = ALSParams(factors=8, regularization=0.5, alpha=4.0, iterations=8, random_state=1)
CUTOFF = datetime(2023, 5, 1)  # accounts still add products of their block after it
SPARK = SparkConfig(master="local[2]", driver_memory="1g", partitions=2)


def test_spark_als_ranks_like_implicit_on_the_same_time_split() -> None:
    split = time_split(LINES, CUTOFF)
    spark = SparkALSRecommender(ALS, SPARK).fit(split.train)
    local = ALSRecommender(ALS).fit(split.train)
    assert spark.user_factors.shape == local.user_factors.shape == (split.train.shape[0], 8)
    assert spark.reg_param == pytest.approx(ALS.regularization * split.train.shape[0] / split.train.nnz)
    spark_ndcg = evaluate_recommender(spark, split)[0]["ndcg@10"]
    local_ndcg = evaluate_recommender(local, split)[0]["ndcg@10"]
    # stated tolerance: 0.05 NDCG@10 absolute on this data (confidence 1 + alpha*C vs alpha*C)
    assert spark_ndcg == pytest.approx(local_ndcg, abs=0.05)
    # what a rep sees: the similar accounts shown are ones buying from the same block
    block = np.asarray([int(a[1:]) % 3 for a in split.train.accounts.to_array()])
    peers, _ = PeerIndex(spark.user_factors).search_accounts(np.arange(len(block)), 5)
    assert np.mean(block[peers] == block[:, None]) >= 0.9


def test_train_on_spark_writes_the_same_artifact_serving_reads(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "models")
    interactions = build_interactions(LINES)
    accounts = [{"id": a, "name": f"Account {a}"} for a in interactions.accounts.ids]
    products = [{"sku": s, "name": f"Product {s}"} for s in interactions.products.ids]
    params = HybridParams(als=ALS, ease_weight=1.0, knn_weight=0.5)
    result = train(LINES, accounts, products, registry, params=params, cutoff=CUTOFF, spark=SPARK)
    engine_record = result.manifest["engine"]
    assert engine_record["name"] == "spark" and engine_record["spark"].startswith("3.5.")
    assert engine_record["ease"] == "kept" and engine_record["reg_param"] > 0
    artifact = Artifact.load(registry.get(result.version).path)
    assert artifact.accounts.to_array().tolist() == interactions.accounts.to_array().tolist()
    served = Engine(artifact)
    suggestions = served.recommend(0, limit=3)
    owned = {artifact.products.id(int(i)) for i in artifact.owned[0].indices}
    assert suggestions and not {s["sku"] for s in suggestions} & owned


def test_the_spark_engine_caps_ease_above_the_shared_dense_threshold(tmp_path: Path) -> None:
    """The threshold the local engine uses (CROSSGRAPH_DENSE_MAX_PRODUCTS; 18 products > 10 here):
    EASE is fitted on the driver on the 10 best-selling products, in the blend and the baseline."""
    interactions = build_interactions(LINES)
    accounts = [{"id": a, "name": a} for a in interactions.accounts.ids]
    products = [{"sku": s, "name": s} for s in interactions.products.ids]
    params = HybridParams(als=ALS, ease_weight=1.0, knn_weight=0.5)
    registry = Registry(tmp_path / "models")
    result = train(
        LINES, accounts, products, registry, params=params, cutoff=CUTOFF, spark=SPARK, dense=DenseLimit(10)
    )
    reason = "fitted on the 10 best-selling of 18 products (CROSSGRAPH_DENSE_MAX_PRODUCTS)"
    engine_record = result.manifest["engine"]
    assert engine_record["name"] == "spark" and engine_record["ease"] == f"capped: {reason}"
    assert engine_record["components"]["ease"] == {
        "status": "capped",
        "products": 10,
        "of": 18,
        "reason": reason,
    }
    assert result.manifest["components"] == ["als", "ease", "knn"]
    assert "ease (top 10 products)" in {r.name for r in result.report.results if r.role == "baseline"}
    assert result.report.capped["served: ease"].startswith("fitted on the 10 best-selling of ")


def test_the_spark_engine_leaves_ease_out_above_the_shared_dense_threshold_when_asked(tmp_path: Path) -> None:
    """The threshold the local engine uses (CROSSGRAPH_DENSE_MAX_PRODUCTS; 18 products > 10 here)."""
    interactions = build_interactions(LINES)
    accounts = [{"id": a, "name": a} for a in interactions.accounts.ids]
    products = [{"sku": s, "name": s} for s in interactions.products.ids]
    params = HybridParams(als=ALS, ease_weight=1.0, knn_weight=0.5)
    registry = Registry(tmp_path / "models")
    dense = DenseLimit(10, ease="leave-out")
    result = train(
        LINES, accounts, products, registry, params=params, cutoff=CUTOFF, spark=SPARK, dense=dense
    )
    reason = "18 products > 10 (CROSSGRAPH_DENSE_MAX_PRODUCTS)"
    engine_record = result.manifest["engine"]
    assert engine_record["name"] == "spark" and engine_record["ease"] == f"left out: {reason}"
    assert engine_record["components"]["ease"] == {"status": "left out", "reason": reason}
    assert result.manifest["components"] == ["als", "knn"]
    assert result.report.left_out["ease"] == reason
