"""Production-like Egide nodes for the reliability tests: PostgreSQL, sites, servers.

No Django here (client processes import these modules): a site is a PostgreSQL database
with its production environment; a server is granian serving egide_site.wsgi with that
environment, in its own process group, stopped by its pid. Every wait is bounded.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

from tests.slow.traffic import HOST, Http

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GRANIAN = BIN / "granian"
SERVE = REPO / "scripts" / "serve"  # the production command (issue 19)
# Variables of the test runner's own environment that must not reach a production server.
_RUNNER_ONLY = (
    "DATABASE_URL",
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
)


# ------------------------------------------------------------------- PostgreSQL ----
@dataclass(frozen=True)
class Postgres:
    """The PostgreSQL server the tests create their own databases on (never stopped)."""

    user: str
    password: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> Postgres:
        parts = urlsplit(url.replace("postgresql://", "postgres://", 1))
        if parts.hostname not in ("127.0.0.1", "localhost"):
            raise RuntimeError(f"refusing PostgreSQL at {parts.hostname}: only 127.0.0.1")
        return cls(parts.username or "postgres", parts.password or "", parts.port or 5432)

    def url(self, database: str) -> str:
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"postgres://{auth}@{HOST}:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host=HOST,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=database,
            autocommit=True,
            connect_timeout=5,
        )

    def admin(self, *statements: str) -> None:
        """Run statements on the `postgres` database (never on the one under test)."""
        with self.connect() as conn:
            for statement in statements:
                conn.execute(statement)


# ------------------------------------------------------------------------- site ----
@dataclass
class Site:
    """One Egide installation: a database and the production environment of its nodes."""

    pg: Postgres
    database: str
    env: dict[str, str]
    token: str
    workdir: Path

    def manage(
        self,
        *args: str,
        extra_env: dict[str, str] | None = None,
        timeout: float = 120,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            command = " ".join(args)
            raise AssertionError(f"manage.py {command}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done

    def sql(self, query: str, params: Iterable[Any] = ()) -> list[tuple]:
        with self.pg.connect(self.database) as conn:
            cursor = conn.execute(query, tuple(params))
            return cursor.fetchall() if cursor.description is not None else []


def production_env(pg: Postgres, database: str, workdir: Path, master_key: str, secret_key: str) -> dict[str, str]:
    """The environment of bench/run.sh's server: DEBUG off, every secret given, TLS in front."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("EGIDE_", "DJANGO_")) and name not in _RUNNER_ONLY
    }
    env.update(
        SECRET_KEY=secret_key,
        ALLOWED_HOSTS=HOST,
        EGIDE_HTTPS="0",
        EGIDE_MASTER_KEY=master_key,
        DATABASE_URL=pg.url(database),
        EGIDE_VAR_DIR=str(workdir / "var"),
        EGIDE_CONFIG_DIR=str(workdir / "cli"),
        EGIDE_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def new_secrets() -> tuple[str, str]:
    """A throw-away master key (32 random bytes, base64) and SECRET_KEY, for this run only."""
    return base64.b64encode(os.urandom(32)).decode(), base64.b64encode(os.urandom(48)).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# ----------------------------------------------------------------------- server ----
def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


class Server:
    """granian --interface wsgi ... egide_site.wsgi:application, in its own process group."""

    def __init__(
        self,
        site: Site,
        *,
        workers: int = 2,
        port: int | None = None,
        name: str = "egide",
        spool_dir: Path | None = None,
        env: dict[str, str] | None = None,
        granian_args: tuple[str, ...] = (),
        threads: int = 1,
    ) -> None:
        self.site, self.workers, self.name, self.granian_args = site, workers, name, granian_args
        self.threads = threads
        self.port = port or free_port()
        self.spool_dir = spool_dir or site.workdir / f"spool-{name}"
        self.env = {**site.env, "EGIDE_AUDIT_SPOOL_DIR": str(self.spool_dir), **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = site.workdir / f"{name}-{self.port}.log"
        self.starts = 0

    def start(self, timeout: float = 40.0) -> Server:
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError(f"{self.name} already runs")
        self.starts += 1
        log = open(self.log, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.proc = subprocess.Popen(  # noqa: S603 - the production command, our arguments
                [
                    str(SERVE),  # scripts/serve: it execs granian, so this pid is granian's master
                    "--host",
                    HOST,
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                    "--threads",
                    str(self.threads),
                    "--",
                    *self.granian_args,
                ],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited while starting:\n{self.log_tail()}")
            last = Http(self.port, self.site.token, timeout=5).request("GET", "/v1/kms/keys?limit=1")
            if last.status == 200 and len(self.worker_pids()) >= self.workers:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready in {timeout:.0f} s (last: {last}):\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def worker_pids(self) -> list[int]:
        """The worker processes: the master's children that run granian (not the audit shipper)."""
        return [pid for pid in self._children() if b"granian" in _cmdline(pid)]

    def shipper_pids(self) -> list[int]:
        """The node's audit shipper (scripts/serve forks it beside granian's workers)."""
        return [pid for pid in self._children() if b"kms_audit_ship" in _cmdline(pid)]

    def _children(self) -> list[int]:
        if self.proc is None or self.proc.poll() is not None:
            return []
        return children(self.proc.pid)

    def kill_worker(self) -> int:
        pids = self.worker_pids()
        if not pids:
            raise RuntimeError(f"{self.name} has no worker to kill")
        victim = pids[0]
        os.kill(victim, signal.SIGKILL)
        return victim

    def kill(self) -> None:
        """SIGKILL to the whole server at once (its own process group: only what we started)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, then SIGKILL to the process group of what is left after `grace` seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # workers left behind, if any
        except ProcessLookupError:
            pass
        if self.proc.poll() is None:
            self.proc.wait(timeout=10)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def http(self, token: str | None = None, timeout: float = 10.0, keep_alive: bool = True) -> Http:
        return Http(self.port, token or self.site.token, timeout=timeout, keep_alive=keep_alive)


# ------------------------------------------------------------------ the database ----
def verify_chain(site: Site) -> tuple[str, float]:
    """`manage.py kms_audit_verify` (must exit 0); its line and how long it took."""
    started = time.monotonic()
    done = site.manage("kms_audit_verify", check=False)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, f"audit chain does not verify:\n{done.stdout}\n{done.stderr}"
    return done.stdout.strip(), elapsed


def ship(site: Site, spool_dir: Path) -> int:
    """`manage.py kms_audit_ship` for one node's spool directory; the number of events shipped."""
    done = site.manage("kms_audit_ship", extra_env={"EGIDE_AUDIT_SPOOL_DIR": str(spool_dir)})
    words = done.stdout.split()
    return int(words[1]) if len(words) > 1 and words[1].isdigit() else -1


def versions_of(site: Site, key: str) -> tuple[list[int], int]:
    """A key's version numbers (in order, duplicates kept) and its current_version."""
    rows = site.sql(
        "SELECT v.version FROM kms_keyversion v JOIN kms_key k ON k.id = v.key_id WHERE k.name = %s ORDER BY v.version",
        [key],
    )
    current = site.sql("SELECT current_version FROM kms_key WHERE name = %s", [key])[0][0]
    return [row[0] for row in rows], current
