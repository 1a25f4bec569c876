"""The Django admin: read-only tables, no key material, actions through the services."""

from __future__ import annotations

import base64

import pytest
from django.contrib.auth.models import Permission

from kms.models import ApiToken, ApprovalRequest, AuditEvent, Key, KeyVersion
from kms.services.keys import key_create
from kms.services.tokens import token_create
from tests.conftest import make_user
from tests.web.conftest import logged_in, web_actor

CHANGELISTS = ["key", "keyversion", "auditevent", "approvalrequest", "apitoken"]


@pytest.fixture
def staff_viewer(db, django_user_model):
    """Staff, may view keys (globally) and nothing else: no rotate, manage, approve."""
    user = make_user(django_user_model, "viewer")
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_key"))
    return logged_in(user)


@pytest.mark.parametrize("model", CHANGELISTS)
def test_it_lists_every_table_for_a_superuser(as_root, aes_key, model):
    assert as_root.get(f"/admin/kms/{model}/").status_code == 200


@pytest.mark.parametrize("model", CHANGELISTS)
def test_it_allows_no_add_and_no_delete(as_root, aes_key, model):
    assert as_root.get(f"/admin/kms/{model}/add/").status_code == 403
    page = as_root.get(f"/admin/kms/{model}/").content.decode()
    assert 'value="delete_selected"' not in page


def test_it_shows_a_key_read_only_with_its_versions_without_material(as_root, aes_key):
    kv = KeyVersion.objects.get(key=aes_key)
    page = as_root.get(f"/admin/kms/key/{aes_key.pk}/change/").content
    assert b"payments" in page and b"Key versions" in page
    assert b'name="description"' not in page  # read-only
    assert base64.b64encode(bytes(kv.wrapped_material)) not in page
    assert b"wrapped" not in page.lower()
    version_page = as_root.get(f"/admin/kms/keyversion/{kv.pk}/change/").content
    assert b"wrapped" not in version_page.lower()
    assert base64.b64encode(bytes(kv.wrapped_material)) not in version_page


def test_it_refuses_to_change_or_delete_an_audit_event(as_root, aes_key):
    event = AuditEvent.objects.first()
    change = as_root.post(f"/admin/kms/auditevent/{event.pk}/change/", {"action": "x"})
    assert change.status_code == 403
    assert as_root.post(f"/admin/kms/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk, action=event.action).exists()


def test_it_filters_and_searches_audit_events(as_root, aes_key, signing_key):
    page = as_root.get("/admin/kms/auditevent/", {"q": "signer", "outcome__exact": "success"})
    assert page.status_code == 200
    shown = list(page.context["cl"].result_list)
    assert shown and {e.key_name for e in shown} == {"signer"}


def test_it_shows_tokens_by_prefix_and_hash_only(as_root, bob):
    token, raw = token_create(actor=web_actor(bob), user=bob, name="ci")
    page = as_root.get(f"/admin/kms/apitoken/{token.pk}/change/").content.decode()
    assert token.prefix in page and token.token_hash in page and raw not in page


def test_its_rotate_action_goes_through_the_service(as_root, aes_key):
    data = {"action": "rotate_keys", "_selected_action": [aes_key.pk]}
    response = as_root.post("/admin/kms/key/", data, follow=True)
    assert "Rotated: payments." in response.content.decode()
    aes_key.refresh_from_db()
    assert aes_key.current_version == 2
    event = AuditEvent.objects.get(action="rotate")
    assert (event.source, event.actor_name, event.outcome) == ("admin", "root", "success")


def test_it_refuses_a_staff_member_who_is_not_a_superuser(staff_viewer, aes_key):
    for path in ("/admin/", "/admin/kms/key/", "/admin/auth/user/"):
        response = staff_viewer.get(path)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], path
    data = {"action": "rotate_keys", "_selected_action": [aes_key.pk]}
    staff_viewer.post("/admin/kms/key/", data)
    aes_key.refresh_from_db()
    assert aes_key.current_version == 1


def test_its_disable_and_enable_actions(as_root, aes_key):
    as_root.post("/admin/kms/key/", {"action": "disable_keys", "_selected_action": [aes_key.pk]})
    aes_key.refresh_from_db()
    assert aes_key.state == "disabled"
    as_root.post("/admin/kms/key/", {"action": "enable_keys", "_selected_action": [aes_key.pk]})
    aes_key.refresh_from_db()
    assert aes_key.state == "active"


def test_its_actions_obey_approvals(alice):
    """The admin is for superusers only (break-glass): a key administrator with staff status
    cannot reach its actions, so nothing there bypasses the approvals that bind them."""
    key = key_create(actor=web_actor(alice), name="guarded", key_type="aes256", approvals_required=1)
    alice.is_staff = True
    alice.save()
    data = {"action": "disable_keys", "_selected_action": [key.pk]}
    response = logged_in(alice).post("/admin/kms/key/", data)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    key.refresh_from_db()
    assert key.state == "active" and not ApprovalRequest.objects.exists()


def test_a_superuser_acts_alone_there_and_is_flagged(as_root, alice):
    """Break-glass (issue 13): no approval, and the event says a superuser did it."""
    key = key_create(actor=web_actor(alice), name="guarded", key_type="aes256", approvals_required=1)
    as_root.post("/admin/kms/key/", {"action": "disable_keys", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.state == "disabled" and not ApprovalRequest.objects.exists()
    event = AuditEvent.objects.get(action="disable")
    assert event.source == "admin" and event.details["superuser"] is True


def test_its_approve_action_runs_the_request(as_root, alice):
    from kms.exceptions import ApprovalRequired
    from kms.services.keys import key_disable

    key_create(actor=web_actor(alice), name="guarded", key_type="aes256", approvals_required=1)
    with pytest.raises(ApprovalRequired) as raised:
        key_disable(actor=web_actor(alice), name="guarded")
    data = {"action": "approve_requests", "_selected_action": [raised.value.request.pk]}
    as_root.post("/admin/kms/approvalrequest/", data)
    assert Key.objects.get(name="guarded").state == "disabled"


def test_its_revoke_action_revokes_tokens(as_root, bob):
    token, _ = token_create(actor=web_actor(bob), user=bob, name="ci")
    as_root.post("/admin/kms/apitoken/", {"action": "revoke_tokens", "_selected_action": [token.pk]})
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


# --- people ----------------------------------------------------------------------------------


def test_it_shows_people_with_their_roles_and_no_raw_permissions(as_root, alice, bob):
    listing = as_root.get("/admin/auth/user/").content.decode()
    assert "kms-admin" in listing and "kms-user" in listing
    page = as_root.get(f"/admin/auth/user/{bob.pk}/change/").content.decode()
    assert "kms-user" in page and "Set a new password" in page
    assert "user_permissions" not in page and "Can encrypt" not in page
    assert as_root.get("/admin/auth/user/add/").status_code == 403  # the Users page adds people


def test_its_password_form_says_nothing_of_single_sign_on(as_root, bob):
    page = as_root.get(f"/admin/auth/user/{bob.pk}/password/").content.decode()
    assert "Single Sign-On" not in page and "Password-based authentication" not in page
    assert "revokes every API token" in page


def test_a_password_set_in_the_admin_revokes_the_users_tokens_and_is_audited(as_root, bob):
    token, _ = token_create(actor=web_actor(bob), user=bob, name="cli")
    new = {"password1": "a-Long-new-passphrase-9", "password2": "a-Long-new-passphrase-9"}
    response = as_root.post(f"/admin/auth/user/{bob.pk}/password/", new, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    event = AuditEvent.objects.get(action="password_change")
    assert (event.actor_name, event.source, event.client_addr) == ("root", "admin", "10.9.9.9")
    assert event.details["user"] == "bob" and event.details["tokens_revoked"] == 1


def test_its_deactivate_action_goes_through_the_service(as_root, bob):
    token_create(actor=web_actor(bob), user=bob, name="cli")
    data = {"action": "deactivate_users", "_selected_action": [bob.pk]}
    as_root.post("/admin/auth/user/", data, follow=True)
    bob.refresh_from_db()
    assert not bob.is_active and not ApiToken.objects.filter(revoked_at__isnull=True).exists()
    event = AuditEvent.objects.get(action="user_deactivate")
    assert event.source == "admin" and event.details["tokens_revoked"] == 1
