"""The pages in a real browser beyond the main story: without JavaScript, by keyboard only,
and the grants editor's in-place updates."""

from __future__ import annotations

import pytest

from tests.conftest import make_user
from tests.web.browser.conftest import log_in, screenshot

pytestmark = [pytest.mark.browser]


@pytest.fixture
def alice(transactional_db, django_user_model):
    make_user(django_user_model, "mallory")
    return make_user(django_user_model, "alice", "kms-admin")


def test_basic_forms_work_without_javascript(page_without_js, alice):
    from playwright.sync_api import expect

    page = page_without_js
    log_in(page, "alice", "pw-alice")
    page.goto("/new/")
    page.get_by_label("Name", exact=True).fill("nojs")
    page.get_by_label("Type", exact=True).select_option("ed25519")
    page.get_by_role("button", name="Create key").click()
    page.wait_for_url("**/keys/nojs/")
    page.get_by_role("button", name="Rotate", exact=True).click()
    page.wait_for_url("**/keys/nojs/")  # post/redirect/get, the whole page
    expect(page.locator("#flash")).to_contain_text("now at version 2")
    page.get_by_role("button", name="Disable", exact=True).click()
    expect(page.locator("#key-h")).to_contain_text("disabled")
    page.goto("/?status=disabled")
    expect(page.get_by_role("link", name="nojs")).to_be_visible()


def test_it_can_be_used_by_keyboard_alone(page, alice):
    from playwright.sync_api import expect

    log_in(page, "alice", "pw-alice")
    page.goto("/new/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    page.get_by_label("Name", exact=True).focus()
    page.keyboard.type("by-keys")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Type", exact=True)).to_be_focused()
    page.get_by_label("Name", exact=True).press("Enter")  # Enter submits the form
    page.wait_for_url("**/keys/by-keys/")
    rotate = page.get_by_role("button", name="Rotate", exact=True)
    rotate.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#flash")).to_contain_text("now at version 2")
    # The button was swapped away with the panel: focus lands on the panel, not the page top.
    expect(page.locator("#key-panel")).to_be_focused()


def test_the_grants_editor_updates_in_place(page, alice):
    from playwright.sync_api import expect

    log_in(page, "alice", "pw-alice")
    page.goto("/new/")
    page.get_by_label("Name", exact=True).fill("shared")
    page.get_by_role("button", name="Create key").click()
    page.wait_for_url("**/keys/shared/")
    grants = page.locator("#grants")
    grants.get_by_label("User or group name").fill("mallory")
    grants.get_by_label("view", exact=True).check()
    grants.get_by_label("encrypt", exact=True).check()
    grants.get_by_role("button", name="Grant", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("Granted view, encrypt on 'shared'")
    expect(grants.get_by_role("button", name="Remove encrypt from user mallory")).to_be_visible()
    screenshot(page, "11-grants-editor")
    grants.get_by_role("button", name="Remove encrypt from user mallory").click()
    expect(page.locator("#flash")).to_contain_text("Removed encrypt")
    expect(grants.get_by_role("button", name="Remove encrypt from user mallory")).to_have_count(0)
    expect(grants.get_by_role("button", name="Remove view from user mallory")).to_be_visible()
