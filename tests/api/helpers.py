"""Small readers of API answers: the data envelope, the error shape, base64."""

from __future__ import annotations

import base64
from typing import Any


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def data(response, status: int = 200) -> Any:
    """The `data` of a success, after checking its status and its envelope."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) <= {"data", "next_cursor"}, body
    return body["data"]


def error(response, status: int, code: str) -> str:
    """The message of an error, after checking status, code and the one error shape."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    return body["error"]["message"]


def post(client, path: str, body: Any = None, **extra: Any):
    return client.post(path, {} if body is None else body, format="json", **extra)
