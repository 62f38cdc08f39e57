"""The `crossgraph` command. One module per command group; each registers itself here."""

from __future__ import annotations

import typer

from crossgraph.cli import (
    account_cmds,
    data_cmds,
    experiment_cmds,
    graph_cmds,
    intel_cmds,
    neo4j_cmds,
    serve_cmds,
    train_cmds,
    web_cmds,
    worklist_cmds,
)

app = typer.Typer(
    name="crossgraph",
    help="What to offer each existing B2B account next, and why.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(neo4j_cmds.app, name="neo4j")
app.add_typer(graph_cmds.app, name="graph")
app.add_typer(worklist_cmds.app, name="worklist")
app.add_typer(experiment_cmds.app, name="experiment")
data_cmds.register(app)
train_cmds.register(app)
serve_cmds.register(app)
intel_cmds.register(app)
account_cmds.register(app)
web_cmds.register(app)


def main() -> None:
    app()
