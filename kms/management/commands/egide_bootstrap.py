"""First-run setup for development: the master key, an admin account, an API token.

Prints the admin password (only when the account is created or reset) and a
fresh API token, and saves the token for the `egide` CLI (0600), so the spec's
commands work right after `make run`.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from kms.keyring import keyring
from kms.services.actor import Actor
from kms.services.tokens import token_create


def cli_token_path() -> Path:
    from kms.cli.config import token_file

    return token_file()


class Command(BaseCommand):
    help = "Create the admin account and an API token (development), and the master key if missing."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--username", default="admin")
        parser.add_argument("--reset-password", action="store_true")
        parser.add_argument("--no-save-token", action="store_true", help="do not save it for the CLI")

    def handle(self, *args, username: str, reset_password: bool, no_save_token: bool, **opts) -> None:  # noqa: ANN002, ANN003
        keyring()  # fail now on a bad master key; in development, generate it
        User = get_user_model()  # noqa: N806
        user = User.objects.filter(username=username).first()
        password = None
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_superuser(username=username, email="", password=password)
        elif reset_password:
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.save(update_fields=["password"])
        _token, raw = token_create(actor=Actor.system(), user=user, name="bootstrap")
        out = self.stdout
        out.write("")
        out.write("Egide is ready (development).")
        out.write(f"  admin user : {username}")
        out.write(f"  password   : {password}" if password else "  password   : unchanged (--reset-password to set a new one)")
        out.write(f"  API token  : {raw}")
        if not no_save_token:
            path = cli_token_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600, exist_ok=True)
            path.chmod(0o600)
            path.write_text(raw + "\n")
            out.write(f"  saved for the egide CLI in {path}")
        out.write("  web        : http://127.0.0.1:8200/   API: http://127.0.0.1:8200/v1/")
        out.write("")
