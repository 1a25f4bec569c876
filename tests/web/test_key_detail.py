"""A key's page and its actions, for the allowed and the denied user."""

from __future__ import annotations

import base64

import pytest

from kms.models import AuditEvent, Key, KeyVersion
from kms.services import crypto_ops
from kms.services.keys import key_create, key_delete, key_rotate
from tests.web.conftest import htmx, key_page, web_actor


def test_it_shows_settings_versions_and_actions_to_the_administrator(as_alice, aes_key):
    html = key_page(as_alice, "payments")
    assert '<h1 id="key-h">payments' in html
    for part in ("Versions", "Settings", "Who may do what", "Approval requests",
                 "Recent changes and use", "Operations per day"):  # fmt: skip
        assert part in html
    assert ">Rotate</button>" in html and ">Disable</button>" in html and ">Delete…</a>" in html
    assert 'name="min_decryption_version"' in html  # the settings form


def test_it_shows_a_key_user_the_key_without_administration(as_bob, aes_key):
    html = key_page(as_bob, "payments")
    assert '<h1 id="key-h">payments' in html
    assert ">Rotate</button>" not in html and ">Delete…</a>" not in html
    assert 'name="min_decryption_version"' not in html  # settings shown, not editable
    assert "Try it in the playground" in html
    assert "shown to its administrators and to auditors" in html  # no audit events for bob


def test_it_answers_not_found_to_an_outsider_naming_nothing_more(as_mallory, aes_key):
    response = as_mallory.get("/keys/payments/")
    assert response.status_code == 404
    assert b"Recent changes and use" not in response.content
    assert b"aes256" not in response.content


def test_it_never_shows_key_material(as_alice, aes_key):
    kv = KeyVersion.objects.get(key=aes_key)
    html = key_page(as_alice, "payments").encode()
    assert base64.b64encode(bytes(kv.wrapped_material)) not in html
    assert bytes(kv.wrapped_material).hex().encode() not in html
    assert b"wrapped" not in html


def test_it_shows_usage_counts_per_version(as_bob, bob, aes_key):
    crypto_ops.encrypt(actor=web_actor(bob), name="payments", plaintext=b"x")
    html = as_bob.get("/keys/payments/").content.decode()
    assert '<th scope="col" class="num">Encryptions</th>' in html
    assert '<td class="num">1</td>' in html
    assert "Signatures</th>" not in html  # aes256 does not sign


def test_it_rotates_for_the_administrator(as_alice, aes_key):
    response = as_alice.post("/keys/payments/rotate/", follow=True)
    assert "rotated: now at version 2" in response.content.decode()
    aes_key.refresh_from_db()
    assert aes_key.current_version == 2


def test_it_refuses_rotation_to_a_key_user(as_bob, aes_key):
    response = as_bob.post("/keys/payments/rotate/", follow=True)
    assert "you may not rotate with key" in response.content.decode()
    aes_key.refresh_from_db()
    assert aes_key.current_version == 1
    assert AuditEvent.objects.filter(action="rotate", outcome="denied", actor_name="bob").exists()


def test_it_refuses_rotation_to_an_outsider_as_not_found(as_mallory, aes_key):
    assert as_mallory.post("/keys/payments/rotate/").status_code == 404
    aes_key.refresh_from_db()
    assert aes_key.current_version == 1


def test_it_answers_htmx_actions_with_the_panel_and_the_message(as_alice, aes_key):
    html = htmx(as_alice, "post", "/keys/payments/rotate/").content.decode()
    assert html.lstrip().startswith('<div id="key-panel">')
    assert 'id="flash"' in html and 'hx-swap-oob="true"' in html and "now at version 2" in html
    assert "<html" not in html


def test_it_disables_and_enables(as_alice, aes_key):
    as_alice.post("/keys/payments/disable/")
    aes_key.refresh_from_db()
    assert aes_key.state == "disabled"
    html = as_alice.get("/keys/payments/").content.decode()
    assert ">Enable</button>" in html and "does nothing at all" in html
    as_alice.post("/keys/payments/enable/")
    aes_key.refresh_from_db()
    assert aes_key.state == "active"


def test_it_refuses_disabling_to_a_key_user(as_bob, aes_key):
    as_bob.post("/keys/payments/disable/")
    aes_key.refresh_from_db()
    assert aes_key.state == "active"


def test_it_confirms_a_deletion_by_the_key_name(as_alice, aes_key):
    page = as_alice.get("/keys/payments/delete/").content.decode()
    assert "Delete key “payments”?" in page and "Type the key&#x27;s name to confirm" in page
    wrong = as_alice.post("/keys/payments/delete/", {"confirm_name": "payment"})
    assert "Type &#x27;payments&#x27; exactly to confirm." in wrong.content.decode()
    aes_key.refresh_from_db()
    assert aes_key.state == "active"
    done = as_alice.post("/keys/payments/delete/", {"confirm_name": "payments"}, follow=True)
    assert "Key &#x27;payments&#x27; deleted. It can be restored until" in done.content.decode()
    aes_key.refresh_from_db()
    assert aes_key.state == "deleted"


def test_it_keeps_the_deletion_page_from_a_key_user(as_bob, aes_key):
    assert as_bob.get("/keys/payments/delete/").status_code == 403
    assert as_bob.post("/keys/payments/delete/", {"confirm_name": "payments"}).status_code == 403
    aes_key.refresh_from_db()
    assert aes_key.state == "active"


def test_it_restores_a_deleted_key(as_alice, alice, aes_key):
    key_delete(actor=web_actor(alice), name="payments")
    html = as_alice.get("/keys/payments/").content.decode()
    assert ">Restore</button>" in html and "will be purged" in html
    as_alice.post("/keys/payments/restore/")
    aes_key.refresh_from_db()
    assert aes_key.state == "active"


def test_it_refuses_restoring_to_a_key_user(as_bob, alice, aes_key):
    key_delete(actor=web_actor(alice), name="payments")
    as_bob.post("/keys/payments/restore/")
    aes_key.refresh_from_db()
    assert aes_key.state == "deleted"


def test_it_refuses_enabling_to_a_key_user(as_bob, alice, aes_key):
    from kms.services.keys import key_disable

    key_disable(actor=web_actor(alice), name="payments")
    as_bob.post("/keys/payments/enable/")
    aes_key.refresh_from_db()
    assert aes_key.state == "disabled"


def test_it_saves_only_the_settings_that_changed(as_alice, aes_key):
    data = {
        "description": "new words",
        "rotation_period": "30d",
        "min_encryption_version": "0",
        "min_decryption_version": "1",
        "approvals_required": "0",
        "allow_deletion": "on",
    }
    response = as_alice.post("/keys/payments/settings/", data, follow=True)
    assert "saved: description, rotation_period" in response.content.decode()
    event = AuditEvent.objects.filter(action="update").latest("seq")
    assert set(event.details["after"]) == {"description", "rotation_period"}
    unchanged = as_alice.post("/keys/payments/settings/", data, follow=True)
    assert "Nothing changed." in unchanged.content.decode()


def test_it_shows_settings_errors_beside_the_fields(as_alice, aes_key):
    data = {"rotation_period": "soon", "min_encryption_version": "0",
            "min_decryption_version": "0", "approvals_required": "0"}  # fmt: skip
    html = htmx(as_alice, "post", "/keys/payments/settings/", data).content.decode()
    assert "Settings not saved" in html and "invalid duration" in html
    assert "Ensure this value is greater than or equal to 1." in html


def test_it_refuses_settings_to_a_key_user(as_bob, aes_key):
    data = {"description": "mine now", "min_encryption_version": "0",
            "min_decryption_version": "1", "approvals_required": "0"}  # fmt: skip
    as_bob.post("/keys/payments/settings/", data)
    aes_key.refresh_from_db()
    assert aes_key.description == ""


def test_it_disables_and_enables_an_old_version(as_alice, alice, aes_key):
    key_rotate(actor=web_actor(alice), name="payments")
    as_alice.post("/keys/payments/versions/1/disable/")
    assert KeyVersion.objects.get(key=aes_key, version=1).disabled_at is not None
    as_alice.post("/keys/payments/versions/1/enable/")
    assert KeyVersion.objects.get(key=aes_key, version=1).disabled_at is None


def test_it_refuses_to_disable_the_current_version_and_says_why(as_alice, aes_key):
    response = as_alice.post("/keys/payments/versions/1/disable/", follow=True)
    assert "the current version cannot be disabled" in response.content.decode()


def test_it_refuses_version_changes_to_a_key_user(as_bob, alice, aes_key):
    key_rotate(actor=web_actor(alice), name="payments")
    as_bob.post("/keys/payments/versions/1/disable/")
    assert KeyVersion.objects.get(key=aes_key, version=1).disabled_at is None


def test_it_downloads_the_public_key(as_bob, signing_key):
    response = as_bob.get("/keys/signer/public.pem")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="signer-v1.pub.pem"'
    assert response.content.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert b"PRIVATE" not in response.content


def test_it_refuses_a_version_it_cannot_read(as_bob, signing_key):
    response = as_bob.get("/keys/signer/public.pem", {"version": "latest"}, follow=True)
    assert "version: must be a whole number" in response.content.decode()
    assert as_bob.get("/keys/signer/public.pem", {"version": "1"}).status_code == 200


def test_it_keeps_the_public_key_from_outsiders(as_mallory, signing_key):
    assert as_mallory.get("/keys/signer/public.pem").status_code == 404


def test_it_offers_no_public_key_for_a_symmetric_key(as_bob, aes_key):
    assert b"Download public key" not in as_bob.get("/keys/payments/").content
    response = as_bob.get("/keys/payments/public.pem", follow=True)
    assert "has no public key" in response.content.decode()


@pytest.mark.parametrize("key_type", ["rsa2048", "ecdsa-p384"])
def test_it_shows_sign_and_crypt_counts_by_type(as_bob, alice, key_type):
    key_create(actor=web_actor(alice), name="k", key_type=key_type)
    html = as_bob.get("/keys/k/").content.decode()
    assert ("Signatures</th>" in html) and (("Encryptions</th>" in html) == (key_type == "rsa2048"))


def test_it_shows_the_key_events_to_its_administrator(as_alice, aes_key):
    html = key_page(as_alice, "payments")
    assert "<code>create</code>" in html


def test_it_asks_for_approval_before_deleting_a_guarded_key(as_alice, alice):
    key_create(actor=web_actor(alice), name="guarded", key_type="aes256", approvals_required=1)
    response = as_alice.post("/keys/guarded/delete/", {"confirm_name": "guarded"}, follow=True)
    html = response.content.decode()
    assert "is waiting for 1 approval(s)" in html and "request #" in html
    assert Key.objects.get(name="guarded").state == "active"
    assert "Delete key guarded — restorable" in key_page(as_alice, "guarded")  # listed among the key's requests
