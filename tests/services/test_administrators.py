"""`grants.administrators`: who holds a permission on a key, by any of the four grant paths —
held to a plain-Python reading of the same grants over random worlds of users and groups."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from guardian.shortcuts import assign_perm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kms import access
from kms.services.actor import Actor
from kms.services.grants import administrators
from kms.services.keys import key_create

pytestmark = pytest.mark.django_db

USERS, GROUPS, KEYS, PERMS = 4, 3, 2, ("manage", "grant", "encrypt")
people = st.fixed_dictionaries({
    "active": st.lists(st.booleans(), min_size=USERS, max_size=USERS),
    "superuser": st.lists(st.booleans(), min_size=USERS, max_size=USERS),
    "members": st.sets(st.tuples(st.integers(0, USERS - 1), st.integers(0, GROUPS - 1))),
    # (user, key or None for an all-keys grant, permission)
    "user_grants": st.sets(st.tuples(st.integers(0, USERS - 1), st.one_of(st.none(), st.integers(0, KEYS - 1)),
                                     st.sampled_from(PERMS))),
    "group_grants": st.sets(st.tuples(st.integers(0, GROUPS - 1), st.one_of(st.none(), st.integers(0, KEYS - 1)),
                                      st.sampled_from(PERMS))),
})  # fmt: skip


def expected(world: dict, key: int, permission: str) -> set[int]:
    """Active non-superusers granted `permission` on `key` or on all keys, directly or by a group."""
    held = {u for u, k, p in world["user_grants"] if p == permission and k in (key, None)}
    groups = {g for g, k, p in world["group_grants"] if p == permission and k in (key, None)}
    held |= {u for u, g in world["members"] if g in groups}
    return {u for u in held if world["active"][u] and not world["superuser"][u]}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=people)
def test_administrators_are_exactly_those_any_grant_path_names(world):
    with transaction.atomic():
        User = get_user_model()  # noqa: N806
        users = [User.objects.create_user(username=f"adm-u{i}", is_active=world["active"][i],
                                          is_superuser=world["superuser"][i]) for i in range(USERS)]  # fmt: skip
        groups = [Group.objects.create(name=f"adm-g{i}") for i in range(GROUPS)]
        keys = [key_create(actor=Actor.system(), name=f"adm-k{i}", key_type="aes256") for i in range(KEYS)]
        for u, g in world["members"]:
            users[u].groups.add(groups[g])
        for owners, grants in ((users, world["user_grants"]), (groups, world["group_grants"])):
            for who, k, p in grants:
                codename = access.codename(p)
                if k is None:
                    assign_perm(f"kms.{codename}", owners[who])
                else:
                    assign_perm(codename, owners[who], keys[k])
        ids = {user.pk: i for i, user in enumerate(users)}
        for k in range(KEYS):
            for p in PERMS:
                got = {ids[pk] for pk in administrators(keys[k], p) if pk in ids}
                assert got == expected(world, k, p), (k, p)
        transaction.set_rollback(True)
