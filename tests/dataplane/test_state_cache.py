"""Cached state obeys the generation: a change is seen at once (strict) or within the window."""

import base64
import json

import pytest
from django.test import override_settings

from egide_site.wsgi import application
from kms.dataplane.state import CACHE
from kms.services import keys
from kms.services.actor import Actor
from kms.services.tokens import token_revoke
from tests.dataplane.conftest import wsgi_call

pytestmark = pytest.mark.django_db(transaction=True)
BODY = json.dumps({"plaintext": base64.b64encode(b"x").decode()}).encode()


def encrypt(token):
    status, _, body = wsgi_call(application, "/v1/kms/encrypt/k", BODY, token)
    return status, json.loads(body)


def test_in_strict_mode_a_disabled_key_is_refused_on_the_very_next_request(bearer, create_key):
    create_key("k", "aes256")
    assert encrypt(bearer)[0] == 200
    keys.key_disable(actor=Actor.system(), name="k")
    status, body = encrypt(bearer)
    assert status == 409 and body["error"]["code"] == "key_disabled"


def test_in_strict_mode_a_revoked_token_is_refused_on_the_very_next_request(bearer, root, create_key):
    create_key("k", "aes256")
    assert encrypt(bearer)[0] == 200
    from kms.models import ApiToken

    token_revoke(actor=Actor.system(), token_id=ApiToken.objects.get(user=root).pk)
    assert encrypt(bearer)[0] == 401


def test_a_rotation_moves_encryption_to_the_new_version_at_once(bearer, create_key):
    create_key("k", "aes256")
    assert encrypt(bearer)[1]["data"]["key_version"] == 1
    keys.key_rotate(actor=Actor.system(), name="k")
    assert encrypt(bearer)[1]["data"]["key_version"] == 2


def test_a_grant_removed_from_a_user_bites_at_once(bob, create_key):
    from guardian.shortcuts import remove_perm

    from kms.models import Key
    from kms.services.tokens import token_create

    create_key("k", "aes256")
    bob.groups.clear()
    from guardian.shortcuts import assign_perm

    key = Key.objects.get(name="k")
    assign_perm("kms.encrypt_key", bob, key)
    token = token_create(actor=Actor.system(), user=bob)[1]
    assert encrypt(token)[0] == 200
    remove_perm("kms.encrypt_key", bob, key)
    assert encrypt(token)[0] == 404


def test_with_a_window_the_cache_serves_until_the_window_ends(bearer, create_key, monkeypatch):
    from kms.dataplane import generation, state
    from kms.dataplane.state import LISTENER

    monkeypatch.setattr(LISTENER, "ensure_running", lambda: None)  # no pushes: the window alone
    monkeypatch.setattr(generation, "_pushed_here", lambda: None)
    now = [1000.0]  # the cache's clock, moved by the test: a loaded machine cannot age the window
    monkeypatch.setattr(state.time, "monotonic", lambda: now[0])
    create_key("k", "aes256")
    with override_settings(EGIDE_STATE_WINDOW_MS=250):
        CACHE.clear()
        assert encrypt(bearer)[0] == 200
        keys.key_disable(actor=Actor.system(), name="k")
        # Inside the window (no push in this test), the cached state still serves...
        now[0] += 0.2
        CACHE.pushed = False  # a LISTEN thread an earlier PostgreSQL test started may have pushed
        assert encrypt(bearer)[0] == 200
        # ...and once the window has passed, the change bites.
        now[0] += 0.1
        assert encrypt(bearer)[0] == 409


def test_with_a_window_a_change_made_by_this_process_bites_at_once(bearer, create_key):
    create_key("k", "aes256")
    with override_settings(EGIDE_STATE_WINDOW_MS=250):
        CACHE.clear()
        from kms.dataplane.state import LISTENER

        LISTENER.ensure_running = lambda: None  # type: ignore[method-assign]
        try:
            assert encrypt(bearer)[0] == 200
            keys.key_disable(actor=Actor.system(), name="k")
            assert encrypt(bearer)[0] == 409
        finally:
            del LISTENER.ensure_running
