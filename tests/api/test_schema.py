"""The OpenAPI 3 schema at /v1/schema describes every endpoint and its errors; /v1/docs shows it."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.contrib.staticfiles import finders
from drf_spectacular.validation import validate_schema

from kms.api import urls

pytestmark = pytest.mark.django_db
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        # Any authenticated user may read it (tests below: not anonymous, unless opened).
        reader = APIClient()
        reader.force_authenticate(SimpleNamespace(is_authenticated=True, pk=0))
        response = reader.get("/v1/schema?format=json")
    assert response.status_code == 200
    return response.json()


def endpoints() -> dict[str, set[str]]:
    """Every API path the URL configuration serves, with the methods its view answers."""
    out: dict[str, set[str]] = {}
    for pattern in urls.urlpatterns:
        view = getattr(pattern.callback, "cls", None)
        if view is None or pattern.name in ("schema", "docs"):
            continue
        path = "/v1/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        out[path] = {m for m in METHODS if hasattr(view, m)}
    return out


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)


def test_the_schema_describes_every_endpoint_and_method(schema):
    served = endpoints()
    assert len(served) >= 25
    described = {path: {m for m in item if m in METHODS} for path, item in schema["paths"].items()}
    assert described == served


def test_the_data_plane_is_described(schema):
    for operation in ("encrypt", "decrypt", "sign", "verify", "datakey", "rewrap"):
        assert "post" in schema["paths"][f"/v1/kms/{operation}/{{name}}"]


def test_every_operation_says_how_it_authenticates(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {**schemes["bearerToken"], "type": "http", "scheme": "bearer"}
    assert schemes["session"]["in"] == "cookie"
    for path, method, operation in operations(schema):
        if (path, method) == ("/v1/auth/tokens", "post"):
            assert operation.get("security") in (None, [], [{}])
        else:
            assert {"bearerToken": []} in operation["security"], (path, method)


def test_every_operation_documents_its_errors_in_the_one_shape(schema):
    for path, method, operation in operations(schema):
        statuses = set(operation["responses"])
        assert {"400", "429"} <= statuses, (path, method)
        if (path, method) != ("/v1/auth/tokens", "post"):
            assert "401" in statuses, (path, method)
        if "requestBody" in operation:
            assert {"413", "415"} <= statuses, (path, method)
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorOut", (path, method, status)


def test_approval_answers_202_where_an_action_can_wait(schema):
    for path, method in [("/v1/kms/keys/{name}", "delete"), ("/v1/kms/keys/{name}", "patch"),
                         ("/v1/kms/keys/{name}/disable", "post"), ("/v1/kms/keys/{name}/export", "post"),
                         ("/v1/kms/keys/{name}/enable", "post"), ("/v1/kms/keys/{name}/restore", "post"),
                         ("/v1/kms/keys/{name}/versions/{version}/disable", "post"),
                         ("/v1/kms/keys/{name}/versions/{version}/enable", "post"),
                         ("/v1/kms/keys/{name}/versions/{version}/restore", "post"),
                         ("/v1/kms/keys/{name}/versions/{version}/destroy", "post")]:  # fmt: skip
        assert "202" in schema["paths"][path][method]["responses"], (path, method)


def _component(schema, ref: str) -> dict:
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_batchable_bodies_are_one_item_or_a_batch(schema):
    for operation in ("encrypt", "decrypt", "sign", "verify"):
        body = schema["paths"][f"/v1/kms/{operation}/{{name}}"]["post"]["requestBody"]["content"]
        shapes = [
            _component(schema, s["$ref"])
            for s in _component(schema, body["application/json"]["schema"]["$ref"])["oneOf"]
        ]
        batch = next(s for s in shapes if "batch" in s["properties"])
        assert batch["properties"]["batch"]["maxItems"] == 1000
        assert all(s["additionalProperties"] is False for s in shapes)
    for operation in ("sign", "verify"):
        body = schema["paths"][f"/v1/kms/{operation}/{{name}}"]["post"]["requestBody"]["content"]
        assert body["application/octet-stream"]["schema"]["format"] == "binary"


def test_binary_fields_are_base64(schema):
    encrypt = _component(schema, "#/components/schemas/EncryptInRequest")
    plaintext = encrypt["properties"]["plaintext"]
    assert (plaintext["type"], plaintext["format"]) == ("string", "byte") and "base64" in plaintext["description"]


@pytest.fixture
def as_bob(bob):
    from django.test import Client

    client = Client()
    client.force_login(bob)
    return client


def test_the_schema_and_the_docs_need_a_user(client):
    assert client.get("/v1/schema").status_code == 401
    assert client.get("/v1/docs").status_code == 401
    assert client.get("/v1/docs?script=").status_code == 401


def test_a_setting_opens_the_schema_and_the_docs(client, settings):
    settings.EGIDE_API_DOCS_PUBLIC = True
    assert client.get("/v1/schema").status_code == 200
    assert client.get("/v1/docs").status_code == 200


def test_the_docs_page_is_served_with_local_assets(as_bob):
    response = as_bob.get("/v1/docs")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "swagger-ui" in page
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(not a.startswith(("http:", "https:", "//")) for a in assets), assets
    for asset in assets:
        if asset.startswith("/static/"):
            assert finders.find(asset.removeprefix("/static/")), asset


def test_the_docs_page_loads_the_schema(as_bob):
    script = as_bob.get("/v1/docs?script=")
    assert script.status_code == 200
    assert "/v1/schema" in script.content.decode()
