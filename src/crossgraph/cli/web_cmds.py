"""crossgraph user create/list/delete | embed-url | embed-secret: the web face's people and links."""

from __future__ import annotations

import re
import secrets
import sys
from datetime import timedelta
from enum import StrEnum
from urllib.parse import urlencode

import typer
from rich.table import Table

from crossgraph.cli.common import console, err_console, fails_cleanly, settings
from crossgraph.errors import InvalidInput
from crossgraph.recommend.actions import KINDS
from crossgraph.web.tokens import EMBED_DEFAULT_LIMIT, EMBED_MAX_LIMIT, embed_secret, mint_embed
from crossgraph.web.users import MIN_PASSWORD, create_user, delete_user, read_users

users_app = typer.Typer(help="People who sign in to the workspace (argon2 hashes).", no_args_is_help=True)
DURATION = re.compile(r"(\d+)\s*([smhd]?)")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class RoleChoice(StrEnum):
    rep = "rep"
    manager = "manager"
    admin = "admin"


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="user")
    app.command("embed-url")(embed_url)
    app.command("embed-secret")(show_embed_secret)


@users_app.command("create")
@fails_cleanly
def create(
    name: str = typer.Argument(..., help="User name, e.g. j.meyer"),
    role: RoleChoice = typer.Option(
        RoleChoice.rep, help="rep: accounts and feedback; manager: also portfolio pages; admin: also rollback"
    ),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin"),
    generate: bool = typer.Option(False, "--generate", help="Generate a password and print it once"),
    replace: bool = typer.Option(False, "--replace", help="Replace an existing user of this name"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="With --generate: print only the password"),
) -> None:
    """Create a user who signs in with a password (asked for twice unless given otherwise)."""
    if password_stdin and generate:
        raise InvalidInput("choose one of --password-stdin and --generate")
    if generate:
        password = secrets.token_urlsafe(12)
    elif password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = typer.prompt(
            f"password (at least {MIN_PASSWORD} characters)", hide_input=True, confirmation_prompt=True
        )
    else:
        raise InvalidInput("no terminal to ask for a password: use --password-stdin or --generate")
    path = settings().users_path
    user = create_user(path, name, role.value, password, replace=replace)
    if generate and quiet:
        print(password)
        return
    console.print(f"user [bold]{user.name}[/] ({user.role}) stored in {path}")
    if generate:
        console.print("password, shown only now:")
        print(password)


@users_app.command("list")
@fails_cleanly
def list_users() -> None:
    """Names, roles and creation times (never the password hashes)."""
    path = settings().users_path
    table = Table(title=f"users ({path})")
    for column in ("name", "role", "created"):
        table.add_column(column)
    for user in read_users(path):
        table.add_row(user.name, user.role, user.created or "")
    console.print(table)


@users_app.command("delete")
@fails_cleanly
def delete(name: str = typer.Argument(..., help="The user's name")) -> None:
    """Remove a user; their open sessions end at their next request."""
    delete_user(settings().users_path, name)
    console.print(f"deleted {name}")


def parse_duration(text: str) -> timedelta:
    """'10m' -> 10 minutes; s, m, h, d (no unit: seconds)."""
    match = DURATION.fullmatch(text.strip())
    if not match or int(match.group(1)) == 0:
        raise typer.BadParameter(f"{text!r} is not a duration like 90s, 10m, 2h or 1d")
    return timedelta(seconds=int(match.group(1)) * UNITS[match.group(2)])


@fails_cleanly
def embed_url(
    account_id: str = typer.Argument(..., help="The account the widget shows"),
    ttl: str = typer.Option("10m", help="How long the link works: 90s, 10m, 2h, 1d"),
    user: str = typer.Option(None, help="The rep's CRM user id, recorded with their feedback"),
    kinds: str = typer.Option(",".join(KINDS), help="Opportunity kinds the widget may show"),
    limit: int = typer.Option(EMBED_DEFAULT_LIMIT, min=1, max=EMBED_MAX_LIMIT, help="How many items"),
    base_url: str = typer.Option(None, help="The service as the browser reaches it (default: host and port)"),
) -> None:
    """Print a signed, short-lived link to the sidebar widget of one account (what a CRM's
    server does on every account page; docs/embedding.md has the recipe for other languages)."""
    s = settings()
    token = mint_embed(
        embed_secret(s),
        account_id,
        ttl=parse_duration(ttl),
        kinds=[k.strip() for k in kinds.split(",") if k.strip()],
        limit=limit,
        user=user,
    )
    base = (base_url or f"http://{s.api_host}:{s.api_port}").rstrip("/")
    print(f"{base}/embed/sidebar?{urlencode({'token': token})}")


@fails_cleanly
def show_embed_secret() -> None:
    """Print the key embed links are signed with, for the CRM's server configuration."""
    err_console.print("[yellow]note:[/] keep this on the CRM's server; never send it to a browser")
    print(embed_secret(settings()).decode())
