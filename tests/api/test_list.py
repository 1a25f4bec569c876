"""The key list: cursor pagination in a stable order, filters, and only the keys one may view."""

from __future__ import annotations

import pytest
from guardian.shortcuts import assign_perm

from tests.api.helpers import error

pytestmark = pytest.mark.django_db

SUMMARY_FIELDS = {
    "name", "type", "current_version", "status", "created_at", "last_rotated_at",
    "next_rotation_at", "rotation_overdue", "origin", "verify_only",
}  # fmt: skip


def page(client, query: str = ""):
    response = client.get(f"/v1/kms/keys{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"data", "next_cursor"}
    return body["data"], body["next_cursor"]


def names(client, query: str = "") -> list[str]:
    return [k["name"] for k in page(client, query)[0]]


@pytest.fixture
def keys(create_key):
    # Created out of name order: the list answers in creation order, as the spec's table.
    create_key("app.sessions", "aes256")
    create_key("app.payments", "aes256")
    create_key("zeta", "ecdsa-p256")
    create_key("app.signing", "ed25519")
    create_key("backup", "rsa2048")


CREATED = ["app.sessions", "app.payments", "zeta", "app.signing", "backup"]


def test_it_lists_key_summaries_in_creation_order(api_alice, keys):
    listed, cursor = page(api_alice)
    assert [k["name"] for k in listed] == CREATED
    assert all(set(k) == SUMMARY_FIELDS for k in listed) and cursor is None
    assert listed[0]["type"] == "aes256" and listed[0]["status"] == "active"


def test_a_cursor_walks_every_key_once(api_alice, keys, create_key):
    seen, query = [], "?limit=2"
    for turn in range(10):
        listed, cursor = page(api_alice, query)
        seen += [k["name"] for k in listed]
        if cursor is None:
            break
        create_key(f"added-{turn}")  # created during the walk: comes after, nothing repeats
        query = f"?limit=2&cursor={cursor}"
    assert seen[:5] == CREATED
    assert len(seen) == len(set(seen)) and all(name.startswith("added-") for name in seen[5:])


def test_it_filters_by_type_status_and_name_prefix(api_alice, keys):
    assert names(api_alice, "?type=aes256") == ["app.sessions", "app.payments"]
    assert names(api_alice, "?name_prefix=app.s") == ["app.sessions", "app.signing"]
    api_alice.post("/v1/kms/keys/backup/disable", {}, format="json")
    assert names(api_alice, "?status=disabled") == ["backup"]
    assert names(api_alice, "?status=active&type=rsa2048") == []
    assert names(api_alice, "?type=aes256&name_prefix=app.p&limit=1") == ["app.payments"]


def test_deleted_keys_are_listed_with_their_status(api_alice, keys):
    api_alice.delete("/v1/kms/keys/zeta")
    assert names(api_alice, "?status=deleted") == ["zeta"]


@pytest.mark.parametrize("query", [
    "?type=des", "?status=gone", "?limit=0", "?limit=1001", "?limit=x", "?limit=-1",
    "?cursor=%%%", "?cursor=@@", "?colour=red", "?name=app",
])  # fmt: skip
def test_bad_list_parameters_are_refused(api_alice, query):
    error(api_alice.get(f"/v1/kms/keys{query}"), 400, "invalid_request")


def test_a_user_sees_only_the_keys_they_may_view(api_mallory, mallory, keys):
    from kms.models import Key

    assert names(api_mallory) == []
    assign_perm("kms.encrypt_key", mallory, Key.objects.get(name="backup"))
    assert names(api_mallory) == ["backup"]
    assert names(api_mallory, "?name_prefix=app") == []


def test_a_role_holder_sees_every_key(api_bob, keys):
    assert len(names(api_bob)) == 5
