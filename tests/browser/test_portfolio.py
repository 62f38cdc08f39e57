"""The manager pages in a real browser: the heatmap's evidence on click and on Enter, the model
page and its rollback, every button and cell reachable with the keyboard, screenshots."""

from __future__ import annotations

import re
import time
from datetime import date

import httpx
import pytest
from playwright.sync_api import Page, expect

from crossgraph.api.app import intel_config
from crossgraph.graph.driver import Graph
from crossgraph.intel.potential import PotentialConfig
from crossgraph.recommend.engine import Engine
from crossgraph.recommend.worklist import FORMAT, account_row, write_snapshot
from tests.browser.conftest import Live, Tab, foreign, screenshot, sign_in
from tests.integration.served import ADMIN

pytestmark = [pytest.mark.neo4j, pytest.mark.slow, pytest.mark.browser]
HEAT = "/ui/whitespace?by=product&top=5&limit=6"


def open_heatmap(page: Page, url: str) -> None:
    """The first whole-graph report of this module's freshly started server: on a busy machine
    its first queries compile while the readiness probe's ping is late, which takes the graph
    down until the probe's warm-up answers (the degraded mode: the page says "Not available
    right now"). A user reloads; so does this, for up to 30 s, and the heatmap must come."""
    deadline = time.monotonic() + 30
    page.goto(url)
    while not page.locator("#heatmap").count() and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        page.reload()


def product_name(live: Live, sku: str) -> str:
    return str(live.served.artifact.product_info[sku]["name"])


def test_heatmap_cell_opens_the_evidence_of_its_account_and_product(live: Live, tab: Tab) -> None:
    page = tab.page
    sign_in(page, live.url, "manu")
    open_heatmap(page, f"{live.url}/ui/whitespace?by=product&top=12&limit=14")
    open_cells = page.locator('#heatmap td.cell[data-owned="no"]')
    assert open_cells.count() > 2
    first = open_cells.nth(1)
    sku, account = first.get_attribute("data-sku"), first.get_attribute("data-account")
    assert sku and account
    first.locator("a").click()
    panel = page.locator("#evidence")
    expect(panel.locator(".evidence-full")).to_contain_text(product_name(live, sku))
    name = live.served.artifact.account_info[account]["name"]
    expect(panel.locator("h2")).to_contain_text(name)
    expect(page).to_have_url(f"{live.url}/ui/whitespace?by=product&top=12&limit=14")  # stayed on the page
    expect(panel.get_by_role("link", name="Open the account")).to_have_attribute(
        "href", f"/ui/accounts/{account}"
    )
    screenshot(page, "whitespace")

    # The keyboard does the same: focus another cell, press Enter.
    other = open_cells.nth(2)
    other_sku = other.get_attribute("data-sku")
    assert other_sku
    other.locator("a").focus()
    page.keyboard.press("Enter")
    expect(panel.locator(".evidence-full")).to_contain_text(product_name(live, other_sku))
    expect(other).to_have_class(re.compile(r"\bselected\b"))
    expect(first).not_to_have_class(re.compile(r"\bselected\b"))


def test_kpi_and_worklist_pages_show_their_figures(live: Live, tab: Tab) -> None:
    page = tab.page
    sign_in(page, live.url, "manu")
    page.goto(f"{live.url}/ui/kpis")
    for heading in (
        "Products per customer",
        "Whitespace filled",
        "Net revenue retention",
        "Contracts ending",
    ):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.locator("svg.chart.lines")).to_have_count(3)
    expect(page.locator("#kpi-computed")).to_contain_text("Computed from the graph at")  # no refresh yet
    screenshot(page, "kpis")
    page.goto(f"{live.url}/ui/worklist")
    rows = page.locator("tr[data-account]")
    assert rows.count() > 10
    first = rows.first.get_attribute("data-account")
    rows.first.get_by_role("link").first.click()
    expect(page).to_have_url(f"{live.url}/ui/accounts/{first}")
    screenshot(page, "worklist-account")
    assert tab.requests and not foreign(tab.requests, live.url)  # no request left the service


def test_worklist_from_a_snapshot_ranks_by_potential_filters_and_explains(live: Live, tab: Tab) -> None:
    engine = Engine(live.served.artifact)
    intel = intel_config(live.settings)
    day = date(2026, 6, 30)
    with Graph.connect(live.settings) as g:
        accounts = {r["id"]: r for r in g.read("worklist_accounts")}
        rows = [
            account_row(engine, lambda call: call(g), accounts[a], day, intel, PotentialConfig(), frozenset())
            for a in engine.account_ids[:15]
        ]
    body = {
        "format": FORMAT,
        "as_of": "2026-06-30",
        "model_version": engine.version,
        "created_at": "now",
        "rows": rows,
    }
    folder = live.settings.worklist_folder
    path = write_snapshot(folder, body)
    try:
        page = tab.page
        sign_in(page, live.url, "manu")
        page.goto(f"{live.url}/ui/worklist")
        shown = page.locator("tr[data-account]")
        expect(shown).to_have_count(15)
        potentials = [int(v or 0) for v in shown.evaluate_all("rs => rs.map(r => r.dataset.potential)")]
        assert potentials == sorted(potentials, reverse=True)
        best = max(rows, key=lambda r: (r["potential"], [-ord(c) for c in r["id"]]))
        assert shown.first.get_attribute("data-account") == best["id"]
        shown.first.locator("summary").click()  # why: the five components with their facts
        why = shown.first.locator("details.why-potential li")
        expect(why).to_have_count(5)
        expect(why.first).to_contain_text(best["components"]["age"]["detail"])
        screenshot(page, "worklist-potential")
        owner = rows[0]["owner"]
        page.select_option("#f-owner", owner)
        page.click("text=Show")
        expect(page.locator("tr[data-account]")).to_have_count(sum(r["owner"] == owner for r in rows))
        page.select_option("#f-sort", "open_value")
        page.click("text=Show")
        values = [
            float(v or 0)
            for v in page.locator("tr[data-account]").evaluate_all("rs => rs.map(r => r.dataset.openValue)")
        ]
        assert values == sorted(values, reverse=True)
        targets = "button:not([disabled]), select, summary, tbody a"
        assert len(tab_through(page, targets)) == page.locator(targets).count()
        assert not foreign(tab.requests, live.url)
    finally:
        path.unlink()
    page.goto(f"{live.url}/ui/worklist")  # without a snapshot: the live cross-sell ranking again
    expect(page.locator("table.worklist.potential")).to_have_count(0)


def tab_through(page: Page, targets: str, limit: int = 400) -> set[str]:
    """Press Tab until focus leaves the page or `limit` presses; the marks of `targets` reached."""
    page.evaluate(
        "sel => document.querySelectorAll(sel).forEach((el, i) => el.setAttribute('data-kb', String(i)))",
        targets,
    )
    reached: set[str] = set()
    page.locator("body").focus()
    for _ in range(limit):
        page.keyboard.press("Tab")
        mark = page.evaluate("() => document.activeElement && document.activeElement.getAttribute('data-kb')")
        if mark is not None:
            reached.add(mark)
    return reached


@pytest.mark.parametrize("path", ["/ui/worklist", HEAT, "/ui/kpis", "/ui/model", "/ui/accounts/{account}"])
def test_tab_reaches_every_button_and_cell(live: Live, tab: Tab, path: str) -> None:
    page = tab.page
    sign_in(page, live.url, "ada")
    page.goto(f"{live.url}{path.format(account=live.served.artifact.accounts.id(4))}")
    targets = "button:not([disabled]), #heatmap a, select, summary"
    total = page.locator(targets).count()
    assert total > 0
    assert len(tab_through(page, targets)) == total


def test_model_page_lists_versions_and_an_admin_rolls_back_with_the_keyboard(live: Live, tab: Tab) -> None:
    page = tab.page
    registry = live.served.registry
    original = registry.current_version()
    with Graph.connect(live.settings) as g:
        newer = live.served.fit_new_version(g, factors=8)
    registry.promote(newer)
    httpx.post(f"{live.url}/v1/admin/reload", headers=ADMIN)

    sign_in(page, live.url, "manu")
    page.goto(f"{live.url}/ui/model")
    for info in registry.versions():
        expect(page.locator(f'tr[data-version="{info.version}"]')).to_have_count(1)
    expect(page.locator(f'tr[data-version="{newer}"] .badge')).to_have_text("serving")
    expect(page.locator("form.rollback")).to_have_count(0)  # a manager sees no button
    expect(page.locator("svg.chart.lines")).to_be_visible()

    sign_in(page, live.url, "ada")
    page.goto(f"{live.url}/ui/model")
    button = page.get_by_role("button", name="Roll back to the previous promoted version")
    page.on("dialog", lambda d: d.accept())
    page.locator("body").focus()
    for _ in range(30):
        page.keyboard.press("Tab")
        if button.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the rollback button")
    screenshot(page, "model")
    page.keyboard.press("Enter")
    expect(page.locator(".note[role=status]")).to_contain_text(f"Rollback from {newer} to {original}")
    expect(page.locator(f'tr[data-version="{original}"] .badge')).to_have_text("serving")
    assert registry.current_version() == original
