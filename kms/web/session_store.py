"""Who is asking, on every page request: the session row and its user, each read with a
statement compiled once (kms.services.prepared) instead of once a request.

Django's database session backend and its ModelBackend do exactly this, through the ORM:
`Session.objects.get(session_key=..., expire_date__gt=now)` and
`User._default_manager.get(pk=...)`. Compiling those two queries was a sixth of a key's
page (docs/benchmarks.md, "Round four"). The rules are Django's, unchanged: the same rows
(an expired session is no session; a user who may not authenticate, `is_active` off, is
nobody), the same model instances (Model.from_db), the same table and session format, so
sessions written before this module still load.

`SESSION_ENGINE = "kms.web.session_store"` and the `UserBackend` in AUTHENTICATION_BACKENDS
(egide_site/settings.py) use it; everything else about sessions and logins is Django's.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from kms.services.prepared import PreparedValues, columns, datetime_bind, instance, int_bind, str_bind

_SESSION = PreparedValues("session_load", str_bind("key"), datetime_bind("now"))
_USER = PreparedValues("session_user", int_bind("pk"))


class SessionStore(db.SessionStore):
    """Django's database sessions; the load reads the live row with a kept statement."""

    def _get_session_from_db(self) -> Session | None:
        key = self.session_key
        if key is None:
            return None  # Django's query would find no row either (the key is the primary key)
        rows = _SESSION.rows(
            "live",
            lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now).values(*columns(Session))[:1],
            key=key,
            now=timezone.now(),
        )
        if not rows:
            self._session_key = None  # as Django: an unknown or expired key is forgotten
            return None
        return instance(Session, rows[0])


class UserBackend(ModelBackend):
    """Django's ModelBackend (passwords, permissions); the session's user read with a kept
    statement, refused as Django refuses it (`user_can_authenticate`: `is_active` off)."""

    def get_user(self, user_id: Any) -> Any:
        user_model = get_user_model()
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return super().get_user(user_id)  # not a whole number: Django's own lookup decides
        rows = _USER.rows(
            "by_pk", lambda pk: user_model._default_manager.filter(pk=pk).values(*columns(user_model))[:1], pk=pk
        )
        if not rows:
            return None
        user = instance(user_model, rows[0])
        return user if self.user_can_authenticate(user) else None
