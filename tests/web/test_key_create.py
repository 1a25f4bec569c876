"""Creating a key: every setting, and errors a person can act on."""

from __future__ import annotations

from datetime import timedelta

from kms.models import AuditEvent, Key
from tests.web.conftest import htmx

VALID = {"name": "orders", "key_type": "aes256", "description": "Order data",
         "allow_deletion": "on", "rotation_period": "90d", "approvals_required": "2"}  # fmt: skip


def test_it_creates_a_key_with_its_settings(as_alice):
    response = as_alice.post("/new/", VALID)
    assert response.status_code == 302 and response["Location"] == "/keys/orders/"
    key = Key.objects.get(name="orders")
    assert (key.key_type, key.description, key.approvals_required) == ("aes256", "Order data", 2)
    assert key.rotation_period == timedelta(days=90) and key.allow_deletion and not key.exportable
    event = AuditEvent.objects.get(action="create", key_name="orders")
    assert (event.source, event.auth_method, event.actor_name) == ("web", "session", "alice")


def test_it_creates_a_signing_key_with_a_signature_cap(as_alice):
    data = {**VALID, "name": "docs", "key_type": "ecdsa-p256", "max_signatures_per_version": "1000"}
    as_alice.post("/new/", data)
    assert Key.objects.get(name="docs").max_signatures_per_version == 1000


def test_it_refuses_a_key_user_and_says_why(as_bob):
    response = as_bob.post("/new/", VALID)
    assert response.status_code == 200
    assert b"you may not add keys" in response.content
    assert not Key.objects.filter(name="orders").exists()
    assert AuditEvent.objects.filter(action="create", outcome="denied", actor_name="bob").exists()


def test_it_puts_a_taken_name_next_to_the_name_field(as_alice, aes_key):
    response = as_alice.post("/new/", {**VALID, "name": "payments"})
    form = response.context["form"]
    assert form.errors["name"] == ["a key named 'payments' already exists"]


def test_it_explains_an_invalid_name(as_alice):
    response = as_alice.post("/new/", {**VALID, "name": "no spaces"})
    assert "invalid key name" in response.content.decode()
    assert not Key.objects.exists()


def test_it_explains_a_bad_rotation_period(as_alice):
    response = as_alice.post("/new/", {**VALID, "rotation_period": "3 months"})
    assert "rotation_period" in response.context["form"].errors
    assert "e.g. 90d" in response.content.decode()
    too_short = as_alice.post("/new/", {**VALID, "rotation_period": "5m"})
    assert "A rotation period is from 1h to 3660d" in too_short.content.decode()


def test_it_refuses_a_signature_cap_on_an_encryption_key(as_alice):
    response = as_alice.post("/new/", {**VALID, "max_signatures_per_version": "5"})
    assert "Only signing keys count signatures" in response.content.decode()


def test_it_answers_htmx_with_the_form_or_a_redirect(as_alice):
    bad = htmx(as_alice, "post", "/new/", {**VALID, "name": ""})
    assert bad.status_code == 200
    assert bad.content.decode().lstrip().startswith('<form id="create-form"')
    good = htmx(as_alice, "post", "/new/", VALID)
    assert good["HX-Redirect"] == "/keys/orders/"


def test_the_create_form_says_what_each_type_is_for_in_words(as_alice):
    """Issue 18: each type's purpose from its operations (encrypt, sign, both, HMAC, key
    agreement, decapsulation), in the type menu and in the 'what each type is for' list."""
    from django.utils.html import escape

    from kms.crypto import KEY_TYPES
    from kms.web.forms import purpose

    page = as_alice.get("/new/").content.decode()
    said = {name: purpose(kt) for name, kt in KEY_TYPES.items()}
    assert said["aes256"] == "encrypt and decrypt" and said["ed25519"] == "sign and verify"
    assert said["rsa2048"] == "both: encrypt and sign" and said["hmac"].startswith("HMAC")
    assert said["x25519"] == "key agreement" and said["ml-kem-768"].startswith("decapsulation")
    for name, kt in KEY_TYPES.items():
        assert f'<option value="{name}"' in page and escape(f"{name} — {said[name]}") in page
        assert f"<dt><code>{name}</code> — {escape(said[name])}</dt><dd>{escape(kt.summary)}</dd>" in page
    assert page.count("<summary>What each type is for</summary>") == 1  # one list, extended, not a second
