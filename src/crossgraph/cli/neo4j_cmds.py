"""crossgraph neo4j install | start | stop | status."""

from __future__ import annotations

import json

import typer

from crossgraph.cli.common import console, err_console, fails_cleanly, settings
from crossgraph.errors import CrossgraphError
from crossgraph.server.local import LocalServer

app = typer.Typer(
    help="Run the project's own Neo4j (Community 5.26 from Maven Central, no Docker).", no_args_is_help=True
)


def _local() -> LocalServer:
    s = settings()
    if not s.uses_local_server:
        raise CrossgraphError(
            f"CROSSGRAPH_NEO4J_URI is set ({s.neo4j_uri}): crossgraph uses that server and does not "
            "manage a local one. Unset it to use the local server."
        )
    return LocalServer(s)


def _echo(message: str) -> None:
    err_console.print(message, highlight=False)


@app.command()
@fails_cleanly
def install() -> None:
    """Fetch the Neo4j jars once into the cache folder and compile the launcher."""
    server = _local()
    server.install(_echo)
    console.print(f"Neo4j {server.version} installed in {server.runtime}")


@app.command()
@fails_cleanly
def start() -> None:
    """Start Neo4j bound to 127.0.0.1; returns once Bolt answers."""
    server = _local()
    was_running = server.status().running
    status = server.start(_echo)
    console.print(("already running: " if was_running else "") + status.describe())


@app.command()
@fails_cleanly
def stop() -> None:
    """Stop Neo4j cleanly (checkpoint, then exit)."""
    server = _local()
    if server.stop():
        console.print("Neo4j stopped")
    else:
        console.print("Neo4j was not running")


@app.command()
@fails_cleanly
def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Say whether Neo4j runs, where, and where its data and log are. Exit code 3 if not running."""
    s = settings()
    if not s.uses_local_server:
        console.print(f"external Neo4j configured: {s.neo4j_uri} (database {s.neo4j_database})")
        return
    st = LocalServer(s).status()
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "running": st.running,
                    "pid": st.pid,
                    "uri": st.uri,
                    "version": st.version,
                    "home": str(st.home),
                    "log": str(st.log),
                }
            )
        )
    else:
        console.print(st.describe())
        console.print(f"log: {st.log}")
    if not st.running:
        raise typer.Exit(code=3)
