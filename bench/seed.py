#!/usr/bin/env python3
"""seed.py - bulk fixtures for the scale rows of bench/run.sh (throw-away databases only).

Runs against the database of the environment (DATABASE_URL, EGIDE_MASTER_KEY, ... as
the benchmarked server has them), never through the API: creating 100,000 keys or a
million audit events one request at a time would take hours.

    python bench/seed.py keys N [--prefix bulk-]     N aes256 keys, each with a real version 1
    python bench/seed.py versions NAME N             add versions until NAME has N (real material)
    python bench/seed.py audit-clear                 empty the audit table (the chain head stays)
    python bench/seed.py audit N                     append N filler events (one INSERT ... SELECT)
    python bench/seed.py count                       keys, versions, audit events (JSON)

Every row is a valid one: keys and versions carry real AES-256 material wrapped under
the master key (bound to their key uid and version, as kms.services.keys does), so any
of them can encrypt. Filler audit events continue the sequence (the chain head is moved
past them) but are not HMAC-linked: `kms_audit_verify` reports them, which is fine for a
database that exists for one benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "egide_site.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Max  # noqa: E402
from django.utils import timezone  # noqa: E402

from kms.crypto import get_key_type, material_aad  # noqa: E402
from kms.keyring import keyring  # noqa: E402
from kms.models import AuditChainHead, AuditEvent, Key, KeyVersion  # noqa: E402

BATCH = 2000
# Filler events name the benchmark's own keys, like a busy server's trail would.
FILLER_KEYS = ("aes256", "ed25519", "p256", "p384", "rsa2048", "rsa4096")


def _version(key: Key, version: int) -> KeyVersion:
    material = get_key_type("aes256").generate()
    wrapped, master_id = keyring().wrap(material, aad=material_aad(key.uid.bytes, version))
    return KeyVersion(key=key, version=version, wrapped_material=wrapped, master_key_id=master_id)


def seed_keys(count: int, prefix: str) -> None:
    start = Key.objects.filter(name__startswith=prefix).count()
    now = timezone.now()
    made = 0
    with transaction.atomic():  # one commit: SQLite syncs the disk at each
        while made < count:
            n = min(BATCH, count - made)
            keys = Key.objects.bulk_create(
                Key(name=f"{prefix}{start + made + i:07d}", key_type="aes256", last_rotated_at=now) for i in range(n)
            )
            if any(k.pk is None for k in keys):  # a backend without RETURNING
                keys = list(Key.objects.filter(name__in=[k.name for k in keys]))
            KeyVersion.objects.bulk_create(_version(k, 1) for k in keys)
            made += n


def seed_versions(name: str, total: int) -> None:
    key = Key.objects.get(name=name)
    if key.key_type != "aes256":
        raise SystemExit(f"seed.py versions: {name} is {key.key_type}, not aes256")
    have = KeyVersion.objects.filter(key=key).aggregate(m=Max("version"))["m"] or 0
    with transaction.atomic():
        for first in range(have + 1, total + 1, BATCH):
            last = min(first + BATCH, total + 1)
            KeyVersion.objects.bulk_create(_version(key, v) for v in range(first, last))
        if total > key.current_version:
            key.current_version = total
            key.last_rotated_at = timezone.now()
            key.save(update_fields=["current_version", "last_rotated_at", "updated_at"])


def audit_clear() -> None:
    table = AuditEvent._meta.db_table
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"TRUNCATE {table}")  # noqa: S608 - our own table name
        else:
            cur.execute(f"DELETE FROM {table}")  # noqa: S608


def audit_fill(count: int) -> None:
    table = AuditEvent._meta.db_table
    key_case = "CASE n %% {} {} END".format(  # %%: the SQL has parameters
        len(FILLER_KEYS), " ".join(f"WHEN {i} THEN '{k}'" for i, k in enumerate(FILLER_KEYS))
    )
    columns = (
        "seq, at, actor_id, actor_name, auth_method, token_id, source, action, key_name, "
        "key_uid, key_version, outcome, error_code, request_id, client_addr, details, "
        "prev_hash, chain_hash"
    )
    zeros = "'" + "0" * 64 + "'"
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().get(pk=1)
        base = head.seq
        if connection.vendor == "postgresql":
            sql = (  # constants only, no outside text in this SQL
                f"INSERT INTO {table} ({columns}) "  # noqa: S608
                f"SELECT %s + n, now() - interval '1 day' + n * interval '1 millisecond', "
                f"NULL, 'bench', 'token', '', 'api', 'encrypt', {key_case}, '', 1, 'success', "
                f"'', '', '127.0.0.1', '{{}}'::jsonb, {zeros}, {zeros} "
                f"FROM generate_series(1, %s) AS g(n)"
            )
        else:
            sql = (  # constants only, no outside text in this SQL
                f"WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < %s) "  # noqa: S608
                f"INSERT INTO {table} ({columns}) "
                f"SELECT %s + n, strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '-1 day'), "
                f"NULL, 'bench', 'token', '', 'api', 'encrypt', {key_case}, '', 1, 'success', "
                f"'', '', '127.0.0.1', '{{}}', {zeros}, {zeros} FROM g"
            )
        params = [base, count] if connection.vendor == "postgresql" else [count, base]
        with connection.cursor() as cur:
            cur.execute(sql, params)
        head.seq = base + count  # the next real event follows the filler
        head.save(update_fields=["seq"])
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(f"ANALYZE {table}")


def counts() -> dict[str, int]:
    return {
        "keys": Key.objects.count(),
        "versions": KeyVersion.objects.count(),
        "audit_events": AuditEvent.objects.count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("keys")
    p.add_argument("count", type=int)
    p.add_argument("--prefix", default="bulk-")
    p = sub.add_parser("versions")
    p.add_argument("name")
    p.add_argument("total", type=int)
    sub.add_parser("audit-clear")
    p = sub.add_parser("audit")
    p.add_argument("count", type=int)
    sub.add_parser("count")
    args = parser.parse_args()

    started = time.monotonic()
    if args.cmd == "keys":
        seed_keys(args.count, args.prefix)
    elif args.cmd == "versions":
        seed_versions(args.name, args.total)
    elif args.cmd == "audit-clear":
        audit_clear()
    elif args.cmd == "audit":
        audit_fill(args.count)
    if connection.vendor == "postgresql" and args.cmd in ("keys", "versions"):
        with connection.cursor() as cur:
            cur.execute(f"ANALYZE {Key._meta.db_table}, {KeyVersion._meta.db_table}")
    report = {"cmd": args.cmd, "seconds": round(time.monotonic() - started, 2), **counts()}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
