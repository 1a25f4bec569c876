#!/usr/bin/env python3
"""Run Egide's test suite against SQLite and PostgreSQL (what `make test` and .ci/run do).

- SQLite always.
- PostgreSQL at $EGIDE_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test)
  when reachable; when REQUIRE_POSTGRES=1 (CI) an unreachable server is a failure.
- Browser tests (Playwright + /usr/bin/chromium) run in the SQLite pass; they skip with a
  message when chromium is missing, unless REQUIRE_BROWSER=1 (CI), where that fails.
- `--slow` runs only the long load/fault tests (marker `slow`, tests/slow): one pass, on
  PostgreSQL (required), one test at a time — they start their own servers on a database
  of their own, and measure timings that parallel tests would distort.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/test"
# A fixed, public test master key: tests only, never a deployment.
TEST_MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LWZvci1lZ2lkZS10ZXN0cyE="


def postgres_reachable(url: str) -> bool:
    try:
        import psycopg

        dsn = url.replace("postgres://", "postgresql://", 1)
        # The server, not the named database: pytest-django creates test_<name> itself.
        with psycopg.connect(dsn.rsplit("/", 1)[0] + "/postgres", connect_timeout=3):
            return True
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        print(f"PostgreSQL not reachable at {url}: {exc}".strip(), file=sys.stderr)
        return False


def pytest(label: str, database_url: str, marker: str, extra: list[str], workers: str = "2") -> int:
    env = dict(os.environ)
    var_dir = tempfile.mkdtemp(prefix=f"egide-test-{label}-")
    env.update(
        DATABASE_URL=database_url,
        EGIDE_DEV="1",
        EGIDE_MASTER_KEY=TEST_MASTER_KEY,
        EGIDE_VAR_DIR=var_dir,
        EGIDE_TEST_DB_LABEL=label,
        # Tests see every change at once (no cache window) and audit rows synchronously;
        # the spool and the window have their own tests (tests/dataplane).
        EGIDE_STATE_WINDOW_MS="0",
        EGIDE_AUDIT_SINK="table",
    )
    workers = os.environ.get("EGIDE_TEST_WORKERS", workers)
    cmd = [sys.executable, "-m", "pytest", "-m", marker, "-n", workers, "--dist", "loadfile", "--durations=15", *extra]
    print(f"\n=== {label}: {' '.join(cmd[2:])}", flush=True)
    return subprocess.call(cmd, env=env)  # noqa: S603 - this interpreter, our own arguments


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["sqlite", "postgres"])
    ap.add_argument("--slow", action="store_true")
    args, extra = ap.parse_known_args()

    base_marker = "slow" if args.slow else "not slow"
    if args.slow and args.only is None:
        args.only = "postgres"
    failures = []
    if args.only in (None, "sqlite"):
        if pytest("sqlite", "sqlite:///:memory:", base_marker, extra) != 0:
            failures.append("sqlite")
    if args.only in (None, "postgres"):
        url = os.environ.get("EGIDE_TEST_POSTGRES_URL", DEFAULT_PG)
        if postgres_reachable(url):
            marker = f"{base_marker} and not browser"
            if pytest("postgres", url, marker, extra, workers="0" if args.slow else "2") != 0:
                failures.append("postgres")
        elif os.environ.get("REQUIRE_POSTGRES") == "1" or args.only == "postgres":
            failures.append("postgres (unreachable)")
        else:
            print("\n*** PostgreSQL pass SKIPPED: no server (set EGIDE_TEST_POSTGRES_URL) ***\n")
    if failures:
        print(f"\nFAILED passes: {', '.join(failures)}", file=sys.stderr)
        return 1
    print("\nAll test passes succeeded.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
