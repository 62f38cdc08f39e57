"""API keys: shown once, stored as sha256 only (mode 600), matched with their scopes."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from crossgraph.errors import InvalidInput
from crossgraph.keys import ApiKey, KeyRing, create_key, read_keys_file, revoke_key


def test_created_keys_authenticate_and_the_file_never_holds_them(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    reader = create_key(path, "crm", ["read"])
    admin = create_key(path, "ops", ["admin"])
    assert reader != admin and reader.startswith("cg_")
    text = path.read_text()
    assert reader not in text and admin not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ring = KeyRing(read_keys_file(path))
    crm, ops = ring.authenticate(reader), ring.authenticate(admin)
    assert crm is not None and crm.name == "crm" and crm.allows("read") and not crm.allows("admin")
    assert ops is not None and ops.allows("admin") and ops.allows("read") and ops.allows("write")
    crm_writer = KeyRing([ApiKey(name="w", key=SecretStr("w"), scopes=["write"])]).authenticate("w")
    assert crm_writer is not None and crm_writer.allows("read") and not crm_writer.allows("admin")
    assert ring.authenticate(reader[:-1]) is None and ring.authenticate("") is None
    with pytest.raises(InvalidInput, match="already exists") as exists:
        create_key(path, "crm", ["read"])
    assert "--replace" in str(exists.value) and "revoke it first" not in str(exists.value)
    revoke_key(path, "crm")
    assert KeyRing(read_keys_file(path)).authenticate(reader) is None
    assert [k["name"] for k in json.loads(path.read_text())] == ["ops"]


def test_keys_from_the_environment_and_invalid_definitions(tmp_path: Path) -> None:
    ring = KeyRing([ApiKey(name="env", key=SecretStr("s3cret"), scopes=["read"])])
    assert ring.authenticate("s3cret") is not None and ring.authenticate("s3cre") is None
    with pytest.raises(ValidationError, match="exactly one of key or key_sha256"):
        ApiKey(name="none")
    bad = tmp_path / "bad.json"
    bad.write_text('[{"name": "x", "key_sha256": "nothex"}]')
    with pytest.raises(InvalidInput, match=r"bad\.json"):
        read_keys_file(bad)


def test_cli_create_with_a_taken_name_points_to_replace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from crossgraph.cli import app
    from crossgraph.settings import get_settings

    path = tmp_path / "keys.json"
    monkeypatch.setenv("CROSSGRAPH_API_KEYS_FILE", str(path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        first = runner.invoke(app, ["api-key", "create", "demo", "--quiet"])
        assert first.exit_code == 0, first.output
        again = runner.invoke(app, ["api-key", "create", "demo"])
        assert again.exit_code == 1
        message = " ".join(again.output.split())  # the console wraps long lines
        assert "already exists" in message and "add --replace" in message and "revoke" not in message
        replaced = runner.invoke(app, ["api-key", "create", "demo", "--replace", "--quiet"])
        assert replaced.exit_code == 0, replaced.output
        ring = KeyRing(read_keys_file(path))
        assert ring.authenticate(replaced.output.strip()) is not None
        assert ring.authenticate(first.output.strip()) is None
    finally:
        get_settings.cache_clear()
