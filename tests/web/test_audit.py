"""The audit log: auditors only; filters; JSON lines export of the filtered set."""

from __future__ import annotations

import json
from datetime import timedelta

from django.utils import timezone

from kms.models import AuditEvent
from kms.services import crypto_ops
from tests.web.conftest import htmx, web_actor


def test_it_shows_the_log_to_an_auditor(as_dave, aes_key):
    response = as_dave.get("/audit/")
    assert response.status_code == 200
    assert "<code>create</code>" in response.content.decode()


def test_it_refuses_the_log_to_anyone_else(as_alice, as_bob, as_mallory, aes_key):
    for client in (as_alice, as_bob, as_mallory):
        response = client.get("/audit/")
        assert response.status_code == 403
        assert b"needs the auditor role" in response.content
        assert client.get("/audit/export.jsonl").status_code == 403
    assert AuditEvent.objects.filter(action="audit_search", outcome="denied").count() == 3


def test_it_shows_the_audit_link_only_to_auditors(as_dave, as_bob):
    assert b'href="/audit/"' in as_dave.get("/").content
    assert b'href="/audit/"' not in as_bob.get("/").content


def test_it_filters_by_key_actor_action_and_outcome(as_dave, bob, aes_key, signing_key):
    crypto_ops.encrypt(actor=web_actor(bob), name="payments", plaintext=b"x")
    by_key = as_dave.get("/audit/", {"key": "signer"}).context["events"]
    assert by_key and {e.key_name for e in by_key} == {"signer"}
    by_actor = as_dave.get("/audit/", {"actor": "bob", "action": "encrypt"}).context["events"]
    assert [(e.actor_name, e.action) for e in by_actor] == [("bob", "encrypt")]
    denied = as_dave.get("/audit/", {"outcome": "denied"}).context["events"]
    assert all(e.outcome == "denied" for e in denied)


def test_it_filters_by_time(as_dave, aes_key):
    future = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert list(as_dave.get("/audit/", {"since": future}).context["events"]) == []
    assert as_dave.get("/audit/", {"until": future}).context["events"]


def test_it_refuses_a_filter_it_cannot_read(as_dave):
    response = as_dave.get("/audit/", {"since": "yesterday", "outcome": "maybe"})
    assert response.status_code == 400
    assert "The filter cannot be read" in response.content.decode()
    assert as_dave.get("/audit/export.jsonl", {"since": "yesterday"}).status_code == 400


def test_it_answers_htmx_with_the_events_only(as_dave, aes_key):
    html = htmx(as_dave, "get", "/audit/", {"key": "payments"}).content.decode()
    assert html.lstrip().startswith('<div id="events">') and "<html" not in html


def test_it_pages_to_older_events(as_dave, bob, aes_key):
    for _ in range(55):
        crypto_ops.encrypt(actor=web_actor(bob), name="payments", plaintext=b"x")
    first = as_dave.get("/audit/", {"action": "encrypt"})
    assert len(first.context["events"]) == 50 and "Older events" in first.content.decode()
    before = first.context["events"][-1].seq
    older = as_dave.get("/audit/", {"action": "encrypt", "before": before}).context["events"]
    assert len(older) == 5 and all(e.seq < before for e in older)


def test_it_exports_the_filtered_set_as_json_lines(as_dave, bob, aes_key, signing_key):
    crypto_ops.encrypt(actor=web_actor(bob), name="payments", plaintext=b"secret")
    response = as_dave.get("/audit/export.jsonl", {"key": "payments"})
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"].startswith('attachment; filename="egide-audit-')
    body = b"".join(response.streaming_content).decode()
    rows = [json.loads(line) for line in body.splitlines()]
    assert {r["key"] for r in rows} == {"payments"}
    assert {"create", "encrypt"} <= {r["action"] for r in rows}
    assert all("chain_hash" in r and "details" in r for r in rows)
    assert "secret" not in body and "c2VjcmV0" not in body  # never the plaintext
    export = AuditEvent.objects.get(action="audit_export")
    assert export.actor_name == "dave" and export.details["filters"] == {"key": "payments", "hide_reads": True}


def test_the_export_link_carries_the_filters(as_dave, aes_key):
    html = as_dave.get("/audit/", {"key": "payments", "outcome": "success"}).content.decode()
    assert 'href="/audit/export.jsonl?key=payments&amp;outcome=success"' in html


def test_reads_are_kept_but_hidden_unless_asked(as_dave, bob, aes_key):
    """Issue 18: page views and look-ups (audit_log.READ_ACTIONS) stay in the trail, hidden by
    default; 'Show reads' or naming a read action shows them; the key page shows no reads."""
    from kms.services.audit_log import READ_ACTIONS
    from kms.services.keys import key_info

    key_info(actor=web_actor(bob), name="payments")
    crypto_ops.encrypt(actor=web_actor(bob), name="payments", plaintext=b"x")
    assert {"info", "list", "grants_list", "audit_search"} <= READ_ACTIONS
    as_dave.get("/audit/")  # an audit_search: itself a read
    hidden = {e.action for e in as_dave.get("/audit/", {"key": "payments"}).context["events"]}
    assert {"create", "encrypt"} <= hidden and not hidden & READ_ACTIONS
    page = as_dave.get("/audit/").content.decode()
    assert "Show reads" in page and "Reads (page views, look-ups) are hidden" in page
    shown = {e.action for e in as_dave.get("/audit/", {"reads": "on"}).context["events"]}
    assert {"info", "audit_search", "create", "encrypt"} <= shown
    named = {e.action for e in as_dave.get("/audit/", {"action": "info"}).context["events"]}
    assert named == {"info"}
    body = b"".join(as_dave.get("/audit/export.jsonl", {"key": "payments"}).streaming_content).decode()
    assert '"action":"encrypt"' in body and '"action":"info"' not in body
    body = b"".join(as_dave.get("/audit/export.jsonl", {"key": "payments", "reads": "on"}).streaming_content)
    assert b'"action":"info"' in body
    assert AuditEvent.objects.filter(key_name="payments", action="info").exists()  # kept


def test_the_key_page_shows_changes_and_use_not_reads(as_alice, bob, aes_key):
    crypto_ops.encrypt(actor=web_actor(bob), name="payments", plaintext=b"x")
    as_alice.get("/keys/payments/")  # an info event
    response = htmx(as_alice, "get", "/keys/payments/events/")  # the page's panel (kms.web.key_panels)
    actions = {e.action for e in response.context["events"]}
    assert {"create", "encrypt"} <= actions and "info" not in actions
    assert AuditEvent.objects.filter(key_name="payments", action="info").exists()
    assert "Recent changes and use" in response.content.decode()
