"""README, "Setting up a team", step by step in a real browser: an administrator, two
approvers, a scoped service account, and one approval end to end; then the service
account's token is used as a program would, and held to its scope."""

from __future__ import annotations

import json
import re
import secrets
import urllib.error
import urllib.request

import pytest
from django.core.cache import cache

from tests.web.browser.conftest import log_in, log_out, screenshot

pytestmark = [pytest.mark.browser]

KEY = "payments"


@pytest.fixture
def admin(transactional_db, django_user_model):
    """What `make run` creates: the `admin` superuser, with a printed random password."""
    cache.clear()  # the per-address password rate: this test logs in several times
    password = secrets.token_urlsafe(12)
    django_user_model.objects.create_superuser(username="admin", email="", password=password)
    return password


def add_user(page, username: str, *roles: str) -> str:
    """Users -> Add a user; returns the one-time password the page shows once."""
    from playwright.sync_api import expect

    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_label("Username").fill(username)
    for role in roles:
        page.get_by_label(role, exact=True).check()
    page.get_by_role("button", name="Add user").click()
    expect(page.locator("#new-user-h")).to_contain_text(f"{username} can now log in")
    password = page.locator("#one-time-password").input_value()
    assert len(password) >= 16
    return password


def create_key(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="Create a key").click()
    page.get_by_label("Name", exact=True).fill(KEY)
    page.get_by_label("Type", exact=True).select_option("aes256")
    page.get_by_label("Approvals required").fill("1")
    page.get_by_role("button", name="Create key").click()
    page.wait_for_url(f"**/keys/{KEY}/")
    expect(page.locator("#flash")).to_contain_text(f"Key '{KEY}' created.")


def grant_encrypt(page) -> None:
    from playwright.sync_api import expect

    grants = page.locator("#grants")
    grants.get_by_label("Grant to").select_option("user")
    grants.get_by_label("User or group name").fill("payments-svc")
    grants.get_by_label("encrypt", exact=True).check()
    grants.get_by_role("button", name="Grant", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("waiting for 1 approval")
    screenshot(page, "team-03-grant-waits")


def change_password(page, old: str) -> str:
    from playwright.sync_api import expect

    new = "carol-" + secrets.token_urlsafe(12)
    page.get_by_role("link", name="Password", exact=True).click()
    expect(page.get_by_role("note")).to_contain_text("revokes all your API tokens")
    page.get_by_label("Old password").fill(old)
    page.get_by_label(re.compile(r"^New password:?$")).fill(new)
    page.get_by_label("New password confirmation").fill(new)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#flash")).to_contain_text("Password changed.")
    return new


def approve_grant(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="Approvals").click()
    request = page.locator("article.request").filter(has_text="payments-svc")
    expect(request).to_have_count(1)
    expect(request).to_contain_text("alice")
    request.get_by_role("button", name=re.compile(r"^Approve request")).click()
    expect(page.locator("#flash")).to_contain_text("it is now executed")
    screenshot(page, "team-04-approved")


def make_scoped_token(page, password: str) -> str:
    from playwright.sync_api import expect

    page.get_by_role("link", name="API tokens").click()
    form = page.locator("#tokens form.card")
    form.get_by_label("Name").fill("payments")
    form.get_by_label("Only these keys").fill(KEY)
    form.get_by_label("encrypt", exact=True).check()
    form.get_by_label("Your password").fill(password)
    form.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_have_value(re.compile(r"^egd_"))
    screenshot(page, "team-05-scoped-token")
    return page.locator("#new-token").input_value()


def call(base: str, method: str, path: str, token: str, body: dict | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the live server
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_the_readme_team_setup(page, admin, live_server):
    # 1. admin logs in; 2. adds the people, each with a one-time password shown once
    log_in(page, "admin", admin)
    alice = add_user(page, "alice", "kms-admin")
    carol = add_user(page, "carol", "kms-approver")
    add_user(page, "dave", "kms-approver")
    service = add_user(page, "payments-svc")
    page.get_by_role("link", name="Users", exact=True).click()
    screenshot(page, "team-01-users")
    log_out(page)

    # 3. alice creates the key, 4. grants the service account encrypt: it waits
    log_in(page, "alice", alice)
    create_key(page)
    grant_encrypt(page)
    log_out(page)

    # 5. carol (after changing her one-time password) approves
    log_in(page, "carol", carol)
    carol = change_password(page, carol)
    approve_grant(page)
    log_out(page)

    # 6. the service account makes a token for encrypting with payments only
    log_in(page, "payments-svc", service)
    token = make_scoped_token(page, service)
    log_out(page)

    plaintext = {"plaintext": "NDExMSAxMTExIDExMTEgMTExMQ=="}
    assert call(live_server.url, "POST", f"/v1/kms/encrypt/{KEY}", token, plaintext) == 200
    assert call(live_server.url, "GET", "/v1/kms/keys", token) == 403  # outside its scope
    assert call(live_server.url, "POST", f"/v1/kms/keys/{KEY}/rotate", token) == 403
