"""Every page at 1400×900 and 390×844 (issue 18): no console error, uncaught page error or
CSP violation anywhere, and at phone width no page scrolls sideways. Screenshots of each
go to test-artifacts/screenshots/every-page-*. At phone width the navigation folds behind
a "Menu" button."""

from __future__ import annotations

import pytest

from kms.services.actor import Actor
from kms.services.keys import key_create
from tests.conftest import make_user
from tests.web.browser.conftest import log_in, screenshot
from tests.web.browser.strict import PHONE, WIDE, sideways_overflow, strict_page

pytestmark = [pytest.mark.browser]

PAGES = {
    "keys": "/",
    "key": "/keys/a-rather-long-key-name-for-payments-prod/",
    "key-rsa": "/keys/signing-rsa/",
    "create": "/new/",
    "approvals": "/approvals/",
    "audit": "/audit/",
    "tokens": "/tokens/",
    "playground": "/playground/",
    "users": "/users/",
    "user": "/users/alice/",
    "password": "/account/password/",
}


@pytest.fixture
def world(transactional_db, django_user_model):
    make_user(django_user_model, "root", superuser=True)  # every page, the audit log and users included
    make_user(django_user_model, "alice", "kms-admin")
    system = Actor.system()
    key_create(actor=system, name="a-rather-long-key-name-for-payments-prod", key_type="aes256",
               description="Card numbers of the payments service, rotated every quarter")  # fmt: skip
    key_create(actor=system, name="signing-rsa", key_type="rsa2048")


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1400", "390"])
def test_every_page_at_both_widths(browser, live_server, world, viewport):
    from playwright.sync_api import expect

    overflowing = {}
    with strict_page(browser, live_server.url, viewport) as (page, _errors):
        page.goto("/login/")
        screenshot(page, f"every-page-login-{viewport['width']}")
        if viewport is PHONE:
            overflowing["login"] = sideways_overflow(page)
        log_in(page, "root", "pw-root")
        for name, path in PAGES.items():
            answer = page.goto(path)
            assert answer is not None and answer.status == 200, f"{path}: {answer and answer.status}"
            page.wait_for_load_state("load")
            expect(page.locator("[data-lazy]")).to_have_count(0)  # a key page's panels, loaded after it
            screenshot(page, f"every-page-{name}-{viewport['width']}")
            shown = page.inner_text("body")
            assert "{#" not in shown and "{%" not in shown, f"{path} shows template source"
            if viewport is PHONE:
                overflowing[name] = sideways_overflow(page)
    assert {name: px for name, px in overflowing.items() if px > 0} == {}, "pages scrolling sideways at 390 px"


def test_the_navigation_folds_behind_a_menu_button_at_phone_width(browser, live_server, world):
    from playwright.sync_api import expect

    with strict_page(browser, live_server.url, PHONE) as (page, _errors):
        log_in(page, "root", "pw-root")
        menu = page.get_by_role("button", name="Menu")
        audit = page.get_by_role("link", name="Audit log")
        expect(menu).to_have_attribute("aria-expanded", "false")
        expect(audit).to_be_hidden()
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        screenshot(page, "every-page-menu-open-390")
        audit.click()
        page.wait_for_url("**/audit/")
        page.set_viewport_size(WIDE)  # wide: no button, the links shown
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        expect(page.get_by_role("link", name="Audit log")).to_be_visible()
