"""The core of the client: building requests, reading the API's envelope, raising errors."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from typing import Any, Self
from urllib.parse import quote, urlencode

from kms.client.errors import (
    ApprovalPending,
    EgideError,
    InvalidRequest,
    NotLoggedIn,
    ServerError,
    error_for,
)
from kms.client.transport import Body, HttpTransport, Response, Transport

USER_AGENT = "egide-client/0.1"


def b64(data: bytes) -> str:
    """Standard base64 with padding, as the API takes binary values."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: object, what: str) -> bytes:
    """Decode the server's base64; ServerError if it is not valid base64."""
    if not isinstance(text, str):
        raise ServerError("server_error", f"the server's {what} is not base64 text", 200)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ServerError("server_error", f"the server's {what} is not valid base64", 200) from None


def segment(value: str | int) -> str:
    """One path segment, percent-encoded; InvalidRequest (nothing sent) if it cannot be one.

    A '/' (even encoded, servers decode it before routing), '.', '..' or '' would address
    another resource, so such names are refused here with a message, not sent.
    """
    text = str(value)
    if not text or "/" in text or text in (".", ".."):
        raise InvalidRequest("invalid_request", f"invalid name {text!r}: it cannot contain '/'")
    return quote(text, safe="")


def compact(**fields: Any) -> dict[str, Any]:
    """The fields that were given: None means 'not sent' (the API refuses unknown nulls)."""
    return {name: value for name, value in fields.items() if value is not None}


class BaseClient:
    """Sends requests to one Egide server and unwraps ``{"data": ...}``.

    Every call either returns the answer's data or raises an EgideError subclass:
    the one for the API's error code, ConnectionFailed when the server cannot be
    reached, NotLoggedIn when no token is set (nothing is sent then), ServerError for
    a 5xx or an answer that is not the API's JSON, and ApprovalPending for a 202 that
    carries an approval request (the action waits for approvers and is not done).
    Not thread-safe: use one client per thread.
    """

    def __init__(
        self,
        addr: str,
        token: str | None,
        *,
        timeout: float = 30,
        client_name: str | None = None,
        ca_file: str | None = None,
        allow_http: bool = False,
        transport: Transport | None = None,
    ) -> None:
        """``addr``: ``https://host:port`` (``http://`` only to this machine unless
        ``allow_http``: InsecureAddress otherwise, nothing sent); ``token``: an API token
        (None: only :meth:`login` works); ``ca_file``: a CA bundle for a private CA."""
        self.addr = addr.rstrip("/")
        self.token = token
        self.client_name = client_name
        self._transport = transport or HttpTransport(self.addr, timeout=timeout, ca_file=ca_file, allow_http=allow_http)

    def close(self) -> None:
        """Close the kept-alive connection (also done by ``with EgideClient(...)``)."""
        self._transport.close()

    def __enter__(self) -> Self:
        """``with EgideClient(...) as client:`` closes the connection at the end."""
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- requests -----------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        query: Mapping[str, Any] | None = None,
        auth: bool = True,
    ) -> Any:
        """Send a JSON request and return the answer's ``data`` (None for 204)."""
        payload = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        return self._data(self._send(method, path, payload, headers, query, auth))

    def _call_raw(self, method: str, path: str, body: Body, length: int, query: Mapping[str, Any]) -> Any:
        """Send ``length`` bytes of ``body`` as application/octet-stream; return ``data``."""
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(length)}
        return self._data(self._send(method, path, body, headers, query, True))

    def _pages(self, path: str, query: Mapping[str, Any]) -> Iterator[Any]:
        """Every item of a cursor-paginated list, fetching pages as they are consumed."""
        params = dict(query)
        while True:
            answer = self._send("GET", path, None, {}, params, True)
            document = self._envelope(answer) or {}
            items = document.get("data")
            if not isinstance(items, list):
                raise self._bad_shape(answer, "a list")
            yield from items
            cursor = document.get("next_cursor")
            if not cursor:
                return
            params["cursor"] = cursor

    def _send(
        self,
        method: str,
        path: str,
        body: Body,
        headers: dict[str, str],
        query: Mapping[str, Any] | None,
        auth: bool,
    ) -> Response:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **headers}
        if auth:
            if not self.token:
                raise NotLoggedIn()
            headers["Authorization"] = f"Bearer {self.token}"
        if self.client_name:
            headers["X-Egide-Client"] = self.client_name
        if query:
            path = f"{path}?{urlencode(compact(**query))}"
        return self._transport.request(method, path, body=body, headers=headers)

    # --- answers ------------------------------------------------------------------

    def _data(self, answer: Response) -> Any:
        """The answer's ``data`` (None for 204), or the error it carries, raised."""
        document = self._envelope(answer)
        return None if document is None else document["data"]

    def _envelope(self, answer: Response) -> dict[str, Any] | None:
        """The whole answer document of a success (None for 204); raises otherwise."""
        if answer.status == 204:
            return None
        document = self._json(answer)
        request_id = answer.headers.get("x-request-id")
        if not 200 <= answer.status < 300:
            raise self._error(answer, document, request_id)
        if "data" not in document:
            raise self._bad_shape(answer, 'an object with "data"')
        data = document["data"]
        if answer.status == 202 and isinstance(data, dict) and "approval_request" in data:
            raise ApprovalPending(data["approval_request"], request_id=request_id)
        return document

    def _json(self, answer: Response) -> dict[str, Any]:
        try:
            document = json.loads(answer.body)
        except (ValueError, UnicodeDecodeError):
            document = None
        if not isinstance(document, dict):
            raise self._not_api(answer)
        return document

    def _error(self, answer: Response, document: dict[str, Any], rid: str | None) -> EgideError:
        error = document.get("error")
        if not isinstance(error, dict) or not isinstance(error.get("code"), str):
            return self._bad_shape(answer, 'an object with "error"')
        message = str(error.get("message") or error["code"])
        if answer.status >= 500 and rid:
            message = f"{message} (request id {rid})"
        return error_for(error["code"], message, answer.status, request_id=rid)

    def _not_api(self, answer: Response) -> EgideError:
        if answer.status == 404:
            return error_for(
                "not_found",
                f"the server at {self.addr} has no such API path (HTTP 404): "
                "is EGIDE_ADDR an Egide server of this version?",
                404,
            )
        rid = answer.headers.get("x-request-id")
        message = f"the server at {self.addr} answered HTTP {answer.status} without the API's JSON"
        if rid:
            message += f" (request id {rid})"
        return ServerError("server_error", message, answer.status, request_id=rid)

    def _bad_shape(self, answer: Response, expected: str) -> ServerError:
        return ServerError(
            "server_error",
            f"unexpected answer from the server (HTTP {answer.status}): expected {expected}",
            answer.status,
            request_id=answer.headers.get("x-request-id"),
        )
