import io

import pytest

from kms.services.actor import Actor
from kms.services.tokens import token_create


@pytest.fixture
def bearer(root):
    return token_create(actor=Actor.system(), user=root)[1]


def wsgi_call(app, path: str, body: bytes, token: str, *, content_type="application/json", extra=None):
    """One request through the real WSGI entry point (egide_site.wsgi.application)."""
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1", "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": content_type, "HTTP_AUTHORIZATION": f"Bearer {token}", "wsgi.url_scheme": "http",
        "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1", "QUERY_STRING": "",
        "wsgi.errors": io.StringIO(), **(extra or {}),
    }  # fmt: skip
    seen = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = int(status.split()[0]), dict(headers)

    chunks = app(environ, start_response)
    body_out = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return seen["status"], seen["headers"], body_out
