"""The API's edges: `GET /v1/` (its entry points), `GET /v1/health` (for load balancers).

Plain Django views, without authentication: they hold nothing secret. An unknown path
under /v1/ answers the JSON 404 (kms.api.errors.api_not_found), in DEBUG too.
"""

from __future__ import annotations

import importlib.metadata
import os
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern

HEALTHY, FAILING = "ok", "failing"


def _method_not_allowed(request: HttpRequest, allowed: str) -> JsonResponse:
    message = f'method "{request.method}" not allowed'
    body = {"error": {"code": "method_not_allowed", "message": message}}
    return JsonResponse(body, status=405, headers={"Allow": allowed})


def entry_points(patterns: list[Any]) -> list[dict[str, str]]:
    """Every named route of the API, as `/v1/<path>` templates (derived, never listed twice)."""
    found = []
    for pattern in patterns:
        route = str(pattern.pattern)
        if isinstance(pattern, URLPattern) and pattern.name and route and not route.startswith("^"):
            found.append({"name": pattern.name, "path": f"/v1/{route}"})
    return found


def server_version() -> str:
    """The installed egide package's version (what `egide status` shows)."""
    try:
        return importlib.metadata.version("egide")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def index(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "HEAD"):
        return _method_not_allowed(request, "GET, HEAD")
    from kms.api.urls import urlpatterns  # the routes include this view: read them at call time

    data = {"version": "1", "server_version": server_version(), "docs": "/v1/docs", "schema": "/v1/schema",
            "entry_points": entry_points(urlpatterns)}  # fmt: skip
    return JsonResponse({"data": data})


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return FAILING
    return HEALTHY


def _audit_sink(database: str) -> dict[str, str]:
    kind = settings.EGIDE_AUDIT_SINK
    if kind == "table":  # events are rows written in each request's transaction
        return {"kind": kind, "status": database}
    spool = settings.EGIDE_AUDIT_SPOOL_DIR
    # The spool directory, or (made on first use) the directory that will hold it.
    where = spool if spool.exists() else spool.parent
    writable = where.is_dir() and os.access(where, os.W_OK | os.X_OK)
    return {"kind": kind, "status": HEALTHY if writable else FAILING}


def health(request: HttpRequest) -> JsonResponse:
    """200 when the database answers and the audit sink can take events; else 503."""
    if request.method not in ("GET", "HEAD"):
        return _method_not_allowed(request, "GET, HEAD")
    database = _database()
    sink = _audit_sink(database)
    ok = database == HEALTHY and sink["status"] == HEALTHY
    body = {"status": HEALTHY if ok else FAILING, "database": database, "audit_sink": sink}
    return JsonResponse({"data": body}, status=200 if ok else 503)
