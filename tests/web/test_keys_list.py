"""The keys list: the CLI's columns plus dates, search, filters, pages; only visible keys."""

from __future__ import annotations

from kms.services.keys import key_create, key_disable
from tests.web.conftest import htmx, web_actor


def test_it_lists_keys_with_the_cli_columns_and_dates(as_bob, aes_key, signing_key):
    response = as_bob.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    for heading in (
        "Name",
        "Type",
        "Version",
        "Status",
        "Created",
        "Last rotated",
        "Next rotation (UTC)",
    ):
        assert f">{heading}</th>" in html
    assert 'href="/keys/payments/"' in html and 'href="/keys/signer/"' in html
    assert "<code>aes256</code>" in html and "<code>ed25519</code>" in html


def test_it_hides_keys_from_outsiders(as_mallory, aes_key):
    response = as_mallory.get("/")
    assert response.status_code == 200
    assert b"payments" not in response.content
    assert b"No keys" in response.content


def test_it_shows_a_key_granted_to_one_user_only_to_them(as_mallory, mallory, aes_key, alice):
    from kms.services.grants import grant_add

    grant_add(actor=web_actor(alice), name="payments", user="mallory", permissions=["view"])
    assert b"payments" in as_mallory.get("/").content


def test_it_filters_by_type_status_and_name_prefix(as_bob, alice, aes_key, signing_key):
    key_create(actor=web_actor(alice), name="payroll", key_type="aes256")
    key_disable(actor=web_actor(alice), name="payroll")
    by_type = as_bob.get("/", {"type": "ed25519"}).content.decode()
    assert "signer" in by_type and "/keys/payments/" not in by_type
    by_status = as_bob.get("/", {"status": "disabled"}).content.decode()
    assert "/keys/payroll/" in by_status and "/keys/payments/" not in by_status
    by_prefix = as_bob.get("/", {"q": "pay"}).content.decode()
    assert "/keys/payroll/" in by_prefix and "/keys/payments/" in by_prefix
    assert "/keys/signer/" not in by_prefix


def test_it_pages_through_many_keys(as_bob, alice):
    import re

    for i in range(27):
        key_create(actor=web_actor(alice), name=f"k{i:02d}", key_type="aes256")
    first = as_bob.get("/").content.decode()
    assert "/keys/k24/" in first and "/keys/k25/" not in first  # creation order, 25 a page
    assert "Next page" in first
    after = re.search(r"after=([0-9A-Za-z_-]+)", first).group(1)  # an opaque position
    second = as_bob.get("/", {"after": after}).content.decode()
    assert "/keys/k25/" in second and "/keys/k26/" in second and "/keys/k24/" not in second
    assert "First page" in second and "Next page" not in second


def test_it_answers_htmx_with_the_table_only(as_bob, aes_key):
    response = htmx(as_bob, "get", "/", {"q": "pay"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="key-table">')
    assert "<html" not in html and "/keys/payments/" in html


def test_it_offers_creation_only_to_key_administrators(as_alice, as_bob):
    assert b"Create a key" in as_alice.get("/").content
    assert b"Create a key" not in as_bob.get("/").content


def test_it_says_when_a_filter_cannot_be_read(as_bob, aes_key):
    html = as_bob.get("/", {"type": "aes512"}).content.decode()
    assert "Filter not applied. type: Select a valid choice." in html
    assert "/keys/payments/" not in html
