"""Browser tests: the real service (uvicorn on a free loopback port, a small trained model,
the test Neo4j) driven by headless Chromium through Playwright.

The browser is Debian's `chromium` (apt), never one Playwright downloads: CROSSGRAPH_TEST_CHROMIUM
names another binary. Screenshots go to build/screenshots (CROSSGRAPH_SCREENSHOTS)."""

from __future__ import annotations

import os
import shutil
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from pydantic import SecretStr

from crossgraph.api.app import create_app
from crossgraph.graph.driver import Graph
from crossgraph.server.local import free_port
from crossgraph.settings import Settings
from crossgraph.web.users import create_user
from tests.integration.served import Served, build_served

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("CROSSGRAPH_SCREENSHOTS", ROOT / "build" / "screenshots"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PASSWORDS = {"rita": "rep-password-1", "manu": "manager-password-1", "ada": "admin-password-1"}
EMBED_SECRET = "test-embed-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
FRAMING_PORT = free_port()  # a page on http://localhost:<this> may frame the widget
ALLOWED_ORIGIN = f"http://localhost:{FRAMING_PORT}"


def chromium_path() -> str:
    path = os.environ.get("CROSSGRAPH_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(
            f"no Chromium at {path}: install Debian's chromium (apt-get install chromium) or set "
            "CROSSGRAPH_TEST_CHROMIUM; .ci/run installs it"
        )
    return path


@dataclass
class Live:
    """A running service: its base URL, settings and served model."""

    url: str
    settings: Settings
    served: Served
    server: uvicorn.Server
    thread: threading.Thread = field(repr=False)


def start_server(settings: Settings) -> tuple[str, uvicorn.Server, threading.Thread]:
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2):
                return url, server, thread
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the test server at {url} did not become ready")


@pytest.fixture(scope="module")
def live(neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("web")
    served = build_served(neo4j_settings, root)
    settings = served.settings.model_copy(
        update={
            "users_file": root / "users.json",
            "embed_secret": SecretStr(EMBED_SECRET),
            "web_secret": SecretStr("test-web-secret-0123456789-abcdefghijklmnopqrstuvwxyz"),
            "embed_frame_ancestors": [ALLOWED_ORIGIN],
            "api_poll_seconds": 0.5,
        }
    )
    for name, role in (("rita", "rep"), ("manu", "manager"), ("ada", "admin")):
        create_user(settings.users_path, name, role, PASSWORDS[name])  # type: ignore[arg-type]
    url, server, thread = start_server(settings)
    try:
        yield Live(url, settings, served, server, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Tab:
    """A fresh browser context (no cookies) and page, with every request URL it made."""

    context: BrowserContext
    page: Page
    requests: list[str]


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    yield Tab(context, page, requests)
    context.close()


def foreign(requests: list[str], base: str) -> list[str]:
    """The requests that left the service: neither its own URLs nor in-page data of its origin
    (blob: URLs a page creates, e.g. ReDoc's worker; data: URLs)."""
    own = (base + "/", f"blob:{base}/", "data:")
    return [u for u in requests if not u.startswith(own)]


def feedback_in_graph(live: Live, account: str, action: str) -> list[str]:
    """'sku|user' of every feedback of this action stored for the account."""
    with Graph.connect(live.settings) as g:
        rows = g.write_text(
            "MATCH (f:Feedback {action: $action})-[:FOR_ACCOUNT]->(:Account {id: $account}), "
            "(f)-[:FOR_PRODUCT]->(p:Product) RETURN p.sku AS sku, f.user AS user",
            {"action": action, "account": account},
        )
    return [f"{r['sku']}|{r['user']}" for r in rows]


def sign_in(page: Page, base: str, name: str) -> None:
    page.goto(f"{base}/ui/login")
    page.fill("#username", name)
    page.fill("#password", PASSWORDS[name])
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
