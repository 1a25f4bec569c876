"""The approvals inbox: exactly what was asked, by whom; approve or reject in place."""

from __future__ import annotations

import pytest

from kms.exceptions import ApprovalRequired
from kms.models import ApprovalRequest, Key
from kms.services.approvals import approval_approve
from kms.services.keys import key_create, key_delete
from tests.web.conftest import htmx, web_actor


@pytest.fixture
def deletion(alice) -> ApprovalRequest:
    """alice asked to delete 'guarded', a key that needs one approval."""
    key_create(actor=web_actor(alice), name="guarded", key_type="aes256", approvals_required=1)
    with pytest.raises(ApprovalRequired) as raised:
        key_delete(actor=web_actor(alice), name="guarded")
    return raised.value.request


def test_it_shows_the_approver_the_exact_request(as_carol, deletion):
    html = as_carol.get("/approvals/").content.decode()
    assert f"#{deletion.pk} · Delete key guarded — restorable for " in html
    assert "<code>delete</code>" in html and "<pre>{}</pre>" not in html  # issue 18: never {}
    assert "<strong>alice</strong>" in html and "0 of 1" in html
    assert f'aria-label="Approve request {deletion.pk}"' in html


def test_it_shows_the_parameters_of_a_settings_change(as_carol, alice):
    key_create(actor=web_actor(alice), name="guarded", key_type="aes256", approvals_required=2)
    from kms.services.keys import key_update

    with pytest.raises(ApprovalRequired):
        key_update(actor=web_actor(alice), name="guarded", changes={"approvals_required": 0})
    html = as_carol.get("/approvals/").content.decode()
    assert "Change settings of key &#x27;guarded&#x27;: approvals_required → 0" in html
    assert "&quot;approvals_required&quot;: 0" in html


def test_it_does_not_ask_the_requester_to_approve(as_alice, deletion):
    assert b"Nothing awaits your decision." in as_alice.get("/approvals/").content
    mine = as_alice.get("/approvals/", {"show": "mine"}).content.decode()
    assert f"#{deletion.pk} · Delete key" in mine and "Cancel request" in mine
    assert "Approve request" not in mine


def test_it_approves_in_place_and_the_key_is_deleted(as_carol, deletion):
    html = htmx(as_carol, "post", f"/approvals/{deletion.pk}/approve/").content.decode()
    assert html.lstrip().startswith(f'<article id="request-{deletion.pk}"')
    assert "it is now executed" in html and "1 of 1: carol" in html
    assert "Approve request" not in html
    assert Key.objects.get(name="guarded").state == "deleted"


def test_it_rejects_and_nothing_happens(as_carol, deletion):
    response = as_carol.post(f"/approvals/{deletion.pk}/reject/", follow=True)
    assert f"Request #{deletion.pk} rejected." in response.content.decode()
    deletion.refresh_from_db()
    assert deletion.status == "rejected"
    assert Key.objects.get(name="guarded").state == "active"


def test_it_refuses_the_requester_approving_their_own(as_alice, deletion):
    response = as_alice.post(f"/approvals/{deletion.pk}/approve/", follow=True)
    assert "you cannot approve or reject your own request" in response.content.decode()
    assert Key.objects.get(name="guarded").state == "active"


def test_it_refuses_a_key_user_who_may_not_approve(as_bob, deletion):
    response = htmx(as_bob, "post", f"/approvals/{deletion.pk}/approve/")
    assert response["HX-Reswap"] == "none"
    assert "you may not approve requests on key" in response.content.decode()
    assert Key.objects.get(name="guarded").state == "active"


def test_it_tells_an_outsider_there_is_no_such_request(as_mallory, deletion):
    response = as_mallory.post(f"/approvals/{deletion.pk}/approve/", follow=True)
    assert f"no approval request {deletion.pk}" in response.content.decode()
    assert b"guarded" not in as_mallory.get("/approvals/?show=all").content


def test_it_lets_the_requester_cancel(as_alice, deletion):
    as_alice.post(f"/approvals/{deletion.pk}/cancel/")
    deletion.refresh_from_db()
    assert deletion.status == "cancelled"


def test_it_says_when_a_request_is_already_decided(as_carol, carol, deletion):
    approval_approve(actor=web_actor(carol), request_id=deletion.pk)
    response = as_carol.post(f"/approvals/{deletion.pk}/approve/", follow=True)
    assert "is executed, not pending" in response.content.decode()
