"""The key page's panels, loaded after the page (kms.web.key_panels): each is a URL of its
own, so each is held to what the page gave: 404 for a key one may not see, the grants editor
and the key's events only to who got them on the page, and the page's audit events."""

from __future__ import annotations

import pytest

from kms.models import AuditEvent
from kms.services.approvals import approval_approve
from kms.services.keys import key_create, key_delete
from tests.conftest import make_user
from tests.web.conftest import htmx, key_page, lazy_panels, logged_in, web_actor

PANELS = {
    "settings": ("key-settings", "Settings"),  # GET: the section; POST saves (kms.web.key_detail)
    "usage": ("key-usage", "Operations per day"),
    "approvals": ("key-approvals", "Approval requests"),
    "grants": ("grants", "Who may do what"),
    "events": ("key-events", "Recent changes and use"),
}


def test_the_page_loads_each_panel_after_it(as_alice, aes_key):
    html = as_alice.get("/keys/payments/").content.decode()
    assert lazy_panels(html) == ["/keys/payments/settings/", "/keys/payments/usage/", "/keys/payments/approvals/",
                                 "/keys/payments/grants/", "/keys/payments/events/"]  # fmt: skip
    assert 'hx-trigger="load"' in html and "<noscript>" in html  # without script: a link to each


@pytest.mark.parametrize("panel", PANELS)
def test_a_panel_answers_htmx_with_its_section_alone(as_alice, aes_key, panel):
    section_id, title = PANELS[panel]
    response = htmx(as_alice, "get", f"/keys/payments/{panel}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<section id="{section_id}"') and title in html
    assert "<html" not in html
    assert "hx-swap-oob" not in html  # the page's messages stay the page's


@pytest.mark.parametrize("panel", PANELS)
def test_without_script_a_panel_is_a_page_of_its_own(as_alice, aes_key, panel):
    section_id, title = PANELS[panel]
    html = as_alice.get(f"/keys/payments/{panel}/").content.decode()
    assert "<html" in html and f'<section id="{section_id}"' in html and title in html
    assert 'href="/keys/payments/"' in html  # back to the key


@pytest.mark.parametrize("panel", PANELS)
@pytest.mark.parametrize("how", ["htmx", "page"])
def test_an_outsider_gets_not_found_from_every_panel(as_mallory, aes_key, panel, how):
    response = htmx(as_mallory, "get", f"/keys/payments/{panel}/") if how == "htmx" else as_mallory.get(
        f"/keys/payments/{panel}/")  # fmt: skip
    assert response.status_code == 404
    assert b"aes256" not in response.content and b"alice" not in response.content


@pytest.mark.parametrize("panel", PANELS)
def test_a_key_that_does_not_exist_is_not_found_either(as_alice, panel):
    assert htmx(as_alice, "get", f"/keys/nothing-here/{panel}/").status_code == 404


def test_the_panels_refuse_to_change_anything(as_alice, aes_key):
    for panel in set(PANELS) - {"settings"}:
        assert as_alice.post(f"/keys/payments/{panel}/").status_code == 405


def test_the_settings_form_is_given_only_to_who_may_manage(as_alice, as_bob, alice, aes_key):
    assert 'name="min_decryption_version"' in htmx(as_alice, "get", "/keys/payments/settings/").content.decode()
    html = htmx(as_bob, "get", "/keys/payments/settings/").content.decode()
    assert "Min. decryption version" in html and 'name="min_decryption_version"' not in html
    key_delete(actor=web_actor(alice), name="payments")  # no settings change while deleted: facts only
    html = htmx(as_alice, "get", "/keys/payments/settings/").content.decode()
    assert "Min. decryption version" in html and "<form" not in html


def test_a_key_user_s_page_shows_the_settings_in_place(as_bob, aes_key):
    html = as_bob.get("/keys/payments/").content.decode()
    assert "Min. decryption version" in html and "/keys/payments/settings/" not in lazy_panels(html)


def test_the_grants_editor_is_given_only_to_who_may_grant(as_alice, as_bob, aes_key):
    assert "Add a grant" in htmx(as_alice, "get", "/keys/payments/grants/").content.decode()
    html = htmx(as_bob, "get", "/keys/payments/grants/").content.decode()
    assert "Who may do what" in html and "Add a grant" not in html and "Remove view from" not in html


def test_the_events_are_shown_to_the_administrator_and_not_to_a_key_user(as_alice, as_bob, aes_key):
    assert "<code>create</code>" in htmx(as_alice, "get", "/keys/payments/events/").content.decode()
    html = htmx(as_bob, "get", "/keys/payments/events/").content.decode()
    assert "<code>create</code>" not in html and "shown to its administrators and to auditors" in html


def test_the_page_and_its_panels_write_the_events_the_page_wrote(as_alice, aes_key):
    """One `info` for the page, one `grants_list` for its grants, and — the events panel being
    a URL of its own — one `audit_search` for the key's events it shows; the chart and the
    requests panels read as part of that visit."""
    before = AuditEvent.objects.latest("seq").seq
    key_page(as_alice, "payments")
    made = list(AuditEvent.objects.filter(seq__gt=before).order_by("seq").values_list("action", "outcome"))
    assert sorted(made) == [("audit_search", "success"), ("grants_list", "success"), ("info", "success")]


def test_reading_a_key_s_events_without_its_page_is_on_record(as_alice, aes_key):
    before = AuditEvent.objects.latest("seq").seq
    assert "<code>create</code>" in htmx(as_alice, "get", "/keys/payments/events/").content.decode()
    made = AuditEvent.objects.filter(seq__gt=before)
    assert [(e.action, e.outcome, e.key_name, e.details.get("panel")) for e in made] == [
        ("audit_search", "success", "payments", "key_events")
    ]


def test_a_viewer_shown_no_events_leaves_no_search_on_record(as_bob, aes_key):
    before = AuditEvent.objects.latest("seq").seq
    htmx(as_bob, "get", "/keys/payments/events/")
    assert not AuditEvent.objects.filter(seq__gt=before, action="audit_search").exists()


def test_an_outsider_s_panel_read_is_audited_as_denied(as_mallory, aes_key):
    before = AuditEvent.objects.latest("seq").seq
    htmx(as_mallory, "get", "/keys/payments/grants/")
    made = AuditEvent.objects.filter(seq__gt=before).values_list("action", "outcome", "error_code", "key_uid")
    assert list(made) == [("grants_list", "denied", "key_not_found", "")]


def test_the_approvals_panel_lists_the_key_s_requests_with_their_decisions(django_user_model, alice, carol):
    erin = make_user(django_user_model, "erin", "kms-approver")
    key_create(actor=web_actor(alice), name="guarded", key_type="aes256", approvals_required=2)
    from kms.exceptions import ApprovalRequired

    with pytest.raises(ApprovalRequired) as asked:
        key_delete(actor=web_actor(alice), name="guarded")
    approval_approve(actor=web_actor(carol), request_id=asked.value.request.pk)
    html = htmx(logged_in(erin), "get", "/keys/guarded/approvals/").content.decode()
    assert "Delete key guarded — restorable" in html and "1 of 2: carol" in html
    assert "Approve request" in html  # erin may still decide
    assert "2 approvals needed" in html
