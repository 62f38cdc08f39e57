"""The parameters file of training and write-back (training/params.json): read by the CLI's
train, promote and rollback, and by the server when a page rolls the model back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crossgraph.errors import InvalidInput

DEFAULT_PARAMS = Path("training/params.json")


def read_params(path: Path | None) -> dict[str, Any]:
    """The file's JSON object; without a path, DEFAULT_PARAMS when it exists, else {}."""
    path = path or (DEFAULT_PARAMS if DEFAULT_PARAMS.exists() else None)
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read the parameters file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} must hold a JSON object")
    return data
