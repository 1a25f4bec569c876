"""Several schedulers at once, for real: threads with their own PostgreSQL connections.

On SQLite, writers are serialized by IMMEDIATE transactions; the same guarantee is shown
there by the back-to-back and interleaved tests in test_rotation.py.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction

from kms.durations import parse_duration
from kms.models import AuditEvent, Key, KeyVersion
from kms.services.actor import Actor
from kms.services.audit import verify_chain
from kms.services.keys import key_create
from kms.services.rotation import RotationPassResult, rotate_due

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="real row locks need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]
SCHEDULERS = 8
KEY_TYPES = ["aes256", "ed25519", "ecdsa-p256", "aes256", "ecdsa-p384", "ed25519"]


def in_threads(count: int, target) -> list:
    """Run `target()` in `count` threads released at the same instant; their results."""
    start = threading.Barrier(count)
    results: list = []
    errors: list = []

    def run() -> None:
        try:
            start.wait(timeout=30)
            results.append(target())
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            connections.close_all()  # each thread's own connection

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results) == count
    return results


def rotated_names(results: list[RotationPassResult]) -> list[str]:
    return sorted(r.name for result in results for r in result.rotated)


@pytest.fixture
def due_keys():
    system = Actor.system()
    names = [f"k{i}-{t}" for i, t in enumerate(KEY_TYPES)]
    for name, key_type in zip(names, KEY_TYPES, strict=True):
        key_create(actor=system, name=name, key_type=key_type, rotation_period=parse_duration("90d"))
    return names


@pytest.mark.parametrize("skip_locked", [True, False], ids=["skip-locked", "waiting-locks"])
def test_schedulers_running_at_once_rotate_each_key_once_per_due_time(monkeypatch, due_keys, skip_locked):
    if not skip_locked:  # a database without SKIP LOCKED: schedulers wait, then re-check
        monkeypatch.setattr(type(connection.features), "has_select_for_update_skip_locked", False)
    first_due = max(Key.objects.values_list("next_rotation_at", flat=True))
    for period in (1, 2, 3):
        now = first_due + (period - 1) * timedelta(days=90) + timedelta(minutes=1)
        results = in_threads(SCHEDULERS, lambda now=now: rotate_due(actor=Actor.system(), now=now))

        assert rotated_names(results) == sorted(due_keys)  # each key once, by someone
        assert all(result.ok for result in results)
    for name in due_keys:
        numbers = list(KeyVersion.objects.filter(key__name=name).values_list("version", flat=True))
        assert sorted(numbers) == [1, 2, 3, 4]  # contiguous, no duplicate
        assert AuditEvent.objects.filter(action="rotate", key_name=name).count() == 3
    assert not AuditEvent.objects.exclude(outcome="success").exists()
    assert verify_chain().ok


def test_a_scheduler_does_not_wait_for_a_key_another_node_holds(due_keys):
    held, release = threading.Event(), threading.Event()
    name = due_keys[0]

    def other_node_holds_the_row() -> None:
        with transaction.atomic():
            Key.objects.select_for_update().get(name=name)
            held.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=lambda: (other_node_holds_the_row(), connections.close_all()))
    holder.start()
    try:
        assert held.wait(timeout=30)
        now = max(Key.objects.values_list("next_rotation_at", flat=True))
        result = rotate_due(actor=Actor.system(), now=now)
    finally:
        release.set()
        holder.join(timeout=30)
    assert result.skipped == [name]
    assert rotated_names([result]) == sorted(due_keys[1:])
    assert Key.objects.get(name=name).current_version == 1  # left for the next pass
