"""Finding 1: every authentication leaves an audit event — page, admin and API logins
(success, denied, locked_out), logouts — with its source and the client's address."""

from __future__ import annotations

from django.test import Client
from rest_framework.test import APIClient

from kms.models import AuditEvent

ADDR = "10.7.7.7"


def logins() -> list[tuple[str, str, str, str]]:
    return list(
        AuditEvent.objects.filter(action="login").order_by("seq")
        .values_list("outcome", "source", "client_addr", "actor_name")
    )  # fmt: skip


def test_page_logins_are_audited_with_outcome_source_and_address(bob):
    client = Client(REMOTE_ADDR=ADDR)
    client.post("/login/", {"username": "bob", "password": "wrong"})
    client.post("/login/", {"username": "bob", "password": "pw-bob"})
    assert logins() == [("denied", "web", ADDR, "anonymous"), ("success", "web", ADDR, "bob")]
    denied = AuditEvent.objects.filter(action="login", outcome="denied").get()
    assert denied.details == {"username": "bob"} and denied.error_code == "unauthenticated"
    assert "wrong" not in str(denied.details)


def test_admin_logins_are_audited_as_the_admin_source(root):
    client = Client(REMOTE_ADDR=ADDR)
    client.post("/admin/login/", {"username": "root", "password": "nope"})
    client.post("/admin/login/", {"username": "root", "password": "pw-root"})
    assert logins() == [("denied", "admin", ADDR, "anonymous"), ("success", "admin", ADDR, "root")]


def test_six_failures_lock_out_and_the_lockouts_are_audited(bob):
    client = Client(REMOTE_ADDR=ADDR)
    statuses = [client.post("/login/", {"username": "bob", "password": "x"}).status_code
                for _ in range(6)]  # fmt: skip
    assert statuses[-1] == 429
    outcomes = [o for o, *_ in logins()]
    assert outcomes == ["denied"] * 4 + ["locked_out"] * 2
    right = client.post("/login/", {"username": "bob", "password": "pw-bob"})
    assert right.status_code == 429 and [o for o, *_ in logins()][-1] == "locked_out"


def test_api_logins_are_audited_once_each(bob):
    api = APIClient(REMOTE_ADDR=ADDR)
    api.post("/v1/auth/tokens", {"username": "bob", "password": "bad"}, format="json")
    api.post("/v1/auth/tokens", {"username": "bob", "password": "pw-bob"}, format="json",
             HTTP_X_EGIDE_CLIENT="cli")  # fmt: skip
    assert logins() == [("denied", "api", ADDR, "anonymous"), ("success", "cli", ADDR, "bob")]
    assert AuditEvent.objects.filter(action="token_create", source="cli").count() == 1


def test_logouts_are_audited(bob):
    client = Client(REMOTE_ADDR=ADDR)
    client.post("/login/", {"username": "bob", "password": "pw-bob"})
    client.post("/logout/")
    event = AuditEvent.objects.get(action="logout")
    assert (event.actor_name, event.source, event.client_addr) == ("bob", "web", ADDR)
