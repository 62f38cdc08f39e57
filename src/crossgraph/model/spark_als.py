"""ALS fitted by Spark MLlib (`crossgraph train --engine spark`; the `spark` extra, docs/scale.md).

The confidences are model.als's own (data.weighting on the same id maps), sent to Spark as
(account, product, confidence) rows; the factors come back as Arrow arrays and are placed in
id-map order, so the artifact and everything after it are the single-machine engine's.

Parameters, implicit -> MLlib `ALS(implicitPrefs=True)` (both after Hu, Koren, Volinsky 2008):
    rank = factors, maxIter = iterations, alpha = alpha, seed = random_state
    regParam = regularization / (mean products per account)
        MLlib scales the penalty of each account and product by its number of ratings
        ("ALS-WR", Zhou et al. 2008); implicit applies `regularization` once. Dividing by the
        mean count puts an average account under the same penalty (Online Retail: NDCG@10
        0.1128 vs implicit's 0.1126 once each was tuned, issue 15).
    confidence: MLlib c = 1 + alpha * C, implicit c = alpha * C on bought pairs; both 1 elsewhere
Checkpoints every `checkpoint_interval` iterations cut the lineage of the factor RDDs (deep
lineages overflow the stack on long fits); the checkpoint folder is temporary unless given.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from crossgraph.data.matrix import Interactions
from crossgraph.data.spark_lines import SparkPairs, arrow_batches, confidences, sorted_columns
from crossgraph.data.weighting import weighted_matrix
from crossgraph.errors import InvalidInput
from crossgraph.model.als import ALSParams, ALSRecommender


@dataclass(frozen=True)
class SparkConfig:
    master: str = "local[2]"  # local[N], spark://host:7077, yarn, k8s://...
    driver_memory: str = "2g"
    checkpoint_dir: str | None = None  # shared storage on a cluster (hdfs://, s3a://); temporary if None
    checkpoint_interval: int = 5
    partitions: int = 8  # shuffle partitions and ALS blocks
    # --parquet: test accounts the evaluation ranks (a seeded random sample above this many)
    evaluation_sample: int = 20_000

    def __post_init__(self) -> None:
        if self.evaluation_sample < 1:
            raise InvalidInput(
                f"the evaluation sample must be >= 1 test account, got {self.evaluation_sample}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "master": self.master,
            "driver_memory": self.driver_memory,
            "checkpoint_interval": self.checkpoint_interval,
            "partitions": self.partitions,
        }


def spark_version() -> str:
    import pyspark

    return str(pyspark.__version__)


def reg_param(params: ALSParams, interactions: Interactions) -> float:
    """implicit's regularization as MLlib's per-rating regParam (see the module docstring)."""
    per_account = interactions.nnz / max(1, interactions.shape[0])
    return float(params.regularization / max(per_account, 1.0))


@contextmanager
def spark_session(config: SparkConfig) -> Iterator[Any]:
    """A SparkSession for one fit, stopped afterwards; a clear error without the extra."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise InvalidInput(
            "--engine spark needs pyspark: pip install 'crossgraph[spark]' (and Java 17)"
        ) from exc
    session = (
        SparkSession.builder.master(config.master)
        .appName("crossgraph-train")
        .config("spark.driver.memory", config.driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(config.partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")  # data.spark_lines: times as written, no shift
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory(prefix="crossgraph-spark-") as scratch:
        session.sparkContext.setCheckpointDir(config.checkpoint_dir or str(Path(scratch) / "checkpoints"))
        try:
            yield session
        finally:
            session.stop()


class SparkALSRecommender(ALSRecommender):
    """ALSRecommender whose factors MLlib fits; scoring, peers and the artifact are inherited."""

    name = "als"

    def __init__(
        self,
        params: ALSParams | None = None,
        config: SparkConfig | None = None,
        *,
        session: Any = None,
        pairs: SparkPairs | None = None,
    ) -> None:
        """With `session` and `pairs` (data.spark_lines, the same pairs as the Interactions given
        to `fit`), the confidences are computed in Spark from the pairs there; without, they are
        computed on the driver and sent to a session of its own."""
        super().__init__(params)
        if (session is None) != (pairs is None):
            raise InvalidInput("SparkALSRecommender needs both session and pairs, or neither")
        self.config = config or SparkConfig()
        self.session = session
        self.pairs = pairs
        self.reg_param = 0.0

    def _fit(self, interactions: Interactions) -> None:
        p = self.params
        self.reg_param = reg_param(p, interactions)
        if self.pairs is not None:
            if self.pairs.shape != interactions.shape:
                raise InvalidInput(
                    f"Spark pairs are {self.pairs.shape[0]} x {self.pairs.shape[1]}, the interactions "
                    f"{interactions.shape[0]} x {interactions.shape[1]}: fit on the pairs' own Interactions"
                )
            frame = confidences(self.pairs, p.weighting).select("account", "product", "confidence")
            self.user_items = interactions.with_values(_aligned(frame, interactions))
            self._fit_frame(self.session, frame, interactions.shape)
            return
        import pandas as pd

        self.user_items = weighted_matrix(interactions, p.weighting)
        coo = self.user_items.tocoo()
        rows = pd.DataFrame(
            {
                "account": coo.row.astype(np.int32),
                "product": coo.col.astype(np.int32),
                "confidence": coo.data.astype(np.float32),
            }
        )
        with spark_session(self.config) as session:
            self._fit_frame(session, session.createDataFrame(rows), interactions.shape)

    def _fit_frame(self, session: Any, frame: Any, shape: tuple[int, int]) -> None:
        """MLlib ALS on (account, product, confidence) rows; factors back in id-map order."""
        from pyspark.ml.recommendation import ALS

        p = self.params
        n_accounts, n_products = shape
        als = ALS(
            rank=p.factors,
            maxIter=p.iterations,
            regParam=self.reg_param,
            alpha=p.alpha,
            implicitPrefs=True,
            seed=p.random_state,
            checkpointInterval=self.config.checkpoint_interval,
            numUserBlocks=self.config.partitions,
            numItemBlocks=self.config.partitions,
            userCol="account",
            itemCol="product",
            ratingCol="confidence",
        )
        fitted = als.fit(frame.repartition(self.config.partitions))
        self.user_factors = _in_order(fitted.userFactors, n_accounts, p.factors)
        self.item_factors = _in_order(fitted.itemFactors, n_products, p.factors)

    def explain(self, account_idx: int, item_idx: int, n: int = 10) -> list[tuple[int, float]]:
        raise InvalidInput("explain() needs implicit's model; serving explains with model.explain")


def _aligned(frame: Any, interactions: Interactions) -> npt.NDArray[np.float32]:
    """The `confidence` of (account, product, confidence) rows in the CSR order of `interactions`
    (the same pairs): sorted by account, then product, in Spark (data.spark_lines)."""
    column = sorted_columns(frame, {"account": "int", "product": "int", "confidence": "float"})
    if len(column["confidence"]) != interactions.nnz:
        raise InvalidInput(f"Spark has {len(column['confidence'])} confidences for {interactions.nnz} pairs")
    return column["confidence"]


def _in_order(factors: Any, n: int, rank: int) -> npt.NDArray[np.float32]:
    """MLlib's (id, features) rows -> a float32 [n, rank] array in id order (zeros for an id
    Spark never saw, which cannot happen for ids taken from the ratings). The features arrive
    as Arrow list arrays, flattened into one float array: no Python object per row."""
    out = np.zeros((n, rank), dtype=np.float32)
    for batch in arrow_batches(factors.select("id", "features")):
        ids = batch.column(0).to_numpy(zero_copy_only=False).astype(np.intp)
        values = batch.column(1).flatten().to_numpy(zero_copy_only=False)
        out[ids] = values.reshape(len(ids), rank)
    return out
