"""Where the `egide` CLI finds its server and token. No Django import here."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_ADDR = "http://127.0.0.1:8200"


def config_dir() -> Path:
    explicit = os.environ.get("EGIDE_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "egide"


def token_file() -> Path:
    return config_dir() / "token"


def server_addr() -> str:
    return (os.environ.get("EGIDE_ADDR") or DEFAULT_ADDR).rstrip("/")


def saved_token() -> str | None:
    env = os.environ.get("EGIDE_TOKEN")
    if env:
        return env.strip()
    try:
        return token_file().read_text().strip() or None
    except OSError:
        return None


def allow_http() -> bool:
    """EGIDE_ALLOW_HTTP=1: plain http:// to a server that is not on this machine is allowed."""
    return os.environ.get("EGIDE_ALLOW_HTTP", "").strip().lower() in ("1", "true", "yes")


def ca_file() -> str | None:
    """A CA bundle for an https server with a private CA (EGIDE_CACERT), else the system's."""
    return os.environ.get("EGIDE_CACERT") or None


def save_token(raw: str) -> Path:
    """Save the token for later commands: a 0600 file, replaced atomically; return its path.

    The file is created with mode 0600 before the token is written (never readable by
    others, not even for an instant), in a 0700 directory when that is created here.
    """
    path = token_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(raw.strip() + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
