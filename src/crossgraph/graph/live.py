"""Live facts for serving: what the artifact cannot know (accounts and purchases since the fit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from crossgraph.graph.driver import Graph


def find_account(graph: Graph, account_id: str) -> dict[str, Any] | None:
    """The account's attributes and the skus it has bought, or None when it is not in the graph."""
    rows = graph.read("find_account", {"id": account_id})
    return rows[0] if rows else None


def peer_purchases(graph: Graph, peer_ids: Sequence[str], sku: str) -> dict[str, dict[str, Any]]:
    """Per peer that bought `sku`: first/last purchase, orders, quantity, revenue, bought_before."""
    rows = graph.read("peer_purchases", {"peer_ids": list(peer_ids), "sku": sku})
    return {
        str(r["account_id"]): {**r, "first_at": _native(r["first_at"]), "last_at": _native(r["last_at"])}
        for r in rows
    }


def _native(value: Any) -> datetime | None:
    """neo4j.time.DateTime/LocalDateTime -> datetime (None stays None)."""
    if value is None:
        return None
    native = value.to_native() if hasattr(value, "to_native") else value
    return native if isinstance(native, datetime) else None


def top_accounts(graph: Graph, limit: int) -> list[str]:
    """The `limit` accounts with the most revenue, largest first."""
    return [str(r["id"]) for r in graph.read("top_accounts_by_revenue", {"limit": limit})]


def account_revenue(graph: Graph, account_ids: Sequence[str]) -> dict[tuple[str, str], float]:
    """(account, sku) -> revenue of everything the given accounts bought."""
    rows = graph.read("account_purchases", {"ids": list(account_ids)})
    return {(str(r["account_id"]), str(r["sku"])): float(r["revenue"] or 0.0) for r in rows}
