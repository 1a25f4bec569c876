"""First-run setup for development (`make run`): the master key, an admin account, an API token.

- The admin password is printed only when the account is created (or --reset-password).
- The bootstrap token is reused while it is valid (kept in var/bootstrap-token, 0600): a
  `make run` mints a new one only when the last one expired, was revoked or is missing.
- The token is saved for the `egide` CLI only where no other token is: a token saved by
  `egide login` is never overwritten.
- With --port, the port is checked first: when it is busy nothing is minted, nothing is
  printed, and the command fails, so `make run` stops before the server would.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kms.cli.config import token_file
from kms.exceptions import Unauthenticated
from kms.keyring import keyring
from kms.services.actor import Actor
from kms.services.tokens import token_authenticate, token_create

# A token this close to its expiry is replaced rather than handed out again.
MIN_REMAINING = timedelta(days=1)


def bootstrap_token_path() -> Path:
    return Path(settings.VAR_DIR) / "bootstrap-token"


def cli_token_path() -> Path:
    return token_file()


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _write_private(path: Path, text: str) -> None:
    """Write `text` to a 0600 file, created that way (never readable by others)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")
    os.replace(tmp, path)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def reusable(raw: str, user) -> bool:  # noqa: ANN001
    """Whether a saved bootstrap token still works for `user` for a while."""
    if not raw:
        return False
    try:
        token = token_authenticate(raw)
    except Unauthenticated:
        return False
    soon = timezone.now() + MIN_REMAINING
    return token.user_id == user.pk and (token.expires_at is None or token.expires_at > soon)


class Command(BaseCommand):
    help = "Create the admin account and an API token (development), and the master key if missing."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--username", default="admin")
        parser.add_argument("--reset-password", action="store_true")
        parser.add_argument("--no-save-token", action="store_true",
                            help="do not save it for the CLI")  # fmt: skip
        parser.add_argument("--port", type=int, default=None,
                            help="fail first if 127.0.0.1:PORT is busy")  # fmt: skip

    def handle(self, *args, username: str, reset_password: bool, no_save_token: bool,  # noqa: ANN002
               port: int | None, **opts) -> None:  # noqa: ANN003  # fmt: skip
        host = "127.0.0.1"
        if port is not None and not port_is_free(host, port):
            hint = "stop what runs there, or `make run PORT=8300`"
            raise CommandError(f"{host}:{port} is busy: {hint}")
        keyring()  # fail now on a bad master key; in development, generate it
        user, password = self._admin(username, reset_password)
        previous = _read(bootstrap_token_path())
        raw = previous if reusable(previous, user) else self._mint(user)
        saved = "" if no_save_token else self._save_for_cli(raw, previous)
        self._report(username, password, raw, saved, raw == previous, port or 8200)

    def _admin(self, username: str, reset_password: bool) -> tuple[object, str | None]:
        User = get_user_model()  # noqa: N806
        user = User.objects.filter(username=username).first()
        password = None
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_superuser(username=username, email="", password=password)
        elif reset_password:
            password = secrets.token_urlsafe(12)
            user.set_password(password)  # the user-model signal revokes its old tokens
            user.save(update_fields=["password"])
        return user, password

    def _mint(self, user) -> str:  # noqa: ANN001
        _token, raw = token_create(actor=Actor.system(), user=user, name="bootstrap")
        _write_private(bootstrap_token_path(), raw)
        return raw

    def _save_for_cli(self, raw: str, previous: str) -> str:
        """Save for the CLI unless another token (e.g. from `egide login`) is saved there."""
        path = cli_token_path()
        current = _read(path)
        if current and current not in (raw, previous):
            return f"kept the token saved in {path} (by `egide login`)"
        if current != raw:
            _write_private(path, raw)
        return f"saved for the egide CLI in {path}"

    def _report(self, username: str, password: str | None, raw: str, saved: str, reused: bool,
                port: int) -> None:  # fmt: skip
        out = self.stdout
        out.write("")
        out.write("Egide is ready (development).")
        out.write(f"  admin user : {username}")
        out.write(f"  password   : {password}" if password
                  else "  password   : unchanged (--reset-password to set a new one)")  # fmt: skip
        out.write(f"  API token  : {raw}" + ("  (reused: still valid)" if reused else ""))
        if saved:
            out.write(f"  {saved}")
        out.write(f"  web        : http://127.0.0.1:{port}/   API: http://127.0.0.1:{port}/v1/")
        if port != 8200:
            out.write(f"  for the CLI: export EGIDE_ADDR=http://127.0.0.1:{port}")
        out.write("")
