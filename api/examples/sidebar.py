"""What a CRM sidebar does when an account page opens: three suggestions with their reason.

    CROSSGRAPH_KEY=cg_... python api/examples/sidebar.py A00042
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

BASE = os.environ.get("CROSSGRAPH_URL", "http://127.0.0.1:8000")
USAGE = "usage: CROSSGRAPH_KEY=cg_... python api/examples/sidebar.py ACCOUNT_ID"


def next_best(account: str, key: str, limit: int = 3) -> dict[str, object]:
    request = urllib.request.Request(
        f"{BASE}/v1/accounts/{urllib.request.quote(account)}/recommendations?limit={limit}",
        headers={"X-API-Key": key},
    )
    try:
        with urllib.request.urlopen(request, timeout=0.5) as response:  # a sidebar never waits long
            return dict(json.load(response))
    except urllib.error.HTTPError as exc:
        error = json.load(exc)
        raise SystemExit(f"{exc.code} {error['code']}: {error['detail']}") from None


def main() -> None:
    key = os.environ.get("CROSSGRAPH_KEY")
    if len(sys.argv) != 2 or not key:
        missing = "" if key else " (set CROSSGRAPH_KEY to an API key: crossgraph api-key create NAME)"
        print(USAGE + missing, file=sys.stderr)
        raise SystemExit(2)
    body = next_best(sys.argv[1], key)
    print(f"Next best for {body['account']['name']} (model {body['model_version']}):")  # type: ignore[index]
    for item in body["items"]:  # type: ignore[attr-defined]
        print(f"  {item['rank']}. {item['name']} - {item['reason']}")


if __name__ == "__main__":
    main()
