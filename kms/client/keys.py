"""Key administration: create, list, read, change settings, rotate, lifecycle, versions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kms.client.base import BaseClient, compact, segment, unb64


class KeyCalls(BaseClient):
    """The ``/v1/kms/keys`` endpoints. Key info and summaries are returned as the API's dicts."""

    def create_key(
        self,
        name: str,
        type: str,  # noqa: A002 - the API's field name
        *,
        exportable: bool | None = None,
        allow_deletion: bool | None = None,
        description: str | None = None,
        rotation_period: str | None = None,
        max_signatures_per_version: int | None = None,
        approvals_required: int | None = None,
        backup_allowed: bool | None = None,
    ) -> dict[str, Any]:
        """Create a key; return its info. Options left as None take the server's default."""
        body = compact(
            type=type,
            exportable=exportable,
            backup_allowed=backup_allowed,
            allow_deletion=allow_deletion,
            description=description,
            rotation_period=rotation_period,
            max_signatures_per_version=max_signatures_per_version,
            approvals_required=approvals_required,
        )
        return self._call("POST", _key(name), body)

    def list_keys(
        self,
        *,
        type: str | None = None,  # noqa: A002 - the API's filter name
        status: str | None = None,
        name_prefix: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every key summary visible to the caller, following the cursor page by page."""
        query = compact(type=type, status=status, name_prefix=name_prefix, limit=page_size)
        return self._pages("/v1/kms/keys", query)

    def key_info(self, name: str) -> dict[str, Any]:
        """The key and its versions: ``{"name", "type", "current_version", "versions", "status", ...}``."""
        return self._call("GET", _key(name))

    def update_key(self, name: str, **changes: Any) -> dict[str, Any]:
        """Change settings (the API's field names); ApprovalPending if approval is needed."""
        return self._call("PATCH", _key(name), changes)

    def rotate(self, name: str) -> dict[str, Any]:
        """Add a new current version; return ``{"name", "new_version"}``."""
        return self._call("POST", f"{_key(name)}/rotate", {})

    def disable(self, name: str) -> dict[str, Any]:
        """Disable the key: it refuses every operation until enabled. ApprovalPending if approvals are needed."""
        return self._call("POST", f"{_key(name)}/disable", {})

    def enable(self, name: str) -> dict[str, Any]:
        """Enable a disabled key again."""
        return self._call("POST", f"{_key(name)}/enable", {})

    def restore(self, name: str) -> dict[str, Any]:
        """Bring back a deleted key before it is purged."""
        return self._call("POST", f"{_key(name)}/restore", {})

    def delete(self, name: str) -> None:
        """Soft-delete (recoverable with restore until purged); ApprovalPending if needed."""
        self._call("DELETE", _key(name))

    def disable_version(self, name: str, version: int) -> dict[str, Any]:
        """Refuse one version at once (e.g. compromised): ``{"version", "status"}``."""
        return self._call("POST", f"{_version(name, version)}/disable", {})

    def enable_version(self, name: str, version: int) -> dict[str, Any]:
        """Let a disabled version work again: ``{"version", "status"}``."""
        return self._call("POST", f"{_version(name, version)}/enable", {})

    def destroy_version(self, name: str, version: int) -> dict[str, Any]:
        """Schedule a retired version's destruction (wiped for good after the recovery
        window); return ``{"version", "status"}``."""
        return self._call("POST", f"{_version(name, version)}/destroy", {})

    def restore_version(self, name: str, version: int) -> dict[str, Any]:
        """Cancel a version's scheduled destruction; return ``{"version", "status"}``."""
        return self._call("POST", f"{_version(name, version)}/restore", {})

    def public_key(self, name: str, version: int | None = None) -> dict[str, Any]:
        """``{"name", "version", "status", "public_key"}`` with the PEM SubjectPublicKeyInfo
        (only of a version that still encrypts or verifies: active or decrypt-only)."""
        return self._call("GET", f"{_key(name)}/public", query=compact(version=version))

    def jwks(self, name: str) -> dict[str, Any]:
        """``{"keys": [JWK, ...]}``: the public keys of a signing key's working versions
        (ed25519, ecdsa, rsa), newest first; ``kid`` is ``<key uid>:<version>``."""
        return self._call("GET", f"{_key(name)}/jwks")

    def export(self, name: str) -> dict[str, Any]:
        """The key's material: ``{"name", "type", "versions": [{"version", "material"}]}``.

        ``material`` is returned as bytes (decoded from the API's base64). Handle with
        care: this is the secret key itself.
        """
        data = self._call("POST", f"{_key(name)}/export", {})
        for item in data.get("versions", []):
            item["material"] = unb64(item.get("material"), "key material")
        return data


def _key(name: str) -> str:
    return f"/v1/kms/keys/{segment(name)}"


def _version(name: str, version: int) -> str:
    return f"{_key(name)}/versions/{segment(int(version))}"
