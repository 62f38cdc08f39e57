"""The UCI Online Retail files (Chen 2015 and Online Retail II, CC BY 4.0) mapped onto crossgraph's tables.

Both headers are read: Online Retail's (InvoiceNo, UnitPrice, CustomerID) and Online Retail
II's own (Invoice, Price, Customer ID), in any column order, from CSV (plain or gzip) or as
records from a Parquet file (data.purchase_file). InvoiceDate may be ISO or the original
slashed form, day-first or month-first, decided for the whole file (data.timestamps).

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from crossgraph.data.orderlines import OrderLines
from crossgraph.data.textfile import open_text
from crossgraph.data.timestamps import timestamp_parser
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
# Online Retail II's names, in the order of COLUMNS (the names the reader works with).
COLUMNS_II = (
    "Invoice",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "Price",
    "Customer ID",
    "Country",
)
VARIANTS = {"Online Retail": COLUMNS, "Online Retail II": COLUMNS_II}
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


def online_retail_variant(header: Sequence[str]) -> str | None:
    """'Online Retail' or 'Online Retail II' when the header has exactly that file's columns
    (in any order), else None."""
    names = {h.strip() for h in header}
    return next((name for name, columns in VARIANTS.items() if names == set(columns)), None)


def is_online_retail(path: Path) -> bool:
    """Whether the header is a UCI file's; a file that is not UTF-8 text raises InvalidInput."""
    with open_text(path) as handle:
        header = next(csv.reader(handle), [])
    return online_retail_variant(header) is not None


def read_online_retail(path: Path) -> OnlineRetail:
    if not path.exists():
        raise InvalidInput(f"{path} does not exist")
    if not is_online_retail(path):
        expected = "; or ".join(", ".join(columns) for columns in VARIANTS.values())
        raise InvalidInput(f"{path} is not a UCI Online Retail file (expected columns {expected})")
    with open_text(path) as handle:
        records = list(csv.DictReader(handle))
    return online_retail_from_records(records, path.name, first_line=2)


def online_retail_from_records(
    records: Sequence[Mapping[str, str]], source: str, first_line: int = 1
) -> OnlineRetail:
    """Records keyed by either variant's column names, values as text (empty for a missing
    value). Errors name `source` and the record's line (`first_line` for the first record)."""
    if not records:
        return _collect([], source, first_line)
    variant = online_retail_variant(list(records[0]))
    if variant in (None, "Online Retail"):
        return _collect(records, source, first_line)
    names = dict(zip(COLUMNS, VARIANTS[variant], strict=True))
    canonical = [{column: record[names[column]] for column in COLUMNS} for record in records]
    return _collect(canonical, source, first_line)


def _collect(records: Sequence[Mapping[str, str]], source: str, first_line: int) -> OnlineRetail:
    parse_at = timestamp_parser({r["InvoiceDate"] for r in records}, source)
    rows: list[dict[str, object]] = []
    countries: dict[str, Counter[str]] = defaultdict(Counter)
    descriptions: dict[str, Counter[str]] = defaultdict(Counter)
    repeats: Counter[tuple[str, str]] = Counter()
    customers: set[str] = set()
    rows_read = purchase_rows = dropped = 0
    for line, record in enumerate(records, start=first_line):
        rows_read += 1
        invoice = record["InvoiceNo"].strip()
        customer = record["CustomerID"].strip()
        try:
            quantity = float(record["Quantity"])
            price = float(record["UnitPrice"])
            at = parse_at(record["InvoiceDate"])
        except ValueError as exc:
            raise InvalidInput(f"{source} line {line}: {exc}") from None
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
