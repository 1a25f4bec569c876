"""API tokens are never compared as secrets: only their SHA-256 digests are.

Why this is enough against timing attacks: a request's token is hashed before anything
looks at it, and the lookup (a database index, or the data plane's cache) is by digest.
The time a lookup takes can tell an attacker at most how much of a *digest* they
matched, and they cannot steer a digest towards a stored one without a SHA-256
preimage. On top of that, the ORM path compares the found row's digest with
`hmac.compare_digest` (constant time), so no byte-by-byte comparison of a secret happens
in Python either. Tokens are 256 random bits (`secrets.token_urlsafe(32)`), so an
unsalted fast hash is right here (unlike passwords).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kms.exceptions import Unauthenticated
from kms.models import ApiToken
from kms.services import tokens
from kms.services.actor import Actor
from kms.services.tokens import TOKEN_PREFIX, token_authenticate, token_create


@pytest.fixture
def raw_token(bob: Any) -> str:
    return token_create(actor=Actor.system(), user=bob)[1]


def _sql_of(queries: CaptureQueriesContext) -> str:
    return "\n".join(q["sql"] for q in queries.captured_queries)


def test_a_token_is_stored_only_as_its_sha256_digest(raw_token: str) -> None:
    row = ApiToken.objects.get()
    assert row.token_hash == hashlib.sha256(raw_token.encode()).hexdigest()
    stored = [str(v) for v in ApiToken.objects.values_list().get()]
    assert not any(raw_token in value for value in stored)
    assert row.prefix == raw_token[:12] and len(raw_token) - 12 >= 32  # the shown prefix leaves 32+ secret chars


def test_tokens_carry_256_random_bits(bob: Any) -> None:
    raws = {token_create(actor=Actor.system(), user=bob)[1] for _ in range(20)}
    assert len(raws) == 20
    assert all(raw.startswith(TOKEN_PREFIX) and len(raw) == len(TOKEN_PREFIX) + 43 for raw in raws)


def test_authentication_looks_up_the_digest_never_the_token(raw_token: str) -> None:
    with CaptureQueriesContext(connection) as queries:
        token_authenticate(raw_token)
    sql = _sql_of(queries)
    assert raw_token not in sql and raw_token[len(TOKEN_PREFIX) :] not in sql
    assert hashlib.sha256(raw_token.encode()).hexdigest() in sql


def test_the_found_digest_is_compared_in_constant_time(raw_token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def recording_compare(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(tokens.hmac, "compare_digest", recording_compare)
    token_authenticate(raw_token)
    digest = hashlib.sha256(raw_token.encode()).hexdigest()
    assert calls == [(digest, digest)]


@pytest.mark.parametrize("guess", ["last char changed", "same prefix", "prefix only", "empty", "no prefix"])
def test_a_near_miss_is_refused_with_the_one_message(raw_token: str, guess: str) -> None:
    candidates = {
        "last char changed": raw_token[:-1] + ("A" if raw_token[-1] != "A" else "B"),
        "same prefix": raw_token[:12] + "x" * (len(raw_token) - 12),
        "prefix only": raw_token[:12],
        "empty": "",
        "no prefix": raw_token[len(TOKEN_PREFIX) :],
    }
    with pytest.raises(Unauthenticated, match="^invalid, expired or revoked token$"):
        token_authenticate(candidates[guess])


def test_the_data_plane_also_looks_up_the_digest_never_the_token(raw_token: str, create_key: Any, bob: Any) -> None:
    from guardian.shortcuts import assign_perm
    from rest_framework.test import APIClient

    key = create_key("k")
    assign_perm("kms.encrypt_key", bob, key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_token}")
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/v1/kms/encrypt/k", {"plaintext": "QQ=="}, format="json")
    assert response.status_code == 200, response.content[:300]
    sql = _sql_of(queries)
    assert raw_token[len(TOKEN_PREFIX) :] not in sql
    assert hashlib.sha256(raw_token.encode()).hexdigest() in sql
