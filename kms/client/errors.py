"""The errors of the Egide client: one class per API error code, plus the client's own.

Every error is an :class:`EgideError` carrying the API's ``code``, a ``message`` a
person can act on, and the HTTP ``status`` (0 when no answer was received). The
server's messages never hold key material or plaintext; neither do ours.
"""

from __future__ import annotations

from typing import Any


class EgideError(Exception):
    """An error answered by the server (or detected by the client before sending)."""

    code = "error"

    def __init__(self, code: str, message: str, status: int = 0, *, request_id: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id


class InvalidRequest(EgideError):
    code = "invalid_request"


class InvalidKeyType(EgideError):
    code = "invalid_key_type"


class OperationNotAllowed(EgideError):
    code = "operation_not_allowed"


class InvalidCiphertext(EgideError):
    code = "invalid_ciphertext"


class InvalidSignature(EgideError):
    code = "invalid_signature"


class Unauthenticated(EgideError):
    code = "unauthenticated"


class PermissionDenied(EgideError):
    code = "permission_denied"


class ExportDisabled(EgideError):
    code = "export_disabled"


class KeyNotFound(EgideError):
    code = "key_not_found"


class NotFound(EgideError):
    """Something other than a key is missing (a token, an approval request, a path)."""

    code = "not_found"


class KeyExists(EgideError):
    code = "key_exists"


class KeyDisabled(EgideError):
    code = "key_disabled"


class KeyDeleted(EgideError):
    code = "key_deleted"


class KeyVersionUnavailable(EgideError):
    code = "key_version_unavailable"


class DeletionDisabled(EgideError):
    code = "deletion_disabled"


class Conflict(EgideError):
    code = "conflict"


class PayloadTooLarge(EgideError):
    code = "payload_too_large"


class Throttled(EgideError):
    code = "throttled"


class ServerError(EgideError):
    """The server failed (5xx) or answered something that is not the API's shape."""

    code = "server_error"


class ConnectionFailed(EgideError):
    """No answer from the server: not running, wrong address, network or TLS failure."""

    code = "connection_failed"


class InsecureAddress(ConnectionFailed):
    """An ``http://`` address of another machine: refused before anything is sent, since the
    token, the plaintexts and the data keys would cross the network in clear. Loopback
    (127.0.0.0/8, ::1, localhost) is allowed; elsewhere use https, or allow plain http
    explicitly (``allow_http=True``, EGIDE_ALLOW_HTTP=1) on a network you trust."""

    code = "insecure_address"


class NotLoggedIn(EgideError):
    """The client has no API token; nothing was sent."""

    code = "not_logged_in"

    def __init__(self) -> None:
        super().__init__(self.code, "no API token: run `egide login` or set EGIDE_TOKEN", 0)


class ApprovalPending(EgideError):
    """Not a failure: the action now waits for approvers; ``request`` describes it.

    Raised for a 202 answer carrying ``approval_request``: the action has NOT been done
    yet. It is an EgideError so that code expecting the action to be done stops there.
    """

    code = "approval_required"

    def __init__(self, request: dict[str, Any], *, request_id: str | None = None) -> None:
        required = request.get("required", "?")
        message = (
            f"{request.get('action', 'the action')} on key '{request.get('key', '?')}' "
            f"waits for {required} approval(s): request {request.get('id', '?')}"
        )
        super().__init__(self.code, message, 202, request_id=request_id)
        self.request = request


ERROR_CLASSES: dict[str, type[EgideError]] = {
    cls.code: cls
    for cls in (
        InvalidRequest,
        InvalidKeyType,
        OperationNotAllowed,
        InvalidCiphertext,
        InvalidSignature,
        Unauthenticated,
        PermissionDenied,
        ExportDisabled,
        KeyNotFound,
        NotFound,
        KeyExists,
        KeyDisabled,
        KeyDeleted,
        KeyVersionUnavailable,
        DeletionDisabled,
        Conflict,
        PayloadTooLarge,
        Throttled,
        ServerError,
    )
}
# Codes that name something missing other than a key.
for _code in ("token_not_found", "approval_not_found", "user_not_found", "group_not_found"):
    ERROR_CLASSES[_code] = NotFound
ERROR_CLASSES["unavailable"] = ServerError
ERROR_CLASSES["internal_error"] = ServerError


def error_for(code: str, message: str, status: int, *, request_id: str | None = None) -> EgideError:
    """The EgideError subclass for an API code (the base class for a code we do not know)."""
    cls = ERROR_CLASSES.get(code, EgideError)
    return cls(code, message, status, request_id=request_id)
