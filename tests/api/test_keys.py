"""Keys over the API: create, info, settings, rotate, lifecycle, versions, public key."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from kms.models import Key
from tests.api.helpers import data, error, post

pytestmark = pytest.mark.django_db

INFO_FIELDS = {
    "name", "type", "current_version", "versions", "created_at", "updated_at", "status",
    "description", "exportable", "allow_deletion", "min_encryption_version",
    "min_decryption_version", "approvals_required", "rotation_period", "next_rotation_at",
    "last_rotated_at", "max_signatures_per_version", "deleted_at", "purge_after",
    "origin", "imported_at", "imported_by", "verify_only", "allow_generated_rotation", "backup_allowed",  # issue 15
}  # fmt: skip
VERSION_FIELDS = {
    "version", "created_at", "status", "encrypt_count", "decrypt_count", "sign_count", "verify_count",
    "destroy_after",
}  # fmt: skip


def test_an_admin_creates_a_key_and_gets_its_info(api_alice):
    info = data(post(api_alice, "/v1/kms/keys/payments", {"type": "aes256", "description": "cards"}), 201)
    assert set(info) == INFO_FIELDS
    assert info["name"] == "payments" and info["type"] == "aes256" and info["current_version"] == 1
    assert info["status"] == "active" and info["description"] == "cards"
    assert info["exportable"] is False and info["allow_deletion"] is True
    assert [set(v) for v in info["versions"]] == [VERSION_FIELDS]
    assert info["versions"][0]["status"] == "active"
    assert data(api_alice.get("/v1/kms/keys/payments")) == info


def test_creation_takes_rotation_settings(api_alice):
    info = data(post(api_alice, "/v1/kms/keys/signer", {
        "type": "ed25519", "rotation_period": "90d", "max_signatures_per_version": 1000,
        "allow_deletion": False, "exportable": True,
    }), 201)  # fmt: skip
    assert info["rotation_period"] == "90d" and info["next_rotation_at"] is not None
    assert info["max_signatures_per_version"] == 1000
    assert info["allow_deletion"] is False and info["exportable"] is True


@pytest.mark.parametrize("key_type", ["aes256", "rsa2048", "rsa4096", "ecdsa-p256", "ecdsa-p384", "ed25519"])
def test_every_key_type_can_be_created(api_alice, key_type):
    assert data(post(api_alice, f"/v1/kms/keys/k-{key_type}", {"type": key_type}), 201)["type"] == key_type


def test_a_second_key_with_the_same_name_is_refused(api_alice, create_key):
    create_key("payments")
    error(post(api_alice, "/v1/kms/keys/payments", {"type": "aes256"}), 409, "key_exists")


def test_an_unknown_key_type_is_refused_naming_the_valid_ones(api_alice):
    message = error(post(api_alice, "/v1/kms/keys/k", {"type": "des"}), 400, "invalid_key_type")
    assert "aes256" in message and "ed25519" in message


def test_an_invalid_key_name_is_refused(api_alice):
    error(post(api_alice, "/v1/kms/keys/-bad", {"type": "aes256"}), 400, "invalid_request")
    error(post(api_alice, "/v1/kms/keys/" + "a" * 129, {"type": "aes256"}), 400, "invalid_request")


@pytest.mark.parametrize("body", [
    {"type": "aes256", "colour": "blue"},
    {"type": "aes256", "exportable": "yes"},
    {"type": "aes256", "rotation_period": "soon"},
    {"type": "aes256", "rotation_period": "1m"},
    {"type": "aes256", "max_signatures_per_version": 10},  # not a signing key
    {"type": "aes256", "approvals_required": 11},
    {},
])  # fmt: skip
def test_bad_creation_settings_are_refused(api_alice, body):
    error(post(api_alice, "/v1/kms/keys/k", body), 400, "invalid_request")
    assert not Key.objects.filter(name="k").exists()


def test_a_key_user_may_not_create_keys(api_bob, api_mallory):
    error(post(api_bob, "/v1/kms/keys/k", {"type": "aes256"}), 403, "permission_denied")
    error(post(api_mallory, "/v1/kms/keys/k", {"type": "aes256"}), 403, "permission_denied")


def test_an_unknown_key_is_not_found(api_alice):
    assert "nope" in error(api_alice.get("/v1/kms/keys/nope"), 404, "key_not_found")


def test_an_outsider_cannot_tell_a_key_exists(api_mallory, create_key):
    create_key("payments")
    hidden = error(api_mallory.get("/v1/kms/keys/payments"), 404, "key_not_found")
    missing = error(api_mallory.get("/v1/kms/keys/nothing-here"), 404, "key_not_found")
    assert hidden.replace("payments", "X") == missing.replace("nothing-here", "X")


def test_settings_change_with_patch(api_alice, create_key):
    create_key("payments")
    info = data(api_alice.patch("/v1/kms/keys/payments", {"description": "new", "rotation_period": "12h"},
                                format="json"))  # fmt: skip
    assert info["description"] == "new" and info["rotation_period"] == "12h"


@pytest.mark.parametrize("body", [
    {}, {"name": "other"}, {"current_version": 5}, {"min_decryption_version": 2},
    {"description": 5}, {"allow_deletion": "false"},
])  # fmt: skip
def test_unknown_read_only_or_bad_settings_are_refused(api_alice, create_key, body):
    create_key("payments")
    error(api_alice.patch("/v1/kms/keys/payments", body, format="json"), 400, "invalid_request")


def test_exportable_cannot_be_turned_off(api_alice, create_key):
    create_key("payments", exportable=True)
    error(
        api_alice.patch("/v1/kms/keys/payments", {"exportable": False}, format="json"),
        400,
        "invalid_request",
    )


def test_a_key_user_may_not_change_settings(api_bob, create_key):
    create_key("payments")
    error(
        api_bob.patch("/v1/kms/keys/payments", {"description": "x"}, format="json"),
        403,
        "permission_denied",
    )


def test_rotation_adds_a_version(api_alice, create_key):
    create_key("payments")
    assert data(post(api_alice, "/v1/kms/keys/payments/rotate")) == {
        "name": "payments",
        "new_version": 2,
    }
    info = data(api_alice.get("/v1/kms/keys/payments"))
    assert info["current_version"] == 2
    assert [(v["version"], v["status"]) for v in info["versions"]] == [
        (1, "decrypt-only"),
        (2, "active"),
    ]


def test_rotation_takes_an_empty_body_only(api_alice, create_key):
    create_key("payments")
    error(post(api_alice, "/v1/kms/keys/payments/rotate", {"force": True}), 400, "invalid_request")


def test_a_key_user_may_not_rotate(api_bob, create_key):
    create_key("payments")
    error(post(api_bob, "/v1/kms/keys/payments/rotate"), 403, "permission_denied")


def test_disable_then_enable(api_alice, create_key):
    create_key("payments")
    assert data(post(api_alice, "/v1/kms/keys/payments/disable"))["status"] == "disabled"
    error(post(api_alice, "/v1/kms/keys/payments/disable"), 409, "key_disabled")
    assert data(post(api_alice, "/v1/kms/keys/payments/enable"))["status"] == "active"
    error(post(api_alice, "/v1/kms/keys/payments/enable"), 409, "key_disabled")


def test_delete_then_restore(api_alice, create_key):
    create_key("payments")
    response = api_alice.delete("/v1/kms/keys/payments")
    assert response.status_code == 204 and response.content == b""
    info = data(api_alice.get("/v1/kms/keys/payments"))
    assert info["status"] == "deleted" and info["purge_after"] is not None
    restored = data(post(api_alice, "/v1/kms/keys/payments/restore"))
    assert restored["status"] == "active" and restored["purge_after"] is None


def test_restoring_a_live_key_is_refused(api_alice, create_key):
    create_key("payments")
    error(post(api_alice, "/v1/kms/keys/payments/restore"), 400, "invalid_request")


def test_a_key_created_without_deletion_refuses_it(api_alice, create_key):
    create_key("payments", allow_deletion=False)
    error(api_alice.delete("/v1/kms/keys/payments"), 409, "deletion_disabled")
    assert Key.objects.get(name="payments").state == "active"


def test_a_key_user_may_not_delete(api_bob, create_key):
    create_key("payments")
    error(api_bob.delete("/v1/kms/keys/payments"), 403, "permission_denied")


def test_a_version_is_disabled_enabled_and_destroyed(api_alice, create_key):
    create_key("payments")
    post(api_alice, "/v1/kms/keys/payments/rotate")
    base = "/v1/kms/keys/payments/versions/1"
    assert data(post(api_alice, f"{base}/disable")) == {"version": 1, "status": "disabled"}
    assert data(post(api_alice, f"{base}/enable")) == {"version": 1, "status": "decrypt-only"}
    error(post(api_alice, f"{base}/destroy"), 400, "invalid_request")  # still decryptable
    data(api_alice.patch("/v1/kms/keys/payments", {"min_decryption_version": 2}, format="json"))
    # Destruction waits out the recovery window (issue 13): scheduled, then wiped by the scheduler.
    assert data(post(api_alice, f"{base}/destroy")) == {"version": 1, "status": "retired"}
    assert data(api_alice.get("/v1/kms/keys/payments"))["versions"][0]["destroy_after"]
    assert data(post(api_alice, f"{base}/restore")) == {"version": 1, "status": "retired"}
    assert data(api_alice.get("/v1/kms/keys/payments"))["versions"][0]["destroy_after"] is None


def test_the_current_version_cannot_be_disabled(api_alice, create_key):
    create_key("payments")
    error(post(api_alice, "/v1/kms/keys/payments/versions/1/disable"), 400, "invalid_request")


def test_an_unknown_version_is_refused(api_alice, create_key):
    create_key("payments")
    error(post(api_alice, "/v1/kms/keys/payments/versions/7/disable"), 400, "invalid_request")


@pytest.mark.parametrize("key_type", ["rsa2048", "ecdsa-p256", "ed25519"])
def test_the_public_key_is_pem(api_bob, create_key, key_type):
    create_key("signer", key_type)
    answer = data(api_bob.get("/v1/kms/keys/signer/public"))
    assert answer["name"] == "signer" and answer["version"] == 1
    load_pem_public_key(answer["public_key"].encode())


def test_the_public_key_of_an_older_version(api_alice, create_key):
    create_key("signer", "ed25519")
    post(api_alice, "/v1/kms/keys/signer/rotate")
    one = data(api_alice.get("/v1/kms/keys/signer/public?version=1"))
    two = data(api_alice.get("/v1/kms/keys/signer/public"))
    assert (one["version"], two["version"]) == (1, 2) and one["public_key"] != two["public_key"]
    error(api_alice.get("/v1/kms/keys/signer/public?version=3"), 400, "invalid_request")
    error(api_alice.get("/v1/kms/keys/signer/public?version=x"), 400, "invalid_request")
    error(api_alice.get("/v1/kms/keys/signer/public?colour=red"), 400, "invalid_request")


def test_a_symmetric_key_has_no_public_key(api_bob, create_key):
    create_key("payments")
    error(api_bob.get("/v1/kms/keys/payments/public"), 400, "operation_not_allowed")
