"""Shared fixtures: three named users and their actors, and fast key generation.

- `alice`: a key administrator (kms-admin) who creates keys;
- `bob`: a key user (kms-user) in a group with an explicit all-keys use grant;
- `mallory`: an outsider with an account and no permission at all.
"""

from __future__ import annotations

import itertools
import os

import pytest
from django.core.cache import cache

from kms.services.actor import Actor

os.environ.setdefault("EGIDE_DEV", "1")


# RSA generation takes up to seconds; tests draw from a small pool per type instead.
# A pool of three keeps "another key" genuinely another key in the tests that need it.
_POOL: dict[str, list] = {}
_TURN: dict[str, itertools.count] = {}


@pytest.fixture(autouse=True)
def _data_plane_test_mode(settings):
    # Every change is seen at once and audit rows are written in the request, whatever the
    # environment says; tests/dataplane covers the window and the spool on purpose.
    settings.EGIDE_STATE_WINDOW_MS = 0
    settings.EGIDE_AUDIT_SINK = "table"


@pytest.fixture
def spool_sink(tmp_path, settings):
    """The production audit sink (kms.services.audit_sink): a spool file of this test's own,
    shipped only when the test says (no shipper thread)."""
    from kms.services import audit_spool

    settings.EGIDE_AUDIT_SINK = "spool"
    settings.EGIDE_AUDIT_SPOOL_DIR = tmp_path
    settings.EGIDE_AUDIT_SHIPPER = "node"
    writer = audit_spool.SpoolWriter()
    original, audit_spool.WRITER = audit_spool.WRITER, writer
    yield writer
    writer.path = None  # nothing left for its exit-time shipping
    audit_spool.WRITER = original


@pytest.fixture(autouse=True)
def _fresh_data_plane_state():
    # Each test's database is rolled back; the data plane's per-process caches must not
    # outlive it (in production the generation only moves forward).
    from kms.dataplane import throttle
    from kms.dataplane.state import CACHE

    CACHE.clear()
    throttle.reset()
    # The per-address password rate (kms.security) counts in the cache, and every test client
    # is 127.0.0.1: one xdist worker's earlier logins used to throttle a later test's password.
    cache.clear()
    yield
    CACHE.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's 1M iterations cost ~0.5 s per user; hashing strength is not under test here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_rsa_generation(monkeypatch):
    from kms.services import keys

    real = keys._generate

    def pooled(key_type: str):
        if not key_type.startswith("rsa"):
            return real(key_type)
        pool = _POOL.setdefault(key_type, [])
        turn = next(_TURN.setdefault(key_type, itertools.count()))
        if len(pool) < 3:
            pool.append(real(key_type))
        return pool[turn % len(pool)]

    monkeypatch.setattr(keys, "_generate", pooled)


def make_user(django_user_model, username: str, *roles: str, superuser: bool = False):
    from django.contrib.auth.models import Group

    if superuser:
        return django_user_model.objects.create_superuser(username=username, password="pw-" + username)
    user = django_user_model.objects.create_user(username=username, password="pw-" + username)
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def alice(db, django_user_model):
    return make_user(django_user_model, "alice", "kms-admin")


# An explicit all-keys grant an administrator gave a group on purpose (DESIGN, Authorization):
# the role kms-user itself holds nothing global; key use comes from grants.
ALL_KEYS_USERS = "all-keys-users"
ALL_KEYS_USE = ("view", "encrypt", "decrypt", "sign", "verify")


def all_keys_users_group():
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name=ALL_KEYS_USERS)
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="kms", codename__in=[f"{p}_key" for p in ALL_KEYS_USE])
    )
    return group


@pytest.fixture
def bob(db, django_user_model):
    """A key user who may use every key: kms-user, and a member of a group holding an explicit
    all-keys use grant (most tests are about what a key does, not about who may use it)."""
    user = make_user(django_user_model, "bob", "kms-user")
    user.groups.add(all_keys_users_group())
    return user


@pytest.fixture
def mallory(db, django_user_model):
    return make_user(django_user_model, "mallory")


@pytest.fixture
def root(db, django_user_model):
    return make_user(django_user_model, "root", superuser=True)


def as_actor(user, source: str = "api") -> Actor:
    return Actor(user=user, source=source, auth_method="session", request_id="test-request")


@pytest.fixture
def system():
    return Actor.system()


@pytest.fixture
def create_key(system):
    """Create a key as the system (no creator grants): `create_key("k", "aes256")`."""
    from kms.services.keys import key_create

    def create(name: str, key_type: str = "aes256", **options):
        return key_create(actor=system, name=name, key_type=key_type, **options)

    return create


@pytest.fixture
def payments(create_key):
    """The key most tests are about: an aes256 key named `payments`, created by the system."""
    return create_key("payments", "aes256")


@pytest.fixture
def clock(monkeypatch):
    """Time the test sets and moves (tests/clock.py): `clock.advance(days=30)`."""
    from tests.clock import install_clock

    return install_clock(monkeypatch)


@pytest.fixture
def world(db, create_key, system):
    """Keys and tokens the hostile-input corpus needs (tests/security/hostile/corpus.py)."""
    from kms.services import crypto_ops as ops
    from kms.services.keys import key_rotate
    from tests.security.hostile.corpus import World

    for name, key_type in (
        ("aes", "aes256"),
        ("aes-other", "aes256"),
        ("rsa", "rsa2048"),
        ("ec", "ecdsa-p256"),
        ("ed", "ed25519"),
    ):
        create_key(name, key_type)
    ct_v1 = ops.encrypt(actor=system, name="aes", plaintext=b"secret", context=b"ctx-a").ciphertext
    key_rotate(actor=system, name="aes")
    return World(
        ct_v1=ct_v1,
        ct_v2=ops.encrypt(actor=system, name="aes", plaintext=b"secret").ciphertext,
        ct_other=ops.encrypt(actor=system, name="aes-other", plaintext=b"secret").ciphertext,
        ct_rsa=ops.encrypt(actor=system, name="rsa", plaintext=b"secret").ciphertext,
        sig_ec=ops.sign(actor=system, name="ec", data=b"data").signature,
        sig_ed=ops.sign(actor=system, name="ed", data=b"data").signature,
        sig_rsa=ops.sign(actor=system, name="rsa", data=b"data").signature,
    )
