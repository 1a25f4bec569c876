"""Hostile input: keys: list, create, info, update, delete, lifecycle, versions, public key, export."""

from __future__ import annotations

from typing import Any

from tests.security.hostile.corpus import (
    MAX_BODY_BYTES,
    NO_BODY,
    Case,
    P,
    body_cases,
    envelope_cases,
    name_cases,
)

CASES: list[Any] = [
    # --- GET /v1/kms/keys ---
    *[
        P(f"key list {label}", Case("GET", f"/v1/kms/keys?{query}"))
        for label, query in {
            "unknown parameter": "bogus=1",
            "type unknown": "type=aes",
            "type nul": "type=%00",
            "status unknown": "status=gone",
            "status nul": "status=%00",
            "limit zero": "limit=0",
            "limit negative": "limit=-1",
            "limit text": "limit=ten",
            "limit huge": "limit=99999999999999999999",
            "limit over max": "limit=1001",
            "limit fullwidth": "limit=%EF%BC%91",
            "limit superscript": "limit=%C2%B2",
            "limit arabic-indic": "limit=%D9%A1",
            "cursor junk": "cursor=!!!",
            "cursor empty name": "cursor=AA",
            "cursor not utf-8": "cursor=_w==",
            "cursor of a nul name": "cursor=AA%3D%3D",
            "cursor of an emoji": "cursor=8J-UkQ%3D%3D",
            "cursor of a path": "cursor=Li4veA%3D%3D",
            "cursor of a superscript digit": "cursor=wrI%3D",
            "cursor of a fullwidth digit": "cursor=77yR",
            "cursor of a huge number": "cursor=OTk5OTk5OTk5OTk5OTk5OTk5OTk5",
        }.items()
    ],
    *[
        P(f"key list {label}", Case("GET", f"/v1/kms/keys?{query}", status=200, code=None))
        for label, query in {
            "name_prefix nul": "name_prefix=%00",
            "name_prefix unicode": "name_prefix=%F0%9F%94%91",
            "name_prefix 4000": "name_prefix=" + "a" * 4000,
            "name_prefix percent": "name_prefix=%25",
            "name_prefix underscore": "name_prefix=_",
        }.items()
    ],
    # --- POST /v1/kms/keys/<name> (create) ---
    *body_cases(
        "create",
        "POST",
        "/v1/kms/keys/new-key",
        {"type": "aes256"},
        {
            "type": "str",
            "description": "str?",
            "exportable": "bool",
            "allow_deletion": "bool",
            "approvals_required": "int?",
            "max_signatures_per_version": "int?",
        },
        required=("type",),
        full=True,
    ),
    *[
        P(f"create type {label}", Case("POST", "/v1/kms/keys/new-key", {"type": value}, code=code))
        for label, value, code in [
            ("upper case", "AES256", "invalid_key_type"),
            ("unknown", "rsa1024", "invalid_key_type"),
            ("trailing space", "aes256 ", "invalid_key_type"),
            ("leading space", " aes256", "invalid_key_type"),
            ("nul", "aes256\x00", "invalid_request"),
            ("empty", "", "invalid_request"),
            ("lone surrogate", "\ud800", "invalid_request"),
        ]
    ],
    P(
        "create description over 1000",
        Case("POST", "/v1/kms/keys/new-key", {"type": "aes256", "description": "d" * 1001}),
    ),
    P(
        "create description nul",
        Case("POST", "/v1/kms/keys/new-key", {"type": "aes256", "description": "a\x00b"}),
    ),
    P(
        "create description lone surrogate",
        Case("POST", "/v1/kms/keys/new-key", {"type": "aes256", "description": "a\ud800b"}),
    ),
    P(
        "create approvals_required 11",
        Case("POST", "/v1/kms/keys/new-key", {"type": "aes256", "approvals_required": 11}),
    ),
    *[
        P(
            f"create rotation_period {label}",
            Case("POST", "/v1/kms/keys/new-key", {"type": "aes256", "rotation_period": value}),
        )
        for label, value in {
            "number": 90,
            "no unit": "90",
            "negative": "-1d",
            "zero": "0d",
            "seconds": "1s",
            "below 1h": "30m",
            "fraction": "1.5d",
            "overflow": "99999999999999999999d",
            "beyond 3660d": "3661d",
            "upper case": "90D",
            "spaces": " 90d",
            "unit only": "d",
            "empty": "",
            "array": ["90d"],
            "nul": "9\x000d",
        }.items()
    ],
    P(
        "create max_signatures zero",
        Case("POST", "/v1/kms/keys/new-ec", {"type": "ecdsa-p256", "max_signatures_per_version": 0}),
    ),
    P(
        "create max_signatures 2**63",
        Case(
            "POST",
            "/v1/kms/keys/new-ec",
            {"type": "ecdsa-p256", "max_signatures_per_version": 2**63},
        ),
    ),
    P(
        "create max_signatures 2**64",
        Case(
            "POST",
            "/v1/kms/keys/new-ec",
            {"type": "ecdsa-p256", "max_signatures_per_version": 2**64},
        ),
    ),
    P(
        "create max_signatures on aes",
        Case("POST", "/v1/kms/keys/new-key", {"type": "aes256", "max_signatures_per_version": 10}),
    ),
    P(
        "create existing name",
        Case("POST", "/v1/kms/keys/aes", {"type": "aes256"}, status=409, code="key_exists"),
    ),
    *name_cases("create", "POST", "/v1/kms/keys/{}", {"type": "aes256"}, creates=True, full=True),
    # --- GET /v1/kms/keys/<name> ---
    *name_cases("info", "GET", "/v1/kms/keys/{}", NO_BODY, full=True),
    # --- PATCH /v1/kms/keys/<name> ---
    *body_cases(
        "update",
        "PATCH",
        "/v1/kms/keys/aes",
        {"description": "x"},
        {
            "description": "str?",
            "exportable": "bool",
            "allow_deletion": "bool",
            "approvals_required": "int?",
            "max_signatures_per_version": "int?",
            "min_encryption_version": "int?",
            "min_decryption_version": "int?",
        },
    ),
    *[
        P(f"update {label}", Case("PATCH", "/v1/kms/keys/aes", body))
        for label, body in {
            "min_encryption_version above current": {"min_encryption_version": 3},
            "min_decryption_version above current": {"min_decryption_version": 3},
            "min_decryption_version zero": {"min_decryption_version": 0},
            "min_decryption_version 2**31": {"min_decryption_version": 2**31},
            "min_encryption_version 2**63": {"min_encryption_version": 2**63},
            "exportable false on a non-exportable key": {
                "exportable": False,
                "description": "\ud800",
            },
            "read-only field": {"type": "rsa2048"},
            "name": {"name": "renamed"},
            "current_version": {"current_version": 1},
            "description lone surrogate": {"description": "\ud800"},
            "description nul": {"description": "\x00"},
            "max_signatures on aes": {"max_signatures_per_version": 5},
            "rotation_period overflow": {"rotation_period": "99999999999999999999d"},
        }.items()
    ],
    *name_cases("update", "PATCH", "/v1/kms/keys/{}", {"description": "x"}),
    # --- DELETE /v1/kms/keys/<name> ---
    *name_cases("delete", "DELETE", "/v1/kms/keys/{}", NO_BODY),
    # --- rotate, disable, enable, restore: an empty object or nothing ---
    *[
        case
        for action in ("rotate", "disable", "enable", "restore")
        for case in [
            P(f"{action} unknown field", Case("POST", f"/v1/kms/keys/aes/{action}", {"bogus": 1})),
            P(f"{action} force flag", Case("POST", f"/v1/kms/keys/aes/{action}", {"force": True})),
            *envelope_cases(action, "POST", f"/v1/kms/keys/aes/{action}", empty_is_valid=True),
            *name_cases(action, "POST", "/v1/kms/keys/{}/" + action, {}),
        ]
    ],
    # --- versions/<n>/disable|enable|destroy ---
    *[
        case
        for action in ("disable", "enable", "destroy")
        for case in [
            P(
                f"version {action} unknown field",
                Case("POST", f"/v1/kms/keys/aes/versions/1/{action}", {"bogus": 1}),
            ),
            P(
                f"version {action} body array",
                Case("POST", f"/v1/kms/keys/aes/versions/1/{action}", b"[]"),
            ),
            P(
                f"version {action} body over the limit",
                Case(
                    "POST",
                    f"/v1/kms/keys/aes/versions/1/{action}",
                    b"{" + b" " * MAX_BODY_BYTES + b"}",
                    status=413,
                    code="payload_too_large",
                ),
            ),
            P(
                f"version {action} version 0",
                Case("POST", f"/v1/kms/keys/aes/versions/0/{action}", {}, status=None, code=None),
            ),
            P(
                f"version {action} version 99",
                Case("POST", f"/v1/kms/keys/aes/versions/99/{action}", {}, status=None, code=None),
            ),
            P(
                f"version {action} version 2**31",
                Case(
                    "POST",
                    f"/v1/kms/keys/aes/versions/{2**31}/{action}",
                    {},
                    status=None,
                    code=None,
                ),
            ),
            P(
                f"version {action} version 10**30",
                Case(
                    "POST",
                    f"/v1/kms/keys/aes/versions/{10**30}/{action}",
                    {},
                    status=None,
                    code=None,
                ),
            ),
            P(
                f"version {action} version -1",
                Case(
                    "POST",
                    f"/v1/kms/keys/aes/versions/-1/{action}",
                    {},
                    status=404,
                    code="not_found",
                ),
            ),
            P(
                f"version {action} version text",
                Case(
                    "POST",
                    f"/v1/kms/keys/aes/versions/one/{action}",
                    {},
                    status=404,
                    code="not_found",
                ),
            ),
            *name_cases(f"version {action}", "POST", "/v1/kms/keys/{}/versions/1/" + action, {}),
        ]
    ],
    # --- GET public, POST export ---
    *[
        P(f"public {label}", Case("GET", f"/v1/kms/keys/rsa/public?{query}"))
        for label, query in {
            "unknown parameter": "bogus=1",
            "version text": "version=one",
            "version negative": "version=-1",
            "version huge": "version=99999999999999999999",
            "version fullwidth": "version=%EF%BC%91",
            "version superscript": "version=%C2%B2",
        }.items()
    ],
    P("public version 0", Case("GET", "/v1/kms/keys/rsa/public?version=0", status=None, code=None)),
    P(
        "public version 99",
        Case("GET", "/v1/kms/keys/rsa/public?version=99", status=None, code=None),
    ),
    P("public of an aes key", Case("GET", "/v1/kms/keys/aes/public", status=None, code=None)),
    *name_cases("public", "GET", "/v1/kms/keys/{}/public", NO_BODY),
    P(
        "export of a non-exportable key",
        Case("POST", "/v1/kms/keys/aes/export", {}, status=403, code="export_disabled"),
    ),
    P(  # export takes material out: a POST (CSRF on sessions), never a link
        "export by GET",
        Case("GET", "/v1/kms/keys/aes/export", status=405, code="method_not_allowed"),
    ),
    P("export unknown field", Case("POST", "/v1/kms/keys/aes/export", {"bogus": 1})),
    *name_cases("export", "POST", "/v1/kms/keys/{}/export", {}),
]
