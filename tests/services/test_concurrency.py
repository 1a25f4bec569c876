"""Concurrent writers on PostgreSQL: rotations queue on the key row, events on the chain head.

Real threads, real connections, released at the same instant by a barrier.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from kms.models import AuditEvent, Key, KeyVersion
from kms.services import crypto_ops as ops
from kms.services import keys
from kms.services.actor import Actor
from kms.services.audit import verify_chain
from tests.conftest import as_actor

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

THREADS = 8


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("real row locks and concurrent writers need PostgreSQL")


def at_once(work: Callable[[int], Any], n: int = THREADS) -> list[Any]:
    """Run work(0..n-1) in n threads released together; return results or the exceptions raised."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        from django.db import connection as thread_connection

        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            results[i] = exc
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results


def no_errors(results: list[Any]) -> None:
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors


def test_simultaneous_rotations_each_add_exactly_one_version(create_key):
    key = create_key("payments", "aes256")
    results = at_once(lambda i: keys.key_rotate(actor=Actor.system(request_id=f"r{i}"), name="payments"))
    no_errors(results)

    assert sorted(kv.version for kv in results) == list(range(2, THREADS + 2))
    versions = list(KeyVersion.objects.filter(key=key).values_list("version", flat=True))
    assert sorted(versions) == list(range(1, THREADS + 2))
    assert Key.objects.get(pk=key.pk).current_version == THREADS + 1
    events = AuditEvent.objects.filter(key_name="payments", outcome="success")
    assert events.filter(action="create").count() == 1
    assert sorted(events.filter(action="rotate").values_list("key_version", flat=True)) == list(range(2, THREADS + 2))
    assert verify_chain().ok and verify_chain().checked == THREADS + 1


def test_simultaneous_encryptions_all_succeed_and_are_each_audited(create_key, bob):
    create_key("payments", "aes256")
    results = at_once(lambda i: ops.encrypt(actor=as_actor(bob), name="payments", plaintext=f"item {i}".encode()))
    no_errors(results)
    assert len({r.ciphertext for r in results}) == THREADS
    assert AuditEvent.objects.filter(action="encrypt", outcome="success").count() == THREADS
    assert KeyVersion.objects.get(key__name="payments").encrypt_count == THREADS
    for i, result in enumerate(results):
        assert ops.decrypt(actor=as_actor(bob), name="payments", ciphertext=result.ciphertext) == f"item {i}".encode()
    assert verify_chain().ok


def test_encryptions_during_rotations_use_a_version_that_exists(create_key, bob):
    create_key("payments", "aes256")

    def work(i: int):
        if i % 2:
            return keys.key_rotate(actor=Actor.system(), name="payments").version
        return ops.encrypt(actor=as_actor(bob), name="payments", plaintext=b"x").key_version

    results = at_once(work)
    no_errors(results)
    rotated = sorted(results[1::2])
    assert rotated == list(range(2, THREADS // 2 + 2))
    assert all(1 <= v <= THREADS // 2 + 1 for v in results[0::2])
    assert verify_chain().ok


def test_the_first_writers_of_an_empty_trail_start_one_chain_and_one_name_makes_one_key(system):
    """No chain head yet: simultaneous first events must not fork the chain or collide on seq;
    half the threads race for one name, and exactly one of them gets it."""
    half = THREADS // 2

    def work(i: int):
        return keys.key_create(actor=Actor.system(), name=f"k{i}" if i < half else "same", key_type="aes256")

    results = at_once(work)
    no_errors(results[:half])
    created = [r for r in results[half:] if isinstance(r, Key)]
    refused = [r for r in results[half:] if not isinstance(r, Key)]
    assert len(created) == 1
    assert {getattr(r, "code", repr(r)) for r in refused} == {"key_exists"}
    assert Key.objects.filter(name="same").count() == 1
    assert sorted(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, THREADS + 1))
    assert AuditEvent.objects.filter(error_code="key_exists").count() == half - 1
    assert verify_chain().ok
