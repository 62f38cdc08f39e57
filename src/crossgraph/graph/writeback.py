"""Write a model's peers and suggestions back into the graph for Cypher and BI users."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from crossgraph.graph.driver import Graph
from crossgraph.model.artifact import Artifact
from crossgraph.model.registry import Registry

BATCH_ACCOUNTS = 5000


@dataclass(frozen=True)
class WriteBackReport:
    similar: int
    recommended: int


def write_back_version(
    graph: Graph, registry: Registry, version: str, config: Mapping[str, Any]
) -> WriteBackReport:
    """Write a registry version's peers and suggestions, as many per account as the parameters
    file's "write_back" section says (10 each without one). The CLI's train, promote and rollback
    and the model page's rollback all write back through this."""
    sizes = config.get("write_back", {})
    return write_back(
        graph,
        Artifact.load(registry.get(version).path),
        peers=int(sizes.get("peers", 10)),
        products=int(sizes.get("products", 10)),
    )


def write_back(graph: Graph, artifact: Artifact, peers: int = 10, products: int = 10) -> WriteBackReport:
    """SIMILAR_TO {score, rank, model_version} to each account's top peers and RECOMMENDED
    {score, rank, model_version} to its top products (rank 1 = best). Each batch brings its
    accounts' relationships of that type (whatever their version) to the new lists in one
    transaction, so no account is ever without them: kept targets are updated in place,
    dropped ones deleted, new ones created. Those of accounts the new version does not have
    go last."""
    version = artifact.version
    account_ids = artifact.accounts.ids
    kinds = (  # query, target ids, top targets per account, their scores, how many to write
        ("write_similar_accounts", account_ids, artifact.similar_accounts, artifact.similar_scores, peers),
        (
            "write_recommendations",
            artifact.products.ids,
            artifact.recommended,
            artifact.recommended_scores,
            products,
        ),
    )
    written = [0] * len(kinds)
    n = len(account_ids)
    for start in range(0, n, BATCH_ACCOUNTS):
        stop = min(start + BATCH_ACCOUNTS, n)
        accounts = [str(a) for a in account_ids[start:stop]]
        for kind, (query, ids, top, top_scores, n_top) in enumerate(kinds):
            targets, offsets, target_of, scores = _batch(ids, top, top_scores, start, stop, n_top)
            params = {"accounts": accounts, "offsets": offsets, "targets": targets, "target_of": target_of}
            rows = graph.write(query, {**params, "scores": scores, "version": version})
            written[kind] += int(rows[0]["written"]) if rows else 0
    similar, recommended = written
    graph.write_autocommit("delete_stale_similar", {"version": version})
    graph.write_autocommit("delete_stale_recommendations", {"version": version})
    served = artifact.manifest.get("metrics", {}).get("served_params")
    graph.write("set_model_version", {"version": version, "summary": json.dumps({"params": served})})
    return WriteBackReport(similar=similar, recommended=recommended)


def _batch(
    ids: npt.NDArray[np.object_],
    index: npt.NDArray[np.int32],
    scores: npt.NDArray[np.float32],
    start: int,
    stop: int,
    n: int,
) -> tuple[list[str], list[int], list[int], list[float]]:
    """The first n filled slots (-1 marks an empty slot) of the rows start..stop-1, flat, as
    the write queries take them: the distinct target ids, per row the offset of its first item
    (one more entry at the end), per item the index of its target in the distinct ids, and
    its score."""
    chosen = np.asarray(index[start:stop, :n])
    ok = chosen >= 0
    flat = chosen[ok]  # row by row, each row's items in their order
    distinct, target_of = np.unique(flat, return_inverse=True)
    offsets = np.zeros(len(chosen) + 1, dtype=np.int64)
    np.cumsum(ok.sum(axis=1), out=offsets[1:])
    return (
        [str(t) for t in ids[distinct]],
        offsets.tolist(),
        target_of.reshape(-1).tolist(),
        np.asarray(scores[start:stop, :n])[ok].astype(float).tolist(),
    )
