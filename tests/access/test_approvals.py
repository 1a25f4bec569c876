"""Approvals: the most dangerous actions need other people (issue 5)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from guardian.shortcuts import assign_perm

from kms.exceptions import ApprovalRequired, Conflict, PermissionDenied
from kms.models import ApprovalRequest, AuditEvent, Key
from kms.services import approvals, grants, keys
from kms.services.audit import verify_chain
from tests.conftest import as_actor, make_user


@pytest.fixture
def approvers(db, django_user_model):
    return [make_user(django_user_model, name, "kms-approver") for name in ("carol", "dave", "erin")]


@pytest.fixture
def prod_key(create_key):
    return create_key("payments-prod", "aes256", approvals_required=2)


def request_deletion(user, name="payments-prod"):
    with pytest.raises(ApprovalRequired) as pending:
        keys.key_delete(actor=as_actor(user), name=name)
    return pending.value.request


@pytest.mark.django_db
def test_deleting_a_key_that_needs_two_approvals_waits_for_two_other_people(alice, approvers, prod_key):
    request = request_deletion(alice)
    assert request.status == "pending" and request.action == "delete" and request.required == 2
    assert Key.objects.get(pk=prod_key.pk).state == "active"
    approvals.approval_approve(actor=as_actor(approvers[0]), request_id=request.pk)
    assert Key.objects.get(pk=prod_key.pk).state == "active"
    approvals.approval_approve(actor=as_actor(approvers[1]), request_id=request.pk)
    request.refresh_from_db()
    assert request.status == "executed"
    assert Key.objects.get(pk=prod_key.pk).state == "deleted"
    event = AuditEvent.objects.get(action="delete", outcome="success")
    assert event.actor == alice
    assert event.details["approval"]["approvers"] == ["carol", "dave"]
    assert event.details["approval"]["requester"] == "alice"
    assert verify_chain().ok


@pytest.mark.django_db
def test_a_requester_can_never_approve_their_own_request(alice, prod_key):
    assign_perm("kms.approve_key", alice, prod_key)
    request = request_deletion(alice)
    with pytest.raises(PermissionDenied):
        approvals.approval_approve(actor=as_actor(alice), request_id=request.pk)


@pytest.mark.django_db
def test_a_repeated_approver_counts_once(alice, approvers, prod_key):
    request = request_deletion(alice)
    approvals.approval_approve(actor=as_actor(approvers[0]), request_id=request.pk)
    with pytest.raises(Conflict):
        approvals.approval_approve(actor=as_actor(approvers[0]), request_id=request.pk)
    request.refresh_from_db()
    assert request.status == "pending"
    assert Key.objects.get(pk=prod_key.pk).state == "active"


@pytest.mark.django_db
def test_someone_without_approve_cannot_approve(alice, bob, prod_key):
    request = request_deletion(alice)
    with pytest.raises(PermissionDenied):
        approvals.approval_approve(actor=as_actor(bob), request_id=request.pk)


@pytest.mark.django_db
def test_a_rejection_closes_the_request(alice, approvers, prod_key):
    request = request_deletion(alice)
    approvals.approval_reject(actor=as_actor(approvers[0]), request_id=request.pk)
    with pytest.raises(Conflict):
        approvals.approval_approve(actor=as_actor(approvers[1]), request_id=request.pk)
    assert Key.objects.get(pk=prod_key.pk).state == "active"


@pytest.mark.django_db
def test_an_expired_request_can_no_longer_be_approved(alice, approvers, prod_key):
    request = request_deletion(alice)
    ApprovalRequest.objects.filter(pk=request.pk).update(expires_at=request.created_at - timedelta(seconds=1))
    with pytest.raises(Conflict, match="expired"):
        approvals.approval_approve(actor=as_actor(approvers[0]), request_id=request.pk)
    assert Key.objects.get(pk=prod_key.pk).state == "active"


@pytest.mark.django_db
def test_the_requester_may_cancel_and_nobody_else(alice, approvers, prod_key):
    request = request_deletion(alice)
    with pytest.raises(PermissionDenied):
        approvals.approval_cancel(actor=as_actor(approvers[0]), request_id=request.pk)
    approvals.approval_cancel(actor=as_actor(alice), request_id=request.pk)
    request.refresh_from_db()
    assert request.status == "cancelled"


@pytest.mark.django_db
def test_a_request_whose_effect_is_gone_meanwhile_fails_visibly(alice, mallory, approvers, system, create_key):
    key = create_key("k", "aes256", approvals_required=1)
    assign_perm("kms.decrypt_key", mallory, key)
    assign_perm("kms.grant_key", alice, key)
    with pytest.raises(ApprovalRequired) as pending:
        grants.grant_remove(actor=as_actor(alice), name="k", user="mallory", permissions=["decrypt"])
    grants.grant_remove(actor=system, name="k", user="mallory", permissions=["decrypt"])
    approvals.approval_approve(actor=as_actor(approvers[0]), request_id=pending.value.request.pk)
    request = ApprovalRequest.objects.get(pk=pending.value.request.pk)
    assert request.status == "failed" and request.result["code"] == "grant_not_found"


@pytest.mark.django_db
def test_deleting_a_key_cancels_its_pending_requests(alice, approvers, system, create_key):
    create_key("k", "aes256", approvals_required=1)
    with pytest.raises(ApprovalRequired) as pending:
        keys.key_update(actor=as_actor(alice), name="k", changes={"exportable": True})
    keys.key_delete(actor=system, name="k")
    request = ApprovalRequest.objects.get(pk=pending.value.request.pk)
    assert request.status == "cancelled" and request.result["reason"] == "key deleted"
    with pytest.raises(Conflict):
        approvals.approval_approve(actor=as_actor(approvers[0]), request_id=request.pk)
    assert Key.objects.get(name="k").exportable is False


@pytest.mark.django_db
def test_export_under_approval_is_performed_once_by_the_requester(alice, approvers, system, create_key):
    create_key("exp", "aes256", approvals_required=1, exportable=True)
    assign_perm("kms.export_key", alice, Key.objects.get(name="exp"))
    with pytest.raises(ApprovalRequired) as pending:
        keys.key_export(actor=as_actor(alice), name="exp")
    approvals.approval_approve(actor=as_actor(approvers[0]), request_id=pending.value.request.pk)
    exported = keys.key_export(actor=as_actor(alice), name="exp")
    assert exported["versions"][0]["version"] == 1
    with pytest.raises(ApprovalRequired):
        keys.key_export(actor=as_actor(alice), name="exp")


@pytest.mark.django_db
def test_the_inbox_shows_what_awaits_me(alice, approvers, prod_key):
    request = request_deletion(alice)
    carol = as_actor(approvers[0])
    waiting = approvals.approvals_for(actor=carol, filters=approvals.ApprovalFilter(awaiting_me=True))
    assert [r.pk for r in waiting] == [request.pk]
    approvals.approval_approve(actor=carol, request_id=request.pk)
    waiting = approvals.approvals_for(actor=carol, filters=approvals.ApprovalFilter(awaiting_me=True))
    assert list(waiting) == []
    mine = approvals.approvals_for(actor=as_actor(alice), filters=approvals.ApprovalFilter(mine=True))
    assert [r.pk for r in mine] == [request.pk]


@pytest.mark.django_db
def test_approvers_are_told_by_email(alice, approvers, prod_key, mailoutbox, django_capture_on_commit_callbacks):
    for user in approvers:
        user.email = f"{user.username}@example.com"
        user.save()
    with django_capture_on_commit_callbacks(execute=True):
        request_deletion(alice)
    assert len(mailoutbox) == 1
    assert set(mailoutbox[0].to) == {"carol@example.com", "dave@example.com", "erin@example.com"}
    assert "payments-prod" in mailoutbox[0].subject


@pytest.mark.django_db(transaction=True)
def test_two_approvals_at_the_same_moment_run_the_action_once(alice, approvers, prod_key):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL row locks")
    request = request_deletion(alice)
    approvals.approval_approve(actor=as_actor(approvers[0]), request_id=request.pk)
    barrier, errors = threading.Barrier(2), []

    def approve(user):
        try:
            barrier.wait()
            approvals.approval_approve(actor=as_actor(user), request_id=request.pk)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in approvers[1:]]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(errors) == 1 and isinstance(errors[0], Conflict)
    assert AuditEvent.objects.filter(action="delete", outcome="success").count() == 1
    assert verify_chain().ok
