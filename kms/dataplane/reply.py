"""An answer as the transports send it: status, JSON body, headers (request id included)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(payload: Any, status: int, request_id: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(payload, separators=(",", ":")).encode(),
                 {"Content-Type": "application/json", "X-Request-Id": request_id, **(headers or {})})  # fmt: skip
