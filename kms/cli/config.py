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
