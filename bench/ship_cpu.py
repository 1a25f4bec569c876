#!/usr/bin/env python
"""CPU per audit event shipped from the spool into the chain: the shipper's process + its
PostgreSQL backend, in one process (issues 12 and 19: shipping is paid per request).

N encrypt requests go through the production WSGI entry point with the spool sink and
the shipper held off; then `ship_all()` moves them into the chained table, and its CPU
(this process's, and the backend's from /proc) is divided by N. `--profile` prints where
the shipper's own time goes (cProfile, CPU clock).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<throw-away> .venv/bin/python bench/ship_cpu.py [-n 20000]
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ARGS = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ARGS.add_argument("-n", type=int, default=20000, help="events to ship")
ARGS.add_argument("--rounds", type=int, default=3)
ARGS.add_argument("--profile", action="store_true")
OPTS = ARGS.parse_args()
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    sys.exit("ship_cpu.py: DATABASE_URL must name a throw-away PostgreSQL database")
WORK = tempfile.mkdtemp(prefix="egide-ship-")
os.environ.setdefault("EGIDE_DEV", "1")
os.environ.update({
    "EGIDE_DEBUG": "0", "EGIDE_VAR_DIR": WORK, "EGIDE_AUDIT_SINK": "spool", "EGIDE_AUDIT_SHIPPER": "node",
    "EGIDE_STATE_WINDOW_MS": "250", "EGIDE_MASTER_KEY": base64.b64encode(b"ship-cpu-bench-master-key-32-by!").decode(),
    "EGIDE_THROTTLE_TOKEN": "100000000/min", "EGIDE_THROTTLE_ADDRESS": "100000000/min",  # noqa: S105
    "DJANGO_SETTINGS_MODULE": "egide_site.settings",
})  # fmt: skip
sys.path.append(str(Path(__file__).resolve().parents[1]))  # after PYTHONPATH: another tree may be measured

import django  # noqa: E402

django.setup()
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

call_command("migrate", verbosity=0)
from egide_site.wsgi import application  # noqa: E402
from kms.models import Key  # noqa: E402
from kms.services import audit_spool  # noqa: E402
from kms.services.actor import Actor  # noqa: E402
from kms.services.keys import key_create  # noqa: E402
from kms.services.tokens import token_create  # noqa: E402

system = Actor.system()
User = get_user_model()
root = User.objects.filter(username="bench").first() or User.objects.create_superuser(
    "bench", password="bench-" + os.urandom(8).hex()
)
TOKEN = token_create(actor=system, user=root)[1]
if not Key.objects.filter(name="ship").exists():
    key_create(actor=system, name="ship", key_type="aes256")
BODY = json.dumps({"plaintext": base64.b64encode(os.urandom(64)).decode()}).encode()
CLK_TCK = os.sysconf("SC_CLK_TCK")


def encrypt() -> None:
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/v1/kms/encrypt/ship", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "wsgi.input": io.BytesIO(BODY),
        "CONTENT_LENGTH": str(len(BODY)), "CONTENT_TYPE": "application/json", "HTTP_AUTHORIZATION": f"Bearer {TOKEN}",
        "wsgi.url_scheme": "http", "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.errors": io.StringIO(),
    }  # fmt: skip
    seen: dict[str, int] = {}
    b"".join(application(environ, lambda status, headers: seen.setdefault("s", int(status[:3]))))
    assert seen["s"] == 200, seen


def backend_seconds() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


results = []
for round_ in range(OPTS.rounds):
    for _ in range(OPTS.n):
        encrypt()
    connection.ensure_connection()
    db0, app0 = backend_seconds(), time.process_time()
    profiler = cProfile.Profile(time.process_time) if OPTS.profile and round_ == 0 else None
    if profiler:
        profiler.enable()
    shipped = audit_spool.ship_all(remove_orphans=False)
    if profiler:
        profiler.disable()
    app, db = time.process_time() - app0, backend_seconds() - db0
    assert shipped == OPTS.n, (shipped, OPTS.n)
    results.append((app * 1e6 / shipped, db * 1e6 / shipped))
    print(f"round {round_ + 1}: {shipped} events, shipper {app * 1e6 / shipped:.1f} µs + DB {db * 1e6 / shipped:.1f} µs"
          " per event", flush=True)  # fmt: skip
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
if results:  # --rounds 0: set up only (bench/ship_instructions.py)
    apps, dbs = sorted(r[0] for r in results), sorted(r[1] for r in results)
    print(f"median: shipper {apps[len(apps) // 2]:.1f} µs + DB {dbs[len(dbs) // 2]:.1f} µs per event")
