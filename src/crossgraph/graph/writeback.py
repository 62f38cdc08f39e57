"""Write a model's peers and suggestions back into the graph for Cypher and BI users."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from crossgraph.graph.driver import Graph
from crossgraph.model.artifact import Artifact

BATCH_ACCOUNTS = 1000


@dataclass(frozen=True)
class WriteBackReport:
    similar: int
    recommended: int


def write_back(graph: Graph, artifact: Artifact, peers: int = 10, products: int = 10) -> WriteBackReport:
    """SIMILAR_TO {score, rank, model_version} to each account's top peers and RECOMMENDED
    {score, rank, model_version} to its top products. Existing relationships are updated in
    place (MERGE), so there is no moment without them; those of other versions go last."""
    version = artifact.version
    account_ids = artifact.accounts.ids
    product_ids = artifact.products.ids
    similar = recommended = 0
    n = len(account_ids)
    for start in range(0, n, BATCH_ACCOUNTS):
        stop = min(start + BATCH_ACCOUNTS, n)
        peer_rows = [
            {
                "account_id": str(account_ids[a]),
                **_top(account_ids, artifact.similar_accounts, artifact.similar_scores, a, peers, "peers"),
            }
            for a in range(start, stop)
        ]
        product_rows = [
            {
                "account_id": str(account_ids[a]),
                **_top(product_ids, artifact.recommended, artifact.recommended_scores, a, products, "skus"),
            }
            for a in range(start, stop)
        ]
        rows = graph.write("write_similar_accounts", {"rows": peer_rows, "version": version})
        similar += int(rows[0]["written"]) if rows else 0
        rows = graph.write("write_recommendations", {"rows": product_rows, "version": version})
        recommended += int(rows[0]["written"]) if rows else 0
    graph.write_autocommit("delete_stale_similar", {"version": version})
    graph.write_autocommit("delete_stale_recommendations", {"version": version})
    served = artifact.manifest.get("metrics", {}).get("served_params")
    graph.write("set_model_version", {"version": version, "summary": json.dumps({"params": served})})
    return WriteBackReport(similar=similar, recommended=recommended)


def _top(
    ids: npt.NDArray[np.object_],
    index: npt.NDArray[np.int32],
    scores: npt.NDArray[np.float32],
    row: int,
    n: int,
    key: str,
) -> dict[str, list[Any]]:
    """The first n filled slots of one account's row (-1 marks an empty slot)."""
    chosen = np.asarray(index[row, :n])
    ok = chosen >= 0
    return {
        key: [str(ids[i]) for i in chosen[ok]],
        "scores": np.asarray(scores[row, :n])[ok].astype(float).tolist(),
    }
