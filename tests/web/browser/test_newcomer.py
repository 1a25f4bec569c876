"""Issue 18's "Done when": the README's first hour, as a newcomer walks it in a real browser
(README, "Setting up a team" for the people; the key page for the rest): log in, create a
key with deliberate mistakes and fix them, grant (a typo first), ask to delete the key, and approve the
deletion as another user. Any console error, uncaught page error or CSP violation fails it;
every page it visits is photographed at 1400×900 and 390×844 (test-artifacts/screenshots/)."""

from __future__ import annotations

import re
import secrets

import pytest
from django.core.cache import cache

from tests.web.browser.conftest import log_in, log_out
from tests.web.browser.strict import both_widths, strict_page
from tests.web.browser.test_team_setup import add_user

pytestmark = [pytest.mark.browser]

KEY = "payments-prod"


@pytest.fixture
def admin(transactional_db, django_user_model):
    cache.clear()  # the per-address password rate: this test logs in several times
    password = secrets.token_urlsafe(12)
    django_user_model.objects.create_superuser(username="admin", email="", password=password)
    return password


def create_with_mistakes_then_fix(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="Create a key").click()
    both_widths(page, "first-hour-04-create")
    page.get_by_label("Name", exact=True).fill("Payments Prod!")  # no spaces, no '!'
    page.get_by_label("Type", exact=True).select_option("aes256")
    page.get_by_label("Rotation period").fill("soon")  # not a duration
    page.get_by_label("Approvals required").fill("1")
    page.get_by_role("button", name="Create key").click()
    form = page.locator("#create-form")
    # one submit, both errors, each beside its field; what was typed is kept
    expect(form.locator(".field", has=page.get_by_label("Name", exact=True)).locator(".errorlist")).to_be_visible()
    expect(form.locator(".field", has=page.get_by_label("Rotation period")).locator(".errorlist")).to_be_visible()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Payments Prod!")
    both_widths(page, "first-hour-05-create-mistakes")
    page.get_by_label("Name", exact=True).fill(KEY)
    page.get_by_label("Rotation period").fill("90d")
    page.get_by_role("button", name="Create key").click()
    page.wait_for_url(f"**/keys/{KEY}/")
    expect(page.locator("#flash")).to_contain_text(f"Key '{KEY}' created.")
    both_widths(page, "first-hour-06-key")


def grant(page) -> None:
    from playwright.sync_api import expect

    grants = page.locator("#grants")
    grants.get_by_label("Grant to").select_option("user")
    grants.get_by_label("User or group name").fill("payments-scv")  # a typo: no such user
    grants.get_by_label("encrypt", exact=True).check()
    grants.get_by_role("button", name="Grant", exact=True).click()
    # refused in place: the error in the form, what was typed kept
    expect(grants.get_by_role("alert")).to_contain_text("Grant not added")
    expect(grants.get_by_label("User or group name")).to_have_value("payments-scv")
    expect(grants.get_by_label("encrypt", exact=True)).to_be_checked()
    both_widths(page, "first-hour-07-grant-refused")
    grants.get_by_label("User or group name").fill("payments-svc")
    grants.get_by_role("button", name="Grant", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("waiting for 1 approval")
    both_widths(page, "first-hour-07-grant-waits")


def ask_to_delete(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Delete key “{KEY}”?")
    both_widths(page, "first-hour-08-delete")
    page.get_by_label("Type the key's name to confirm").fill(KEY)
    page.get_by_role("button", name=f"Delete {KEY}").click()
    page.wait_for_url(f"**/keys/{KEY}/")
    expect(page.locator("#flash")).to_contain_text("waiting for 1 approval")
    expect(page.locator("#key-h")).to_contain_text("active")


def approve_deletion(page) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#awaiting-count")).to_contain_text("2")  # the grant and the deletion
    page.get_by_role("link", name=re.compile("^Approvals")).click()
    request = page.locator("article.request").filter(has_text=f"Delete key {KEY} — restorable for 30 days")
    expect(request).to_have_count(1)
    both_widths(page, "first-hour-10-approvals")
    request.get_by_role("button", name=re.compile(r"^Approve request")).click()
    expect(page.locator("#flash")).to_contain_text("it is now executed")
    page.goto(f"/keys/{KEY}/")
    expect(page.locator("#key-h")).to_contain_text("deleted")
    both_widths(page, "first-hour-11-key-deleted")


def test_the_first_hour_of_a_newcomer(browser, live_server, admin):
    with strict_page(browser, live_server.url) as (page, _errors):
        page.goto("/login/")
        both_widths(page, "first-hour-01-login")
        log_in(page, "admin", admin)
        both_widths(page, "first-hour-02-keys")
        alice = add_user(page, "alice", "kms-admin")
        carol = add_user(page, "carol", "kms-approver")
        add_user(page, "payments-svc")
        both_widths(page, "first-hour-03-users")
        log_out(page)

        log_in(page, "alice", alice)
        create_with_mistakes_then_fix(page)
        grant(page)
        ask_to_delete(page)
        log_out(page)

        log_in(page, "carol", carol)
        both_widths(page, "first-hour-09-carol-lands")
        approve_deletion(page)
        log_out(page)
