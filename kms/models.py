"""Egide's tables: keys and their versions, the audit trail, API tokens, approvals.

Models hold fields, choices, cheap derived properties and database constraints.
Every change of state goes through `kms.services`; nothing here writes.
Key material is stored only wrapped under the master key (`KeyVersion.wrapped_material`).
"""

from __future__ import annotations

import hashlib
import json
import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from kms.crypto import KEY_TYPES
from kms.rules import version_status

KEY_TYPE_CHOICES = [(name, name) for name in KEY_TYPES]

# Per-key permission names, as the API and the grants editor spell them.
# The Django codename is "<name>_key" (view_key and delete_key are Django's defaults).
KEY_PERMISSIONS = (
    "view", "encrypt", "decrypt", "sign", "verify", "hmac", "decapsulate", "derive", "rotate",
    "manage", "delete", "export", "grant", "approve", "backup",
)  # fmt: skip


class KeyState(models.TextChoices):
    ACTIVE = "active"
    DISABLED = "disabled"
    DELETED = "deleted"  # soft-deleted: restorable until purge_after
    PURGED = "purged"  # material wiped; the row is a tombstone for the audit trail


class KeyOrigin(models.TextChoices):
    GENERATED = "generated"  # made by Egide
    IMPORTED = "imported"  # brought in (wrapped material, or a public key alone): kms.services.imports


class VersionStatus(models.TextChoices):
    ACTIVE = "active"
    DECRYPT_ONLY = "decrypt-only"
    RETIRED = "retired"
    DISABLED = "disabled"
    DESTROYED = "destroyed"


class Key(models.Model):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # bound into every AAD
    name = models.CharField(max_length=128)
    # The key space: "" is Egide's native space (the Transit mount `transit` too); another
    # Transit mount's keys carry its namespace (kms.transit.models.TransitMount.namespace).
    namespace = models.CharField(max_length=40, blank=True, default="", editable=False)
    key_type = models.CharField(max_length=16, choices=KEY_TYPE_CHOICES)
    description = models.TextField(blank=True, default="")
    state = models.CharField(max_length=16, choices=KeyState.choices, default=KeyState.ACTIVE)
    current_version = models.PositiveIntegerField(default=1)
    min_encryption_version = models.PositiveIntegerField(default=0)  # 0: only the current one
    min_decryption_version = models.PositiveIntegerField(default=1)
    exportable = models.BooleanField(default=False)  # once on, never off again
    allow_deletion = models.BooleanField(default=True)
    approvals_required = models.PositiveSmallIntegerField(default=0)
    rotation_period = models.DurationField(null=True, blank=True)
    next_rotation_at = models.DateTimeField(null=True, blank=True)
    max_signatures_per_version = models.PositiveBigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_rotated_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    purge_after = models.DateTimeField(null=True, blank=True)
    state_before_delete = models.CharField(max_length=16, blank=True, default="")  # restore returns to it
    # The identity bound into ciphertexts' associated data (kms.crypto.aad); None: `uid`. A key
    # restored from a backup keeps its first identity here, whatever its row and name.
    aad_uid = models.UUIDField(null=True, blank=True, editable=False)
    origin = models.CharField(max_length=16, choices=KeyOrigin.choices, default=KeyOrigin.GENERATED)
    imported_at = models.DateTimeField(null=True, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    imported_by_name = models.CharField(max_length=150, blank=True, default="")  # kept if the user goes
    verify_only = models.BooleanField(default=False)  # public keys alone: no private material at all
    # An imported key rotates by importing a new version; generated rotation only if this says so.
    allow_generated_rotation = models.BooleanField(default=False)
    backup_allowed = models.BooleanField(default=False)  # once on, never off again (like exportable)

    class Meta:
        ordering = ["name"]
        default_permissions = ("add", "view", "delete")
        permissions = [
            (f"{name}_key", f"Can {name} with or on the key")
            for name in KEY_PERMISSIONS
            if name not in ("view", "delete")
        ]
        constraints = [
            # A purged key keeps its row (tombstone) but frees its name. Names are unique
            # regardless of case: "payments" and "PAYMENTS" cannot both be live keys, within
            # one key space (namespace: a Transit mount's keys are their own space).
            models.UniqueConstraint(
                "namespace",
                Lower("name"),
                condition=~models.Q(state="purged"),
                name="key_namespace_name_ci_unique_live",
            ),
            models.CheckConstraint(condition=models.Q(current_version__gte=1), name="key_current_version_positive"),
        ]
        indexes = [
            models.Index(fields=["state", "next_rotation_at"]),
            models.Index(fields=["namespace", "name"], name="key_namespace_name"),  # the data plane's lookup
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def aad_identity(self) -> uuid.UUID:
        """The uid its ciphertexts are bound to (kms.crypto.aad): its own, unless restored."""
        return self.aad_uid or self.uid


class KeyVersion(models.Model):
    key = models.ForeignKey(Key, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    # AES-256-GCM(master key, material, aad = key uid + version); empty once destroyed.
    wrapped_material = models.BinaryField(editable=False)
    master_key_id = models.CharField(max_length=32, editable=False)
    public_key_pem = models.TextField(blank=True, default="")  # not secret
    created_at = models.DateTimeField(auto_now_add=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True, db_index=True)  # eviction: destroyed since
    # Destruction asked for (and approved): the material is wiped at this time, unless the
    # destruction is cancelled first (the recovery window, as for a key's deletion).
    destroy_after = models.DateTimeField(null=True, blank=True)
    encrypt_count = models.PositiveBigIntegerField(default=0)
    decrypt_count = models.PositiveBigIntegerField(default=0)
    sign_count = models.PositiveBigIntegerField(default=0)
    verify_count = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["key", "version"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="key_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key.name} v{self.version}"

    def __repr__(self) -> str:  # never the material, not even wrapped
        return f"<KeyVersion {self.key_id}:v{self.version}>"

    def status_in(self, key: Key) -> str:
        """The derived status (rules.version_status), given the key's current settings."""
        return version_status(
            version=self.version,
            current_version=key.current_version,
            min_decryption_version=key.min_decryption_version,
            disabled=self.disabled_at is not None,
            destroyed=self.destroyed_at is not None,
        )

    @property
    def status(self) -> str:
        return self.status_in(self.key)


class KeyUserObjectPermission(UserObjectPermissionBase):
    """Direct-FK guardian table: per-key grants join in one indexed query."""

    content_object = models.ForeignKey(Key, on_delete=models.CASCADE)


class KeyGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Key, on_delete=models.CASCADE)


class AuditEvent(models.Model):
    """One row per operation, success or not; append-only and HMAC-chained.

    `seq` is contiguous (assigned under the chain-head lock); `chain_hash` is
    HMAC(chain key, previous chain_hash ‖ canonical content). `details` never
    holds plaintext or key material.
    """

    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField(db_index=True)
    # No database constraint and no cascade: the id is part of the chained content, so
    # deleting a user must not rewrite (or block) their events; actor_name keeps the name.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # (actor, -seq) below serves every lookup by actor
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True, default="")
    auth_method = models.CharField(max_length=16, blank=True, default="")  # session, token, system
    token_id = models.CharField(max_length=32, blank=True, default="")
    source = models.CharField(max_length=16)  # api, web, cli, admin, system
    action = models.CharField(max_length=32)
    key_name = models.CharField(max_length=128, blank=True, default="")
    key_uid = models.CharField(max_length=36, blank=True, default="")
    key_version = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16)  # success, denied, error
    error_code = models.CharField(max_length=32, blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")
    client_addr = models.CharField(max_length=64, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    chain_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        default_permissions = ("view",)
        # Every event pays for every index when it is shipped (about 3 µs each on PostgreSQL):
        # one per way the log is searched (kms.services.audit_log: newest first, by key, actor
        # or action; `at` for since/until), none that another covers, no LIKE (_like) indexes.
        indexes = [
            models.Index(fields=["key_name", "-seq"]),
            models.Index(fields=["actor", "-seq"]),
            models.Index(fields=["action", "-seq"], name="kms_audit_action_seq"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.key_name} {self.outcome}"


class AuditChainHead(models.Model):
    """The single row writers lock to append to the chain: next seq, last hash, chain key.

    The chain key is a random secret wrapped under the master key (never stored plain).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    chain_hash = models.CharField(max_length=64)
    wrapped_key = models.BinaryField(default=b"", editable=False)
    master_key_id = models.CharField(max_length=32, blank=True, default="", editable=False)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"audit chain head at #{self.seq}"


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 hash is stored. The full token is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, default="")
    prefix = models.CharField(max_length=16, db_index=True)  # shown in lists, not secret
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Optional scope (kms.services.tokens.scope_permits): key names and permission names
    # this token may use; an empty list means no limit on that axis.
    scope_keys = models.JSONField(default=list, blank=True)
    scope_operations = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        default_permissions = ("view", "delete")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"  # quorum reached; the requester may now perform it once (export)
    EXECUTED = "executed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FAILED = "failed"  # approved, but the action could not run (e.g. the key changed meanwhile)


def approval_fingerprint(action: str, parameters: dict) -> str:
    """What makes two approval requests the same: the action and its parameters."""
    canonical = json.dumps({"action": action, "parameters": parameters}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class ApprovalRequest(models.Model):
    key = models.ForeignKey(Key, on_delete=models.CASCADE, related_name="approval_requests")
    action = models.CharField(max_length=32)
    parameters = models.JSONField(default=dict, blank=True)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="approval_requests")
    required = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=ApprovalStatus.choices, default="pending")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    # SHA-256 of the action and its parameters: one pending request per (requester, key, it).
    fingerprint = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["status", "expires_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["requester", "key", "fingerprint"],
                condition=models.Q(status="pending"),
                name="one_pending_request_per_action",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.key.name} ({self.status})"


class Approval(models.Model):
    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="approvals")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    decision = models.CharField(max_length=8)  # approve, reject
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["request", "approver"], name="one_decision_per_approver"),
        ]

    def __str__(self) -> str:
        return f"{self.decision} of request #{self.request_id} by user #{self.approver_id}"


class StateGeneration(models.Model):
    """A counter bumped in the transaction of every change the data plane caches.

    Data-plane processes cache token, key, version and grant state and drop it all
    when this number moves (kms/dataplane/state.py). One row, id 1.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    n = models.PositiveBigIntegerField(default=0)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"state generation {self.n}"


class AuditSpoolOffset(models.Model):
    """How far each node's audit spool file has been shipped into the audit table."""

    name = models.CharField(max_length=255, unique=True)
    offset = models.PositiveBigIntegerField(default=0)
    shipped_events = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.name} shipped up to byte {self.offset}"


from kms.transit.models import TransitMount  # noqa: E402, F401 - registered with the kms app
