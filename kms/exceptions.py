"""The one exception hierarchy of Egide's services.

Every error a user can cause is a `KmsError` (or a `kms.crypto` error, which
carries the same kind of `code`). Adapters map `code` to their own form: the
API through `STATUS_BY_CODE`, the pages to a message, the CLI to an exit code.
Messages are safe to show: no key material, no plaintext, no secrets.
"""

from __future__ import annotations

from typing import Any

from kms.crypto import errors as crypto_errors


class KmsError(Exception):
    code = "invalid_request"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class InvalidRequest(KmsError):
    code = "invalid_request"


class KeyNotFound(KmsError):
    code = "key_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"key '{name}' not found")


class KeyExists(KmsError):
    code = "key_exists"


class KeyDisabled(KmsError):
    code = "key_disabled"


class KeyDeleted(KmsError):
    code = "key_deleted"


class VersionNotUsable(KmsError):
    """A version that is retired, disabled, destroyed, or does not exist."""

    code = "key_version_unavailable"


class PermissionDenied(KmsError):
    code = "permission_denied"


class Unauthenticated(KmsError):
    code = "unauthenticated"


class ExportDisabled(KmsError):
    code = "export_disabled"


class DeletionDisabled(KmsError):
    code = "deletion_disabled"


class Conflict(KmsError):
    code = "conflict"


class GrantNotFound(KmsError):
    """Removing a per-key grant that does not exist: nothing would change."""

    code = "grant_not_found"


class ApprovalPending(KmsError):
    """The same request (requester, key, action, parameters) already waits for approvers."""

    code = "approval_pending"


class TooManyPendingApprovals(KmsError):
    code = "too_many_pending_approvals"


class PayloadTooLarge(KmsError):
    code = "payload_too_large"


class UnsupportedMediaType(KmsError):
    """A body in a media type the endpoint does not take (415, code invalid_request)."""

    code = "invalid_request"
    status = 415


class MethodNotAllowed(KmsError):
    code = "method_not_allowed"

    def __init__(self, method: str, allowed: list[str]) -> None:
        shown = method if method.isascii() and method.isalpha() and len(method) <= 10 else "this method"
        super().__init__(f'method "{shown}" not allowed', allow=", ".join(allowed))


class Throttled(KmsError):
    code = "throttled"

    def __init__(self, wait: int) -> None:
        super().__init__(f"too many requests; retry in {wait} s", retry_after=wait)


class LockedOut(KmsError):
    """Too many failed logins for this username from this address (kms.security)."""

    code = "locked_out"


class ApprovalNotFound(KmsError):
    code = "approval_not_found"


class ApprovalRequired(KmsError):
    """Not a failure: the action now waits for approvers. Carries the request."""

    code = "approval_required"

    def __init__(self, request: Any) -> None:
        super().__init__(f"this action on key '{request.key.name}' needs {request.required} approval(s)")
        self.request = request


# Re-exported so adapters catch one family.
OperationNotAllowed = crypto_errors.OperationNotAllowed
InvalidKeyType = crypto_errors.InvalidKeyType
InvalidCiphertext = crypto_errors.InvalidCiphertext
InvalidSignature = crypto_errors.InvalidSignature
CryptoInvalidRequest = crypto_errors.InvalidRequest
ERRORS = (KmsError, crypto_errors.CryptoError)

STATUS_BY_CODE: dict[str, int] = {
    "invalid_request": 400,
    "invalid_key_type": 400,
    "operation_not_allowed": 400,
    "invalid_ciphertext": 400,
    "invalid_signature": 400,
    "unauthenticated": 401,
    "permission_denied": 403,
    "export_disabled": 403,
    "key_not_found": 404,
    "approval_not_found": 404,
    "token_not_found": 404,
    "user_not_found": 404,
    "grant_not_found": 404,
    "approval_pending": 409,
    "too_many_pending_approvals": 429,
    "key_exists": 409,
    "key_disabled": 409,
    "key_deleted": 409,
    "key_version_unavailable": 409,
    "deletion_disabled": 409,
    "conflict": 409,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "locked_out": 429,
    "throttled": 429,
    "master_key_error": 500,
    "unavailable": 503,
}


def error_status(exc: BaseException) -> int:
    """The HTTP status of an error: its own (415), else its code's."""
    return getattr(exc, "status", None) or STATUS_BY_CODE.get(error_code(exc), 400)


def error_code(exc: BaseException) -> str:
    return getattr(exc, "code", "internal_error")


def error_message(exc: BaseException) -> str:
    return getattr(exc, "message", None) or str(exc)
