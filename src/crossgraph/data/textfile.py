"""Opening the CSV files crossgraph loads: UTF-8 text, plain or gzip-compressed.

gzip is recognised by its content (the magic bytes 1f 8b), whatever the file is called.
A file that is not UTF-8 text (Latin-1, UTF-16, a workbook, any binary) is refused with an
InvalidInput naming the file and, where a byte breaks UTF-8, its line.
"""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO, cast

from crossgraph.errors import InvalidInput

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
SNIFF_BYTES = 8192
EXPECTED = "crossgraph reads UTF-8 text (Excel: 'CSV UTF-8'), plain or gzip-compressed"


def is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == GZIP_MAGIC


@contextmanager
def open_text(path: Path) -> Iterator[IO[str]]:
    """The file as text for csv.reader (a UTF-8 BOM is skipped). Decoding and decompression
    happen while the caller reads, so their failures are translated here too."""
    try:
        raw = _open_bytes(path)
    except OSError as exc:
        raise InvalidInput(f"{path.name}: cannot read the file ({exc.strerror or exc})") from None
    try:
        not_text = _not_text(path.name, raw.read(SNIFF_BYTES))
        if not_text:
            raise InvalidInput(not_text)
        raw.seek(0)
        with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle:
            yield handle
    except UnicodeDecodeError:
        raise InvalidInput(not_utf8(path)) from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise InvalidInput(f"{path.name}: the gzip data is damaged or cut short ({exc})") from None
    finally:
        raw.close()


def _open_bytes(path: Path) -> BinaryIO:
    if is_gzip(path):
        return cast(BinaryIO, gzip.GzipFile(path, "rb"))  # a BufferedIOBase, like open(path, "rb")
    return path.open("rb")


def _not_text(name: str, head: bytes) -> str | None:
    """Why a file starting with `head` is not CSV text, if its first bytes tell. A NUL byte
    never occurs in text (git's test for binary files); Python's csv would accept it."""
    if head.startswith(ZIP_MAGIC):
        return f"{name} is a ZIP archive or Excel workbook, not CSV text; {EXPECTED}"
    if head.startswith(UTF16_BOMS):
        return f"{name} is UTF-16 text; {EXPECTED}"
    nul = head.find(b"\x00")
    if nul >= 0:
        line = head.count(b"\n", 0, nul) + 1
        return f"{name} line {line} holds a NUL byte: a binary file, not CSV text"
    return None


def not_utf8(path: Path) -> str:
    """Why the file is not UTF-8 text, with the line of the first offending byte."""
    with _open_bytes(path) as raw:
        line, byte = _first_bad_byte(raw)
    return (
        f"{path.name} line {line}: byte 0x{byte:02x} is not UTF-8 (the file is in another "
        f"encoding such as Latin-1 / Windows-1252, or binary); {EXPECTED}"
    )


def _first_bad_byte(raw: BinaryIO, chunk: int = 1 << 20) -> tuple[int, int]:
    """(line, value) of the first byte that breaks UTF-8, reading chunk by chunk."""
    line, pending = 1, b""
    while True:
        block = raw.read(chunk)
        data = pending + block
        try:
            # final=False leaves a sequence cut by the chunk boundary for the next round.
            _, used = codecs.utf_8_decode(data, "strict", not block)
        except UnicodeDecodeError as exc:
            return line + data.count(b"\n", 0, exc.start), data[exc.start]
        line += data.count(b"\n", 0, used)
        pending = data[used:]
        if not block:
            return line, 0  # unreachable when the text wrapper failed: the whole file decodes
