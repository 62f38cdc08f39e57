"""Commands that write files refuse a path they cannot write before doing any work."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from crossgraph.cli import app

WIDE = {"COLUMNS": "400", "TERMINAL_WIDTH": "400"}  # long temporary paths stay on one line


def plain(output: str) -> str:
    """The message without the error panel's frame and line breaks."""
    return " ".join(output.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "A1", "--out", "{missing}/plan.md"],
        ["whitespace", "--csv", "{missing}/ws.csv"],
        ["load", "{tmp}", "--skip-invalid", "--rejects", "{missing}/rejects.csv"],
    ],
)
def test_an_output_file_in_a_missing_folder_is_refused_up_front(args: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such"
    argv = [a.format(missing=missing, tmp=tmp_path) for a in args]
    result = CliRunner().invoke(app, argv, env=WIDE)
    assert result.exit_code == 2, result.output  # a usage error: nothing ran, no traceback
    assert f"the folder {missing} does not exist" in plain(result.output)
    assert "Traceback" not in result.output


def test_an_output_path_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["plan", "A1", "--out", str(tmp_path)], env=WIDE)
    assert result.exit_code == 2
    assert "is a folder; give a file name" in plain(result.output)
