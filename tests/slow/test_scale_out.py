"""Issue 19, past one machine: two application nodes on one PostgreSQL — what limits them.

Each node is `scripts/serve` (granian, its own audit spool) on the same database, as in
the README's production section. The same load is sent to one node, then split over two
(the same number of worker processes in total, so that "more nodes" is measured apart
from "more processes" on this 2-core machine):

- the data plane: encrypt 64 B, 8 keep-alive connections per client thread for a few
  seconds; requests per second, the server CPU per request (granian workers + PostgreSQL
  backends, from /proc) and what PostgreSQL's sessions were waiting on, sampled from
  pg_stat_activity every 20 ms (a wait on the audit chain head's row lock shows as
  `Lock/transactionid` or `Lock/tuple`);
- the control plane's writes: key creations, each one audited in the chain under the
  head's row lock inside its transaction.

It asserts correctness only (every answer 2xx, every event shipped once, the chain
verifies across both nodes' spools); the figures go to test-artifacts/ and
docs/benchmarks.md ("Several nodes on one PostgreSQL"). No time is asserted.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.slow.servers import Server, ship, verify_chain

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("EGIDE_SLOW_SCALE_SECONDS", "5"))
CLIENT_THREADS = 8
CLK = os.sysconf("SC_CLK_TCK")


def ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def backend_pids(site) -> list[int]:
    rows = site.sql("SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend' "
                    "AND pid <> pg_backend_pid()", (site.database,))  # fmt: skip
    return [row[0] for row in rows]


def drive(site, nodes: list[Server], work, label: str) -> dict:
    """`work(http, i)` from CLIENT_THREADS threads, spread over `nodes`, for SECONDS."""
    statuses: Counter[int | None] = Counter()
    waits: Counter[str] = Counter()
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS
    app = [pid for node in nodes for pid in [node.pid, *node.worker_pids(), *node.shipper_pids()]]

    def client(i: int) -> None:
        http = nodes[i % len(nodes)].http()
        n = 0
        while time.monotonic() < stop:
            answer = work(http, f"{label}-{i}-{n}")
            n += 1
            with lock:
                statuses[answer.status] += 1
        http.close()

    def sampler() -> None:
        with site.pg.connect(site.database) as conn:
            while time.monotonic() < stop:
                for event_type, event in conn.execute(
                    "SELECT wait_event_type, wait_event FROM pg_stat_activity WHERE datname = %s "
                    "AND backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()",
                    (site.database,),
                ).fetchall():
                    waits[f"{event_type}/{event}" if event_type else "CPU"] += 1
                time.sleep(0.02)

    db0, app0, t0 = ticks(backend_pids(site)), ticks(app), time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENT_THREADS)]
    threads.append(threading.Thread(target=sampler))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - t0
    db1, app1 = ticks(backend_pids(site)), ticks(app)
    done = sum(n for status, n in statuses.items() if status is not None and status < 300)
    assert set(statuses) <= {200, 201}, f"{label}: {dict(statuses)}"
    return {
        "nodes": len(nodes), "requests": done, "per_s": round(done / elapsed),
        "cpu_us_per_request_app": round((app1 - app0) / CLK / max(done, 1) * 1e6),
        "cpu_us_per_request_db": round((db1 - db0) / CLK / max(done, 1) * 1e6),
        "db_waits_sampled": dict(waits.most_common(6)),
    }  # fmt: skip


def test_two_nodes_on_one_postgresql_what_limits_them(site, servers, figures):
    one = servers(name="alone", workers=2)
    setup = one.http()
    assert setup.create("scale").status == 201
    encrypt = lambda http, rid: http.encrypt("scale", rid=rid)  # noqa: E731
    create = lambda http, rid: http.create(f"k-{rid}")  # noqa: E731
    figures["encrypt_one_node_2_workers"] = drive(site, [one], encrypt, "e1")
    figures["create_one_node_2_workers"] = drive(site, [one], create, "c1")
    spools = [one.spool_dir]
    one.stop()

    a = servers(name="node-a", workers=1)
    b = servers(name="node-b", workers=1)
    figures["encrypt_two_nodes_1_worker_each"] = drive(site, [a, b], encrypt, "e2")
    figures["create_two_nodes_1_worker_each"] = drive(site, [a, b], create, "c2")
    spools += [a.spool_dir, b.spool_dir]
    a.stop(), b.stop()

    for spool in spools:  # whatever the shippers had not moved yet
        ship(site, spool)
    encrypted = sum(figures[f"encrypt_{n}"]["requests"] for n in ("one_node_2_workers", "two_nodes_1_worker_each"))
    shipped = site.sql("SELECT count(*) FROM kms_auditevent WHERE action = 'encrypt' AND key_name = 'scale'")[0][0]
    assert shipped >= encrypted, f"{shipped} encrypt events in the chain for {encrypted} answered"
    figures["chain"] = verify_chain(site)[0]
