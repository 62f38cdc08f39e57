"""A data folder made before the server ran with umask 077 is made private on the next start."""

from __future__ import annotations

import stat
from pathlib import Path

from crossgraph.server.local import make_private


def test_make_private_takes_group_and_other_access_away(tmp_path: Path) -> None:
    home = tmp_path / "neo4j"
    (home / "data" / "databases").mkdir(parents=True)
    store = home / "data" / "databases" / "neostore"
    store.write_bytes(b"")
    script = home / "run.sh"
    script.write_text("")
    for path, mode in ((home, 0o755), (home / "data", 0o755), (store, 0o644), (script, 0o744)):
        path.chmod(mode)
    make_private(home)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (home, home / "data", store, script)}
    assert modes == {"neo4j": 0o700, "data": 0o700, "neostore": 0o600, "run.sh": 0o700}
