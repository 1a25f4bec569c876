"""The audit spool: every data-plane operation leaves one line, shipped once into the chain."""

import base64
import json
import os
from datetime import datetime

import pytest

from egide_site.wsgi import application
from kms.models import AuditEvent, KeyVersion
from kms.services import audit_spool as spool
from kms.services.audit import verify_chain
from tests.dataplane.conftest import wsgi_call

pytestmark = pytest.mark.django_db(transaction=True)
BODY = json.dumps({"plaintext": base64.b64encode(b"secret-payload").decode()}).encode()


def test_each_operation_is_spooled_then_shipped_exactly_once(spooled, bearer, create_key):
    create_key("k", "aes256")
    before = AuditEvent.objects.count()
    for _ in range(5):
        assert wsgi_call(application, "/v1/kms/encrypt/k", BODY, bearer)[0] == 200
    assert wsgi_call(application, "/v1/kms/encrypt/nope", BODY, bearer)[0] == 404
    assert AuditEvent.objects.count() == before  # not yet shipped
    lines = (spooled / spool.WRITER.path.name).read_text().splitlines()
    assert len(lines) == 6 and "secret-payload" not in "".join(lines)
    assert spool.ship_all() == 6
    assert spool.ship_all() == 0  # shipped once
    events = AuditEvent.objects.filter(action="encrypt").order_by("seq")
    assert [e.outcome for e in events] == ["success"] * 5 + ["denied"]
    # The instant stored (from the line's own text, on PostgreSQL) is the one the line named.
    assert [e.at for e in events] == [datetime.fromisoformat(json.loads(line)["at"]) for line in lines]
    assert KeyVersion.objects.get(key__name="k").encrypt_count == 5
    assert verify_chain().ok


def test_a_torn_last_line_waits_for_its_end(spooled, bearer, create_key):
    create_key("k", "aes256")
    assert wsgi_call(application, "/v1/kms/encrypt/k", BODY, bearer)[0] == 200
    path = spool.WRITER.path
    with open(path, "ab") as fh:
        fh.write(b'{"at": "2026-01-01T00:00:00+00:00", "action": "enc')
    assert spool.ship_all() == 1
    with open(path, "ab") as fh:
        fh.write(b'rypt", "source": "api"}\n')
    assert spool.ship_all() == 1
    assert verify_chain().ok


def test_when_the_spool_cannot_be_written_the_operation_fails_closed(spooled, bearer, create_key, monkeypatch):
    create_key("k", "aes256")

    def disk_full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full)
    status, _, body = wsgi_call(application, "/v1/kms/encrypt/k", BODY, bearer)
    assert status == 503
    assert "ciphertext" not in body.decode()
    assert json.loads(body)["error"]["code"] == "unavailable"


def test_a_pass_ships_what_was_written_before_it_and_leaves_the_rest_for_the_next(
    spooled, bearer, create_key, monkeypatch
):
    """Workers keep writing while the shipper ships: a pass that chased the file's end shipped it
    in slivers of a few lines, each paying a whole batch's statements (249 µs an event at one
    request at a time, docs/benchmarks.md round seven). Lines written during a pass wait."""
    create_key("k", "aes256")
    for _ in range(3):
        assert wsgi_call(application, "/v1/kms/encrypt/k", BODY, bearer)[0] == 200
    path = spool.WRITER.path
    line = path.read_bytes().splitlines(keepends=True)[0]  # a worker's line: written again below
    real_add_counts, batches = spool.add_counts, []

    def add_counts_while_a_worker_writes(lines):
        batches.append(len(lines))
        if len(batches) <= 5:  # another process answers a request while this batch is being shipped
            with open(path, "ab") as fh:
                fh.write(line)
        real_add_counts(lines)

    monkeypatch.setattr(spool, "add_counts", add_counts_while_a_worker_writes)
    assert spool.ship_file(path) == 3 and batches == [3]  # one batch, not a chase
    assert spool.ship_file(path) == 1  # the line written during the first pass
    monkeypatch.setattr(spool, "add_counts", real_add_counts)
    assert spool.ship_all() == 1
    assert KeyVersion.objects.get(key__name="k").encrypt_count == 5
    assert verify_chain().ok
