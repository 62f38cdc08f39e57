"""The API examples a CRM developer copies first fail with a usage message, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIDEBAR = ROOT / "api" / "examples" / "sidebar.py"


def run_sidebar(*args: str, key: str | None = "cg_x") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CROSSGRAPH_KEY"}
    if key is not None:
        env["CROSSGRAPH_KEY"] = key
    # an unused port: the usage check must come before any request
    env["CROSSGRAPH_URL"] = "http://127.0.0.1:9"
    return subprocess.run(
        [sys.executable, str(SIDEBAR), *args], env=env, capture_output=True, text=True, timeout=30
    )


def test_sidebar_example_without_an_account_prints_usage_and_exits_2() -> None:
    result = run_sidebar()
    assert result.returncode == 2
    assert result.stderr.startswith("usage: ") and "ACCOUNT_ID" in result.stderr
    assert "Traceback" not in result.stderr
    no_key = run_sidebar("A00042", key=None)
    assert no_key.returncode == 2 and "CROSSGRAPH_KEY" in no_key.stderr and "Traceback" not in no_key.stderr


EMBED = ROOT / "api" / "examples" / "embed_token.py"


def run_embed(*args: str, secret: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CROSSGRAPH_EMBED_SECRET"}
    if secret is not None:
        env["CROSSGRAPH_EMBED_SECRET"] = secret
    env["CROSSGRAPH_URL"] = "https://crossgraph.example.com/"
    return subprocess.run(
        [sys.executable, str(EMBED), *args], env=env, capture_output=True, text=True, timeout=30
    )


def test_embed_example_mints_a_link_the_widget_accepts() -> None:
    from urllib.parse import parse_qs, urlsplit

    from crossgraph.web.tokens import check_embed

    secret = "s3cret-" * 6
    result = run_embed(
        "A00042", "--user", "jo", "--ttl", "300", "--limit", "3", "--kinds", "upsell", secret=secret
    )
    assert result.returncode == 0, result.stderr
    link = urlsplit(result.stdout.strip())
    assert (link.scheme, link.netloc, link.path) == ("https", "crossgraph.example.com", "/embed/sidebar")
    grant = check_embed(secret.encode(), parse_qs(link.query)["token"][0], account_id="A00042")
    assert (grant.account_id, grant.kinds, grant.limit, grant.user) == ("A00042", ("upsell",), 3, "jo")


def test_embed_example_without_a_secret_prints_usage_and_exits_2() -> None:
    result = run_embed("A00042", secret=None)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: ") and "crossgraph embed-secret" in result.stderr
    assert "Traceback" not in result.stderr
