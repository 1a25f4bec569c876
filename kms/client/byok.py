"""Bring your own key, backup and restore (issue 15).

Material is wrapped here, on the caller's machine, with the server's wrapping public key
(CKM_RSA_AES_KEY_WRAP, kms.crypto.keywrap): it never travels in the clear.
"""

from __future__ import annotations

from typing import Any

from kms.client.base import BaseClient, b64, compact, segment


class ByokCalls(BaseClient):
    """``/v1/kms/wrapping-key``, ``.../import``, ``.../import-version``, ``.../backup``,
    ``/v1/kms/backups/restore``."""

    def wrapping_key(self) -> str:
        """The server's RSA-4096 import wrapping public key (PEM)."""
        return self._call("GET", "/v1/kms/wrapping-key")["public_key"]

    def rotate_wrapping_key(self) -> int:
        """A new wrapping key version (key administrators); returns its number."""
        return self._call("POST", "/v1/kms/wrapping-key/rotate", {})["version"]

    def wrap_material(self, material: bytes, wrapping_key: str | None = None) -> bytes:
        """``material`` (32 raw bytes for aes256, PKCS#8 DER otherwise) wrapped for the server,
        locally, with its wrapping key (fetched unless given)."""
        from kms.crypto import keywrap  # pyca/cryptography: needed only to import keys

        return keywrap.wrap(material, wrapping_key or self.wrapping_key())

    def import_key(
        self,
        name: str,
        type: str,  # noqa: A002 - the API's field name
        *,
        material: bytes | None = None,
        public_key: str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """A key from ``material`` (wrapped here before it is sent), or a verify-only key from
        ``public_key`` (PEM) alone. ``options``: the create options (description, exportable,
        allow_deletion, approvals_required, rotation_period, max_signatures_per_version,
        backup_allowed, allow_generated_rotation). Returns the key's info."""
        body = compact(type=type, public_key=public_key, **options)
        if material is not None:
            body["wrapped_material"] = b64(self.wrap_material(material))
        return self._call("POST", f"/v1/kms/keys/{segment(name)}/import", body)

    def import_version(self, name: str, *, material: bytes | None = None, public_key: str | None = None) -> int:
        """A new current version of an imported key; returns its number."""
        body = compact(public_key=public_key)
        if material is not None:
            body["wrapped_material"] = b64(self.wrap_material(material))
        return self._call("POST", f"/v1/kms/keys/{segment(name)}/import-version", body)["new_version"]

    def backup(self, name: str, *, to: str | None = None) -> str:
        """The key's backup bundle; ``to``: another Egide's wrapping public key (PEM), which
        needs an approval first (ApprovalPending until then, then it works once)."""
        return self._call("POST", f"/v1/kms/keys/{segment(name)}/backup", compact(to=to))["backup"]

    def restore_backup(self, name: str, backup: str) -> dict[str, Any]:
        """A new key named ``name`` from a backup bundle; returns its info."""
        return self._call("POST", "/v1/kms/backups/restore", {"name": name, "backup": backup})
