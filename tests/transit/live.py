"""A live Egide for the Transit tests that drive it with real clients (hvac, the bao CLI).

A throw-away SQLite database in a temporary directory, migrated, with a superuser and its
token; served by the production server command (granian, egide_site.wsgi: the fast lane in
front) on 127.0.0.1 and a free port, in its own process group, stopped by its pid.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
GRANIAN = Path(sys.executable).parent / "granian"
_MAKE_ROOT = """
from django.contrib.auth import get_user_model
from kms.services.actor import Actor
from kms.services.tokens import token_create
user = get_user_model().objects.create_superuser(username="root", password="not-used-" + "x" * 20)
_token, raw = token_create(actor=Actor(user=user, source="api", auth_method="session"), user=user, name="transit")
print("TOKEN=" + raw)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class LiveEgide:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "egide.log"
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("EGIDE_", "DJANGO_", "DATABASE_URL"))}
        self.env = {
            **keep,
            "DATABASE_URL": f"sqlite:///{workdir / 'egide.sqlite3'}",
            "EGIDE_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
            "SECRET_KEY": base64.b64encode(os.urandom(48)).decode(),
            "ALLOWED_HOSTS": HOST,
            "EGIDE_HTTPS": "0",
            "EGIDE_VAR_DIR": str(workdir / "var"),
            "EGIDE_CONFIG_DIR": str(workdir / "cli"),
            "EGIDE_AUDIT_SINK": "table",
            "EGIDE_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        self.token = ""

    def manage(self, *args: str, timeout: float = 180) -> str:
        command = [sys.executable, "manage.py", *args]
        done = subprocess.run(command, cwd=REPO, env=self.env, capture_output=True, text=True,  # noqa: S603
                              timeout=timeout, check=False)  # fmt: skip
        if done.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self) -> LiveEgide:
        self.manage("migrate", "--no-input")
        out = self.manage("shell", "-c", _MAKE_ROOT)
        self.token = next(line[6:] for line in out.splitlines() if line.startswith("TOKEN="))
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - the venv's granian, our arguments
                [str(GRANIAN), "--interface", "wsgi", "--host", HOST, "--port", str(self.port), "--workers", "1",
                 "--blocking-threads", "1", "--no-ws", "egide_site.wsgi:application"],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"egide exited while starting:\n{self.log.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/v1/sys/health", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("egide did not answer sys/health within 60 s")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own group: only what we started
        except ProcessLookupError:
            pass
        if self.proc.poll() is None:
            self.proc.wait(timeout=10)
