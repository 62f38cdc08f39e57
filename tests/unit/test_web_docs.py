"""docs/web.md and docs/embedding.md say what the web face does: every setting, the token's
claims and the sentences a rep reads when a link is refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from crossgraph.settings import Settings
from crossgraph.web.tokens import mint_embed

ROOT = Path(__file__).resolve().parents[2]
WEB = (ROOT / "docs" / "web.md").read_text()
EMBEDDING = (ROOT / "docs" / "embedding.md").read_text()


def table_rows(doc: str, first_column: str) -> dict[str, list[str]]:
    """Rows of the markdown table whose first heading is `first_column`, keyed by that cell."""
    rows: dict[str, list[str]] = {}
    inside = False
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_column:
            inside = True
        elif inside and line.startswith("|") and not set(cells[0]) <= {"-"}:
            rows[cells[0].strip("`")] = cells[1:]
        elif inside and not line.startswith("|"):
            inside = False
    return rows


def test_every_web_and_embed_setting_is_in_the_table_with_its_default() -> None:
    rows = table_rows(WEB, "variable")
    fields = {
        name: field
        for name, field in Settings.model_fields.items()
        if name.startswith(("web_", "embed_")) or name == "users_file"
    }
    assert set(rows) == {f"CROSSGRAPH_{name.upper()}" for name in fields}
    for name, field in fields.items():
        default = field.default
        if isinstance(default, bool):
            expected = str(default).lower()
        elif isinstance(default, int | float):
            expected = f"{default:g}"
        else:
            continue
        assert rows[f"CROSSGRAPH_{name.upper()}"][0] == f"`{expected}`", name


def test_the_claims_table_names_what_a_minted_token_holds() -> None:
    token = mint_embed(b"k" * 32, "A1", ttl=timedelta(minutes=5), user="jo", now=datetime.now(UTC))
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(table_rows(EMBEDDING, "claim")) == set(claims)


def test_every_refusal_a_rep_can_read_is_documented() -> None:
    source = (ROOT / "src" / "crossgraph" / "web" / "tokens.py").read_text()
    messages = re.findall(r'EmbedRefused\(\s*"([^"]+)"', source)
    assert len(messages) >= 8
    for message in messages:
        assert message in EMBEDDING, message
