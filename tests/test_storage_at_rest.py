"""No plaintext key material at rest: not in any table, repr, log record or audit detail.

The material is obtained the one legitimate way (export of an exportable key), then
searched for, in every encoding it could plausibly have been stored in, across a dump
of every table of the database (binary values rendered both raw and as hex).
"""

from __future__ import annotations

import base64
import logging

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.apps import apps
from django.conf import settings
from django.db import connection

from kms.crypto import KEY_TYPES, InvalidCiphertext
from kms.models import AuditChainHead, AuditEvent
from kms.services import audit, keys, tokens
from kms.services import crypto_ops as ops
from tests.conftest import as_actor

pytestmark = pytest.mark.django_db

PLAINTEXT = b"PLAINTEXT-CANARY-7f3a9c: card 4111 1111 1111 1111"


@pytest.fixture(autouse=True)
def _fast_rsa_generation(monkeypatch):
    """Shadows the conftest pool: one RSA key per size is enough to search for (and RSA-4096
    generation costs seconds); it is the session pool's first, so nothing is generated twice."""
    from tests.conftest import _POOL

    real = keys._generate

    def one_per_size(key_type: str):
        if not key_type.startswith("rsa"):
            return real(key_type)
        pool = _POOL.setdefault(key_type, [])
        if not pool:
            pool.append(real(key_type))
        return pool[0]

    monkeypatch.setattr(keys, "_generate", one_per_size)


def encodings(secret: bytes) -> set[bytes]:
    """The forms a secret could take in a row or a message."""
    forms = {
        secret,
        secret.hex().encode(),
        secret.hex().upper().encode(),
        base64.b64encode(secret),
        base64.urlsafe_b64encode(secret),
        base64.b64encode(secret).rstrip(b"="),
        repr(secret)[2:-1].encode(),  # how bytes look inside a repr or an f-string
    }
    return {form for form in forms if len(form) >= 16}


def private_numbers(private) -> list[bytes]:
    """The raw secret integers of a private key, big-endian."""

    def as_bytes(n: int) -> bytes:
        return n.to_bytes((n.bit_length() + 7) // 8, "big")

    if isinstance(private, rsa.RSAPrivateKey):
        numbers = private.private_numbers()
        return [as_bytes(n) for n in (numbers.d, numbers.p, numbers.q, numbers.dmp1, numbers.dmq1)]
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return [as_bytes(private.private_numbers().private_value)]
    if hasattr(private, "private_bytes_raw"):  # Ed25519, X25519; ML-DSA, ML-KEM: the seed
        return [private.private_bytes_raw()]
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return [private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                      serialization.NoEncryption())]  # fmt: skip
    raise AssertionError(f"unexpected key {private!r}")


def material_secrets(key_type: str, material: str) -> set[bytes]:
    """Every form of one exported version's secret material."""
    if KEY_TYPES[key_type].material_format == "raw":  # aes256, hmac: the key's bytes in base64
        return encodings(base64.b64decode(material))
    pem = material.encode()
    # Skipping the RSA consistency check: these keys are ours, and it costs 0.3 s each.
    private = serialization.load_pem_private_key(pem, password=None, unsafe_skip_rsa_key_validation=True)
    found = {pem, pem.replace(b"\n", b"")}
    found |= {line for line in pem.splitlines() if len(line) >= 40}  # each base64 line of the body
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        if (
            not isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
            and fmt != serialization.PrivateFormat.PKCS8
        ):
            continue  # Ed25519, X25519, ML-DSA, ML-KEM: PKCS#8 only
        der = private.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption())
        found |= encodings(der)
    for number in private_numbers(private):
        found |= encodings(number)
    return found


def exported_versions(result) -> list[dict]:
    return result["versions"] if isinstance(result, dict) else result


@pytest.fixture
def secrets(root, bob, system):
    return operate_and_collect(root, bob, system)


def operate_and_collect(root, bob, system) -> dict[str, set[bytes]]:
    """Operate every key type, export it, and collect every secret that must stay inside."""
    admin, user = as_actor(root), as_actor(bob)
    found: dict[str, set[bytes]] = {}
    for key_type in KEY_TYPES:
        name = f"k-{key_type}"
        keys.key_create(actor=system, name=name, key_type=key_type, exportable=True,
                        description="exportable, under test")  # fmt: skip
        keys.key_rotate(actor=system, name=name)
        operations = KEY_TYPES[key_type].operations
        if "encrypt" in operations:
            token = ops.encrypt(actor=user, name=name, plaintext=PLAINTEXT[:100]).ciphertext
            assert ops.decrypt(actor=user, name=name, ciphertext=token) == PLAINTEXT[:100]
        if KEY_TYPES[key_type].accepts_context:  # the data-key type: aes256
            data_key = ops.datakey(actor=user, name=name)
            found["datakey"] = encodings(data_key.plaintext)
            ops.rewrap(actor=user, name=name, ciphertext=token)
        if "sign" in operations:
            signature = ops.sign(actor=user, name=name, data=PLAINTEXT).signature
            assert ops.verify(actor=user, name=name, data=PLAINTEXT, signature=signature)
        if "hmac" in operations:
            mac = ops.hmac(actor=admin, name=name, data=PLAINTEXT).hmac
            assert ops.verify_hmac(actor=admin, name=name, data=PLAINTEXT, mac=mac)
        if "decapsulate" in operations:  # the shared secret stays with the caller too
            public = load_pem_public_key(keys.public_key_pem(actor=admin, name=name)[1].encode())
            secret, ciphertext = public.encapsulate()
            assert ops.decapsulate(actor=admin, name=name, ciphertext=ciphertext).shared_secret == secret
            found[f"{name} shared secret"] = encodings(secret)
        if "derive" in operations:
            mine = load_pem_public_key(keys.public_key_pem(actor=admin, name=name)[1].encode())
            peer = (x25519.X25519PrivateKey.generate() if isinstance(mine, x25519.X25519PublicKey)
                    else ec.generate_private_key(mine.curve))  # fmt: skip
            pem = peer.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo).decode()  # fmt: skip
            derived = ops.derive_shared_secret(actor=admin, name=name, public_key=pem).shared_secret
            found[f"{name} shared secret"] = encodings(derived)
        keys.key_info(actor=admin, name=name)
        versions = exported_versions(keys.key_export(actor=admin, name=name))
        assert [v["version"] for v in versions] == [1, 2]
        for v in versions:
            found[f"{name} v{v['version']}"] = material_secrets(key_type, v["material"])
    # Errors on the way must not carry material either.
    with pytest.raises(InvalidCiphertext):
        ops.decrypt(
            actor=user,
            name="k-aes256",
            ciphertext="egide:v1:" + base64.b64encode(b"x" * 40).decode(),
        )
    _token, raw = tokens.token_create(actor=as_actor(bob), user=bob, name="ci")
    found["api token"] = {raw.encode()}
    found["plaintext"] = {PLAINTEXT, PLAINTEXT[:100], *encodings(PLAINTEXT[:48])}
    found["master key"] = encodings(base64.b64decode(settings.EGIDE_MASTER_KEY))
    found["audit chain key"] = encodings(audit._chain_key(AuditChainHead.objects.get()))  # noqa: SLF001
    return found


def dump_database() -> bytes:
    """Every value of every row of every table; binary values both raw and as hex."""
    parts: list[bytes] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes | bytearray):
                        raw = bytes(value)
                        parts += [raw, raw.hex().encode()]
                    else:
                        parts.append(str(value).encode())
    return b"\x1f".join(parts)


def leaks(haystack: bytes, secrets: dict[str, set[bytes]]) -> list[str]:
    return sorted({label for label, forms in secrets.items() for form in forms if form in haystack})


def test_the_search_finds_what_it_looks_for(secrets):
    """Guard against a test that cannot fail: every secret is found where it is put."""
    for label, forms in secrets.items():
        assert forms, label
        assert leaks(b"..." + next(iter(forms)) + b"...", {label: forms}) == [label]
    assert len([k for k in secrets if k.startswith("k-") and " v" in k]) == 2 * len(KEY_TYPES)


def test_no_table_holds_key_material_plaintext_or_secrets(secrets):
    dump = dump_database()
    assert AuditEvent.objects.count() > 20 and len(dump) > 10_000
    assert leaks(dump, secrets) == []


def test_the_sqlite_dump_holds_no_secrets_either(secrets):
    if connection.vendor != "sqlite":
        pytest.skip("iterdump is SQLite's")
    connection.ensure_connection()
    dump = "\n".join(connection.connection.iterdump()).encode()
    assert b"kms_keyversion" in dump
    assert leaks(dump, secrets) == []


def test_no_model_instance_shows_secrets_in_its_repr_or_str(secrets):
    shown = []
    for model in apps.get_models():
        for obj in model._default_manager.all():
            shown += [repr(obj), str(obj)]
    assert len(shown) > 20
    assert leaks("\n".join(shown).encode(), secrets) == []


def test_audit_details_hold_no_plaintext_or_material(secrets):
    details = [repr(event.details) for event in AuditEvent.objects.all()]
    assert any("versions" in d for d in details)  # the export was recorded
    assert leaks("\n".join(details).encode(), secrets) == []


def test_no_log_record_holds_secrets_even_with_sql_logging_on(root, bob, system, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    connection.force_debug_cursor = True  # SQL and its parameters are logged too
    try:
        with caplog.at_level(logging.DEBUG):
            # Run the whole scenario with logging on.
            collected = operate_and_collect(root, bob, system)
            with pytest.raises(Exception):  # noqa: B017, PT011 - a failure on the way is logged too
                keys.key_export(actor=as_actor(bob), name="k-aes256")
    finally:
        connection.force_debug_cursor = False
    text = []
    for record in caplog.records:
        text.append(record.getMessage())
        text.append(repr(record.args))
        if record.exc_info:
            text.append(logging.Formatter().formatException(record.exc_info))
    assert any("INSERT" in t for t in text)  # SQL logging was really on
    assert leaks("\n".join(text).encode(), collected) == []
