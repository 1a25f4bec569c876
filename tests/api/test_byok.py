"""Issue 15 through the API: import, verify-only keys, backup and restore, both doors of the data plane."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kms.models import AuditEvent, Key
from kms.services.grants import grant_add
from tests.api.conftest import client_for
from tests.byok import outside
from tests.conftest import as_actor, make_user

pytestmark = pytest.mark.django_db


def wrapping(client) -> str:
    response = client.get("/v1/kms/wrapping-key")
    assert response.status_code == 200, response.content
    return response.json()["data"]["public_key"]


def test_a_key_made_outside_is_imported_and_used_through_both_doors(alice, bob_either_way):
    api_alice = client_for(alice)
    material = os.urandom(32)
    response = api_alice.post("/v1/kms/keys/byo/import", {
        "type": "aes256", "wrapped_material": outside.wrapped_b64(material, wrapping(api_alice)),
        "description": "from our old HSM", "backup_allowed": True}, format="json")  # fmt: skip
    assert response.status_code == 201, response.content
    info = response.json()["data"]
    assert (info["origin"], info["imported_by"], info["verify_only"], info["backup_allowed"]) == (
        "imported", "alice", False, True)  # fmt: skip
    assert info["imported_at"]
    uid = Key.objects.get(name="byo").aad_identity.bytes
    plaintext = base64.b64encode(b"pii").decode()
    token = bob_either_way.post("/v1/kms/encrypt/byo", {"plaintext": plaintext}, format="json").json()["data"]
    assert outside.aes_decrypt_outside(material, uid, token["ciphertext"]) == b"pii"
    theirs = outside.aes_encrypt_outside(material, uid, 1, b"theirs")
    answer = bob_either_way.post("/v1/kms/decrypt/byo", {"ciphertext": theirs}, format="json")
    assert base64.b64decode(answer.json()["data"]["plaintext"]) == b"theirs"
    listed = api_alice.get("/v1/kms/keys").json()["data"]
    assert [k["origin"] for k in listed if k["name"] == "byo"] == ["imported"]


def test_plaintext_material_is_never_accepted(alice):
    api = client_for(alice)
    for body in ({"type": "aes256", "material": base64.b64encode(b"k" * 32).decode()}, {"type": "aes256"}):
        response = api.post("/v1/kms/keys/plain/import", body, format="json")
        assert response.status_code == 400, response.content
    assert not Key.objects.filter(name="plain").exists()


def test_a_public_key_alone_verifies_and_answers_a_clear_error_to_sign(alice, bob_either_way):
    ec_key = ec.generate_private_key(ec.SECP256R1())
    response = client_for(alice).post("/v1/kms/keys/pub/import", {
        "type": "ecdsa-p256", "public_key": outside.spki_pem(ec_key.public_key())}, format="json")  # fmt: skip
    assert response.status_code == 201 and response.json()["data"]["verify_only"] is True
    data = base64.b64encode(b"doc").decode()
    good = outside.ecdsa_sign_outside(ec_key, 1, b"doc")
    verify = bob_either_way.post("/v1/kms/verify/pub", {"data": data, "signature": good}, format="json")
    assert verify.json()["data"]["valid"] is True
    blob = base64.b64decode(good.split(":", 2)[2])
    long_form = blob[:1] + b"\x81" + blob[1:]  # the SEQUENCE length in long form: not DER
    bad = "egide:v1:" + base64.b64encode(long_form).decode()
    verify = bob_either_way.post("/v1/kms/verify/pub", {"data": data, "signature": bad}, format="json")
    assert verify.json()["data"]["valid"] is False
    sign = bob_either_way.post("/v1/kms/sign/pub", {"data": data}, format="json")
    assert sign.status_code == 400 and sign.json()["error"]["code"] == "operation_not_allowed"


def test_import_version_and_rotation_of_an_imported_key(alice):
    api = client_for(alice)
    api.post("/v1/kms/keys/byo/import", {"type": "aes256",
             "wrapped_material": outside.wrapped_b64(os.urandom(32), wrapping(api))}, format="json")  # fmt: skip
    refused = api.post("/v1/kms/keys/byo/rotate", {}, format="json")
    assert refused.status_code == 400 and "import-version" in refused.json()["error"]["message"]
    response = api.post(
        "/v1/kms/keys/byo/import-version",
        {"wrapped_material": outside.wrapped_b64(os.urandom(32), wrapping(api))},
        format="json",
    )
    assert response.status_code == 200 and response.json()["data"]["new_version"] == 2


def test_backup_restore_and_a_flipped_byte(alice, bob, create_key):
    create_key("payments", "aes256", backup_allowed=True)
    api_alice, api_bob = client_for(alice), client_for(bob)
    token = api_bob.post("/v1/kms/encrypt/payments", {"plaintext": "cGlp"}, format="json").json()["data"]["ciphertext"]
    denied = api_bob.post("/v1/kms/keys/payments/backup", {}, format="json")
    assert denied.status_code == 403
    grant_add(actor=as_actor(alice), name="payments", user="bob", permissions=["backup"])
    bundle = api_bob.post("/v1/kms/keys/payments/backup", {}, format="json").json()["data"]["backup"]
    middle = len(bundle) // 2
    flipped = bundle[:middle] + ("A" if bundle[middle] != "A" else "B") + bundle[middle + 1 :]
    refused = api_alice.post("/v1/kms/backups/restore", {"name": "copy", "backup": flipped}, format="json")
    assert refused.status_code == 400, refused.content
    restored = api_alice.post("/v1/kms/backups/restore", {"name": "copy", "backup": bundle}, format="json")
    assert restored.status_code == 201, restored.content
    grant_add(actor=as_actor(alice), name="copy", user="bob", permissions=["decrypt"])
    plain = api_bob.post("/v1/kms/decrypt/copy", {"ciphertext": token}, format="json").json()["data"]["plaintext"]
    assert plain == "cGlp"
    assert AuditEvent.objects.filter(action="backup_restore", outcome="error").count() == 1


def test_a_backup_to_another_egide_answers_202_until_someone_else_approves(alice, bob, create_key, django_user_model):
    create_key("payments", "aes256", backup_allowed=True)
    grant_add(actor=as_actor(alice), name="payments", user="bob", permissions=["backup"])
    other = outside.spki_pem(rsa.generate_private_key(public_exponent=65537, key_size=4096).public_key())
    api_bob = client_for(bob)
    pending = api_bob.post("/v1/kms/keys/payments/backup", {"to": other}, format="json")
    assert pending.status_code == 202, pending.content
    request_id = pending.json()["data"]["approval_request"]["id"]
    carol = client_for(make_user(django_user_model, "carol", "kms-approver"))
    assert carol.post(f"/v1/kms/approvals/{request_id}/approve", {}, format="json").status_code == 200
    done = api_bob.post("/v1/kms/keys/payments/backup", {"to": other}, format="json")
    assert done.status_code == 200 and done.json()["data"]["backup"].startswith("egide-backup.v1.")
    again = api_bob.post("/v1/kms/keys/payments/backup", {"to": other}, format="json")
    assert again.status_code == 202


def test_the_wrapping_key_rotates_and_old_wraps_are_refused(alice, mallory):
    api = client_for(alice)
    old = wrapping(api)
    assert client_for(mallory).post("/v1/kms/wrapping-key/rotate", {}, format="json").status_code == 403
    assert api.post("/v1/kms/wrapping-key/rotate", {}, format="json").json()["data"]["version"] == 2
    assert wrapping(api) != old
    stale = api.post(
        "/v1/kms/keys/late/import",
        {"type": "aes256", "wrapped_material": outside.wrapped_b64(os.urandom(32), old)},
        format="json",
    )
    assert stale.status_code == 400
