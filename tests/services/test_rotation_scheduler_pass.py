"""The scheduler's pass: rotation, purge past the recovery window, expiry of approval requests."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from kms.durations import parse_duration
from kms.models import ApprovalRequest, AuditEvent, Key
from kms.services import keys, scheduler
from kms.services.approvals import approvals_expire
from kms.services.scheduler import scheduler_pass

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def deleted_key(create_key, system, name: str, *, window_ends):
    create_key(name)
    keys.key_delete(actor=system, name=name)
    Key.objects.filter(name=name).update(purge_after=window_ends)


def request_for(key, requester, *, expires_at, status="pending"):
    return ApprovalRequest.objects.create(
        key=key,
        action="delete",
        requester=requester,
        required=1,
        expires_at=expires_at,
        status=status,
        # Rows made here, not by the gate: distinct, or one pending per action would refuse them.
        fingerprint=uuid.uuid4().hex,
    )


def test_one_pass_rotates_purges_and_expires(alice, system, create_key):
    now = timezone.now()
    due = create_key("due", rotation_period=parse_duration("1h"))
    deleted_key(create_key, system, "gone", window_ends=now - DAY)
    request_for(due, alice, expires_at=now - DAY)

    result = scheduler_pass(now=due.next_rotation_at + DAY)

    assert [r.name for r in result.rotation.rotated] == ["due"]
    assert result.purged == ["gone"] and result.approvals_expired == 1 and result.ok
    assert Key.objects.get(name="gone").state == "purged"


def test_a_key_still_in_its_recovery_window_is_not_purged(system, create_key):
    deleted_key(create_key, system, "kept", window_ends=timezone.now() + DAY)
    assert scheduler_pass().purged == []
    assert Key.objects.get(name="kept").state == "deleted"


def between_listing_and_claim(monkeypatch, meanwhile):
    """Run `meanwhile` once, after keys_purge_due has listed its keys, before it claims one
    (in its own transactions, as another node would)."""
    real, done = keys.operation, []

    def operation(*args, **kwargs):
        if not done:
            done.append(True)
            meanwhile()
        return real(*args, **kwargs)

    monkeypatch.setattr(keys, "operation", operation)


def test_a_key_deleted_again_after_the_listing_keeps_its_new_window(monkeypatch, system, create_key):
    # Before: the purge re-checked only "deleted" under the lock, so a key restored and
    # deleted again between the listing and the purge lost its fresh 30-day window.
    deleted_key(create_key, system, "again", window_ends=timezone.now() - DAY)

    def restore_and_delete_again():
        keys.key_restore(actor=system, name="again")
        keys.key_delete(actor=system, name="again")

    between_listing_and_claim(monkeypatch, restore_and_delete_again)
    assert keys.keys_purge_due(actor=system, now=timezone.now()) == []
    key = Key.objects.get(name="again")
    assert key.state == "deleted" and key.purge_after > timezone.now() + 29 * DAY


def test_two_schedulers_purging_at_once_purge_once_and_write_no_false_denial(monkeypatch, system, create_key):
    deleted_key(create_key, system, "gone", window_ends=timezone.now() - DAY)
    other = {}

    def other_scheduler():
        other["purged"] = keys.keys_purge_due(actor=system)

    between_listing_and_claim(monkeypatch, other_scheduler)
    assert keys.keys_purge_due(actor=system) == []
    assert other["purged"] == ["gone"]
    events = AuditEvent.objects.filter(action="purge")
    assert [(e.key_name, e.outcome) for e in events] == [("gone", "success")]


def test_pending_requests_past_their_expiry_are_expired_and_audited(alice, system, create_key):
    key = create_key("k")
    now = timezone.now()
    old = request_for(key, alice, expires_at=now - timedelta(minutes=1))
    fresh = request_for(key, alice, expires_at=now + DAY)
    done = request_for(key, alice, expires_at=now - DAY, status="executed")

    assert approvals_expire(actor=system, now=now) == 1
    statuses = {r.pk: r.status for r in ApprovalRequest.objects.all()}
    assert statuses == {old.pk: "expired", fresh.pk: "pending", done.pk: "executed"}
    [event] = AuditEvent.objects.filter(action="approval_expire")
    assert event.key_name == "k" and event.actor_name == "system"
    assert event.details == {"request_id": old.pk, "action": "delete"}
    assert approvals_expire(actor=system, now=now) == 0  # never twice


def test_a_step_that_cannot_run_does_not_stop_the_others(monkeypatch, alice, system, create_key):
    key = create_key("k")
    request_for(key, alice, expires_at=timezone.now() - DAY)

    def broken(**kwargs):
        raise ConnectionError("database went away")

    monkeypatch.setattr(scheduler, "rotate_due", broken)
    result = scheduler_pass()
    assert result.errors == ["rotate: ConnectionError"] and not result.ok
    assert result.approvals_expired == 1
