"""Issue 9, concurrency: many clients at once on the same keys, against a real server.

Client processes (each with a few threads) hammer granian (2 workers) over HTTP with
rotations, encryptions, decryptions, disable/enable and delete/restore of the same three
keys for a bounded time. Afterwards, with the spool shipped: every key's versions are
1..N without gaps or duplicates and each successful rotation made exactly one of them;
every request answered (2xx or 4xx) has exactly one audit event, of its action, success
for a 2xx and denied/error for a 4xx; the use counts shipped from the spool add up; the
chain verifies; and no request got a 5xx or went unanswered.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter, defaultdict

import pytest

from tests.slow.servers import ship, verify_chain, versions_of
from tests.slow.traffic import check_audit, client_process, ms, percentile, status_counts

pytestmark = pytest.mark.slow

KEYS = ["shared-0", "shared-1", "shared-2"]
# Enabling and restoring weigh more than disabling and deleting, so that the keys are usable
# often enough for encryptions and rotations to succeed as well as to be refused.
WEIGHTS = {
    "encrypt": 30,
    "decrypt": 10,
    "rotate": 24,
    "disable": 5,
    "enable": 11,
    "delete": 5,
    "restore": 11,
}
PROCESSES = 3
THREADS_PER_PROCESS = 2
SECONDS = float(os.environ.get("EGIDE_SLOW_LOAD_SECONDS", "15"))
MAX_REQUESTS_PER_THREAD = 20_000


def test_concurrent_clients_on_the_same_keys_leave_contiguous_versions_and_one_event_each(site, servers, figures):
    server = servers(name="node", workers=2)
    admin = server.http()
    for key in KEYS:
        assert admin.create(key).status == 201

    args = [
        {
            "port": server.port,
            "token": site.token,
            "keys": KEYS,
            "weights": WEIGHTS,
            "seconds": SECONDS,
            "max_requests": MAX_REQUESTS_PER_THREAD,
            "seed": n,
            "prefix": f"conc{n}",
            "threads": THREADS_PER_PROCESS,
        }
        for n in range(PROCESSES)
    ]
    started = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        records = [r for chunk in pool.map(client_process, args, chunksize=1) for r in chunk]
    elapsed = time.monotonic() - started

    server.stop()  # then ship what the workers had not shipped yet, as an operator would
    pending = len(check_audit(site, records).missing)
    shipped = ship(site, server.spool_dir)

    # No 5xx, nothing unanswered.
    bad = [r for r in records if r.status is None or r.status >= 500]
    assert not bad, f"{len(bad)} requests got a 5xx or no answer, e.g. {bad[:3]}"

    # Versions: 1..N, no gap, no duplicate; one per successful rotation; the answers agree.
    rotated = defaultdict(list)
    for r in records:
        if r.op == "rotate" and r.status == 200:
            rotated[r.key].append(r.version)
    versions = {}
    for key in KEYS:
        numbers, current = versions_of(site, key)
        versions[key] = len(numbers)
        assert numbers == list(range(1, len(numbers) + 1)), f"{key}: versions {numbers}"
        assert current == len(numbers), f"{key}: current_version {current}, {len(numbers)} versions"
        assert sorted(rotated[key]) == list(range(2, len(numbers) + 1)), f"{key}: rotations answered {rotated[key]}"

    # Audit: one event per answered request, of its action and outcome.
    audit = check_audit(site, records)
    assert audit.ok, audit.summary()
    ours = site.sql("SELECT count(*) FROM kms_auditevent WHERE request_id LIKE 'conc%%'")[0][0]
    assert ours == len(records), f"{ours} events carry this run's request ids, {len(records)} requests were answered"

    # The use counts shipped from the spool: one per successful encryption/decryption.
    for op in ("encrypt", "decrypt"):
        for key in KEYS:
            done = sum(1 for r in records if r.op == op and r.key == key and r.status == 200)
            counted = site.sql(
                f"SELECT coalesce(sum(v.{op}_count), 0) FROM kms_keyversion v "  # noqa: S608 - constant
                "JOIN kms_key k ON k.id = v.key_id WHERE k.name = %s",
                [key],
            )[0][0]
            assert counted == done, f"{key}: {op}_count {counted}, {done} successful {op}s answered"

    # Nothing went wrong behind the answers either (a deadlock retried by the shipper, say).
    log = server.log_text()
    assert "Traceback" not in log, f"the server logged an error:\n{server.log_tail(40)}"

    verified, verify_seconds = verify_chain(site)
    latency = defaultdict(list)
    for r in records:
        latency[r.op].append(r.received - r.sent)
    figures.update(
        {
            "clients": f"{PROCESSES} processes x {THREADS_PER_PROCESS} threads, granian 2 workers, {len(KEYS)} keys",
            "load_seconds": round(elapsed, 1),
            "requests": len(records),
            "requests_per_second": round(len(records) / elapsed, 1),
            "by_operation": dict(Counter(r.op for r in records)),
            "answers": status_counts(records),
            "latency_ms_p50_p99": {op: [ms(percentile(v, 0.5)), ms(percentile(v, 0.99))] for op, v in latency.items()},
            "versions_per_key": versions,
            "audit_events_checked": audit.answered,
            "answered_but_not_in_table_after_graceful_stop": pending,
            "spool_events_shipped_by_kms_audit_ship": shipped,
            "chain": verified,
            "verify_seconds": round(verify_seconds, 2),
        }
    )
