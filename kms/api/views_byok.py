"""Bring your own key, backup and restore (issue 15): thin views over kms.services.imports,
backups and wrapping_key. Material only ever arrives wrapped (or as a public key alone)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from kms.api import serializers as s
from kms.api.base import ApiView
from kms.api.schema import BODY_ERRORS, ERRORS, envelope
from kms.api.views_keys import PENDING  # one ApprovalPending component in the schema
from kms.services import backups, imports, wrapping_key

PEM_MAX = 16 * 1024
BACKUP_MAX = 4 * 1024 * 1024 - 1024  # within the JSON body limit


class WrappingKeyOut(serializers.Serializer):
    public_key = serializers.CharField(help_text="PEM SubjectPublicKeyInfo of Egide's RSA-4096 import key")


class WrappingKeyRotatedOut(serializers.Serializer):
    version = serializers.IntegerField()


class _Source(s.Strict):
    wrapped_material = s.Base64Field(required=False, help_text=(
        "base64 of CKM_RSA_AES_KEY_WRAP: RSA-OAEP-SHA256 of an ephemeral AES-256 key to the wrapping "
        "key, then AES-KWP (RFC 5649) of the material: 32 raw bytes (aes256) or PKCS#8 DER"))  # fmt: skip
    public_key = serializers.CharField(required=False, max_length=PEM_MAX, trim_whitespace=False,
                                       help_text="PEM SubjectPublicKeyInfo: a verify-only key")  # fmt: skip


class ImportIn(s.KeyCreateIn, _Source):
    pass


class ImportVersionIn(_Source):
    pass


class ImportedVersionOut(serializers.Serializer):
    name = serializers.CharField()
    new_version = serializers.IntegerField()


class BackupIn(s.Strict):
    to = serializers.CharField(required=False, max_length=PEM_MAX, trim_whitespace=False, help_text=(
        "another Egide's wrapping public key (PEM): the bundle can then be restored only there; "
        "absent: sealed to this Egide's master key"))  # fmt: skip


class BackupOut(serializers.Serializer):
    backup = serializers.CharField(help_text="egide-backup.v1.<header>.<sealed payload>")


class RestoreIn(s.Strict):
    name = serializers.CharField(max_length=128, trim_whitespace=False)
    backup = serializers.CharField(max_length=BACKUP_MAX, trim_whitespace=False)


class WrappingKeyView(ApiView):
    @extend_schema(operation_id="wrapping_key", responses={200: envelope(WrappingKeyOut, "WrappingKey"), **ERRORS})
    def get(self, request: Request) -> Response:
        return self.ok({"public_key": wrapping_key.wrapping_key_public(actor=self.actor)})


class WrappingKeyRotateView(ApiView):
    @extend_schema(operation_id="wrapping_key_rotate", request=s.Empty,
                   responses={200: envelope(WrappingKeyRotatedOut, "WrappingKeyRotated"), **BODY_ERRORS})  # fmt: skip
    def post(self, request: Request) -> Response:
        self.body(s.Empty)
        return self.ok({"version": wrapping_key.wrapping_key_rotate(actor=self.actor)})


class ImportView(ApiView):
    @extend_schema(operation_id="keys_import", request=ImportIn,
                   responses={201: envelope(s.KeyInfoOut, "KeyImported"), **BODY_ERRORS})  # fmt: skip
    def post(self, request: Request, name: str) -> Response:
        body = self.body(ImportIn)
        key = imports.key_import(actor=self.actor, name=name, key_type=body.pop("type"), **body)
        return self.ok(s.key_info_data(key), status=201)


class ImportVersionView(ApiView):
    @extend_schema(operation_id="keys_import_version", request=ImportVersionIn,
                   responses={200: envelope(ImportedVersionOut, "VersionImported"), **BODY_ERRORS})  # fmt: skip
    def post(self, request: Request, name: str) -> Response:
        kv = imports.key_import_version(actor=self.actor, name=name, **self.body(ImportVersionIn))
        return self.ok({"name": name, "new_version": kv.version})


class BackupView(ApiView):
    @extend_schema(operation_id="keys_backup", request=BackupIn,
                   responses={200: envelope(BackupOut, "Backup"), 202: PENDING, **BODY_ERRORS})  # fmt: skip
    def post(self, request: Request, name: str) -> Response:
        body = self.body(BackupIn)
        return self.ok({"backup": backups.key_backup(actor=self.actor, name=name, to=body.get("to"))})


class RestoreBackupView(ApiView):
    @extend_schema(operation_id="backups_restore", request=RestoreIn,
                   responses={201: envelope(s.KeyInfoOut, "KeyRestoredFromBackup"), **BODY_ERRORS})  # fmt: skip
    def post(self, request: Request) -> Response:
        body = self.body(RestoreIn)
        key = backups.backup_restore(actor=self.actor, name=body["name"], backup=body["backup"])
        return self.ok(s.key_info_data(key), status=201)
