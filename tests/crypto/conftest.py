"""Shared keys for the crypto-core tests.

RSA generation is slow (rsa4096 takes up to a couple of seconds), so each type's
material is generated once per test session and loaded once.
"""

from __future__ import annotations

import pytest

from kms.crypto import KEY_TYPES, LoadedKey, get_key_type


# tests/conftest.py has autouse fixtures for the Django side (they import the services
# and need pytest-django). The crypto core is tested without Django installed, so these
# same-named no-ops shadow them for the tests in this folder.
@pytest.fixture(autouse=True)
def _fast_rsa_generation() -> None:
    """No-op here: see the comment above."""


@pytest.fixture(autouse=True)
def _fast_password_hashing() -> None:
    """No-op here: see the comment above."""


@pytest.fixture(scope="session")
def materials() -> dict[str, bytes]:
    """Fresh material for every registered key type, by type name."""
    return {name: key_type.generate() for name, key_type in KEY_TYPES.items()}


@pytest.fixture(scope="session")
def keys(materials: dict[str, bytes]) -> dict[str, LoadedKey]:
    """One loaded key for every registered key type, by type name."""
    return {name: get_key_type(name).load(material) for name, material in materials.items()}


@pytest.fixture(scope="session")
def other_keys() -> dict[str, LoadedKey]:
    """A second, independent key of each fast type (no RSA: see ``other_rsa2048``)."""
    names = ("aes256", "ecdsa-p256", "ecdsa-p384", "ed25519")
    return {name: get_key_type(name).load(get_key_type(name).generate()) for name in names}


@pytest.fixture(scope="session")
def other_rsa2048() -> LoadedKey:
    """A second rsa2048 key, for wrong-key tests."""
    key_type = get_key_type("rsa2048")
    return key_type.load(key_type.generate())
