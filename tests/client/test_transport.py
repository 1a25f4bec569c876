"""The real transport over a local HTTP server: keep-alive, and a server that hangs up."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kms.client import EgideClient


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise
    hang_up_after_answer = False
    connections: list[int] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._answer()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer()

    def _answer(self) -> None:
        Handler.connections.append(id(self.connection))
        body = json.dumps({"data": {"path": self.path, "client": self.headers["X-Egide-Client"]}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())
        self.wfile.flush()
        if Handler.hang_up_after_answer:  # an idle timeout, without saying so beforehand
            self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():
    Handler.connections = []
    Handler.hang_up_after_answer = False
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_calls_reuse_one_connection(server):
    client = EgideClient(server, "egd_x", client_name="cli")
    assert client.key_info("a") == {"path": "/v1/kms/keys/a", "client": "cli"}
    client.rotate("a")
    client.key_info("b")
    assert len(Handler.connections) == 3 and len(set(Handler.connections)) == 1


def test_a_connection_the_server_closed_is_replaced(server):
    Handler.hang_up_after_answer = True
    client = EgideClient(server, "egd_x")
    client.key_info("a")
    threading.Event().wait(0.05)  # the server has closed its end by now
    assert client.rotate("a") == {"path": "/v1/kms/keys/a/rotate", "client": None}
    assert client.key_info("b")["path"] == "/v1/kms/keys/b"


def test_an_address_prefix_is_kept(server):
    client = EgideClient(server + "/egide/", "egd_x")
    assert client.key_info("a")["path"] == "/egide/v1/kms/keys/a"
