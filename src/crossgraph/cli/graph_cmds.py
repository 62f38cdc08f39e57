"""crossgraph graph init | stats | clear."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from crossgraph.cli.common import console, fails_cleanly, graph
from crossgraph.graph.schema import graph_stats, init_schema

app = typer.Typer(help="The graph: schema and what it holds.", no_args_is_help=True)


@app.command()
@fails_cleanly
def init() -> None:
    """Create constraints and indexes (idempotent: safe to run any time)."""
    with graph() as g:
        names = init_schema(g)
    console.print(f"schema ready: {len(names)} constraints/indexes")


@app.command()
@fails_cleanly
def stats(as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """Node counts per label and relationship counts per type."""
    with graph() as g:
        result = graph_stats(g)
    if as_json:
        print(json.dumps(result.as_dict(), indent=2, sort_keys=True))
        return
    table = Table(title="What the graph holds")
    table.add_column("kind")
    table.add_column("label / type")
    table.add_column("count", justify="right")
    for label, count in sorted(result.nodes.items()):
        table.add_row("node", label, f"{count:,}")
    for rel, count in sorted(result.relationships.items()):
        table.add_row("relationship", rel, f"{count:,}")
    if not result.nodes:
        table.add_row("", "(empty graph)", "0")
    console.print(table)


@app.command()
@fails_cleanly
def clear(
    yes: bool = typer.Option(False, "--yes", help="Confirm: delete every node and relationship."),
) -> None:
    """Delete all data (the schema stays). Asks for --yes."""
    if not yes:
        console.print("refusing to delete the graph without --yes")
        raise typer.Exit(code=2)
    with graph() as g:
        g.write_autocommit("delete_all")
    console.print("graph cleared")
