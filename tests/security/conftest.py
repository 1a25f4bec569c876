"""Shared by the security tests: API clients with bearer tokens, and a fingerprint of
everything an API request could change, to prove a refused request changed nothing."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from kms.services.actor import Actor
from kms.services.tokens import token_create


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    # The throttles count in the process-wide cache; each test starts with a full budget.
    from django.core.cache import cache

    cache.clear()


def client_for(user: Any) -> APIClient:
    _token, raw = token_create(actor=Actor.system(), user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def api_root(root: Any) -> APIClient:
    return client_for(root)


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


def db_state() -> dict[str, Any]:
    """Row counts and the mutable state of keys, versions, tokens, grants and approvals;
    the versions' use counters apart, under "use_counts" (see `without_use_counts`).

    Audit events are left out on purpose: a refused request is audited by design.
    So is ApiToken.last_used_at (refreshed by any authenticated request).
    """
    from guardian.models import GroupObjectPermission, UserObjectPermission

    from kms.models import (
        ApiToken,
        Approval,
        ApprovalRequest,
        Key,
        KeyGroupObjectPermission,
        KeyUserObjectPermission,
        KeyVersion,
    )

    models = (
        Key,
        KeyVersion,
        ApiToken,
        ApprovalRequest,
        KeyUserObjectPermission,
        KeyGroupObjectPermission,
        UserObjectPermission,
        GroupObjectPermission,
    )
    return {
        "counts": {m.__name__: m.objects.count() for m in models},
        "keys": list(
            Key.objects.order_by("pk").values_list(
                "name",
                "state",
                "current_version",
                "min_encryption_version",
                "min_decryption_version",
                "exportable",
                "allow_deletion",
                "approvals_required",
                "description",
                "rotation_period",
                "next_rotation_at",
                "max_signatures_per_version",
                "deleted_at",
                "purge_after",
            )
        ),
        "versions": [
            (*row[:-1], bytes(row[-1]))
            for row in KeyVersion.objects.order_by("pk").values_list(
                "key_id", "version", "disabled_at", "destroyed_at", "wrapped_material"
            )
        ],
        "use_counts": list(
            KeyVersion.objects.order_by("pk").values_list(
                "pk", "encrypt_count", "decrypt_count", "sign_count", "verify_count"
            )
        ),
        "tokens": list(ApiToken.objects.order_by("pk").values_list("pk", "user_id", "expires_at", "revoked_at")),
        "approvals": list(ApprovalRequest.objects.order_by("pk").values_list("pk", "status", "decided_at")),
        "decisions": Approval.objects.count(),
        "grants": sorted(KeyUserObjectPermission.objects.values_list("user_id", "permission_id", "content_object_id"))
        + sorted(KeyGroupObjectPermission.objects.values_list("group_id", "permission_id", "content_object_id")),
    }


def without_use_counts(state: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in state.items() if name != "use_counts"}
