"""Who may do what: API tokens, approval requests, and per-key grants."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from kms.client.base import BaseClient, compact, segment


class AccessCalls(BaseClient):
    """``/v1/auth/tokens``, ``/v1/kms/approvals`` and ``/v1/kms/keys/<name>/grants``."""

    # --- tokens -----------------------------------------------------------------------

    def login(
        self,
        username: str,
        password: str,
        *,
        expires_in: int | None = None,
        name: str | None = None,
        scope_keys: Sequence[str] | None = None,
        scope_operations: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Create an API token with a password: ``{"token", "id", "prefix", "expires_at", ...}``.

        Sent without the client's token. The token is shown once: store it now. The
        client's own ``token`` is not changed (assign it if you want to use the new one).
        Without ``expires_in`` the server's default lifetime applies; ``scope_keys`` and
        ``scope_operations`` limit the token to those keys and permissions.
        """
        operations = list(scope_operations) if scope_operations else None
        body = compact(username=username, password=password, expires_in=expires_in, name=name,
                       scope_keys=list(scope_keys) if scope_keys else None,
                       scope_operations=operations)  # fmt: skip
        return self._call("POST", "/v1/auth/tokens", body, auth=False)

    def whoami(self) -> dict[str, Any]:
        """The caller: ``{"username", "superuser", "roles", "token"}`` (``token``: the API
        token's id, name, prefix, expires_at and scope; never the secret)."""
        return self._call("GET", "/v1/auth/self")

    def server_info(self) -> dict[str, Any]:
        """The server's entry points and versions: ``{"version", "server_version", ...}``
        (no token needed)."""
        return self._call("GET", "/v1/", auth=False)

    def list_tokens(self) -> list[dict[str, Any]]:
        """The caller's own tokens (never the secret itself)."""
        return self._call("GET", "/v1/auth/tokens")

    def revoke_token(self, token_id: int) -> None:
        """Revoke one of the caller's tokens (by id): it stops working at once."""
        self._call("DELETE", f"/v1/auth/tokens/{segment(int(token_id))}")

    # --- approvals ----------------------------------------------------------------------

    def list_approvals(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Approval requests visible to the caller, e.g. ``status="pending"``, ``key="k"``."""
        return self._pages("/v1/kms/approvals", compact(**filters))

    def approval(self, request_id: int) -> dict[str, Any]:
        """One approval request: ``{"id", "key", "action", "parameters", "status", "approvals", ...}``."""
        return self._call("GET", _approval(request_id))

    def approve(self, request_id: int) -> dict[str, Any]:
        """Approve; when enough approvals are in, the server runs the action at once."""
        return self._call("POST", f"{_approval(request_id)}/approve", {})

    def reject(self, request_id: int) -> dict[str, Any]:
        """Reject a pending request: it will not run. Return the request."""
        return self._call("POST", f"{_approval(request_id)}/reject", {})

    def cancel(self, request_id: int) -> dict[str, Any]:
        """Withdraw one's own pending request."""
        return self._call("POST", f"{_approval(request_id)}/cancel", {})

    # --- grants -------------------------------------------------------------------------

    def list_grants(self, name: str) -> Any:
        """Who holds which permissions on the key: ``[{"user" or "group", "permissions", "scope"}, ...]``."""
        return self._call("GET", _grants(name))

    def add_grant(
        self,
        name: str,
        *,
        permissions: Sequence[str],
        user: str | None = None,
        group: str | None = None,
    ) -> Any:
        """Grant ``permissions`` on a key to a user or a group (exactly one of them).

        May raise ApprovalPending: changing grants is a sensitive action.
        """
        return self._call("POST", _grants(name), _grant_body(user, group, permissions))

    def remove_grant(
        self,
        name: str,
        *,
        permissions: Sequence[str],
        user: str | None = None,
        group: str | None = None,
    ) -> Any:
        """Withdraw ``permissions`` on the key from a user or a group; ApprovalPending if the key needs approvals."""
        return self._call("DELETE", _grants(name), _grant_body(user, group, permissions))


def _grant_body(user: str | None, group: str | None, permissions: Sequence[str]) -> dict[str, Any]:
    if (user is None) == (group is None):
        raise ValueError("give exactly one of user or group")
    if isinstance(permissions, str):
        raise TypeError("permissions must be a sequence of names, not one string")
    return {**compact(user=user, group=group), "permissions": list(permissions)}


def _approval(request_id: int) -> str:
    return f"/v1/kms/approvals/{segment(int(request_id))}"


def _grants(name: str) -> str:
    return f"/v1/kms/keys/{segment(name)}/grants"
