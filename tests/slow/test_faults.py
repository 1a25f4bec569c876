"""Issue 9, faults: what a killed server, a lost database and a failing audit write do.

(a) SIGKILL to one granian worker (granian --respawn-failed-workers replaces it; the other
    worker keeps answering), then to the whole server, in the middle of a load run: after
    a restart and `manage.py kms_audit_ship`, every request that had been answered (2xx or
    4xx) has exactly one audit event, none has two, the chain verifies and the key's
    versions are still 1..N.
(b) The database goes away (its connections killed, new ones refused) for a few seconds:
    every request answers 503 `unavailable` with Retry-After — never a 500, never a hang,
    never a success after the cache window — and once it is back the same server answers
    again, without a restart.
(c) The audit write fails: the spool on a full filesystem, or (EGIDE_AUDIT_SINK=table) the
    audit table refusing inserts. The operation answers 503 `unavailable`, returns no
    ciphertext and changes nothing; nothing is answered as a success without its event.

The database is the test's own (`egide_fault`); the machine's PostgreSQL is never stopped.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter

import pytest

from tests.slow.servers import ship, verify_chain, versions_of
from tests.slow.traffic import (
    Answer,
    Http,
    Record,
    check_audit,
    mixed_client,
    ms,
    percentile,
    record,
    status_counts,
)

pytestmark = pytest.mark.slow


def run_clients(n: int, work, **kwargs) -> tuple[list[threading.Thread], list[list[Record]], threading.Event]:
    """n threads running work(i, stop) -> records; their results and the event that stops them."""
    stop = threading.Event()
    results: list[list[Record]] = [[] for _ in range(n)]

    def run(i: int) -> None:
        results[i].extend(work(i, stop, **kwargs))

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    return threads, results, stop


def join(threads: list[threading.Thread], stop: threading.Event, results: list[list[Record]]) -> list[Record]:
    stop.set()
    for thread in threads:
        thread.join(30)
    assert not any(t.is_alive() for t in threads), "a client thread did not stop"
    return [r for chunk in results for r in chunk]


def phase_of(r: Record, marks: list[tuple[str, float]]) -> str:
    name = "start"
    for label, at in marks:
        if r.sent >= at:
            name = label
    return name


# --------------------------------------------------------------------- (a) SIGKILL ----
# Without --respawn-failed-workers granian stops the whole node when one worker dies
# ("Unexpected exit from worker-1" -> "Shutting down granian"): see docs/reliability.md.
RESPAWN = ("--respawn-failed-workers", "--respawn-interval", "1")


def test_a_killed_worker_and_server_lose_no_answered_operation(site, servers, figures):
    server = servers(name="node", workers=2, granian_args=RESPAWN)
    admin = server.http()
    assert admin.create("fault-a").status == 201
    weights = {"encrypt": 70, "decrypt": 10, "rotate": 20}

    def client(i: int, stop: threading.Event) -> list[Record]:
        return mixed_client(server.port, site.token, ["fault-a"], weights, seconds=60,
                            max_requests=20_000, seed=7 + i, prefix=f"kill{i}",
                            stop=stop.is_set)  # fmt: skip

    threads, results, stop = run_clients(4, client)
    time.sleep(3)
    workers_before = server.worker_pids()
    t_worker = time.monotonic()
    victim = server.kill_worker()  # SIGKILL, mid-run
    respawned_after = None
    while time.monotonic() < t_worker + 8:
        time.sleep(0.05)
        pids = server.worker_pids()
        if len(pids) == 2 and victim not in pids and respawned_after is None:
            respawned_after = time.monotonic() - t_worker
        if respawned_after is not None and time.monotonic() > t_worker + 3:
            break
    workers_after = server.worker_pids()
    t_server = time.monotonic()
    server.kill()  # SIGKILL to the master and its workers at once
    time.sleep(0.5)
    t_restart = time.monotonic()
    server.start()
    t_ready = time.monotonic()
    time.sleep(2)
    records = join(threads, stop, results)
    server.stop()
    pending = len(check_audit(site, records).missing)  # in the spool files of killed processes
    shipped = ship(site, server.spool_dir)

    marks = [
        ("after worker kill", t_worker),
        ("after server kill", t_server),
        ("after restart", t_ready),
    ]
    by_phase = {
        label: status_counts(r for r in records if phase_of(r, marks) == label)
        for label in ["start", *[m[0] for m in marks]]
    }
    errors = [r for r in records if r.status is not None and r.status >= 500]
    assert not errors, f"5xx answers: {errors[:3]}"
    assert respawned_after is not None, f"worker {victim} not replaced: workers {workers_after}"
    served = [r for r in records if t_worker + 0.5 < r.sent < t_server and r.status == 200]
    assert served, "the surviving worker answered nothing after the kill"
    assert any(r.status == 200 for r in records if r.sent >= t_ready), "no success after the restart"

    audit = check_audit(site, records)
    assert audit.ok, audit.summary()
    numbers, current = versions_of(site, "fault-a")
    assert numbers == list(range(1, current + 1)), f"versions {numbers}, current {current}"
    rotated = sorted(r.version for r in records if r.op == "rotate" and r.status == 200)
    assert set(rotated) <= set(numbers) and len(rotated) == len(set(rotated)), "a rotation answered twice"
    assert "deadlock detected" not in server.log_text(), server.log_tail(40)
    verified, _ = verify_chain(site)

    figures.update(
        {
            "load": "4 client threads (70% encrypt, 10% decrypt, 20% rotate), granian 2 workers "
            "(--respawn-failed-workers), one key",
            "worker_killed": f"pid {victim} of {workers_before}; "
            f"replaced after {ms(respawned_after)} ms: {workers_after}",
            "restart_to_ready_ms": ms(t_ready - t_restart),
            "answers_by_phase": by_phase,
            "answered_requests_checked": audit.answered,
            "answered_without_event": len(audit.missing),
            "events_twice": len(audit.duplicated),
            "unanswered_requests": audit.unanswered,
            "unanswered_but_done_and_audited": audit.unanswered_recorded,
            "versions": current,
            "answered_but_not_in_table_before_kms_audit_ship": pending,
            "events_shipped_by_kms_audit_ship": shipped,
            "chain": verified.split(";")[0],
        }
    )


# --------------------------------------------------------------- (b) database outage ----
@pytest.fixture
def outage(pg, site):
    """cut() kills the database's connections and refuses new ones; back() lets them in again."""

    def cut() -> None:
        pg.admin(
            f"ALTER DATABASE {site.database} ALLOW_CONNECTIONS false",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "  # noqa: S608 - our own name
            f"WHERE datname = '{site.database}'",
        )

    def back() -> None:
        pg.admin(f"ALTER DATABASE {site.database} ALLOW_CONNECTIONS true")

    try:
        yield cut, back
    finally:
        back()


OUTAGE_SECONDS = 4.0
WINDOW_S = 0.25  # EGIDE_STATE_WINDOW_MS's default: cached state may serve this long


def test_b_database_outage_answers_503_unavailable_then_recovers_without_restart(site, servers, outage, figures):
    cut, back = outage
    server = servers(name="node", workers=2)
    admin = server.http()
    assert admin.create("fault-b").status == 201
    ciphertext = admin.encrypt("fault-b").data["ciphertext"]
    kinds = {  # data plane (the fast lane) and control plane (Django, the ORM)
        "encrypt": lambda h: h.encrypt("fault-b"),
        "decrypt": lambda h: h.decrypt("fault-b", ciphertext),
        "info": lambda h: h.info("fault-b"),
        "rotate": lambda h: h.rotate("fault-b"),
    }
    answers: list[tuple[str, Answer]] = []
    lock = threading.Lock()

    def client(i: int, stop: threading.Event) -> list[Record]:
        http = Http(server.port, site.token, timeout=10, prefix=f"db{i}")
        names = list(kinds)
        out, n = [], 0
        deadline = time.monotonic() + 40
        while not stop.is_set() and time.monotonic() < deadline and n < 20_000:
            name = names[(n + i) % len(names)] if i else names[n % 2]  # thread 0: data plane only
            answer = kinds[name](http)
            with lock:
                answers.append((name, answer))
            out.append(record(name, "fault-b", answer))
            n += 1
            time.sleep(0.005)
        http.close()
        return out

    threads, results, stop = run_clients(3, client)
    time.sleep(2)
    cut()
    t_cut = time.monotonic()  # every connection is gone by now, and none can be made
    time.sleep(OUTAGE_SECONDS)
    t_back = time.monotonic()
    back()
    recovered: dict[str, float] = {}
    deadline = t_back + 15
    while time.monotonic() < deadline and len(recovered) < len(kinds):
        time.sleep(0.05)
        with lock:
            for name, a in answers:
                if a.sent >= t_back and a.status is not None and a.status < 300 and name not in recovered:
                    recovered[name] = a.received - t_back
    time.sleep(1)
    records = join(threads, stop, results)

    during = [(n, a) for n, a in answers if t_cut <= a.sent and a.received <= t_back]
    assert during, "no request was made during the outage"
    unanswered = [a for _, a in answers if a.status is None]
    assert not unanswered, f"requests without an answer: {unanswered[:3]}"
    server_errors = [
        (n, a.status, a.body)
        for n, a in answers
        if a.status is not None
        and a.status >= 500
        and not (a.status == 503 and a.code == "unavailable" and a.headers.get("retry-after"))
    ]
    assert not server_errors, f"5xx other than 503 unavailable with Retry-After: {server_errors[:3]}"
    late_successes = [(n, ms(a.sent - t_cut)) for n, a in during if a.status < 300 and a.sent > t_cut + WINDOW_S + 0.05]
    assert not late_successes, f"answered as done with the database gone (ms after the cut): {late_successes[:5]}"
    assert set(recovered) == set(kinds), f"not recovered within 15 s: {set(kinds) - set(recovered)}"

    server.stop()
    shipped = ship(site, server.spool_dir)
    audit = check_audit(site, records)  # 503s may or may not have their event: no database
    assert audit.ok, audit.summary()
    verified, _ = verify_chain(site)
    figures.update(
        {
            "outage": f"{OUTAGE_SECONDS:g} s: pg_terminate_backend + ALLOW_CONNECTIONS false on {site.database}",
            "answers_during_outage": dict(Counter(f"{n} {a.status} {a.code}".strip() for n, a in during)),
            "successes_during_outage_ms_after_cut": [ms(a.sent - t_cut) for _, a in during if a.status < 300],
            "first_success_after_recovery_ms": {k: ms(v) for k, v in sorted(recovered.items())},
            "answers_total": status_counts(records),
            "events_shipped_by_kms_audit_ship": shipped,
            "answered_requests_checked": audit.answered,
            "chain": verified.split(";")[0],
        }
    )


# ---------------------------------------------------------- (c) the audit write fails ----
@pytest.fixture
def tiny_spool(tmp_path):
    """A 64 KiB tmpfs mounted for the spool (root only), unmounted at the end."""
    mount = tmp_path / "egide-full-spool"
    mount.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mount)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603, S607
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        for umount in (["umount", str(mount)], ["umount", "-l", str(mount)]):  # -l: if still busy
            if subprocess.run(umount, capture_output=True, check=False).returncode == 0:  # noqa: S603, S607
                break


def test_c_a_full_spool_refuses_operations_instead_of_answering_unaudited(site, tiny_spool, servers, figures):
    filler = tiny_spool / "filler"
    filler.write_bytes(b"x" * 24 * 1024)  # freed later: the disk gets space back
    server = servers(name="full", workers=2, spool_dir=tiny_spool)
    admin = server.http()
    assert admin.create("fault-c").status == 201
    http = Http(server.port, site.token, prefix="full")
    records: list[Record] = []
    refused_in_a_row, deadline = 0, time.monotonic() + 40
    while refused_in_a_row < 30 and time.monotonic() < deadline and len(records) < 3000:
        answer = http.encrypt("fault-c", b"p" * 64)
        records.append(record("encrypt", "fault-c", answer))
        refused_in_a_row = refused_in_a_row + 1 if answer.status == 503 else 0
    full_at = len(records)
    filler.unlink()  # space again: the same server must answer again, with its events
    for _ in range(30):
        records.append(record("encrypt", "fault-c", http.encrypt("fault-c", b"q" * 64)))
    server.stop()
    shipped = ship(site, tiny_spool)

    statuses = Counter(r.status for r in records)
    assert refused_in_a_row >= 30, f"the spool never filled up: {statuses}"
    assert set(statuses) <= {200, 503}, f"answers other than 200 and 503: {statuses}"
    refused = [r for r in records if r.status == 503]
    assert all(r.code == "unavailable" and not r.ciphertext_in_body for r in refused)
    assert all(r.status == 200 for r in records[full_at:]), "no recovery once the disk had space again"
    corrupt = site.sql("SELECT count(*) FROM kms_auditevent WHERE action = 'audit_spool_corrupt'")[0][0]
    audit = check_audit(site, records)
    assert audit.ok, f"{audit.summary()}; audit_spool_corrupt events: {corrupt}"
    assert corrupt == 0, f"{corrupt} spool lines could not be read back"
    recorded_refusals = check_audit(site, refused, answered=lambda r: True)
    refusals_recorded = len(refused) - len(recorded_refusals.missing)
    assert refusals_recorded == 0, f"{refusals_recorded} refused operations were recorded as done"
    counted = site.sql(
        "SELECT sum(v.encrypt_count) FROM kms_keyversion v JOIN kms_key k ON k.id = v.key_id WHERE k.name = 'fault-c'"
    )[0][0]
    counted = int(counted or 0)
    assert counted == audit.answered, f"encrypt_count {counted}, {audit.answered} answered successes"
    verified, _ = verify_chain(site)
    figures.update(
        {
            "spool": "tmpfs of 64 KiB (24 KiB of it a filler file, removed after the fill), granian 2 workers",
            "answers_until_full": dict(Counter(r.status for r in records[:full_at])),
            "first_refusal_after_requests": next(i for i, r in enumerate(records) if r.status == 503) + 1,
            "answers_after_space_freed": dict(Counter(r.status for r in records[full_at:])),
            "successes_checked_one_event_each": audit.answered,
            "refusals_with_an_event": refusals_recorded,
            "encrypt_count_after_shipping": counted,
            "audit_spool_corrupt_events": corrupt,
            "events_shipped_by_kms_audit_ship": shipped,
            "chain": verified.split(";")[0],
        }
    )


@pytest.fixture
def audit_table_trigger(pg, site):
    """install() makes every insert into kms_auditevent fail; dropped at the end."""

    def install() -> None:
        site.sql(
            "CREATE FUNCTION egide_test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit table unwritable (reliability test)'; END $$"
        )
        site.sql(
            "CREATE TRIGGER egide_test_refuse_audit BEFORE INSERT ON kms_auditevent "
            "FOR EACH ROW EXECUTE FUNCTION egide_test_refuse_audit()"
        )

    def remove() -> None:
        site.sql("DROP TRIGGER IF EXISTS egide_test_refuse_audit ON kms_auditevent")
        site.sql("DROP FUNCTION IF EXISTS egide_test_refuse_audit()")

    try:
        yield install, remove
    finally:
        remove()


def test_c_an_unwritable_audit_table_refuses_operations_instead_of_answering_unaudited(
    site, servers, audit_table_trigger, figures
):
    install, remove = audit_table_trigger
    server = servers(name="table", workers=2, env={"EGIDE_AUDIT_SINK": "table"})
    http = server.http()
    assert http.create("fault-t").status == 201
    ciphertext = http.encrypt("fault-t").data["ciphertext"]
    events_before = site.sql("SELECT count(*) FROM kms_auditevent")[0][0]

    install()
    attempts: list[tuple[str, Answer]] = []
    for _ in range(10):
        attempts += [
            ("encrypt", http.encrypt("fault-t")),
            ("decrypt", http.decrypt("fault-t", ciphertext)),
            ("rotate", http.rotate("fault-t")),
            ("disable", http.state("fault-t", "disable")),
        ]
    events_during = site.sql("SELECT count(*) FROM kms_auditevent")[0][0]
    numbers, current = versions_of(site, "fault-t")
    state = site.sql("SELECT state FROM kms_key WHERE name = 'fault-t'")[0][0]
    remove()
    after = {"encrypt": http.encrypt("fault-t").status, "rotate": http.rotate("fault-t").status}

    answers = Counter(f"{name} {a.status} {a.code}" for name, a in attempts)
    assert all(a.status == 503 and a.code == "unavailable" for _, a in attempts), f"answers: {answers}"
    assert not any("ciphertext" in a.raw or "plaintext" in a.raw for _, a in attempts)
    assert events_during == events_before, "an event was written although inserts fail"
    assert (numbers, current, state) == ([1], 1, "active"), "a refused operation changed the key"
    assert after == {"encrypt": 200, "rotate": 200}, f"not working again once the table is writable: {after}"
    verified, _ = verify_chain(site)
    figures.update(
        {
            "sink": "EGIDE_AUDIT_SINK=table; a BEFORE INSERT trigger on kms_auditevent that raises",
            "answers_while_unwritable": dict(answers),
            "latency_ms_p50": ms(percentile([a.received - a.sent for _, a in attempts], 0.5)),
            "key_after": f"versions {numbers}, state {state}",
            "answers_once_writable_again": after,
            "chain": verified.split(";")[0],
        }
    )
