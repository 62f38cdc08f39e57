"""API keys: who may call the API, with which scopes; stored as sha256, compared in constant time.

A key is shown once when it is created (`crossgraph api-key create`); the keys file keeps only
its sha256, so a copied file does not give access. Keys may also come from the environment
(CROSSGRAPH_API_KEYS, JSON), for deployments that inject secrets that way.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, TypeAdapter, ValidationError, model_validator

from crossgraph.data.csvout import write_private_json
from crossgraph.errors import InvalidInput

Scope = Literal["read", "write", "admin"]  # write: post feedback; admin: reload
KEY_PREFIX = "cg_"


class ApiKey(BaseModel):
    name: str = Field(min_length=1)
    scopes: list[Scope] = Field(default_factory=lambda: list[Scope](["read"]))
    key: SecretStr | None = None  # plain key (environment); the file holds only key_sha256
    key_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    created: str | None = None

    @model_validator(mode="after")
    def _one_secret(self) -> ApiKey:
        if (self.key is None) == (self.key_sha256 is None):
            raise ValueError(f"API key {self.name!r} needs exactly one of key or key_sha256")
        return self

    @property
    def digest(self) -> bytes:
        if self.key is not None:
            return _sha256(self.key.get_secret_value())
        return bytes.fromhex(self.key_sha256 or "")

    def allows(self, scope: Scope) -> bool:
        # admin may do everything, write (feedback) may also read
        return scope in self.scopes or "admin" in self.scopes or (scope == "read" and "write" in self.scopes)


_KEY_LIST = TypeAdapter(list[ApiKey])


def _sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


class KeyRing:
    def __init__(self, keys: Sequence[ApiKey], source_mtime: float | None = None) -> None:
        self.keys = list(keys)
        self.source_mtime = source_mtime  # of the keys file they were read from, to notice changes

    def authenticate(self, presented: str | None) -> ApiKey | None:
        """The key matching `presented`, or None. Every stored key is compared (no early exit)."""
        if not presented:
            return None
        digest = _sha256(presented)
        found = None
        for key in self.keys:
            if hmac.compare_digest(digest, key.digest):
                found = key
        return found


def read_keys_file(path: Path) -> list[ApiKey]:
    if not path.exists():
        return []
    try:
        return _KEY_LIST.validate_json(path.read_bytes())
    except ValidationError as exc:
        raise InvalidInput(f"API keys file {path} is not a valid list of keys: {exc}") from exc


def create_key(path: Path, name: str, scopes: Sequence[Scope]) -> str:
    """Add a new key named `name` to the keys file (mode 600) and return the key (shown once)."""
    keys = read_keys_file(path)
    if any(k.name == name for k in keys):
        raise InvalidInput(
            f"an API key named {name!r} already exists in {path}; add --replace to issue a new one "
            "in its place (the old key stops working), or choose another name"
        )
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    keys.append(
        ApiKey(
            name=name,
            scopes=list(scopes),
            key_sha256=_sha256(plain).hex(),
            created=datetime.now(UTC).isoformat(timespec="seconds"),
        )
    )
    _write_keys(path, keys)
    return plain


def revoke_key(path: Path, name: str) -> None:
    keys = read_keys_file(path)
    kept = [k for k in keys if k.name != name]
    if len(kept) == len(keys):
        raise InvalidInput(f"no API key named {name!r} in {path}")
    _write_keys(path, kept)


def _write_keys(path: Path, keys: list[ApiKey]) -> None:
    write_private_json(path, [k.model_dump(exclude_none=True, exclude={"key"}) for k in keys])
