"""Response headers that keep pages where they belong: a Content-Security-Policy on every
response (assets from this service only), framing refused everywhere but /embed, where the
configured CRM sites may frame the widget (CSP frame-ancestors)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crossgraph.errors import InvalidInput

# A CSP source expression a setting may name: a scheme+host (+port, + * subdomain) or 'self'.
SOURCE = re.compile(r"'self'|https?://(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?|\*\.[A-Za-z0-9.-]+")

BASE = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'"
# Swagger UI and ReDoc (vendored by fastapi-offline) start from an inline script and style.
DOCS = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


def frame_ancestors(sites: Sequence[str]) -> str:
    """CSP frame-ancestors for /embed: this service plus the configured CRM origins."""
    for site in sites:
        if not SOURCE.fullmatch(site):
            raise InvalidInput(
                f"embed_frame_ancestors: {site!r} is not an origin like https://crm.example.com"
            )
    return " ".join(["'self'", *(s for s in sites if s != "'self'")])


class SecurityHeaders:
    def __init__(self, app: ASGIApp, embed_ancestors: str) -> None:
        self.app = app
        self.embed = [
            (b"content-security-policy", f"{BASE}; frame-ancestors {embed_ancestors}".encode()),
            (b"referrer-policy", b"no-referrer"),  # the link carries a token
        ]
        self.docs = [
            (b"content-security-policy", f"{DOCS}; frame-ancestors 'none'".encode()),
            (b"x-frame-options", b"DENY"),
        ]
        self.other = [
            (b"content-security-policy", f"{BASE}; frame-ancestors 'none'".encode()),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/embed/"):
            extra = self.embed
        elif path.startswith(DOCS_PATHS):
            extra = self.docs
        else:
            extra = self.other

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.append("x-content-type-options", "nosniff")
                for name, value in extra:
                    headers.append(name.decode(), value.decode())
            await send(message)

        await self.app(scope, receive, send_with_headers)
