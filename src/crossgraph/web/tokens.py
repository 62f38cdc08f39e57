"""Signed tokens: the session cookie of people who sign in, and the embed token a CRM's server
mints for one account (the "signed embedding" pattern: the secret never reaches a browser).

Both are HS256 JWTs (PyJWT) with their own audience and their own secret, so one can never be
used as the other. Secrets come from the settings or are generated once into the data folder
(mode 600), so every worker of one installation signs and checks with the same key."""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from pydantic import SecretStr

from crossgraph.errors import CrossgraphError, InvalidInput
from crossgraph.recommend.actions import KINDS, Kind
from crossgraph.settings import Settings

ALGORITHM = "HS256"
SESSION_AUDIENCE = "crossgraph:session"
EMBED_AUDIENCE = "crossgraph:embed"
EMBED_MAX_LIMIT = 10
EMBED_DEFAULT_LIMIT = 5


class EmbedRefused(CrossgraphError):
    """An embed token that does not open the widget; the message is shown to the rep as is."""


def secret_of(configured: SecretStr | None, path: Path) -> bytes:
    """The configured secret, or the one generated once into `path` (mode 600)."""
    if configured is not None:
        value = configured.get_secret_value()
        if len(value) < 32:
            raise InvalidInput(f"a signing secret needs at least 32 characters, got {len(value)}")
        return value.encode()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
    return path.read_text().strip().encode()


def web_secret(settings: Settings) -> bytes:
    return secret_of(settings.web_secret, settings.data_dir / "web-secret")


def embed_secret(settings: Settings) -> bytes:
    return secret_of(settings.embed_secret, settings.data_dir / "embed-secret")


# -- sessions ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Session:
    user: str
    role: str
    csrf: str  # echoed by every state-changing form or fetch (X-CSRF-Token)
    expires: datetime


def mint_session(secret: bytes, user: str, role: str, hours: float, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    claims = {
        "sub": user,
        "role": role,
        "csrf": secrets.token_urlsafe(24),
        "aud": SESSION_AUDIENCE,
        "iat": now,
        "exp": now + timedelta(hours=hours),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_session(secret: bytes, token: str) -> Session | None:
    """The session, or None for a missing, expired or forged cookie (the user signs in again)."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=SESSION_AUDIENCE,
            options={"require": ["exp", "sub"]},
        )
    except jwt.PyJWTError:
        return None
    return Session(
        user=str(claims["sub"]),
        role=str(claims.get("role", "rep")),
        csrf=str(claims.get("csrf", "")),
        expires=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )


# -- embedding --------------------------------------------------------------------------------
@dataclass(frozen=True)
class EmbedGrant:
    """What one embed token allows: one account's widget, these opportunity kinds, this many items."""

    account_id: str
    kinds: tuple[Kind, ...] = KINDS
    limit: int = EMBED_DEFAULT_LIMIT
    user: str | None = None  # the rep, recorded with feedback given in the widget
    expires: datetime = field(default_factory=lambda: datetime.now(UTC))


def mint_embed(
    secret: bytes,
    account_id: str,
    *,
    ttl: timedelta,
    kinds: Sequence[str] = KINDS,
    limit: int = EMBED_DEFAULT_LIMIT,
    user: str | None = None,
    now: datetime | None = None,
) -> str:
    """The token a CRM's server puts into the widget's URL (docs/embedding.md has the recipe)."""
    if not account_id:
        raise InvalidInput("account: an embed token is for one account; got an empty id")
    if ttl <= timedelta(0):
        raise InvalidInput(f"ttl: must be positive, got {ttl}")
    chosen = _kinds(kinds)
    if not 1 <= limit <= EMBED_MAX_LIMIT:
        raise InvalidInput(f"limit: 1..{EMBED_MAX_LIMIT} items, got {limit}")
    now = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": account_id,
        "aud": EMBED_AUDIENCE,
        "iat": now,
        "exp": now + ttl,
        "kinds": list(chosen),
        "limit": limit,
    }
    if user:
        claims["user"] = user
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def check_embed(
    secret: bytes,
    token: str | None,
    *,
    account_id: str | None = None,
    max_ttl: timedelta = timedelta(days=1),
    leeway: timedelta = timedelta(seconds=30),
    now: datetime | None = None,
) -> EmbedGrant:
    """The grant of a valid, unexpired token; EmbedRefused with a message for the rep otherwise.
    `account_id`, when the link names one, must be the token's account."""
    if not token:
        raise EmbedRefused("This widget needs a signed link from your CRM; none was given.")
    now = now or datetime.now(UTC)
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=EMBED_AUDIENCE,
            leeway=leeway,
            options={"require": ["exp", "iat", "sub"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidSignatureError:
        raise EmbedRefused(
            "This link is not valid: its signature does not match. Reload the CRM page."
        ) from None
    except jwt.InvalidAudienceError:
        raise EmbedRefused("This link is not an embed link.") from None
    except jwt.PyJWTError:
        raise EmbedRefused("This link is damaged or incomplete. Reload the CRM page.") from None
    # Expiry and issue time checked here against `now`, so tests can move the clock.
    expires = datetime.fromtimestamp(float(claims["exp"]), UTC)
    issued = datetime.fromtimestamp(float(claims["iat"]), UTC)
    if now > expires + leeway:
        raise EmbedRefused("This link has expired. Reload the account in your CRM for a fresh one.")
    if issued > now + leeway:
        raise EmbedRefused("This link was issued in the future: the CRM server's clock is off.")
    if expires - issued > max_ttl:
        raise EmbedRefused("This link is valid for longer than this service allows; ask your CRM admin.")
    subject = str(claims["sub"])
    if account_id is not None and account_id != subject:
        raise EmbedRefused("This link was issued for another account.")
    try:
        kinds = _kinds(claims.get("kinds") or KINDS)
        limit = int(claims.get("limit", EMBED_DEFAULT_LIMIT))
    except (InvalidInput, TypeError, ValueError):
        raise EmbedRefused("This link asks for something the widget cannot show.") from None
    user = claims.get("user")
    return EmbedGrant(
        account_id=subject,
        kinds=kinds,
        limit=max(1, min(limit, EMBED_MAX_LIMIT)),
        user=str(user) if user else None,
        expires=expires,
    )


def _kinds(values: Sequence[str]) -> tuple[Kind, ...]:
    unknown = [v for v in values if v not in KINDS]
    if unknown or not values:
        raise InvalidInput(f"kinds: unknown {unknown}; expected some of {', '.join(KINDS)}")
    return tuple(k for k in KINDS if k in values)
