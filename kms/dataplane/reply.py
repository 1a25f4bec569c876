"""An answer as the transports send it: status, JSON body, headers (request id included)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(payload: Any, status: int, request_id: str, headers: dict[str, str] | None = None) -> Reply:
    # orjson: the same compact JSON as json.dumps(separators=(",", ":")), in UTF-8 (no \u escapes).
    return Reply(status, orjson.dumps(payload),
                 {"Content-Type": "application/json", "X-Request-Id": request_id, **(headers or {})})  # fmt: skip
