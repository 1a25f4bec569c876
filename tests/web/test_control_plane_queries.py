"""The control plane's reads cost a fixed number of queries, whatever the number of keys,
grants or requests (issue 19): counted with CaptureQueriesContext, never timed.

The list (API and page) is one SELECT for the keys; a key's page reads the key, its
versions and the user's permissions on it; its panels (kms.web.key_panels) each a handful.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kms.services.actor import Actor
from kms.services.grants import grant_add
from kms.services.keys import key_create
from tests.api.conftest import client_for
from tests.conftest import make_user
from tests.web.conftest import htmx, lazy_panels, logged_in, web_actor

# Counted as production runs: the reads' audit events go to the spool (kms.services.audit_sink).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("spool_sink")]

# Measured on SQLite (a superuser needs fewer: no permission rows to read).
MAX_API_LIST = 2  # the token, the page of keys
MAX_PAGE_LIST = 6  # the session, the user, the user's permissions (2), the keys, any pending request?
MAX_KEY_PAGE = 10  # ...the key, its versions, the user's permissions on it (2), any pending request?
# Each panel: the session and the user (2), the key, the user's permissions (2), then its own.
MAX_PANEL = {"settings": 5, "usage": 6, "approvals": 8, "grants": 6, "events": 6}


def queries(call) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == 200, response.status_code
    return len(captured), "\n".join(q["sql"][:200] for q in captured.captured_queries)


def add_keys(user, first: int, count: int) -> None:
    for i in range(first, first + count):
        key_create(actor=web_actor(user), name=f"k{i:03d}", key_type="aes256")


@pytest.fixture
def lots_of_grants(django_user_model, alice):
    """Grants of many users and groups on one key, and people in the role groups."""

    def grant(count: int, first: int = 0) -> None:
        for i in range(first, first + count):
            user = make_user(django_user_model, f"user{i:03d}", "kms-approver" if i % 2 else "kms-user")
            grant_add(actor=Actor.system(), name="k000", user=user.username, permissions=["view", "encrypt"])
            group = Group.objects.create(name=f"group{i:03d}")
            user.groups.add(group)
            grant_add(actor=Actor.system(), name="k000", group=group.name, permissions=["decrypt"])

    return grant


@pytest.mark.parametrize("who", ["alice", "bob", "root"])
def test_the_api_list_does_not_grow_with_the_keys(request, alice, who):
    client = client_for(request.getfixturevalue(who))
    add_keys(alice, 0, 3)
    client.get("/v1/kms/keys?limit=100")  # first-use caches (content types, the token's last use)
    few, _ = queries(lambda: client.get("/v1/kms/keys?limit=100"))
    add_keys(alice, 3, 40)
    many, sql = queries(lambda: client.get("/v1/kms/keys?limit=100"))
    assert len(client.get("/v1/kms/keys?limit=100").json()["data"]) == 43
    assert many == few <= MAX_API_LIST, sql


@pytest.mark.parametrize("who", ["alice", "bob", "root"])
def test_the_list_page_does_not_grow_with_the_keys(request, alice, who):
    client = logged_in(request.getfixturevalue(who))
    add_keys(alice, 0, 3)
    client.get("/")
    few, _ = queries(lambda: client.get("/"))
    add_keys(alice, 3, 40)
    many, sql = queries(lambda: client.get("/"))
    assert many == few <= MAX_PAGE_LIST, sql


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "root"])
def test_a_key_page_does_not_grow_with_keys_versions_grants_or_requests(
    request, django_user_model, alice, carol, who, lots_of_grants
):
    from kms.exceptions import ApprovalRequired
    from kms.services.keys import key_rotate, key_update

    client = logged_in(request.getfixturevalue(who))
    add_keys(alice, 0, 2)
    lots_of_grants(1)
    # Requests by another administrator, waiting: every page's navigation counts those it awaits.
    key_update(actor=web_actor(alice), name="k000", changes={"approvals_required": 1})
    alex = make_user(django_user_model, "alex", "kms-admin")

    def requested(i: int) -> None:
        with pytest.raises(ApprovalRequired):
            grant_add(actor=web_actor(alex), name="k000", user=f"user{i:03d}", permissions=["verify"])

    requested(0)
    client.get("/keys/k000/")
    few, _ = queries(lambda: client.get("/keys/k000/"))
    add_keys(alice, 2, 20)
    lots_of_grants(15, first=1)
    for i in range(1, 6):
        key_rotate(actor=web_actor(alice), name="k000")
        requested(i)
    many, sql = queries(lambda: client.get("/keys/k000/"))
    assert many == few <= MAX_KEY_PAGE, sql


@pytest.mark.parametrize("who", ["alice", "root"])
def test_each_panel_does_not_grow_with_grants_or_requests(request, alice, carol, who, lots_of_grants):
    from kms.exceptions import ApprovalRequired
    from kms.services.keys import key_update

    client = logged_in(request.getfixturevalue(who))
    key_create(actor=web_actor(alice), name="k000", key_type="aes256")
    lots_of_grants(1)
    key_update(actor=web_actor(alice), name="k000", changes={"approvals_required": 1})
    with pytest.raises(ApprovalRequired):
        grant_add(actor=web_actor(alice), name="k000", user="user000", permissions=["sign"])
    panels = lazy_panels(client.get("/keys/k000/").content.decode())
    for url in panels:
        htmx(client, "get", url)
    few = {url: queries(lambda u=url: htmx(client, "get", u))[0] for url in panels}
    lots_of_grants(12, first=1)
    for i in range(1, 7):  # six more requests waiting on the key, each with its own parameters
        with pytest.raises(ApprovalRequired):
            grant_add(actor=web_actor(alice), name="k000", user=f"user{i:03d}", permissions=["verify"])
    many = {url: queries(lambda u=url: htmx(client, "get", u))[0] for url in panels}
    assert many == few, (few, many)
    bounds = {url: MAX_PANEL[url.rstrip("/").rsplit("/", 1)[1]] for url in panels}
    assert all(few[url] <= bounds[url] for url in panels), (few, bounds)
