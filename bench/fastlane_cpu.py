#!/usr/bin/env python
"""CPU per data-plane request through the production WSGI entry point, in one process.

No network, no server, no other process: a request is built as a WSGI environ and handed
to `egide_site.wsgi.application` (the fast lane in front of Django), N times in a row, and
the process CPU time per request is printed. Repeatable within a few percent, so two
trees can be compared (issue 12: the pipeline must not cost more than the lanes it
replaced); `bench/run.sh` measures the real server under load.

    EGIDE_DEV=1 .venv/bin/python bench/fastlane_cpu.py [N [ROW]]    # SQLite in a temp dir
    (cd <other tree> && PYTHONPATH=. <this tree>/bench/fastlane_cpu.py)  # the same rows, another tree

Settings as production's data plane: the spool audit sink (its shipper off during the
loop, then shipped and counted), the default state window.
"""

from __future__ import annotations

import base64
import io
import json
import os
import sys
import tempfile
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
ONLY = sys.argv[2] if len(sys.argv) > 2 else ""  # rows whose label contains this
WORK = tempfile.mkdtemp(prefix="egide-cpu-")
os.environ.setdefault("EGIDE_DEV", "1")
os.environ.update(
    {
        "DATABASE_URL": f"sqlite:///{WORK}/db.sqlite3",
        "EGIDE_VAR_DIR": WORK,
        "EGIDE_AUDIT_SINK": "spool",
        "EGIDE_AUDIT_SHIP_INTERVAL_MS": "3600000",
        "EGIDE_STATE_WINDOW_MS": os.environ.get("EGIDE_STATE_WINDOW_MS", "250"),
        "EGIDE_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "EGIDE_THROTTLE_TOKEN": "100000000/min",  # rates, not secrets: no throttling in the measure
        "EGIDE_THROTTLE_ADDRESS": "100000000/min",
        "DJANGO_SETTINGS_MODULE": "egide_site.settings",
    }
)
sys.path.insert(0, os.getcwd())

import django  # noqa: E402

django.setup()
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0)
from egide_site.wsgi import application  # noqa: E402
from kms.services.actor import Actor  # noqa: E402
from kms.services.keys import key_create  # noqa: E402
from kms.services.tokens import token_create  # noqa: E402

system = Actor.system()
root = get_user_model().objects.create_superuser("bench", password="bench-" + os.urandom(8).hex())
TOKEN = token_create(actor=system, user=root)[1]
for name, key_type in (("aes", "aes256"), ("ed", "ed25519"), ("p256", "ecdsa-p256")):
    key_create(actor=system, name=name, key_type=key_type)


def call(path: str, body: dict) -> tuple[int, bytes]:
    raw = json.dumps(body).encode()
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "wsgi.input": io.BytesIO(raw),
        "CONTENT_LENGTH": str(len(raw)), "CONTENT_TYPE": "application/json",
        "HTTP_AUTHORIZATION": f"Bearer {TOKEN}", "wsgi.url_scheme": "http", "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.errors": io.StringIO(),
    }  # fmt: skip
    seen = {}
    out = b"".join(application(environ, lambda status, headers: seen.setdefault("s", int(status[:3]))))
    return seen["s"], out


P64 = base64.b64encode(os.urandom(64)).decode()
P4K = base64.b64encode(os.urandom(4096)).decode()
ct = json.loads(call("/v1/kms/encrypt/aes", {"plaintext": P64})[1])["data"]["ciphertext"]
ct4k = json.loads(call("/v1/kms/encrypt/aes", {"plaintext": P4K})[1])["data"]["ciphertext"]
sig_ed = json.loads(call("/v1/kms/sign/ed", {"data": P64})[1])["data"]["signature"]
sig_p = json.loads(call("/v1/kms/sign/p256", {"data": P64})[1])["data"]["signature"]
T_SIGN = {"input": P64, "hash_algorithm": "sha2-256", "signature_algorithm": "pss"}
transit_sig_p = json.loads(call("/v1/transit/sign/p256", T_SIGN)[1])["data"]["signature"]
ROWS = [
    ("encrypt 64 B", "/v1/kms/encrypt/aes", {"plaintext": P64}),
    ("decrypt 64 B", "/v1/kms/decrypt/aes", {"ciphertext": ct}),
    ("encrypt 4 KiB", "/v1/kms/encrypt/aes", {"plaintext": P4K}),
    ("decrypt 4 KiB", "/v1/kms/decrypt/aes", {"ciphertext": ct4k}),
    ("batch encrypt 100", "/v1/kms/encrypt/aes", {"batch": [{"plaintext": P64}] * 100}),
    ("ed25519 sign", "/v1/kms/sign/ed", {"data": P64}),
    ("ed25519 verify", "/v1/kms/verify/ed", {"data": P64, "signature": sig_ed}),
    ("p256 verify", "/v1/kms/verify/p256", {"data": P64, "signature": sig_p}),
    # The Transit dialect's rows, with bench/run.sh's bodies (OpenBao's): its codec's share.
    ("transit encrypt 64 B", "/v1/transit/encrypt/aes", {"plaintext": P64}),
    ("transit ed25519 sign", "/v1/transit/sign/ed", T_SIGN),
    ("transit p256 sign", "/v1/transit/sign/p256", T_SIGN),
    ("transit p256 verify", "/v1/transit/verify/p256", {**T_SIGN, "signature": transit_sig_p}),
]
print(f"| request | CPU µs/request (N={N}, median of 3) |\n|---|---|")
for label, path, body in (row for row in ROWS if ONLY in row[0]):
    assert call(path, body)[0] == 200, label
    samples = []
    for _ in range(3):
        start = time.process_time()
        for _ in range(N):
            call(path, body)
        samples.append((time.process_time() - start) / N * 1e6)
    print(f"| {label} | {sorted(samples)[1]:.1f} |", flush=True)
