"""The real UCI Online Retail file imported into a real Neo4j."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest

from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import import_online_retail
from crossgraph.graph.schema import graph_stats

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]

DATASET = (
    Path(__file__).resolve().parents[3] / "shared" / "datasets" / "online_retail" / "online_retail.csv.gz"
)


@pytest.mark.skipif(not DATASET.exists(), reason=f"{DATASET} is not on this machine")
def test_online_retail_import_counts(graph: Graph) -> None:
    report, data = import_online_retail(graph, DATASET)
    stats = graph_stats(graph)
    # Every customer with a valid purchase (dataset README: 4,339) is an account.
    assert data.customers_in_purchases == 4339
    assert data.purchase_rows == 397_924
    assert stats.nodes == {"Account": 4339, "Product": 3659}
    # 3,665 stock codes minus the 6 non-product codes that occur in purchases.
    assert stats.relationships == {"BOUGHT": 266_226}
    assert report.new_lines == 396_370
    # One pair checked against the raw file, counted independently of the importer.
    with gzip.open(DATASET, "rt", encoding="utf-8", newline="") as handle:
        lines = [
            r
            for r in csv.DictReader(handle)
            if r["CustomerID"] == "17850"
            and r["StockCode"] == "85123A"
            and not r["InvoiceNo"].startswith("C")
            and int(r["Quantity"]) > 0
        ]
    rows = graph.write_text(
        "MATCH (a:Account {id: '17850'})-[b:BOUGHT]->(p:Product {sku: '85123A'}) "
        "RETURN a.country AS country, p.name AS name, b.orders AS orders, b.quantity AS quantity"
    )
    assert rows == [
        {
            "country": "United Kingdom",
            "name": "WHITE HANGING HEART T-LIGHT HOLDER",
            "orders": len({r["InvoiceNo"] for r in lines}),
            "quantity": float(sum(int(r["Quantity"]) for r in lines)),
        }
    ]
