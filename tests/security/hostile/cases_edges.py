"""Hostile input: anything else: unknown endpoints, methods, request ids."""

from __future__ import annotations

from typing import Any

from tests.security.hostile.corpus import (
    Case,
    P,
)

CASES: list[Any] = [
    # --- anything else ---
    P("unknown endpoint", Case("GET", "/v1/kms/nothing", status=404, code="not_found")),
    P(
        "method not allowed",
        Case("PUT", "/v1/kms/keys/aes", {"type": "aes256"}, status=405, code="method_not_allowed"),
    ),
    P(
        "method not allowed on encrypt",
        Case("GET", "/v1/kms/encrypt/aes", status=405, code="method_not_allowed"),
    ),
    P(
        "hostile request id",
        Case(
            "POST",
            "/v1/kms/encrypt/aes",
            {"plaintext": "!"},
            headers={"HTTP_X_REQUEST_ID": "a\nb<script>" + "x" * 100},
        ),
    ),
]
