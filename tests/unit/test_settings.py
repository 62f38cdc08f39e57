"""Settings refuse values the local Neo4j would only reject at start, naming the problem."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crossgraph.settings import Settings


@pytest.mark.parametrize("value", ["1G size", "2 files", "7 days", "keep_none", "500M  size"])
def test_transaction_log_retention_takes_neo4j_policies(value: str) -> None:
    assert Settings(neo4j_tx_log_retention=value).neo4j_tx_log_retention == " ".join(value.split())


@pytest.mark.parametrize("value", ["1G", "two files", "2 weeks", ""])
def test_a_bad_retention_is_refused_with_the_accepted_forms(value: str) -> None:
    with pytest.raises(ValidationError, match=r"not a transaction log retention.*'1G size'"):
        Settings(neo4j_tx_log_retention=value)


def test_a_bad_memory_size_names_the_value() -> None:
    with pytest.raises(ValidationError, match="lots"):
        Settings(neo4j_heap="lots")
