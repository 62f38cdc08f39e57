"""Engine results -> response models; the recommendation flow shared by single and batch calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np
import orjson
from fastapi import Response

from crossgraph.api import schemas
from crossgraph.api.state import GraphLink
from crossgraph.errors import AccountNotFound, GraphUnavailable, ProductNotFound
from crossgraph.graph.live import find_account, peer_purchases
from crossgraph.recommend.engine import Engine, Filters, Peer


def split_values(values: Iterable[str]) -> list[str]:
    """Repeated and comma-separated query values: ?exclude=A,B&exclude=C -> [A, B, C]."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def peer_ref(peer: Peer) -> schemas.PeerRef:
    return schemas.PeerRef(id=peer.id, name=peer.name, similarity=round(peer.similarity, 4))


def json_response(body: Any) -> Response:
    """Serialise a ready, schema-shaped body directly (orjson): the hot routes skip building
    pydantic objects a second time; tests validate these bodies against the schemas."""
    return Response(orjson.dumps(body), media_type="application/json")


def account_ref(engine: Engine, index: int) -> schemas.AccountRef:
    return schemas.AccountRef(**account_dict(engine, index))


def account_dict(engine: Engine, index: int) -> dict[str, Any]:
    return {
        "id": engine.account_ids[index],
        "name": engine.account_names[index],
        "industry": engine.industries[index],
        "country": engine.countries[index],
        "in_model": True,
    }


def live_account(engine: Engine, graph: GraphLink, account_id: str) -> dict[str, Any]:
    """An account the model has not seen, from the graph; 404 if the graph does not know it
    either, 503 if the graph cannot be asked."""
    found = graph.run(lambda g: (find_account(g, account_id),))
    if found is None:
        raise GraphUnavailable(
            f"account {account_id!r} is not in model {engine.version}, and Neo4j is unreachable "
            "to look it up; try again shortly"
        )
    if found[0] is None:
        raise AccountNotFound(account_id)
    return found[0]


def recommendation_list(
    engine: Engine,
    graph: GraphLink,
    account_id: str,
    *,
    limit: int,
    filters: Filters,
    drivers: int,
    suppressed: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """A RecommendationList body. Blocking when the account is newer than the model (asks
    Neo4j): call that case from a thread. `suppressed`: skus the account's reps dismissed."""
    if suppressed:
        filters = replace(filters, exclude=filters.exclude | suppressed)
    index = engine.account_index.get(account_id)
    if index is not None:
        return {
            "account": account_dict(engine, index),
            "model_version": engine.version,
            "items": engine.recommend(index, limit, filters, drivers),
            "fallback_segment": None,
            "partial": False,
            "notes": [],
        }
    live = live_account(engine, graph, account_id)
    industry, country = _str(live.get("industry")), _str(live.get("country"))
    owned = [str(s) for s in live.get("owned") or []]
    segment, items = engine.fallback(
        industry=industry, country=country, owned_skus=owned, limit=limit, filters=filters
    )
    return {
        "account": {
            "id": account_id,
            "name": _str(live.get("name")),
            "industry": industry,
            "country": country,
            "in_model": False,
        },
        "model_version": engine.version,
        "items": items,
        "fallback_segment": segment,
        "partial": False,
        "notes": [
            f"account {account_id} is newer than model {engine.version}: ranked by popularity in "
            f"{segment}; peer evidence arrives with the next training run"
        ],
    }


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def product_evidence(engine: Engine, graph: GraphLink, account_id: str, sku: str) -> schemas.ProductEvidence:
    """Blocking (asks Neo4j for purchase history): call from a thread."""
    item = engine.product_index.get(sku)
    if item is None:
        raise ProductNotFound(sku)
    index = engine.account_index.get(account_id)
    product = schemas.Product(**engine.product_dict(item))
    if index is None:
        live = live_account(engine, graph, account_id)
        return schemas.ProductEvidence(
            account=schemas.AccountRef(id=account_id, name=_str(live.get("name")), in_model=False),
            product=product,
            model_version=engine.version,
            score=0.0,
            rank=None,
            account_owns=sku in (live.get("owned") or []),
            peers_considered=0,
            peers_owning=0,
            share_of_all_accounts=_share(engine, item),
            peers=[],
            owned_before=[],
            drivers=[],
            partial=False,
            notes=[
                f"account {account_id} is newer than model {engine.version}: "
                "no peers until the next training run"
            ],
        )
    peers = engine.peers(index)
    owns = engine.peers_owning(np.asarray([p.index for p in peers], dtype=np.intp), np.asarray([item]))[:, 0]
    live_facts = graph.run(
        lambda g: (peer_purchases(g, [p.id for p in peers], sku), find_account(g, account_id))
    )
    purchases: dict[str, dict[str, Any]] = {}
    account_owns = bool(engine.owned[index, item])
    notes = []
    if live_facts is None:
        notes.append(
            "Neo4j is unreachable: purchase dates and histories are missing; counts come from the model"
        )
    else:
        purchases, current = live_facts
        account_owns = account_owns or sku in ((current or {}).get("owned") or [])
    buyers = [p for p, o in zip(peers, owns, strict=True) if o or p.id in purchases]
    before = Counter(s for p in buyers for s in purchases.get(p.id, {}).get("bought_before", []))
    mine = set(engine.owned_indices(index).tolist())
    score, rank, _ = engine.score_of(index, item)
    return schemas.ProductEvidence(
        account=account_ref(engine, index),
        product=product,
        model_version=engine.version,
        score=round(score, 5),
        rank=rank,
        account_owns=account_owns,
        peers_considered=len(peers),
        peers_owning=len(buyers),
        share_of_all_accounts=_share(engine, item),
        peers=[_peer_purchase(p, purchases.get(p.id)) for p in buyers],
        owned_before=[_prior(engine, s, n, mine) for s, n in before.most_common(10)],
        drivers=[schemas.Driver(**d) for d in engine.drivers(index, [item], 5)[0]],
        partial=live_facts is None,
        notes=notes,
    )


def _share(engine: Engine, item: int) -> float:
    return round(float(engine.popularity[item]) / max(engine.n_accounts, 1), 4)


def _peer_purchase(peer: Peer, bought: dict[str, Any] | None) -> schemas.PeerPurchase:
    ref = peer_ref(peer).model_dump()
    if not bought:
        return schemas.PeerPurchase(**ref)
    return schemas.PeerPurchase(
        **ref,
        first_bought=bought["first_at"],
        last_bought=bought["last_at"],
        orders=bought["orders"],
        quantity=bought["quantity"],
        revenue=bought["revenue"],
        bought_before=sorted(bought["bought_before"]),
    )


def _prior(engine: Engine, sku: str, peers: int, mine: set[int]) -> schemas.PriorProduct:
    item = engine.product_index.get(sku)
    product = engine.product_dict(item) if item is not None else {"sku": sku, "name": sku}
    return schemas.PriorProduct(**product, peers=peers, account_owns=item in mine)
