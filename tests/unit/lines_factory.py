"""Tiny hand-made order lines for the model tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np

from crossgraph.data.orderlines import OrderLines

Row = tuple[str, str, str, str]  # order_id, account_id, sku, ordered_at (ISO)


def lines_of(rows: Sequence[Row], quantity: float = 1.0, revenue: float = 10.0) -> OrderLines:
    return OrderLines.from_rows(
        {
            "line_id": f"L{i}",
            "order_id": order,
            "account_id": account,
            "sku": sku,
            "quantity": quantity,
            "revenue": revenue,
            "ordered_at": datetime.fromisoformat(at),
        }
        for i, (order, account, sku, at) in enumerate(rows)
    )


def block_lines(
    n_accounts: int = 36, n_blocks: int = 3, block_size: int = 4, seed: int = 0, days: int = 360
) -> OrderLines:
    """Accounts in block b buy only products of block b (b*block_size ...): one order a
    month, each adding one product of the block (random order) to what it rebuys.
    Accounts start in different months, so every time split over the year has history
    before and new pairs after."""
    rng = np.random.default_rng(seed)
    start = datetime(2023, 1, 1)
    months = days // 30
    rows: list[Row] = []
    for a in range(n_accounts):
        block = a % n_blocks
        products = [f"P{block * block_size + j:02d}" for j in range(block_size)]
        order = rng.permutation(products)
        first = (a * 7) % max(months - block_size + 1, 1)
        for month in range(first, months):
            at = start + timedelta(days=30 * month + int(rng.integers(0, 28)))
            for sku in order[: min(month - first + 1, block_size)]:
                rows.append((f"O{a}-{month}", f"A{a:02d}", str(sku), at.isoformat()))
    return lines_of(rows)


def block_pairs(blocks: int = 2, accounts_per_block: int = 8, items_per_block: int = 4) -> OrderLines:
    """Account k of block b owns every product of block b except product k % items_per_block,
    and nothing of other blocks: the missing product is the obvious next buy."""
    rows: list[Row] = []
    for b in range(blocks):
        for k in range(accounts_per_block):
            account = f"A{b}{k:02d}"
            for j in range(items_per_block):
                if j != k % items_per_block:
                    rows.append((f"O{b}{k}", account, f"P{b}{j}", "2024-01-01"))
    return lines_of(rows)
