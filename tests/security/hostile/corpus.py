"""The hostile-input corpus: what every refused request must look like, and how a group runs.

Each case is one request that must be refused: malformed JSON, wrong JSON types, missing
and unknown fields, bodies over the limit, empty and huge values, bad base64, truncated
and bit-flipped ciphertexts, ciphertexts of another key, version or context, signatures
that do not parse, key names with path, control and unicode characters, over-long names.
The cases live by surface in tests/security/hostile/cases_*.py; each surface has its test
module (tests/security/test_hostile_*.py) running its groups through `run_group`.

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

from kms.dataplane.parse import MAX_BODY_BYTES, MAX_ITEM_BYTES
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


def split_token(token: str) -> tuple[int, bytes]:
    version, _, body = token.removeprefix("egide:v").partition(":")
    return int(version), base64.b64decode(body)


def join_token(version: int, blob: bytes) -> str:
    return f"egide:v{version}:{b64(blob)}"


def flipped(token: str, at: int = -1) -> str:
    version, blob = split_token(token)
    mangled = bytearray(blob)
    mangled[at] ^= 0x01
    return join_token(version, bytes(mangled))


def truncated(token: str, keep: int | None = None) -> str:
    version, blob = split_token(token)
    return join_token(version, blob[:keep] if keep is not None else blob[:-1])


def relabeled(token: str, version: int) -> str:
    return join_token(version, split_token(token)[1])


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
            Case(method, path, b"a=1", status=415, content_type="application/x-www-form-urlencoded"),
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
        expected = dict(status=400, code="invalid_request") if creates else dict(status=404, code="key_not_found")
        cases.append(P(f"{prefix} name {label}", Case(method, template.format(text), body, **expected)))
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

# --- the test --------------------------------------------------------------------------
# The cases run in groups (by endpoint, the first word of their name), each group against
# one World: building the keys costs far more than a request, and a refused request
# leaves the World as it was (which each case checks). Every failing case of a group is
# reported, by name, not just the first.


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
        assert [item.get("error", {}).get("code") for item in body["data"]["batch"]] == list(case.items), body
    elif case.status == 200:
        assert status == 200, (status, body)
        assert body["data"] == {"valid": False} or "next_cursor" in body or isinstance(body["data"], list), body
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


def groups(cases: list[tuple[str, Case]]) -> dict[str, list[tuple[str, Case]]]:
    """The cases by endpoint: the first word of their name."""
    out: dict[str, list[tuple[str, Case]]] = {}
    for name, case in cases:
        out.setdefault(name.split(" ")[0], []).append((name, case))
    return out


# The data plane has two doors: a bearer token (the fast lane in production) and a browser
# session; both go through the one pipeline and must refuse alike.
DATA_PLANE = {"encrypt", "decrypt", "rewrap", "datakey", "sign", "verify"}


def runs(grouped: dict[str, list[tuple[str, Case]]]) -> list[Any]:
    return [
        pytest.param(group, door, id=f"{group}-{door}")
        for group in grouped
        for door in (("token", "session") if group in DATA_PLANE else ("token",))
    ]


def run_group(cases: list[tuple[str, Case]], door: str, world: World, root: Any, api_root: Any, anon: Any) -> None:
    """Send every case of one group; fail naming each case that was not refused as it should be."""
    from django.db import transaction
    from rest_framework.test import APIClient

    client = api_root
    if door == "session":
        client = APIClient()
        client.force_login(root)

    cases = [(name, case) for name, case in cases if door == "token" or case.both_doors]
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
        changed = after != before if case.status != 200 else without_use_counts(after) != without_use_counts(before)
        if changed:
            failures.append(f"{name}: the database changed")
        before = after
    if failures:
        pytest.fail(
            f"{len(failures)} of {len(cases)} cases failed:\n" + "\n".join(failures),
            pytrace=False,
        )
