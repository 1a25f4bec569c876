"""The one error table of the data plane: an error → status, code, message and headers.

Used by both transports through the pipeline, and by the control plane's DRF exception
handler (kms.api.errors), so an error looks the same whichever door it leaves by. A
server-side failure (a 5xx) is answered `503 unavailable` with Retry-After and logged;
its own message (which may name internals) is not sent.
"""

from __future__ import annotations

import logging
from typing import Any

from kms.dataplane.core import ItemError
from kms.dataplane.reply import Reply, json_reply
from kms.exceptions import error_code, error_message, error_status

log = logging.getLogger(__name__)
UNAUTHENTICATED_HEADERS = {"WWW-Authenticate": 'Bearer realm="egide"'}


def describe(exc: BaseException) -> tuple[int, str, str, dict[str, str]]:
    """(status, code, message, headers) of a typed error."""
    code, message, status = error_code(exc), error_message(exc), error_status(exc)
    headers: dict[str, str] = {}
    if status >= 500:
        log.error("server-side error %s: %s", code, message[:300])
        return 503, "unavailable", "the server cannot serve this request now; retry shortly", {"Retry-After": "1"}
    if status == 401:
        headers.update(UNAUTHENTICATED_HEADERS)
    extra = getattr(exc, "extra", {})
    if extra.get("retry_after"):
        headers["Retry-After"] = str(extra["retry_after"])
    if extra.get("allow"):
        headers["Allow"] = extra["allow"]
    return status, code, message, headers


def body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def reply(exc: BaseException, request_id: str) -> Reply:
    status, code, message, headers = describe(exc)
    return json_reply(body(code, message), status, request_id, headers)


def unavailable(message: str, request_id: str) -> Reply:
    return json_reply(body("unavailable", message), 503, request_id, {"Retry-After": "1"})


def item(error: ItemError) -> dict[str, Any]:
    """A batch item's error, in its place."""
    return body(error.code, error.message)
