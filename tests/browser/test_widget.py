"""The CRM sidebar widget in a real browser: what a rep sees in the CRM column, what the
buttons do, and who may frame it."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from crossgraph.graph.driver import Graph
from crossgraph.recommend.actions import KINDS
from crossgraph.recommend.engine import Engine
from crossgraph.recommend.nba import ListOptions, recommendation_list
from crossgraph.web.tokens import mint_embed
from tests.browser.conftest import (
    ALLOWED_ORIGIN,
    EMBED_SECRET,
    FRAMING_PORT,
    Live,
    Tab,
    feedback_in_graph,
    foreign,
    screenshot,
)
from tests.integration.served import READ

pytestmark = [pytest.mark.neo4j, pytest.mark.slow, pytest.mark.browser]


def embed_link(live: Live, account: str, *, ttl: timedelta = timedelta(minutes=10), **claims: object) -> str:
    token = mint_embed(EMBED_SECRET.encode(), account, ttl=ttl, user="rep.meyer", **claims)  # type: ignore[arg-type]
    return f"{live.url}/embed/sidebar?token={token}"


def mixed_account(live: Live) -> str:
    """An account whose top 5 mixes the three kinds (what `make demo` shows)."""
    engine = Engine(live.served.artifact)
    options = ListOptions(limit=5, kinds=KINDS, drivers=0)
    with Graph.connect(live.settings) as g:
        for account in engine.account_ids[:150]:
            body = recommendation_list(engine, lambda call: call(g), account, options)
            if {i["kind"] for i in body["items"]} == set(KINDS):
                return account
    pytest.fail("no account in the test data mixes cross-sell, upsell and renewal in its top 5")


def api_items(live: Live, account: str, limit: int = 5) -> list[dict[str, object]]:
    with httpx.Client(base_url=live.url, headers=READ, timeout=30) as client:
        response = client.get(
            f"/v1/accounts/{account}/recommendations", params={"kinds": ",".join(KINDS), "limit": limit}
        )
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def shown_skus(page: Page) -> list[str]:
    return page.locator(".action").evaluate_all("els => els.map(e => e.dataset.sku)")


@pytest.fixture(scope="module")
def account(live: Live) -> str:
    return mixed_account(live)


def test_widget_from_a_minted_link_shows_the_accounts_next_best_actions(
    live: Live, tab: Tab, account: str
) -> None:
    page = tab.page
    page.set_viewport_size({"width": 360, "height": 900})
    response = page.goto(embed_link(live, account))
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")
    expected = api_items(live, account)
    # The same list as the JSON API, in the same order, with the three kinds labelled.
    assert shown_skus(page) == [i["sku"] for i in expected]
    assert set(page.locator(".action .badge").all_inner_texts()) == {"Cross-sell", "Upsell", "Renewal"}
    name = live.served.artifact.account_info[account]["name"]
    expect(page.locator(".sidebar-head .account")).to_contain_text(name)
    # Cross-sell items carry peer evidence a rep can say out loud.
    first_cross = page.locator(".action.kind-cross_sell:has(.evidence)").first
    expect(first_cross.locator(".reason")).to_contain_text("closest peers")
    item = next(i for i in expected if i["sku"] == first_cross.get_attribute("data-sku"))
    closest = item["evidence"]["top_peers"][0]["name"]  # type: ignore[index]
    expect(first_cross.locator(".evidence")).to_contain_text(f"Closest peers that own it: {closest}")
    # The expandable why loads the full evidence: a table of the peers that own it.
    first_cross.locator("summary").click()
    expect(first_cross.locator(".evidence-full")).to_be_visible()
    # Fits a CRM column: nothing wider than the 360 px viewport.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "widget")
    # No request leaves the service: every URL the page asked for is the service's own.
    assert tab.requests and not foreign(tab.requests, live.url)


def test_accept_and_dismiss_change_the_list_survive_a_reload_and_reach_the_graph(
    live: Live, tab: Tab, account: str
) -> None:
    page = tab.page
    link = embed_link(live, account)
    page.goto(link)
    page.wait_for_load_state("networkidle")
    skus = shown_skus(page)
    dismissed, accepted, won = skus[0], skus[1], skus[2]
    page.locator(f'.action[data-sku="{dismissed}"] button[data-action="dismissed"]').click()
    expect(page.locator(f'.action[data-sku="{dismissed}"]')).to_have_count(0)  # gone without a reload
    page.locator(f'.action[data-sku="{won}"] button[data-action="won"]').click()
    expect(page.locator(f'.action[data-sku="{won}"]')).to_have_count(0)
    item = page.locator(f'.action[data-sku="{accepted}"]')
    item.locator('button[data-action="accepted"]').click()
    expect(item.locator(".state")).to_have_text("Accepted.")
    page.wait_for_timeout(1200)  # past the server's next suppression refresh from the graph
    page.reload()
    page.wait_for_load_state("networkidle")
    assert dismissed not in shown_skus(page)  # stays gone
    assert won not in shown_skus(page)  # owned now
    assert accepted in shown_skus(page)
    assert f"{dismissed}|rep.meyer" in feedback_in_graph(live, account, "dismissed")
    assert f"{accepted}|rep.meyer" in feedback_in_graph(live, account, "accepted")
    assert f"{won}|rep.meyer" in feedback_in_graph(live, account, "won")
    # Each display recorded one "shown" event per item (two displays here).
    shown = feedback_in_graph(live, account, "shown")
    assert shown.count(f"{accepted}|rep.meyer") >= 2


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("expired", "expired"),
        ("tampered", "signature does not match"),
        ("other account", "another account"),
        ("missing", "needs a signed link"),
    ],
)
def test_a_bad_link_is_refused_with_a_message_not_a_stack_trace(
    live: Live, tab: Tab, account: str, case: str, message: str
) -> None:
    if case == "expired":
        token = mint_embed(
            EMBED_SECRET.encode(),
            account,
            ttl=timedelta(minutes=5),
            now=datetime.now(UTC) - timedelta(hours=1),
        )
        url = f"{live.url}/embed/sidebar?token={token}"
    elif case == "tampered":
        token = mint_embed(EMBED_SECRET.encode(), account, ttl=timedelta(minutes=5))
        head, _body, signature = token.split(".")
        other = mint_embed(EMBED_SECRET.encode(), "SOMEONE-ELSE", ttl=timedelta(minutes=5)).split(".")[1]
        url = f"{live.url}/embed/sidebar?token={head}.{other}.{signature}"  # payload swapped
    elif case == "other account":
        other = next(a for a in live.served.artifact.accounts.ids if a != account)
        url = embed_link(live, account) + "&account=" + other
    else:
        url = f"{live.url}/embed/sidebar"
    response = tab.page.goto(url)
    assert response is not None and response.status == 403
    expect(tab.page.locator(".refused")).to_contain_text(message)
    assert "Traceback" not in tab.page.content()
    assert tab.page.locator(".action").count() == 0


def test_widget_calls_need_the_token_and_write_to_the_tokens_account_only(live: Live, account: str) -> None:
    token = mint_embed(EMBED_SECRET.encode(), account, ttl=timedelta(minutes=5), user="rep.kim")
    sku = str(api_items(live, account, 1)[0]["sku"])
    with httpx.Client(base_url=live.url, timeout=30) as client:
        anonymous = client.post("/embed/feedback", json={"sku": sku, "action": "lost"})
        assert anonymous.status_code == 403
        assert anonymous.json()["code"] == "embed_refused"
        session_cookie_value = "not-a-token"
        forged = client.post(
            "/embed/feedback",
            json={"sku": sku, "action": "lost"},
            headers={"Authorization": f"Bearer {session_cookie_value}"},
        )
        assert forged.status_code == 403
        ok = client.post(
            "/embed/feedback",
            json={"sku": sku, "action": "lost"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert ok.status_code == 201, ok.text
        # The body cannot name another account: unknown fields are refused.
        other = client.post(
            "/embed/feedback",
            json={"sku": sku, "action": "lost", "account": "A00001"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert other.status_code == 422
    assert f"{sku}|rep.kim" in feedback_in_graph(live, account, "lost")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def crm_page(live: Live, tmp_path: Path, account: str) -> Iterator[str]:
    """A 'CRM' page on another origin (http://localhost:<port>) that frames the widget, the
    sign-in page, and the widget again from a second, not-allowed origin."""
    (tmp_path / "crm.html").write_text(
        f'<iframe id="widget" width="380" height="600" src="{embed_link(live, account)}"></iframe>'
        f'<iframe id="login" width="380" height="300" src="{live.url}/ui/login"></iframe>'
    )
    handler = partial(_Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", FRAMING_PORT), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{ALLOWED_ORIGIN}/crm.html"
    finally:
        server.shutdown()
        server.server_close()


def test_only_configured_sites_may_frame_the_widget_and_no_other_page_is_framed(
    live: Live, tab: Tab, crm_page: str
) -> None:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        login = client.get("/ui/login")
        widget = client.get("/embed/sidebar")
    assert login.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {ALLOWED_ORIGIN}" in widget.headers["content-security-policy"]
    assert "x-frame-options" not in widget.headers
    page = tab.page
    page.goto(crm_page)
    page.wait_for_timeout(1500)
    frames = {f.name or f.url: f for f in page.frames}
    widget_frame = page.frame_locator("#widget")
    expect(widget_frame.locator(".action").first).to_be_visible()  # the allowed CRM frames it
    login_frame = next(f for f in page.frames if f.url.endswith("/ui/login") or "chrome-error" in f.url)
    # The browser refused to render the sign-in page inside the CRM: no form in that frame.
    assert login_frame.locator("#username").count() == 0, frames
    # The same CRM page served from 127.0.0.1 (not in the allowed list) gets no widget either.
    page.goto(crm_page.replace("localhost", "127.0.0.1"))
    page.wait_for_timeout(1500)
    assert page.frame_locator("#widget").locator(".action").count() == 0


def test_keyboard_alone_reaches_every_button_and_can_dismiss(live: Live, tab: Tab, account: str) -> None:
    page = tab.page
    page.goto(embed_link(live, account))
    page.wait_for_load_state("networkidle")
    buttons = page.locator(".action button").count()
    summaries = page.locator(".action summary").count()
    reached: set[str] = set()
    for _ in range(buttons + summaries + 10):
        page.keyboard.press("Tab")
        reached.add(
            page.evaluate(
                "(() => { const e = document.activeElement; const a = e.closest('.action');"
                " return (a ? a.dataset.sku : '') + '|' + (e.dataset.action || e.tagName); })()"
            )
        )
    wanted = {
        f"{sku}|{action}"
        for sku in shown_skus(page)
        for action in ("accepted", "dismissed", "won", "lost", "SUMMARY")
    }
    assert wanted <= reached, sorted(wanted - reached)
    # Dismiss the first item with the keyboard only.
    first = shown_skus(page)[0]
    page.locator(f'.action[data-sku="{first}"] button[data-action="dismissed"]').focus()
    page.keyboard.press("Enter")
    expect(page.locator(f'.action[data-sku="{first}"]')).to_have_count(0)
