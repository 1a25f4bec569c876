"""Who is asking (kms.web.session_store): the session and its user, read with kept statements,
are exactly what Django's database session backend and ModelBackend would read — expired
sessions, unknown keys, inactive and deleted users included — and a page request shows it."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends import db as django_db_sessions
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kms.web.session_store import SessionStore, UserBackend
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
SERIAL = itertools.count()


def _session(user_id: int | None, lifetime: timedelta) -> str:
    """A session written by Django's own backend (the format every existing session has)."""
    store = django_db_sessions.SessionStore()
    if user_id is not None:
        store["_auth_user_id"] = str(user_id)
    store["note"] = "written by Django"
    store.create()
    store.model.objects.filter(session_key=store.session_key).update(expire_date=timezone.now() + lifetime)
    return store.session_key


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lifetime=st.sampled_from([timedelta(days=1), timedelta(seconds=5), timedelta(seconds=-1), timedelta(days=-3)]),
    key=st.sampled_from(["written", "unknown", "empty", "none"]),
)
def test_a_session_loads_as_djangos_backend_loads_it(lifetime: timedelta, key: str) -> None:
    written = _session(None, lifetime)
    session_key = {"written": written, "unknown": "x" * 32, "empty": "", "none": None}[key]
    ours, djangos = SessionStore(session_key), django_db_sessions.SessionStore(session_key)
    assert ours.load() == djangos.load()
    assert ours.session_key == djangos.session_key  # an unknown or expired key is forgotten alike
    if key == "written" and lifetime > timedelta(0):
        assert ours.load() == {"note": "written by Django"}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(active=st.booleans(), superuser=st.booleans(), which=st.sampled_from(["self", "missing", "text"]))
def test_the_sessions_user_is_whom_djangos_backend_finds(django_user_model: Any, active: bool, superuser: bool,
                                                         which: str) -> None:  # fmt: skip
    user = make_user(django_user_model, f"u-{next(SERIAL)}", superuser=superuser)
    user.is_active = active
    user.save(update_fields=["is_active"])
    user_id = {"self": user.pk, "missing": user.pk + 10_000, "text": "not-a-number"}[which]
    if which == "text":  # never from a session Django wrote (it converts the key first): both refuse alike
        with pytest.raises(ValueError):
            ModelBackend().get_user(user_id)
        with pytest.raises(ValueError):
            UserBackend().get_user(user_id)
        return
    ours, djangos = UserBackend().get_user(user_id), ModelBackend().get_user(user_id)
    assert ours == djangos
    if ours is not None:
        assert (ours.username, ours.is_superuser, ours.password) == (djangos.username, djangos.is_superuser,
                                                                     djangos.password)  # fmt: skip
        assert ours._state.adding is False and ours._state.db == "default"


def test_a_logged_in_user_is_recognised_until_the_session_expires_or_the_user_is_disabled(
    client: Client, django_user_model: Any
) -> None:
    alice = make_user(django_user_model, "alice-session")
    client.force_login(alice, backend="kms.web.session_store.UserBackend")
    assert client.get("/").status_code == 200
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert client.get("/").status_code == 302  # to the login page: nobody now
    alice.is_active = True
    alice.save(update_fields=["is_active"])
    assert client.get("/").status_code == 200
    SessionStore().model.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get("/").status_code == 302
