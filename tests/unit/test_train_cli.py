"""`crossgraph train --parquet` refuses what it cannot do before touching the graph or Spark."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from crossgraph.cli import app
from crossgraph.settings import get_settings
from tests.unit.test_cli_paths import WIDE, plain


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--parquet", "{tmp}"], "--parquet goes with --engine spark"),
        (
            ["--engine", "spark", "--parquet", "{tmp}", "--tune-minutes", "1"],
            "--tune-minutes needs the order lines on this machine; it does not go with --parquet",
        ),
    ],
)
def test_train_from_parquet_refuses_what_it_cannot_do(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSGRAPH_MODEL_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    argv = ["train", *(a.format(tmp=tmp_path) for a in args)]
    result = CliRunner().invoke(app, argv, env=WIDE)
    get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert message in plain(result.output)
    assert "Traceback" not in result.output
