"""The shipped OpenAPI document tells a client every error it can get, and its shape (issue 14,
item 6): a generated client can read a 429 or a 413 as it reads a 404."""

from __future__ import annotations

import json
from pathlib import Path

DOCUMENT = json.loads((Path(__file__).resolve().parents[2] / "api" / "openapi.json").read_text())
ERRORS = {"400", "401", "403", "404", "413", "422", "429", "502", "503"}


def test_every_api_operation_lists_every_error_status_with_the_error_body() -> None:
    operations = [
        (method, path, op)
        for path, methods in DOCUMENT["paths"].items()
        if path.startswith("/v1/")
        for method, op in methods.items()
    ]
    assert len(operations) >= 10
    for method, path, op in operations:
        missing = ERRORS - set(op["responses"])
        assert not missing, f"{method.upper()} {path} does not document {sorted(missing)}"
        for status in [s for s in op["responses"] if s[0] in "45"]:  # route-level ones too (409)
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path, status)
        for status in ("429", "503"):
            assert "Retry-After" in op["responses"][status]["headers"], (method, path, status)


def test_the_error_body_names_its_code_and_detail() -> None:
    error = DOCUMENT["components"]["schemas"]["ErrorResponse"]
    assert set(error["required"]) == {"code", "detail"}
    assert "rate_limited" in error["properties"]["code"]["description"]
