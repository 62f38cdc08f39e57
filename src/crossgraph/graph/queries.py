"""Every Cypher statement lives in cypher/<name>.cypher and is loaded by name."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from crossgraph.errors import CrossgraphError

CYPHER_DIR = Path(__file__).resolve().parent.parent / "cypher"


@cache
def load(name: str) -> str:
    """The text of cypher/<name>.cypher (comment lines starting with // are kept; Neo4j ignores them)."""
    path = CYPHER_DIR / f"{name}.cypher"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise CrossgraphError(f"no query named {name!r} (expected {path})") from None


def statements(name: str) -> list[str]:
    """A file of several statements separated by ';' at line ends (e.g. the schema)."""
    text = "\n".join(line for line in load(name).splitlines() if not line.strip().startswith("//"))
    return [part.strip() for part in text.split(";\n") if part.strip().rstrip(";").strip()]
