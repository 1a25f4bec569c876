"""People: ``/v1/users`` (for those who manage users)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kms.client.base import BaseClient, compact, segment


class UserCalls(BaseClient):
    def list_users(self) -> list[dict[str, Any]]:
        """Every user: ``[{"username", "roles", "groups", "active", "last_login"}, ...]``.

        For those who manage users."""
        return self._call("GET", "/v1/users")

    def user(self, username: str) -> dict[str, Any]:
        """``{"user", "tokens", "recent_events"}``."""
        return self._call("GET", _user(username))

    def create_user(self, username: str, *, roles: Sequence[str] = (), email: str | None = None) -> dict[str, Any]:
        """``{"user", "one_time_password"}``: the password is shown this once."""
        if isinstance(roles, str):
            raise TypeError("roles must be a sequence of names, not one string")
        body = {"username": username, "roles": list(roles), **compact(email=email)}
        return self._call("POST", "/v1/users", body)

    def deactivate_user(self, username: str) -> dict[str, Any]:
        """``{"user", "tokens_revoked"}``: no more logins; every token revoked."""
        return self._call("POST", f"{_user(username)}/deactivate")

    def add_role(self, username: str, role: str) -> dict[str, Any]:
        """Put ``username`` in a role (kms-admin, kms-user, kms-approver, kms-auditor) or a group; return the user."""
        return self._call("POST", f"{_user(username)}/roles", {"role": role})

    def remove_role(self, username: str, role: str) -> dict[str, Any]:
        """Take ``username`` out of a role or a group; return the user."""
        return self._call("DELETE", f"{_user(username)}/roles", {"role": role})


def _user(username: str) -> str:
    return f"/v1/users/{segment(username)}"
