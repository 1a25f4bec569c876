"""Settings from the environment: a clean production deploy check, loud failures on bad
values (naming the variable, never echoing a secret), and the development first run.

Each case starts a real `manage.py` in a subprocess with an environment built from
nothing, so nothing of the test runner's own configuration leaks in.
"""

from __future__ import annotations

import base64
import os
import re
import runpy
import secrets
import stat
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from kms.crypto import MasterKey

BASE_DIR = Path(__file__).resolve().parent.parent
MANAGE = BASE_DIR / "manage.py"


def check_ids(output: str) -> list[str]:
    """The distinct check ids reported, e.g. ['security.W004'] (for a short failure message)."""
    return sorted(set(re.findall(r"\(([a-z_]+\.[A-Z]\d+)\)", output)))


def run(args: list[str], env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own manage.py, with our own arguments
        [sys.executable, str(MANAGE), *args],
        env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


@pytest.fixture
def production(tmp_path) -> dict[str, str]:
    """A complete production environment: every secret given, HTTPS assumed."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "egide.example.com",
        "EGIDE_MASTER_KEY": MasterKey.generate_base64(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'egide.sqlite3'}",
        "EGIDE_VAR_DIR": str(tmp_path / "var"),
    }


def test_the_production_deploy_check_is_clean(production, tmp_path):
    result = run(["check", "--deploy"], production)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "System check identified no issues" in output, check_ids(output)
    # and production never falls back to generated development secrets
    assert not (tmp_path / "var" / "dev-master.key").exists()
    assert not (tmp_path / "var" / "dev-secret-key").exists()


def test_the_deploy_check_is_clean_behind_a_tls_proxy(production):
    result = run(["check", "--deploy"], {**production, "EGIDE_HTTPS": "0"})
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "System check identified no issues" in output, check_ids(output)


SETTINGS_FILE = BASE_DIR / "egide_site" / "settings.py"
OURS = ("EGIDE_", "DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS")


def refused(env: dict[str, str], monkeypatch) -> str:  # noqa: ANN001
    """Read the settings as a start does, in this process (a subprocess per case costs half a
    second): they must refuse. Return all a start would print: message and traceback."""
    for name in [n for n in os.environ if n.startswith(OURS)]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith(OURS):
            monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured) as err:
        runpy.run_path(str(SETTINGS_FILE), run_name="egide_settings_under_test")
    return "".join(traceback.format_exception(err.value))


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_the_real_start_refuses_a_bad_value_naming_it_without_echoing_it(production):
    """End to end, once: manage.py exits non-zero, its last line names the variable."""
    bad = "this is not base64 but a secret!!"
    for change, variable in [
        ({"EGIDE_MASTER_KEY": bad}, "EGIDE_MASTER_KEY"),
        ({"EGIDE_DEV": "maybe"}, "EGIDE_DEV"),
    ]:
        result = run(["check"], {**production, **change})
        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        assert "ImproperlyConfigured" in last_line(output) and variable in last_line(output)
        assert bad not in output


BAD_MASTER_KEYS = {
    "not base64": "this is not base64!!",
    "16 bytes": base64.b64encode(b"k" * 16).decode(),
    "33 bytes": base64.b64encode(b"k" * 33).decode(),
    "not canonical": "dGVzdC1tYXN0ZXIta2V5LWZvci1lZ2lkZS10ZXN0cyF=",
    "url-safe alphabet": base64.urlsafe_b64encode(b"\xfb" * 32).decode(),
}


@pytest.mark.parametrize("problem", sorted(BAD_MASTER_KEYS))
def test_a_bad_master_key_stops_the_start_without_echoing_it(production, monkeypatch, problem):
    value = BAD_MASTER_KEYS[problem]
    output = refused({**production, "EGIDE_MASTER_KEY": value}, monkeypatch)
    assert "EGIDE_MASTER_KEY" in last_line(output)
    assert value not in output and value.rstrip("=") not in output


def test_a_bad_old_master_key_stops_the_start_without_echoing_it(production, monkeypatch):
    good = MasterKey.generate_base64()
    output = refused({**production, "EGIDE_MASTER_KEYS_OLD": f"{good},short"}, monkeypatch)
    assert "EGIDE_MASTER_KEYS_OLD" in last_line(output)
    assert good not in output


def test_a_bad_master_key_file_stops_the_start_without_echoing_it(production, monkeypatch, tmp_path):
    path = tmp_path / "master.key"
    path.write_text("c2hvcnQ=\n")
    env = {k: v for k, v in production.items() if k != "EGIDE_MASTER_KEY"}
    output = refused({**env, "EGIDE_MASTER_KEY_FILE": str(path)}, monkeypatch)
    assert "EGIDE_MASTER_KEY" in last_line(output) and "c2hvcnQ" not in output


@pytest.mark.parametrize(
    "change, variable",
    [
        ({"EGIDE_DEV": "maybe"}, "EGIDE_DEV"),
        ({"EGIDE_HTTPS": "sometimes"}, "EGIDE_HTTPS"),
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": None, "SECRET_KEY_FILE": "/nonexistent/secret"}, "SECRET_KEY_FILE"),
        ({"EGIDE_MASTER_KEY": None}, "EGIDE_MASTER_KEY"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS"),
        ({"DATABASE_URL": "nonsense://db/egide"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://egide:hunter2@db:port/egide"}, "DATABASE_URL"),
        ({"EGIDE_DELETION_WINDOW_DAYS": "abc"}, "EGIDE_DELETION_WINDOW_DAYS"),
        ({"EGIDE_DELETION_WINDOW_DAYS": "0"}, "EGIDE_DELETION_WINDOW_DAYS"),
        ({"EGIDE_DELETION_WINDOW_DAYS": "100000000"}, "EGIDE_DELETION_WINDOW_DAYS"),
        ({"EGIDE_APPROVALS_REQUIRED_DEFAULT": "11"}, "EGIDE_APPROVALS_REQUIRED_DEFAULT"),
        ({"EGIDE_KEY_CACHE_SIZE": "lots"}, "EGIDE_KEY_CACHE_SIZE"),
        ({"EGIDE_APPROVALS_MAX_PENDING": "0"}, "EGIDE_APPROVALS_MAX_PENDING"),
        ({"EGIDE_AUDIT_SHIPPER": "thread"}, "EGIDE_AUDIT_SHIPPER"),
    ],
)
def test_a_bad_value_stops_the_start_with_a_message_naming_it(production, monkeypatch, change, variable):
    env = {**production, **{k: v for k, v in change.items() if v is not None}}
    for name in [k for k, v in change.items() if v is None]:
        del env[name]
    output = refused(env, monkeypatch)
    assert variable in last_line(output)
    assert "hunter2" not in output
    assert production["SECRET_KEY"] not in output and production["EGIDE_MASTER_KEY"] not in output


def test_the_production_values_themselves_are_accepted(production, monkeypatch):
    """The guard for the cases above: only the one changed value makes them fail."""
    for name in [n for n in os.environ if n.startswith(OURS)]:
        monkeypatch.delenv(name)
    for name, value in production.items():
        if name.startswith(OURS):
            monkeypatch.setenv(name, value)
    values = runpy.run_path(str(SETTINGS_FILE), run_name="egide_settings_under_test")
    assert values["DEBUG"] is False and values["EGIDE_HTTPS"] is True
    assert values["EGIDE_MASTER_KEY"] == production["EGIDE_MASTER_KEY"]


def test_the_development_first_run_generates_a_private_master_key_and_prints_a_token(tmp_path):
    var = tmp_path / "var"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "EGIDE_DEV": "1",
        "EGIDE_VAR_DIR": str(var),
        "EGIDE_CONFIG_DIR": str(tmp_path / "config"),  # where the CLI token is saved
    }
    migrated = run(["migrate", "--noinput"], env)
    assert migrated.returncode == 0, migrated.stderr
    assert (var / "egide.sqlite3").exists()

    first = run(["egide_bootstrap"], env)
    assert first.returncode == 0, first.stderr
    key_file = var / "dev-master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    MasterKey.from_base64(key_file.read_text())  # a valid key
    assert stat.S_IMODE((var / "dev-secret-key").stat().st_mode) == 0o600
    assert "EGIDE DEVELOPMENT MASTER KEY generated" in first.stderr
    assert "Never use it in production" in first.stderr
    assert key_file.read_text().strip() not in first.stdout + first.stderr
    token_lines = [line for line in first.stdout.splitlines() if "API token" in line]
    assert len(token_lines) == 1 and token_lines[0].split(":", 1)[1].strip().startswith("egd_")
    token = token_lines[0].split(":", 1)[1].strip()
    saved = tmp_path / "config" / "token"
    assert saved.read_text().strip() == token
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600

    # The second run keeps the key (no new warning) and reuses the token while it is valid.
    before = key_file.read_text()
    second = run(["egide_bootstrap"], env)
    assert second.returncode == 0, second.stderr
    assert key_file.read_text() == before
    assert "DEVELOPMENT MASTER KEY generated" not in second.stderr
    assert f"API token  : {token}  (reused: still valid)" in second.stdout


def test_make_run_never_clobbers_a_login_token_nor_mints_when_the_port_is_busy(tmp_path):
    import socket

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "EGIDE_DEV": "1",
        "EGIDE_VAR_DIR": str(tmp_path / "var"),
        "EGIDE_CONFIG_DIR": str(tmp_path / "config"),
    }
    assert run(["migrate", "--noinput"], env).returncode == 0
    saved = tmp_path / "config" / "token"
    saved.parent.mkdir(parents=True)
    saved.write_text("egd_saved-by-egide-login\n")
    first = run(["egide_bootstrap"], env)
    assert first.returncode == 0, first.stderr
    assert saved.read_text() == "egd_saved-by-egide-login\n"
    assert "kept the token saved in" in first.stdout
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        refused = run(["egide_bootstrap", "--port", str(port)], env)
    assert refused.returncode != 0 and "is busy" in refused.stderr
    assert "egd_" not in refused.stdout + refused.stderr  # nothing minted, nothing printed
    count = run(["shell", "-c", "from kms.models import ApiToken; print(ApiToken.objects.count())"],
                env)  # fmt: skip
    assert count.stdout.strip().splitlines()[-1] == "1", count.stderr
