"""The new operations (hmac, decapsulate, derive-shared-secret, verify of an hmac) through both
transports: the WSGI fast lane and the Django view answer alike, success and error, and each
request leaves one audit event under the operation's name."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from kms.models import AuditEvent
from tests.dataplane import test_parity as parity
from tests.dataplane.test_parity import answer, last_seq, through_django, through_the_lane
from tests.security.hostile.corpus import Case

pytestmark = pytest.mark.django_db
lane = parity.lane  # the WSGI application, keeping the test's transaction


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.fixture
def keys(system: Any) -> dict[str, Any]:
    from kms.keyring import load_version
    from kms.models import Key
    from kms.services.keys import key_create

    made = {}
    for name, key_type in (("mac", "hmac"), ("kem", "ml-kem-768"), ("agree", "x25519")):
        key = key_create(actor=system, name=name, key_type=key_type)
        kv = Key.objects.get(pk=key.pk).versions.get(version=1)
        made[name] = load_version(key_type=key_type, key_uid=key.uid.bytes, version=1,
                                  wrapped=kv.wrapped_material, master_key_id=kv.master_key_id)  # fmt: skip
    return made


def test_both_transports_serve_the_new_operations_alike(keys, root, lane, client):
    from kms.services.actor import Actor
    from kms.services.tokens import token_create

    token = token_create(actor=Actor.system(), user=root)[1]
    secret, ciphertext = load_pem_public_key(keys["kem"].public_key_pem().encode()).encapsulate()
    peer = x25519.X25519PrivateKey.generate()
    peer_pem = peer.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo).decode()  # fmt: skip
    wrong_pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()  # fmt: skip
    mac = "egide:v1:" + b64(keys["mac"].hmac(b"m"))
    requests = [
        ("/v1/kms/hmac/mac", {"data": b64(b"m")}, 200),
        ("/v1/kms/hmac/mac", {"batch": [{"data": b64(b"m")}, {"data": "!"}]}, 200),
        ("/v1/kms/verify/mac", {"data": b64(b"m"), "hmac": mac}, 200),
        ("/v1/kms/verify/mac", {"data": b64(b"m"), "signature": mac}, 400),
        ("/v1/kms/decapsulate/kem", {"ciphertext": b64(ciphertext)}, 200),
        ("/v1/kms/decapsulate/kem", {"ciphertext": b64(ciphertext[:10])}, 400),
        ("/v1/kms/derive-shared-secret/agree", {"public_key": peer_pem}, 200),
        ("/v1/kms/derive-shared-secret/agree", {"public_key": wrong_pem}, 400),
        ("/v1/kms/hmac/kem", {"data": b64(b"m")}, 400),
    ]
    for path, body, status in requests:
        case = Case(method="POST", path=path, body=body)
        raw = json.dumps(body).encode()
        answers, outputs = [], []
        for send, target in ((through_the_lane, lane), (through_django, client)):
            seq = last_seq()
            got = send(target, case, raw, token)
            answers.append(answer(*got))
            outputs.append(json.loads(got[2]))
            events = list(AuditEvent.objects.filter(seq__gt=seq))
            assert len(events) == 1 and events[0].action == path.split("/")[3], (path, events)
        assert answers[0] == answers[1], (path, answers)
        assert answers[0]["status"] == status, (path, outputs[0])
        if status == 200 and "decapsulate" in path:
            assert [base64.b64decode(o["data"]["shared_secret"]) for o in outputs] == [secret, secret]
        if status == 200 and "derive" in path:
            expected = peer.exchange(load_pem_public_key(keys["agree"].public_key_pem().encode()))
            assert [base64.b64decode(o["data"]["shared_secret"]) for o in outputs] == [expected, expected]
        if path.endswith("/verify/mac") and status == 200:
            assert outputs == [{"data": {"valid": True}}] * 2
