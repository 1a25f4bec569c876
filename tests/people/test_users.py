"""Users and roles in the product: the service, the API and its rules; finding 5 (the grant
form was an oracle for usernames)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from kms.models import AuditEvent
from kms.services.actor import Actor
from kms.services.grants import grant_add
from kms.services.keys import key_create
from kms.services.users import user_create
from tests.api.conftest import client_for
from tests.api.helpers import data, error, post


def test_a_manager_adds_a_user_with_a_one_time_password_shown_once(api_root):
    created = data(post(api_root, "/v1/users", {"username": "carol", "roles": ["kms-approver"],
                                                "email": "carol@example.com"}), 201)  # fmt: skip
    password = created["one_time_password"]
    assert created["user"]["roles"] == ["kms-approver"] and len(password) >= 16
    carol = get_user_model().objects.get(username="carol")
    assert carol.check_password(password) and password not in carol.password
    shown = data(api_root.get("/v1/users/carol"))
    assert password not in str(shown) and password not in str(data(api_root.get("/v1/users")))
    event = AuditEvent.objects.get(action="user_create")
    assert (event.details["user"], event.details["roles"]) == ("carol", ["kms-approver"])
    assert password not in str(AuditEvent.objects.values_list("details", flat=True))


def test_only_those_who_manage_users_may(api_alice, api_mallory, alice):
    for api in (api_alice, api_mallory):
        error(post(api, "/v1/users", {"username": "eve"}), 403, "permission_denied")
        error(api.get("/v1/users"), 403, "permission_denied")
        error(post(api, "/v1/users/alice/roles", {"role": "kms-approver"}), 403,
              "permission_denied")  # fmt: skip
    assert not alice.groups.filter(name="kms-approver").exists()


def test_a_user_manager_who_is_not_a_superuser(alice, bob):
    alice.user_permissions.add(Permission.objects.get(codename="change_user"))
    api = client_for(get_user_model().objects.get(pk=alice.pk))
    data(post(api, "/v1/users/bob/roles", {"role": "kms-approver"}))
    # ...never changes their own roles, and never a superuser
    error(post(api, "/v1/users/alice/roles", {"role": "kms-approver"}), 403, "permission_denied")
    get_user_model().objects.create_superuser("boss", password="pw-boss")  # noqa: S106
    error(post(api, "/v1/users/boss/deactivate"), 403, "permission_denied")


def test_roles_are_added_and_removed_and_each_change_is_audited(api_root, bob):
    user = data(post(api_root, "/v1/users/bob/roles", {"role": "kms-auditor"}))
    assert "kms-auditor" in user["roles"]
    user = data(api_root.delete("/v1/users/bob/roles", {"role": "kms-auditor"}, format="json"))
    assert "kms-auditor" not in user["roles"]
    error(api_root.delete("/v1/users/bob/roles", {"role": "kms-auditor"}, format="json"),
          400, "invalid_request")  # not in it: nothing to remove  # fmt: skip
    error(post(api_root, "/v1/users/bob/roles", {"role": "no-such-role"}), 400, "invalid_request")
    actions = list(AuditEvent.objects.filter(action__startswith="role_").order_by("seq")
                   .values_list("action", "outcome"))  # fmt: skip
    assert actions == [("role_add", "success"), ("role_remove", "success"),
                       ("role_remove", "error"), ("role_add", "error")]  # fmt: skip


def test_bad_input_is_a_clear_4xx(api_root, bob):
    error(post(api_root, "/v1/users", {"username": "bad name!"}), 400, "invalid_request")
    error(post(api_root, "/v1/users", {"username": "bob"}), 409, "conflict")
    error(post(api_root, "/v1/users", {"username": "BOB"}), 409, "conflict")
    error(post(api_root, "/v1/users", {"username": "x", "email": "nope"}), 400, "invalid_request")
    one_string = {"username": "x", "roles": "kms-user"}
    error(post(api_root, "/v1/users", one_string), 400, "invalid_request")
    error(api_root.get("/v1/users/nobody"), 404, "user_not_found")
    error(post(api_root, "/v1/users/nobody/deactivate"), 404, "user_not_found")


def test_a_manager_sees_a_persons_roles_tokens_and_recent_activity(api_root, bob):
    client = Client(REMOTE_ADDR="10.5.5.5")
    client.post("/login/", {"username": "bob", "password": "pw-bob"})
    client_for(bob)
    shown = data(api_root.get("/v1/users/bob"))
    assert shown["user"]["roles"] == ["kms-user"] and len(shown["tokens"]) == 1
    assert any(e["action"] == "login" and e["client_addr"] == "10.5.5.5"
               for e in shown["recent_events"])  # fmt: skip


def test_the_users_page_adds_a_person_and_shows_the_password_once(as_root):
    answer = as_root.post("/users/", {"username": "dora", "roles": ["kms-approver"]})
    html = answer.content.decode()
    password = answer.context["created"]["password"]
    assert password in html and "it will not be shown again" in html
    assert password not in as_root.get("/users/").content.decode()
    assert "kms-approver" in as_root.get("/users/dora/").content.decode()


def test_the_users_page_is_for_those_who_may_see_users(as_alice, as_root):
    assert as_alice.get("/users/").status_code == 403
    assert "Users</a>" not in as_alice.get("/").content.decode()
    assert "Users</a>" in as_root.get("/").content.decode()


def test_the_users_page_deactivates_and_revokes(as_root, bob):
    client_for(bob)
    answer = as_root.post("/users/bob/deactivate/", follow=True)
    assert "1 API token revoked" in answer.content.decode()
    bob.refresh_from_db()
    assert not bob.is_active


# --- finding 5 ---------------------------------------------------------------------------------


@pytest.fixture
def alices_key(alice):
    return key_create(actor=Actor(user=alice, source="api"), name="payments", key_type="aes256")


def test_an_unknown_grantee_is_named_only_to_those_who_may_see_users(api_alice, alices_key):
    body = {"user": "ghost", "permissions": ["encrypt"]}
    message = error(post(api_alice, "/v1/kms/keys/payments/grants", body), 403, "permission_denied")
    assert "ghost" not in message and "no user" not in message
    assert message == "you may not grant with key 'payments'"  # as any refused grant


def test_those_who_may_see_users_learn_that_the_name_is_no_users(alice, alices_key):
    alice.user_permissions.add(Permission.objects.get(codename="view_user"))
    api = client_for(get_user_model().objects.get(pk=alice.pk))
    body = {"user": "ghost", "permissions": ["encrypt"]}
    assert "no user named 'ghost'" in error(post(api, "/v1/kms/keys/payments/grants", body),
                                             400, "invalid_request")  # fmt: skip


def test_a_known_grantee_is_still_granted(alice, bob, alices_key):
    grants = grant_add(actor=Actor(user=alice, source="api"), name="payments", user="bob",
                       permissions=["encrypt"])  # fmt: skip
    assert any(g.get("user") == "bob" and "encrypt" in g["permissions"] for g in grants)


def test_user_create_needs_a_manager(mallory):
    from kms.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        user_create(actor=Actor(user=mallory, source="api"), username="eve")
