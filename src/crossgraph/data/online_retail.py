"""The UCI Online Retail file (Chen 2015, CC BY 4.0) mapped onto crossgraph's tables.

Rules (from the dataset README): only lines with a known customer, Quantity > 0 and an
invoice not starting with 'C' (cancellations) are purchases; the non-product codes
(postage, fees, manual adjustments, gift vouchers) are dropped for recommendation.
Each customer -> Account (country = the country of most of its lines), each stock code
-> Product (name = its most frequent description), each line -> an order line whose id is
'<invoice>:<stock code>:<n>' (n counts repeats of the code within the invoice), so
re-importing the file never double counts.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from crossgraph.data.orderlines import OrderLines
from crossgraph.data.textfile import open_text
from crossgraph.errors import InvalidInput

COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
NON_PRODUCT_CODES = frozenset(
    {"POST", "DOT", "M", "C2", "D", "S", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS", "B", "m"}
)


def is_non_product(code: str) -> bool:
    return code in NON_PRODUCT_CODES or code.startswith("gift_")


@dataclass(frozen=True)
class OnlineRetail:
    lines: OrderLines
    accounts: list[dict[str, str | None]]  # id, name, country
    products: list[dict[str, str | None]]  # sku, name
    rows_read: int
    purchase_rows: int  # known customer, not cancelled, quantity > 0
    customers_in_purchases: int
    dropped_non_product_rows: int


def is_online_retail(path: Path) -> bool:
    """Whether the header is the UCI file's; a file that is not UTF-8 text raises InvalidInput."""
    with open_text(path) as handle:
        header = next(csv.reader(handle), [])
    return tuple(h.strip() for h in header) == COLUMNS


def read_online_retail(path: Path) -> OnlineRetail:
    if not path.exists():
        raise InvalidInput(f"{path} does not exist")
    if not is_online_retail(path):
        raise InvalidInput(
            f"{path} is not the UCI Online Retail file (expected columns {', '.join(COLUMNS)})"
        )
    rows: list[dict[str, object]] = []
    countries: dict[str, Counter[str]] = defaultdict(Counter)
    descriptions: dict[str, Counter[str]] = defaultdict(Counter)
    repeats: Counter[tuple[str, str]] = Counter()
    customers: set[str] = set()
    rows_read = purchase_rows = dropped = 0
    with open_text(path) as handle:
        reader = csv.DictReader(handle)
        for record in reader:
            rows_read += 1
            invoice = record["InvoiceNo"].strip()
            customer = record["CustomerID"].strip()
            try:
                quantity = float(record["Quantity"])
                price = float(record["UnitPrice"])
                at = datetime.fromisoformat(record["InvoiceDate"].strip())
            except ValueError as exc:
                raise InvalidInput(f"{path.name} line {reader.line_num}: {exc}") from None
            if not customer or invoice.startswith("C") or quantity <= 0:
                continue
            purchase_rows += 1
            # CustomerID is an integer; some exports write it as 17850.0.
            customer = customer.removesuffix(".0")
            customers.add(customer)
            countries[customer][record["Country"].strip()] += 1
            code = record["StockCode"].strip()
            if is_non_product(code):
                dropped += 1
                continue
            description = record["Description"].strip()
            if description:
                descriptions[code][description] += 1
            else:
                descriptions.setdefault(code, Counter())
            repeats[(invoice, code)] += 1
            rows.append(
                {
                    "line_id": f"{invoice}:{code}:{repeats[(invoice, code)]}",
                    "order_id": invoice,
                    "account_id": customer,
                    "sku": code,
                    "quantity": quantity,
                    "revenue": round(quantity * max(price, 0.0), 2),
                    "ordered_at": at,
                }
            )
    accounts: list[dict[str, str | None]] = [
        {"id": c, "name": f"Customer {c}", "country": countries[c].most_common(1)[0][0]}
        for c in sorted(customers)
    ]
    products: list[dict[str, str | None]] = [
        {"sku": code, "name": (names.most_common(1)[0][0] if names else code)}
        for code, names in sorted(descriptions.items())
    ]
    return OnlineRetail(
        lines=OrderLines.from_rows(rows),
        accounts=accounts,
        products=products,
        rows_read=rows_read,
        purchase_rows=purchase_rows,
        customers_in_purchases=len(customers),
        dropped_non_product_rows=dropped,
    )
