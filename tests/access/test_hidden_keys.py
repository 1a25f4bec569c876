"""Nobody without a permission on a key can learn that it exists, by any endpoint."""

import base64

import pytest

from kms.exceptions import ApprovalRequired
from kms.services import keys
from tests.access.test_permission_matrix import OPERATIONS
from tests.api.conftest import client_for
from tests.conftest import as_actor

B64 = base64.b64encode(b"x").decode()


def body_for(body):
    if body is None:
        return None
    return {f: (v.replace("{ct}", "egide:v1:AAAA").replace("{sig}", "egide:v1:AAAA") if isinstance(v, str) else v)
            for f, v in body.items()}  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_a_hidden_key_answers_exactly_like_a_missing_one(mallory, create_key, operation):
    create_key("secret-key", "aes256")
    create_key("secret-signer", "ed25519")
    client = client_for(mallory)
    _needed, method, path, body = OPERATIONS[operation]
    hidden = getattr(client, method)(path.format(k="secret-key", s="secret-signer"), body_for(body), format="json")
    missing = getattr(client, method)(path.format(k="no-such-key", s="no-such-signer"), body_for(body), format="json")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["code"] == missing.json()["error"]["code"] == "key_not_found"
    normalise = lambda r: r.json()["error"]["message"].replace("secret-signer", "X").replace("secret-key", "X")  # noqa: E731
    assert normalise(hidden) == normalise(missing).replace("no-such-signer", "X").replace("no-such-key", "X")


@pytest.mark.django_db
def test_hidden_keys_are_not_listed_and_their_approvals_not_shown(alice, mallory, create_key, django_user_model):
    create_key("secret-key", "aes256", approvals_required=1)
    from guardian.shortcuts import assign_perm

    from kms.models import Key

    assign_perm("kms.delete_key", alice, Key.objects.get(name="secret-key"))
    with pytest.raises(ApprovalRequired) as pending:
        keys.key_delete(actor=as_actor(alice), name="secret-key")
    client = client_for(mallory)
    assert client.get("/v1/kms/keys").json()["data"] == []
    assert client.get("/v1/kms/keys?name_prefix=secret").json()["data"] == []
    assert client.get("/v1/kms/approvals").json()["data"] == []
    response = client.get(f"/v1/kms/approvals/{pending.value.request.pk}")
    assert response.status_code == 404
    assert client.post(f"/v1/kms/approvals/{pending.value.request.pk}/approve", {}, format="json").status_code == 404
