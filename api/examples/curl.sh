#!/usr/bin/env bash
# Every endpoint once. Usage: CROSSGRAPH_KEY=cg_... api/examples/curl.sh ACCOUNT_ID [SKU]
set -euo pipefail
base=${CROSSGRAPH_URL:-http://127.0.0.1:8000}
key=${CROSSGRAPH_KEY:?set CROSSGRAPH_KEY to an API key (crossgraph api-key create NAME)}
account=${1:?account id}
h=(-sS -H "X-API-Key: ${key}")

curl "${h[@]}" "${base}/v1/accounts/${account}/recommendations?limit=5"; echo
curl "${h[@]}" "${base}/v1/accounts/${account}/recommendations?limit=3&product_kind=service,consumable"; echo
curl "${h[@]}" "${base}/v1/accounts/${account}/similar?limit=3"; echo
sku=${2:-$(curl "${h[@]}" "${base}/v1/accounts/${account}/recommendations?limit=1&drivers=false" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["sku"])')}
curl "${h[@]}" "${base}/v1/accounts/${account}/evidence/${sku}"; echo
curl "${h[@]}" -X POST -H 'Content-Type: application/json' \
  -d "{\"accounts\": [\"${account}\"], \"limit\": 3}" "${base}/v1/recommendations/batch"; echo
curl "${h[@]}" "${base}/v1/model"; echo
curl -sS "${base}/readyz"; echo
