"""The workspace pages in a real browser: signing in and out, roles, the account page."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from crossgraph.graph.driver import Graph
from tests.browser.conftest import PASSWORDS, Live, Tab, feedback_in_graph, foreign, screenshot, sign_in

pytestmark = [pytest.mark.neo4j, pytest.mark.slow, pytest.mark.browser]


def test_sign_in_and_out(live: Live, tab: Tab) -> None:
    page = tab.page
    page.goto(f"{live.url}/ui/")
    expect(page).to_have_url(f"{live.url}/ui/login")
    page.fill("#username", "rita")
    page.fill("#password", "not her password")
    page.click("button[type=submit]")
    expect(page.locator(".refused")).to_have_text("Wrong user name or password.")
    sign_in(page, live.url, "rita")
    expect(page.locator(".who")).to_contain_text("rita")
    cookie = next(c for c in tab.context.cookies() if c["name"] == "cg_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.click("text=Sign out")
    expect(page).to_have_url(f"{live.url}/ui/login")
    account = live.served.artifact.accounts.id(2)
    page.goto(f"{live.url}/ui/accounts/{account}")
    expect(page).to_have_url(f"{live.url}/ui/login?next=/ui/accounts/{account}")
    # Signing in from there goes back to the page asked for.
    page.fill("#username", "rita")
    page.fill("#password", PASSWORDS["rita"])
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live.url}/ui/accounts/{account}")


def test_search_finds_an_account_by_name_and_by_id(live: Live, tab: Tab) -> None:
    page = tab.page
    sign_in(page, live.url, "rita")
    account = live.served.artifact.accounts.id(7)
    name = live.served.artifact.account_info[account]["name"]
    word = name.split()[0]
    page.fill("#q", word.lower())
    page.keyboard.press("Enter")
    expect(page.locator(".results")).to_contain_text(name)
    page.fill("#q", account)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live.url}/ui/accounts/{account}")
    expect(page.locator("h1")).to_contain_text(name)


def test_account_page_shows_the_account_its_actions_and_records_feedback(live: Live, tab: Tab) -> None:
    page = tab.page
    sign_in(page, live.url, "rita")
    account = live.served.artifact.accounts.id(11)
    info = live.served.artifact.account_info[account]
    page.goto(f"{live.url}/ui/accounts/{account}")
    page.wait_for_load_state("networkidle")
    expect(page.locator("h1")).to_contain_text(info["name"])
    expect(page.locator(".account-head .meta")).to_contain_text(info["industry"])
    for heading in (
        "Next best actions",
        "Revenue per year",
        "Similar accounts",
        "Installed base",
        "Contracts",
        "Key contacts",
        "Last touchpoints",
    ):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    assert page.locator("table.contacts tbody tr").count() >= 1  # every demo account has a contact
    expect(page.locator("svg.chart").first).to_be_visible()
    items = page.locator(".action")
    assert items.count() >= 3
    # Every action shows its expected margin as a whole amount, the number it is ranked by.
    for i in range(items.count()):
        expect(items.nth(i).locator(".figures .expected")).to_have_text(
            re.compile(r"^expected margin \d[\d,]*$")
        )
    screenshot(page, "account")
    sku = items.first.get_attribute("data-sku")
    signal = items.first.get_attribute("data-signal")
    items.first.locator('button[data-action="dismissed"]').click()
    expect(page.locator(f'.action[data-sku="{sku}"]')).to_have_count(0)
    assert [f for f in feedback_in_graph(live, account, "dismissed") if f.startswith(f"{sku}|")] == [
        f"{sku}|rita"
    ]
    with Graph.connect(live.settings) as g:  # stored with the item's signal, for the calibration
        stored = g.write_text(
            "MATCH (f:Feedback {action: $action})-[:FOR_PRODUCT]->(:Product {sku: $sku}) "
            "RETURN f.signal AS s",
            {"action": "dismissed", "sku": sku},
        )
    assert signal and [r["s"] for r in stored] == [signal]
    # The Markdown plan downloads with the account's name in it.
    with page.expect_download() as download:
        page.click("text=Account plan (Markdown)")
    assert info["name"] in download.value.path().read_text()
    # And as a printable PDF with the same facts.
    with page.expect_download() as pdf_download:
        page.click("text=Account plan (PDF)")
    pdf = PdfReader(str(pdf_download.value.path()))
    text = "".join(p.extract_text() for p in pdf.pages)
    assert info["name"] in text and "Installed base" in text
    assert not foreign(tab.requests, live.url)


def test_state_changes_need_the_session_csrf_token(live: Live, tab: Tab) -> None:
    page = tab.page
    sign_in(page, live.url, "rita")
    cookies = {c["name"]: c["value"] for c in tab.context.cookies()}
    account = live.served.artifact.accounts.id(12)
    with httpx.Client(base_url=live.url, cookies=cookies) as client:
        body = {"sku": live.served.artifact.products.id(0), "action": "accepted"}
        refused = client.post(f"/ui/accounts/{account}/feedback", json=body)
        assert refused.status_code == 403
        csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
        assert csrf
        accepted = client.post(f"/ui/accounts/{account}/feedback", json=body, headers={"X-CSRF-Token": csrf})
        assert accepted.status_code == 201, accepted.text


def test_a_rep_cannot_open_manager_pages(live: Live, tab: Tab) -> None:
    page = tab.page
    sign_in(page, live.url, "rita")
    expect(page.get_by_role("link", name="Worklist")).to_have_count(0)
    response = page.goto(f"{live.url}/ui/model")
    assert response is not None and response.status == 403
    expect(page.locator("[role=alert]")).to_contain_text("manager")


def test_api_docs_load_offline_from_the_service(live: Live, tab: Tab) -> None:
    page = tab.page
    page.goto(f"{live.url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("crossgraph")
    page.goto(f"{live.url}/redoc")
    expect(page.locator("h1").first).to_contain_text("crossgraph")
    assert not foreign(tab.requests, live.url)
