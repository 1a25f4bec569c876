"""A fake transport: records what the client sends, answers what the test scripted."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kms.client import EgideClient
from kms.client.transport import Body, Response


@dataclass
class Sent:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes | None

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class FakeTransport:
    addr: str = "http://egide.test"
    answers: list[Response] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)

    def answer(
        self,
        status: int,
        document: Any = None,
        *,
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FakeTransport:
        body = raw if raw is not None else (b"" if document is None else json.dumps(document).encode())
        self.answers.append(Response(status, dict(headers or {}), body))
        return self

    def request(self, method: str, path: str, *, body: Body, headers: Mapping[str, str]) -> Response:
        parts = urlsplit(path)
        data = body if body is None or isinstance(body, bytes) else body.read()
        self.sent.append(Sent(method, parts.path, parse_qs(parts.query), dict(headers), data))
        if not self.answers:
            raise AssertionError(f"unexpected request {method} {path}")
        return self.answers.pop(0)

    def close(self) -> None:
        pass


TEST_TOKEN = "egd_test"  # noqa: S105 - a fake token for a fake server


def fake_client(token: str | None = TEST_TOKEN, **kwargs: Any) -> tuple[EgideClient, FakeTransport]:
    transport = FakeTransport()
    client = EgideClient(transport.addr, token, transport=transport, **kwargs)
    return client, transport
