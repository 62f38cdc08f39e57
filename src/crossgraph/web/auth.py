"""Who is asking: the signed-in user of a page (session cookie, or a trusted SSO header),
role checks, CSRF checks on every state-changing call, and the sign-in rate limit."""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from crossgraph.api.deps import AppState
from crossgraph.errors import CrossgraphError
from crossgraph.web.tokens import Session, read_session
from crossgraph.web.users import Role, User, read_users

COOKIE = "cg_session"
CSRF_HEADER = "x-csrf-token"


class SignInRequired(CrossgraphError):
    """No valid session: pages redirect to the sign-in form, fetches get 401."""


class NotAllowed(CrossgraphError):
    """Signed in, but the role does not allow this page or action (403)."""


class CsrfRejected(CrossgraphError):
    """A state-changing call without the session's CSRF token (403)."""


class Directory:
    """The users file, re-read when it changes (users created or deleted count at once)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime: float | None = None
        self._users: dict[str, User] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> User | None:
        try:
            mtime: float | None = self.path.stat().st_mtime
        except OSError:
            mtime = None
        if mtime != self._mtime:
            with self._lock:
                self._users = {u.name: u for u in read_users(self.path)} if mtime is not None else {}
                self._mtime = mtime
        return self._users.get(name)


@dataclass(frozen=True)
class Viewer:
    """The person a page is rendered for."""

    user: User
    csrf: str  # echoed by every state-changing form or fetch

    def may(self, role: Role) -> bool:
        return self.user.may(role)


def web(request: Request) -> WebState:
    found: WebState = request.app.state.web
    return found


def viewer_of(request: Request) -> Viewer | None:
    """The signed-in viewer, or None. A session outlives neither its user nor a change of role."""
    w = web(request)
    header = w.state.settings.web_trusted_user_header
    if header:
        name = request.headers.get(header)
        user = w.directory.get(name) if name else None
        return Viewer(user, sso_csrf(w.secret, user.name)) if user else None
    session: Session | None = read_session(w.secret, request.cookies.get(COOKIE, ""))
    if session is None:
        return None
    user = w.directory.get(session.user)
    if user is None or user.role != session.role:
        return None
    return Viewer(user, session.csrf)


def sso_csrf(secret: bytes, user: str) -> str:
    """The CSRF token of a user signed in by the SSO proxy (no session of ours to hold one): a
    keyed hash of the name, so a page from another site cannot know it even when the proxy's
    own cookie rides along with its forged request."""
    return hmac.new(secret, f"sso-csrf:{user}".encode(), "sha256").hexdigest()


def signed_in(role: Role) -> Callable[[Request], Awaitable[Viewer]]:
    async def check(request: Request) -> Viewer:
        viewer = viewer_of(request)
        if viewer is None:
            raise SignInRequired("sign in to see this page")
        if not viewer.may(role):
            raise NotAllowed(f"this page needs the {role} role; {viewer.user.name} is a {viewer.user.role}")
        if request.method not in ("GET", "HEAD"):
            presented = request.headers.get(CSRF_HEADER) or await _form_csrf(request)
            if not hmac.compare_digest(presented.encode(), viewer.csrf.encode()):
                raise CsrfRejected("the form is out of date or came from another site; reload the page")
        return viewer

    return check


async def _form_csrf(request: Request) -> str:
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        value = form.get("csrf")
        return value if isinstance(value, str) else ""
    return ""


Rep = Annotated[Viewer, Depends(signed_in("rep"))]
Manager = Annotated[Viewer, Depends(signed_in("manager"))]
Admin = Annotated[Viewer, Depends(signed_in("admin"))]


class LoginLimiter:
    """At most `attempts` failed sign-ins per user name and per client address in `window`
    seconds (per process: with N workers a guesser gets at most N times as many)."""

    def __init__(self, attempts: int, window: float = 15 * 60) -> None:
        self.attempts, self.window = attempts, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, *keys: str) -> int:
        """Seconds until another attempt is allowed for these keys (0: now)."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if len(times) >= self.attempts:
                    wait = max(wait, times[0] + self.window - now)
        return int(wait + 0.999)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, name_key: str) -> None:
        with self._lock:
            self._failures.pop(name_key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times


@dataclass
class WebState:
    state: AppState
    directory: Directory
    secret: bytes  # session signing key
    embed_secret: bytes
    limiter: LoginLimiter
