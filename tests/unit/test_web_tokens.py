"""Embed tokens and session cookies: what a CRM's server mints, what the widget accepts."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from crossgraph.errors import InvalidInput
from crossgraph.web.tokens import (
    EmbedRefused,
    check_embed,
    mint_embed,
    mint_session,
    read_session,
    secret_of,
)

SECRET = b"unit-test-secret-0123456789-abcdefghijklmnop"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def mint(account: str = "A1", ttl: timedelta = timedelta(minutes=10), **kw: object) -> str:
    return mint_embed(SECRET, account, ttl=ttl, now=NOW, **kw)  # type: ignore[arg-type]


def test_a_fresh_token_grants_its_account_kinds_limit_and_user() -> None:
    grant = check_embed(SECRET, mint(kinds=["renewal", "cross_sell"], limit=4, user="j.meyer"), now=NOW)
    assert grant.account_id == "A1"
    assert grant.kinds == ("cross_sell", "renewal")  # canonical order
    assert (grant.limit, grant.user) == (4, "j.meyer")
    assert grant.expires == NOW + timedelta(minutes=10)


def test_expired_tokens_are_refused_after_the_leeway_only() -> None:
    token = mint(ttl=timedelta(minutes=10))
    leeway = timedelta(seconds=30)
    assert check_embed(SECRET, token, now=NOW + timedelta(minutes=10, seconds=29), leeway=leeway)
    with pytest.raises(EmbedRefused, match="expired"):
        check_embed(SECRET, token, now=NOW + timedelta(minutes=10, seconds=31), leeway=leeway)


def test_a_server_clock_behind_the_crms_is_tolerated_within_the_leeway() -> None:
    token = mint()
    assert check_embed(SECRET, token, now=NOW - timedelta(seconds=20), leeway=timedelta(seconds=30))
    with pytest.raises(EmbedRefused, match="future"):
        check_embed(SECRET, token, now=NOW - timedelta(minutes=5), leeway=timedelta(seconds=30))


def _payload(token: str) -> dict[str, object]:
    part = token.split(".")[1]
    loaded: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return loaded


def _encode(payload: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_tampering_with_the_payload_or_signature_is_refused() -> None:
    token = mint()
    head, _, signature = token.split(".")
    other_account = _encode({**_payload(token), "sub": "A2"})
    with pytest.raises(EmbedRefused, match="signature"):
        check_embed(SECRET, f"{head}.{other_account}.{signature}", now=NOW)
    longer = _encode({**_payload(token), "exp": int((NOW + timedelta(days=30)).timestamp())})
    with pytest.raises(EmbedRefused, match="signature"):
        check_embed(SECRET, f"{head}.{longer}.{signature}", now=NOW)
    with pytest.raises(EmbedRefused, match="signature"):
        check_embed(b"another-secret-0123456789-abcdefghijklmnop", token, now=NOW)
    with pytest.raises(EmbedRefused, match="damaged"):
        check_embed(SECRET, "not.a.token", now=NOW)


def test_unsigned_tokens_are_refused() -> None:
    payload = _payload(mint())
    unsigned = jwt.encode(payload, key=None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(EmbedRefused):
        check_embed(SECRET, unsigned, now=NOW)


def test_a_token_for_another_account_is_refused() -> None:
    with pytest.raises(EmbedRefused, match="another account"):
        check_embed(SECRET, mint("A1"), account_id="A2", now=NOW)
    assert check_embed(SECRET, mint("A1"), account_id="A1", now=NOW).account_id == "A1"


def test_tokens_living_longer_than_allowed_are_refused() -> None:
    token = mint(ttl=timedelta(days=2))
    with pytest.raises(EmbedRefused, match="longer"):
        check_embed(SECRET, token, now=NOW, max_ttl=timedelta(days=1))


def test_a_session_cookie_is_not_an_embed_token_and_back() -> None:
    session = mint_session(SECRET, "rita", "rep", hours=1, now=NOW)
    with pytest.raises(EmbedRefused, match="not an embed link"):
        check_embed(SECRET, session, now=NOW)
    assert read_session(SECRET, mint()) is None


def test_minting_refuses_what_the_widget_could_not_show() -> None:
    with pytest.raises(InvalidInput, match="kinds"):
        mint(kinds=["cross_sell", "discount"])
    with pytest.raises(InvalidInput, match="limit"):
        mint(limit=50)
    with pytest.raises(InvalidInput, match="ttl"):
        mint(ttl=timedelta(0))


def test_sessions_round_trip_and_expire() -> None:
    now = datetime.now(UTC)
    token = mint_session(SECRET, "rita", "rep", hours=1, now=now)
    session = read_session(SECRET, token)
    assert session is not None and (session.user, session.role) == ("rita", "rep")
    assert len(session.csrf) >= 24
    assert (
        read_session(SECRET, mint_session(SECRET, "rita", "rep", hours=1, now=now - timedelta(hours=2)))
        is None
    )
    assert read_session(b"other-secret-0123456789-abcdefghijklmnop", token) is None
    assert read_session(SECRET, "") is None


def test_a_generated_secret_is_kept_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "embed-secret"
    first = secret_of(None, path)
    assert len(first) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert secret_of(None, path) == first
    with pytest.raises(InvalidInput, match="32 characters"):
        from pydantic import SecretStr

        secret_of(SecretStr("short"), path)
