"""The RSGI transport: data-plane cache hits answered on granian's event loop, the rest in threads.

`Lane(wsgi_app)` is an RSGI application (granian `--interface rsgi`, egide_site.rsgi). A
request the WSGI fast lane would take (kms.dataplane.wsgi: `POST /v1/kms/<operation>/<name>`
with a bearer token) is first answered right on the event loop by the one pipeline in its
no-database mode (`serve(..., database=False)`): the state, token, key, version and
permission snapshots cached, the audit line one write(2) to the spool. At the first step
that would need the database the pipeline raises NeedsDatabase, having written nothing and
taken back its throttle counts, and the request goes — whole, from the start — to the WSGI
application (the same fast lane, then Django) in a pool of `EGIDE_THREADS` threads, as does
everything else (the control plane, Transit, sessions). The transport changes, not the rules.

Why: on the WSGI interface every request crosses from granian's I/O thread to a Python
blocking thread and back (GIL hand-offs, a thread wake-up): the named cost of one client
at a time (docs/benchmarks.md has the figures).
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kms.dataplane.state import NeedsDatabase
from kms.dataplane.wsgi import FastLane

Answer = tuple[int, list[tuple[str, str]], bytes]


def environ_of(scope: Any, body: bytes) -> dict[str, Any]:
    """The WSGI environ of an RSGI request (PEP 3333, as granian's WSGI interface builds it)."""
    server, _, port = scope.server.rpartition(":")
    client = scope.client.rpartition(":")[0] if ":" in scope.client else scope.client
    path = scope.path
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.method, "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "SCRIPT_NAME": "", "QUERY_STRING": scope.query_string, "SERVER_NAME": server.strip("[]"),
        "SERVER_PORT": port, "SERVER_PROTOCOL": f"HTTP/{scope.http_version}", "REMOTE_ADDR": client.strip("[]"),
        "wsgi.url_scheme": scope.scheme, "wsgi.input": io.BytesIO(body), "wsgi.errors": _Errors(),
        "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }  # fmt: skip
    for name, value in scope.headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
            environ[key] = value
            continue
        key = "HTTP_" + key
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    if body and "CONTENT_LENGTH" not in environ:
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


class _Errors:
    def write(self, text: str) -> None:
        os.write(2, text.encode("utf-8", "replace"))

    def flush(self) -> None:
        pass


class Lane:
    def __init__(self, wsgi_app: FastLane, threads: int | None = None) -> None:
        self.wsgi_app = wsgi_app
        self.threads = threads or int(os.environ.get("EGIDE_THREADS", "2"))
        self._pool: ThreadPoolExecutor | None = None
        self._pid = -1

    # --- the two halves, also called directly by the tests ---------------------------------

    def here(self, environ: dict[str, Any]) -> Answer | None:
        """The answer without the database, or None: the request must go to a thread."""
        match = self.wsgi_app._take(environ)
        if match is None:
            return None
        try:
            return self.wsgi_app.answer(environ, match, database=False)
        except NeedsDatabase:
            environ["wsgi.input"].seek(0)
            return None

    def in_thread(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], Iterable[bytes]]:
        """The WSGI application's answer (call it where the database may be used)."""
        seen: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            seen["status"], seen["headers"] = int(status.split(" ", 1)[0]), headers
            return lambda data: None

        chunks = self.wsgi_app(environ, start_response)
        if getattr(chunks, "streaming", False):  # iterated (and closed) chunk by chunk, in a thread
            return seen["status"], seen["headers"], chunks
        try:
            return seen["status"], seen["headers"], [b"".join(chunks)]
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # Django's request_finished: its connection handling

    # --- RSGI ------------------------------------------------------------------------------

    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None or self._pid != os.getpid():
            self._pid, self._pool = os.getpid(), ThreadPoolExecutor(self.threads, thread_name_prefix="egide")
        return self._pool

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.pool()

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":
            return
        environ = environ_of(scope, await protocol())
        answer = self.here(environ)
        if answer is not None:
            protocol.response_bytes(*answer)
            return
        loop = asyncio.get_running_loop()
        status, headers, chunks = await loop.run_in_executor(self.pool(), self.in_thread, environ)
        if isinstance(chunks, list):
            protocol.response_bytes(status, headers, b"".join(chunks))
            return
        transport = protocol.response_stream(status, headers)
        iterator = iter(chunks)
        try:
            while (chunk := await loop.run_in_executor(self.pool(), next, iterator, None)) is not None:
                if chunk:
                    await transport.send_bytes(chunk)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                await loop.run_in_executor(self.pool(), close)
