"""`manage.py kms_rotate_due`: one pass, what it did on stdout, exit status 1 on failure."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from kms.durations import parse_duration
from kms.models import AuditEvent, Key
from kms.services import keys

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def run() -> str:
    out = StringIO()
    call_command("kms_rotate_due", stdout=out)
    return out.getvalue()


def test_a_90_day_key_is_rotated_on_day_90_with_no_one_touching_it(clock, create_key):
    create_key("payments", rotation_period=parse_duration("90d"))
    clock.advance(89 * DAY)
    assert run() == "nothing was due\n"

    clock.advance(DAY)
    assert run() == "rotated 1 key(s): payments v2 (period)\n"
    key = Key.objects.get(name="payments")
    assert key.current_version == 2 and key.next_rotation_at == clock.now + 90 * DAY
    assert AuditEvent.objects.get(action="rotate").actor_name == "system"

    assert run() == "nothing was due\n"  # a second run for the same day does nothing


def test_it_reports_purges_and_expired_requests(clock, system, create_key):
    create_key("old")
    keys.key_delete(actor=system, name="old")
    clock.advance(31 * DAY)
    assert run() == "purged 1 key(s): old\n"


def test_it_exits_non_zero_when_a_rotation_fails(monkeypatch, clock, create_key):
    create_key("broken", "ed25519", rotation_period=parse_duration("1h"))
    create_key("fine", rotation_period=parse_duration("1h"))

    def generate(key_type):
        raise RuntimeError("boom")

    monkeypatch.setattr(keys, "_generate", generate)
    clock.advance(2 * parse_duration("1h"))
    out = StringIO()
    with pytest.raises(CommandError, match="failed"):
        call_command("kms_rotate_due", stdout=out)
    assert "FAILED to rotate 2 key(s)" in out.getvalue()
    assert AuditEvent.objects.filter(action="rotate", outcome="error").count() == 2
