"""One audit shipper per node (EGIDE_AUDIT_SHIPPER=node, what scripts/serve runs).

The serving workers only append lines; another process ships them. A worker must still
count its own uses exactly: each use is remembered with the spool offset its line ends at,
and forgotten once the database says the file is shipped past it (the counts and the
offset are read in one statement). Counted twice, a key would stop early; missed, a usage
limit could be overrun.
"""

from __future__ import annotations

import base64
import json
import subprocess
import threading
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from kms.dataplane import state
from kms.models import AuditEvent, AuditSpoolOffset, KeyVersion
from kms.rules import AES_HARD_LIMIT
from kms.services import audit_spool as spool
from kms.services.audit import verify_chain
from tests.dataplane.conftest import wsgi_call

pytestmark = pytest.mark.django_db(transaction=True)
BODY = json.dumps({"plaintext": base64.b64encode(b"node-shipped").decode()}).encode()


@pytest.fixture
def lane(monkeypatch: pytest.MonkeyPatch) -> Any:
    from egide_site.wsgi import application
    from kms.dataplane import wsgi

    monkeypatch.setattr(wsgi, "close_old_connections", lambda opened=None: [])
    return application


@pytest.fixture
def node(spooled: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The production cache (a window, fresh counts every request here) and a node shipper."""
    settings.EGIDE_STATE_WINDOW_MS = 250
    settings.EGIDE_AUDIT_SHIPPER = "node"
    monkeypatch.setattr(state, "USAGE_FRESHNESS_SECONDS", 0.0)  # re-read the counts on every use
    state.CACHE.clear()
    yield spooled
    state.CACHE.clear()


def _encrypt(lane: Any, bearer: str) -> int:
    return wsgi_call(lane, "/v1/kms/encrypt/k", BODY, bearer)[0]


def _set_count(value: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE kms_keyversion SET encrypt_count = %s", (value,))


def test_a_worker_with_a_node_shipper_starts_no_shipping_thread(node: Any, bearer: str, create_key: Any,
                                                                 lane: Any) -> None:  # fmt: skip
    create_key("k", "aes256")
    assert _encrypt(lane, bearer) == 200
    assert spool.WRITER.path is not None and spool.WRITER._shipper is None


def test_uses_shipped_by_another_process_are_not_counted_twice(node: Any, bearer: str, create_key: Any,
                                                                lane: Any) -> None:  # fmt: skip
    create_key("k", "aes256")
    _set_count(AES_HARD_LIMIT - 3)
    assert _encrypt(lane, bearer) == 200
    assert _encrypt(lane, bearer) == 200
    # The node's shipper (another process: nothing tells this one) moves both uses into the row.
    assert spool.ship_all() == 2
    assert KeyVersion.objects.get(key__name="k").encrypt_count == AES_HARD_LIMIT - 1
    assert _encrypt(lane, bearer) == 200  # the last one allowed: 2 shipped + 0 pending, not 2 + 2
    assert _encrypt(lane, bearer) == 409  # the limit, counted from the row and this line
    assert spool.ship_all() == 2
    assert KeyVersion.objects.get(key__name="k").encrypt_count == AES_HARD_LIMIT


def test_uses_not_yet_shipped_are_counted_once_shipping_lags(node: Any, bearer: str, create_key: Any,
                                                              lane: Any) -> None:  # fmt: skip
    create_key("k", "aes256")
    _set_count(AES_HARD_LIMIT - 3)
    assert [_encrypt(lane, bearer) for _ in range(4)] == [200, 200, 200, 409]  # nothing shipped
    assert spool.ship_all() == 4
    assert _encrypt(lane, bearer) == 409
    assert KeyVersion.objects.get(key__name="k").encrypt_count == AES_HARD_LIMIT


def test_a_use_shipped_between_two_reads_is_forgotten_exactly(node: Any, bearer: str, create_key: Any,
                                                               lane: Any) -> None:  # fmt: skip
    create_key("k", "aes256")
    assert _encrypt(lane, bearer) == 200
    spool.ship_all()
    assert _encrypt(lane, bearer) == 200  # pending: this one; the first is in the row
    key_id = KeyVersion.objects.get(key__name="k").key_id
    assert state.CACHE.pending_uses(key_id, 1, "encrypt") == 1
    spool.ship_all()
    state.CACHE.version(key_id, 1)  # the next read of the counts sees the offset move
    assert state.CACHE.pending_uses(key_id, 1, "encrypt") == 0
    assert KeyVersion.objects.get(key__name="k").encrypt_count == 2


def test_the_node_shipper_ships_every_file_until_stopped(node: Any, bearer: str, create_key: Any,
                                                         lane: Any) -> None:  # fmt: skip
    create_key("k", "aes256")
    for _ in range(3):
        assert _encrypt(lane, bearer) == 200
    stop = threading.Event()
    shipped: list[int] = []
    runner = threading.Thread(target=lambda: shipped.append(spool.follow(stop, interval=0.05)))
    runner.start()
    stop.wait(0.3)  # a few passes; this thread keeps off the (shared-cache SQLite) database meanwhile
    stop.set()
    runner.join(timeout=10)
    assert not runner.is_alive() and shipped == [3]
    assert AuditEvent.objects.filter(action="encrypt").count() == 3
    offset = AuditSpoolOffset.objects.get(name=spool.WRITER.path.name)
    assert offset.offset == spool.WRITER.path.stat().st_size and offset.shipped_events == 3
    assert verify_chain().ok


def test_a_stopped_node_shipper_still_makes_its_last_pass(node: Any, bearer: str, create_key: Any,
                                                          lane: Any) -> None:  # fmt: skip
    create_key("k", "aes256")
    assert _encrypt(lane, bearer) == 200
    stop = threading.Event()
    stop.set()  # SIGTERM before the first pass: one pass, then out
    assert spool.follow(stop, interval=3600) == 1
    assert AuditEvent.objects.filter(action="encrypt").count() == 1


def test_kms_audit_ship_follow_stops_when_its_parent_is_gone(node: Any, bearer: str, create_key: Any,
                                                             lane: Any, capsys: Any) -> None:  # fmt: skip
    create_key("k", "aes256")
    assert _encrypt(lane, bearer) == 200
    gone = subprocess.Popen(["true"])  # noqa: S607 - a process that ended: nobody's parent
    gone.wait()
    with override_settings(EGIDE_AUDIT_SHIP_INTERVAL_MS=50):
        call_command("kms_audit_ship", "--follow", "--parent", str(gone.pid))  # stops within 1 s
    assert "shipped 1 audit event(s)" in capsys.readouterr().out
    assert AuditEvent.objects.filter(action="encrypt").count() == 1
