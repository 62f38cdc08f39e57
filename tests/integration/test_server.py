"""The local Neo4j the project starts itself: loopback only, authentication on, restarts keep data."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest

from crossgraph.errors import GraphUnavailable, Neo4jServerError
from crossgraph.graph.driver import Graph, open_driver
from crossgraph.server.local import LocalServer, free_port
from crossgraph.settings import Settings

pytestmark = pytest.mark.neo4j


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP listener on `port`, from /proc/net/tcp{,6}."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:
                found.add(address)
    return found


def test_bolt_listens_on_loopback_only_with_a_private_password(neo4j_settings: Settings) -> None:
    if not neo4j_settings.uses_local_server:
        pytest.skip("an external server is configured; this checks the local one")
    server = LocalServer(neo4j_settings)
    status = server.status()
    assert status.running and status.pid is not None
    addresses = listening_addresses(neo4j_settings.neo4j_port)
    assert addresses, "nothing listens on the Bolt port"
    # 127.0.0.1 as IPv4, or IPv4-mapped in an IPv6 socket (::ffff:127.0.0.1); never 0.0.0.0 or ::.
    assert addresses <= {"0100007F", "0000000000000000FFFF00000100007F"}, addresses
    mode = stat.S_IMODE(server.password_file.stat().st_mode)
    assert mode == 0o600
    assert len(server.password()) >= 24


def test_store_and_logs_are_private_and_the_password_stays_in_its_file(neo4j_settings: Settings) -> None:
    """Other users of the machine can read neither the data nor the password (issue 14, item 9)."""
    if not neo4j_settings.uses_local_server:
        pytest.skip("an external server is configured; this checks the local one")
    server = LocalServer(neo4j_settings)
    pid = server.status().pid
    home = server.home
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    modes = {path.relative_to(home).as_posix(): stat.S_IMODE(path.stat().st_mode) for path in home.rglob("*")}
    # The store, its transaction logs and Neo4j's own log were all written by the running JVM.
    assert {"data/databases/neo4j/neostore", "data/transactions/neo4j", "logs/debug.log"} <= modes.keys()
    assert {"logs/crossgraph-neo4j.log", "run/neo4j.pid", "password"} <= modes.keys()
    readable_by_others = {name: oct(mode) for name, mode in modes.items() if mode & 0o077}
    assert readable_by_others == {}
    secret = server.password().encode()
    for view in ("cmdline", "environ"):
        assert secret not in Path(f"/proc/{pid}/{view}").read_bytes(), (
            f"the password is in /proc/{pid}/{view}"
        )


def test_wrong_password_and_default_password_are_refused(neo4j_settings: Settings) -> None:
    if not neo4j_settings.uses_local_server:
        pytest.skip("an external server is configured; this checks the local one")
    for password in ("neo4j", "wrong-password"):
        settings = Settings(
            neo4j_uri=f"bolt://127.0.0.1:{neo4j_settings.neo4j_port}",
            neo4j_password=password,
            data_dir=neo4j_settings.data_dir,
        )
        with pytest.raises(GraphUnavailable, match="refused the credentials"):
            open_driver(settings)


def test_start_when_running_returns_the_running_server(neo4j_settings: Settings) -> None:
    if not neo4j_settings.uses_local_server:
        pytest.skip("an external server is configured; this checks the local one")
    server = LocalServer(neo4j_settings)
    pid = server.status().pid
    assert server.start(echo=lambda _: None).pid == pid


def test_port_taken_by_another_program_is_named(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        settings = Settings(neo4j_uri=None, neo4j_port=port, data_dir=tmp_path)
        with pytest.raises(Neo4jServerError, match=f"port {port} .* already in use"):
            LocalServer(settings).start(echo=lambda _: None)
    assert not LocalServer(settings).status().running


@pytest.mark.slow
def test_stop_and_start_again_keeps_the_data(tmp_path: Path) -> None:
    settings = Settings(
        neo4j_uri=None,
        neo4j_port=free_port(),
        neo4j_heap="512m",
        neo4j_pagecache="128m",
        neo4j_tx_memory="256m",
        neo4j_tx_log_retention="2 files",
        data_dir=tmp_path,
    )
    server = LocalServer(settings)
    try:
        server.start(echo=lambda _: None)
        with Graph.connect(settings) as graph:
            graph.write("upsert_accounts", {"rows": [{"id": "A1", "name": "Kept"}]})
            retention = graph.write_text(
                "SHOW SETTINGS YIELD name, value WHERE name = $name RETURN value",
                {"name": "db.tx_log.rotation.retention_policy"},
            )
            assert retention == [{"value": "2 files"}]  # from settings, not Neo4j's "2 days"
        assert server.stop() is True
        assert not server.status().running
        assert server.stop() is False
        server.start(echo=lambda _: None)
        with Graph.connect(settings) as graph:
            assert graph.read("find_account_ids", {"ids": ["A1", "A2"]}) == [{"id": "A1"}]
    finally:
        server.stop()


def test_external_uri_without_server_fails_with_a_clear_message(tmp_path: Path) -> None:
    settings = Settings(
        neo4j_uri=f"bolt://127.0.0.1:{free_port()}", neo4j_password="x" * 8, data_dir=tmp_path
    )
    with pytest.raises(GraphUnavailable, match="is not reachable"):
        open_driver(settings)
