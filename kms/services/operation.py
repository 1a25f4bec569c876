"""The frame every service runs in: one audit event per operation, whatever happens.

    with operation(actor, "rotate", key_name=name) as op:
        ...checks and crypto...
        with transaction.atomic():
            ...the change...
            op.success(key=key, key_version=n)   # the event, in the change's transaction

A typed error leaving the block is recorded as a `denied` (permission) or
`error` event in its own transaction, after the change rolled back, and is
re-raised for the adapter to render. A block that ends without calling
`success()` is a programming error.

A read (`operation(actor, "list", read=True)`: it changes nothing) writes its one event,
whatever the outcome, through the audit sink the data plane uses (kms.services.audit_sink:
the per-process spool in production, before the answer, fail closed), not into the chain
under its head lock inside the request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from django.db import transaction

from kms.crypto.aad import MAX_VERSION  # also the audit column's range
from kms.exceptions import ERRORS, ApprovalRequired, error_code, error_message
from kms.models import Key
from kms.rules import printable_name
from kms.services import audit, audit_sink
from kms.services.actor import Actor
from kms.transit import namespaces

# "Not found" for something one may not see is how a refusal looks (no existence leak).
DENIALS = {"permission_denied", "key_not_found", "token_not_found", "unauthenticated"}


def _recordable_version(value: object) -> int | None:
    """The version as the event may store it: a caller's bad value (-1, "x", 2**40) is not
    a version, and must not make the event itself fail to write."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_VERSION:
        return None
    return value


def flagged(actor: Actor, details: dict[str, Any] | None) -> dict[str, Any] | None:
    """An action taken with a superuser's session or token says so in its event: superusers
    are break-glass accounts, bound by no approval, and their every use must stand out."""
    user = actor.user
    if user is not None and getattr(user, "is_superuser", False):
        return {**(details or {}), "superuser": True}
    return details


class Abandoned(Exception):  # noqa: N818 - an outcome, not an error
    """Raised to abandon an operation that did not happen (e.g. another node took the row):
    nothing changed and nothing was attempted on anyone's behalf, so nothing is audited."""


class _Internal(Exception):
    code = "internal_error"

    def __init__(self, kind: str) -> None:
        super().__init__(f"internal error ({kind})")
        self.message = f"internal error ({kind})"


class Operation:
    def __init__(self, actor: Actor, action: str, key_name: str, read: bool = False) -> None:
        self.actor = actor
        self.action = action
        self.read = read
        # A Transit mount's key is named `<mount>/<name>` (kms.transit.namespaces); a native one as is.
        self.key_name = namespaces.current().qualified(printable_name(key_name))[:128] if key_name else ""
        self.key: Key | None = None
        self.key_version: int | None = None
        self.recorded = False

    def success(
        self,
        *,
        key: Key | None = None,
        key_version: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.key = key or self.key
        self.key_version = key_version if key_version is not None else self.key_version
        (audit_sink.record if self.read else audit.record)(
            self.actor,
            self.action,
            key=self.key,
            key_name=self.key_name,
            key_version=_recordable_version(self.key_version),
            details=flagged(self.actor, details),
        )
        self.recorded = True

    def failed(self, exc: BaseException) -> None:
        code = error_code(exc)
        with transaction.atomic() if not self.read else nullcontext():
            (audit_sink.record if self.read else audit.record)(
                self.actor,
                self.action,
                outcome="denied" if code in DENIALS else "error",
                # A key the actor may not see is not named by its uid either.
                key=self.key if code != "key_not_found" else None,
                key_name=self.key_name,
                key_version=_recordable_version(self.key_version),
                error_code=code,
                # NUL: PostgreSQL JSON refuses it, and a message may echo what the caller sent.
                details=flagged(self.actor, {"message": error_message(exc).replace("\x00", "\\x00")[:300]}),
            )


@contextmanager
def operation(actor: Actor, action: str, *, key_name: str = "", read: bool = False) -> Iterator[Operation]:
    op = Operation(actor, action, key_name, read)
    try:
        yield op
    except (ApprovalRequired, Abandoned):
        # Not failures: an approval request and its event were written (the action waits),
        # or the operation never happened.
        raise
    except ERRORS as exc:
        op.failed(exc)
        raise
    except Exception as exc:
        # A bug or an outage: still one event ("internal_error", the exception's class only),
        # if the database takes it; the original error is what the caller sees either way.
        try:
            op.failed(_Internal(type(exc).__name__))
        except Exception:  # noqa: BLE001, S110 - the outage may be the database itself
            pass
        raise
    if not op.recorded:
        raise RuntimeError(f"service {action!r} finished without recording its audit event")
