"""Prepared reads (kms.services.prepared): a statement compiled once per shape answers
exactly what the ORM answers, for every shape the key list can take, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from guardian.shortcuts import assign_perm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kms.models import Key, KeyState, KeyVersion
from kms.services import prepared
from kms.services.actor import Actor
from kms.services.rotation import aes_rotation_threshold
from kms.services.selectors import _PAGE, keys_list
from tests.clock import START
from tests.conftest import as_actor, make_user

pytestmark = pytest.mark.django_db

ACTORS = ("system", "root", "alice", "bob", "mallory", "granted", "inactive")
PREFIXES = (None, "k", "k-1", "k-2", "sig", "k_", "k.", "a%", "\x00", "ü", "zzz")


@pytest.fixture
def world(db, django_user_model, alice, bob, mallory, root, create_key, clock):
    """Keys of several types, states, rotation rules and counts; users of every kind."""
    keys = {}
    for n, (key_type, options) in enumerate([
        ("aes256", {}),
        ("aes256", {"rotation_period": timedelta(days=1)}),
        ("ed25519", {"max_signatures_per_version": 2}),
        ("ecdsa-p256", {"rotation_period": timedelta(days=7)}),
        ("hmac", {}),
        ("aes256", {}),
        ("aes256", {"rotation_period": timedelta(days=2)}),
    ]):  # fmt: skip
        keys[n] = create_key(f"k-{n}", key_type, **options)
    create_key("sig", "ed25519", max_signatures_per_version=1)
    # Counts at and around the rules' limits (the shipper raises them with a plain UPDATE).
    KeyVersion.objects.filter(key=keys[2]).update(sign_count=2)
    KeyVersion.objects.filter(key=keys[5]).update(encrypt_count=aes_rotation_threshold())
    Key.objects.filter(pk=keys[3].pk).update(state=KeyState.DISABLED)
    Key.objects.filter(pk=keys[4].pk).update(state=KeyState.DELETED)
    Key.objects.filter(pk=keys[6].pk).update(namespace="elsewhere")  # another key space
    granted = make_user(django_user_model, "granted")
    assign_perm("kms.view_key", granted, keys[1])
    inactive = make_user(django_user_model, "inactive", "kms-admin")
    inactive.is_active = False
    inactive.save()
    users = {"root": root, "alice": alice, "bob": bob, "mallory": mallory, "granted": granted, "inactive": inactive}
    return {"users": users, "ids": [k.pk for k in keys.values()]}


def actor_of(world, name: str) -> Actor:
    return Actor.system() if name == "system" else as_actor(world["users"][name])


def listed(actor: Actor, **filters) -> tuple[list[dict], str | None]:
    page = keys_list(actor=actor, **filters)
    return page.keys, page.next_after


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(
    who=st.sampled_from(ACTORS),
    key_type=st.sampled_from([None, "aes256", "ed25519", "ecdsa-p256", "hmac"]),
    status=st.sampled_from([None, "active", "disabled", "deleted"]),
    name_prefix=st.sampled_from(PREFIXES),
    limit=st.sampled_from([1, 2, 3, 100]),
    after=st.integers(min_value=-1, max_value=9),
    hours=st.integers(min_value=0, max_value=24 * 9),
)
def test_a_prepared_page_is_the_orm_page(world, clock, monkeypatch, who, key_type, status, name_prefix, limit, after,
                                         hours):  # fmt: skip
    clock.current = START + timedelta(hours=hours)  # keys fall due as time moves
    ids = world["ids"]
    cursor = None if after < 0 else str(ids[after % len(ids)] + (after // len(ids)))
    filters = {"key_type": key_type, "status": status, "name_prefix": name_prefix, "after": cursor, "limit": limit}
    actor = actor_of(world, who)

    _PAGE.clear()
    with monkeypatch.context() as m:
        m.setattr(prepared.PreparedValues, "_plan", lambda self, build, values: None)  # the ORM, every call
        expected = listed(actor, **filters)
    _PAGE.clear()
    first = listed(actor, **filters)  # compiles the shape, runs the kept statement
    again = listed(actor, **filters)  # the kept statement, re-bound
    assert first == expected
    assert again == expected


def test_the_clock_is_a_bind_not_part_of_the_statement(world, clock):
    """The same shape later in time: the kept statement sees the new time (a key falls due)."""
    actor = actor_of(world, "root")
    _PAGE.clear()
    due = {row["name"]: row["rotation_due_reason"] for row in listed(actor)[0]}
    assert due["k-1"] is None
    clock.advance(days=1, seconds=1)
    due = {row["name"]: row["rotation_due_reason"] for row in listed(actor)[0]}
    assert due["k-1"] == "period"
    (plan,) = _PAGE._cache().values()  # one shape, one statement: kept, not compiled every call
    assert isinstance(plan, prepared._Plan)


def test_permissions_are_read_when_the_statement_runs(world, django_user_model):
    """A grant given after the statement was kept shows at once: visibility is in the SQL."""
    outsider = world["users"]["mallory"]
    _PAGE.clear()
    assert listed(as_actor(outsider))[0] == []
    assign_perm("kms.view_key", outsider, Key.objects.get(name="k-0"))
    assert [row["name"] for row in listed(as_actor(outsider))[0]] == ["k-0"]


def test_a_deactivated_user_gets_another_shape(world):
    user = world["users"]["alice"]
    assert listed(as_actor(user))[0]
    user.is_active = False
    user.save()
    assert listed(as_actor(user))[0] == []


def test_a_bind_that_is_not_a_parameter_is_never_kept(world, caplog):
    """A value Django writes into the SQL text (a slice's LIMIT), or passes otherwise than
    the bind adapts it, cannot be re-bound: that read is compiled every call, with a warning,
    and its rows stay right."""
    inlined = prepared.Bind("n", 1_234_567, lambda value, conn: int(value))
    mistyped = prepared.Bind("m", 1_234_567, lambda value, conn: str(value))
    read = prepared.PreparedValues("test", inlined, mistyped)
    by_pk = Key.objects.order_by("pk").values("name")
    for n in (2, 3):
        assert read.rows("limit", lambda n: by_pk[:n], n=n) == list(by_pk[:n])
        pk = world["ids"][n]
        assert read.rows("after", lambda m: by_pk.filter(pk__gt=m), m=pk) == list(by_pk.filter(pk__gt=pk))
    assert caplog.text.count("is not a parameter") == 2
    assert set(read._cache().values()) == {None}


def test_an_empty_shape_answers_nothing_without_a_statement(world, django_assert_num_queries):
    read = prepared.PreparedValues("test")
    with django_assert_num_queries(0):
        assert read.rows("none", lambda: Key.objects.none().values("name")) == []
        assert read.rows("none", lambda: Key.objects.none().values("name")) == []


def test_the_cache_is_bounded(world, monkeypatch):
    monkeypatch.setattr(prepared, "CACHE_SIZE", 3)
    read = prepared.PreparedValues("test")
    for n in range(10):
        assert read.rows(n, lambda n=n: Key.objects.filter(pk__gte=-n).order_by("pk").values("pk"))
    assert list(read._cache()) == [(7, frozenset()), (8, frozenset()), (9, frozenset())]


def test_the_token_lookup_is_kept_and_answers_as_the_orm(world):
    """Every API request looks its bearer token up (kms.services.tokens): one kept statement,
    the token and its user as the ORM would have made them."""
    from kms.models import ApiToken
    from kms.services import tokens

    user = world["users"]["alice"]
    token, raw = tokens.token_create(actor=Actor.system(), user=user)
    tokens._BY_HASH.clear()
    for _ in range(2):
        found = tokens.token_authenticate(raw)
        orm = ApiToken.objects.select_related("user").get(pk=token.pk)
        assert [getattr(found, f.attname) for f in ApiToken._meta.concrete_fields] == [
            getattr(orm, f.attname) for f in ApiToken._meta.concrete_fields
        ]
        assert found.user == user and found.user.get_username() == "alice" and found.user.is_active
    (plan,) = tokens._BY_HASH._cache().values()
    assert isinstance(plan, prepared._Plan)
    with pytest.raises(tokens.Unauthenticated):
        tokens.token_authenticate(raw[:-1] + ("a" if raw[-1] != "a" else "b"))


def test_an_int_bind_on_a_32_bit_column_is_kept_and_finds_its_row(django_user_model) -> None:
    """auth_user.id is a 32-bit integer: a sentinel outside its range compiled to no statement
    (EmptyResultSet), which was once kept as "matches nothing" — every read then found nobody."""
    user = make_user(django_user_model, "int32")
    reads = prepared.PreparedValues("test_int32", prepared.int_bind("pk"))

    def build(pk):
        return django_user_model.objects.filter(pk=pk).values("username")

    assert reads.rows("by_pk", build, pk=user.pk) == [{"username": "int32"}]
    assert reads.rows("by_pk", build, pk=user.pk + 1000) == []
    assert isinstance(reads._cache()[("by_pk", frozenset({"pk"}))], prepared._Plan)


def test_only_a_none_shape_is_kept_as_matching_nothing(django_user_model) -> None:
    """A shape that compiles to nothing because of a bind's sentinel is not kept as empty:
    the ORM answers it every call; a .none() queryset is kept as empty."""
    make_user(django_user_model, "small")
    reads = prepared.PreparedValues("test_empty", prepared.int_bind("pk"))
    none = reads.rows("none", lambda pk: django_user_model.objects.none().values("username"), pk=1)
    assert none == [] and reads._cache()[("none", frozenset({"pk"}))] is prepared._EMPTY
    # A value Django compiles to nothing (out of any integer column's range) with the real
    # value too: not kept, and the ORM's answer (no rows) every call.
    huge = reads.rows("huge", lambda pk: django_user_model.objects.filter(pk=pk * 10**12).values("username"), pk=1)
    assert huge == [] and reads._cache()[("huge", frozenset({"pk"}))] is None


def test_a_keys_versions_read_with_a_kept_statement_are_the_orms(create_key) -> None:
    """key_info's version list (kms.services.keys.version_list): every field, in order, the
    versions of that key only, and a version made after the statement was kept shows at once."""
    from kms.services.keys import key_rotate, version_list

    key = create_key("versions-a", "aes256")
    other = create_key("versions-b", "ed25519")
    for _ in range(2):
        key_rotate(actor=Actor.system(), name="versions-a")

    def same(k: Key) -> None:
        ours, orms = version_list(k), list(k.versions.order_by("version"))
        assert [v.__dict__ | {"_state": None} for v in ours] == [v.__dict__ | {"_state": None} for v in orms]
        assert all(v._state.adding is False for v in ours)

    same(key)
    same(other)
    key_rotate(actor=Actor.system(), name="versions-a")
    same(key)
    assert [v.version for v in version_list(key)] == [1, 2, 3, 4]
