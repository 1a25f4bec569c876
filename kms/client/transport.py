"""HTTP for the client: one kept-alive connection (``http.client``), no dependency.

A :class:`Transport` sends one request and returns the raw answer; it knows nothing
of the API's JSON. :class:`HttpTransport` is the real one; tests pass a fake with
the same ``request`` method.
"""

from __future__ import annotations

import http.client
import ipaddress
import select
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

from kms.client.errors import ConnectionFailed, InsecureAddress

Body = bytes | BinaryIO | None

# Send file bodies in 1 MiB writes (http.client's default is 8 KiB).
_BLOCK_SIZE = 1024 * 1024
HOW_TO_FIX = "start it with `make run` or set EGIDE_ADDR"
# A kept-alive connection can be closed by the server between two requests. Before
# reusing one, a readable socket (EOF pending) is detected and replaced; if it closes
# anyway in that instant, only a request without side effects is sent again.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
_SAFE_TO_RESEND = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes


class Transport(Protocol):
    addr: str

    def request(self, method: str, path: str, *, body: Body, headers: Mapping[str, str]) -> Response:
        """Send one request (``path`` includes the query string) and return the answer."""
        ...

    def close(self) -> None: ...


class HttpTransport:
    """HTTP/1.1 to one server over one kept-alive connection; not thread-safe.

    ``addr`` is ``http(s)://host[:port][/prefix]``. Raises ConnectionFailed (with the
    address and how to fix it) when no answer is received. A request is resent once,
    on a fresh connection, only if a *reused* connection turns out to have been closed
    by the server, and only for GET (which changes nothing): the transport never does
    an action twice.
    """

    def __init__(self, addr: str, *, timeout: float = 30, ca_file: str | None = None, allow_http: bool = False) -> None:
        parts = urlsplit(addr)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
            raise ConnectionFailed(
                "connection_failed",
                f"invalid server address {addr!r}: expected http(s)://host:port; set EGIDE_ADDR",
            )
        if parts.scheme == "http" and not allow_http and not is_loopback(parts.hostname):
            raise InsecureAddress(
                "insecure_address",
                f"refusing plain http to {parts.hostname}: the token and the data would cross the "
                "network unencrypted; use https://, or set EGIDE_ALLOW_HTTP=1 (allow_http=True) "
                "if this network is trusted",
            )
        self.addr = addr
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = port
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._ca_file = ca_file
        self._conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, *, body: Body, headers: Mapping[str, str]) -> Response:
        for attempt in (1, 2):
            reused = self._conn is not None
            try:
                return self._send(method, path, body, headers)
            except _STALE as exc:
                if attempt == 2 or not reused or method not in _SAFE_TO_RESEND:
                    raise self._failure(_describe(exc)) from None
            except (OSError, http.client.HTTPException) as exc:
                raise self._failure(_describe(exc)) from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _send(self, method: str, path: str, body: Body, headers: Mapping[str, str]) -> Response:
        conn = self._connection()
        try:
            conn.request(method, self._prefix + path, body=body, headers=dict(headers))
            answer = conn.getresponse()
            data = answer.read()
        except BaseException:
            self.close()
            raise
        if answer.will_close:
            self.close()
        return Response(answer.status, _header_map(answer), data)

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is not None and _closed_by_peer(self._conn):
            self.close()
        if self._conn is None:
            if self._scheme == "https":
                context = ssl.create_default_context(cafile=self._ca_file)
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self._timeout, context=context,
                    blocksize=_BLOCK_SIZE,
                )  # fmt: skip
            else:
                self._conn = http.client.HTTPConnection(
                    self._host, self._port, timeout=self._timeout, blocksize=_BLOCK_SIZE
                )
        return self._conn

    def _failure(self, reason: str) -> ConnectionFailed:
        return ConnectionFailed(
            "connection_failed",
            f"cannot reach the Egide server at {self.addr} ({reason}); {HOW_TO_FIX}",
        )


def is_loopback(host: str) -> bool:
    """True for this machine only: localhost, 127.0.0.0/8, ::1 (by address, not DNS)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _closed_by_peer(conn: http.client.HTTPConnection) -> bool:
    """True if an idle connection's socket is readable: the server closed it (EOF)."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _header_map(answer: http.client.HTTPResponse) -> dict[str, str]:
    return {name.lower(): value for name, value in answer.getheaders()}


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    return str(exc) or type(exc).__name__
