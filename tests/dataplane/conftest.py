import io

import pytest
from django.test import override_settings

from kms.services import audit_spool as spool
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


@pytest.fixture
def spooled(tmp_path):
    """The production audit sink: a spool file of this test's own, shipped when the test says."""
    with override_settings(EGIDE_AUDIT_SINK="spool", EGIDE_AUDIT_SPOOL_DIR=tmp_path,
                           EGIDE_AUDIT_SHIP_INTERVAL_MS=3_600_000):  # fmt: skip
        writer = spool.SpoolWriter()
        original, spool.WRITER = spool.WRITER, writer
        try:
            yield tmp_path
        finally:
            writer.path = None  # nothing left for its exit-time shipping
            spool.WRITER = original
