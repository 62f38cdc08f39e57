"""Model versions: complete or absent, promotion atomic, rollback walks back through promotions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossgraph.errors import ModelNotLoaded
from crossgraph.model.registry import Registry, RegistryError


def add_version(registry: Registry, name: str) -> str:
    with registry.writing(name) as folder:
        (folder / "manifest.json").write_text(json.dumps({"version": name, "created": "now"}))
    return name


def test_no_model_yet_is_a_clear_error(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    assert registry.versions() == []
    with pytest.raises(ModelNotLoaded, match="no model has been promoted"):
        registry.current()


def test_failed_write_leaves_no_version_behind(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    with pytest.raises(RuntimeError), registry.writing("v1") as folder:
        (folder / "manifest.json").write_text("{}")
        raise RuntimeError("fit crashed")
    with pytest.raises(RegistryError, match="without a manifest"), registry.writing("v2"):
        pass
    assert registry.versions() == []
    assert list((tmp_path / "versions").iterdir()) == []


def test_promote_and_rollback(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    for name in ("v1", "v2", "v3"):
        add_version(registry, name)
        registry.promote(name)
    assert registry.current().version == "v3"
    assert [v.current for v in registry.versions()] == [False, False, True]
    assert registry.rollback().version == "v2"
    assert registry.rollback().version == "v1"
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        registry.rollback()
    assert registry.current().version == "v1"
    # Promoting again after rollbacks starts a new line of history.
    registry.promote("v3")
    assert registry.rollback().version == "v1"


def test_promoting_an_unknown_version_keeps_the_current_one(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    registry.promote(add_version(registry, "v1"))
    with pytest.raises(RegistryError, match="no model version 'nope'"):
        registry.promote("nope")
    assert registry.current().version == "v1"
    assert (tmp_path / "current").is_symlink()


def test_existing_version_is_never_overwritten(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    add_version(registry, "v1")
    with pytest.raises(RegistryError, match="already exists"), registry.writing("v1"):
        pass
    assert registry.get("v1").manifest["version"] == "v1"
