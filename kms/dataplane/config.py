"""The settings the data plane reads on every request, read once (and again when they change).

Django's `settings.X` costs a lazy-object lookup per access; a data-plane request read
about fifteen of them (measured: bench/fastlane_cpu.py). This snapshot is rebuilt on
Django's `setting_changed` signal (tests, override_settings), so nothing here can be
stale: in production settings do not change while the process runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connections
from django.http.request import split_domain_port, validate_host

from kms.middleware import api_security_headers

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _rate(text: str) -> tuple[int, int]:
    """'200000/min' → (200000, 60)."""
    count, _, period = text.partition("/")
    return int(count), _PERIODS[period.strip()[0]]


@dataclass(frozen=True)
class Config:
    allowed_hosts: tuple[str, ...]
    state_window_s: float
    audit_sink: str
    audit_fsync: bool
    throttles: dict[str, tuple[int, int]]  # scope → (requests, seconds)
    ssl_redirect: bool
    proxy_ssl_header: tuple[str, str] | None
    use_x_forwarded_host: bool
    headers: dict[bool, list[tuple[str, str]]]  # secure → the headers Django's middleware adds
    postgres: bool  # the database's NOTIFY can push state changes (kms.dataplane.state.Listener)

    @classmethod
    def read(cls) -> Config:
        allowed = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not allowed:
            allowed = [".localhost", "127.0.0.1", "[::1]"]
        return cls(
            allowed_hosts=tuple(allowed),
            state_window_s=settings.EGIDE_STATE_WINDOW_MS / 1000.0,
            audit_sink=settings.EGIDE_AUDIT_SINK,
            audit_fsync=bool(settings.EGIDE_AUDIT_FSYNC),
            throttles={
                scope: _rate(getattr(settings, f"EGIDE_THROTTLE_{scope.upper()}")) for scope in ("token", "address")
            },  # fmt: skip
            ssl_redirect=bool(settings.SECURE_SSL_REDIRECT),
            proxy_ssl_header=settings.SECURE_PROXY_SSL_HEADER,
            use_x_forwarded_host=bool(settings.USE_X_FORWARDED_HOST),
            headers={secure: api_security_headers(secure) for secure in (False, True)},
            postgres=connections["default"].vendor == "postgresql",
        )


_current: Config | None = None
_hosts: dict[str, bool] = {}


def current() -> Config:
    global _current
    if _current is None:
        _current = Config.read()
    return _current


def host_allowed(host: str) -> bool:
    """ALLOWED_HOSTS, as Django's request.get_host() decides it (DEBUG adds localhost)."""
    verdict = _hosts.get(host)
    if verdict is None:
        domain, _port = split_domain_port(host)
        verdict = bool(domain) and validate_host(domain, list(current().allowed_hosts))
        if len(_hosts) < 1000:  # a client cannot grow this without bound
            _hosts[host] = verdict
    return verdict


def _forget(**kwargs: Any) -> None:
    global _current
    _current = None
    _hosts.clear()


setting_changed.connect(_forget)
