"""Schemathesis against the real app: every operation of the OpenAPI document, driven in process
(ASGI) with the lifespan running, a real trained artifact and the real test Neo4j. Generated
requests are steered to real account ids and skus most of the time (else nearly every call
would be a 404), and every answer must be documented: no server error, a documented status,
a body of the documented schema and content type.

Bounded by MAX_EXAMPLES per operation so the module runs in well under three minutes on a
shared 2-core machine (README in this folder: what is checked, the figures, and the
known false positives with their reasons).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from crossgraph.api.app import create_app
from crossgraph.settings import Settings
from tests.integration.served import ADMIN_KEY, NEW_ACCOUNT, Served, build_served

pytestmark = [pytest.mark.neo4j, pytest.mark.slow]

DOCUMENT = Path(__file__).resolve().parents[2] / "api" / "openapi.json"
MAX_EXAMPLES = 25  # per operation; see README.md for the run time this gives
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture(scope="module")
def served(neo4j_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Served:
    return build_served(neo4j_settings, tmp_path_factory.mktemp("contract"))


@pytest.fixture(scope="module")
def api_schema(served: Served) -> Iterator[schemathesis.BaseSchema]:
    # No rate limit here: the 429 is pinned by tests/integration/test_api_limits.py, and a
    # refused call would test nothing behind the gate.
    app = create_app(served.settings.model_copy(update={"api_rate_read": 0, "api_rate_write": 0}))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    steer(schema, served)
    yield schema
    shutdown_lifespans()  # the app's lifespan (driver, model watcher) ends with this module


def steer(schema: schemathesis.BaseSchema, served: Served) -> None:
    """Most generated ids become real ones (and a few stay as generated, for the 404s)."""
    artifact = served.artifact
    accounts = [artifact.accounts.id(i) for i in range(0, len(artifact.accounts), 7)] + [NEW_ACCOUNT]
    skus = [artifact.products.id(i) for i in range(len(artifact.products))]

    def real(values: list[str], generated: Any) -> st.SearchStrategy[Any]:
        return (
            st.one_of(st.sampled_from(values), st.just(generated))
            if isinstance(generated, str)
            else st.just(generated)
        )

    def ids(params: Any) -> st.SearchStrategy[Any]:
        if not isinstance(params, dict):
            return st.just(params)
        fields = {
            name: real(accounts if name == "account_id" else skus, value)
            if name in ("account_id", "sku")
            else st.just(value)
            for name, value in params.items()
        }
        return st.fixed_dictionaries(fields)

    def body(value: Any) -> st.SearchStrategy[Any]:
        if not isinstance(value, dict):
            return st.just(value)
        fields: dict[str, st.SearchStrategy[Any]] = {name: st.just(v) for name, v in value.items()}
        if isinstance(value.get("accounts"), list):
            fields["accounts"] = st.one_of(
                st.lists(st.sampled_from(accounts), min_size=1, max_size=5), st.just(value["accounts"])
            )
        for name, pool in (("account", accounts), ("sku", skus)):
            if name in value:
                fields[name] = real(pool, value[name])
        return st.fixed_dictionaries(fields)

    @schema.hook
    def before_generate_path_parameters(
        context: schemathesis.HookContext, strategy: st.SearchStrategy[Any]
    ) -> Any:
        return strategy.flatmap(ids)

    @schema.hook
    def before_generate_body(context: schemathesis.HookContext, strategy: st.SearchStrategy[Any]) -> Any:
        return strategy.flatmap(body)


# One test per operation of the committed document (tests/unit/test_docs.py keeps it equal to
# the app's). Not schemathesis.pytest.from_fixture: its lazy loader sets pytest's private
# Function._nodeid, which pytest 9.2 no longer has.
OPERATIONS = [
    (method.upper(), path)
    for path, methods in json.loads(DOCUMENT.read_text())["paths"].items()
    for method in methods
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_answer_is_documented(api_schema: schemathesis.BaseSchema, method: str, path: str) -> None:
    operation = api_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, hooks=api_schema.hooks),
        operation.as_strategy(GenerationMode.NEGATIVE, hooks=api_schema.hooks),
    )

    @given(case=cases)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,  # the same requests every run: a failure here is the code's, not the dice's
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def answers(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={"X-API-Key": ADMIN_KEY}, checks=CHECKS)

    answers()
