"""Finding 6: every /v1/* answer is JSON in the error shape (in DEBUG too), an index, health."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import clear_url_caches

from tests.api.helpers import data, error


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    clear_url_caches()
    return request.param


def test_unknown_paths_answer_the_json_404(debug, db):
    for path in ("/v1/nothing", "/v1/kms/nothing/at/all", "/v1/kms/keys/x/nothing"):
        response = Client().get(path)
        assert response["Content-Type"] == "application/json", path
        error(response, 404, "not_found")


def test_a_wrong_method_answers_the_json_405(debug, db):
    error(Client().put("/v1/health"), 405, "method_not_allowed")
    error(Client().delete("/v1/"), 405, "method_not_allowed")


def test_the_index_lists_the_entry_points(db):
    index = data(Client().get("/v1/"))
    paths = {e["path"] for e in index["entry_points"]}
    assert {"/v1/health", "/v1/auth/tokens", "/v1/kms/keys", "/v1/users"} <= paths
    assert all(path.startswith("/v1/") and "^" not in path for path in paths)


def test_health_says_how_the_database_and_the_audit_sink_are(db, settings):
    body = data(Client().get("/v1/health"))
    assert body == {"status": "ok", "database": "ok",
                    "audit_sink": {"kind": "table", "status": "ok"}}  # fmt: skip


def test_health_fails_when_the_spool_cannot_be_written(db, settings, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    settings.EGIDE_AUDIT_SINK = "spool"
    settings.EGIDE_AUDIT_SPOOL_DIR = blocked / "spool"  # under a file: never writable
    response = Client().get("/v1/health")
    assert response.status_code == 503
    assert response.json()["data"]["audit_sink"] == {"kind": "spool", "status": "failing"}
