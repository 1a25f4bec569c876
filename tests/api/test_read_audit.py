"""A control-plane read (a list, a key's info, its grants) writes its one audit event through
the data plane's sink (kms.services.audit_sink): the spool line in production, before the
answer, fail closed — a read whose event cannot be written answers 503 `unavailable`.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from kms.models import AuditEvent
from kms.services import audit_spool as spool
from kms.services.audit import verify_chain
from tests.web.conftest import htmx

pytestmark = pytest.mark.django_db


@pytest.fixture
def spooled(spool_sink):
    return spool_sink


@pytest.fixture
def full_disk(spooled, monkeypatch):
    def refuse(line: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spooled, "_write_whole", refuse)
    return spooled


def lines(writer) -> list[dict]:
    if writer.path is None:
        return []
    return [json.loads(line) for line in writer.path.read_bytes().splitlines()]


@pytest.fixture
def page_alice(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


READS = [
    ("list", "/v1/kms/keys?limit=10"),
    ("info", "/v1/kms/keys/payments"),
    ("grants_list", "/v1/kms/keys/payments/grants"),
]


@pytest.mark.parametrize(("action", "path"), READS)
def test_a_read_writes_one_spool_line_before_the_answer_and_none_in_the_request(
    api_alice, create_key, spooled, action, path
):
    create_key("payments")
    before = AuditEvent.objects.count()
    response = api_alice.get(path)
    assert response.status_code == 200, response.content
    assert AuditEvent.objects.count() == before  # nothing chained inside the request
    (line,) = lines(spooled)
    assert line["action"] == action and line["outcome"] == "success" and line["actor_name"] == "alice"
    assert line["auth_method"] == "token" and line["source"] == "api"
    # ...and it reaches the chain, as the data plane's lines do.
    assert spool.ship_file(spooled.path) == 1
    event = AuditEvent.objects.latest("seq")
    assert (event.action, event.outcome, event.actor_name) == (action, "success", "alice")
    assert verify_chain().ok


def test_a_denied_read_is_one_line_too(api_mallory, create_key, spooled):
    create_key("payments")
    assert api_mallory.get("/v1/kms/keys/payments").status_code == 404
    (line,) = lines(spooled)
    assert (line["action"], line["outcome"], line["error_code"]) == ("info", "denied", "key_not_found")
    assert not line.get("key_uid")  # a key one may not see is not named by its uid


def test_the_list_records_what_it_returned(api_alice, alice, spooled):
    from kms.services.keys import key_create
    from tests.conftest import as_actor

    for name in ("a", "b", "c"):
        key_create(actor=as_actor(alice), name=name, key_type="aes256")
    assert len(api_alice.get("/v1/kms/keys?limit=2").json()["data"]) == 2
    (line,) = lines(spooled)
    assert line["action"] == "list" and line["details"] == {"returned": 2}


@pytest.mark.parametrize(("action", "path"), READS)
def test_a_read_whose_event_cannot_be_written_answers_503(api_alice, create_key, full_disk, action, path):
    create_key("payments")
    response = api_alice.get(path)
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "unavailable" and "data" not in body
    assert not AuditEvent.objects.filter(action=action).exists()


@pytest.mark.parametrize("path", ["/", "/keys/payments/", "/keys/payments/grants/"])
def test_a_page_whose_read_cannot_be_audited_answers_503(page_alice, create_key, full_disk, path):
    create_key("payments")  # alice sees it: kms-admin views every key
    response = page_alice.get(path)
    assert response.status_code == 503
    assert b"payments</a>" not in response.content and b'id="key-h"' not in response.content


def test_the_table_sink_chains_the_read_in_the_request(api_mallory, create_key):
    create_key("payments")  # tests run with EGIDE_AUDIT_SINK=table (tests/conftest.py)
    assert api_mallory.get("/v1/kms/keys/payments").status_code == 404  # mallory holds nothing on it
    event = AuditEvent.objects.latest("seq")
    assert (event.action, event.outcome, event.error_code) == ("info", "denied", "key_not_found")


def test_a_lazy_panel_of_the_page_is_read_through_the_sink_too(page_alice, create_key, spooled):
    create_key("payments")
    assert htmx(page_alice, "get", "/keys/payments/grants/").status_code == 200
    (line,) = lines(spooled)
    assert (line["action"], line["source"], line["auth_method"]) == ("grants_list", "web", "session")
