"""Whole-instance disaster recovery (docs/operations.md): a pg_dump of the database plus the
master key, kept apart, bring every key back. Restored into a fresh database, a new Egide
process with the same master key decrypts the old ciphertexts; with another master key it
cannot (the dump alone gives nothing away)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from kms.services import crypto_ops as ops
from kms.services import keys
from kms.services.actor import Actor
from tests.conftest import as_actor

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]

DECRYPT = """
from kms.services import crypto_ops as ops
from kms.services.actor import Actor
import sys
for name, token, context in {cases!r}:
    plain = ops.decrypt(actor=Actor.system(), name=name, ciphertext=token, context=context)
    sys.stdout.write("plain: " + plain.decode() + "\\n")
"""


def _pg() -> dict[str, str]:
    db = settings.DATABASES["default"]
    return {"host": db.get("HOST") or "127.0.0.1", "port": str(db.get("PORT") or 5432),
            "user": db.get("USER") or "postgres"}  # fmt: skip


def _run(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=300, **kwargs)  # noqa: S603


def _decrypt_in_new_process(database: str, master_key: str, cases: list[tuple]) -> subprocess.CompletedProcess:
    pg = _pg()
    env = {**os.environ, "DATABASE_URL": f"postgres://{pg['user']}@{pg['host']}:{pg['port']}/{database}",
           "EGIDE_MASTER_KEY": master_key, "EGIDE_MASTER_KEYS_OLD": "", "EGIDE_AUDIT_SINK": "table",
           "EGIDE_STATE_WINDOW_MS": "0"}  # fmt: skip
    env.pop("EGIDE_MASTER_KEY_FILE", None)
    return subprocess.run([sys.executable, "manage.py", "shell", "-c", DECRYPT.format(cases=cases)],  # noqa: S603
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="disaster recovery is a pg_dump of PostgreSQL: run with DATABASE_URL=postgres://...",
)
def test_a_pg_dump_and_the_master_key_bring_every_key_back(bob, create_key, tmp_path):
    create_key("payments", "aes256")
    create_key("box", "rsa2048")
    cases = [("payments", ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"v1 data",
                                      context=b"order-1").ciphertext, b"order-1")]  # fmt: skip
    keys.key_rotate(actor=Actor.system(), name="payments")
    cases.append(("payments", ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"v2 data").ciphertext, None))
    cases.append(("box", ops.encrypt(actor=as_actor(bob), name="box", plaintext=b"rsa data").ciphertext, None))

    pg = _pg()
    source = connection.settings_dict["NAME"]
    fresh = f"egide_dr_{uuid.uuid4().hex[:12]}"
    dump = tmp_path / "egide.dump"
    conn = ["-h", pg["host"], "-p", pg["port"], "-U", pg["user"]]
    _run("pg_dump", *conn, "--format=custom", "--file", str(dump), source)
    _run("createdb", *conn, fresh)
    try:
        _run("pg_restore", *conn, "--no-owner", "--dbname", fresh, str(dump))
        restored = _decrypt_in_new_process(fresh, settings.EGIDE_MASTER_KEY, cases)
        assert restored.returncode == 0, restored.stderr[-2000:]
        plain = [line.removeprefix("plain: ") for line in restored.stdout.splitlines() if line.startswith("plain: ")]
        assert plain == ["v1 data", "v2 data", "rsa data"]

        from kms.crypto import MasterKey

        wrong = _decrypt_in_new_process(fresh, MasterKey.generate_base64(), cases[:1])
        assert wrong.returncode != 0 and "v1 data" not in wrong.stdout
    finally:
        _run("dropdb", *conn, "--if-exists", "--force", fresh)
