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
    account = sys.argv[1]
    body = next_best(account, os.environ["CROSSGRAPH_KEY"])
    print(f"Next best for {body['account']['name']} (model {body['model_version']}):")  # type: ignore[index]
    for item in body["items"]:  # type: ignore[attr-defined]
        print(f"  {item['rank']}. {item['name']} - {item['reason']}")


if __name__ == "__main__":
    main()
