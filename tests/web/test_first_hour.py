"""Issue 18, the pages a newcomer meets: every mistake of the create form at once, the
request awaiting an approver counted in the navigation (and their landing page), request
cards in words, a deleted key's page, times in UTC, the favicon and htmx's CSP settings."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kms.services import keys as key_services
from kms.services.actor import Actor
from tests.conftest import as_actor, make_user


@pytest.fixture
def alice(db, django_user_model):
    return make_user(django_user_model, "alice", "kms-admin", "kms-user")


@pytest.fixture
def carol(db, django_user_model):
    return make_user(django_user_model, "carol", "kms-approver")


def test_the_create_form_shows_every_mistake_at_once_beside_its_field(client, alice):
    client.force_login(alice)
    answer = client.post(reverse("key_create"), {
        "name": "bad name!", "key_type": "aes256", "rotation_period": "10m",
        "approvals_required": "0", "max_signatures_per_version": "5", "allow_deletion": "on",
    })  # fmt: skip
    form = answer.context["form"]
    assert set(form.errors) == {"name", "rotation_period", "max_signatures_per_version"}
    html = answer.content.decode()
    assert "id_name_error" in html and "id_rotation_period_error" in html
    assert 'data-for-types="' in html and "aes256" not in html.split('data-for-types="')[1].split('"')[0]


def test_approvers_see_the_count_and_land_on_their_inbox(client, alice, carol):
    key_services.key_create(actor=as_actor(alice), name="payments-prod", key_type="aes256", approvals_required=1)
    from kms.exceptions import ApprovalRequired

    with pytest.raises(ApprovalRequired):
        key_services.key_delete(actor=as_actor(alice), name="payments-prod")
    answer = client.post(reverse("login"), {"username": "carol", "password": "pw-carol"})
    assert answer.url == reverse("approvals")
    inbox = client.get(reverse("approvals")).content.decode()
    assert 'id="awaiting-count"' in inbox and ">1<" in inbox
    assert "Delete key payments-prod — restorable for 30 days" in inbox
    assert "<pre>{}</pre>" not in inbox
    client.logout()
    assert client.post(reverse("login"), {"username": "alice", "password": "pw-alice"}).url == "/"


def test_a_deleted_keys_page_shows_no_next_rotation_and_unusable_versions(client, alice):
    from datetime import timedelta

    key_services.key_create(actor=as_actor(alice), name="gone", key_type="aes256", rotation_period=timedelta(days=90))
    key_services.key_delete(actor=as_actor(alice), name="gone")
    client.force_login(alice)
    html = client.get(reverse("key_detail", args=["gone"])).content.decode()
    assert "next rotation" not in html and "no rotation while deleted" in html
    assert "unusable: key deleted" in html and "verifys" not in html.lower()
    listing = client.get(reverse("key_list") + "?status=deleted").content.decode()
    assert "— (deleted)" in listing and "Next rotation (UTC)" in listing


def test_times_say_utc_and_the_page_has_a_favicon_and_htmx_keeps_the_csp(client, alice):
    key_services.key_create(actor=Actor.system(), name="k", key_type="aes256")
    client.force_login(alice)
    html = client.get(reverse("key_list")).content.decode()
    assert "favicon.svg" in html and 'href="data:,"' not in html
    assert '"includeIndicatorStyles": false' in html and '"attributesToSettle": ["class", "width", "height"]' in html
    assert " UTC</td>" in html
