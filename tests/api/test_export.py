"""Key material leaves only through export, of an exportable key, to a holder of `export`."""

from __future__ import annotations

import base64

import pytest
from guardian.shortcuts import assign_perm

from kms.models import AuditEvent, Key, KeyVersion
from tests.api.helpers import b64, data, error, post, unb64

pytestmark = pytest.mark.django_db


def secret_forms(material: str) -> list[str]:
    """The ways a key's secret could show up in a JSON answer."""
    forms = [material]
    if "BEGIN" not in material:  # aes256: base64 of the raw key
        raw = unb64(material)
        forms += [raw.hex(), base64.urlsafe_b64encode(raw).decode()]
    else:
        forms += [line for line in material.splitlines() if len(line) == 64]
    return forms


def wrapped_forms(key_name: str) -> list[str]:
    rows = KeyVersion.objects.filter(key__name=key_name)
    return [b64(bytes(row.wrapped_material)) for row in rows] + [bytes(row.wrapped_material).hex() for row in rows]


@pytest.mark.parametrize("key_type", ["aes256", "ed25519", "rsa2048"])
def test_material_appears_only_in_the_export_answer(api_root, key_type):
    created = post(api_root, "/v1/kms/keys/portable", {"type": key_type, "exportable": True})
    post(api_root, "/v1/kms/keys/portable/rotate")
    exported = data(api_root.post("/v1/kms/keys/portable/export", {}, format="json"))
    assert exported["name"] == "portable" and exported["type"] == key_type
    assert [v["version"] for v in exported["versions"]] == [1, 2]
    secrets = [form for v in exported["versions"] for form in secret_forms(v["material"])] + wrapped_forms("portable")
    others = [
        created,
        api_root.get("/v1/kms/keys/portable"),
        api_root.get("/v1/kms/keys"),
        api_root.patch("/v1/kms/keys/portable", {"description": "d"}, format="json"),
        post(api_root, "/v1/kms/keys/portable/disable"),
        post(api_root, "/v1/kms/keys/portable/enable"),
    ]
    if key_type != "aes256":
        others.append(api_root.get("/v1/kms/keys/portable/public"))
    for response in others:
        assert response.status_code in (200, 201)
        text = response.content.decode()
        assert not [s for s in secrets if s in text], response.request["PATH_INFO"]
    events = repr(list(AuditEvent.objects.values()))
    assert not [s for s in secrets if s in events]


def test_exported_aes_material_decrypts_what_the_key_encrypted(api_root):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    post(api_root, "/v1/kms/keys/portable", {"type": "aes256", "exportable": True})
    sealed = data(post(api_root, "/v1/kms/encrypt/portable", {"plaintext": b64(b"hello")}))["ciphertext"]
    material = unb64(data(api_root.post("/v1/kms/keys/portable/export", {}, format="json"))["versions"][0]["material"])
    assert len(material) == 32
    blob = unb64(sealed.rpartition(":")[2])
    key = Key.objects.get(name="portable")
    from kms.crypto import aes_aad_prefix

    assert AESGCM(material).decrypt(blob[:12], blob[12:], aes_aad_prefix(key.uid.bytes, 1)) == b"hello"


def test_a_key_that_is_not_exportable_refuses_export(api_root, create_key):
    create_key("fixed", "aes256")
    error(api_root.post("/v1/kms/keys/fixed/export", {}, format="json"), 403, "export_disabled")


def test_export_needs_the_export_permission(api_alice, api_bob, api_mallory, alice, create_key):
    key = create_key("portable", "aes256", exportable=True)
    error(api_alice.post("/v1/kms/keys/portable/export", {}, format="json"), 403, "permission_denied")
    error(api_bob.post("/v1/kms/keys/portable/export", {}, format="json"), 403, "permission_denied")
    error(api_mallory.post("/v1/kms/keys/portable/export", {}, format="json"), 404, "key_not_found")
    assign_perm("kms.export_key", alice, key)
    assert data(api_alice.post("/v1/kms/keys/portable/export", {}, format="json"))["versions"]


def test_export_takes_no_query_parameters(api_root, create_key):
    create_key("portable", "aes256", exportable=True)
    error(api_root.post("/v1/kms/keys/portable/export?version=1", {}, format="json"), 400, "invalid_request")


def test_export_is_a_post_and_a_get_answers_405(api_root, create_key):
    """A GET filed approval requests in the caller's name from any link (issue 13)."""
    create_key("portable", "aes256", exportable=True)
    error(api_root.get("/v1/kms/keys/portable/export"), 405, "method_not_allowed")


def test_a_disabled_key_is_not_exported(api_root, create_key):
    create_key("portable", "aes256", exportable=True)
    post(api_root, "/v1/kms/keys/portable/disable")
    error(api_root.post("/v1/kms/keys/portable/export", {}, format="json"), 409, "key_disabled")
