"""Pages for issue 16: the create form explains every type, the key page says what a key can do,
and the playground computes and verifies HMACs."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.utils.html import escape

from kms.crypto import KEY_TYPES
from kms.services.actor import Actor
from kms.services.keys import key_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_bob_with_hmac(bob, as_bob):
    group = bob.groups.get(name="all-keys-users")
    group.permissions.add(Permission.objects.get(content_type__app_label="kms", codename="hmac_key"))
    key_create(actor=Actor.system(), name="mac", key_type="hmac")
    return as_bob


def play(client, op: str, **fields):
    return client.post("/playground/", {"op": op, **{f"{op}-{k}": v for k, v in fields.items()}})


def test_the_create_form_lists_every_served_type_with_what_it_is_for(as_alice):
    page = as_alice.get("/new/").content.decode()
    for name, key_type in KEY_TYPES.items():
        assert f'value="{name}"' in page
        assert escape(key_type.summary) in page
    assert "ml-kem-768" in page and "post-quantum key encapsulation" in page


def test_a_new_type_is_created_from_the_page(as_alice):
    response = as_alice.post("/new/", {"name": "pq", "key_type": "ml-dsa-65", "approvals_required": 0,
                                            "allow_deletion": "on"})  # fmt: skip
    assert response.status_code in (200, 302)
    page = as_alice.get("/keys/pq/").content.decode()
    assert "ML-DSA-65 (FIPS 204" in page and "This key can sign, verify." in page


@pytest.mark.parametrize(("key_type", "says"), [
    ("ml-kem-768", "This key can decapsulate ML-KEM ciphertexts."),
    ("x25519", "This key can derive shared secrets with a peer&#x27;s public key."),
    ("hmac", "This key can verify, compute HMACs."),
    ("ed25519", "served as a JWK set"),
])  # fmt: skip
def test_the_key_page_says_what_the_type_can_do(as_alice, alice, key_type, says):
    key_create(actor=Actor(user=alice, source="web", auth_method="session"), name="k", key_type=key_type)
    assert says in as_alice.get("/keys/k/").content.decode()


def test_the_playground_computes_and_verifies_an_hmac(as_bob_with_hmac):
    made = play(as_bob_with_hmac, "hmac", key="mac", text="invoice 7", algorithm="sha384")
    mac = made.context["result"]["output"]
    assert mac.startswith("egide:v1:")
    good = play(as_bob_with_hmac, "verify", key="mac", text="invoice 7", token=mac, algorithm="sha384")
    assert good.context["result"] == {"valid": True}
    bad = play(as_bob_with_hmac, "verify", key="mac", text="invoice 8", token=mac, algorithm="sha384")
    assert bad.context["result"] == {"valid": False}


def test_the_playground_offers_hmac_only_with_keys_one_may_hmac_with(as_bob, bob):
    key_create(actor=Actor.system(), name="mac", key_type="hmac")
    page = as_bob.get("/playground/").content.decode()  # bob holds no hmac permission
    assert "There is no active key you may hmac with." in page
