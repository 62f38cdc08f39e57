"""People who sign in to the workspace: name, role, argon2 hash, kept in a JSON file (mode 600).

Roles are ordered: a rep reads accounts and gives feedback; a manager also sees the
portfolio-wide pages (worklist, whitespace, KPIs, model); an admin also rolls models back."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from crossgraph.data.csvout import write_private_json
from crossgraph.errors import InvalidInput

Role = Literal["rep", "manager", "admin"]
ROLES: tuple[Role, ...] = ("rep", "manager", "admin")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
MIN_PASSWORD = 8

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verifying against this when the user does not exist takes as long as a real check, so the
# answer time does not tell which user names exist.
_DUMMY_HASH = _hasher.hash("crossgraph-no-such-user")


class User(BaseModel):
    name: str
    role: Role
    password_argon2: str = Field(min_length=1)
    created: str | None = None

    def may(self, role: Role) -> bool:
        """True when this user's role is `role` or above it."""
        return ROLES.index(self.role) >= ROLES.index(role)


_USERS = TypeAdapter(list[User])


def read_users(path: Path) -> list[User]:
    if not path.exists():
        return []
    try:
        return _USERS.validate_json(path.read_bytes())
    except ValidationError as exc:
        raise InvalidInput(f"users file {path} is not a valid list of users: {exc}") from exc


def find_user(path: Path, name: str) -> User | None:
    return next((u for u in read_users(path) if u.name == name), None)


def check_password(path: Path, name: str, password: str) -> User | None:
    """The user when name and password match, else None (in about the same time either way)."""
    user = find_user(path, name)
    try:
        _hasher.verify(user.password_argon2 if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return user


def create_user(path: Path, name: str, role: Role, password: str, *, replace: bool = False) -> User:
    if not NAME.fullmatch(name):
        raise InvalidInput(
            f"user name {name!r}: use 1-100 letters, digits and . _ @ - (starting with a letter or digit)"
        )
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password: at least {MIN_PASSWORD} characters, got {len(password)}")
    users = read_users(path)
    if any(u.name == name for u in users) and not replace:
        raise InvalidInput(
            f"a user named {name!r} already exists in {path}; add --replace to set a new password and role"
        )
    user = User(
        name=name,
        role=role,
        password_argon2=_hasher.hash(password),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    _write(path, [*(u for u in users if u.name != name), user])
    return user


def delete_user(path: Path, name: str) -> None:
    users = read_users(path)
    kept = [u for u in users if u.name != name]
    if len(kept) == len(users):
        raise InvalidInput(f"no user named {name!r} in {path}")
    _write(path, kept)


def _write(path: Path, users: list[User]) -> None:
    write_private_json(path, [u.model_dump(exclude_none=True) for u in users])
