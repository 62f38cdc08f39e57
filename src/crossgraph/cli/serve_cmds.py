"""crossgraph serve | api-key create/list/revoke | openapi."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table

from crossgraph.cli.common import console, err_console, fails_cleanly, settings
from crossgraph.keys import Scope, create_key, read_keys_file, revoke_key

keys_app = typer.Typer(help="API keys: who may call the API (stored as sha256).", no_args_is_help=True)


class ScopeChoice(StrEnum):
    read = "read"
    write = "write"
    admin = "admin"


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(openapi)
    app.add_typer(keys_app, name="api-key")


@fails_cleanly
def serve(
    host: str = typer.Option(None, help="Interface to bind (default: CROSSGRAPH_API_HOST, else 127.0.0.1)"),
    port: int = typer.Option(None, min=1, max=65535, help="Port (default: CROSSGRAPH_API_PORT, else 8000)"),
    workers: int = typer.Option(
        None, min=1, help="Worker processes (default: CROSSGRAPH_API_WORKERS, else 1)"
    ),
    log_level: str = typer.Option("info", help="uvicorn log level"),
) -> None:
    """Run the HTTP API (uvicorn). It serves the promoted model, reloads newly promoted ones
    by itself, and keeps answering from the model when Neo4j is down."""
    import uvicorn

    s = settings()
    host = host or s.api_host
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(f"[yellow]note:[/] binding {host}: the API is reachable from other machines")
    workers = workers or s.api_workers
    with shared_metrics(workers):
        uvicorn.run(
            "crossgraph.api.app:create_app",
            factory=True,
            host=host,
            port=port or s.api_port,
            workers=workers,
            log_level=log_level,
            access_log=False,
        )


@contextmanager
def shared_metrics(workers: int) -> Iterator[None]:
    """With several workers, a fresh folder in which they share their Prometheus values (so any
    worker's /metrics covers all of them), removed at exit. A PROMETHEUS_MULTIPROC_DIR the user
    set is used as it is."""
    if workers == 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    folder = tempfile.mkdtemp(prefix="crossgraph-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder  # inherited by the spawned workers
    try:
        yield
    finally:
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
        shutil.rmtree(folder, ignore_errors=True)


@fails_cleanly
def openapi(
    path: Path = typer.Argument(None, help="Write here instead of stdout (e.g. api/openapi.json)"),
) -> None:
    """Print the OpenAPI document of the API (no server, no model needed)."""
    from crossgraph.api.app import create_app

    text = json.dumps(create_app(settings()).openapi(), indent=2, sort_keys=False) + "\n"
    if path is None:
        print(text, end="")
    else:
        path.write_text(text, encoding="utf-8")
        console.print(f"wrote {path}")


@keys_app.command("create")
@fails_cleanly
def create(
    name: str = typer.Argument(..., help="Who uses the key, e.g. crm-sidebar"),
    scope: list[ScopeChoice] = typer.Option(
        [ScopeChoice.read], help="read (default), write (also post feedback) or admin (also reload)"
    ),
    replace: bool = typer.Option(False, "--replace", help="Replace an existing key of this name"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the key (for scripts)"),
) -> None:
    """Create a key; it is printed once and only its sha256 is stored."""
    path = settings().keys_file
    scopes: list[Scope] = [s.value for s in scope]
    if replace and any(k.name == name for k in read_keys_file(path)):
        revoke_key(path, name)
    key = create_key(path, name, scopes)
    if quiet:
        print(key)
        return
    console.print(f"API key for [bold]{name}[/] ({', '.join(scopes)}), shown only now:\n")
    print(key)
    console.print(f"\nstored (sha256) in {path}; send it as the X-API-Key header")


@keys_app.command("list")
@fails_cleanly
def list_keys() -> None:
    """Names, scopes and creation times of the keys (never the keys)."""
    s = settings()
    table = Table(title=f"API keys ({s.keys_file})")
    for column in ("name", "scopes", "created", "source"):
        table.add_column(column)
    for key in s.api_keys:
        table.add_row(key.name, ", ".join(key.scopes), key.created or "", "CROSSGRAPH_API_KEYS")
    for key in read_keys_file(s.keys_file):
        table.add_row(key.name, ", ".join(key.scopes), key.created or "", "keys file")
    console.print(table)


@keys_app.command("revoke")
@fails_cleanly
def revoke(name: str = typer.Argument(..., help="The key's name")) -> None:
    """Remove a key from the keys file (running servers notice within one poll interval)."""
    revoke_key(settings().keys_file, name)
    console.print(f"revoked {name}")
