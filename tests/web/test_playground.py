"""The playground: encrypt, decrypt, sign, verify with keys the user may use."""

from __future__ import annotations

import base64

from kms.models import AuditEvent
from tests.web.conftest import htmx


def post(client, op: str, **fields):
    data = {"op": op, **{f"{op}-{name}": value for name, value in fields.items()}}
    return client.post("/playground/", data)


def test_it_encrypts_and_decrypts(as_bob, aes_key):
    encrypted = post(as_bob, "encrypt", key="payments", text="card 4111", context="order-7")
    ciphertext = encrypted.context["result"]["output"]
    assert ciphertext.startswith("egide:v1:")
    decrypted = post(as_bob, "decrypt", key="payments", token=ciphertext, context="order-7")
    assert decrypted.context["result"]["output_data"] == {"text": "card 4111", "is_base64": False}
    assert '<textarea id="decrypt-output" rows="3" readonly>card 4111</textarea>' in (decrypted.content.decode())
    assert decrypted["Cache-Control"].startswith("max-age=0")


def test_it_takes_base64_and_shows_binary_as_base64(as_bob, aes_key):
    raw = bytes(range(256))
    encrypted = post(as_bob, "encrypt", key="payments", text=base64.b64encode(raw).decode(),
                     is_base64="on")  # fmt: skip
    ciphertext = encrypted.context["result"]["output"]
    decrypted = post(as_bob, "decrypt", key="payments", token=ciphertext)
    shown = decrypted.context["result"]["output_data"]
    assert shown["is_base64"] and base64.b64decode(shown["text"]) == raw


def test_it_says_why_decryption_failed(as_bob, aes_key):
    ciphertext = post(as_bob, "encrypt", key="payments", text="x", context="a").context["result"]["output"]
    wrong = post(as_bob, "decrypt", key="payments", token=ciphertext, context="b")
    assert wrong.context["result"] is None
    assert "could not be decrypted" in wrong.content.decode()


def test_it_signs_and_verifies(as_bob, signing_key):
    signed = post(as_bob, "sign", key="signer", text="contract v1")
    signature = signed.context["result"]["output"]
    assert signature.startswith("egide:v1:")
    assert post(as_bob, "verify", key="signer", text="contract v1", token=signature).context["result"] == {
        "valid": True
    }
    tampered = post(as_bob, "verify", key="signer", text="contract v2", token=signature)
    assert tampered.context["result"] == {"valid": False}
    assert "✘ Invalid signature" in tampered.content.decode()


def test_it_answers_htmx_with_the_result_only(as_bob, aes_key):
    data = {"op": "encrypt", "encrypt-key": "payments", "encrypt-text": "hi"}
    html = htmx(as_bob, "post", "/playground/", data).content.decode()
    assert 'id="encrypt-output"' in html and "<html" not in html and "<form" not in html


def test_it_offers_each_operation_only_the_keys_that_can_do_it(as_bob, aes_key, signing_key):
    forms = as_bob.get("/playground/").context["forms"]
    assert forms["encrypt"].fields["key"].choices == [("payments", "payments")]
    assert forms["sign"].fields["key"].choices == [("signer", "signer")]


def test_it_offers_nothing_to_an_administrator_without_key_use(as_alice, aes_key):
    html = as_alice.get("/playground/").content.decode()
    assert "There is no active key you may encrypt with." in html
    response = post(as_alice, "encrypt", key="payments", text="x")
    assert response.context["result"] is None
    assert "Select a valid choice" in response.content.decode()
    assert not AuditEvent.objects.filter(action="encrypt").exists()


def test_it_offers_nothing_to_an_outsider(as_mallory, aes_key):
    forms = as_mallory.get("/playground/").context["forms"]
    assert all(not form.fields["key"].choices for form in forms.values())
    refused = post(as_mallory, "decrypt", key="payments", token="egide:v1:AAAA")  # noqa: S106
    assert refused.context["result"] is None


def test_it_preselects_the_key_it_was_opened_with(as_bob, aes_key):
    forms = as_bob.get("/playground/", {"key": "payments"}).context["forms"]
    assert forms["encrypt"]["key"].value() == "payments"


def _facts(html: str, op: str) -> dict:
    import html as markup
    import json
    import re

    found = re.search(rf'<form id="{op}-form"[^>]*data-key-facts="([^"]*)"', html, re.S)
    assert found, f"no data-key-facts on the {op} form"
    return json.loads(markup.unescape(found.group(1)))


def test_it_offers_only_the_options_each_key_type_takes(as_bob, alice, aes_key, signing_key):
    """Issue 18: each form carries, per key, what its type takes (KeyType facts); the page's
    script hides the rest (tests/web/browser/test_playground_options.py)."""
    from kms.crypto import KEY_TYPES
    from kms.services.keys import key_create
    from tests.web.conftest import web_actor

    key_create(actor=web_actor(alice), name="rsa", key_type="rsa2048")
    html = as_bob.get("/playground/").content.decode()
    encrypt = _facts(html, "encrypt")
    assert encrypt["payments"]["context"] is True and encrypt["rsa"]["context"] is False
    sign = _facts(html, "sign")
    assert sign["signer"] == {"hashes": [], "paddings": [], "context": False}  # ed25519: neither
    assert sign["rsa"]["hashes"] == list(KEY_TYPES["rsa2048"].hash_names)
    assert sign["rsa"]["paddings"] == list(KEY_TYPES["rsa2048"].paddings) and sign["rsa"]["paddings"]
    assert 'data-option="context"' in html and 'data-option="padding"' in html


def test_the_server_refuses_options_the_type_does_not_take(as_bob, signing_key):
    refused = post(as_bob, "sign", key="signer", text="x", padding="pkcs1v15")
    assert refused.context["result"] is None and refused.context["form"].errors
    refused = post(as_bob, "sign", key="signer", text="x", algorithm="sha384")
    assert refused.context["result"] is None and refused.context["form"].errors


def test_outputs_have_a_copy_button(as_bob, aes_key):
    html = post(as_bob, "encrypt", key="payments", text="x").content.decode()
    assert '<button type="button" class="copy" data-copy="encrypt-output">Copy</button>' in html
    assert "onclick" not in html
