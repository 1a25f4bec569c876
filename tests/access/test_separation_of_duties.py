"""Issue 13: the ten findings, each as the attack that worked before, now refused.

Every test here failed before the fix (the attack succeeded, or answered success for
nothing). The invariants themselves are tested as properties in test_invariants.py.
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from kms import access
from kms.exceptions import (
    ApprovalPending,
    ApprovalRequired,
    Conflict,
    DeletionDisabled,
    KeyExists,
    KeyNotFound,
    PermissionDenied,
    TooManyPendingApprovals,
    VersionNotUsable,
)
from kms.models import ApprovalRequest, AuditEvent, Key, KeyVersion
from kms.services import approvals, grants, keys
from kms.services.actor import Actor
from tests.api.conftest import client_for, session_client
from tests.api.helpers import data, error
from tests.conftest import as_actor, make_user


@pytest.fixture
def admin1(db, django_user_model):
    return make_user(django_user_model, "ada", "kms-admin")


@pytest.fixture
def admin2(db, django_user_model):
    return make_user(django_user_model, "ben", "kms-admin")


@pytest.fixture
def user1(db, django_user_model):
    """A plain key user: the role only (no all-keys grant)."""
    return make_user(django_user_model, "uma", "kms-user")


@pytest.fixture
def approver1(db, django_user_model):
    return make_user(django_user_model, "carl", "kms-approver")


@pytest.fixture
def approver2(db, django_user_model):
    return make_user(django_user_model, "cleo", "kms-approver")


def as_(user) -> Actor:
    return as_actor(user)


def created_by(user, name="k", key_type="aes256", **options) -> Key:
    return keys.key_create(actor=as_(user), name=name, key_type=key_type, **options)


# --- 1. a key administrator cannot take a key's material alone -------------------------


@pytest.mark.django_db
def test_1_an_admin_cannot_grant_themselves_decrypt_on_someone_elses_key(admin1, admin2):
    created_by(admin2)
    with pytest.raises(PermissionDenied, match="give yourself decrypt"):
        grants.grant_add(actor=as_(admin1), name="k", user="ada", permissions=["decrypt"])
    assert not access.can(admin1, Key.objects.get(name="k"), "decrypt")
    event = AuditEvent.objects.filter(action="grant_add").latest("seq")
    assert event.outcome == "denied" and event.actor_name == "ada"


@pytest.mark.django_db
def test_1_nor_through_a_group_they_are_in(admin1, admin2):
    created_by(admin2)
    team = Group.objects.create(name="team")
    admin1.groups.add(team)
    with pytest.raises(PermissionDenied, match="through group 'team'"):
        grants.grant_add(actor=as_(admin1), name="k", group="team", permissions=["decrypt", "export"])
    assert not access.can(admin1, Key.objects.get(name="k"), "decrypt")


@pytest.mark.django_db
def test_1_granting_what_one_already_holds_to_ones_group_is_fine(admin1):
    created_by(admin1)
    team = Group.objects.create(name="team")
    admin1.groups.add(team)
    grants.grant_add(actor=as_(admin1), name="k", group="team", permissions=["rotate"])
    assert team.keygroupobjectpermission_set.filter(permission__codename="rotate_key").exists()


@pytest.mark.django_db
def test_1_turning_exportable_on_needs_a_second_person_even_without_approvals(admin1, approver1):
    created_by(admin1)  # approvals_required 0
    with pytest.raises(ApprovalRequired) as pending:
        keys.key_update(actor=as_(admin1), name="k", changes={"exportable": True})
    assert pending.value.request.required == 1
    assert Key.objects.get(name="k").exportable is False
    approvals.approval_approve(actor=as_(approver1), request_id=pending.value.request.pk)
    assert Key.objects.get(name="k").exportable is True


@pytest.mark.django_db
def test_1_granting_export_needs_a_second_person_even_without_approvals(admin1, admin2, approver1):
    created_by(admin1, exportable=True)
    with pytest.raises(ApprovalRequired) as pending:
        grants.grant_add(actor=as_(admin1), name="k", user="ben", permissions=["export"])
    key = Key.objects.get(name="k")
    assert not access.can(admin2, key, "export")
    approvals.approval_approve(actor=as_(approver1), request_id=pending.value.request.pk)
    assert access.can(admin2, key, "export")


@pytest.mark.django_db
def test_1_the_whole_attack_of_the_report_fails(admin1, admin2):
    """decrypt to self, exportable on, export to self, export: every step refused or waiting."""
    created_by(admin2)
    ada = client_for(admin1)
    error(ada.post("/v1/kms/keys/k/grants", {"user": "ada", "permissions": ["decrypt"]}, format="json"),
          403, "permission_denied")  # fmt: skip
    assert ada.patch("/v1/kms/keys/k", {"exportable": True}, format="json").status_code == 202
    error(ada.post("/v1/kms/keys/k/grants", {"user": "ada", "permissions": ["export"]}, format="json"),
          403, "permission_denied")  # fmt: skip
    error(ada.post("/v1/kms/keys/k/export", {}, format="json"), 403, "permission_denied")
    assert Key.objects.get(name="k").exportable is False


@pytest.mark.django_db
def test_1_approve_is_not_an_administrators_to_give(admin1, admin2):
    created_by(admin1, approvals_required=1)
    for target in ("ada", "ben"):
        with pytest.raises(PermissionDenied, match="kms-approver role"):
            grants.grant_add(actor=as_(admin1), name="k", user=target, permissions=["approve"])
    assert not ApprovalRequest.objects.exists()


@pytest.mark.django_db
def test_1_an_approver_cannot_approve_a_grant_to_themselves(admin1, approver1, approver2):
    created_by(admin1, approvals_required=1)
    with pytest.raises(ApprovalRequired) as pending:
        grants.grant_add(actor=as_(admin1), name="k", user="carl", permissions=["decrypt"])
    with pytest.raises(PermissionDenied, match="grant to yourself"):
        approvals.approval_approve(actor=as_(approver1), request_id=pending.value.request.pk)
    approvals.approval_approve(actor=as_(approver2), request_id=pending.value.request.pk)
    assert access.can(approver1, Key.objects.get(name="k"), "decrypt")


# --- 2. kms-user holds nothing global ----------------------------------------------------


@pytest.mark.django_db
def test_2_a_key_user_uses_only_the_keys_granted_to_them(admin1, admin2, user1):
    created_by(admin1, name="granted")
    created_by(admin1, name="other")
    assert access.ROLES["kms-user"] == ()
    grants.grant_add(actor=as_(admin2), name="granted", user="uma", permissions=["encrypt", "decrypt"])
    uma = client_for(user1)
    assert uma.post("/v1/kms/encrypt/granted", {"plaintext": "QQ=="}, format="json").status_code == 200
    error(uma.post("/v1/kms/encrypt/other", {"plaintext": "QQ=="}, format="json"), 404, "key_not_found")


@pytest.mark.django_db
def test_2_an_all_keys_grant_to_a_group_is_shown_as_such(admin1, user1):
    created_by(admin1)
    ops = Group.objects.create(name="ops")
    ops.permissions.add(Permission.objects.get(codename="decrypt_key"))
    user1.groups.add(ops)
    entry = next(g for g in grants.grants_of(Key.objects.get(name="k")) if g.get("group") == "ops")
    assert entry == {"group": "ops", "permissions": ["decrypt"], "scope": "all_keys", "through": "group"}
    holders = {h["permission"]: h["holders"] for h in grants.holders_of(Key.objects.get(name="k"))}
    assert {"user": "uma", "through": ["group ops (all keys)"]} in holders["decrypt"]


@pytest.mark.django_db
def test_2_the_migration_moves_an_old_install_to_per_key_grants(admin1, capsys):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("kms.migrations.0008_separation_of_duties")
    created_by(admin1, name="sym")
    created_by(admin1, name="sig", key_type="ed25519")
    role = Group.objects.get(name="kms-user")  # as 0002 made it before issue 13
    role.permissions.add(*Permission.objects.filter(codename__in=["encrypt_key", "decrypt_key", "sign_key",
                                                                   "verify_key"]))  # fmt: skip
    migration.kms_user_to_per_key(apps, None)
    assert not role.permissions.exists()
    per_key = {(g.content_object.name, g.permission.codename) for g in role.keygroupobjectpermission_set.all()}
    assert per_key == {("sym", "encrypt_key"), ("sym", "decrypt_key"), ("sig", "sign_key"), ("sig", "verify_key")}
    assert "added 4 per-key grant(s) to group kms-user on 2 existing key(s)" in capsys.readouterr().out


# --- 3. destroying a version obeys allow_deletion, approvals and a recovery window ---------


def _retire_v1(admin, name="k") -> None:
    keys.key_rotate(actor=as_(admin), name=name)
    keys.key_update(actor=as_(admin), name=name, changes={"min_decryption_version": 2})


@pytest.mark.django_db
def test_3_a_key_that_allows_no_deletion_loses_no_version(admin1):
    created_by(admin1, allow_deletion=False)
    _retire_v1(admin1)
    with pytest.raises(DeletionDisabled):
        keys.version_destroy(actor=as_(admin1), name="k", version=1)
    assert KeyVersion.objects.get(key__name="k", version=1).wrapped_material


@pytest.mark.django_db
def test_3_destruction_waits_for_approvals_and_then_for_its_window(admin1, approver1, settings):
    created_by(admin1)
    _retire_v1(admin1)
    keys.key_update(actor=as_(admin1), name="k", changes={"approvals_required": 1})
    with pytest.raises(ApprovalRequired) as pending:
        keys.version_destroy(actor=as_(admin1), name="k", version=1)
    approvals.approval_approve(actor=as_(approver1), request_id=pending.value.request.pk)
    kv = KeyVersion.objects.get(key__name="k", version=1)
    assert kv.destroy_after is not None and kv.destroyed_at is None and kv.wrapped_material
    # Not yet: the window has not passed.
    call_command("kms_purge_due", stdout=StringIO())
    assert KeyVersion.objects.get(pk=kv.pk).wrapped_material
    later = timezone.now() + timedelta(days=settings.EGIDE_DELETION_WINDOW_DAYS, seconds=1)
    assert keys.versions_destroy_due(actor=Actor.system(), now=later) == ["k v1"]
    kv.refresh_from_db()
    assert kv.destroyed_at is not None and bytes(kv.wrapped_material) == b""


@pytest.mark.django_db
def test_3_a_scheduled_destruction_can_be_cancelled_within_the_window(admin1, settings):
    created_by(admin1)
    _retire_v1(admin1)
    keys.version_destroy(actor=as_(admin1), name="k", version=1)
    with pytest.raises(Exception, match="scheduled for destruction"):
        keys.key_update(actor=as_(admin1), name="k", changes={"min_decryption_version": 1})
    keys.version_restore(actor=as_(admin1), name="k", version=1)
    later = timezone.now() + timedelta(days=settings.EGIDE_DELETION_WINDOW_DAYS, seconds=1)
    assert keys.versions_destroy_due(actor=Actor.system(), now=later) == []
    assert KeyVersion.objects.get(key__name="k", version=1).destroyed_at is None


@pytest.mark.django_db
def test_3_destroying_needs_delete_not_manage(admin1, django_user_model):
    created_by(admin1)
    _retire_v1(admin1)
    manager = make_user(django_user_model, "manny")
    assign_perm("kms.manage_key", manager, Key.objects.get(name="k"))
    with pytest.raises(PermissionDenied):
        keys.version_destroy(actor=as_(manager), name="k", version=1)


# --- 4. every version-level restriction, and its undoing, is under approvals --------------


@pytest.fixture
def guarded(admin1, approver1):
    created_by(admin1)
    keys.key_rotate(actor=as_(admin1), name="k")
    keys.key_update(actor=as_(admin1), name="k", changes={"approvals_required": 1})
    return Key.objects.get(name="k")


def _pending(call) -> ApprovalRequest:
    with pytest.raises(ApprovalRequired) as pending:
        call()
    return pending.value.request


@pytest.mark.django_db
def test_4_disabling_a_version_waits_for_approvers(admin1, guarded):
    response = client_for(admin1).post("/v1/kms/keys/k/versions/1/disable", {}, format="json")
    assert response.status_code == 202
    assert KeyVersion.objects.get(key=guarded, version=1).disabled_at is None


@pytest.mark.django_db
def test_4_undoing_a_restriction_waits_too(admin1, approver1, guarded, system):
    keys.version_disable(actor=system, name="k", version=1)
    keys.key_update(actor=system, name="k", changes={"min_decryption_version": 2})
    keys.key_disable(actor=system, name="k")
    for call in (
        lambda: keys.version_enable(actor=as_(admin1), name="k", version=1),
        lambda: keys.key_update(actor=as_(admin1), name="k", changes={"min_decryption_version": 1}),
        lambda: keys.key_enable(actor=as_(admin1), name="k"),
    ):
        _pending(call)
    key = Key.objects.get(pk=guarded.pk)
    assert key.state == "disabled" and key.min_decryption_version == 2
    assert KeyVersion.objects.get(key=key, version=1).disabled_at is not None


@pytest.mark.django_db
def test_4_restoring_a_deleted_key_waits_too(admin1, guarded, system):
    keys.key_delete(actor=system, name="k")
    _pending(lambda: keys.key_restore(actor=as_(admin1), name="k"))
    assert Key.objects.get(pk=guarded.pk).state == "deleted"


@pytest.mark.django_db
def test_4_the_admin_actions_on_versions_are_for_superusers_only(admin1, guarded, django_user_model):
    """The admin's version actions: a staff key administrator cannot reach them; a superuser
    acts alone there (break-glass), flagged in the audit trail."""
    from tests.web.conftest import logged_in

    admin1.is_staff = True
    admin1.save()
    admin1.user_permissions.add(Permission.objects.get(codename="view_keyversion"))
    kv = KeyVersion.objects.get(key=guarded, version=1)
    form = {"action": "disable_versions", "_selected_action": [kv.pk]}
    assert logged_in(admin1).post("/admin/kms/keyversion/", form).status_code == 302
    assert KeyVersion.objects.get(pk=kv.pk).disabled_at is None
    root = make_user(django_user_model, "root", superuser=True)
    logged_in(root).post("/admin/kms/keyversion/", form)
    assert KeyVersion.objects.get(pk=kv.pk).disabled_at is not None
    event = AuditEvent.objects.get(action="disable_version")
    assert event.source == "admin" and event.details["superuser"] is True


# --- 5. removing what is not there (or not there on this key) is refused -------------------


@pytest.mark.django_db
def test_5_a_per_key_removal_of_a_role_grant_is_refused_naming_the_role(admin1, admin2):
    created_by(admin1, approvals_required=1)
    with pytest.raises(Conflict, match="role kms-admin"):
        grants.grant_remove(actor=as_(admin1), name="k", user="ben", permissions=["rotate"])
    assert not ApprovalRequest.objects.exists()  # no request for a no-op


@pytest.mark.django_db
def test_5_removing_a_grant_that_does_not_exist_is_an_error(admin1, user1):
    created_by(admin1)
    response = client_for(admin1).delete("/v1/kms/keys/k/grants", {"user": "uma", "permissions": ["decrypt"]},
                                         format="json")  # fmt: skip
    error(response, 404, "grant_not_found")


@pytest.mark.django_db
def test_5_a_removal_that_happens_is_true_afterwards(admin1, admin2, user1):
    created_by(admin1)
    grants.grant_add(actor=as_(admin2), name="k", user="uma", permissions=["decrypt"])
    grants.grant_remove(actor=as_(admin2), name="k", user="uma", permissions=["decrypt"])
    assert not access.can(user1, Key.objects.get(name="k"), "decrypt")


# --- 6. requests act on their key's identity, and die with it -------------------------------


@pytest.mark.django_db
def test_6_a_pending_request_does_not_survive_its_key(admin1, approver1, system):
    created_by(admin1, approvals_required=1)
    request = _pending(lambda: grants.grant_add(actor=as_(admin1), name="k", user="carl", permissions=["view"]))
    keys.key_update(actor=system, name="k", changes={"approvals_required": 0})
    keys.key_delete(actor=system, name="k")
    keys.key_purge(actor=system, name="k")
    created_by(admin1, approvals_required=3)  # a new key, same name
    with pytest.raises(Conflict):
        approvals.approval_approve(actor=as_(approver1), request_id=request.pk)
    request.refresh_from_db()
    assert request.status == "cancelled"
    assert not Key.objects.get(name="k", state="active").keyuserobjectpermission_set.filter(
        user=approver1).exists()  # fmt: skip


@pytest.mark.django_db
def test_6_an_approved_action_never_reaches_another_key_of_that_name(admin1, system):
    old = created_by(admin1)
    keys.key_delete(actor=system, name="k")
    keys.key_purge(actor=system, name="k")
    created_by(admin1)
    on_behalf = Actor(user=admin1, source="api", extra={"approval": {"request_id": 1, "key_uid": str(old.uid)}})
    with pytest.raises(KeyNotFound):
        keys.key_rotate(actor=on_behalf, name="k")


# --- 7. no flooding ------------------------------------------------------------------------


@pytest.mark.django_db
def test_7_the_same_request_is_filed_once(admin1, approver1):
    created_by(admin1, approvals_required=1)
    approver1.email = "carl@example.com"
    approver1.save()
    client = client_for(admin1)
    first = client.post("/v1/kms/keys/k/disable", {}, format="json")
    assert first.status_code == 202
    for _ in range(5):
        error(client.post("/v1/kms/keys/k/disable", {}, format="json"), 409, "approval_pending")
    assert ApprovalRequest.objects.filter(status="pending").count() == 1


@pytest.mark.django_db
def test_7_a_requester_has_a_bounded_number_of_pending_requests(admin1, settings):
    settings.EGIDE_APPROVALS_MAX_PENDING = 3
    for i in range(3):
        created_by(admin1, name=f"k{i}", approvals_required=1)
        _pending(lambda i=i: keys.key_disable(actor=as_(admin1), name=f"k{i}"))
    created_by(admin1, name="k3", approvals_required=1)
    with pytest.raises(TooManyPendingApprovals):
        keys.key_disable(actor=as_(admin1), name="k3")
    assert ApprovalRequest.objects.count() == 3


@pytest.mark.django_db
def test_7_the_database_refuses_a_second_identical_pending_request(admin1):
    key = created_by(admin1, approvals_required=1)
    request = _pending(lambda: keys.key_disable(actor=as_(admin1), name="k"))
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalRequest.objects.create(key=key, action="disable", parameters={}, requester=admin1, required=1,
                                       expires_at=request.expires_at, fingerprint=request.fingerprint)  # fmt: skip


@pytest.mark.django_db
def test_7_approvers_get_one_mail_per_request(admin1, approver1, django_capture_on_commit_callbacks):
    created_by(admin1, approvals_required=1)
    approver1.email = "carl@example.com"
    approver1.save()
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            try:
                keys.key_disable(actor=as_(admin1), name="k")
            except (ApprovalRequired, ApprovalPending):
                pass
    assert len(mail.outbox) == 1


# --- 8. export is a POST --------------------------------------------------------------------


@pytest.mark.django_db
def test_8_export_by_get_is_405(root, system):
    keys.key_create(actor=system, name="k", key_type="aes256", exportable=True)
    error(client_for(root).get("/v1/kms/keys/k/export"), 405, "method_not_allowed")
    assert not AuditEvent.objects.filter(action="export").exists()
    assert data(client_for(root).post("/v1/kms/keys/k/export", {}, format="json"))["versions"]


@pytest.mark.django_db
def test_8_a_session_export_needs_the_csrf_token(root, system):
    keys.key_create(actor=system, name="k", key_type="aes256", exportable=True)
    client = session_client(root)
    client.handler.enforce_csrf_checks = True
    error(client.post("/v1/kms/keys/k/export", {}, format="json"), 403, "permission_denied")


# --- 9. names are unique regardless of case --------------------------------------------------


@pytest.mark.django_db
def test_9_names_differing_only_by_case_are_one_name(admin1):
    created_by(admin1, name="payments")
    for name in ("PAYMENTS", "paymentS"):
        with pytest.raises(KeyExists, match="regardless of case"):
            created_by(admin1, name=name)
    response = client_for(admin1).post("/v1/kms/keys/Payments", {"type": "aes256"}, format="json")
    error(response, 409, "key_exists")


@pytest.mark.django_db
def test_9_the_database_says_so_too(admin1, system):
    key = created_by(admin1, name="payments")
    with pytest.raises(IntegrityError), transaction.atomic():
        Key.objects.create(name="PAYMENTS", key_type="aes256")
    keys.key_delete(actor=system, name="payments")
    keys.key_purge(actor=system, name="payments")
    Key.objects.create(name="PAYMENTS", key_type="aes256")  # a purged key frees its name
    assert Key.objects.get(pk=key.pk).state == "purged"


# --- 10. public keys only of versions that still work ----------------------------------------


@pytest.mark.django_db
def test_10_no_public_key_of_a_disabled_retired_or_destroyed_version(admin1, system):
    created_by(admin1, name="s", key_type="ed25519")
    for _ in range(3):
        keys.key_rotate(actor=system, name="s")
    keys.key_update(actor=system, name="s", changes={"min_decryption_version": 3})
    keys.version_disable(actor=system, name="s", version=3)
    keys.version_destroy(actor=system, name="s", version=1)
    keys.versions_destroy_due(actor=system, now=timezone.now() + timedelta(days=400))
    client = client_for(admin1)
    for version in (1, 2, 3):
        error(client.get(f"/v1/kms/keys/s/public?version={version}"), 409, "key_version_unavailable")
    assert data(client.get("/v1/kms/keys/s/public"))["status"] == "active"
    with pytest.raises(VersionNotUsable):
        keys.public_key_pem(actor=as_(admin1), name="s", version=3)


# --- superusers: break-glass, alone, flagged ---------------------------------------------------


@pytest.mark.django_db
def test_a_superuser_acts_alone_and_is_flagged(root, admin1):
    created_by(admin1, approvals_required=2)
    keys.key_disable(actor=as_(root), name="k")
    event = AuditEvent.objects.filter(action="disable").latest("seq")
    assert event.outcome == "success" and event.details.get("superuser") is True
    other = AuditEvent.objects.filter(action="create").latest("seq")
    assert "superuser" not in other.details


@pytest.mark.django_db
def test_the_key_page_shows_who_holds_what_and_through_what(root, admin1, admin2, user1, approver1):
    from tests.web.conftest import key_page, logged_in

    created_by(admin1)
    grants.grant_add(actor=as_(admin2), name="k", user="uma", permissions=["decrypt"])
    ops = Group.objects.create(name="ops")
    user1.groups.add(ops)
    grants.grant_add(actor=as_(admin2), name="k", group="ops", permissions=["encrypt"])
    html = key_page(logged_in(admin1), "k")
    assert "Who holds each permission" in html
    for text in ("role kms-admin", "direct (this key)", "group ops (this key)", "superuser", "role kms-approver"):
        assert text in html, text
