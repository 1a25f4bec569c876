"""Every operation writes exactly one audit event; the chain detects any change to the trail."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from contextlib import ExitStack, contextmanager
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection
from guardian.shortcuts import assign_perm

from kms.crypto import InvalidCiphertext
from kms.exceptions import PermissionDenied, error_message
from kms.models import AuditChainHead, AuditEvent, Key, KeyVersion
from kms.services import audit, keys, tokens
from kms.services import crypto_ops as ops
from kms.services.actor import Actor
from kms.services.audit import verify_chain

pytestmark = pytest.mark.django_db


def actor_for(user, case: str = "") -> Actor:
    return Actor(
        user=user, source="web", auth_method="token", token_id="17",  # noqa: S106 - an id
        request_id=f"req-{case}"[:64], client_addr="198.51.100.7",
    )  # fmt: skip


@pytest.fixture
def world(alice, bob, root, system):
    """Keys in every state the services need, and what was made with them."""
    keys.key_create(actor=system, name="payments", key_type="aes256")
    keys.key_rotate(actor=system, name="payments")  # v1 decrypt-only, v2 current
    keys.key_create(actor=system, name="signer", key_type="ed25519")
    keys.key_create(actor=system, name="off", key_type="aes256")
    keys.key_disable(actor=system, name="off")
    keys.key_create(actor=system, name="gone", key_type="aes256")
    keys.key_delete(actor=system, name="gone")
    keys.key_create(actor=system, name="open", key_type="aes256", exportable=True)
    keys.key_create(actor=system, name="old", key_type="aes256")
    keys.key_rotate(actor=system, name="old")
    keys.key_update(actor=system, name="old", changes={"min_decryption_version": 2})
    bob_actor = actor_for(bob)
    token, _raw = tokens.token_create(actor=bob_actor, user=bob, name="ci")
    return {
        "ciphertext": ops.encrypt(actor=bob_actor, name="payments", plaintext=b"pii").ciphertext,
        "signature": ops.sign(actor=bob_actor, name="signer", data=b"doc").signature,
        "token_id": token.pk,
        "bob": bob,
    }


# action -> (who succeeds, the call, the key it names or None)
def cases(world):
    ct, sig = world["ciphertext"], world["signature"]
    return {
        "create": (
            "alice",
            lambda a: keys.key_create(actor=a, name="new", key_type="aes256"),
            "new",
        ),
        "rotate": ("alice", lambda a: keys.key_rotate(actor=a, name="payments"), "payments"),
        "update": (
            "alice",
            lambda a: keys.key_update(actor=a, name="payments", changes={"description": "d"}),
            "payments",
        ),
        "disable": ("alice", lambda a: keys.key_disable(actor=a, name="payments"), "payments"),
        "enable": ("alice", lambda a: keys.key_enable(actor=a, name="off"), "off"),
        "delete": ("alice", lambda a: keys.key_delete(actor=a, name="payments"), "payments"),
        "restore": ("alice", lambda a: keys.key_restore(actor=a, name="gone"), "gone"),
        "purge": ("alice", lambda a: keys.key_purge(actor=a, name="gone"), "gone"),
        "disable_version": (
            "alice",
            lambda a: keys.version_disable(actor=a, name="payments", version=1),
            "payments",
        ),
        "enable_version": (
            "alice",
            lambda a: keys.version_enable(actor=a, name="payments", version=1),
            "payments",
        ),
        "destroy_version": (
            "alice",
            lambda a: keys.version_destroy(actor=a, name="old", version=1),
            "old",
        ),
        "info": ("bob", lambda a: keys.key_info(actor=a, name="payments"), "payments"),
        "public_key": ("bob", lambda a: keys.public_key_pem(actor=a, name="signer"), "signer"),
        "export": ("root", lambda a: keys.key_export(actor=a, name="open"), "open"),
        "encrypt": (
            "bob",
            lambda a: ops.encrypt(actor=a, name="payments", plaintext=b"x"),
            "payments",
        ),
        "decrypt": (
            "bob",
            lambda a: ops.decrypt(actor=a, name="payments", ciphertext=ct),
            "payments",
        ),
        "sign": ("bob", lambda a: ops.sign(actor=a, name="signer", data=b"x"), "signer"),
        "verify": (
            "bob",
            lambda a: ops.verify(actor=a, name="signer", data=b"doc", signature=sig),
            "signer",
        ),
        "datakey": ("bob", lambda a: ops.datakey(actor=a, name="payments"), "payments"),
        "rewrap": (
            "bob",
            lambda a: ops.rewrap(actor=a, name="payments", ciphertext=ct),
            "payments",
        ),
        "token_create": ("bob", lambda a: tokens.token_create(actor=a, user=world["bob"]), None),
        "token_revoke": (
            "bob",
            lambda a: tokens.token_revoke(actor=a, token_id=world["token_id"]),
            None,
        ),
    }


ACTIONS = [
    "create", "rotate", "update", "disable", "enable", "delete", "restore", "purge",
    "disable_version", "enable_version", "destroy_version", "info", "public_key", "export",
    "encrypt", "decrypt", "sign", "verify", "datakey", "rewrap", "token_create", "token_revoke",
]  # fmt: skip


def last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def only_new_event(before: int) -> AuditEvent:
    new = list(AuditEvent.objects.filter(seq__gt=before))
    assert len(new) == 1, [str(e) for e in new]
    return new[0]


def assert_actor(event: AuditEvent, user, case: str) -> None:
    assert event.actor_id == user.pk and event.actor_name == user.username
    assert (event.source, event.auth_method, event.token_id) == ("web", "token", "17")
    assert (event.request_id, event.client_addr) == (f"req-{case}", "198.51.100.7")


def test_the_cases_cover_every_action(world):
    assert sorted(cases(world)) == sorted(ACTIONS)


ERRORS = {
    # action: (who, the call, expected code)
    "create": (
        "alice",
        lambda a: keys.key_create(actor=a, name="payments", key_type="aes256"),
        "key_exists",
    ),
    "rotate": ("alice", lambda a: keys.key_rotate(actor=a, name="off"), "key_disable"),
    "update": (
        "alice",
        lambda a: keys.key_update(actor=a, name="payments", changes={"x": 1}),
        "invalid_request",
    ),
    "enable": ("alice", lambda a: keys.key_enable(actor=a, name="payments"), "key_disabled"),
    "restore": ("alice", lambda a: keys.key_restore(actor=a, name="payments"), "invalid_request"),
    "destroy_version": (
        "alice",
        lambda a: keys.version_destroy(actor=a, name="payments", version=1),
        "invalid_request",
    ),
    "export": ("root", lambda a: keys.key_export(actor=a, name="payments"), "export_disabled"),
    "encrypt": ("bob", lambda a: ops.encrypt(actor=a, name="off", plaintext=b"x"), "key_disabled"),
    "decrypt": (
        "bob",
        lambda a: ops.decrypt(actor=a, name="payments", ciphertext="egide:v1:AAAA"),
        "invalid_ciphertext",
    ),
    "sign": (
        "bob",
        lambda a: ops.sign(actor=a, name="payments", data=b"x"),
        "operation_not_allowed",
    ),
    "token_create": (
        "bob",
        lambda a: tokens.token_create(actor=a, user=a.user, name="x" * 101),
        "invalid_request",
    ),
}


@pytest.mark.parametrize("action", ACTIONS)
def test_every_operation_writes_exactly_one_event_whether_refused_failed_or_done(world, request, mallory, action):
    """Each phase changes nothing but its own event, so one world serves all three."""
    who, call, key_name = cases(world)[action]
    outsider_is_refused(action, call, key_name, mallory)
    if action in ERRORS:
        failure_is_recorded(action, *ERRORS[action], request)
    user = request.getfixturevalue(who)
    before = last_seq()
    call(actor_for(user, action))
    event = only_new_event(before)
    assert (event.action, event.outcome, event.error_code) == (action, "success", "")
    assert_actor(event, user, action)
    if key_name is not None:
        key = Key.objects.get(name=key_name)
        assert (event.key_name, event.key_uid) == (key_name, str(key.uid))
    assert verify_chain().ok


def outsider_is_refused(action, call, key_name, mallory) -> None:  # noqa: ANN001
    """An outsider is denied with one event that names nothing they could not name."""
    before = last_seq()
    with pytest.raises(Exception) as err:  # noqa: PT011 - the code is what is checked
        call(actor_for(mallory, action))
    event = only_new_event(before)
    expected = {"create": "permission_denied", "token_create": "permission_denied",
                "token_revoke": "token_not_found"}.get(action, "key_not_found")  # fmt: skip
    assert err.value.code == expected
    assert (event.action, event.outcome, event.error_code) == (action, "denied", expected)
    assert_actor(event, mallory, action)
    assert event.key_uid == ""  # a key the actor may not see is not identified
    assert event.key_version is None
    if key_name is not None and action != "create":
        assert event.key_name == key_name  # the name they asked for, nothing more


def failure_is_recorded(action, who, call, code, request) -> None:  # noqa: ANN001
    """A failed operation writes one error event, with the error, and changes nothing."""
    user = request.getfixturevalue(who)
    versions, states = KeyVersion.objects.count(), dict(Key.objects.values_list("name", "state"))
    before = last_seq()
    with pytest.raises(Exception) as err:  # noqa: PT011
        call(actor_for(user, action))
    assert err.value.code.startswith(code)
    event = only_new_event(before)
    assert (event.action, event.outcome) == (action, "error")
    assert event.error_code == err.value.code
    flag = {"superuser": True} if user.is_superuser else {}  # break-glass: flagged (issue 13)
    assert event.details == {"message": error_message(err.value)[:300], **flag}
    assert_actor(event, user, action)
    assert KeyVersion.objects.count() == versions
    assert dict(Key.objects.values_list("name", "state")) == states


@pytest.mark.parametrize(
    "action, who",
    [
        ("rotate", "bob"),
        ("encrypt", "alice"),
        ("sign", "alice"),
        ("export", "alice"),
        ("delete", "bob"),
    ],
)
def test_a_visible_key_used_without_permission_is_denied_with_one_event(world, request, action, who):
    user = request.getfixturevalue(who)
    _who, call, key_name = cases(world)[action]
    before = last_seq()
    with pytest.raises(Exception) as err:  # noqa: PT011
        call(actor_for(user, action))
    assert err.value.code == "permission_denied"
    event = only_new_event(before)
    assert (event.outcome, event.error_code, event.key_name) == (
        "denied",
        "permission_denied",
        key_name,
    )
    assert_actor(event, user, action)


def test_a_batch_is_one_event_with_its_counts(world, bob):
    before = last_seq()
    good = {"ciphertext": world["ciphertext"]}
    items = [good, {"ciphertext": "nope"}, good]
    results = ops.decrypt_batch(actor=actor_for(bob), name="payments", items=items)
    assert results[0] == b"pii" and results[1].code == "invalid_ciphertext"
    event = only_new_event(before)
    assert event.outcome == "success"
    assert event.details == {"items": 3, "failed": 1, "errors": ["invalid_ciphertext"]}


def test_the_system_actor_is_recorded_as_the_system(system):
    keys.key_create(actor=Actor.system(request_id="sched-1"), name="k", key_type="aes256")
    event = AuditEvent.objects.get(action="create")
    assert (event.actor, event.actor_name, event.source, event.auth_method) == (
        None,
        "system",
        "system",
        "system",
    )
    assert event.request_id == "sched-1"


# --- the chain ------------------------------------------------------------------------


@pytest.fixture
def trail(alice, bob, system):
    """A trail of a few dozen events from many services, by several actors."""
    a, b = actor_for(alice, "t"), actor_for(bob, "t")
    keys.key_create(actor=a, name="by-alice", key_type="aes256")
    for n in range(3):
        keys.key_create(actor=system, name=f"k{n}", key_type="aes256")
        token = ops.encrypt(actor=b, name=f"k{n}", plaintext=b"x", context=b"c").ciphertext
        ops.decrypt(actor=b, name=f"k{n}", ciphertext=token, context=b"c")
        keys.key_rotate(actor=system, name=f"k{n}")
        keys.key_update(
            actor=a,
            name=f"k{n}",
            changes={
                "description": f'clé {n} — 鍵 "quoted" \\ \t',
                "rotation_period": timedelta(days=90),
            },
        )
        with pytest.raises(PermissionDenied):
            keys.key_rotate(actor=b, name=f"k{n}")
        with pytest.raises(InvalidCiphertext):
            ops.decrypt(actor=b, name=f"k{n}", ciphertext="x")
    keys.key_disable(actor=a, name="k0")
    keys.key_delete(actor=a, name="k1")
    assert AuditEvent.objects.count() >= 20
    return list(AuditEvent.objects.order_by("seq"))


@pytest.fixture
def short_trail(alice, bob, system):
    """A few events of different kinds: enough to tamper with the one in the middle."""
    keys.key_create(actor=system, name="k0", key_type="aes256")
    token = ops.encrypt(actor=actor_for(bob, "s"), name="k0", plaintext=b"x").ciphertext
    keys.key_update(actor=actor_for(alice, "s"), name="k0", changes={"description": "clé — 鍵"})
    with pytest.raises(PermissionDenied):
        keys.key_rotate(actor=actor_for(bob, "s"), name="k0")
    ops.decrypt(actor=actor_for(bob, "s"), name="k0", ciphertext=token)
    keys.key_rotate(actor=system, name="k0")
    return list(AuditEvent.objects.order_by("seq"))


def test_the_chain_verifies_after_many_operations(trail):
    report = verify_chain()
    assert report.ok and report.checked == len(trail)
    assert report.head_hash == trail[-1].chain_hash == AuditChainHead.objects.get().chain_hash
    assert [e.seq for e in trail] == list(range(1, len(trail) + 1))
    assert all(e.prev_hash == p.chain_hash for p, e in zip(trail, trail[1:], strict=False))


def tampered_value(event: AuditEvent, field: str, other_user):
    return {
        "at": event.at + timedelta(microseconds=1),
        "actor": other_user.pk if event.actor_id != other_user.pk else None,
        "actor_name": "someone-else",
        "auth_method": "session",
        "token_id": "99",
        "source": "cli",
        "action": "info",
        "key_name": "k2",
        "key_uid": str(uuid.uuid4()),
        "key_version": (event.key_version or 0) + 1,
        "outcome": "success" if event.outcome != "success" else "denied",
        "error_code": "" if event.error_code else "permission_denied",
        "request_id": "req-forged",
        "client_addr": "203.0.113.66",
        "details": {**event.details, "note": "added"},
        "prev_hash": "f" * 64,
        "chain_hash": "e" * 64,
        "seq": 10_000,
    }[field]


TAMPERABLE = [
    "seq", "at", "actor", "actor_name", "auth_method", "token_id", "source", "action", "key_name",
    "key_uid", "key_version", "outcome", "error_code", "request_id", "client_addr", "details",
    "prev_hash", "chain_hash",
]  # fmt: skip


def test_the_tamper_tests_cover_every_field_of_an_event():
    fields = {f.name for f in AuditEvent._meta.concrete_fields} - {"id"}
    assert fields == set(TAMPERABLE)


@pytest.mark.parametrize("field", TAMPERABLE)
def test_changing_any_field_of_a_row_is_detected_at_that_row(short_trail, mallory, field):
    victim = short_trail[len(short_trail) // 2]
    value = tampered_value(victim, field, mallory)
    assert value != getattr(victim, field if field != "actor" else "actor_id")  # a real change
    AuditEvent.objects.filter(pk=victim.pk).update(**{field: value})
    report = verify_chain()
    assert not report.ok
    assert report.first_bad_seq == victim.seq
    assert report.checked == victim.seq - 1


@pytest.mark.parametrize("where", ["first", "middle"])
def test_deleting_a_row_is_detected_at_its_seq(short_trail, where):
    victim = short_trail[0] if where == "first" else short_trail[len(short_trail) // 2]
    AuditEvent.objects.filter(pk=victim.pk).delete()
    report = verify_chain()
    assert (report.ok, report.first_bad_seq) == (False, victim.seq)
    assert "missing" in report.problem


def test_deleting_the_last_rows_is_detected_by_the_head(short_trail):
    AuditEvent.objects.filter(seq__gte=short_trail[-2].seq).delete()
    report = verify_chain()
    assert (report.ok, report.first_bad_seq) == (False, short_trail[-2].seq)
    assert "head" in report.problem


def forge(after: AuditEvent, seq: int) -> AuditEvent:
    """A plausible row, chained with a guessed key (the real one is wrapped by the master key)."""
    forged = AuditEvent(
        seq=seq,
        at=after.at + timedelta(seconds=1),
        actor=None,
        actor_name="system",
        source="system",
        auth_method="system",
        action="enable",
        key_name="k0",
        outcome="success",
        prev_hash=after.chain_hash,
    )
    forged.chain_hash = hmac.new(b"guess" * 8, audit.canonical(forged), hashlib.sha256).hexdigest()
    forged.save(force_insert=True)
    return forged


def test_a_forged_row_appended_is_detected_even_with_the_head_moved_to_it(short_trail):
    forged = forge(short_trail[-1], short_trail[-1].seq + 1)
    assert verify_chain().first_bad_seq == forged.seq
    AuditChainHead.objects.update(seq=forged.seq, chain_hash=forged.chain_hash)
    report = verify_chain()
    assert (report.ok, report.first_bad_seq) == (False, forged.seq)


def test_a_forged_row_slipped_into_the_middle_is_detected(short_trail):
    after = short_trail[len(short_trail) // 2]
    for event in reversed(short_trail):
        if event.seq > after.seq:  # make room: renumber the rows that follow
            AuditEvent.objects.filter(pk=event.pk).update(seq=event.seq + 1)
    forge(after, after.seq + 1)
    report = verify_chain()
    assert (report.ok, report.first_bad_seq) == (False, after.seq + 1)


def test_a_replayed_copy_of_a_real_row_is_detected(short_trail):
    """Copying a genuine row (with its genuine hash) to the end does not fit the chain."""
    copy = short_trail[3]
    copy.pk, copy.seq = None, short_trail[-1].seq + 1
    copy.save(force_insert=True)
    AuditChainHead.objects.update(seq=copy.seq, chain_hash=copy.chain_hash)
    assert verify_chain().first_bad_seq == copy.seq


def test_the_verify_command_prints_ok_on_an_intact_chain(trail, capsys):
    call_command("kms_audit_verify")
    out = capsys.readouterr().out
    assert f"audit chain OK: {len(trail)} events" in out
    assert trail[-1].chain_hash in out


def test_the_verify_command_fails_naming_the_first_bad_row(short_trail):
    victim = short_trail[2]
    AuditEvent.objects.filter(pk=victim.pk).update(details={"forged": True})
    AuditEvent.objects.filter(pk=short_trail[4].pk).delete()
    with pytest.raises(CommandError, match=f"#{victim.seq}"):
        call_command("kms_audit_verify")


def test_an_empty_trail_verifies(db):
    assert verify_chain().ok


def test_a_missing_chain_head_is_detected(short_trail):
    AuditChainHead.objects.all().delete()
    assert not verify_chain().ok


# --- no change without its event ------------------------------------------------------


def failing_record(*args, **kwargs):
    raise DatabaseError("audit table unavailable")


TRIGGER_SQL = {
    "sqlite": [
        "CREATE TRIGGER test_refuse_audit BEFORE INSERT ON kms_auditevent "
        "BEGIN SELECT RAISE(ABORT, 'audit table unavailable'); END",
    ],
    "postgresql": [
        "CREATE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit table unavailable'; END $$",
        "CREATE TRIGGER test_refuse_audit BEFORE INSERT ON kms_auditevent "
        "FOR EACH ROW EXECUTE FUNCTION test_refuse_audit()",
    ],
}
DROP_SQL = {
    "sqlite": ["DROP TRIGGER test_refuse_audit"],
    "postgresql": [
        "DROP TRIGGER test_refuse_audit ON kms_auditevent",
        "DROP FUNCTION test_refuse_audit()",
    ],
}


@contextmanager
def audit_table_refuses_inserts():
    """The database itself refuses audit rows, however they are written (ORM, SQL or COPY).
    The trigger lives in the test's transaction, so it never outlives the test."""
    with connection.cursor() as cursor:
        for sql in TRIGGER_SQL[connection.vendor]:
            cursor.execute(sql)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for sql in DROP_SQL[connection.vendor]:
                cursor.execute(sql)


@pytest.fixture(params=["record", "database"])
def audit_write_fails(request, monkeypatch):
    """Either the audit service itself fails, or the database refuses the row."""
    stack = ExitStack()

    def arm():
        if request.param == "record":
            monkeypatch.setattr(audit, "record", failing_record)
            monkeypatch.setattr(audit, "append", failing_record)  # the data plane's sink
        else:
            stack.enter_context(audit_table_refuses_inserts())

    with stack:
        yield arm


# Through a trigger the error may reach us as the driver's own exception (COPY is not
# wrapped by Django): what matters is that the operation fails, whatever the class.
FAILS = {"expected_exception": Exception, "match": "audit table unavailable"}


def test_a_rotation_whose_event_cannot_be_written_leaves_no_new_version(create_key, system, audit_write_fails):
    key = create_key("payments", "aes256")
    seq = last_seq()
    audit_write_fails()
    with pytest.raises(**FAILS):
        keys.key_rotate(actor=system, name="payments")
    key = Key.objects.get(pk=key.pk)
    assert key.current_version == 1 and list(key.versions.values_list("version", flat=True)) == [1]
    assert last_seq() == seq and AuditChainHead.objects.get().seq == seq


def test_an_encryption_whose_event_cannot_be_written_returns_nothing_and_counts_nothing(
    create_key, bob, audit_write_fails
):
    create_key("payments", "aes256")
    audit_write_fails()
    with pytest.raises(**FAILS):
        ops.encrypt(actor=actor_for(bob), name="payments", plaintext=b"x")
    assert KeyVersion.objects.get(key__name="payments").encrypt_count == 0


def test_a_deletion_whose_event_cannot_be_written_does_not_delete(create_key, alice, audit_write_fails):
    create_key("payments", "aes256")
    audit_write_fails()
    with pytest.raises(**FAILS):
        keys.key_delete(actor=actor_for(alice), name="payments")
    assert Key.objects.get(name="payments").state == "active"


def test_a_creation_whose_event_cannot_be_written_creates_nothing(alice, audit_write_fails):
    audit_write_fails()
    with pytest.raises(**FAILS):
        keys.key_create(actor=actor_for(alice), name="payments", key_type="aes256")
    assert not Key.objects.exists() and not KeyVersion.objects.exists()


def test_the_chain_continues_after_a_failed_write(create_key, system):
    create_key("payments", "aes256")
    with audit_table_refuses_inserts(), pytest.raises(**FAILS):
        keys.key_rotate(actor=system, name="payments")
    keys.key_rotate(actor=system, name="payments")
    assert verify_chain().ok
    assert Key.objects.get(name="payments").current_version == 2


def test_per_key_grants_are_audited_under_the_actor_who_used_them(world, mallory):
    """A per-key grant lets an outsider use one key: the event names them, with success."""
    assign_perm("encrypt_key", mallory, Key.objects.get(name="payments"))
    before = last_seq()
    ops.encrypt(actor=actor_for(mallory, "grant"), name="payments", plaintext=b"x")
    event = only_new_event(before)
    assert (event.outcome, event.actor_name) == ("success", "mallory")


def test_deleting_a_user_does_not_break_the_chain(alice, system):
    keys.key_create(actor=actor_for(alice), name="payments", key_type="aes256")
    alice.delete()
    assert verify_chain().ok
