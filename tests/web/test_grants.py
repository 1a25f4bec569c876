"""The grants editor on a key's page: who may do what, changed through the grants service."""

from __future__ import annotations

from django.contrib.auth.models import Group

from kms import access
from kms.models import ApprovalRequest
from kms.services.actor import Actor
from kms.services.grants import grant_add
from kms.services.keys import key_create
from tests.conftest import make_user
from tests.web.conftest import htmx, key_page, web_actor


def test_it_lists_per_key_and_role_grants(as_bob, aes_key):
    html = key_page(as_bob, "payments")
    assert "user <strong>alice</strong>" in html and "on this key" in html
    assert "group <strong>kms-admin</strong>" in html and "on all keys (role)" in html
    # bob's use comes from his group's explicit all-keys grant, shown as such (issue 13).
    assert "group <strong>all-keys-users</strong>" in html and "on all keys (group grant)" in html


def test_it_adds_a_grant_for_a_user(as_alice, mallory, aes_key):
    data = {"principal": "user", "who": "mallory", "permissions": ["view", "encrypt"]}
    response = as_alice.post("/keys/payments/grants/add/", data, follow=True)
    assert "Granted view, encrypt on &#x27;payments&#x27; to user mallory." in response.content.decode()
    assert access.permissions_on(mallory, aes_key) == ["view", "encrypt"]


def test_it_removes_one_permission_in_place(as_alice, alice, mallory, aes_key):
    grant_add(actor=web_actor(alice), name="payments", user="mallory", permissions=["view", "encrypt"])
    data = {"kind": "user", "who": "mallory", "permissions": "encrypt"}
    html = htmx(as_alice, "post", "/keys/payments/grants/remove/", data).content.decode()
    assert html.lstrip().startswith('<section id="grants"')
    assert "Removed encrypt on &#x27;payments&#x27; from user mallory." in html
    assert access.permissions_on(mallory, aes_key) == ["view"]


def test_it_shows_the_editor_only_to_who_may_grant(as_alice, as_bob, aes_key):
    assert "Add a grant" in key_page(as_alice, "payments")
    html = key_page(as_bob, "payments")
    assert "Add a grant" not in html and "Remove view from" not in html


def test_it_refuses_a_grant_by_a_key_user(as_bob, mallory, aes_key):
    data = {"principal": "user", "who": "mallory", "permissions": ["view"]}
    response = as_bob.post("/keys/payments/grants/add/", data, follow=True)
    assert "you may not grant with key" in response.content.decode()
    assert access.permissions_on(mallory, aes_key) == []


def test_it_answers_an_outsider_not_found(as_mallory, aes_key):
    data = {"principal": "user", "who": "mallory", "permissions": ["view"]}
    assert as_mallory.post("/keys/payments/grants/add/", data).status_code == 404


def test_it_explains_an_unknown_user_to_those_who_may_see_users(as_root, aes_key):
    data = {"principal": "user", "who": "nobody", "permissions": ["view"]}
    html = htmx(as_root, "post", "/keys/payments/grants/add/", data).content.decode()
    assert "no user named &#x27;nobody&#x27;" in html


def test_it_names_no_unknown_user_to_others(as_alice, aes_key):
    # Issue 14, finding 5: a key administrator who may not see users learns nothing of names.
    data = {"principal": "user", "who": "nobody", "permissions": ["view"]}
    html = htmx(as_alice, "post", "/keys/payments/grants/add/", data).content.decode()
    assert "no user named" not in html
    assert "you may not grant with key &#x27;payments&#x27;" in html


def test_it_explains_a_form_missing_permissions(as_alice, aes_key):
    html = htmx(as_alice, "post", "/keys/payments/grants/add/", {"principal": "user", "who": "bob"})
    assert "This field is required." in html.content.decode()


def test_it_refuses_to_leave_a_key_without_an_administrator(as_root, django_user_model):
    owner = make_user(django_user_model, "owner")
    key = key_create(actor=Actor.system(), name="solo", key_type="aes256")  # no creator grants
    grant_add(actor=Actor.system(), name="solo", user="owner", permissions=["manage", "grant"])
    Group.objects.get(name="kms-admin").permissions.clear()  # owner is the only administrator
    data = {"kind": "user", "who": "owner", "permissions": "manage"}
    response = as_root.post("/keys/solo/grants/remove/", data, follow=True)
    assert "would have nobody able to manage it" in response.content.decode()
    assert "manage" in access.permissions_on(owner, key)


def test_it_asks_approvers_before_changing_grants_on_a_guarded_key(as_alice, alice, mallory):
    key_create(actor=web_actor(alice), name="guarded", key_type="aes256", approvals_required=1)
    data = {"principal": "user", "who": "mallory", "permissions": ["view"]}
    response = as_alice.post("/keys/guarded/grants/add/", data, follow=True)
    assert "waiting for 1 approval(s)" in response.content.decode()
    request = ApprovalRequest.objects.get(action="grant_add")
    assert request.parameters == {"user": "mallory", "permissions": ["view"]}


def test_a_refused_grant_keeps_what_was_typed_and_says_why_beside_the_field(as_root, as_alice, aes_key):
    """Issue 18: in the same htmx target (#grants), the bound form, the error in place."""
    data = {"principal": "user", "who": "nobdoy", "permissions": ["view", "encrypt"]}
    html = htmx(as_root, "post", "/keys/payments/grants/add/", data).content.decode()
    assert html.lstrip().startswith('<section id="grants"')
    assert 'value="nobdoy"' in html
    assert html.count("checked") == 2  # view and encrypt still ticked
    who = html[html.index('name="who"') :]
    assert who.index("no user named &#x27;nobdoy&#x27;") < who.index("Permissions")  # beside its field
    # to someone who may not see users: the refusal, for the form, and what was typed kept
    html = htmx(as_alice, "post", "/keys/payments/grants/add/", data).content.decode()
    assert 'value="nobdoy"' in html and "you may not grant with key" in html
    assert 'role="alert"' in html


def test_an_unreadable_grant_form_keeps_what_was_typed(as_alice, aes_key):
    html = htmx(as_alice, "post", "/keys/payments/grants/add/", {"principal": "user", "who": "carol"}).content.decode()
    assert 'value="carol"' in html and "This field is required." in html
