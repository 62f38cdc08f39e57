"""What a CRM's server does on every account page: sign a short-lived link to the widget.

    CROSSGRAPH_EMBED_SECRET=... python api/examples/embed_token.py A00042 --user jo --ttl 600

Needs only PyJWT (pip install pyjwt). The secret is the service's embed key: the output of
`crossgraph embed-secret`, or the CROSSGRAPH_EMBED_SECRET both sides are configured with.
It stays on the CRM's server; the browser only ever sees the signed link."""

from __future__ import annotations

import argparse
import os
import sys
import time
from urllib.parse import urlencode

import jwt

AUDIENCE = "crossgraph:embed"
KINDS = ("cross_sell", "upsell", "renewal")


def embed_token(
    secret: str,
    account_id: str,
    *,
    ttl_seconds: int = 600,
    kinds: tuple[str, ...] = KINDS,
    limit: int = 5,
    user: str | None = None,
) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": account_id,  # the one account the widget may show
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl_seconds,
        "kinds": list(kinds),
        "limit": limit,  # 1..10 items
    }
    if user:
        claims["user"] = user  # the rep, recorded with the feedback they give in the widget
    return jwt.encode(claims, secret.encode(), algorithm="HS256")


def main() -> None:
    parser = argparse.ArgumentParser(description="Print a signed link to the crossgraph widget.")
    parser.add_argument("account_id", metavar="ACCOUNT_ID")
    parser.add_argument("--ttl", type=int, default=600, help="seconds the link works (default 600)")
    parser.add_argument("--user", default=None, help="the rep's CRM user id")
    parser.add_argument("--limit", type=int, default=5, choices=range(1, 11), metavar="1..10")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated opportunity kinds")
    parser.add_argument("--base-url", default=os.environ.get("CROSSGRAPH_URL", "http://127.0.0.1:8000"))
    args = parser.parse_args()
    secret = os.environ.get("CROSSGRAPH_EMBED_SECRET")
    if not secret:
        parser.print_usage(sys.stderr)
        print(
            "set CROSSGRAPH_EMBED_SECRET to the service's embed key (crossgraph embed-secret)",
            file=sys.stderr,
        )
        raise SystemExit(2)
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    token = embed_token(
        secret, args.account_id, ttl_seconds=args.ttl, kinds=kinds, limit=args.limit, user=args.user
    )
    print(f"{args.base_url.rstrip('/')}/embed/sidebar?{urlencode({'token': token})}")


if __name__ == "__main__":
    main()
