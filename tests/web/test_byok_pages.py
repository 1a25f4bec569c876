"""Pages for issue 15: import (wrapped or a public key alone), back up, restore a backup."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client

from kms.models import Key
from kms.services.grants import grant_add
from tests.byok import outside
from tests.conftest import as_actor

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_key_administrator_imports_wrapped_material_and_a_public_key(alice):
    client = logged_in(alice)
    page = client.get("/import/")
    assert page.status_code == 200 and b"BEGIN PUBLIC KEY" in page.content
    pem = page.content.decode().split('<pre id="wrapping-key">')[1].split("</pre>")[0]
    wrapped = outside.wrapped_b64(os.urandom(32), pem.replace("&#x27;", "'"))
    response = client.post("/import/", {"name": "byo", "type": "aes256", "wrapped_material": wrapped})
    assert response.status_code == 302 and response["Location"].endswith("/keys/byo/")
    public = outside.spki_pem(ec.generate_private_key(ec.SECP256R1()).public_key())
    client.post("/import/", {"name": "pub", "type": "ecdsa-p256", "public_key": public})
    detail = client.get("/keys/pub/").content.decode()
    assert "verify-only" in detail and "Imported" in detail and "alice" in detail
    assert Key.objects.get(name="byo").origin == "imported"


def test_someone_who_may_not_create_keys_cannot_import(mallory):
    public = outside.spki_pem(ec.generate_private_key(ec.SECP256R1()).public_key())
    response = logged_in(mallory).post("/import/", {"name": "pub", "type": "ecdsa-p256", "public_key": public},
                                       follow=True)  # fmt: skip
    assert response.status_code == 200 and not Key.objects.filter(name="pub").exists()


def test_back_up_from_the_key_page_and_restore_as_a_new_key(alice, bob, create_key):
    create_key("payments", "aes256", backup_allowed=True)
    client = logged_in(alice)
    assert b"Back up" not in client.get("/keys/payments/").content  # alice holds no `backup` on it
    grant_add(actor=as_actor(alice), name="payments", user="bob", permissions=["backup"])
    bob_client = logged_in(bob)
    assert b"Back up" in bob_client.get("/keys/payments/").content
    download = bob_client.post("/keys/payments/backup/")
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    bundle = download.content.decode().strip()
    flipped = bundle[:-5] + ("A" if bundle[-5] != "A" else "B") + bundle[-4:]
    refused = client.post("/restore-backup/", {"name": "copy", "backup": flipped}, follow=True)
    assert b"modified" in refused.content and not Key.objects.filter(name="copy").exists()
    done = client.post("/restore-backup/", {"name": "copy", "backup": bundle})
    assert done.status_code == 302
    assert Key.objects.get(name="copy").aad_identity == Key.objects.get(name="payments").uid


def test_the_create_page_links_to_import_and_restore(alice):
    content = logged_in(alice).get("/new/").content
    assert b'href="/import/"' in content and b'href="/restore-backup/"' in content
