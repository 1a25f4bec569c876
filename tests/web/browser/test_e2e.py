"""End to end, in a real browser: a key from creation to an approved deletion.

alice (key administrator and key user) creates a key that needs one approval, rotates it,
encrypts and decrypts in the playground, makes an API token, and asks to delete the key;
carol (approver) approves in her inbox and sees the key deleted; dave (auditor) finds every
step in the audit log and exports it. Each main page is saved as a screenshot.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import all_keys_users_group, make_user
from tests.web.browser.conftest import log_in, log_out, screenshot

pytestmark = [pytest.mark.browser]

KEY = "e2e-payments"
CARD = "4111 1111 1111 1111"  # the plaintext the playground encrypts


@pytest.fixture
def people(transactional_db, django_user_model):
    # alice administers and uses keys in this walkthrough: key use comes only from grants
    # (issue 13), here an explicit all-keys use grant to a group of hers.
    alice = make_user(django_user_model, "alice", "kms-admin", "kms-user")
    alice.groups.add(all_keys_users_group())
    make_user(django_user_model, "carol", "kms-approver")
    make_user(django_user_model, "dave", "kms-auditor")


def create_key(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="Create a key").click()
    page.get_by_label("Name", exact=True).fill(KEY)
    page.get_by_label("Type", exact=True).select_option("aes256")
    page.get_by_label("Description").fill("Card numbers of the payments service")
    page.get_by_label("Rotation period").fill("90d")
    page.get_by_label("Approvals required").fill("1")
    screenshot(page, "02-create-key")
    page.get_by_role("button", name="Create key").click()
    page.wait_for_url(f"**/keys/{KEY}/")
    expect(page.locator("#key-h")).to_contain_text(KEY)
    expect(page.locator("#flash")).to_contain_text(f"Key '{KEY}' created.")


def rotate(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="Rotate", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("now at version 2")
    versions = page.locator("section[aria-labelledby=versions-h] tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.nth(0)).to_contain_text("decrypt-only")
    expect(versions.nth(1)).to_contain_text("active")
    screenshot(page, "03-key-detail")


def encrypt_and_decrypt(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="Try it in the playground").click()
    encrypt = page.locator("#encrypt-form")
    expect(encrypt.get_by_label("Key", exact=True)).to_have_value(KEY)
    encrypt.get_by_label("Data", exact=True).fill(CARD)
    encrypt.get_by_role("button", name="Encrypt", exact=True).click()
    output = page.locator("#encrypt-output")
    expect(output).to_have_value(re.compile(r"^egide:v2:"))
    ciphertext = output.input_value()
    decrypt = page.locator("#decrypt-form")
    decrypt.get_by_label("Ciphertext").fill(ciphertext)
    decrypt.get_by_role("button", name="Decrypt", exact=True).click()
    expect(page.locator("#decrypt-output")).to_have_value(CARD)
    screenshot(page, "04-playground")


def make_token(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("ci-deploy")
    page.get_by_label("Your password").fill("pw-alice")  # asked again: a token acts as you
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_have_value(re.compile(r"^egd_"))
    screenshot(page, "05-tokens")


def ask_to_delete(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="Keys", exact=True).click()
    screenshot(page, "01-keys")
    page.get_by_role("link", name=KEY).click()
    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Delete key “{KEY}”?")
    page.get_by_label("Type the key's name to confirm").fill(KEY)
    screenshot(page, "06-delete-confirm")
    page.get_by_role("button", name=f"Delete {KEY}").click()
    page.wait_for_url(f"**/keys/{KEY}/")
    expect(page.locator("#flash")).to_contain_text("waiting for 1 approval")
    expect(page.locator("#key-h")).to_contain_text("active")  # nothing happened yet


def approve_deletion(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="Approvals").click()
    request = page.locator("article.request").filter(has_text=f"Delete key {KEY} — restorable for 30 days")
    expect(request).to_have_count(1)
    expect(request).to_contain_text("alice")
    expect(request).to_contain_text("0 of 1")
    screenshot(page, "07-approvals-inbox")
    request.get_by_role("button", name=re.compile(r"^Approve request")).click()
    expect(page.locator("#flash")).to_contain_text("it is now executed")
    expect(page.locator("article.request .badge")).to_have_text("executed")
    page.goto(f"/keys/{KEY}/")
    expect(page.locator("#key-h")).to_contain_text("deleted")
    screenshot(page, "08-key-deleted")


def audit_trail(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Key", exact=True).fill(KEY)
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(rf"key={KEY}"))
    events = page.locator("#events tbody")
    for action in ("create", "rotate", "encrypt", "decrypt", "approval_request",
                   "approval_approve", "delete"):  # fmt: skip
        expect(events.locator("code", has_text=re.compile(rf"^{action}$")).first).to_be_visible()
    screenshot(page, "09-audit-log")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Export these events")).click()
    lines = [json.loads(line) for line in open(download.value.path())]
    assert {e["key"] for e in lines} == {KEY}
    deletion = next(e for e in lines if e["action"] == "delete")
    assert deletion["details"]["approval"]["approvers"] == ["carol"]
    assert deletion["details"]["approval"]["requester"] == "alice"


def test_a_key_from_creation_to_an_approved_deletion(page, people):
    log_in(page, "alice", "pw-alice")
    create_key(page)
    rotate(page)
    encrypt_and_decrypt(page)
    make_token(page)
    ask_to_delete(page)
    log_out(page)

    log_in(page, "carol", "pw-carol")
    approve_deletion(page)
    log_out(page)

    log_in(page, "dave", "pw-dave")
    audit_trail(page)


def test_the_login_page_and_the_admin(page, transactional_db, django_user_model):
    from playwright.sync_api import expect

    from kms.services.actor import Actor
    from kms.services.keys import key_create

    make_user(django_user_model, "root", superuser=True)
    key_create(actor=Actor.system(), name="orders", key_type="ed25519", approvals_required=2)
    page.goto("/")
    page.wait_for_url("**/login/?next=/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("did not match")
    screenshot(page, "00-login")
    log_in(page, "root", "pw-root")
    page.goto("/admin/kms/key/")
    expect(page.get_by_role("link", name="orders")).to_be_visible()
    screenshot(page, "10-admin-keys")
    page.goto("/admin/kms/auditevent/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("audit event")
    screenshot(page, "10-admin-audit-events")
