"""Hostile input: grants and approvals."""

from __future__ import annotations

from typing import Any

from tests.security.hostile.corpus import (
    BODY_WRONG,
    MAX_BODY_BYTES,
    NO_BODY,
    Case,
    P,
    body_cases,
    envelope_cases,
    name_cases,
)

CASES: list[Any] = [
    # --- grants ---
    *body_cases(
        "grant add",
        "POST",
        "/v1/kms/keys/aes/grants",
        {"user": "nobody", "permissions": ["encrypt"]},
        {"user": "str?", "group": "str?"},
        required=("permissions",),
    ),
    *[
        P(
            f"grant {verb} {label}",
            Case(method, "/v1/kms/keys/aes/grants", body, status=None, code=None),
        )
        for verb, method in (("add", "POST"), ("remove", "DELETE"))
        for label, body in {
            "permissions a string": {"user": "root", "permissions": "encrypt"},
            "permissions empty": {"user": "root", "permissions": []},
            "permissions unknown": {"user": "root", "permissions": ["fly"]},
            "permissions number": {"user": "root", "permissions": [1]},
            "permissions null item": {"user": "root", "permissions": [None]},
            "permissions nested": {"user": "root", "permissions": [["encrypt"]]},
            "permissions object": {"user": "root", "permissions": [{"encrypt": True}]},
            "permissions 17": {"user": "root", "permissions": ["encrypt"] * 17},
            "permissions nul": {"user": "root", "permissions": ["encrypt\x00"]},
            "both user and group": {
                "user": "root",
                "group": "kms-user",
                "permissions": ["encrypt"],
            },
            "neither user nor group": {"permissions": ["encrypt"]},
            "unknown user": {"user": "nobody", "permissions": ["encrypt"]},
            "unknown group": {"group": "nobody", "permissions": ["encrypt"]},
            "user nul": {"user": "ro\x00ot", "permissions": ["encrypt"]},
            "user lone surrogate": {"user": "ro\ud800ot", "permissions": ["encrypt"]},
            "group lone surrogate": {"group": "\udfff", "permissions": ["encrypt"]},
            "user rtl": {"user": "\u202eroot", "permissions": ["encrypt"]},
            "user over 150": {"user": "u" * 151, "permissions": ["encrypt"]},
        }.items()
    ],
    *envelope_cases("grant remove", "DELETE", "/v1/kms/keys/aes/grants"),
    *name_cases("grant list", "GET", "/v1/kms/keys/{}/grants", NO_BODY),
    *name_cases("grant add", "POST", "/v1/kms/keys/{}/grants", {"user": "root", "permissions": ["encrypt"]}),
    # --- approvals ---
    *[
        P(f"approval list {label}", Case("GET", f"/v1/kms/approvals?{query}"))
        for label, query in {
            "unknown parameter": "bogus=1",
            "mine maybe": "mine=maybe",
            "awaiting_me number": "awaiting_me=2",
            "status unknown": "status=done",
            "status nul": "status=%00",
        }.items()
    ],
    *[
        P(
            f"approval list {label}",
            Case("GET", f"/v1/kms/approvals?{query}", status=200, code=None),
        )
        for label, query in {
            "key nul": "key=%00",
            "key emoji": "key=%F0%9F%94%91",
            "key 4000": "key=" + "k" * 4000,
            "key lone surrogate bytes": "key=%ED%A0%80",
        }.items()
    ],
    *[
        P(
            f"approval {verb} id {label}",
            Case(method, f"/v1/kms/approvals/{ident}{suffix}", body, status=status, code=code),
        )
        for verb, method, suffix, body in (
            ("show", "GET", "", NO_BODY),
            ("approve", "POST", "/approve", {}),
            ("reject", "POST", "/reject", {}),
            ("cancel", "POST", "/cancel", {}),
        )
        for label, ident, status, code in (
            ("0", 0, 404, "approval_not_found"),
            ("2**63", 2**63, 404, "approval_not_found"),
            ("10**30", 10**30, 404, "approval_not_found"),
            ("-1", -1, 404, "not_found"),
            ("text", "x", 404, "not_found"),
        )
    ],
    *[
        case
        for verb in ("approve", "reject", "cancel")
        for case in [
            P(
                f"approval {verb} unknown field",
                Case("POST", f"/v1/kms/approvals/1/{verb}", {"bogus": 1}),
            ),
            P(
                f"approval {verb} body over the limit",
                Case(
                    "POST",
                    f"/v1/kms/approvals/1/{verb}",
                    b"{" + b" " * MAX_BODY_BYTES + b"}",
                    status=413,
                    code="payload_too_large",
                ),
            ),
            P(
                f"approval {verb} body deep nesting",
                Case("POST", f"/v1/kms/approvals/1/{verb}", BODY_WRONG["deep nesting"]),
            ),
        ]
    ],
]
