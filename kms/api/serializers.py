"""Input and output shapes of the API.

Inputs refuse unknown fields (a parameter that would be silently ignored is a
security bug). Outputs list their fields explicitly, so nothing secret leaves by
accident: no serializer here has a field for wrapped or plaintext key material,
except `ExportSerializer`, used only by the export endpoint.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kms.crypto import KEY_TYPES
from kms.dataplane.parse import MAX_ITEM_BYTES
from kms.durations import format_duration, parse_duration
from kms.models import ApiToken, ApprovalRequest, Key, KeyVersion
from kms.services.keys import version_list


@extend_schema_field(OpenApiTypes.BYTE)
class Base64Field(serializers.Field):
    """Standard base64 with padding, strictly validated; yields bytes ("" is b"").

    Not a CharField: DRF's blank-string handling would turn "" into a str, not bytes.
    """

    default_error_messages = {
        "invalid_base64": "must be standard base64 (A-Z a-z 0-9 + / with = padding)",
        "too_large": f"is larger than {MAX_ITEM_BYTES} bytes",
    }

    def to_internal_value(self, data: Any) -> bytes:
        if not isinstance(data, str):
            self.fail("invalid_base64")
        if len(data) > (MAX_ITEM_BYTES * 4) // 3 + 4:
            self.fail("too_large")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            self.fail("invalid_base64")
        if len(raw) > MAX_ITEM_BYTES:
            self.fail("too_large")
        return raw

    def to_representation(self, value: bytes) -> str:
        return base64.b64encode(value).decode()


class StrictBooleanField(serializers.BooleanField):
    """true or false only (DRF's default also accepts "yes", 1, "on"...)."""

    def to_internal_value(self, data: Any) -> bool:
        if data is True or data is False:
            return data
        self.fail("invalid", input=data)


class Strict(serializers.Serializer):
    """Refuses fields it does not know."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["expected a JSON object"]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({unknown[0]: ["unknown field"]})
        for name, value in data.items():
            _check_json_type(name, self.fields[name], value)
        return super().to_internal_value(data)


def _check_json_type(name: str, field: serializers.Field, value: Any) -> None:
    """No coercion: DRF would take 5 for a text field and "5" or 5.0 for a number."""
    if value is None:
        return
    if isinstance(value, str) and not _is_utf8(value):
        # A lone surrogate ("\ud800" in JSON) cannot be stored, rendered back or compared.
        raise serializers.ValidationError({name: ["must be valid Unicode text"]})
    if isinstance(field, serializers.CharField) and not isinstance(value, str):
        raise serializers.ValidationError({name: ["must be a string"]})
    if isinstance(field, serializers.IntegerField) and (isinstance(value, bool) or not isinstance(value, int)):
        raise serializers.ValidationError({name: ["must be a whole number"]})


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class DurationText(serializers.CharField):
    """'90d', '12h', '30m', '1w' → timedelta (kms.durations.parse_duration)."""

    def to_internal_value(self, data: Any) -> Any:
        if data is None:
            return None
        if not isinstance(data, str):
            raise serializers.ValidationError("must be a duration such as '90d' or '12h'")
        return parse_duration(data)


# --- inputs --------------------------------------------------------------------------


class KeyCreateIn(Strict):
    # Checked by the service against the one registry (invalid_key_type names the valid ones).
    type = serializers.CharField(
        max_length=32,
        trim_whitespace=False,  # "aes256 " is not a type
        help_text=f"one of: {', '.join(KEY_TYPES)}",
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    exportable = StrictBooleanField(required=False)
    allow_deletion = StrictBooleanField(required=False)
    approvals_required = serializers.IntegerField(required=False, min_value=0, max_value=10)
    rotation_period = DurationText(required=False, allow_null=True)
    max_signatures_per_version = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    backup_allowed = StrictBooleanField(required=False)  # one-way, like exportable
    allow_generated_rotation = StrictBooleanField(required=False)  # imported keys: rotate by generation too


class KeyUpdateIn(Strict):
    description = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    exportable = StrictBooleanField(required=False)
    allow_deletion = StrictBooleanField(required=False)
    approvals_required = serializers.IntegerField(required=False, min_value=0, max_value=10)
    rotation_period = DurationText(required=False, allow_null=True)
    max_signatures_per_version = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    min_encryption_version = serializers.IntegerField(required=False, min_value=0)
    min_decryption_version = serializers.IntegerField(required=False, min_value=1)
    backup_allowed = StrictBooleanField(required=False)
    allow_generated_rotation = StrictBooleanField(required=False)


class Empty(Strict):
    pass


class TokenCreateIn(Strict):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=1024, trim_whitespace=False)
    # The bound keeps timedelta(seconds=...) from overflowing; token_create says the real range.
    expires_in = serializers.IntegerField(required=False, allow_null=True, min_value=60, max_value=2**40)
    name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    # Optional scope: only these keys and/or only these permissions (kms.services.tokens).
    scope_keys = serializers.ListField(child=serializers.CharField(max_length=128), required=False,
                                       max_length=100)  # fmt: skip
    scope_operations = serializers.ListField(child=serializers.CharField(max_length=16),
                                             required=False, max_length=20)  # fmt: skip


# --- outputs -------------------------------------------------------------------------


def _ts(value: Any) -> str | None:
    if value is None:
        return None
    if value.utcoffset() is None:  # naive: printed as it is
        return value.astimezone().strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(value: Any) -> str | None:
    if value is None:
        return None
    return format_duration(value)


class VersionOut(serializers.Serializer):
    version = serializers.IntegerField()
    created_at = serializers.CharField()
    status = serializers.CharField()
    encrypt_count = serializers.IntegerField()
    decrypt_count = serializers.IntegerField()
    sign_count = serializers.IntegerField()
    verify_count = serializers.IntegerField()
    destroy_after = serializers.CharField(allow_null=True)  # a scheduled destruction


def version_data(key: Key, kv: KeyVersion) -> dict[str, Any]:
    return {
        "version": kv.version,
        "created_at": _ts(kv.created_at),
        "status": kv.status_in(key),
        "encrypt_count": kv.encrypt_count,
        "decrypt_count": kv.decrypt_count,
        "sign_count": kv.sign_count,
        "verify_count": kv.verify_count,
        "destroy_after": _ts(kv.destroy_after),
    }


class KeySummaryOut(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    current_version = serializers.IntegerField()
    status = serializers.CharField()
    created_at = serializers.CharField()
    last_rotated_at = serializers.CharField(allow_null=True)
    next_rotation_at = serializers.CharField(allow_null=True)
    rotation_overdue = serializers.BooleanField()
    origin = serializers.CharField()  # generated or imported (issue 15)
    verify_only = serializers.BooleanField()


def key_summary_data(row: dict[str, Any]) -> dict[str, Any]:
    """A row of kms.services.selectors.keys_list (its SUMMARY_COLUMNS) as KeySummaryOut."""
    return {
        "name": row["name"],
        "type": row["key_type"],
        "current_version": row["current_version"],
        "status": row["state"],
        "created_at": _ts(row["created_at"]),
        "last_rotated_at": _ts(row["last_rotated_at"]),
        "next_rotation_at": _ts(row["next_rotation_at"]),
        # Due now by period, signature cap or AES usage (kms.services.rotation decides).
        "rotation_overdue": row["rotation_due_reason"] is not None,
        "origin": row["origin"],
        "verify_only": row["verify_only"],
    }


class KeyInfoOut(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    current_version = serializers.IntegerField()
    versions = VersionOut(many=True)
    created_at = serializers.CharField()
    updated_at = serializers.CharField()
    status = serializers.CharField()
    description = serializers.CharField()
    exportable = serializers.BooleanField()
    allow_deletion = serializers.BooleanField()
    min_encryption_version = serializers.IntegerField()
    min_decryption_version = serializers.IntegerField()
    approvals_required = serializers.IntegerField()
    rotation_period = serializers.CharField(allow_null=True)
    next_rotation_at = serializers.CharField(allow_null=True)
    last_rotated_at = serializers.CharField(allow_null=True)
    max_signatures_per_version = serializers.IntegerField(allow_null=True)
    deleted_at = serializers.CharField(allow_null=True)
    purge_after = serializers.CharField(allow_null=True)
    origin = serializers.CharField()  # generated or imported
    imported_at = serializers.CharField(allow_null=True)
    imported_by = serializers.CharField(allow_null=True)
    verify_only = serializers.BooleanField()  # a public key alone: verify (RSA: encrypt) only
    allow_generated_rotation = serializers.BooleanField()
    backup_allowed = serializers.BooleanField()


def key_info_data(key: Key) -> dict[str, Any]:
    versions = getattr(key, "version_list", None) or version_list(key)
    return {
        "name": key.name,
        "type": key.key_type,
        "current_version": key.current_version,
        "versions": [version_data(key, kv) for kv in versions],
        "created_at": _ts(key.created_at),
        "updated_at": _ts(key.updated_at),
        "status": key.state,
        "description": key.description,
        "exportable": key.exportable,
        "allow_deletion": key.allow_deletion,
        "min_encryption_version": key.min_encryption_version,
        "min_decryption_version": key.min_decryption_version,
        "approvals_required": key.approvals_required,
        "rotation_period": _duration(key.rotation_period),
        "next_rotation_at": _ts(key.next_rotation_at),
        "last_rotated_at": _ts(key.last_rotated_at),
        "max_signatures_per_version": key.max_signatures_per_version,
        "deleted_at": _ts(key.deleted_at),
        "purge_after": _ts(key.purge_after),
        "origin": key.origin,
        "imported_at": _ts(key.imported_at),
        "imported_by": key.imported_by_name or None,
        "verify_only": key.verify_only,
        "allow_generated_rotation": key.allow_generated_rotation,
        "backup_allowed": key.backup_allowed,
    }


class TokenOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    created_at = serializers.CharField()
    expires_at = serializers.CharField(allow_null=True)
    last_used_at = serializers.CharField(allow_null=True)
    revoked_at = serializers.CharField(allow_null=True)
    scope_keys = serializers.ListField(child=serializers.CharField())
    scope_operations = serializers.ListField(child=serializers.CharField())


class SelfOut(serializers.Serializer):
    username = serializers.CharField()
    superuser = serializers.BooleanField()
    roles = serializers.ListField(child=serializers.CharField())
    token = TokenOut(allow_null=True)


def token_data(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": _ts(token.created_at),
        "expires_at": _ts(token.expires_at),
        "last_used_at": _ts(token.last_used_at),
        "revoked_at": _ts(token.revoked_at),
        "scope_keys": list(token.scope_keys),
        "scope_operations": list(token.scope_operations),
    }


class ApprovalRequestOut(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    action = serializers.CharField()
    parameters = serializers.DictField()
    status = serializers.CharField()
    requester = serializers.CharField()
    required = serializers.IntegerField()
    approvals = serializers.ListField(child=serializers.CharField())
    rejected_by = serializers.CharField(allow_null=True)
    created_at = serializers.CharField()
    expires_at = serializers.CharField()
    decided_at = serializers.CharField(allow_null=True)
    result = serializers.DictField()


def approval_request_data(req: ApprovalRequest) -> dict[str, Any]:
    decisions = list(req.approvals.select_related("approver").order_by("at"))
    rejected = [d.approver.get_username() for d in decisions if d.decision == "reject"]
    return {
        "id": req.pk,
        "key": req.key.name,
        "action": req.action,
        "parameters": req.parameters,
        "status": req.status,
        "requester": req.requester.get_username(),
        "required": req.required,
        "approvals": [d.approver.get_username() for d in decisions if d.decision == "approve"],
        "rejected_by": rejected[0] if rejected else None,
        "created_at": _ts(req.created_at),
        "expires_at": _ts(req.expires_at),
        "decided_at": _ts(req.decided_at),
        "result": req.result,
    }


# --- small outputs (documented in the schema; rendered from plain dicts) -------------


class ErrorBody(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorOut(serializers.Serializer):
    error = ErrorBody()


class ApprovalPendingOut(serializers.Serializer):
    approval_request = ApprovalRequestOut()


class RotateOut(serializers.Serializer):
    name = serializers.CharField()
    new_version = serializers.IntegerField()


class VersionStatusOut(serializers.Serializer):
    version = serializers.IntegerField()
    status = serializers.CharField()


class PublicKeyOut(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.IntegerField()
    status = serializers.CharField()  # active or decrypt-only: no other version's key is served
    public_key = serializers.CharField()


class ExportedVersion(serializers.Serializer):
    version = serializers.IntegerField()
    material = serializers.CharField()


class ExportOut(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    versions = ExportedVersion(many=True)


class ItemErrorOut(serializers.Serializer):
    error = ErrorBody()


class TokenCreatedOut(serializers.Serializer):
    token = serializers.CharField()
    id = serializers.IntegerField()
    prefix = serializers.CharField()
    expires_at = serializers.CharField(allow_null=True)
    scope_keys = serializers.ListField(child=serializers.CharField())
    scope_operations = serializers.ListField(child=serializers.CharField())
