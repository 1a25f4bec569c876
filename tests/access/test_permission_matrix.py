"""The permission matrix, through the API: every role and grant × every operation.

For each subject we know which permissions it holds on the key; each operation
needs one permission. Expected: allowed when held; `permission_denied` when the
subject holds something else on the key (it may see it); `key_not_found` when it
holds nothing (it may not even learn the key exists). Both sides of every case.
"""

import base64

import pytest
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm

from kms.access import ROLES
from kms.models import KEY_PERMISSIONS, Key
from kms.services import crypto_ops
from kms.services.actor import Actor
from tests.api.conftest import client_for
from tests.conftest import make_user

B64 = base64.b64encode(b"payload").decode()

# operation name → (needed permission, method, path, body); {k} = aes key, {s} = signing key
OPERATIONS = {
    "info": ("view", "get", "/v1/kms/keys/{k}", None),
    "public_key": ("view", "get", "/v1/kms/keys/{s}/public", None),
    "grants_list": ("view", "get", "/v1/kms/keys/{k}/grants", None),
    "encrypt": ("encrypt", "post", "/v1/kms/encrypt/{k}", {"plaintext": B64}),
    "datakey": ("encrypt", "post", "/v1/kms/datakey/{k}", {}),
    "decrypt": ("decrypt", "post", "/v1/kms/decrypt/{k}", {"ciphertext": "{ct}"}),
    "sign": ("sign", "post", "/v1/kms/sign/{s}", {"data": B64}),
    "verify": ("verify", "post", "/v1/kms/verify/{s}", {"data": B64, "signature": "{sig}"}),
    "rotate": ("rotate", "post", "/v1/kms/keys/{k}/rotate", {}),
    "update": ("manage", "patch", "/v1/kms/keys/{k}", {"description": "x"}),
    "disable": ("manage", "post", "/v1/kms/keys/{k}/disable", {}),
    "delete": ("delete", "delete", "/v1/kms/keys/{k}", None),
    "export": ("export", "post", "/v1/kms/keys/{k}/export", {}),
    "grant_add": ("grant", "post", "/v1/kms/keys/{k}/grants", {"user": "someone", "permissions": ["view"]}),
}

# subject → (global role or None, per-key permissions held directly, via a group)
SUBJECTS = {"outsider": (None, (), ())}
SUBJECTS.update({role: (role, (), ()) for role in ROLES})
SUBJECTS.update({f"grant-{p}": (None, (p,), ()) for p in KEY_PERMISSIONS})
SUBJECTS["group-grant-encrypt"] = (None, (), ("encrypt",))


def held(subject: str) -> set[str]:
    role, direct, via_group = SUBJECTS[subject]
    return set(ROLES.get(role, ())) | set(direct) | set(via_group)


def expected(subject: str, operation: str) -> int:
    needed = OPERATIONS[operation][0]
    perms = held(subject) - {"audit", "add"}
    if needed in perms:
        return 200
    return 403 if perms else 404


@pytest.mark.django_db
@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("subject", list(SUBJECTS))
def test_the_permission_matrix(django_user_model, create_key, subject, operation):
    key = create_key("matrix-key", "aes256", exportable=True)
    signer = create_key("matrix-signer", "ed25519")
    make_user(django_user_model, "someone")
    system = Actor.system()
    ct = crypto_ops.encrypt(actor=system, name=key.name, plaintext=b"p").ciphertext
    sig = crypto_ops.sign(actor=system, name=signer.name, data=b"payload").signature

    role, direct, via_group = SUBJECTS[subject]
    user = make_user(django_user_model, "subject", *([role] if role else []))
    for target in (key, signer):
        for permission in direct:
            assign_perm(f"kms.{permission}_key", user, Key.objects.get(pk=target.pk))
        if via_group:
            group = Group.objects.get_or_create(name="team")[0]
            user.groups.add(group)
            for permission in via_group:
                assign_perm(f"kms.{permission}_key", group, Key.objects.get(pk=target.pk))
    # A named manager/granter, so removing or adding grants never trips the last-admin rule.
    keeper = make_user(django_user_model, "keeper")
    assign_perm("kms.manage_key", keeper, key)
    assign_perm("kms.grant_key", keeper, key)

    _needed, method, path, body = OPERATIONS[operation]
    path = path.format(k=key.name, s=signer.name)
    if body is not None:
        body = {f: (v.format(ct=ct, sig=sig) if isinstance(v, str) else v) for f, v in body.items()}
    response = getattr(client_for(user), method)(path, body, format="json")

    want = expected(subject, operation)
    if want == 200:
        assert response.status_code in (200, 201, 204), (subject, operation, response.content)
    else:
        assert response.status_code == want, (subject, operation, response.content)
        code = "permission_denied" if want == 403 else "key_not_found"
        assert response.json()["error"]["code"] == code
