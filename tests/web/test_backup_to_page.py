"""Issue 15, key page: a backup to another Egide (`to`: its wrapping public key, pasted), beside
'Back up'; it takes one approval by someone else, then the requester's next call downloads."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client

from kms.crypto.backup import peek_bundle, rsa_recipient
from kms.models import ApprovalRequest
from kms.services.approvals import approval_approve
from kms.services.grants import grant_add
from tests.conftest import as_actor

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def other_egide_pem() -> str:
    public = rsa.generate_private_key(public_exponent=65537, key_size=4096).public_key()
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def test_back_up_for_another_egide_from_the_key_page(alice, bob, create_key, system):
    create_key("payments", "aes256", backup_allowed=True)
    grant_add(actor=system, name="payments", user="alice", permissions=["approve"])
    assert b'name="to"' not in logged_in(alice).get("/keys/payments/").content  # alice holds no `backup` on it
    grant_add(actor=as_actor(alice), name="payments", user="bob", permissions=["backup"])
    client = logged_in(bob)
    page = client.get("/keys/payments/").content.decode()
    assert "Back up for another Egide" in page and 'name="to"' in page and "/keys/payments/backup/" in page
    pem = other_egide_pem()
    # first: an approval request, named on the key page, and no bundle
    first = client.post("/keys/payments/backup/", {"to": pem}, follow=True)
    assert first.status_code == 200 and "attachment" not in first.get("Content-Disposition", "")
    request = ApprovalRequest.objects.get(action="backup", requester=bob)
    assert f"#{request.pk}" in first.content.decode()
    approval_approve(actor=as_actor(alice), request_id=request.pk)
    # then the same form downloads the bundle, sealed to that Egide's key
    download = client.post("/keys/payments/backup/", {"to": pem})
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    header = peek_bundle(download.content.decode().strip())
    assert header.recipient == rsa_recipient(pem)


def test_a_bad_public_key_is_said_on_the_key_page(alice, bob, create_key):
    create_key("payments", "aes256", backup_allowed=True)
    grant_add(actor=as_actor(alice), name="payments", user="bob", permissions=["backup"])
    answer = logged_in(bob).post("/keys/payments/backup/", {"to": "not a key"}, follow=True)
    assert answer.status_code == 200 and "wrapping public key" in answer.content.decode()
    assert not ApprovalRequest.objects.filter(action="backup").exists()
