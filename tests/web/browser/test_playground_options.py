"""The playground in a real browser (issue 18): only the options the chosen key's type
takes are shown (static/egide.js reading each form's data-key-facts), and an output's Copy
button puts it on the clipboard. No console error."""

from __future__ import annotations

import pytest

from kms.crypto import KEY_TYPES
from kms.services.actor import Actor
from kms.services.keys import key_create
from tests.conftest import make_user
from tests.web.browser.conftest import log_in, screenshot
from tests.web.browser.strict import strict_page

pytestmark = [pytest.mark.browser]


@pytest.fixture
def keys(transactional_db, django_user_model):
    make_user(django_user_model, "root", superuser=True)
    for name, key_type in (("aes", "aes256"), ("rsa", "rsa2048"), ("ed", "ed25519")):
        key_create(actor=Actor.system(), name=name, key_type=key_type)


def offered(menu) -> list[str]:
    return menu.evaluate("m => Array.from(m.options).filter(o => !o.disabled && o.value).map(o => o.value)")


def test_the_playground_offers_what_the_key_takes_and_copies(browser, live_server, keys):
    from playwright.sync_api import expect

    with strict_page(browser, live_server.url) as (page, _errors):
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        log_in(page, "root", "pw-root")
        page.goto("/playground/")
        sign = page.locator("#sign-form")
        sign.get_by_label("Key").select_option("ed")
        expect(sign.get_by_label("Hash")).to_be_hidden()
        expect(sign.get_by_label("RSA padding")).to_be_hidden()
        sign.get_by_label("Key").select_option("rsa")
        expect(sign.get_by_label("RSA padding")).to_be_visible()
        assert offered(sign.get_by_label("Hash")) == list(KEY_TYPES["rsa2048"].hash_names)
        assert offered(sign.get_by_label("RSA padding")) == list(KEY_TYPES["rsa2048"].paddings)

        encrypt = page.locator("#encrypt-form")
        encrypt.get_by_label("Key").select_option("rsa")
        expect(encrypt.get_by_label("Context")).to_be_hidden()
        encrypt.get_by_label("Key").select_option("aes")
        expect(encrypt.get_by_label("Context")).to_be_visible()
        encrypt.get_by_label("Data", exact=True).fill("4111")
        encrypt.get_by_role("button", name="Encrypt", exact=True).click()
        output = page.locator("#encrypt-output")
        expect(output).to_be_visible()
        page.get_by_role("button", name="Copy").click()
        expect(page.get_by_role("button", name="Copied")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == output.input_value()
        assert output.input_value().startswith("egide:")
        screenshot(page, "playground-options")
