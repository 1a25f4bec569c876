"""The five findings that made the data plane one pipeline (issue 12), each as it was found.

Each test failed before the pipeline: one hostile body jammed a node's audit trail; a
malformed body was audited on one door only; the fast lane ignored ALLOWED_HOSTS and the
body's charset; it decided the AES-GCM usage limit from a stale count; and the two doors
answered differently to a user holding only `add` and to a 9,000-character signature.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from django.db import connection

from kms.models import AuditEvent, KeyVersion
from kms.rules import AES_HARD_LIMIT
from kms.services import audit_spool as spool
from kms.services.audit import verify_chain
from tests.dataplane.conftest import wsgi_call

BODY = json.dumps({"plaintext": base64.b64encode(b"secret").decode()}).encode()
NUL_BODY = b'{"plaintext":"QQ==","x\\u0000":1}'


@pytest.fixture
def lane(monkeypatch: pytest.MonkeyPatch) -> Any:
    from egide_site.wsgi import application
    from kms.dataplane import wsgi

    monkeypatch.setattr(wsgi, "close_old_connections", lambda opened=None: [])
    return application


# 1. One request stops a node's audit trail --------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_nul_in_a_body_is_audited_and_never_jams_the_shipper(spooled: Any, bearer: str, create_key: Any,
                                                                 lane: Any) -> None:  # fmt: skip
    create_key("k", "aes256")
    before = AuditEvent.objects.count()
    for _ in range(10):
        status, _, body = wsgi_call(lane, "/v1/kms/encrypt/k", NUL_BODY, bearer)
        assert status == 400 and json.loads(body)["error"]["code"] == "invalid_request"
    for _ in range(30):
        assert wsgi_call(lane, "/v1/kms/encrypt/k", BODY, bearer)[0] == 200
    assert spool.ship_all() == 40
    events = list(AuditEvent.objects.filter(seq__gt=before, action="encrypt").order_by("seq"))
    assert [e.outcome for e in events] == ["error"] * 10 + ["success"] * 30
    assert "\x00" not in events[0].details["message"] and "\\x00" in events[0].details["message"]
    assert KeyVersion.objects.get(key__name="k").encrypt_count == 30
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_the_table_sink_records_the_same_body_instead_of_failing(bearer: str, create_key: Any, lane: Any) -> None:
    create_key("k", "aes256")
    before = AuditEvent.objects.count()
    status, _, body = wsgi_call(lane, "/v1/kms/encrypt/k", NUL_BODY, bearer)
    assert status == 400, body  # was 503: the event could not be written
    assert AuditEvent.objects.count() == before + 1


@pytest.mark.django_db(transaction=True)
def test_a_line_the_database_refuses_is_quarantined_and_shipping_goes_on(
    spooled: Any, bearer: str, create_key: Any, lane: Any
) -> None:
    create_key("k", "aes256")
    assert wsgi_call(lane, "/v1/kms/encrypt/k", BODY, bearer)[0] == 200
    with open(spool.WRITER.path, "ab") as fh:  # a line no sanitizing can save: `at` is not a time
        fh.write(b'{"at": "yesterday", "action": "decrypt", "actor_name": "eve", "outcome": "success"}\n')
    assert wsgi_call(lane, "/v1/kms/encrypt/k", BODY, bearer)[0] == 200
    before = AuditEvent.objects.count()
    assert spool.ship_all() == 3
    events = list(AuditEvent.objects.order_by("seq"))[before:]
    assert [e.action for e in events] == ["encrypt", spool.QUARANTINE_ACTION, "encrypt"]
    assert events[1].details["original_action"] == "decrypt" and events[1].actor_name == "eve"
    assert verify_chain().ok


# 2. A malformed body is audited on both doors ------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("door", ["token", "session"])
def test_a_malformed_body_is_audited_through_either_door(door: str, root: Any, create_key: Any) -> None:
    from rest_framework.test import APIClient

    from tests.api.conftest import client_for

    create_key("k", "aes256")
    client = client_for(root) if door == "token" else APIClient()
    if door == "session":
        client.force_login(root)
    before = AuditEvent.objects.count()
    response = client.post("/v1/kms/encrypt/k", data=b"{not json", content_type="application/json")
    assert response.status_code == 400
    event = AuditEvent.objects.order_by("-seq").first()
    assert AuditEvent.objects.count() == before + 1
    assert (event.action, event.outcome, event.error_code, event.auth_method) == (
        "encrypt",
        "error",
        "invalid_request",
        "token" if door == "token" else "session",
    )


# 3. ALLOWED_HOSTS and the charset ----------------------------------------------------------------


@pytest.mark.django_db
def test_the_fast_lane_refuses_a_host_django_refuses(bearer: str, create_key: Any, lane: Any,
                                                     settings: Any) -> None:  # fmt: skip
    create_key("k", "aes256")
    settings.ALLOWED_HOSTS = ["kms.example.org"]
    status, _, body = wsgi_call(lane, "/v1/kms/encrypt/k", BODY, bearer, extra={"HTTP_HOST": "evil.example"})
    assert status == 400 and json.loads(body)["error"]["code"] == "invalid_request"
    ok = wsgi_call(lane, "/v1/kms/encrypt/k", BODY, bearer, extra={"HTTP_HOST": "kms.example.org"})
    assert ok[0] == 200


@pytest.mark.django_db
@pytest.mark.parametrize(("content_type", "status"), [
    ("application/json; charset=utf-8", 200), ("application/json; charset=UTF-8", 200),
    ("application/json; charset=latin-1", 415), ("application/json; charset=utf-16", 415),
])  # fmt: skip
def test_a_charset_is_honoured_alike_on_both_doors(content_type: str, status: int, bearer: str,
                                                   create_key: Any, lane: Any, client: Any) -> None:  # fmt: skip
    create_key("k", "aes256")
    assert wsgi_call(lane, "/v1/kms/encrypt/k", BODY, bearer, content_type=content_type)[0] == status
    response = client.post("/v1/kms/encrypt/k", data=BODY, content_type=content_type,
                           HTTP_AUTHORIZATION=f"Bearer {bearer}")  # fmt: skip
    assert response.status_code == status


# 4. The AES-GCM usage limit, from counts no older than a second ---------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_count_raised_by_the_shipper_is_honoured_within_a_second(spooled: Any, bearer: str,
                                                                   create_key: Any, lane: Any,
                                                                   settings: Any) -> None:  # fmt: skip
    settings.EGIDE_STATE_WINDOW_MS = 250  # the production cache, not the tests' strict mode
    create_key("k", "aes256")
    assert wsgi_call(lane, "/v1/kms/encrypt/k", BODY, bearer)[0] == 200  # the version is now cached
    # Another node's shipper raises the count with a plain UPDATE: no state generation moves.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE kms_keyversion SET encrypt_count = %s", (AES_HARD_LIMIT,))
    time.sleep(1.1)
    status, _, body = wsgi_call(lane, "/v1/kms/encrypt/k", BODY, bearer)
    assert status == 409 and json.loads(body)["error"]["code"] == "key_version_unavailable"


@pytest.mark.django_db(transaction=True)
def test_this_process_counts_its_own_unshipped_uses(spooled: Any, bearer: str, create_key: Any, lane: Any,
                                                    settings: Any) -> None:  # fmt: skip
    settings.EGIDE_STATE_WINDOW_MS = 250
    create_key("k", "aes256")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE kms_keyversion SET encrypt_count = %s", (AES_HARD_LIMIT - 2,))
    assert wsgi_call(lane, "/v1/kms/encrypt/k", BODY, bearer)[0] == 200
    assert wsgi_call(lane, "/v1/kms/encrypt/k", BODY, bearer)[0] == 200
    assert wsgi_call(lane, "/v1/kms/encrypt/k", BODY, bearer)[0] == 409  # nothing shipped yet


# 5. Hide or deny, and a signature's length, answered alike -------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("door", ["token", "session"])
def test_a_user_holding_only_the_global_add_sees_no_key(door: str, django_user_model: Any,
                                                        create_key: Any) -> None:  # fmt: skip
    from django.contrib.auth.models import Permission
    from rest_framework.test import APIClient

    from tests.api.conftest import client_for

    create_key("k", "aes256")
    user = django_user_model.objects.create_user("adder", password="pw-adder")
    user.user_permissions.add(Permission.objects.get(codename="add_key"))
    client = client_for(user) if door == "token" else APIClient()
    if door == "session":
        client.force_login(user)
    response = client.post("/v1/kms/encrypt/k", {"plaintext": "QQ=="}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "key_not_found")


@pytest.mark.django_db
@pytest.mark.parametrize("door", ["token", "session"])
def test_a_9000_character_signature_is_refused_on_both_doors(door: str, root: Any, create_key: Any) -> None:
    from rest_framework.test import APIClient

    from tests.api.conftest import client_for

    create_key("ec", "ecdsa-p256")
    client = client_for(root) if door == "token" else APIClient()
    if door == "session":
        client.force_login(root)
    body = {"data": "QQ==", "signature": "egide:v1:" + "A" * 9000}
    response = client.post("/v1/kms/verify/ec", body, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_request")


# And: material leaves every process's memory, work is charged by cost ---------------------------


@pytest.mark.django_db
def test_a_destroyed_version_leaves_the_cache_when_another_process_destroyed_it(system: Any, create_key: Any) -> None:
    from kms.dataplane import generation
    from kms.dataplane.state import CACHE
    from kms.keyring import _cache
    from kms.services import crypto_ops as ops

    key = create_key("k", "aes256")
    ops.encrypt(actor=system, name="k", plaintext=b"x")
    assert _cache.get((key.uid.bytes, 1)) is not None
    # Another node destroyed it: the row changed and the generation moved, nothing else here.
    KeyVersion.objects.filter(key=key, version=1).update(wrapped_material=b"", destroyed_at=key.created_at)
    generation.bump()
    CACHE.sync()
    assert _cache.get((key.uid.bytes, 1)) is None


@pytest.mark.django_db
def test_a_batch_is_charged_by_its_work(root: Any, create_key: Any, settings: Any) -> None:
    from tests.api.conftest import client_for

    settings.EGIDE_THROTTLE_TOKEN = "60/min"
    create_key("rsa", "rsa4096")
    client = client_for(root)
    too_much = {"batch": [{"data": "QQ=="}] * 1000}  # about 2 s of CPU
    response = client.post("/v1/kms/sign/rsa", too_much, format="json")
    assert response.status_code == 400 and "at most" in response.json()["error"]["message"]
    response = client.post("/v1/kms/sign/rsa", {"batch": [{"data": "QQ=="}] * 10}, format="json")
    assert response.status_code == 200  # ten signatures: 1 + 10 * 400 // 50 = 81 requests' worth
    response = client.post("/v1/kms/sign/rsa", {"data": "QQ=="}, format="json")
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1


@pytest.mark.django_db(transaction=True)
def test_audit_verify_reports_quarantined_events(spooled: Any, bearer: str, create_key: Any, lane: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    create_key("k", "aes256")
    with open(spool.SpoolWriter().path or spooled / "spool-x-1-1.jsonl", "ab") as fh:
        fh.write(b'{"at": "not a time", "action": "sign", "outcome": "success"}\n')
    spool.ship_all(remove_orphans=False)
    out = StringIO()
    call_command("kms_audit_verify", stdout=out)
    assert "audit chain OK" in out.getvalue() and "1 quarantined event" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "flagged"), [("root", True), ("bob", False)])
def test_a_superusers_data_plane_events_say_so(who: str, flagged: bool, root: Any, bob: Any, create_key: Any) -> None:
    from tests.api.conftest import client_for

    create_key("k", "aes256")
    client = client_for(root if who == "root" else bob)
    assert client.post("/v1/kms/encrypt/k", {"plaintext": "QQ=="}, format="json").status_code == 200
    assert client.post("/v1/kms/decrypt/k", {"ciphertext": "egide:v1:AAAA"}, format="json").status_code == 400
    events = list(AuditEvent.objects.filter(action__in=["encrypt", "decrypt"]).order_by("seq"))
    assert [e.details.get("superuser", False) for e in events] == [flagged, flagged]
