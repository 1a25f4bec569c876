"""Hostile input against every API endpoint (kms/api/urls.py).

Each case is one request that must be refused: malformed JSON, wrong JSON types, missing
and unknown fields, bodies over the limit, empty and huge values, bad base64, truncated
and bit-flipped ciphertexts, ciphertexts of another key, version or context, signatures
that do not parse, key names with path, control and unicode characters, over-long names.

For each, the answer is the expected 4xx with the expected error code in the one error
shape, as JSON (never a 5xx, never an HTML page), and the database is as it was: same rows
and same state of keys, versions, tokens, grants and approvals. Audit events may be added
(refusals are audited by design). Requests are sent as the superuser, so that permission
never stops a case before the input is read.

A few answers are not errors, by contract: a well-formed signature that does not verify
is `200 {"valid": false}`, and a batch answers 200 with an error in each refused item's
place. Those cases say so (status 200) and are checked the same way otherwise.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import traceback
from dataclasses import dataclass, field
from typing import Any

import pytest

from kms.api.serializers import MAX_BATCH_ITEMS, MAX_BODY_BYTES, MAX_ITEM_BYTES, RAW_MAX_BYTES
from tests.security.conftest import db_state, without_use_counts

NOTHING = object()
JSON = "application/json"


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    body: Any = NOTHING  # JSON value, raw bytes, or a function of the World giving either
    status: int = 400
    code: str | None = "invalid_request"
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    anonymous: bool = False  # sent without the superuser's token (also: with a header of its own)
    items: tuple[str, ...] = ()  # for a 200 batch: the error code of each item
    # Whether the case runs through both doors of the data plane. Envelope and name cases
    # reach DRF's parser and the key lookup, which the control-plane groups already cover.
    both_doors: bool = True


@dataclass
class World:
    """Keys and tokens made before the request: aes (v1, v2), aes-other, rsa, ec, ed."""

    ct_v1: str  # aes v1, context "ctx-a"
    ct_v2: str  # aes v2, no context
    ct_other: str  # aes-other v1, no context
    ct_rsa: str  # rsa v1
    sig_ec: str  # ec over b"data"
    sig_ed: str  # ed over b"data"
    sig_rsa: str  # rsa over b"data"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _split(token: str) -> tuple[int, bytes]:
    version, _, body = token.removeprefix("egide:v").partition(":")
    return int(version), base64.b64decode(body)


def _join(version: int, blob: bytes) -> str:
    return f"egide:v{version}:{b64(blob)}"


def flipped(token: str, at: int = -1) -> str:
    version, blob = _split(token)
    mangled = bytearray(blob)
    mangled[at] ^= 0x01
    return _join(version, bytes(mangled))


def truncated(token: str, keep: int | None = None) -> str:
    version, blob = _split(token)
    return _join(version, blob[:keep] if keep is not None else blob[:-1])


def relabeled(token: str, version: int) -> str:
    return _join(version, _split(token)[1])


@pytest.fixture
def world(db, create_key, system) -> World:  # noqa: ANN001
    from kms.services import crypto_ops as ops
    from kms.services.keys import key_rotate

    for name, key_type in (
        ("aes", "aes256"),
        ("aes-other", "aes256"),
        ("rsa", "rsa2048"),
        ("ec", "ecdsa-p256"),
        ("ed", "ed25519"),
    ):
        create_key(name, key_type)
    ct_v1 = ops.encrypt(actor=system, name="aes", plaintext=b"secret", context=b"ctx-a").ciphertext
    key_rotate(actor=system, name="aes")
    return World(
        ct_v1=ct_v1,
        ct_v2=ops.encrypt(actor=system, name="aes", plaintext=b"secret").ciphertext,
        ct_other=ops.encrypt(actor=system, name="aes-other", plaintext=b"secret").ciphertext,
        ct_rsa=ops.encrypt(actor=system, name="rsa", plaintext=b"secret").ciphertext,
        sig_ec=ops.sign(actor=system, name="ec", data=b"data").signature,
        sig_ed=ops.sign(actor=system, name="ed", data=b"data").signature,
        sig_rsa=ops.sign(actor=system, name="rsa", data=b"data").signature,
    )


# --- the table -----------------------------------------------------------------------

STRING_WRONG = {"number": 1.5, "true": True, "array": ["a"], "object": {"a": "b"}}
BASE64_WRONG = {
    **STRING_WRONG,
    "not base64": "not base64!",
    "no padding": "QQ",
    "short padding": "QQ=",
    "too much padding": "QQ===",
    "urlsafe alphabet": "-_-_",
    "newline": "QUJD\n",
    "leading space": " QUJD",
    "non-ascii": "\u00e9\u00e9\u00e9\u00e9",
    "nul": "QUJD\x00",
    "too large": b64(b"x" * (MAX_ITEM_BYTES + 1)),
}
BASE64_WRONG_SHORT = {
    "number": 1,
    "not base64": "not base64!",
    "no padding": "QQ",
    "non-ascii": "\u00e9\u00e9\u00e9\u00e9",
}
BOOL_WRONG = {"string true": "true", "one": 1, "empty": "", "object": {}}
INT_WRONG = {
    "string": "5",
    "float": 5.5,
    "true": True,
    "array": [1],
    "minus one": -1,
    "2**64": 2**64,
    "1e300": 1e300,
}
BODY_WRONG = {  # the whole body
    "truncated json": b'{"a":',
    "open brace": b"{",
    "bare word": b"nul",
    "NaN": b'{"x": NaN}',
    "trailing garbage": b"{} {}",
    "single quotes": b"{'a': 1}",
    "utf-16": '{"a": 1}'.encode("utf-16"),
    "invalid utf-8": b'{"a": "\xff\xfe"}',
    "array": b"[]",
    "string": b'"text"',
    "number": b"1",
    "null": b"null",
    "true": b"true",
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
    "deep object nesting": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
}
NAMES = {  # as they appear in the URL
    "dot dot encoded": "%2e%2e",
    "dot dot": "..",
    "dot": ".",
    "leading dash": "-x",
    "leading dot": ".hidden",
    "nul": "%00",
    "nul inside": "a%00b",
    "newline": "%0A",
    "trailing newline": "a%0A",
    "carriage return": "a%0D",
    "tab": "a%09b",
    "space": "a%20b",
    "rtl override": "a%E2%80%AEb",
    "zero width space": "a%E2%80%8Bb",
    "emoji": "%F0%9F%94%91",
    "e acute": "caf%C3%A9",
    "fullwidth a": "%EF%BD%81",
    "invalid utf-8": "a%FFb",
    "percent": "a%25b",
    "quote": "a%22b",
    "angle brackets": "%3Cscript%3E",
    "semicolon": "a;b",
    "backslash": "a%5Cb",
    "129 characters": "a" * 129,
    "4000 characters": "a" * 4000,
}
SLASHED_NAMES = {
    "dot dot slash": "../x",
    "a/b": "a/b",
    "encoded slash": "..%2Fx",
    "double slash": "a//b",
}
# Every endpoint finds its key through one lookup (kms.services.lookup.key_for): the full
# list of names runs against three of them, this sample against all the others.
NAMES_SAMPLE = (
    "dot dot encoded",
    "nul",
    "trailing newline",
    "rtl override",
    "emoji",
    "129 characters",
)
SLASHED_SAMPLE = ("dot dot slash", "encoded slash")
BODY_SAMPLE = ("truncated json", "array", "null", "invalid utf-8", "deep nesting")


def P(id_: str, case: Case) -> tuple[str, Case]:  # noqa: N802
    return id_, case


def body_cases(
    prefix: str,
    method: str,
    path: str,
    valid: dict[str, Any],
    kinds: dict[str, str],
    required: tuple[str, ...] = (),
    empty_is_valid: bool = False,
    auth: bool = True,
    full: bool = False,
) -> list[Any]:
    """Every field with every wrong value of its kind, the rest of the body valid; each
    required field missing; an unknown field; and the body-level hostilities."""
    wrong_by_kind = {
        "str": {**STRING_WRONG, "null": None},
        "str?": STRING_WRONG,
        "b64": {**BASE64_WRONG, "null": None},
        "b64?": BASE64_WRONG_SHORT,
        "bool": {**BOOL_WRONG, "null": None},
        "int?": INT_WRONG,
    }
    cases = []
    for name, kind in kinds.items():
        for label, value in wrong_by_kind[kind].items():
            cases.append(P(f"{prefix} {name}={label}", Case(method, path, {**valid, name: value})))
    for name in required:
        rest = {k: v for k, v in valid.items() if k != name}
        cases.append(P(f"{prefix} missing {name}", Case(method, path, rest)))
    cases += [
        P(f"{prefix} unknown field", Case(method, path, {**valid, "bogus": 1})),
        P(
            f"{prefix} unknown field spelled like a known one",
            Case(method, path, {**valid, "Plaintext": "QQ=="}),
        ),
        *envelope_cases(prefix, method, path, empty_is_valid=empty_is_valid, auth=auth, full=full),
    ]
    return cases


def envelope_cases(
    prefix: str,
    method: str,
    path: str,
    empty_is_valid: bool = False,
    auth: bool = True,
    full: bool = False,
) -> list[Any]:
    """The body as a whole: not JSON, not an object, too big, of another media type; no
    credentials. `full` runs every malformed body, else a sample."""
    cases = [
        P(f"{prefix} body {label}", Case(method, path, raw))
        for label, raw in BODY_WRONG.items()
        if full or label in BODY_SAMPLE
    ]
    cases += [
        P(
            f"{prefix} body over the limit",
            Case(
                method,
                path,
                b"{" + b" " * MAX_BODY_BYTES + b"}",
                status=413,
                code="payload_too_large",
            ),
        ),
        P(
            f"{prefix} text/plain body",
            Case(method, path, b"{}", status=415, content_type="text/plain"),
        ),
        P(
            f"{prefix} form body",
            Case(
                method, path, b"a=1", status=415, content_type="application/x-www-form-urlencoded"
            ),
        ),
    ]
    if auth:
        cases += [
            P(
                f"{prefix} no credentials",
                Case(method, path, {}, status=401, code="unauthenticated", anonymous=True),
            ),
            P(
                f"{prefix} garbage bearer token",
                Case(
                    method,
                    path,
                    {},
                    status=401,
                    code="unauthenticated",
                    headers={"HTTP_AUTHORIZATION": "Bearer egd_nope"},
                    anonymous=True,
                ),
            ),
        ]
    if not empty_is_valid:
        cases.append(P(f"{prefix} empty object", Case(method, path, {})))
    return _one_door(cases)


def _one_door(cases: list[tuple[str, Case]]) -> list[tuple[str, Case]]:
    return [(name, dataclasses.replace(case, both_doors=False)) for name, case in cases]


def name_cases(
    prefix: str, method: str, template: str, body: Any, creates: bool = False, full: bool = False
) -> list[Any]:
    """The key name in the URL: refused before anything is looked up or changed."""
    cases = []
    for label, text in NAMES.items():
        if not full and label not in NAMES_SAMPLE:
            continue
        expected = (
            dict(status=400, code="invalid_request")
            if creates
            else dict(status=404, code="key_not_found")
        )
        cases.append(
            P(f"{prefix} name {label}", Case(method, template.format(text), body, **expected))
        )
    for label, text in SLASHED_NAMES.items():
        if not full and label not in SLASHED_SAMPLE:
            continue
        cases.append(
            P(
                f"{prefix} name {label}",
                Case(method, template.format(text), body, status=404, code="not_found"),
            )
        )
    return _one_door(cases)


NO_BODY = NOTHING
ENCRYPT = {"plaintext": "QQ=="}

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
        Case(
            "POST", "/v1/auth/tokens", {"username": "root", "password": "pw-root", "expires_in": 59}
        ),
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
        Case(
            "POST", "/v1/auth/tokens", {"username": "root", "password": "pw-root", "name": "a\x00"}
        ),
    ),
    P(
        "token create name lone surrogate",
        Case(
            "POST", "/v1/auth/tokens", {"username": "root", "password": "pw-root", "name": "\ud800"}
        ),
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
        Case(
            "POST", "/v1/kms/keys/new-ec", {"type": "ecdsa-p256", "max_signatures_per_version": 0}
        ),
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
    # --- GET public, export ---
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
        Case("GET", "/v1/kms/keys/aes/export", status=403, code="export_disabled"),
    ),
    *name_cases("export", "GET", "/v1/kms/keys/{}/export", NO_BODY),
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
                lambda w: {"ciphertext": _join(2, _split(w.ct_v2)[1] + b"\x00")},
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
                lambda w: {"ciphertext": _join(1, _split(w.ct_rsa)[1] + b"\x00")},
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
                    "signature": _join(1, _split(w.sig_ed)[1] + b"\x00"),
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
    *name_cases(
        "verify", "POST", "/v1/kms/verify/{}", {"data": "ZGF0YQ==", "signature": "egide:v1:AAAA"}
    ),
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
    *name_cases(
        "grant add", "POST", "/v1/kms/keys/{}/grants", {"user": "root", "permissions": ["encrypt"]}
    ),
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


# --- the test --------------------------------------------------------------------------
# The cases run in groups (by endpoint, the first word of their name), each group against
# one World: building the keys costs far more than a request, and a refused request
# leaves the World as it was (which each case checks). Every failing case of a group is
# reported, by name, not just the first.

GROUPS: dict[str, list[tuple[str, Case]]] = {}
for _name, _case in CASES:
    GROUPS.setdefault(_name.split(" ")[0], []).append((_name, _case))
# The data plane has two doors: a bearer token takes the lean views (kms.dataplane), a
# session the DRF views (kms.api). Both must refuse alike.
DATA_PLANE = {"encrypt", "decrypt", "rewrap", "datakey", "sign", "verify"}
RUNS = [
    pytest.param(group, door, id=f"{group}-{door}")
    for group in GROUPS
    for door in (("token", "session") if group in DATA_PLANE else ("token",))
]


def _send(client: Any, case: Case, world: World | None) -> Any:
    body = case.body(world) if callable(case.body) else case.body
    kwargs: dict[str, Any] = dict(case.headers)
    if body is not NOTHING:
        kwargs["data"] = body if isinstance(body, bytes) else json.dumps(body).encode()
        kwargs["content_type"] = case.content_type
    return client.generic(case.method, case.path, **kwargs)


def _check(case: Case, response: Any) -> None:
    status = response.status_code
    assert status < 500, (status, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), (status, response.content[:300])
    body = response.json()
    if case.status is None:  # any 4xx in our shape: the exact code is another test's subject
        assert 400 <= status < 500 and set(body) == {"error"}, (status, body)
    elif case.status == 200 and case.items:
        assert status == 200, (status, body)
        assert [item.get("error", {}).get("code") for item in body["data"]["batch"]] == list(
            case.items
        ), body
    elif case.status == 200:
        assert status == 200, (status, body)
        assert (
            body["data"] == {"valid": False}
            or "next_cursor" in body
            or isinstance(body["data"], list)
        ), body
    else:
        assert (status, set(body)) == (case.status, {"error"}), (status, body)
        if case.code is not None:
            assert body["error"]["code"] == case.code, body
    if "error" in body:
        assert set(body["error"]) == {"code", "message"}, body
        assert isinstance(body["error"]["message"], str) and body["error"]["message"], body


def _where(exc: BaseException) -> str:
    """The exception and the innermost frame of Egide's code that it passed through."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/kms/" in f.filename]
    place = f" at {frames[-1].filename.split('/kms/')[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {str(exc)[:200]}{place}"


def _fresh_budgets() -> None:
    """Throttle and login-failure counts start afresh for each case (they are their own tests)."""
    from axes.models import AccessAttempt
    from django.core.cache import cache

    cache.clear()
    AccessAttempt.objects.all().delete()


@pytest.mark.parametrize(("group", "door"), RUNS)
def test_hostile_input_is_refused_with_a_4xx_json_error_and_changes_nothing(
    group: str, door: str, world: World, root: Any, api_root: Any, anon: Any
) -> None:
    from django.db import transaction
    from rest_framework.test import APIClient

    client = api_root
    if door == "session":
        client = APIClient()
        client.force_login(root)

    cases = [(name, case) for name, case in GROUPS[group] if door == "token" or case.both_doors]
    failures = []
    before = db_state()
    for name, case in cases:
        _fresh_budgets()
        try:
            with transaction.atomic():  # a database error stays within its case
                response = _send(anon if case.anonymous else client, case, world)
            _check(case, response)
        except AssertionError as exc:
            failures.append(f"{name}: {str(exc)[:400]}")
        except Exception as exc:  # noqa: BLE001 - escaping the view: a 500 in production
            failures.append(f"{name}: raised {_where(exc)}")
        after = db_state()
        # A verification that fails (200, valid false) or a batch (200) is still a counted use.
        changed = (
            after != before
            if case.status != 200
            else without_use_counts(after) != without_use_counts(before)
        )
        if changed:
            failures.append(f"{name}: the database changed")
        before = after
    if failures:
        pytest.fail(
            f"{len(failures)} of {len(cases)} cases failed:\n" + "\n".join(failures),
            pytrace=False,
        )
