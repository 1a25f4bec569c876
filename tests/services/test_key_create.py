import pytest

from kms.crypto import KEY_TYPES
from kms.exceptions import InvalidKeyType, InvalidRequest, KeyExists, PermissionDenied
from kms.models import AuditEvent, Key
from kms.services.keys import key_create
from tests.conftest import as_actor

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("key_type", list(KEY_TYPES))
def test_an_admin_creates_a_key_of_every_type(alice, key_type):
    key = key_create(actor=as_actor(alice), name=f"k-{key_type}", key_type=key_type)
    assert key.current_version == 1
    assert key.versions.get().version == 1
    assert key.state == "active"
    event = AuditEvent.objects.get(action="create", key_name=key.name)
    assert event.outcome == "success" and event.actor == alice


def test_the_creator_is_granted_administration_not_use(alice, mallory):
    from django.contrib.auth.models import Group

    from kms import access

    mallory.groups.add(Group.objects.get(name="kms-admin"))
    # A kms-admin who is not superuser: global admin perms; the per-key grants
    # from creation are administration only.
    key = key_create(actor=as_actor(alice), name="payments", key_type="aes256")
    alice = type(alice).objects.get(pk=alice.pk)
    held = access.permissions_on(alice, key)
    assert {"view", "manage", "rotate", "delete", "grant"} <= set(held)
    assert "encrypt" not in held and "decrypt" not in held


def test_a_user_without_the_create_permission_is_refused(bob):
    with pytest.raises(PermissionDenied):
        key_create(actor=as_actor(bob), name="nope", key_type="aes256")
    assert not Key.objects.filter(name="nope").exists()
    assert AuditEvent.objects.get(action="create").outcome == "denied"


def test_an_unknown_type_is_refused_with_the_valid_names(alice):
    with pytest.raises(InvalidKeyType) as err:
        key_create(actor=as_actor(alice), name="x", key_type="des")
    assert "aes256" in str(err.value)


@pytest.mark.parametrize("name", ["", "../etc", "a/b", "a b", "é", "x" * 129, "-lead", "a\x00b"])
def test_a_bad_name_is_refused(alice, name):
    with pytest.raises(InvalidRequest):
        key_create(actor=as_actor(alice), name=name, key_type="aes256")


def test_a_second_key_with_the_same_name_is_refused(alice):
    key_create(actor=as_actor(alice), name="dup", key_type="aes256")
    with pytest.raises(KeyExists):
        key_create(actor=as_actor(alice), name="dup", key_type="ed25519")


def test_unknown_settings_are_refused_not_ignored(alice):
    with pytest.raises(InvalidRequest):
        key_create(actor=as_actor(alice), name="x", key_type="aes256", colour="blue")


def test_a_signature_cap_on_an_encryption_key_is_refused(alice):
    with pytest.raises(InvalidRequest):
        key_create(actor=as_actor(alice), name="x", key_type="aes256", max_signatures_per_version=10)
