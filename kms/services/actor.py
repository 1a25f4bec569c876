"""Who is acting, and through what: every service takes an `Actor`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SOURCES = ("api", "web", "cli", "admin", "system", "transit")  # transit: the Vault/OpenBao dialect (kms.transit)


@dataclass(frozen=True)
class Actor:
    user: Any  # a Django user, or None for the system (scheduler, commands)
    source: str
    auth_method: str = ""  # session, token, system
    token_id: str = ""
    request_id: str = ""
    client_addr: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown actor source {self.source!r}")

    @classmethod
    def system(cls, *, request_id: str = "") -> Actor:
        return cls(user=None, source="system", auth_method="system", request_id=request_id)

    @property
    def is_system(self) -> bool:
        return self.user is None and self.source == "system"

    @property
    def name(self) -> str:
        if self.user is None:
            return "system" if self.source == "system" else "anonymous"
        return self.user.get_username()
