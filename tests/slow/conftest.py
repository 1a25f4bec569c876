"""Fixtures of the reliability tests: a PostgreSQL database and production-like servers.

The database `egide_fault` is cloned for each test from `egide_fault_template`, which is
migrated and bootstrapped once per session (8 s of migrations, paid once). Both are
created on the PostgreSQL server of $EGIDE_TEST_POSTGRES_URL (127.0.0.1 only) and dropped
at the end, even on failure; that server itself is never stopped or reconfigured. Servers
run in their own process groups and are stopped by their pid. One run at a time per
machine: a lock file serialises runs (the database names are fixed, and the timings
would measure each other).

Each test's figures go to test-artifacts/reliability/<test>.json and are printed at the
end of the run (the source of docs/reliability.md).
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.slow.servers import REPO, Postgres, Server, Site, new_secrets, production_env

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/test"
DATABASE = "egide_fault"
TEMPLATE = "egide_fault_template"
LOCK_FILE = Path("/tmp/egide-reliability-tests.lock")  # noqa: S108 - a lock, no data
LOCK_WAIT_SECONDS = 600
ARTIFACTS = REPO / "test-artifacts" / "reliability"
_FIGURES: list[dict[str, Any]] = []


@pytest.fixture(scope="session")
def pg() -> Postgres:
    pg = Postgres.from_url(os.environ.get("EGIDE_TEST_POSTGRES_URL", DEFAULT_PG))
    try:
        pg.admin("SELECT 1")
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"the reliability tests need PostgreSQL on 127.0.0.1:{pg.port}: {exc}")
    return pg


@pytest.fixture(scope="session")
def _one_run_at_a_time():
    with open(LOCK_FILE, "w") as lock:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another reliability run holds {LOCK_FILE} for over {LOCK_WAIT_SECONDS} s")
                time.sleep(1)
        yield
        fcntl.flock(lock, fcntl.LOCK_UN)


def _drop(pg: Postgres, database: str) -> None:
    pg.admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


@pytest.fixture(scope="session")
def template_site(pg, _one_run_at_a_time, tmp_path_factory) -> Site:
    """Migrated and bootstrapped once; every test gets a clone (CREATE DATABASE ... TEMPLATE)."""
    workdir = tmp_path_factory.mktemp("egide-template")
    master_key, secret_key = new_secrets()
    _drop(pg, TEMPLATE)
    pg.admin(f"CREATE DATABASE {TEMPLATE}")
    try:
        site = Site(pg, TEMPLATE, production_env(pg, TEMPLATE, workdir, master_key, secret_key), "", workdir)
        site.manage("migrate", "--no-input", timeout=300)
        out = site.manage("egide_bootstrap", "--no-save-token").stdout
        tokens = [line.split()[-1] for line in out.splitlines() if line.strip().startswith("API token")]
        assert tokens and tokens[0].startswith("egd_"), f"egide_bootstrap printed no token:\n{out}"
        site.token = tokens[0]
        site.env["EGIDE_TEST_MASTER_KEY"] = master_key  # kept for the clones (not read by Egide)
        site.env["EGIDE_TEST_SECRET_KEY"] = secret_key
        yield site
    finally:
        _drop(pg, TEMPLATE)


@pytest.fixture
def site(template_site, pg, tmp_path) -> Site:
    """A fresh database `egide_fault` (a clone of the template) and its production environment."""
    _drop(pg, DATABASE)
    pg.admin(f"CREATE DATABASE {DATABASE} TEMPLATE {TEMPLATE}")
    env = production_env(
        pg,
        DATABASE,
        tmp_path,
        template_site.env["EGIDE_TEST_MASTER_KEY"],
        template_site.env["EGIDE_TEST_SECRET_KEY"],
    )
    try:
        yield Site(pg, DATABASE, env, template_site.token, tmp_path)
    finally:
        _drop(pg, DATABASE)


@pytest.fixture
def servers(site):
    """start(**Server options) -> a running Server; all stopped at teardown (logs shown)."""
    started: list[Server] = []

    def start(**options: Any) -> Server:
        server = Server(site, **options)
        started.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in reversed(started):
            server.stop()
            print(f"--- {server.name} (port {server.port}) log tail:\n{server.log_tail(15)}")


@pytest.fixture
def figures(request) -> dict[str, Any]:
    """The test's measured figures: saved as JSON and printed at the end of the run."""
    started = time.monotonic()
    data: dict[str, Any] = {}
    yield data
    entry = {
        "test": request.node.nodeid,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "seconds": round(time.monotonic() - started, 1),
        "passed": not getattr(request.node, "_egide_failed", False),
        "figures": data,
    }
    _FIGURES.append(entry)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{request.node.name}.json").write_text(json.dumps(entry, indent=2, default=str) + "\n")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        item._egide_failed = True
    return report


def _machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        psql = subprocess.run(["psql", "--version"], capture_output=True, text=True, timeout=5)  # noqa: S607
        pg_version = psql.stdout.split()[-1]
    except (OSError, subprocess.SubprocessError, IndexError):
        pg_version = "?"
    system = f"Linux {platform.release()}, PostgreSQL {pg_version}"
    return f"{platform.node()}: {os.cpu_count()} CPU ({cpu}), {system}"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _FIGURES:
        return
    write = terminalreporter.write_line
    terminalreporter.section("reliability figures (also in test-artifacts/reliability/)")
    for entry in _FIGURES:
        state = "passed" if entry["passed"] else "FAILED"
        write(f"{entry['test']}  [{state}, {entry['seconds']} s, {entry['date']}]")
        for name, value in entry["figures"].items():
            write(f"    {name}: {json.dumps(value, default=str)}")
    write(f"machine: {_FIGURES[0]['machine']}")
