"""What every command shares: settings, the graph connection, errors, progress bars."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from crossgraph.errors import CrossgraphError
from crossgraph.graph.driver import Graph
from crossgraph.settings import Settings, get_settings

# Wide tables stay readable when output goes to a file or CI log, not only on a terminal.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

P = ParamSpec("P")
R = TypeVar("R")


def output_file(path: Path | None) -> Path | None:
    """Option callback for files a command writes: refuse, before any work, a path whose
    folder does not exist or that is a folder itself."""
    if path is None:
        return None
    parent = path.parent
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a folder; give a file name")
    if not parent.exists():
        raise typer.BadParameter(f"the folder {parent} does not exist")
    if not parent.is_dir():
        raise typer.BadParameter(f"{parent} is not a folder")
    if not os.access(parent, os.W_OK):
        raise typer.BadParameter(f"the folder {parent} is not writable")
    return path


def fails_cleanly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn crossgraph's own errors into a red message and exit code 1 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CrossgraphError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
            raise typer.Exit(code=1) from None

    return wrapper


def settings() -> Settings:
    return get_settings()


@contextmanager
def graph() -> Iterator[Graph]:
    with Graph.connect(get_settings()) as g:
        yield g


class RateColumn(ProgressColumn):
    """Rows per second of a task."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "", style="progress.data.speed")


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar fed by (stage, done, total) callbacks, one task per stage."""
    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("[bold]{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
        disable=not err_console.is_terminal,
    ) as bar:

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update
