"""One root error class; the API maps each subclass to one status code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crossgraph.data.tables import RowProblem


class CrossgraphError(Exception):
    """Root of every error crossgraph raises on purpose."""


class InvalidInput(CrossgraphError):
    """Input data or a parameter is not what was expected; the message names it."""


class GraphUnavailable(CrossgraphError):
    """Neo4j cannot be reached or refused the credentials."""


class GraphQueryError(CrossgraphError):
    """Neo4j rejected or failed a query (a constraint, a memory limit, a syntax error)."""


class Neo4jServerError(CrossgraphError):
    """The local Neo4j server could not be installed, started or stopped."""


class AccountNotFound(CrossgraphError):
    def __init__(self, account_id: str) -> None:
        super().__init__(f"account {account_id!r} not found")
        self.account_id = account_id


class ProductNotFound(CrossgraphError):
    def __init__(self, sku: str) -> None:
        super().__init__(f"product {sku!r} not found")
        self.sku = sku


class ExperimentNotFound(CrossgraphError):
    def __init__(self, name: str) -> None:
        super().__init__(f"experiment {name!r} not found (crossgraph experiment start {name} ...)")
        self.name = name


class Conflict(CrossgraphError):
    """The request contradicts something already stored under the same key (e.g. a feedback id
    reused for other feedback)."""


class ModelNotLoaded(CrossgraphError):
    """No promoted model is available to serve."""


class InvalidArtifact(CrossgraphError):
    """A model artifact's files are of another format, or their shapes disagree with one another
    (a damaged or half-copied version); the message names the file."""


class WorklistMissing(CrossgraphError):
    """No worklist snapshot yet: `crossgraph worklist refresh` writes one."""


class InvalidRows(InvalidInput):
    """Input files have row-level problems; nothing was written. `problems` lists each one."""

    def __init__(self, problems: Sequence[RowProblem], shown: int = 20) -> None:
        lines = [f"  {p}" for p in problems[:shown]]
        if len(problems) > shown:
            lines.append(f"  ... and {len(problems) - shown} more")
        super().__init__(
            f"{len(problems)} problem(s) in the input; nothing was written:\n" + "\n".join(lines)
        )
        self.problems = list(problems)
