#!/usr/bin/env python
"""Server CPU per control-plane request at 1,000 and 100,000 keys, in one process (issue 19).

No server, no network: requests go to `egide_site.wsgi.application` as WSGI environs (the
API with a bearer token, the pages with a logged-in session), N times each, on a database
of its own; the figures are the process's CPU per request plus the PostgreSQL backend's
(its utime + stime from /proc, read before and after), and the queries per request. Then
it creates keys through the service (`key_create`) and counts their queries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<throw-away> .venv/bin/python bench/control_cpu.py
    ... bench/control_cpu.py --sizes 1000,100000 -n 50

The database must be a throw-away one: it is migrated and filled (bench/seed.py's keys),
and only ever grows: measure the 1,000-key rows on a fresh one. Reusing one needs the same
EGIDE_MASTER_KEY (the audit chain's key is wrapped under it; a random one is made otherwise).

As production runs (scripts/serve): the audit sink is the spool and one process per node
ships it (EGIDE_AUDIT_SHIPPER=node), so the reads' events are one line each in the request;
what chaining them costs the shipper is measured at the end, per event (app + DB).
A key's page loads its panels after it (htmx): each panel is a row of its own.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ARGS = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ARGS.add_argument("--sizes", default="1000,100000")
ARGS.add_argument("-n", type=int, default=50, help="requests per row")
OPTS = ARGS.parse_args()

sys.path.append(str(Path(__file__).resolve().parents[1]))  # after PYTHONPATH: another tree may be measured
os.environ.setdefault("EGIDE_DEV", "1")
os.environ.setdefault("EGIDE_DEBUG", "0")  # as production: no query log, no debug templates
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("EGIDE_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
os.environ.setdefault("EGIDE_AUDIT_SINK", "spool")
os.environ.setdefault("EGIDE_AUDIT_SHIPPER", "node")  # scripts/serve: the node's shipper, not a thread here
os.environ.setdefault("EGIDE_AUDIT_SPOOL_DIR", tempfile.mkdtemp(prefix="egide-cp-spool-"))
os.environ.update(EGIDE_THROTTLE_TOKEN="100000000/min", EGIDE_THROTTLE_ADDRESS="100000000/min",  # noqa: S106
                  DJANGO_SETTINGS_MODULE="egide_site.settings")  # fmt: skip
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    sys.exit("control_cpu.py: DATABASE_URL must name a throw-away PostgreSQL database")

import django  # noqa: E402

django.setup()
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402, F401 - the test counts with it

call_command("migrate", verbosity=0)
sys.argv = [sys.argv[0]]
import bench.seed as seed  # noqa: E402
from egide_site.wsgi import application  # noqa: E402
from kms.models import Key  # noqa: E402
from kms.services.actor import Actor  # noqa: E402
from kms.services.keys import key_create  # noqa: E402
from kms.services.tokens import token_create  # noqa: E402

User = get_user_model()
root = User.objects.filter(username="bench").first() or User.objects.create_superuser(
    "bench", password="b-" + os.urandom(8).hex()
)  # noqa: E501
TOKEN = token_create(actor=Actor.system(), user=root)[1]
from django.test import Client  # noqa: E402

client = Client()
client.force_login(root)
SESSION = client.cookies["sessionid"].value
CLK = os.sysconf("SC_CLK_TCK")


def backend_ticks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def call(path: str, *, session: bool = False, htmx: bool = False) -> int:
    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http",
        "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.errors": io.StringIO(),
    }  # fmt: skip
    if session:
        environ["HTTP_COOKIE"] = f"sessionid={SESSION}"
        if htmx:
            environ["HTTP_HX_REQUEST"] = "true"
    else:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"
    seen = {}
    chunks = application(environ, lambda status, headers: seen.setdefault("s", int(status[:3])))
    b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return seen["s"]


def counted(fn) -> list[str]:  # noqa: ANN001
    """The statements `fn` runs (an execute wrapper: it survives the handler's query-log reset)."""
    seen: list[str] = []

    def wrapper(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        fn()
    return seen


def row(label: str, path: str, *, session: bool = False, htmx: bool = False) -> None:
    assert call(path, session=session, htmx=htmx) == 200, (label, path)
    queries = counted(lambda: call(path, session=session, htmx=htmx))
    samples = []
    for _ in range(3):
        db0, cpu0, wall0 = backend_ticks(), time.process_time(), time.perf_counter()
        for _ in range(OPTS.n):
            call(path, session=session, htmx=htmx)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        db = (backend_ticks() - db0) / CLK
        samples.append(((cpu + db) / OPTS.n * 1e3, cpu / OPTS.n * 1e3, db / OPTS.n * 1e3, wall / OPTS.n * 1e3))
    total, app, db, wall = sorted(samples)[1]
    print(f"| {label} | {Key.objects.count():,} | {total:.2f} | {app:.2f} + {db:.2f} | {wall:.2f} "
          f"| {len(queries)} |", flush=True)  # fmt: skip


def seeded(size: int) -> str:
    """At least `size` keys in the database; the name of the one in the middle."""
    have = Key.objects.filter(name__startswith="bulk-").count()
    if have < size:
        seed.seed_keys(size - have, "bulk-")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return f"bulk-{size // 2:07d}"


def requests(middle: str) -> list[tuple[str, str, bool, bool]]:
    """The rows: (label, path, with a session, as htmx). bench/control_instructions.py runs them too."""
    rows = [
        ("API key list, one page (`GET /v1/kms/keys?limit=100`)", "/v1/kms/keys?limit=100", False, False),
        ("API key info (`GET /v1/kms/keys/<name>`)", f"/v1/kms/keys/{middle}", False, False),
        ("page: key list (`/`)", "/", True, False),
        ("page: a key (`/keys/<name>/`)", f"/keys/{middle}/", True, False),
    ]
    for panel in ("settings", "usage", "approvals", "grants", "events"):  # loaded after the page (htmx)
        rows.append((f"page: a key, its {panel} panel (`/keys/<name>/{panel}/`)", f"/keys/{middle}/{panel}/",
                     True, True))  # fmt: skip
    return rows


def main() -> None:
    print("| request | keys | server CPU ms/request (median of 3) | app + DB | wall ms | queries |")
    print("|---|---|---|---|---|---|")
    for size in (int(s) for s in OPTS.sizes.split(",") if s):
        for label, path, session, htmx in requests(seeded(size)):
            row(label, path, session=session, htmx=htmx)
    epilogue()


def epilogue() -> None:
    """What the reads' spool lines cost the node's shipper to chain (kms.services.audit_spool),
    and the queries of a key's creation."""
    from kms.services import audit_spool

    db0, cpu0 = backend_ticks(), time.process_time()
    shipped = audit_spool.ship_all(remove_orphans=False)
    cpu, db = time.process_time() - cpu0, (backend_ticks() - db0) / CLK
    if shipped:
        print(
            f"- shipping the reads' {shipped:,} spool lines into the chain: {(cpu + db) / shipped * 1e3:.3f} ms "
            f"CPU per event ({cpu / shipped * 1e3:.3f} app + {db / shipped * 1e3:.3f} DB), in the node's shipper"
        )

    for kt in ("aes256", "ed25519"):
        for who, actor in (("the system", Actor.system()), ("a user", Actor(user=root, source="api"))):
            name = f"count-{kt}-{os.urandom(4).hex()}"
            queries = counted(lambda a=actor, n=name, t=kt: key_create(actor=a, name=n, key_type=t))
            print(f"- key_create ({kt}, as {who}): {len(queries)} queries")
        if os.environ.get("SHOW_QUERIES"):
            print("\n".join(q[:160] for q in queries))


if __name__ == "__main__":  # imported (runpy) by bench/control_instructions.py for its set-up only
    main()
