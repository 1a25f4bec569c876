"""Hostile input: the data plane: encrypt, decrypt, rewrap, datakey, sign, verify."""

from __future__ import annotations

from typing import Any

from kms.dataplane.parse import MAX_BATCH_ITEMS, RAW_MAX_BYTES
from tests.security.hostile.corpus import (
    ENCRYPT,
    MAX_ITEM_BYTES,
    Case,
    P,
    b64,
    body_cases,
    flipped,
    join_token,
    name_cases,
    relabeled,
    split_token,
    truncated,
)

CASES: list[Any] = [
    # --- POST /v1/kms/encrypt/<name> ---
    *body_cases(
        "encrypt",
        "POST",
        "/v1/kms/encrypt/aes",
        ENCRYPT,
        {"plaintext": "b64", "context": "b64?", "key_version": "int?"},
        required=("plaintext",),
        full=True,
    ),
    P("encrypt key_version 0", Case("POST", "/v1/kms/encrypt/aes", {**ENCRYPT, "key_version": 0})),
    P(
        "encrypt key_version 99",
        Case("POST", "/v1/kms/encrypt/aes", {**ENCRYPT, "key_version": 99}),
    ),
    P(
        "encrypt key_version 2**31",
        Case("POST", "/v1/kms/encrypt/aes", {**ENCRYPT, "key_version": 2**31}),
    ),
    P(
        "encrypt key_version 2**63",
        Case("POST", "/v1/kms/encrypt/aes", {**ENCRYPT, "key_version": 2**63}),
    ),
    P(
        "encrypt with an ecdsa key",
        Case("POST", "/v1/kms/encrypt/ec", ENCRYPT, code="operation_not_allowed"),
    ),
    P(
        "encrypt rsa over the oaep limit",
        Case("POST", "/v1/kms/encrypt/rsa", {"plaintext": b64(b"x" * 191)}, code=None),
    ),
    P("encrypt batch not a list", Case("POST", "/v1/kms/encrypt/aes", {"batch": "QQ=="})),
    P("encrypt batch empty", Case("POST", "/v1/kms/encrypt/aes", {"batch": []})),
    P(
        "encrypt batch object",
        Case("POST", "/v1/kms/encrypt/aes", {"batch": {"plaintext": "QQ=="}}),
    ),
    P(
        "encrypt batch over the item limit",
        Case("POST", "/v1/kms/encrypt/aes", {"batch": [ENCRYPT] * (MAX_BATCH_ITEMS + 1)}),
    ),
    P(
        "encrypt batch with a single field",
        Case("POST", "/v1/kms/encrypt/aes", {"batch": [ENCRYPT], "plaintext": "QQ=="}),
    ),
    P(
        "encrypt batch with key_version",
        Case("POST", "/v1/kms/encrypt/aes", {"batch": [ENCRYPT], "key_version": 1}),
    ),
    P(
        "encrypt batch of bad items",
        Case(
            "POST",
            "/v1/kms/encrypt/aes",
            {"batch": [1, "x", [], {"plaintext": "!"}]},
            status=200,
            code=None,
            items=("invalid_request",) * 4,
        ),
    ),
    *name_cases("encrypt", "POST", "/v1/kms/encrypt/{}", ENCRYPT, full=True),
    # --- POST /v1/kms/decrypt/<name> ---
    *body_cases(
        "decrypt",
        "POST",
        "/v1/kms/decrypt/aes",
        {"ciphertext": "egide:v1:AAAA"},
        {"ciphertext": "str", "context": "b64?"},
        required=("ciphertext",),
    ),
    *[
        P(f"decrypt {label}", Case("POST", f"/v1/kms/decrypt/{key}", body, code=code))
        for label, key, body, code in [
            ("empty ciphertext", "aes", {"ciphertext": ""}, "invalid_request"),
            (
                "ciphertext over the limit",
                "aes",
                {"ciphertext": "egide:v1:" + "A" * (2 * MAX_ITEM_BYTES)},
                "invalid_request",
            ),
            ("no prefix", "aes", {"ciphertext": "AAAA"}, "invalid_ciphertext"),
            ("other prefix", "aes", {"ciphertext": "vault:v1:AAAA"}, "invalid_ciphertext"),
            ("version 0", "aes", {"ciphertext": "egide:v0:AAAA"}, "invalid_ciphertext"),
            (
                "version huge",
                "aes",
                {"ciphertext": "egide:v99999999999999999999:AAAA"},
                "invalid_ciphertext",
            ),
            ("bad base64", "aes", {"ciphertext": "egide:v1:!!!!"}, "invalid_ciphertext"),
            (
                "nul",
                "aes",
                {"ciphertext": "egide:v1:AAAA\x00"},
                None,
            ),  # invalid_request or _ciphertext
            ("newline", "aes", {"ciphertext": "egide:v1:AAAA\n"}, "invalid_ciphertext"),
            ("rtl", "aes", {"ciphertext": "\u202eegide:v1:AAAA"}, "invalid_ciphertext"),
            ("emoji", "aes", {"ciphertext": "egide:v1:\U0001f511"}, "invalid_ciphertext"),
            ("lone surrogate", "aes", {"ciphertext": "egide:v1:\ud800"}, None),
            ("short blob", "aes", {"ciphertext": "egide:v1:AAAA"}, "invalid_ciphertext"),
            ("truncated text", "aes", lambda w: {"ciphertext": w.ct_v2[:-6]}, "invalid_ciphertext"),
            (
                "truncated blob",
                "aes",
                lambda w: {"ciphertext": truncated(w.ct_v2)},
                "invalid_ciphertext",
            ),
            (
                "nonce only",
                "aes",
                lambda w: {"ciphertext": truncated(w.ct_v2, 12)},
                "invalid_ciphertext",
            ),
            (
                "bit flipped in the tag",
                "aes",
                lambda w: {"ciphertext": flipped(w.ct_v2)},
                "invalid_ciphertext",
            ),
            (
                "bit flipped in the nonce",
                "aes",
                lambda w: {"ciphertext": flipped(w.ct_v2, 0)},
                "invalid_ciphertext",
            ),
            (
                "bit flipped in the body",
                "aes",
                lambda w: {"ciphertext": flipped(w.ct_v2, 13)},
                "invalid_ciphertext",
            ),
            (
                "extended",
                "aes",
                lambda w: {"ciphertext": join_token(2, split_token(w.ct_v2)[1] + b"\x00")},
                "invalid_ciphertext",
            ),
            ("of another key", "aes", lambda w: {"ciphertext": w.ct_other}, "invalid_ciphertext"),
            (
                "of another version",
                "aes",
                lambda w: {"ciphertext": relabeled(w.ct_v2, 1)},
                "invalid_ciphertext",
            ),
            (
                "of a missing version",
                "aes",
                lambda w: {"ciphertext": relabeled(w.ct_v2, 99)},
                "invalid_ciphertext",
            ),
            (
                "of the max version",
                "aes",
                lambda w: {"ciphertext": relabeled(w.ct_v2, 2**31 - 1)},
                "invalid_ciphertext",
            ),
            ("without its context", "aes", lambda w: {"ciphertext": w.ct_v1}, "invalid_ciphertext"),
            (
                "with another context",
                "aes",
                lambda w: {"ciphertext": w.ct_v1, "context": b64(b"ctx-b")},
                "invalid_ciphertext",
            ),
            (
                "with an extra context",
                "aes",
                lambda w: {"ciphertext": w.ct_v2, "context": b64(b"ctx-a")},
                "invalid_ciphertext",
            ),
            (
                "with an empty context",
                "aes",
                lambda w: {"ciphertext": w.ct_v1, "context": ""},
                "invalid_ciphertext",
            ),
            (
                "rsa on the aes key",
                "aes",
                lambda w: {"ciphertext": relabeled(w.ct_rsa, 2)},
                "invalid_ciphertext",
            ),
            (
                "aes on the rsa key",
                "rsa",
                lambda w: {"ciphertext": relabeled(w.ct_v2, 1)},
                "invalid_ciphertext",
            ),
            (
                "rsa bit flipped",
                "rsa",
                lambda w: {"ciphertext": flipped(w.ct_rsa)},
                "invalid_ciphertext",
            ),
            (
                "rsa truncated",
                "rsa",
                lambda w: {"ciphertext": truncated(w.ct_rsa)},
                "invalid_ciphertext",
            ),
            (
                "rsa extended",
                "rsa",
                lambda w: {"ciphertext": join_token(1, split_token(w.ct_rsa)[1] + b"\x00")},
                "invalid_ciphertext",
            ),
            ("on an ecdsa key", "ec", lambda w: {"ciphertext": w.ct_v2}, "operation_not_allowed"),
            (
                "signature as ciphertext",
                "rsa",
                lambda w: {"ciphertext": w.sig_rsa},
                "invalid_ciphertext",
            ),
        ]
    ],
    P(
        "decrypt batch of bad items",
        Case(
            "POST",
            "/v1/kms/decrypt/aes",
            lambda w: {
                "batch": [
                    {"ciphertext": flipped(w.ct_v2)},
                    {"ciphertext": w.ct_other},
                    {"ciphertext": w.ct_v1},
                    {"ciphertext": "junk"},
                    {"ciphertext": 5},
                    {"plaintext": "QQ=="},
                    "x",
                ]
            },
            status=200,
            code=None,
            items=("invalid_ciphertext",) * 4 + ("invalid_request",) * 3,
        ),
    ),
    *name_cases("decrypt", "POST", "/v1/kms/decrypt/{}", {"ciphertext": "egide:v1:AAAA"}),
    # --- POST /v1/kms/rewrap/<name> ---
    *body_cases(
        "rewrap",
        "POST",
        "/v1/kms/rewrap/aes",
        {"ciphertext": "egide:v1:AAAA"},
        {"ciphertext": "str", "context": "b64?"},
        required=("ciphertext",),
    ),
    *[
        P(f"rewrap {label}", Case("POST", "/v1/kms/rewrap/aes", body, code="invalid_ciphertext"))
        for label, body in [
            ("bit flipped", lambda w: {"ciphertext": flipped(w.ct_v2)}),
            ("truncated", lambda w: {"ciphertext": truncated(w.ct_v2)}),
            ("of another key", lambda w: {"ciphertext": w.ct_other}),
            ("of another version", lambda w: {"ciphertext": relabeled(w.ct_v2, 1)}),
            ("with another context", lambda w: {"ciphertext": w.ct_v1, "context": b64(b"ctx-b")}),
            ("malformed", {"ciphertext": "egide:v1:"}),
        ]
    ],
    P(
        "rewrap batch",
        Case("POST", "/v1/kms/rewrap/aes", lambda w: {"batch": [{"ciphertext": w.ct_v2}]}),
    ),
    *name_cases("rewrap", "POST", "/v1/kms/rewrap/{}", {"ciphertext": "egide:v1:AAAA"}),
    # --- POST /v1/kms/datakey/<name> ---
    *body_cases(
        "datakey",
        "POST",
        "/v1/kms/datakey/aes",
        {"plaintext": False},
        {"context": "b64?", "plaintext": "bool"},
        empty_is_valid=True,
    ),
    P(
        "datakey on an ecdsa key",
        Case("POST", "/v1/kms/datakey/ec", {}, code="operation_not_allowed"),
    ),
    *name_cases("datakey", "POST", "/v1/kms/datakey/{}", {}),
    # --- POST /v1/kms/sign/<name> ---
    *body_cases(
        "sign",
        "POST",
        "/v1/kms/sign/ec",
        {"data": "ZGF0YQ=="},
        {
            "data": "b64",
            "algorithm": "str?",
            "padding": "str?",
            "prehashed": "bool",
            "key_version": "int?",
        },
        required=("data",),
    ),
    *[
        P(f"sign {label}", Case("POST", f"/v1/kms/sign/{key}", body, code=code))
        for label, key, body, code in [
            ("algorithm md5", "rsa", {"data": "ZGF0YQ==", "algorithm": "md5"}, None),
            (
                "algorithm over 16",
                "rsa",
                {"data": "ZGF0YQ==", "algorithm": "sha256" * 4},
                "invalid_request",
            ),
            (
                "algorithm nul",
                "rsa",
                {"data": "ZGF0YQ==", "algorithm": "sha\x00256"},
                "invalid_request",
            ),
            ("padding oaep", "rsa", {"data": "ZGF0YQ==", "padding": "oaep"}, None),
            ("padding on ecdsa", "ec", {"data": "ZGF0YQ==", "padding": "pss"}, None),
            ("prehashed wrong length", "ec", {"data": "ZGF0YQ==", "prehashed": True}, None),
            ("prehashed on ed25519", "ed", {"data": b64(b"x" * 64), "prehashed": True}, None),
            ("algorithm on ed25519", "ed", {"data": "ZGF0YQ==", "algorithm": "sha512"}, None),
            ("key_version 0", "ec", {"data": "ZGF0YQ==", "key_version": 0}, "invalid_request"),
            ("key_version 99", "ec", {"data": "ZGF0YQ==", "key_version": 99}, "invalid_request"),
            (
                "key_version 2**63",
                "ec",
                {"data": "ZGF0YQ==", "key_version": 2**63},
                "invalid_request",
            ),
            ("with an aes key", "aes", {"data": "ZGF0YQ=="}, "operation_not_allowed"),
        ]
    ],
    *[
        P(
            f"sign raw {label}",
            Case(
                "POST",
                f"/v1/kms/sign/ed?{query}",
                b"data",
                content_type="application/octet-stream",
                code=code,
            ),
        )
        for label, query, code in [
            ("unknown parameter", "bogus=1", "invalid_request"),
            ("prehashed parameter", "prehashed=true", "invalid_request"),
            ("key_version text", "key_version=one", "invalid_request"),
            ("key_version huge", "key_version=99999999999999999999", "invalid_request"),
            ("key_version fullwidth", "key_version=%EF%BC%91", "invalid_request"),
            ("key_version superscript", "key_version=%C2%B2", "invalid_request"),
            ("algorithm nul", "algorithm=%00", None),
            ("algorithm long", "algorithm=" + "x" * 5000, None),
        ]
    ],
    P(
        "sign raw over the limit",
        Case(
            "POST",
            "/v1/kms/sign/ed",
            b"x" * (RAW_MAX_BYTES + 1),
            content_type="application/octet-stream",
            status=413,
            code="payload_too_large",
        ),
    ),
    P(
        "sign json with query",
        Case("POST", "/v1/kms/sign/ec?algorithm=sha256", {"data": "ZGF0YQ=="}),
    ),
    P(
        "sign batch of bad items",
        Case(
            "POST",
            "/v1/kms/sign/ec",
            {
                "batch": [
                    {"data": "!"},
                    {"data": "ZGF0YQ==", "prehashed": True},
                    {"data": "ZGF0YQ==", "key_version": 1},
                    7,
                ]
            },
            status=200,
            code=None,
            items=("invalid_request",) * 4,
        ),
    ),
    *name_cases("sign", "POST", "/v1/kms/sign/{}", {"data": "ZGF0YQ=="}),
    # --- POST /v1/kms/verify/<name> ---
    *body_cases(
        "verify",
        "POST",
        "/v1/kms/verify/ec",
        {"data": "ZGF0YQ==", "signature": "egide:v1:AAAA"},
        {
            "data": "b64",
            "signature": "str",
            "algorithm": "str?",
            "padding": "str?",
            "prehashed": "bool",
        },
        required=("data", "signature"),
    ),
    *[
        P(f"verify {label}", Case("POST", f"/v1/kms/verify/{key}", body, code="invalid_signature"))
        for label, key, body in [
            ("no prefix", "ec", {"data": "ZGF0YQ==", "signature": "AAAA"}),
            ("bad base64", "ec", {"data": "ZGF0YQ==", "signature": "egide:v1:****"}),
            ("version 0", "ec", {"data": "ZGF0YQ==", "signature": "egide:v0:AAAA"}),
            (
                "missing version",
                "ec",
                lambda w: {"data": "ZGF0YQ==", "signature": relabeled(w.sig_ec, 7)},
            ),
            ("emoji", "ec", {"data": "ZGF0YQ==", "signature": "egide:v1:\U0001f511"}),
            ("truncated text", "ed", lambda w: {"data": "ZGF0YQ==", "signature": w.sig_ed[:-3]}),
        ]
    ],
    *[
        P(
            f"verify {label} is not valid",
            Case("POST", f"/v1/kms/verify/{key}", body, status=200, code=None),
        )
        for label, key, body in [
            (
                "ecdsa bit flipped",
                "ec",
                lambda w: {"data": "ZGF0YQ==", "signature": flipped(w.sig_ec)},
            ),
            (
                "ecdsa truncated",
                "ec",
                lambda w: {"data": "ZGF0YQ==", "signature": truncated(w.sig_ec)},
            ),
            (
                "ecdsa one byte",
                "ec",
                lambda w: {"data": "ZGF0YQ==", "signature": truncated(w.sig_ec, 1)},
            ),
            ("ecdsa other data", "ec", lambda w: {"data": "ZGF0QQ==", "signature": w.sig_ec}),
            (
                "ed25519 bit flipped",
                "ed",
                lambda w: {"data": "ZGF0YQ==", "signature": flipped(w.sig_ed)},
            ),
            (
                "ed25519 truncated",
                "ed",
                lambda w: {"data": "ZGF0YQ==", "signature": truncated(w.sig_ed)},
            ),
            (
                "ed25519 extended",
                "ed",
                lambda w: {
                    "data": "ZGF0YQ==",
                    "signature": join_token(1, split_token(w.sig_ed)[1] + b"\x00"),
                },
            ),
            (
                "rsa bit flipped",
                "rsa",
                lambda w: {"data": "ZGF0YQ==", "signature": flipped(w.sig_rsa)},
            ),
            (
                "rsa truncated",
                "rsa",
                lambda w: {"data": "ZGF0YQ==", "signature": truncated(w.sig_rsa)},
            ),
            ("of another key", "ec", lambda w: {"data": "ZGF0YQ==", "signature": w.sig_ed}),
            (
                "ciphertext as signature",
                "rsa",
                lambda w: {"data": "ZGF0YQ==", "signature": w.ct_rsa},
            ),
        ]
    ],
    P(
        "verify signature nul",
        Case(
            "POST",
            "/v1/kms/verify/ec",
            {"data": "ZGF0YQ==", "signature": "egide:v1:AAAA\x00"},
            code=None,
        ),
    ),
    P(
        "verify raw without signature",
        Case("POST", "/v1/kms/verify/ed", b"data", content_type="application/octet-stream"),
    ),
    P(
        "verify raw with unknown parameter",
        Case(
            "POST",
            "/v1/kms/verify/ed?signature=egide:v1:AA%3D%3D&x=1",
            b"data",
            content_type="application/octet-stream",
        ),
    ),
    P(
        "verify raw bad signature",
        Case(
            "POST",
            "/v1/kms/verify/ed?signature=junk",
            b"data",
            content_type="application/octet-stream",
            code="invalid_signature",
        ),
    ),
    P(
        "verify raw over the limit",
        Case(
            "POST",
            "/v1/kms/verify/ed?signature=junk",
            b"x" * (RAW_MAX_BYTES + 1),
            content_type="application/octet-stream",
            status=413,
            code="payload_too_large",
        ),
    ),
    P(
        "verify batch of bad items",
        Case(
            "POST",
            "/v1/kms/verify/ec",
            lambda w: {
                "batch": [
                    {"data": "ZGF0YQ==", "signature": "junk"},
                    {"data": "!", "signature": w.sig_ec},
                    {"data": "ZGF0YQ=="},
                ]
            },
            status=200,
            code=None,
            items=("invalid_signature", "invalid_request", "invalid_request"),
        ),
    ),
    *name_cases("verify", "POST", "/v1/kms/verify/{}", {"data": "ZGF0YQ==", "signature": "egide:v1:AAAA"}),
]
