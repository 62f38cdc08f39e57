"""Versioned model directories and which one is current.

Layout under the model folder:

    models/
      versions/<version>/manifest.json ...   one directory per fit, never changed after it is written
      current -> versions/<version>          a symlink, swapped atomically (rename over the old link)
      history.json                           promotions, newest last (for rollback and audit)

A version directory is written under a hidden temporary name and renamed into place when
complete, so a reader never sees half an artifact; `current` is replaced with one rename,
so a reader sees either the old or the new model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crossgraph.data.csvout import atomic_text
from crossgraph.errors import CrossgraphError, ModelNotLoaded

MANIFEST = "manifest.json"


class RegistryError(CrossgraphError):
    """A model version is missing, incomplete or cannot be promoted."""


@dataclass(frozen=True)
class VersionInfo:
    version: str
    path: Path
    manifest: dict[str, Any]
    current: bool

    @property
    def created(self) -> str:
        return str(self.manifest.get("created", ""))


class Registry:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.versions_dir = root / "versions"
        self.current_link = root / "current"
        self.history_file = root / "history.json"

    # -- writing a version ---------------------------------------------------------------
    def new_version_name(self, fingerprint: str) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        name = f"{stamp}-{fingerprint[:8]}"
        suffix = 1
        while (self.versions_dir / name).exists():
            suffix += 1
            name = f"{stamp}-{fingerprint[:8]}-{suffix}"
        return name

    @contextmanager
    def writing(self, version: str) -> Iterator[Path]:
        """A temporary directory to write the artifact into; renamed to its version when the
        block ends without error, removed otherwise."""
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        target = self.versions_dir / version
        if target.exists():
            raise RegistryError(f"model version {version} already exists at {target}")
        staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=self.versions_dir))
        try:
            yield staging
            if not (staging / MANIFEST).exists():
                raise RegistryError(f"artifact {version} was written without a {MANIFEST}")
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    # -- reading -------------------------------------------------------------------------
    def versions(self) -> list[VersionInfo]:
        if not self.versions_dir.exists():
            return []
        current = self.current_version()
        found = []
        for path in sorted(self.versions_dir.iterdir()):
            if path.name.startswith(".") or not (path / MANIFEST).exists():
                continue
            found.append(VersionInfo(path.name, path, _read_json(path / MANIFEST), path.name == current))
        return found

    def get(self, version: str) -> VersionInfo:
        path = self.versions_dir / version
        if not (path / MANIFEST).exists():
            known = ", ".join(v.version for v in self.versions()[-5:]) or "none"
            raise RegistryError(f"no model version {version!r} in {self.versions_dir} (latest: {known})")
        return VersionInfo(version, path, _read_json(path / MANIFEST), version == self.current_version())

    def current_version(self) -> str | None:
        try:
            target = os.readlink(self.current_link)
        except (FileNotFoundError, OSError):
            return None
        return Path(target).name

    def current(self) -> VersionInfo:
        version = self.current_version()
        if version is None:
            raise ModelNotLoaded(
                f"no model has been promoted yet in {self.root}: train and promote one first"
            )
        return self.get(version)

    # -- promotion -----------------------------------------------------------------------
    def promote(self, version: str, reason: str = "promote") -> VersionInfo:
        return self._switch(version, {"kind": "promote", "reason": reason})

    def _switch(self, version: str, entry: dict[str, Any]) -> VersionInfo:
        info = self.get(version)
        tmp_link = self.root / f".current.{os.getpid()}"
        tmp_link.unlink(missing_ok=True)
        os.symlink(Path("versions") / version, tmp_link)
        os.replace(tmp_link, self.current_link)  # atomic: readers see the old or the new link
        history = self.history()
        history.append({"version": version, "at": datetime.now(UTC).isoformat(timespec="seconds"), **entry})
        _write_json_atomic(self.history_file, history)
        return VersionInfo(info.version, info.path, info.manifest, True)

    def history(self) -> list[dict[str, Any]]:
        if not self.history_file.exists():
            return []
        data = _read_json(self.history_file)
        return list(data) if isinstance(data, list) else []

    def promoted_stack(self) -> list[str]:
        """Promotions still in effect, oldest first: a rollback undoes the latest one."""
        stack: list[str] = []
        for entry in self.history():
            if entry.get("kind") == "rollback":
                del stack[len(stack) - int(entry.get("pops", 1)) :]
            else:
                stack.append(entry["version"])
        return stack

    def rollback(self) -> VersionInfo:
        """Make the version promoted before the current one current again."""
        current = self.current_version()
        stack = self.promoted_stack()
        pops = 0
        while stack and (stack[-1] == current or not (self.versions_dir / stack[-1] / MANIFEST).exists()):
            stack.pop()
            pops += 1
        if current is None or not stack:
            raise RegistryError("nothing to roll back to: no earlier promoted version exists")
        return self._switch(
            stack[-1], {"kind": "rollback", "pops": pops, "reason": f"rollback from {current}"}
        )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RegistryError(f"cannot read {path}: {exc}") from exc


def _write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_text(path) as handle:
        json.dump(data, handle, indent=2, default=str)
