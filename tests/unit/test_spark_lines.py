"""Both engines on the same small data: Spark's id maps, pair aggregates, confidences, time
split (data.spark_lines, read from Parquet) and item-kNN neighbours (model.spark_knn) equal the
single-machine ones, and ALS fitted by each engine on its own split ranks the test pairs about as
well (one Spark session here)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from crossgraph.data import spark_lines
from crossgraph.data.matrix import build_interactions
from crossgraph.data.orderlines import OrderLines
from crossgraph.data.parquet import write_order_lines
from crossgraph.data.split import time_split
from crossgraph.data.weighting import WeightingConfig, weights
from crossgraph.errors import InvalidInput
from crossgraph.model.als import ALSParams, ALSRecommender
from crossgraph.model.baselines import ItemKNNParams, ItemKNNRecommender
from crossgraph.model.evaluate import evaluate_recommender
from crossgraph.model.spark_als import SparkALSRecommender, SparkConfig, spark_session
from crossgraph.model.spark_knn import SparkItemKNNRecommender
from tests.unit.lines_factory import block_lines

pytest.importorskip("pyspark")
pytestmark = pytest.mark.slow

CUTOFF = datetime(2023, 5, 1)
SPARK = SparkConfig(master="local[2]", driver_memory="1g", partitions=2)
ALS = ALSParams(factors=8, regularization=0.5, alpha=4.0, iterations=8, random_state=1)
NDCG_TOLERANCE = 0.05  # absolute NDCG@10, as test_spark_als states for the driver-fed fit


def varied_lines() -> OrderLines:
    """block_lines with what the aggregates must get right: quantities and revenues that
    differ per line, a refund (negative revenue), and a second line of the same order and
    product (one order, two lines)."""
    base = block_lines(n_accounts=60, n_blocks=3, block_size=6, seed=3)
    rng = np.random.default_rng(7)
    lines = replace(
        base,
        quantity=rng.integers(1, 20, len(base)).astype(np.float64),
        revenue=np.round(rng.uniform(-5.0, 400.0, len(base)), 2),
    )
    again = np.arange(0, len(lines), 9)
    twice = lines.select(again)
    return OrderLines(
        line_id=np.concatenate([lines.line_id, np.asarray([f"X{i}" for i in again], dtype=object)]),
        order_id=np.concatenate([lines.order_id, twice.order_id]),
        account_id=np.concatenate([lines.account_id, twice.account_id]),
        sku=np.concatenate([lines.sku, twice.sku]),
        quantity=np.concatenate([lines.quantity, twice.quantity]),
        revenue=np.concatenate([lines.revenue, twice.revenue]),
        ordered_at=np.concatenate([lines.ordered_at, twice.ordered_at]),
    )


LINES = varied_lines()


@pytest.fixture(scope="module")
def session() -> Iterator[Any]:
    with spark_session(SPARK) as spark:
        yield spark


@pytest.fixture(scope="module")
def lake(session: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("lake")
    write_order_lines(LINES, folder)
    return spark_lines.read_lines(session, folder).cache()


@pytest.fixture(scope="module")
def all_pairs(lake: Any) -> spark_lines.SparkPairs:
    return spark_lines.pairs(lake)


@pytest.fixture(scope="module")
def split(lake: Any) -> spark_lines.SparkSplit:
    return spark_lines.time_split(lake, CUTOFF)


def test_spark_pairs_have_the_single_machine_id_maps_and_aggregates(
    all_pairs: spark_lines.SparkPairs,
) -> None:
    pairs = all_pairs
    local = build_interactions(LINES)
    assert pairs.accounts.to_array().tolist() == local.accounts.to_array().tolist()
    assert pairs.products.to_array().tolist() == local.products.to_array().tolist()
    spark, _ = spark_lines.collect_pairs(pairs.frame, pairs.accounts, pairs.products)
    assert spark.indptr.tolist() == local.indptr.tolist() and spark.indices.tolist() == local.indices.tolist()
    assert spark.lines.sum() > spark.orders.sum()  # the repeated lines count as lines, not orders
    for name in ("orders", "lines", "quantity", "revenue"):
        np.testing.assert_allclose(getattr(spark, name), getattr(local, name), rtol=1e-6, err_msg=name)
    for name in ("first_at", "last_at"):
        assert getattr(spark, name).tolist() == getattr(local, name).tolist(), name


@pytest.mark.parametrize(
    "config",
    [
        WeightingConfig(scheme="log", value="orders", alpha=1.0, half_life_days=90.0),
        WeightingConfig(
            scheme="linear", value="revenue", alpha=0.01, half_life_days=30.0, seasonal_period_days=365.25
        ),
        WeightingConfig(scheme="bm25", value="quantity"),
        WeightingConfig(scheme="binary", half_life_days=60.0),
    ],
    ids=["log-recency", "linear-revenue-seasonal", "bm25", "binary-recency"],
)
def test_spark_confidences_are_the_single_machine_weights(
    all_pairs: spark_lines.SparkPairs, config: WeightingConfig
) -> None:
    pairs = all_pairs
    local = build_interactions(LINES)
    _, confidence = spark_lines.collect_pairs(
        spark_lines.confidences(pairs, config), pairs.accounts, pairs.products
    )
    assert confidence is not None
    np.testing.assert_allclose(confidence, weights(local, config), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "params",
    [
        ItemKNNParams(neighbours=4),
        ItemKNNParams(neighbours=4, cosine=True, shrinkage=10.0, account_value="orders"),
    ],
    ids=["dot-top4", "cosine-shrunk-top4"],
)
def test_spark_item_knn_keeps_the_single_machine_neighbours_and_scores(
    all_pairs: spark_lines.SparkPairs, params: ItemKNNParams
) -> None:
    local = build_interactions(LINES)
    # up to the threshold the driver's dense path runs: Spark's joins would take minutes there
    assert SparkItemKNNRecommender(params, pairs=all_pairs).fit(local).method == "dense"
    spark = SparkItemKNNRecommender(params, pairs=all_pairs, dense_max_products=0).fit(local)
    dense = ItemKNNRecommender(params).fit(local)
    assert spark.method == "spark" and dense.method == "dense"
    assert spark.similarity.nnz == dense.similarity.nnz > 0
    assert spark.similarity.indices.tolist() == dense.similarity.indices.tolist()
    np.testing.assert_allclose(spark.similarity.data, dense.similarity.data, rtol=1e-6)
    every = np.arange(local.shape[0])
    np.testing.assert_allclose(spark.score(every), dense.score(every), rtol=1e-5, atol=1e-5)


def test_spark_time_split_is_the_single_machine_split(split: spark_lines.SparkSplit) -> None:
    spark = split
    local = time_split(LINES, CUTOFF)
    assert spark.train.accounts.to_array().tolist() == local.train.accounts.to_array().tolist()
    assert spark.train.products.to_array().tolist() == local.train.products.to_array().tolist()
    assert spark.train.keys().tolist() == local.train.keys().tolist()
    assert local.test.nnz > 0 and spark.test.keys().tolist() == local.test.keys().tolist()
    assert spark.train_lines == len(local.train_lines)
    assert spark.test_account_total == len(local.test_accounts())
    assert (spark.unseen_account_lines, spark.unseen_product_pairs, spark.repeat_pairs) == (
        local.unseen_account_lines,
        local.unseen_product_pairs,
        local.repeat_pairs,
    )


def test_a_sampled_spark_split_keeps_that_many_test_accounts_and_all_their_pairs(
    lake: Any, split: spark_lines.SparkSplit
) -> None:
    full = split
    sampled = spark_lines.time_split(lake, CUTOFF, sample=10, seed=1)
    chosen = sampled.test_accounts()
    assert len(chosen) == 10 and sampled.test_account_total == full.test_account_total > 10
    assert sampled.test.binary[chosen].toarray().tolist() == full.test.binary[chosen].toarray().tolist()


def test_each_engine_ranks_its_own_split_within_the_tolerance(
    split: spark_lines.SparkSplit, session: Any
) -> None:
    spark_split = split
    local_split = time_split(LINES, CUTOFF)
    spark = SparkALSRecommender(ALS, SPARK, session=session, pairs=spark_split.train_pairs).fit(
        spark_split.train
    )
    local = ALSRecommender(ALS).fit(local_split.train)
    # the confidences Spark computed are the ones the artifact stores (als_confidence.npz)
    np.testing.assert_allclose(spark.user_items.data, local.user_items.data, rtol=1e-5, atol=1e-6)
    spark_ndcg = evaluate_recommender(spark, spark_split)[0]["ndcg@10"]
    local_ndcg = evaluate_recommender(local, local_split)[0]["ndcg@10"]
    assert local_ndcg > 0.2
    assert spark_ndcg == pytest.approx(local_ndcg, abs=NDCG_TOLERANCE)


def test_parquet_without_the_order_line_columns_is_refused_by_name(session: Any, tmp_path: Path) -> None:
    session.createDataFrame([("A1", "P1")], ["account_id", "sku"]).write.parquet(str(tmp_path / "bad"))
    with pytest.raises(InvalidInput, match="no column line_id, order_id, quantity, revenue, ordered_at"):
        spark_lines.read_lines(session, tmp_path / "bad")


def test_lake_lines_the_csv_rules_refuse_are_counted_by_column_before_training(
    session: Any, tmp_path: Path
) -> None:
    """A lake file written by another tool: ids null or blank, quantities null, 0 or negative, a
    NaN revenue, a date no one can read; each column named with its count of bad lines."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    good = ["L1", "O1", "A1", "P1", 2.0, 10.0, "2024-01-05 10:00:00"]
    rows = [
        good,
        ["L2", "O1", None, "P1", 1.0, 5.0, "2024-01-05"],
        ["L3", "O2", "  ", "P2", -3.0, 5.0, "2024-01-06"],
        ["L4", "O2", "A2", "", None, float("nan"), "2024-01-06"],
        ["L5", "O3", "A2", "P2", 0.0, 1.0, "05/01/2024 is not a date"],
    ]
    columns = ["line_id", "order_id", "account_id", "sku", "quantity", "revenue", "ordered_at"]
    (tmp_path / "lake").mkdir()
    pq.write_table(
        pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)}), tmp_path / "lake" / "x.parquet"
    )
    with pytest.raises(InvalidInput) as refused:
        spark_lines.checked(spark_lines.read_lines(session, tmp_path / "lake"), tmp_path / "lake")
    message = str(refused.value)
    assert "nothing was trained" in message and "of 5 lines" in message
    assert "account_id: 2 lines missing or empty" in message and "sku: 1 line missing or empty" in message
    assert "quantity: 3 lines missing, not a finite number, or not greater than 0" in message
    assert "revenue: 1 line missing, not a finite number, or below 0" in message
    assert "ordered_at: 1 line missing or not a date-time" in message
    assert "line_id:" not in message and "order_id:" not in message  # only the broken columns

    (tmp_path / "fixed").mkdir()
    pq.write_table(
        pa.table({c: [v] for c, v in zip(columns, good, strict=True)}), tmp_path / "fixed" / "x.parquet"
    )
    assert spark_lines.checked(spark_lines.read_lines(session, tmp_path / "fixed"), "ok") == (
        1,
        spark_lines.seconds("2024-01-05T10:00:00"),
    )
