"""The sensitive actions an approval request can hold, and how each is performed.

One table: the name stored in `ApprovalRequest.action`, and the service call that
performs it with the stored parameters. The actor carries the approval context,
so the service's approval gate lets it through and its audit event names the
requester and the approvers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kms.durations import parse_duration
from kms.models import ApprovalRequest
from kms.services import grants, keys
from kms.services.actor import Actor


def _update(actor: Actor, name: str, params: dict[str, Any]) -> Any:

    changes = dict(params["changes"])
    if changes.get("rotation_period") is not None:
        changes["rotation_period"] = parse_duration(changes["rotation_period"])
    return keys.key_update(actor=actor, name=name, changes=changes)


def _table() -> dict[str, Callable[[Actor, str, dict[str, Any]], Any]]:
    return {
        "delete": lambda a, n, p: keys.key_delete(actor=a, name=n),
        "purge": lambda a, n, p: keys.key_purge(actor=a, name=n),
        "disable": lambda a, n, p: keys.key_disable(actor=a, name=n),
        "enable": lambda a, n, p: keys.key_enable(actor=a, name=n),
        "restore": lambda a, n, p: keys.key_restore(actor=a, name=n),
        "update": _update,
        "disable_version": lambda a, n, p: keys.version_disable(actor=a, name=n, version=p["version"]),
        "enable_version": lambda a, n, p: keys.version_enable(actor=a, name=n, version=p["version"]),
        "destroy_version": lambda a, n, p: keys.version_destroy(actor=a, name=n, version=p["version"]),
        "restore_version": lambda a, n, p: keys.version_restore(actor=a, name=n, version=p["version"]),
        "grant_add": lambda a, n, p: grants.grant_add(actor=a, name=n, **p),
        "grant_remove": lambda a, n, p: grants.grant_remove(actor=a, name=n, **p),
    }


ACTIONS = frozenset([
    "delete", "purge", "disable", "enable", "restore", "update", "disable_version", "enable_version",
    "destroy_version", "restore_version", "grant_add", "grant_remove", "export",
])  # fmt: skip


def perform(actor: Actor, request: ApprovalRequest) -> Any:
    return _table()[request.action](actor, request.key.name, request.parameters)
