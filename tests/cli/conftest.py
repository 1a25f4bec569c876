"""Running `egide` in-process against a live server (real HTTP on a free port).

`egide(*argv)` runs `kms.cli.main.main(argv)` as the superuser `root` (token in
EGIDE_TOKEN, server in EGIDE_ADDR) and returns its exit status and captured output.
The live server needs a transactional database; pytest-django switches to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from kms.cli.main import main
from kms.services.actor import Actor
from kms.services.tokens import token_create


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


Egide = Callable[..., Run]


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    """No ambient configuration: a private config dir, no token, no address."""
    monkeypatch.setenv("EGIDE_CONFIG_DIR", str(tmp_path / "egide-config"))
    monkeypatch.delenv("EGIDE_TOKEN", raising=False)
    monkeypatch.delenv("EGIDE_ADDR", raising=False)
    monkeypatch.delenv("EGIDE_FILE_SEGMENT_SIZE", raising=False)
    return monkeypatch


@pytest.fixture
def run_cli(capsys) -> Egide:
    def run(*argv: str) -> Run:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


@pytest.fixture
def root_token(root) -> str:
    _, raw = token_create(actor=Actor.system(), user=root, name="cli-tests")
    return raw


@pytest.fixture
def strict_state(settings):
    """The server in its strict, synchronous modes (both documented settings).

    - EGIDE_STATE_WINDOW_MS=0: key state is read on every request. The spec's walk-through
      runs commands back to back (rotate, then encrypt at once); with the default window
      (250 ms) the process that did the rotation keeps encrypting under the old version
      for up to that long: a server matter (reported), not the CLI's.
    - EGIDE_AUDIT_SINK=table: data-plane audit rows written in the request. The default
      spool's background shipper thread deadlocks with the test database's flush on
      PostgreSQL and ships rows for users the flush deleted (reported).
    """
    settings.EGIDE_STATE_WINDOW_MS = 0
    settings.EGIDE_AUDIT_SINK = "table"


@pytest.fixture
def egide(live_server, root_token, cli_env, run_cli, strict_state) -> Egide:
    cli_env.setenv("EGIDE_ADDR", live_server.url)
    cli_env.setenv("EGIDE_TOKEN", root_token)
    return run_cli
