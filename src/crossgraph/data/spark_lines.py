"""Order lines in Spark: id maps, per-pair aggregates, confidences and the time split, with the
definitions of data.matrix, data.weighting and data.split (the `--engine spark --parquet` path).

The lines stay in Spark. What comes back to the driver is small next to them: the id maps
(sorted distinct ids, so the same indices as `IdMap.from_ids`), a few scalars, and the pair
table once for the artifact (`collect_pairs`: one row per bought account x product pair, the
owned matrix serving needs; numbers through Arrow, sorted and cast compact in Spark). Times are
whole seconds since the epoch (`at`), read in UTC, so they compare with numpy's datetime64[s]
exactly. Lines the purchases CSV rules would refuse are counted per column and refused
(`checked`) before anything is trained.

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


# What a line must hold, as the purchases CSV rules (data.tables.PURCHASES) say: column -> why a
# value is refused. Ids are stripped before the empty check, as the CSV reader does.
LINE_RULES = {
    **{name: "missing or empty" for name in STRINGS},
    "quantity": "missing, not a finite number, or not greater than 0",
    "revenue": "missing, not a finite number, or below 0",
    "ordered_at": "missing or not a date-time",
}


def _refused(column: str) -> Any:
    """The Spark condition under which a line of read_lines' frame breaks LINE_RULES[column]."""
    from pyspark.sql import functions as fn

    if column in STRINGS:
        return fn.col(column).isNull() | (fn.trim(fn.col(column)) == "")
    if column == "ordered_at":
        return fn.col("at").isNull()  # a null, or a string the timestamp cast could not read
    value = fn.col(column)
    # Spark orders NaN above every number, so `NaN > 0` is true: NaN is tested on its own
    broken = value.isNull() | fn.isnan(value) | value.isin(float("inf"), float("-inf"))
    return broken | (value <= 0 if column == "quantity" else value < 0)


def checked(lines: Frame, source: Path | str) -> tuple[int, int | None]:
    """The number of lines and the last order time (epoch seconds), after refusing the input if
    any line breaks LINE_RULES: one pass over the lines, an InvalidInput naming every broken
    column with its count of bad lines, before anything is trained."""
    from pyspark.sql import functions as fn

    row = lines.agg(
        fn.count(fn.lit(1)),
        fn.max("at"),
        *(fn.sum(fn.when(_refused(c), 1).otherwise(0)).alias(c) for c in LINE_RULES),
    ).first()
    count, last = int(row[0]), row[1]
    bad = {c: int(row[c] or 0) for c in LINE_RULES}
    if any(bad.values()):
        problems = "; ".join(
            f"{c}: {n:,} line{'s' if n > 1 else ''} {LINE_RULES[c]}" for c, n in bad.items() if n
        )
        raise InvalidInput(
            f"{source}: order lines refused, nothing was trained ({problems}; of {count:,} lines). "
            "Every line needs line_id, order_id, account_id and sku, a quantity > 0, a revenue >= 0 "
            "and an ordered_at date-time, as in purchases.csv (docs/data-format.md)"
        )
    return count, None if last is None else int(last)


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

    return (
        weighted(pairs, config, reference)
        .withColumn("confidence", fn.col("weight").cast("float"))
        .select("account", "product", *AGGREGATES, "first_at", "last_at", "confidence")
    )


def weighted(
    pairs: SparkPairs, config: WeightingConfig, reference: datetime | np.datetime64 | None = None
) -> Frame:
    """pairs.frame with `weight` (double): `confidences` before the float32 cast."""
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
    return frame.withColumn("weight", weight.cast("double"))


NUMPY = {
    "int": np.int32,
    "float": np.float32,
    "long": np.int64,
    "double": np.float64,
}  # Spark cast -> numpy dtype


def arrow_batches(frame: Frame) -> list[Any]:
    """The frame's rows as Arrow record batches in the frame's order: toPandas' own Arrow path
    (pyspark 3.5's `_collect_as_arrow`; 4.x also has it public as `toArrow`) without building a
    pandas frame, so numbers stay numbers and nothing becomes a Python object per row."""
    return list(frame._collect_as_arrow())


def sorted_columns(frame: Frame, columns: dict[str, str]) -> dict[str, npt.NDArray[Any]]:
    """`columns` (name -> Spark type: int, float, long, double) of a frame with account and product as
    numpy arrays in CSR order (by account, then product). Cast to the compact types and sorted in
    Spark, sent as Arrow: the driver holds the batches and one array per column, nothing else."""
    from pyspark.sql import functions as fn

    compact = frame.select(*(fn.col(n).cast(t).alias(n) for n, t in columns.items()))
    batches = arrow_batches(compact.orderBy("account", "product"))
    out = {
        name: np.concatenate([b.column(i).to_numpy(zero_copy_only=False) for b in batches]).astype(
            NUMPY[kind], copy=False
        )
        if batches
        else np.zeros(0, dtype=NUMPY[kind])
        for i, (name, kind) in enumerate(columns.items())
    }
    del batches
    account, product = out["account"], out["product"]
    step = np.diff(account)
    if np.any(step < 0) or np.any(np.diff(product)[step == 0] <= 0):  # a range sort keeps order
        order = np.lexsort((product, account))
        out = {name: values[order] for name, values in out.items()}
    return out


def collect_pairs(
    frame: Frame, accounts: IdMap, products: IdMap
) -> tuple[Interactions, npt.NDArray[np.float32] | None]:
    """A pair frame as driver Interactions (CSR order), and its `confidence` column aligned with
    the stored pairs when the frame has one: 40 bytes per pair in Arrow (44 with `confidence`),
    the 40 of Interactions, never a row per line."""
    kinds = {"account": "int", "product": "int", **dict.fromkeys(AGGREGATES, "float")}
    kinds |= {"first_at": "long", "last_at": "long"}
    if "confidence" in frame.columns:
        kinds["confidence"] = "float"
    column = sorted_columns(frame, kinds)
    counts = np.bincount(column.pop("account"), minlength=len(accounts))
    interactions = Interactions(
        accounts=accounts,
        products=products,
        indptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.intp),
        indices=column.pop("product").astype(np.intp),
        **{name: column.pop(name) for name in AGGREGATES},
        first_at=column.pop("first_at").view("datetime64[s]"),
        last_at=column.pop("last_at").view("datetime64[s]"),
    )
    return interactions, column.get("confidence")


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
