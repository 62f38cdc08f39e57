"""The UCI Online Retail reader opens files like the loader: gzip by content, UTF-8 or a clear error."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from crossgraph.data.online_retail import COLUMNS, read_online_retail
from crossgraph.errors import InvalidInput

ROWS = (
    ",".join(COLUMNS) + "\n"
    "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
    "536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,17850,United Kingdom\n"
)


def test_a_gzip_file_reads_whatever_its_name(tmp_path: Path) -> None:
    path = tmp_path / "retail.csv"
    path.write_bytes(gzip.compress(ROWS.encode()))
    data = read_online_retail(path)
    assert (data.purchase_rows, len(data.lines)) == (2, 2)


def test_a_latin1_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "retail.csv.gz"
    path.write_bytes(gzip.compress(ROWS.replace("HAND WARMER", "CAFÉ").encode("latin-1")))
    with pytest.raises(InvalidInput, match=r"retail\.csv\.gz line 3: byte 0xc9 is not UTF-8"):
        read_online_retail(path)
