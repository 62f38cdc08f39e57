"""Optional extras in tests: skipped where the extra is not installed, required in CI.

`make test` installs the Spark extra, and CI (`CI=true`) must never turn a missing extra
into a quiet skip: there the import error fails the run.
"""

from __future__ import annotations

import importlib
import os

import pytest


def need(module: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        importlib.import_module(module)
    else:
        pytest.importorskip(module)
