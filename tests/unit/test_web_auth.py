"""Users, roles, the sign-in rate limit, CSRF and security headers (no Neo4j, no model)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from crossgraph.api.app import create_app
from crossgraph.errors import InvalidInput
from crossgraph.server.local import free_port
from crossgraph.settings import Settings
from crossgraph.web.auth import LoginLimiter
from crossgraph.web.security import frame_ancestors
from crossgraph.web.users import check_password, create_user, delete_user, find_user, read_users


def test_users_are_stored_as_argon2_hashes_in_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    create_user(path, "rita", "rep", "correct horse")
    assert "correct horse" not in path.read_text()
    assert read_users(path)[0].password_argon2.startswith("$argon2id$")
    assert path.stat().st_mode & 0o777 == 0o600
    assert check_password(path, "rita", "correct horse") is not None
    assert check_password(path, "rita", "wrong horse") is None
    assert check_password(path, "nobody", "correct horse") is None


def test_user_names_passwords_and_duplicates_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    create_user(path, "rita", "rep", "correct horse")
    with pytest.raises(InvalidInput, match="already exists"):
        create_user(path, "rita", "admin", "another one")
    create_user(path, "rita", "manager", "another one", replace=True)
    assert find_user(path, "rita").role == "manager"  # type: ignore[union-attr]
    with pytest.raises(InvalidInput, match="at least 8"):
        create_user(path, "kim", "rep", "short")
    with pytest.raises(InvalidInput, match="user name"):
        create_user(path, "kim meyer", "rep", "long enough")
    delete_user(path, "rita")
    with pytest.raises(InvalidInput, match="no user"):
        delete_user(path, "rita")


def test_roles_are_ordered(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    rep = create_user(path, "r", "rep", "password1")
    manager = create_user(path, "m", "manager", "password1")
    admin = create_user(path, "a", "admin", "password1")
    assert [rep.may("manager"), manager.may("manager"), manager.may("admin"), admin.may("rep")] == [
        False,
        True,
        False,
        True,
    ]


def test_sign_in_is_rate_limited_per_name_and_per_address() -> None:
    limiter = LoginLimiter(attempts=3, window=60)
    for _ in range(3):
        assert limiter.retry_after("user:rita", "ip:1") == 0
        limiter.failed("user:rita", "ip:1")
    assert 0 < limiter.retry_after("user:rita", "ip:2") <= 60  # the name is locked from anywhere
    assert limiter.retry_after("user:kim", "ip:1") > 0  # the address is locked for any name
    assert limiter.retry_after("user:kim", "ip:2") == 0


def test_framing_origins_are_validated() -> None:
    assert frame_ancestors(["https://crm.example.com", "https://*.example.org:8443"]) == (
        "'self' https://crm.example.com https://*.example.org:8443"
    )
    with pytest.raises(InvalidInput, match="origin"):
        frame_ancestors(["https://crm.example.com; script-src *"])


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The app without a model or a reachable Neo4j: sign-in and its checks still work."""
    create_user(tmp_path / "users.json", "rita", "rep", "rep-password")
    with _app(tmp_path) as c:
        yield c


def test_sign_in_sets_a_private_cookie_and_sign_out_needs_the_csrf_token(client: TestClient) -> None:
    wrong = client.post("/ui/login", data={"username": "rita", "password": "nope"})
    assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
    ok = client.post(
        "/ui/login", data={"username": "rita", "password": "rep-password", "next": "//evil.example"}
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/ui/"  # no open redirect
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie  # plain http here
    refused = client.post("/ui/logout", data={})
    assert refused.status_code == 403 and "reload the page" in refused.text
    page = client.get(
        "/ui/search", headers={"accept": "text/html"}
    )  # 503 without a model: a page all the same
    csrf = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    out = client.post("/ui/logout", data={"csrf": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/ui/login"


def test_repeated_wrong_passwords_are_slowed_down(client: TestClient) -> None:
    for _ in range(5):
        assert client.post("/ui/login", data={"username": "rita", "password": "guess"}).status_code == 401
    locked = client.post("/ui/login", data={"username": "rita", "password": "rep-password"})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0


def test_pages_without_a_session_go_to_sign_in_and_fetches_get_401(client: TestClient) -> None:
    page = client.get("/ui/accounts/A1", headers={"accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/ui/login?next=/ui/accounts/A1"
    fetch = client.post("/ui/accounts/A1/feedback", json={"sku": "S", "action": "accepted"})
    assert fetch.status_code == 401 and fetch.json()["code"] == "sign_in_required"


def test_every_page_refuses_framing_but_the_widget(client: TestClient) -> None:
    for path in ("/ui/login", "/docs", "/healthz"):
        response = client.get(path)
        assert response.headers["x-frame-options"] == "DENY", path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
    widget = client.get("/embed/sidebar")
    assert widget.status_code == 403 and "needs a signed link" in widget.text
    assert "frame-ancestors 'self'" in widget.headers["content-security-policy"]


def test_api_docs_use_the_packaged_assets(client: TestClient) -> None:
    docs = client.get("/docs").text
    assert "/static/docs/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    redoc = client.get("/redoc").text
    assert "/redoc.standalone.js" in redoc and "fonts.googleapis" not in redoc
    bundle = client.get("/redoc.standalone.js")
    assert bundle.status_code == 200 and b"cdn.redoc.ly" not in bundle.content
    assert client.get("/static/docs/swagger-ui-bundle.js").status_code == 200


def _app(tmp_path: Path, **settings: object) -> TestClient:
    base = Settings(
        neo4j_port=free_port(),
        data_dir=tmp_path,
        model_dir=tmp_path / "models",
        web_secret=SecretStr("w" * 40),
        embed_secret=SecretStr("e" * 40),
        api_poll_seconds=60,
    )
    return TestClient(create_app(base.model_copy(update=settings)), follow_redirects=False)


def test_behind_an_sso_proxy_the_trusted_header_names_the_user(tmp_path: Path) -> None:
    create_user(tmp_path / "users.json", "kim", "manager", "unused-password")
    with _app(tmp_path, web_trusted_user_header="X-Forwarded-User") as client:
        html = {"accept": "text/html"}
        signed = client.get("/ui/", headers={**html, "X-Forwarded-User": "kim"})
        assert signed.status_code == 303 and signed.headers["location"] == "/ui/worklist"
        # A name the users file does not know, or no header, is not signed in, and says why.
        stranger = client.get("/ui/search", headers={**html, "X-Forwarded-User": "mallory"})
        assert stranger.status_code == 303 and stranger.headers["location"].startswith("/ui/login")
        refused = client.get("/ui/login", headers={**html, "X-Forwarded-User": "mallory"})
        assert refused.status_code == 403 and "mallory has no crossgraph account" in refused.text
        assert "single sign-on" in client.get("/ui/login").text
        assert (
            client.post("/ui/login", data={"username": "kim", "password": "unused-password"}).status_code
            == 403
        )
        # The proxy's cookie rides along with a forged cross-site POST: the CSRF token still stops it.
        forged = client.post("/ui/logout", headers={"X-Forwarded-User": "kim"})
        assert forged.status_code == 403
        page = client.get("/ui/search", headers={**html, "X-Forwarded-User": "kim"}).text
        csrf = page.split('name="csrf-token" content="')[1].split('"')[0]
        assert len(csrf) == 64
        out = client.post("/ui/logout", data={"csrf": csrf}, headers={"X-Forwarded-User": "kim"})
        assert out.status_code == 303


def test_api_docs_can_require_sign_in(tmp_path: Path) -> None:
    with _app(tmp_path, web_public_docs=False) as client:
        docs = client.get("/docs")
        assert docs.status_code == 303 and docs.headers["location"] == "/ui/login?next=/docs"
