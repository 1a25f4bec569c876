"""A property-based run over the published schema: no 5xx, and every answer as the schema says.

Schemathesis reads /v1/schema from the WSGI application (egide_site.wsgi, the data plane's
fast lane in front of Django) and sends generated requests, valid
and invalid, to every operation, as a superuser (so requests reach the services), with one
exportable key of each type in place; most generated key names are replaced by one of
those, so the services run and not only the 404.
"""

from __future__ import annotations

import functools
import zlib

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from kms.services.actor import Actor
from kms.services.tokens import token_create

pytestmark = pytest.mark.django_db

KEYS = {
    "my-key": "aes256", "rsa": "rsa2048", "p256": "ecdsa-p256", "p384": "ecdsa-p384", "ed": "ed25519",
}  # fmt: skip
FOR_ENCRYPTION = ["my-key", "my-key", "rsa"]
FOR_SIGNING = ["rsa", "p256", "p384", "ed", "ed"]
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance")  # fmt: skip
EXAMPLES = 25


@functools.cache
def api_schema():
    # The production entry point: the data plane's fast lane in front of Django.
    from django.test import override_settings

    from egide_site.wsgi import application

    # The schema needs a user unless opened (EGIDE_API_DOCS_PUBLIC); no user exists while
    # the tests are collected, and who may read the schema is tests/api/test_schema.py's.
    with override_settings(EGIDE_API_DOCS_PUBLIC=True):
        return schemathesis.openapi.from_wsgi("/v1/schema?format=json", application)


@functools.cache
def operations() -> dict[str, object]:
    return {op.label: op for op in (result.ok() for result in api_schema().get_all_operations())}


@functools.cache
def checks() -> list:
    from schemathesis.checks import CHECKS as REGISTRY
    from schemathesis.checks import load_all_checks

    load_all_checks()
    return [REGISTRY.get_one(name) for name in CHECKS]


@pytest.fixture
def in_process_requests(monkeypatch):
    # As Django's test client does: a request must not close the test's connection (and with
    # it the transaction that every test runs in), nor may the fast lane.
    monkeypatch.setattr("kms.dataplane.wsgi.close_old_connections", lambda opened=None: [])
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def root_token(root, create_key, in_process_requests, settings) -> str:
    settings.EGIDE_THROTTLE_LOGIN = "100000/min"
    for name, key_type in KEYS.items():
        create_key(name, key_type, exportable=True)
    return token_create(actor=Actor.system(), user=root)[1]


@pytest.fixture
def real_tokens(root_token, system) -> dict[str, str]:
    from kms.services import crypto_ops

    sealed = crypto_ops.encrypt(actor=system, name="my-key", plaintext=b"fuzz")
    signed = crypto_ops.sign(actor=system, name="ed", data=b"fuzz")
    return {"ciphertext": sealed.ciphertext, "signature": signed.signature}


def aim_at_real_keys(case, tokens: dict[str, str]) -> None:
    """Most generated key names become a key fit for the operation, and some generated
    ciphertexts and signatures real ones: so the services run to success, not only to a 4xx."""
    turn = zlib.crc32(repr((case.path_parameters, case.body, case.query)).encode())
    if "name" in (case.path_parameters or {}) and turn % 4:
        path = case.operation.path
        fit = (
            FOR_ENCRYPTION
            if any(f"/{op}/" in path for op in ("encrypt", "decrypt", "datakey", "rewrap"))
            else (FOR_SIGNING if "/sign/" in path or "/verify/" in path else sorted(KEYS))
        )
        case.path_parameters["name"] = fit[turn % len(fit)]
    if isinstance(case.body, dict) and turn % 3 == 0:
        for field, key, drop in (("ciphertext", "my-key", ("context",)),
                                 ("signature", "ed", ("algorithm", "padding", "prehashed"))):  # fmt: skip
            if isinstance(case.body.get(field), str):
                case.body[field] = tokens[field]
                case.path_parameters["name"] = key
                for name in drop:
                    case.body.pop(name, None)


@pytest.mark.parametrize("label", sorted(operations()))
def test_the_operation_answers_as_its_schema_says(label, root_token, real_tokens):
    operation = operations()[label]
    strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                         operation.as_strategy(GenerationMode.NEGATIVE))  # fmt: skip

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              derandomize=True, database=None)  # fmt: skip
    @given(case=strategy)
    def run(case) -> None:
        aim_at_real_keys(case, real_tokens)
        response = case.call_and_validate(headers={"Authorization": f"Bearer {root_token}"}, checks=checks())
        assert response.headers.get("x-request-id"), "every answer carries X-Request-Id"

    run()


def test_the_run_covers_every_operation():
    assert len(operations()) >= 25
