"""Production settings pass Django's deployment checklist, and say what they promise:
HTTPS only (redirect, HSTS), secure and HTTP-only cookies, a real SECRET_KEY.

Each test starts a fresh process with a production environment (EGIDE_DEV unset), since
settings are read once, at start.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHOWN = (
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "X_FRAME_OPTIONS",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SESSION_COOKIE_SAMESITE",
    "SILENCED_SYSTEM_CHECKS",
    "AXES_FAILURE_LIMIT",
)


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    unset = ("EGIDE_", "DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(unset)}
    env.update(
        DJANGO_SETTINGS_MODULE="egide_site.settings",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="egide.example.com",
        EGIDE_MASTER_KEY=base64.b64encode(os.urandom(32)).decode(),
        DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}",
        EGIDE_VAR_DIR=str(tmp_path / "var"),
        **extra,
    )
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter, our own manage.py
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_deployment_check_finds_no_issues(tmp_path: Path) -> None:
    out = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "System check identified no issues (0 silenced)." in out.stdout, out.stdout + out.stderr


def _production_settings(tmp_path: Path, **extra: str) -> dict[str, Any]:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {SHOWN!r}}}))"
    )
    out = run(["-c", code], production_env(tmp_path, **extra))
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_production_is_https_only_with_secure_cookies(tmp_path: Path) -> None:
    assert _production_settings(tmp_path) == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SILENCED_SYSTEM_CHECKS": [],
        "AXES_FAILURE_LIMIT": 5,
    }


def test_production_refuses_to_start_without_its_secrets(tmp_path: Path) -> None:
    for missing in ("SECRET_KEY", "EGIDE_MASTER_KEY", "ALLOWED_HOSTS"):
        env = production_env(tmp_path)
        del env[missing]
        out = run(["manage.py", "check"], env)
        assert out.returncode != 0 and missing in out.stderr, (missing, out.stderr[-500:])
