"""Who sees which keys, and who may do what: the two questions of kms/access.py."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from guardian.shortcuts import assign_perm

from kms import access
from kms.exceptions import KeyNotFound, PermissionDenied
from kms.models import KEY_PERMISSIONS, Key
from kms.services import keys
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def estate(create_key):
    """Five keys nobody was granted anything on; a deleted one and a purged one among them."""
    for name in ("alpha", "beta", "gamma", "deleted", "purged"):
        create_key(name, "aes256")
    from kms.services.actor import Actor

    system = Actor.system()
    keys.key_delete(actor=system, name="deleted")
    keys.key_delete(actor=system, name="purged")
    keys.key_purge(actor=system, name="purged")
    return {key.name: key for key in Key.objects.all()}


@pytest.fixture
def carol(django_user_model):
    return make_user(django_user_model, "carol")


def reloaded(user):
    """The user as a new request would see them: no permission cache yet."""
    return type(user).objects.get(pk=user.pk)


def names(queryset) -> set[str]:
    return {key.name for key in queryset}


LIVE = {"alpha", "beta", "gamma", "deleted"}


def test_an_outsider_sees_nothing(estate, mallory):
    assert names(access.visible_keys(reloaded(mallory))) == set()


def test_a_direct_grant_shows_exactly_that_key(estate, carol):
    assign_perm("encrypt_key", carol, estate["beta"])
    assert names(access.visible_keys(reloaded(carol))) == {"beta"}


def test_a_group_grant_shows_exactly_that_key(estate, carol):
    team = Group.objects.create(name="payments-team")
    carol.groups.add(team)
    assign_perm("decrypt_key", team, estate["gamma"])
    assign_perm("view_key", carol, estate["alpha"])
    assert names(access.visible_keys(reloaded(carol))) == {"alpha", "gamma"}


def test_a_grant_to_a_group_one_is_not_in_shows_nothing(estate, carol):
    others = Group.objects.create(name="others")
    assign_perm("decrypt_key", others, estate["gamma"])
    assert names(access.visible_keys(reloaded(carol))) == set()


@pytest.mark.parametrize("permission", ["view", "encrypt", "manage"])
def test_a_global_grant_shows_every_live_key(estate, carol, permission):
    carol.user_permissions.add(Permission.objects.get(codename=access.codename(permission)))
    assert names(access.visible_keys(reloaded(carol))) == LIVE


def test_a_global_grant_through_a_role_shows_every_live_key(estate, alice, bob):
    assert names(access.visible_keys(reloaded(alice))) == LIVE
    assert names(access.visible_keys(reloaded(bob))) == LIVE


def test_a_superuser_sees_every_key_but_purged_ones(estate, root):
    assert names(access.visible_keys(reloaded(root))) == LIVE


@pytest.mark.parametrize("who", ["carol", "root", "alice"])
def test_an_inactive_user_sees_nothing_and_may_do_nothing(estate, request, who):
    user = request.getfixturevalue(who)
    assign_perm("encrypt_key", user, estate["alpha"])
    user.is_active = False
    user.save()
    user = reloaded(user)
    assert names(access.visible_keys(user)) == set()
    assert not access.can(user, estate["alpha"], "encrypt")
    with pytest.raises(KeyNotFound):
        access.require(user, estate["alpha"], "encrypt")


def test_anonymous_and_none_see_nothing(estate):
    from django.contrib.auth.models import AnonymousUser

    assert names(access.visible_keys(AnonymousUser())) == set()
    assert names(access.visible_keys(None)) == set()
    with pytest.raises(KeyNotFound):
        access.require(AnonymousUser(), estate["alpha"], "view")


@pytest.mark.parametrize("who", ["mallory", "carol", "bob", "alice", "root"])
def test_visible_keys_is_one_query_for_a_fresh_user(estate, request, who, django_assert_num_queries):
    user = request.getfixturevalue(who)
    assign_perm("sign_key", request.getfixturevalue("carol"), estate["alpha"])
    user = reloaded(user)
    with django_assert_num_queries(1):
        list(access.visible_keys(user))


@pytest.mark.parametrize("permission", KEY_PERMISSIONS)
def test_any_per_key_permission_implies_visibility(estate, carol, permission):
    assign_perm(access.codename(permission), carol, estate["alpha"])
    carol = reloaded(carol)
    assert names(access.visible_keys(carol)) == {"alpha"}
    assert access.can_view(carol, estate["alpha"])
    assert not access.can_view(carol, estate["beta"])
    access.require(carol, estate["alpha"], permission)
    others = [p for p in KEY_PERMISSIONS if p not in (permission, "view")]
    for other in others:
        with pytest.raises(PermissionDenied):
            access.require(carol, estate["alpha"], other)
        with pytest.raises(KeyNotFound):
            access.require(carol, estate["beta"], other)


def test_require_hides_a_key_one_cannot_see_and_refuses_one_one_can(estate, bob, mallory):
    with pytest.raises(KeyNotFound) as hidden:
        access.require(reloaded(mallory), estate["alpha"], "encrypt")
    assert hidden.value.code == "key_not_found"
    with pytest.raises(PermissionDenied) as refused:
        access.require(reloaded(bob), estate["alpha"], "rotate")
    assert refused.value.code == "permission_denied"
    access.require(reloaded(bob), estate["alpha"], "encrypt")


def test_reading_metadata_needs_no_crypto_permission(estate, carol):
    assign_perm("view_key", carol, estate["alpha"])
    access.require(reloaded(carol), estate["alpha"], "view")
    with pytest.raises(PermissionDenied):
        access.require(reloaded(carol), estate["alpha"], "decrypt")


def test_a_grant_on_one_key_does_not_reach_another_with_the_same_name_later(estate, carol):
    """A grant belongs to the key, not its name: a purged key's grants do not pass on."""
    assign_perm("encrypt_key", carol, estate["purged"])
    from kms.services.actor import Actor

    keys.key_create(actor=Actor.system(), name="purged", key_type="aes256")
    assert names(access.visible_keys(reloaded(carol))) == set()


@pytest.mark.parametrize("role", sorted(access.ROLES))
def test_each_role_group_has_exactly_the_permissions_of_its_role(role):
    group = Group.objects.get(name=role)
    held = {(p.content_type.app_label, p.codename) for p in group.permissions.all()}
    assert held == {("kms", access.codename(name)) for name in access.ROLES[role]}


def test_the_roles_are_the_four_of_the_design():
    assert set(access.ROLES) == {"kms-admin", "kms-user", "kms-approver", "kms-auditor"}
    assert set(Group.objects.filter(name__startswith="kms-").values_list("name", flat=True)) == set(access.ROLES)


def test_key_administrators_and_key_users_are_separate():
    admin, user = set(access.ROLES["kms-admin"]), set(access.ROLES["kms-user"])
    assert not admin & {"encrypt", "decrypt", "sign", "verify", "export"}
    assert not user & {"manage", "rotate", "delete", "grant", "add"}


def test_permissions_on_lists_what_the_user_holds(estate, bob, carol):
    assert set(access.permissions_on(reloaded(bob), estate["alpha"])) == {
        "view",
        "encrypt",
        "decrypt",
        "sign",
        "verify",
    }
    assign_perm("rotate_key", carol, estate["alpha"])
    assert access.permissions_on(reloaded(carol), estate["alpha"]) == ["rotate"]


def test_permissions_on_says_what_can_says_for_each_name(estate, alice, bob, carol, mallory, root):
    """permissions_on reads every name at once (issue 19); `can`, one name at a time, decides."""
    team = Group.objects.create(name="team")
    carol.groups.add(team)
    assign_perm("decrypt_key", team, estate["alpha"])
    assign_perm("rotate_key", carol, estate["alpha"])
    for user in (alice, bob, carol, mallory, root):
        for key in estate.values():
            user = reloaded(user)
            expected = [name for name in KEY_PERMISSIONS if access.can(reloaded(user), key, name)]
            assert access.permissions_on(user, key) == expected, (user.username, key.name)
