"""Automatic rotation: durations, what is due, and the rotation pass (time passed as `now=`)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kms import rules
from kms.crypto.errors import MasterKeyError
from kms.durations import format_duration, parse_duration
from kms.exceptions import InvalidRequest
from kms.models import AuditEvent, Key, KeyVersion
from kms.services import crypto_ops as ops
from kms.services import keys
from kms.services.actor import Actor
from kms.services.rotation import (
    Rotated,
    aes_rotation_threshold,
    keys_due,
    rotate_due,
    rotation_due_reason,
)
from tests.conftest import as_actor

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def versions(name: str) -> list[int]:
    return list(KeyVersion.objects.filter(key__name=name).order_by("version").values_list("version", flat=True))


def rotate_events(name: str, outcome: str = "success") -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="rotate", key_name=name, outcome=outcome))


# --- durations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90d", timedelta(days=90)), ("12h", timedelta(hours=12)), ("30m", timedelta(minutes=30)),
     ("1w", timedelta(weeks=1)), ("45s", timedelta(seconds=45)), ("365d", timedelta(days=365))],
)  # fmt: skip
def test_it_reads_a_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "90", "d", "0d", "-1d", "1.5d", "90D", " 90d", "90d ", "9 0d", "1d12h", "1y",
             "090d", "9999999999d", "999999999w", "٩٠d", None, 90, timedelta(days=90)],
)  # fmt: skip
def test_it_refuses_anything_but_a_number_and_a_unit(text):
    with pytest.raises(InvalidRequest, match=r"e\.g\. 90d|too long"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("period", "text"),
    [(timedelta(days=90), "90d"), (timedelta(weeks=2), "14d"), (timedelta(hours=36), "36h"),
     (timedelta(minutes=90), "90m"), (timedelta(seconds=3601), "3601s"),
     (timedelta(days=3659, seconds=1), "316137601s")],
)  # fmt: skip
def test_it_writes_a_duration_that_reads_back_the_same(period, text):
    assert format_duration(period) == text
    assert parse_duration(text) == period


def test_a_period_with_a_fraction_of_a_second_is_still_shown():
    assert format_duration(timedelta(hours=1, microseconds=5)) == "1h"


def test_a_rotation_period_longer_than_ten_years_is_refused(create_key):
    # Before: accepted, then `last_rotated_at + period` overflowed datetime (a 500).
    with pytest.raises(InvalidRequest, match="3660d"):
        create_key("forever", rotation_period=timedelta(days=10**6))


# --- by period --------------------------------------------------------------------------


def test_a_90_day_key_is_rotated_on_day_90_and_not_on_day_89(system, create_key):
    key = create_key("payments", rotation_period=parse_duration("90d"))
    start = key.last_rotated_at
    assert key.next_rotation_at == start + 90 * DAY

    assert rotate_due(actor=system, now=start + 89 * DAY).rotated == []
    assert versions("payments") == [1]

    result = rotate_due(actor=system, now=start + 90 * DAY)
    assert result.rotated == [Rotated("payments", 2, "period")] and result.ok
    assert versions("payments") == [1, 2]


def test_after_its_rotation_the_key_shows_when_it_rotates_next(system, create_key):
    key = create_key("payments", rotation_period=parse_duration("90d"))
    start = key.last_rotated_at
    rotate_due(actor=system, now=start + 90 * DAY)

    info = keys.key_info(actor=system, name="payments")
    assert info.current_version == 2
    assert info.last_rotated_at == start + 90 * DAY
    assert info.next_rotation_at == start + 180 * DAY
    assert format_duration(info.rotation_period) == "90d"
    assert rotation_due_reason(info, start + 179 * DAY) is None
    assert rotation_due_reason(info, start + 180 * DAY) == "period"


def test_the_rotation_is_audited_as_the_system_with_its_reason(system, create_key):
    key = create_key("payments", rotation_period=parse_duration("90d"))
    rotate_due(actor=system, now=key.next_rotation_at)
    [event] = rotate_events("payments")
    assert (event.actor_name, event.source, event.key_version) == ("system", "system", 2)
    assert event.details == {"reason": "period"}


def test_a_key_without_a_policy_is_never_due(system, create_key):
    create_key("manual")
    assert rotate_due(actor=system, now=Key.objects.get().created_at + 10_000 * DAY).rotated == []


def test_a_disabled_key_waits_and_is_rotated_once_enabled_again(system, create_key):
    key = create_key("paused", rotation_period=parse_duration("1d"))
    keys.key_disable(actor=system, name="paused")
    day2 = key.next_rotation_at + DAY
    assert rotate_due(actor=system, now=day2).rotated == []
    assert rotation_due_reason(key, day2) is None  # not shown overdue: it does nothing at all

    keys.key_enable(actor=system, name="paused")
    assert [r.name for r in rotate_due(actor=system, now=day2).rotated] == ["paused"]


def test_a_shorter_period_set_later_makes_the_key_due_from_its_last_rotation(alice, system, create_key):
    key = create_key("later")
    keys.key_update(actor=as_actor(alice), name="later", changes={"rotation_period": parse_duration("12h")})
    key.refresh_from_db()
    assert key.next_rotation_at == key.last_rotated_at + timedelta(hours=12)
    assert [r.name for r in rotate_due(actor=system, now=key.next_rotation_at).rotated] == ["later"]


def test_a_manual_rotation_moves_the_next_automatic_one(alice, system, create_key):
    key = create_key("payments", rotation_period=parse_duration("90d"))
    keys.key_rotate(actor=as_actor(alice), name="payments")
    key.refresh_from_db()
    assert key.next_rotation_at == key.last_rotated_at + 90 * DAY
    assert rotate_events("payments")[0].details == {"reason": "manual"}


# --- by use -----------------------------------------------------------------------------


def test_a_signing_key_is_rotated_when_its_version_reaches_the_signature_cap(bob, system, create_key):
    create_key("signer", "ed25519", max_signatures_per_version=3)
    for _ in range(2):
        ops.sign(actor=as_actor(bob), name="signer", data=b"doc")
    assert rotate_due(actor=system).rotated == []

    ops.sign(actor=as_actor(bob), name="signer", data=b"doc")
    assert rotate_due(actor=system).rotated == [Rotated("signer", 2, "signature_cap")]
    # The fresh version has signed nothing: not due again.
    assert not keys_due().exists()
    assert ops.sign(actor=as_actor(bob), name="signer", data=b"doc").key_version == 2


def test_an_aes_version_is_rotated_at_the_threshold_whatever_its_policy(settings, system, create_key):
    settings.EGIDE_AES_MAX_ENCRYPTIONS = 1000
    create_key("busy", "aes256", rotation_period=parse_duration("90d"))
    current = KeyVersion.objects.filter(key__name="busy", version=1)
    current.update(encrypt_count=999)
    assert rotate_due(actor=system).rotated == []

    current.update(encrypt_count=1000)
    assert rotate_due(actor=system).rotated == [Rotated("busy", 2, "aes_usage_limit")]
    assert rotate_due(actor=system).rotated == []  # v1's count no longer matters


def test_only_aes_versions_are_counted_against_the_nonce_limit(settings, system, create_key):
    settings.EGIDE_AES_MAX_ENCRYPTIONS = 10
    create_key("rsa", "rsa2048")
    KeyVersion.objects.filter(key__name="rsa").update(encrypt_count=10**6)
    assert not keys_due().exists()


def test_the_aes_threshold_stays_well_below_the_hard_limit(settings):
    settings.EGIDE_AES_MAX_ENCRYPTIONS = 2**40
    assert aes_rotation_threshold() == rules.AES_HARD_LIMIT // 2
    settings.EGIDE_AES_MAX_ENCRYPTIONS = 2**30
    assert aes_rotation_threshold() == 2**30


# --- failures ---------------------------------------------------------------------------


def test_a_failing_rotation_does_not_stop_the_others_and_is_audited(monkeypatch, system, create_key):
    for name, key_type in [("a", "aes256"), ("broken", "ed25519"), ("c", "ecdsa-p256")]:
        create_key(name, key_type, rotation_period=parse_duration("1h"))
    real = keys._generate

    def generate(key_type):
        if key_type == "ed25519":
            raise RuntimeError("entropy source gone")
        return real(key_type)

    monkeypatch.setattr(keys, "_generate", generate)
    result = rotate_due(actor=system, now=Key.objects.get(name="a").next_rotation_at + DAY)

    assert sorted(r.name for r in result.rotated) == ["a", "c"]
    assert [(f.name, f.code) for f in result.failed] == [("broken", "internal_error")]
    assert not result.ok
    [event] = rotate_events("broken", outcome="error")
    assert event.error_code == "internal_error" and "RuntimeError" in event.details["message"]
    assert "entropy" not in event.details["message"]  # an unknown error's text is not trusted
    assert versions("broken") == [1] and versions("a") == [1, 2]


def test_a_typed_failure_is_audited_once_and_rolls_back_the_change(monkeypatch, system, create_key):
    create_key("a", rotation_period=parse_duration("1h"))
    create_key("b", rotation_period=parse_duration("1h"))
    real = keys._store_version

    def store(key, version, new):
        if key.name == "b":
            raise MasterKeyError("master key unavailable")
        return real(key, version, new)

    monkeypatch.setattr(keys, "_store_version", store)
    result = rotate_due(actor=system, now=Key.objects.get(name="b").next_rotation_at)

    assert [(f.name, f.code) for f in result.failed] == [("b", "master_key_error")]
    assert [e.error_code for e in rotate_events("b", outcome="error")] == ["master_key_error"]
    b = Key.objects.get(name="b")
    assert (b.current_version, versions("b")) == (1, [1])
    assert rotation_due_reason(b, b.next_rotation_at) == "period"  # tried again next pass


# --- overlapping schedulers (PostgreSQL threads: test_rotation_concurrency.py) ----------


def test_a_second_pass_for_the_same_due_time_does_nothing(system, create_key):
    key = create_key("k", rotation_period=parse_duration("90d"))
    day90 = key.next_rotation_at
    assert len(rotate_due(actor=system, now=day90).rotated) == 1
    second = rotate_due(actor=system, now=day90)
    assert (second.rotated, second.skipped, second.failed) == ([], [], [])
    assert versions("k") == [1, 2] and len(rotate_events("k")) == 1


def test_a_scheduler_that_found_a_key_due_leaves_it_if_another_rotated_it_first(monkeypatch, system, create_key):
    key = create_key("k", rotation_period=parse_duration("90d"))
    day90 = key.next_rotation_at
    real, other = keys._generate, {}

    def generate(key_type):
        # The first scheduler has listed and peeked at the key; the other one runs now.
        if "result" not in other:
            other["result"] = None
            other["result"] = rotate_due(actor=system, now=day90)
        return real(key_type)

    monkeypatch.setattr(keys, "_generate", generate)
    first = rotate_due(actor=system, now=day90)

    assert [r.name for r in other["result"].rotated] == ["k"]
    assert (first.rotated, first.skipped, first.failed) == ([], ["k"], [])
    assert versions("k") == [1, 2] and len(rotate_events("k")) == 1
    assert not AuditEvent.objects.filter(action="rotate", outcome__in=["error", "denied"]).exists()


# --- trim -------------------------------------------------------------------------------


def _key_with_three_versions(alice, create_key, bob):
    create_key("trim")
    old = ops.encrypt(actor=as_actor(bob), name="trim", plaintext=b"secret").ciphertext
    keys.key_rotate(actor=as_actor(alice), name="trim")
    keys.key_rotate(actor=as_actor(alice), name="trim")
    return old


def test_trim_destroys_a_retired_version_but_keeps_its_row_and_history(alice, bob, create_key):
    old = _key_with_three_versions(alice, create_key, bob)
    keys.key_update(actor=as_actor(alice), name="trim", changes={"min_decryption_version": 3})
    keys.version_destroy(actor=as_actor(alice), name="trim", version=1)
    # Scheduled (issue 13: a recovery window, as for a key); the scheduler wipes it after.
    assert KeyVersion.objects.get(key__name="trim", version=1).destroy_after is not None
    keys.versions_destroy_due(actor=Actor.system(), now=timezone.now() + timedelta(days=3660))

    v1 = KeyVersion.objects.get(key__name="trim", version=1)
    assert v1.destroyed_at is not None and bytes(v1.wrapped_material) == b""
    assert v1.encrypt_count == 1 and v1.status == "destroyed"
    assert AuditEvent.objects.filter(key_name="trim", key_version=1, action="create").exists()
    assert [e.key_version for e in AuditEvent.objects.filter(action="destroy_version")] == [1, 1]
    with pytest.raises(Exception, match="destroyed|retired"):
        ops.decrypt(actor=as_actor(bob), name="trim", ciphertext=old)
    with pytest.raises(InvalidRequest, match="destroyed"):
        keys.key_update(actor=as_actor(alice), name="trim", changes={"min_decryption_version": 1})


def test_trim_refuses_a_version_still_able_to_decrypt(alice, bob, create_key):
    _key_with_three_versions(alice, create_key, bob)
    keys.key_update(actor=as_actor(alice), name="trim", changes={"min_decryption_version": 2})
    for version in (2, 3):
        with pytest.raises(InvalidRequest, match="below min_decryption_version"):
            keys.version_destroy(actor=as_actor(alice), name="trim", version=version)
    assert not KeyVersion.objects.filter(destroyed_at__isnull=False).exists()


def test_a_key_user_may_not_trim(alice, bob, create_key):
    from kms.exceptions import PermissionDenied

    _key_with_three_versions(alice, create_key, bob)
    keys.key_update(actor=as_actor(alice), name="trim", changes={"min_decryption_version": 3})
    with pytest.raises(PermissionDenied):
        keys.version_destroy(actor=as_actor(bob), name="trim", version=1)
    assert KeyVersion.objects.get(key__name="trim", version=1).destroyed_at is None
