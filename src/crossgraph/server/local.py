"""The project's own Neo4j: Community 5.26 LTS from Maven Central, run embedded with Bolt.

No Docker engine is needed: the jars are fetched once with Maven into the cache folder, a
small launcher (java/CrossgraphNeo4j.java) is compiled next to them, and the server runs
as a detached JVM bound to 127.0.0.1 with authentication on. The password is generated
once and kept in <data_dir>/neo4j/password, readable by the user only; the launcher reads it
from that file (never from its command line or environment, which /proc shows). The data
folder is 0700 and everything Neo4j writes in it 0600 (the JVM runs with umask 077).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import BinaryIO

from crossgraph.errors import Neo4jServerError
from crossgraph.settings import Settings, parse_memory

LAUNCHER_CLASS = "CrossgraphNeo4j"
PRIVATE_UMASK = 0o077  # what the JVM creates (store, transaction logs, debug.log) is 0600/0700
READY_MARKER = "CROSSGRAPH_NEO4J_READY"
IMPORT_ARRAY_DELIMITER = "\x1f"  # splits array values in import CSVs (ASCII unit separator)

# What Neo4j's own distribution passes to the JVM (conf/neo4j.conf, server.jvm.additional);
# without the --add-opens flags the embedded server fails at start on Java 17+.
JVM_OPTIONS = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dlog4j2.disable.jmx=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
)


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    uri: str
    home: Path
    version: str
    pid: int | None = None
    log: Path | None = None

    def describe(self) -> str:
        if self.running:
            return f"Neo4j {self.version} running (pid {self.pid}) at {self.uri}, data in {self.home}"
        return f"Neo4j {self.version} not running (data folder {self.home})"


class LocalServer:
    """Install, start, stop and inspect the local Neo4j of one data folder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.version = settings.neo4j_version
        self.runtime = settings.cache_dir / f"neo4j-{self.version}"
        self.home = settings.neo4j_home.resolve()

    # -- paths ---------------------------------------------------------------------------
    @property
    def lib_dir(self) -> Path:
        return self.runtime / "lib"

    @property
    def classes_dir(self) -> Path:
        """The launcher compiled from this crossgraph's source: one folder per source digest, so
        checkouts of different versions sharing the cache each run their own launcher."""
        return self.runtime / f"classes-{_launcher_digest()[:12]}"

    @property
    def pid_file(self) -> Path:
        return self.home / "run" / "neo4j.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "crossgraph-neo4j.log"

    @property
    def password_file(self) -> Path:
        return self.home / "password"

    @property
    def uri(self) -> str:
        return f"bolt://{self.settings.neo4j_host}:{self.settings.neo4j_port}"

    # -- install -------------------------------------------------------------------------
    def installed(self) -> bool:
        return self._jars_fetched() and self._launcher_current()  # this source's launcher

    def _jars_fetched(self) -> bool:
        return (self.lib_dir / f"neo4j-{self.version}.jar").exists()

    def _launcher_current(self) -> bool:
        return (self.classes_dir / f"{LAUNCHER_CLASS}.class").exists()

    def install(self, echo: Callable[[str], None] = print) -> None:
        """Fetch the Neo4j jars with Maven (once) and compile the launcher (again whenever its
        source changed)."""
        if self.installed():
            return
        for tool in ("java", "javac", *(() if self._jars_fetched() else ("mvn",))):
            if shutil.which(tool) is None:
                raise Neo4jServerError(
                    f"`{tool}` is not on PATH; the local Neo4j needs Java 17+ and Maven "
                    "(or set CROSSGRAPH_NEO4J_URI to use another server)"
                )
        self.runtime.mkdir(parents=True, exist_ok=True)
        java_src = resources.files("crossgraph.server") / "java"
        # Each part moves into place only when complete, so a broken fetch or compile is never
        # mistaken for an install.
        with tempfile.TemporaryDirectory(dir=self.runtime) as tmp:
            staging = Path(tmp)
            if not self._jars_fetched():
                pom = staging / "pom.xml"
                pom.write_bytes((java_src / "pom.xml").read_bytes())
                echo(f"Fetching Neo4j Community {self.version} jars from Maven Central into {self.lib_dir}")
                self._run(
                    [
                        "mvn",
                        "-B",
                        "-q",
                        "-f",
                        str(pom),
                        f"-Dneo4j.version={self.version}",
                        "dependency:copy-dependencies",
                        f"-DoutputDirectory={staging / 'lib'}",
                        "-DincludeScope=runtime",
                    ],
                    "fetching the Neo4j jars with Maven",
                )
                if not (staging / "lib" / f"neo4j-{self.version}.jar").exists():
                    raise Neo4jServerError(f"Maven finished but neo4j-{self.version}.jar is missing")
                _replace(self.lib_dir, staging / "lib")
            source = staging / f"{LAUNCHER_CLASS}.java"
            source.write_bytes((java_src / f"{LAUNCHER_CLASS}.java").read_bytes())
            self._run(
                ["javac", "-d", str(staging / "classes"), "-cp", f"{self.lib_dir}/*", str(source)],
                "compiling the Neo4j launcher",
            )
            _replace(self.classes_dir, staging / "classes")

    @staticmethod
    def _run(command: list[str], what: str) -> None:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
            raise Neo4jServerError(f"{what} failed (exit {result.returncode}):\n{tail}")

    # -- password ------------------------------------------------------------------------
    def password(self, create: bool = False) -> str:
        if not self.password_file.exists():
            if not create:
                raise Neo4jServerError(
                    f"no password at {self.password_file}: start the local server first "
                    "(crossgraph neo4j start) or set CROSSGRAPH_NEO4J_URI and CROSSGRAPH_NEO4J_PASSWORD"
                )
            self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(24) + "\n")
        return self.password_file.read_text().strip()

    # -- lifecycle -----------------------------------------------------------------------
    def pid(self) -> int | None:
        """The pid of this data folder's running server, or None."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return None
        # The pid may have been reused by another program since; check it is our launcher.
        if LAUNCHER_CLASS in cmdline and str(self.home) in cmdline:
            return pid
        return None

    def status(self) -> ServerStatus:
        pid = self.pid()
        return ServerStatus(
            running=pid is not None,
            uri=self.uri,
            home=self.home,
            version=self.version,
            pid=pid,
            log=self.log_file,
        )

    def start(self, echo: Callable[[str], None] = print) -> ServerStatus:
        """Start the server and return once Bolt accepts our credentials."""
        current = self.status()
        if current.running:
            return current
        self.install(echo)
        host, port = self.settings.neo4j_host, self.settings.neo4j_port
        if _port_in_use(host, port):
            raise Neo4jServerError(
                f"port {port} on {host} is already in use by another program; "
                "set CROSSGRAPH_NEO4J_PORT to a free port"
            )
        password = self.password(create=True)
        for folder in (self.home / "run", self.home / "logs"):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        make_private(self.home)
        heap = self.settings.neo4j_heap
        command = [
            "java",
            f"-Xms{heap}",
            f"-Xmx{heap}",
            *JVM_OPTIONS,
            "-cp",
            f"{self.lib_dir}/*{os.pathsep}{self.classes_dir}",
            LAUNCHER_CLASS,
            str(self.home),
            host,
            str(port),
            str(parse_memory(self.settings.neo4j_pagecache)),
            str(parse_memory(self.settings.neo4j_tx_memory)),
            self.settings.neo4j_tx_log_retention,
            str(self.password_file),
        ]
        with _private_append(self.log_file) as log:
            offset = log.tell()
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.home,
                umask=PRIVATE_UMASK,
            )
        _write_private(self.pid_file, f"{process.pid}\n")
        echo(f"Starting Neo4j {self.version} (pid {process.pid}) on {self.uri} ...")
        deadline = time.monotonic() + self.settings.neo4j_start_timeout
        while time.monotonic() < deadline:
            code = process.poll()
            if code is not None:
                self.pid_file.unlink(missing_ok=True)
                raise Neo4jServerError(
                    f"Neo4j exited with code {code} during start. Log tail ({self.log_file}):\n"
                    + self._log_tail(offset)
                )
            if READY_MARKER in self._log_text(offset) and _bolt_answers(self.uri, password):
                return self.status()
            time.sleep(0.25)
        self._terminate(process.pid, timeout=20)
        self.pid_file.unlink(missing_ok=True)
        raise Neo4jServerError(
            f"Neo4j did not answer on {self.uri} within {self.settings.neo4j_start_timeout:.0f} s. "
            f"Log tail ({self.log_file}):\n" + self._log_tail(offset)
        )

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop cleanly (SIGTERM runs Neo4j's shutdown, which checkpoints). False if not running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        self._terminate(pid, timeout)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self, timeout: float = 10.0) -> bool:
        """SIGKILL, as a crash or the OOM killer would: no shutdown, no checkpoint (the next start
        recovers from the transaction log). For resilience tests. False if not running."""
        pid = self.pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def import_csv(
        self,
        nodes: Sequence[tuple[str, Path]],
        relationships: Sequence[tuple[str, Path]],
        report: Path,
        multiline: Sequence[Path] = (),
    ) -> str:
        """Write the database's store from CSV files with Neo4j's offline importer
        (`neo4j-admin database import full`, from the jars the launcher runs), replacing the
        store the database had. The server must be stopped. `nodes` and `relationships` are
        (label or type, file with the importer's header) pairs; arrays are split on
        IMPORT_ARRAY_DELIMITER; the `multiline` files (fields holding line breaks) are read in
        the importer's slower multi-line mode, the others not. The importer's memory outside
        the heap is held to the page cache setting (its own default is 90% of the machine).
        Returns the importer's summary
        ("IMPORT DONE in ... Imported: ... nodes ... relationships ...")."""
        if self.pid() is not None:
            raise Neo4jServerError(f"the importer needs the server stopped; it runs (pid {self.pid()})")
        self.install()
        database = self.settings.neo4j_database
        conf = report.parent / "conf"
        conf.mkdir(mode=0o700, exist_ok=True)
        (conf / "neo4j.conf").touch(mode=0o600)
        heap = self.settings.neo4j_heap
        command = [
            "java",
            f"-Xmx{heap}",
            *JVM_OPTIONS,
            "-cp",
            f"{self.lib_dir}/*",
            "org.neo4j.cli.AdminTool",
            "database",
            "import",
            "full",
            "--verbose",  # on bad input: the file, line and value refused (see _import_error)
            *(f"--nodes={label}={path.resolve()}" for label, path in nodes),
            *(f"--relationships={kind}={path.resolve()}" for kind, path in relationships),
            f"--array-delimiter=U+{ord(IMPORT_ARRAY_DELIMITER):04X}",
            *_multiline_options(multiline),
            "--overwrite-destination=true",
            f"--max-off-heap-memory={parse_memory(self.settings.neo4j_pagecache)}",
            f"--report-file={report.resolve()}",
            database,
        ]
        env = {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(conf)}
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, env=env, umask=PRIVATE_UMASK, cwd=self.home
        )
        if result.returncode != 0:
            raise Neo4jServerError(
                f"neo4j-admin database import failed (exit {result.returncode}):\n"
                + _import_error(result.stdout + result.stderr)
            )
        done = [line for line in result.stdout.splitlines() if line.startswith("IMPORT DONE")]
        return " ".join(done) or result.stdout.strip()[-500:]

    def drop_store(self) -> None:
        """Remove the database's store and transaction logs (server stopped): the next start
        creates it empty. For a failed import into a database that was empty."""
        data = self.home / "data"
        for folder in (data / "databases", data / "transactions"):
            shutil.rmtree(folder / self.settings.neo4j_database, ignore_errors=True)

    @staticmethod
    def _terminate(pid: int, timeout: float) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def _log_text(self, offset: int) -> str:
        try:
            with self.log_file.open("rb") as handle:
                handle.seek(offset)
                return handle.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def _log_tail(self, offset: int, lines: int = 30) -> str:
        text = self._log_text(offset).strip() or "(empty)"
        debug = self.home / "logs" / "debug.log"
        if debug.exists():
            text += "\n--- debug.log ---\n" + "\n".join(
                debug.read_text(errors="replace").splitlines()[-lines:]
            )
        return "\n".join(text.splitlines()[-2 * lines :])


def _import_error(output: str) -> str:
    """What the importer said went wrong: the first cause it gives, without the stack frames
    (for bad input: the file, line, field and value it refused), else its last lines that are
    not progress dots."""
    lines = [
        line.rstrip()
        for line in output.splitlines()
        if line.strip() and not line.lstrip().startswith((".", "at ", "..."))
    ]
    causes = [i for i, line in enumerate(lines) if line.startswith("Caused by:")]
    if not causes:
        return "\n".join(lines[-15:])
    return "\n".join(lines[causes[0] : causes[1] if len(causes) > 1 else causes[0] + 12])


def make_private(folder: Path) -> None:
    """No access for group and others under `folder`, itself included: a data folder made
    before the server ran with umask 077 holds 755 folders and 644 files."""
    for path in (folder, *folder.rglob("*")):
        with contextlib.suppress(FileNotFoundError):  # Neo4j may remove a file meanwhile
            mode = stat.S_IMODE(path.lstat().st_mode)
            if mode & PRIVATE_UMASK and not path.is_symlink():
                path.chmod(mode & ~PRIVATE_UMASK)


@contextlib.contextmanager
def _private_append(path: Path) -> Iterator[BinaryIO]:
    """`path` opened for appending, created 0600."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab") as handle:
        yield handle


def _write_private(path: Path, text: str) -> None:
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o600), "w") as handle:
        handle.write(text)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of this process still answers kill(0); reap it if it is ours.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _bolt_answers(uri: str, password: str) -> bool:
    from neo4j import GraphDatabase
    from neo4j.exceptions import AuthError, DriverError, Neo4jError

    try:
        with GraphDatabase.driver(uri, auth=("neo4j", password), connection_timeout=2) as driver:
            driver.verify_connectivity()
        return True
    except AuthError as exc:
        raise Neo4jServerError(
            f"Neo4j at {uri} refused the password in the password file: {exc}. If the data folder "
            "was created with another password, remove it or restore that password file."
        ) from exc
    except (DriverError, Neo4jError, OSError):
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free right now (for tests and parallel servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@functools.cache
def _launcher_digest() -> str:
    source = resources.files("crossgraph.server") / "java" / f"{LAUNCHER_CLASS}.java"
    return hashlib.sha256(source.read_bytes()).hexdigest()


def _replace(target: Path, complete: Path) -> None:
    """Move a complete folder into place. If another install put one there first, keep it: it
    is complete too, and a running server may use it."""
    try:
        complete.rename(target)
    except OSError:
        if not target.exists():
            raise


def _multiline_options(files: Sequence[Path]) -> list[str]:
    """The importer's multi-line mode for these files only (format v2 takes a list of files;
    v1 could only switch it on for every file)."""
    if not files:
        return []
    return ["--multiline-fields-format=v2", "--multiline-fields=" + ",".join(str(f.resolve()) for f in files)]
