"""Item-kNN whose similarity Spark computes (`crossgraph train --engine spark --parquet`) above
`dense_max_products` products (CROSSGRAPH_KNN_DENSE_MAX_PRODUCTS): the co-occurrences, the
similarities and each product's top neighbours are found in Spark from the pairs there, so only
products x neighbours rows come back to the driver, never a dense products x products matrix.
Up to the threshold the driver's dense path runs, as on the local engine: it takes well under a
second there, where Spark's joins and shuffles take minutes on small data (docs/scale.md).
Scoring, explanations and the artifact are model.baselines'.

With v_ia the BM25 weight of account a in product i's vector (products as documents over
accounts, data.weighting.bm25, the same formula in data.spark_lines.weighted):

    sim(i, j) = sum_a v_ia v_ja                              (dot products, one self-join on account)
    sim(i, j) = sum_a v_ia v_ja / (|v_i| |v_j| + shrinkage)  (cosine)

then per product i the top `neighbours` values over j != i, with products that share no account
counting as 0 (model.baselines.top_k_rows, ties to the lower product index). The self-join emits
sum_a (products of a)^2 rows: an account that bought thousands of products dominates it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from crossgraph.data.spark_lines import Frame, SparkPairs, sorted_columns, weighted
from crossgraph.data.weighting import WeightingConfig
from crossgraph.errors import InvalidInput
from crossgraph.model.baselines import KNN_DENSE_MAX_PRODUCTS, ItemKNNParams, ItemKNNRecommender


class SparkItemKNNRecommender(ItemKNNRecommender):
    """ItemKNNRecommender whose top neighbours Spark finds from `pairs` (the same pairs as the
    Interactions given to `fit`) above `dense_max_products` products."""

    def __init__(
        self,
        params: ItemKNNParams | None = None,
        *,
        pairs: SparkPairs,
        dense_max_products: int = KNN_DENSE_MAX_PRODUCTS,
    ) -> None:
        super().__init__(params, dense_max_products=dense_max_products)
        self.pairs = pairs

    def _similarity(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        if self.pairs.shape != counts.shape:
            raise InvalidInput(
                f"Spark pairs are {self.pairs.shape[0]} x {self.pairs.shape[1]}, the interactions "
                f"{counts.shape[0]} x {counts.shape[1]}: fit on the pairs' own Interactions"
            )
        if counts.shape[1] <= self.dense_max_products:
            return super()._similarity(counts)
        self.method = "spark"
        n = self.pairs.shape[1]
        column = sorted_columns(
            neighbours(self.pairs, self.params), {"account": "int", "product": "int", "similarity": "double"}
        )
        out = sp.csr_matrix(
            (column["similarity"], (column["account"], column["product"])), shape=(n, n), dtype=np.float32
        )
        out.eliminate_zeros()
        return out


def neighbours(pairs: SparkPairs, params: ItemKNNParams) -> Frame:
    """(account = product i, product = neighbour j, similarity) rows: each product's top
    `params.neighbours` (see the module docstring). The columns are named for
    data.spark_lines.sorted_columns, which collects them in CSR order."""
    from pyspark.sql import Window
    from pyspark.sql import functions as fn

    bm25 = WeightingConfig(scheme="bm25", value="orders", bm25_k1=params.k1, bm25_b=params.b)
    v = weighted(pairs, bm25).select("account", "product", "weight")
    left = v.select("account", fn.col("product").alias("i"), fn.col("weight").alias("vi"))
    right = v.select("account", fn.col("product").alias("j"), fn.col("weight").alias("vj"))
    sims = (
        left.join(right, "account")
        .where(fn.col("i") != fn.col("j"))
        .groupBy("i", "j")
        .agg(fn.sum(fn.col("vi") * fn.col("vj")).alias("similarity"))
    )
    if params.cosine:
        norms = v.groupBy("product").agg(fn.sqrt(fn.sum(fn.col("weight") * fn.col("weight"))).alias("norm"))
        sims = (
            sims.join(norms.select(fn.col("product").alias("i"), fn.col("norm").alias("ni")), "i")
            .join(norms.select(fn.col("product").alias("j"), fn.col("norm").alias("nj")), "j")
            .withColumn(
                "similarity",
                fn.col("similarity") / (fn.col("ni") * fn.col("nj") + fn.lit(max(params.shrinkage, 1e-12))),
            )
        )
    k, n = params.neighbours, pairs.shape[1]
    row = Window.partitionBy("i")
    ranked = (
        sims.where(fn.col("similarity") != 0)
        .withColumn("rank", fn.row_number().over(row.orderBy(fn.col("similarity").desc(), fn.col("j"))))
        .withColumn("positives", fn.sum(fn.when(fn.col("similarity") > 0, 1).otherwise(0)).over(row))
        .withColumn("negatives", fn.sum(fn.when(fn.col("similarity") < 0, 1).otherwise(0)).over(row))
    )
    # zeros (the diagonal and unstored pairs) = n - positives - negatives rank above negatives
    negative_slots = fn.greatest(fn.lit(k - n) + fn.col("negatives"), fn.lit(0))
    kept = ranked.where(
        ((fn.col("similarity") > 0) & (fn.col("rank") <= k))
        | ((fn.col("similarity") < 0) & (fn.col("rank") - fn.col("positives") <= negative_slots))
    )
    return kept.select(fn.col("i").alias("account"), fn.col("j").alias("product"), "similarity")
