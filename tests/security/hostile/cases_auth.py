"""Hostile input: tokens and the authentication header."""

from __future__ import annotations

from typing import Any

from tests.security.hostile.corpus import (
    Case,
    P,
    body_cases,
)

CASES: list[Any] = [
    # --- POST /v1/auth/tokens ---
    *body_cases(
        "token create",
        "POST",
        "/v1/auth/tokens",
        {"username": "root", "password": "wrong"},  # a refusal either way, but of the type first
        {"username": "str", "password": "str", "name": "str?", "expires_in": "int?"},
        required=("username", "password"),
        auth=False,
        full=True,
    ),
    P(
        "token create username over 150",
        Case("POST", "/v1/auth/tokens", {"username": "r" * 151, "password": "x"}),
    ),
    P(
        "token create username 1 MiB",
        Case("POST", "/v1/auth/tokens", {"username": "r" * 2**20, "password": "x"}),
    ),
    P(
        "token create username nul",
        Case("POST", "/v1/auth/tokens", {"username": "ro\x00ot", "password": "x"}),
    ),
    P(
        "token create username lone surrogate",
        Case("POST", "/v1/auth/tokens", {"username": "ro\ud800ot", "password": "x"}),
    ),
    P(
        "token create username rtl",
        Case(
            "POST",
            "/v1/auth/tokens",
            {"username": "\u202eroot", "password": "x"},
            status=401,
            code="unauthenticated",
        ),
    ),
    P(
        "token create password over 1024",
        Case("POST", "/v1/auth/tokens", {"username": "root", "password": "x" * 1025}),
    ),
    P(
        "token create password lone surrogate",
        Case("POST", "/v1/auth/tokens", {"username": "root", "password": "\udfff"}),
    ),
    P(
        "token create expires_in 59",
        Case("POST", "/v1/auth/tokens", {"username": "root", "password": "pw-root", "expires_in": 59}),
    ),
    P(
        "token create expires_in 10**12",
        Case(
            "POST",
            "/v1/auth/tokens",
            {"username": "root", "password": "pw-root", "expires_in": 10**12},
        ),
    ),
    P(
        "token create expires_in 10**20",
        Case(
            "POST",
            "/v1/auth/tokens",
            {"username": "root", "password": "pw-root", "expires_in": 10**20},
        ),
    ),
    P(
        "token create name over 100",
        Case(
            "POST",
            "/v1/auth/tokens",
            {"username": "root", "password": "pw-root", "name": "n" * 101},
        ),
    ),
    P(
        "token create name nul",
        Case("POST", "/v1/auth/tokens", {"username": "root", "password": "pw-root", "name": "a\x00"}),
    ),
    P(
        "token create name lone surrogate",
        Case("POST", "/v1/auth/tokens", {"username": "root", "password": "pw-root", "name": "\ud800"}),
    ),
    # --- GET /v1/auth/tokens, DELETE /v1/auth/tokens/<id> ---
    P(
        "token list no credentials",
        Case("GET", "/v1/auth/tokens", status=401, code="unauthenticated", anonymous=True),
    ),
    P("token revoke id 0", Case("DELETE", "/v1/auth/tokens/0", status=404, code="token_not_found")),
    P(
        "token revoke id 2**63",
        Case("DELETE", f"/v1/auth/tokens/{2**63}", status=404, code="token_not_found"),
    ),
    P(
        "token revoke id 10**30",
        Case("DELETE", f"/v1/auth/tokens/{10**30}", status=404, code="token_not_found"),
    ),
    P("token revoke id -1", Case("DELETE", "/v1/auth/tokens/-1", status=404, code="not_found")),
    P("token revoke id text", Case("DELETE", "/v1/auth/tokens/abc", status=404, code="not_found")),
    P(
        "token revoke id fullwidth digit",
        Case("DELETE", "/v1/auth/tokens/%EF%BC%91", status=404, code="not_found"),
    ),
    # --- authentication header ---
    *[
        P(
            f"bearer {label}",
            Case(
                "GET",
                "/v1/kms/keys",
                status=401,
                code="unauthenticated",
                headers={"HTTP_AUTHORIZATION": value},
                anonymous=True,
            ),
        )
        for label, value in {
            "empty": "Bearer ",
            "scheme only": "Bearer",
            "basic": "Basic cm9vdDpwdw==",
            "two words": "Bearer a b",
            "wrong prefix": "Bearer xyz_" + "A" * 43,
            "nul": "Bearer egd_\x00",
            "latin-1": "Bearer egd_\u00e9\u00e9",
            "very long": "Bearer egd_" + "A" * 100_000,
            "newline": "Bearer egd_a\nb",
            "lowercase scheme, bad": "bearer egd_x",
        }.items()
    ],
]
