"""Time to first render of the web face: the CRM widget and the account page next to the bare
JSON call for the same accounts.

    .venv/bin/python benchmarks/ui.py                                # 10k accounts, 2k products
    .venv/bin/python benchmarks/ui.py --accounts 2000 --products 400 --requests 50   # quick look
    .venv/bin/python benchmarks/ui.py --workdir /tmp/cg-ui           # keep data + model for reruns

Builds (once per --workdir, the same build as api.py: demo data, a local Neo4j on a free port,
a trained and promoted model), adds a rep user, an API key and embed tokens, starts
`crossgraph serve` as a separate process, then measures per page:

1. Server: median and p95 of --requests sequential GETs per page over keep-alive httpx
   connections (request sent to body read), cycling over --sample random accounts, the pages
   taking turns on each account (after one warm-up round over all of them): the widget
   (GET /embed/sidebar?token=...), the account page (GET /ui/accounts/{id}, signed in) and
   the JSON the widget shows
   (GET /v1/accounts/{id}/recommendations?kinds=cross_sell,upsell,renewal&limit=5, API key).
   Target: widget <= 2x the JSON call.
2. Browser: headless Chromium (Debian's, through Playwright) loads the widget and the account
   page --loads times each, one page at a time in one context (static assets cached after the
   first load, as for a rep going from account to account); the figure is the load event,
   performance.timing loadEventEnd - navigationStart (and, to tell server from browser, the
   first byte: responseStart - navigationStart). Target: median < 300 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import bench_settings, build, wait_ready  # the same set-up as benchmarks/api.py

from crossgraph.keys import create_key
from crossgraph.model.artifact import Artifact
from crossgraph.model.registry import Registry
from crossgraph.server.local import LocalServer, free_port
from crossgraph.web.tokens import embed_secret, mint_embed
from crossgraph.web.users import create_user

console = Console(width=140)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
KINDS = "cross_sell,upsell,renewal"
SERVER_TARGET = 2.0  # widget / JSON, server time
LOAD_TARGET_MS = 300.0


def page_urls(accounts: list[str], secret: bytes) -> dict[str, list[str]]:
    """Per page, one path per sampled account (the widget's with a fresh one-hour token)."""
    widget = [
        "/embed/sidebar?" + urlencode({"token": mint_embed(secret, a, ttl=timedelta(hours=1))})
        for a in accounts
    ]
    return {
        "widget": widget,
        "account page": [f"/ui/accounts/{quote(a, safe='')}" for a in accounts],
        "JSON": [f"/v1/accounts/{quote(a, safe='')}/recommendations?kinds={KINDS}&limit=5" for a in accounts],
    }


def sign_in(base: str, user: str, password: str) -> str:
    response = httpx.post(
        f"{base}/ui/login", data={"username": user, "password": password, "next": "/ui/"}, timeout=30
    )
    if response.status_code != 303 or "cg_session" not in response.cookies:
        raise SystemExit(f"sign-in failed: {response.status_code} {response.text[:200]}")
    return str(response.cookies["cg_session"])


def server_times(base: str, pages: dict[str, tuple[list[str], dict[str, str]]], n: int) -> dict[str, Any]:
    """Milliseconds from sending each request to having read its body, one request at a time.
    The pages take turns (widget, account page, JSON for one account, then the next account),
    so a drift in the machine's load or Neo4j's caches reaches all of them alike."""
    clients = {
        name: httpx.Client(base_url=base, headers=headers, timeout=30) for name, (_, headers) in pages.items()
    }
    times: dict[str, list[float]] = {name: [] for name in pages}
    sizes: dict[str, list[int]] = {name: [] for name in pages}
    try:
        for name, (paths, _) in pages.items():  # warm-up: every account once on every page
            for path in paths:
                clients[name].get(path).raise_for_status()
        for i in range(n):
            for name, (paths, _) in pages.items():
                start = time.perf_counter()
                response = clients[name].get(paths[i % len(paths)])
                elapsed = time.perf_counter() - start
                response.raise_for_status()
                times[name].append(elapsed)
                sizes[name].append(len(response.content))
    finally:
        for client in clients.values():
            client.close()
    rows = {}
    for name in pages:
        ms = np.asarray(times[name]) * 1000
        rows[name] = {
            "requests": n,
            "median_ms": float(np.median(ms)),
            "p95_ms": float(np.percentile(ms, 95)),
            "bytes": int(np.median(sizes[name])),
        }
    return rows


def browser_loads(base: str, pages: dict[str, list[str]], session: str, n: int) -> dict[str, dict[str, Any]]:
    """Median and p95 of the load event over `n` loads per page, after one warm-up load."""
    from playwright.sync_api import sync_playwright

    results: dict[str, dict[str, Any]] = {}
    host = base.split("//", 1)[1].split(":")[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for name, paths in pages.items():
                context = browser.new_context()
                context.add_cookies([{"name": "cg_session", "value": session, "domain": host, "path": "/"}])
                page = context.new_page()
                loads, firsts = [], []  # load event; first byte of the page (responseStart)
                first = 0.0
                for i in range(n + 1):
                    response = page.goto(base + paths[i % len(paths)], wait_until="load")
                    if response is None or response.status != 200:
                        raise SystemExit(f"{name}: {response.status if response else 'no response'}")
                    page.wait_for_function("performance.timing.loadEventEnd > 0")
                    took, ttfb = page.evaluate(
                        "[performance.timing.loadEventEnd - performance.timing.navigationStart,"
                        " performance.timing.responseStart - performance.timing.navigationStart]"
                    )
                    if i:  # the first load fetches the static assets into the cache
                        loads.append(float(took))
                        firsts.append(float(ttfb))
                    else:
                        first = float(took)
                context.close()
                results[name] = {
                    "loads": n,
                    "first_ms": first,
                    "median_ms": float(np.median(loads)),
                    "p95_ms": float(np.percentile(loads, 95)),
                    "first_byte_median_ms": float(np.median(firsts)),
                }
        finally:
            browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--requests", type=int, default=200, help="sequential requests per page")
    parser.add_argument("--loads", type=int, default=30, help="browser loads per page")
    parser.add_argument("--sample", type=int, default=50, help="random accounts the requests cycle over")
    parser.add_argument("--workdir", type=Path, default=None, help="keep data and model here for reruns")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="crossgraph-ui-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        settings = bench_settings(work)
        server = LocalServer(settings)
        server.start(echo=lambda m: console.print(m, style="dim"))
        api: subprocess.Popen[bytes] | None = None
        try:
            build(settings, work, args.accounts, args.products, args.seed)
            key = create_key(settings.keys_file, f"bench-{time.time_ns()}", ["read"])
            password = secrets.token_urlsafe(16)
            create_user(settings.users_path, "bench-rep", "rep", password, replace=True)
            ids = Artifact.load(Registry(settings.model_dir).current().path).accounts.ids.tolist()
            sample = random.Random(args.seed).sample(ids, min(args.sample, len(ids)))
            pages = page_urls(sample, embed_secret(settings))
            port = free_port()
            env = {
                **os.environ,
                "CROSSGRAPH_NEO4J_PORT": str(settings.neo4j_port),
                "CROSSGRAPH_DATA_DIR": str(settings.data_dir),
                "CROSSGRAPH_MODEL_DIR": str(settings.model_dir),
                "CROSSGRAPH_API_KEYS_FILE": str(settings.keys_file),
            }
            for name in ("CROSSGRAPH_NEO4J_URI", "CROSSGRAPH_EMBED_SECRET", "CROSSGRAPH_WEB_SECRET"):
                env.pop(name, None)
            env.pop("CROSSGRAPH_WEB_TRUSTED_USER_HEADER", None)
            api = subprocess.Popen(
                [sys.executable, "-m", "crossgraph", "serve", "--port", str(port), "--log-level", "warning"],
                env=env,
            )
            wait_ready(port)
            base = f"http://127.0.0.1:{port}"
            session = sign_in(base, "bench-rep", password)
            server_rows = server_times(
                base,
                {
                    "widget": (pages["widget"], {}),
                    "account page": (pages["account page"], {"Cookie": f"cg_session={session}"}),
                    "JSON": (pages["JSON"], {"X-API-Key": key}),
                },
                args.requests,
            )
            browser_rows = browser_loads(
                base, {k: pages[k] for k in ("widget", "account page")}, session, args.loads
            )
        finally:
            if api is not None:
                api.terminate()
                api.wait(timeout=30)
            server.stop()

    report(server_rows, browser_rows, args, (load_before, os.getloadavg()[0]))


def report(
    server: dict[str, dict[str, Any]],
    browser: dict[str, dict[str, Any]],
    args: argparse.Namespace,
    load: tuple[float, float],
) -> None:
    title = (
        f"{args.accounts:,} accounts x {args.products:,} products: {args.requests} sequential requests "
        f"and {args.loads} browser loads per page over {args.sample} accounts"
    )
    table = Table(title=title)
    columns = ("page", "server median ms", "server p95 ms", "x JSON", "KiB", "load event median ms")
    for column in (*columns, "load p95 ms", "first byte ms", "first load ms"):
        table.add_column(column, justify="left" if column == "page" else "right")
    json_median = server["JSON"]["median_ms"]
    for name, s in server.items():
        b = browser.get(name)
        table.add_row(
            name,
            f"{s['median_ms']:.1f}",
            f"{s['p95_ms']:.1f}",
            f"{s['median_ms'] / json_median:.2f}",
            f"{s['bytes'] / 1024:.1f}",
            f"{b['median_ms']:.0f}" if b else "-",
            f"{b['p95_ms']:.0f}" if b else "-",
            f"{b['first_byte_median_ms']:.0f}" if b else "-",
            f"{b['first_ms']:.0f}" if b else "-",
        )
    console.print(table)
    ratio = server["widget"]["median_ms"] / json_median
    widget_load = browser["widget"]["median_ms"]
    page_load = browser["account page"]["median_ms"]
    console.print(
        f"widget / JSON = {ratio:.2f}x (target <= {SERVER_TARGET:.0f}x): "
        f"{'met' if ratio <= SERVER_TARGET else 'NOT met'}; load event widget {widget_load:.0f} ms, "
        f"account page {page_load:.0f} ms (target < {LOAD_TARGET_MS:.0f} ms): "
        f"{'met' if max(widget_load, page_load) < LOAD_TARGET_MS else 'NOT met'}; "
        f"load average {load[0]:.1f} before, {load[1]:.1f} after"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "server": server,
                    "browser": browser,
                    "widget_over_json": ratio,
                    "load_average": list(load),
                    "accounts": args.accounts,
                    "products": args.products,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
