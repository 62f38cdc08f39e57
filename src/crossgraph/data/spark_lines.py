"""Order lines in Spark: id maps, per-pair aggregates, confidences and the time split, with the
definitions of data.matrix, data.weighting and data.split (the `--engine spark --parquet` path).

The lines stay in Spark. What comes back to the driver is small next to them: the id maps
(sorted distinct ids, so the same indices as `IdMap.from_ids`), a few scalars, and the pair
table once for the artifact (`collect_pairs`: one row per bought account x product pair, the
owned matrix serving needs). Times are whole seconds since the epoch (`at`), read in UTC, so
they compare with numpy's datetime64[s] exactly.

    pairs(lines)           -> SparkPairs: id maps + (account, product, orders, lines, quantity,
                              revenue, first_at, last_at) with build_interactions' aggregates
    confidences(pairs, w)  -> the same rows with `confidence` = data.weighting.weights(...)
    time_split(lines, cut) -> SparkSplit: train pairs in Spark, the test pairs collected
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from crossgraph.data.matrix import IdMap, Interactions
from crossgraph.data.parquet import FILE, STRINGS
from crossgraph.data.weighting import SECONDS_PER_DAY, WeightingConfig
from crossgraph.errors import InvalidInput

Frame = Any  # pyspark.sql.DataFrame (pyspark is the optional `spark` extra)
AGGREGATES = ("orders", "lines", "quantity", "revenue")
LINE_COLUMNS = (*STRINGS, "quantity", "revenue", "ordered_at")


def read_lines(session: Any, source: Path | str) -> Frame:
    """Order lines from Parquet: `crossgraph export --parquet DIR`'s DIR (its order_lines.parquet),
    or any Parquet file or folder (hdfs://, s3a://, ...) with the same columns. Returns
    line_id, order_id, account_id, sku (string), quantity, revenue (double), at (epoch seconds)."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as fn

    path = str(Path(source) / FILE) if (Path(str(source)) / FILE).exists() else str(source)
    try:
        raw = session.read.parquet(path)
    except AnalysisException as exc:
        raise InvalidInput(f"{path}: cannot be read as Parquet order lines ({exc})") from exc
    missing = [c for c in LINE_COLUMNS if c not in raw.columns]
    if missing:
        raise InvalidInput(f"{path}: no column {', '.join(missing)} (expected {', '.join(LINE_COLUMNS)})")
    return raw.select(
        *(fn.col(c).cast("string").alias(c) for c in STRINGS),
        fn.col("quantity").cast("double").alias("quantity"),
        fn.col("revenue").cast("double").alias("revenue"),
        # the session runs in UTC (model.spark_als), so a zone-less timestamp keeps its wall clock
        fn.col("ordered_at").cast("timestamp").cast("long").alias("at"),
    )


def seconds(value: datetime | np.datetime64 | str) -> int:
    """Epoch seconds of a (naive, business-local) time, as numpy's datetime64[s] counts them."""
    return int(np.asarray(value, dtype="datetime64[s]").astype(np.int64))


@dataclass(frozen=True)
class SparkPairs:
    """Per-pair aggregates in Spark (`frame`) and the id maps their indices point into."""

    accounts: IdMap
    products: IdMap
    frame: Frame  # account, product (int indices), orders, lines, quantity, revenue, first_at, last_at
    account_index: Frame  # account_id, account
    product_index: Frame  # sku, product

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.accounts), len(self.products))


def index_ids(frame: Frame, column: str, index: str) -> tuple[IdMap, Frame]:
    """The sorted distinct values of `column` as an IdMap and a (column, index) frame.
    Spark orders strings by their UTF-8 bytes, which is code-point order, Python's str order:
    IdMap checks that the collected ids are sorted and refuses them otherwise."""
    from pyspark.sql import Window
    from pyspark.sql import functions as fn

    distinct = frame.select(column).distinct()
    # one partition for the numbering: ids are few next to lines (10M accounts = one sort)
    numbered = distinct.withColumn(index, fn.row_number().over(Window.orderBy(column)) - 1).cache()
    ids = numbered.orderBy(index).select(column).toPandas()[column].to_numpy(dtype=object)
    try:
        return IdMap(ids), numbered
    except ValueError as exc:
        raise InvalidInput(f"Spark's order of {column} is not Python's: {exc}") from exc


def pairs(lines: Frame, ids: SparkPairs | None = None) -> SparkPairs:
    """build_interactions in Spark: one row per account x product pair with a line, orders =
    distinct order ids, lines = line count, quantity and revenue summed, first/last order time.
    Without `ids` the id maps are the lines' own; with them (a test side aligned with training),
    lines of accounts or products not in them are dropped."""
    from pyspark.sql import functions as fn

    if ids is None:
        accounts, account_index = index_ids(lines, "account_id", "account")
        products, product_index = index_ids(lines, "sku", "product")
    else:
        accounts, account_index = ids.accounts, ids.account_index
        products, product_index = ids.products, ids.product_index
    frame = (
        lines.join(account_index, "account_id")
        .join(product_index, "sku")
        .groupBy("account", "product")
        .agg(
            fn.countDistinct("order_id").cast("double").alias("orders"),
            fn.count(fn.lit(1)).cast("double").alias("lines"),
            fn.sum("quantity").alias("quantity"),
            fn.sum("revenue").alias("revenue"),
            fn.min("at").alias("first_at"),
            fn.max("at").alias("last_at"),
        )
        .cache()  # every fit and the split read the pairs again; they are far fewer than the lines
    )
    return SparkPairs(accounts, products, frame, account_index, product_index)


def confidences(
    pairs: SparkPairs, config: WeightingConfig, reference: datetime | np.datetime64 | None = None
) -> Frame:
    """pairs.frame with `confidence`: data.weighting.weights on every pair (same formulas; see
    that module), the recency reference being the pairs' last purchase unless given."""
    from pyspark.sql import functions as fn

    frame = pairs.frame.withColumn("v", fn.greatest(fn.col(config.value).cast("double"), fn.lit(0.0)))
    n_accounts, n_products = pairs.shape
    if config.scheme == "bm25":
        k1, b = config.bm25_k1, config.bm25_b
        per_account = frame.groupBy("account").agg(fn.count(fn.lit(1)).alias("bought"))
        per_product = frame.groupBy("product").agg(fn.sum("v").alias("product_len"))
        total = frame.agg(fn.sum("v")).first()[0] or 0.0
        mean_len = total / n_products if n_products and total > 0 else 1.0
        frame = frame.join(per_account, "account").join(per_product, "product")
        idf = fn.lit(float(np.log(float(n_products)))) - fn.log1p(fn.col("bought"))
        norm = fn.lit(1.0 - b) + fn.lit(b) * fn.col("product_len") / fn.lit(mean_len)
        weight = fn.col("v") * (k1 + 1.0) / (fn.lit(k1) * norm + fn.col("v")) * idf
    elif config.scheme == "binary":
        weight = fn.lit(1.0)
    elif config.scheme == "linear":
        weight = fn.lit(1.0) + fn.lit(config.alpha) * fn.col("v")
    else:  # log
        weight = fn.lit(1.0) + fn.lit(config.alpha) * fn.log1p(fn.col("v"))
    if config.half_life_days is not None and n_accounts:
        ref = seconds(reference) if reference is not None else frame.agg(fn.max("last_at")).first()[0]
        age = fn.greatest((fn.lit(ref) - fn.col("last_at")).cast("double") / SECONDS_PER_DAY, fn.lit(0.0))
        if config.seasonal_period_days is not None:
            period = float(config.seasonal_period_days)
            phase = fn.pmod(age, fn.lit(period))
            age = fn.least(phase, fn.lit(period) - phase)
        weight = weight * fn.pow(fn.lit(0.5), age / fn.lit(config.half_life_days))
    return frame.withColumn("confidence", weight.cast("float")).select(
        "account", "product", *AGGREGATES, "first_at", "last_at", "confidence"
    )


def collect_pairs(
    frame: Frame, accounts: IdMap, products: IdMap
) -> tuple[Interactions, npt.NDArray[np.float32] | None]:
    """A pair frame as driver Interactions (CSR order), and its `confidence` column aligned with
    the stored pairs when the frame has one (through Arrow: one row per pair, never per line)."""
    table = frame.toPandas()
    order = np.lexsort((table["product"].to_numpy(), table["account"].to_numpy()))
    rows = table["account"].to_numpy(dtype=np.intp)[order]
    counts = np.bincount(rows, minlength=len(accounts))

    def column(name: str) -> npt.NDArray[Any]:
        return np.asarray(table[name].to_numpy()[order])

    interactions = Interactions(
        accounts=accounts,
        products=products,
        indptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.intp),
        indices=column("product").astype(np.intp),
        **{name: column(name).astype(np.float32) for name in AGGREGATES},
        first_at=column("first_at").astype(np.int64).view("datetime64[s]"),
        last_at=column("last_at").astype(np.int64).view("datetime64[s]"),
    )
    confidence = column("confidence").astype(np.float32) if "confidence" in table.columns else None
    return interactions, confidence


@dataclass(frozen=True)
class SparkSplit:
    """data.split.time_split computed in Spark: the train pairs stay there (`train_pairs`), the
    driver holds their Interactions (`train`, for the owned matrix and the driver-side blend)
    and the test pairs of `sampled_accounts` test accounts out of `test_account_total`."""

    cutoff: np.datetime64
    end: np.datetime64 | None
    train_pairs: SparkPairs
    train: Interactions
    test: Interactions  # same id maps as train; only pairs new to each (sampled) account
    train_lines: int
    unseen_account_lines: int
    unseen_product_pairs: int
    repeat_pairs: int
    test_account_total: int  # test accounts before sampling

    def test_accounts(self) -> npt.NDArray[np.intp]:
        return np.flatnonzero(self.test.account_counts() > 0)


def time_split(
    lines: Frame,
    cutoff: datetime | np.datetime64 | str,
    end: datetime | np.datetime64 | str | None = None,
    *,
    sample: int | None = None,
    seed: int = 0,
) -> SparkSplit:
    """The time split of data.split (same train/test rule, same counts), with at most `sample`
    test accounts (a seeded random choice among them) when given."""
    from pyspark.sql import functions as fn

    cut = seconds(cutoff)
    stop = seconds(end) if end is not None else None
    if stop is not None and stop <= cut:
        raise InvalidInput(
            f"split end {np.datetime64(stop, 's')} must be after the cutoff {np.datetime64(cut, 's')}"
        )
    train_lines = lines.where(fn.col("at") < cut)
    n_train_lines = train_lines.count()
    if n_train_lines == 0:
        raise InvalidInput(f"no order lines before the cutoff {np.datetime64(cut, 's')}; pick a later cutoff")
    future = lines.where(fn.col("at") >= cut)
    if stop is not None:
        future = future.where(fn.col("at") < stop)
    train = pairs(train_lines)
    future_known = future.join(train.account_index, "account_id")
    unseen_account_lines = future.count() - future_known.count()
    unknown_sku = future_known.join(train.product_index, "sku", "left_anti")
    unseen_product_pairs = unknown_sku.select("account_id", "sku").distinct().count()
    test_all = pairs(future_known.drop("account"), ids=train).frame
    test = test_all.join(train.frame.select("account", "product"), ["account", "product"], "left_anti")
    test = test.cache()
    n_test_all, n_test = test_all.count(), test.count()
    test_account_ids = np.sort(test.select("account").distinct().toPandas()["account"].to_numpy(np.intp))
    chosen = test_account_ids
    if sample is not None and len(test_account_ids) > sample:
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(test_account_ids, size=sample, replace=False))
        keep = lines.sparkSession.createDataFrame([(int(a),) for a in chosen], ["account"])
        test = test.join(fn.broadcast(keep), "account")
    train_interactions, _ = collect_pairs(train.frame, train.accounts, train.products)
    test_interactions, _ = collect_pairs(test, train.accounts, train.products)
    return SparkSplit(
        cutoff=np.datetime64(cut, "s"),
        end=None if stop is None else np.datetime64(stop, "s"),
        train_pairs=train,
        train=train_interactions,
        test=test_interactions,
        train_lines=n_train_lines,
        unseen_account_lines=unseen_account_lines,
        unseen_product_pairs=unseen_product_pairs,
        repeat_pairs=n_test_all - n_test,
        test_account_total=len(test_account_ids),
    )
