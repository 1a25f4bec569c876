"""aes256: AES-256-GCM, blob = nonce ‖ ciphertext ‖ tag, AAD = aad_prefix ‖ context."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kms.crypto import (
    InvalidCiphertext,
    InvalidRequest,
    LoadedKey,
    aes,
    aes_aad_prefix,
    format_token,
    get_key_type,
    parse_ciphertext,
)
from kms.crypto.errors import DECRYPT_FAILED

from .helpers import flip

UID = bytes(range(16))
OTHER_UID = bytes(range(1, 17))

# NIST CAVP "GCM Test Vectors (SP 800-38D)", file gcmEncryptExtIV256.rsp (also shipped by
# the cryptography-vectors package under ciphers/AES/GCM/): [Keylen = 256] [IVlen = 96]
# [Taglen = 128], sections named in each comment. Fields: key, iv, pt, aad, ct, tag.
NIST_GCM_256 = {
    # [PTlen = 0] [AADlen = 128] Count = 0
    "empty plaintext": (
        "78dc4e0aaf52d935c3c01eea57428f00ca1fd475f5da86a49c8dd73d68c8e223",
        "d79cf22d504cc793c3fb6c8a",
        "",
        "b96baa8c1c75a671bfb2d08d06be5f36",
        "",
        "3e5d486aa2e30b22e040b85723a06e76",
    ),
    # [PTlen = 128] [AADlen = 0] Count = 0
    "no associated data": (
        "31bdadd96698c204aa9ce1448ea94ae1fb4a9a0b3c9d773b51bb1822666b8f22",
        "0d18e06c7c725ac9e362e1ce",
        "2db5168e932556f8089a0622981d017d",
        "",
        "fa4362189661d163fcd6a56d8bf0405a",
        "d636ac1bbedd5cc3ee727dc2ab4a9489",
    ),
    # [PTlen = 128] [AADlen = 128] Count = 0
    "one block each": (
        "92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b",
        "ac93a1a6145299bde902f21a",
        "2d71bcfa914e4ac045b2aa60955fad24",
        "1e0889016f67601c8ebea4943bc23ad6",
        "8995ae2e6df3dbf96fac7b7137bae67f",
        "eca5aa77d51d4a0a14d9c51e1da474ab",
    ),
    # [PTlen = 408] [AADlen = 160] Count = 3
    "partial blocks": (
        "2426e2d1cd9545ec2fb7ab9137ad852734333925bfc5674763d6ee906e81c091",
        "49a094a71d393b36daa4a591",
        "7cbe7982d365a55d147c954583f9760a09948ab73ebbe1b2c1d69ed58e092a347392192cfe8bce18ca43ee19af7652331bd92c",
        "177309cfc913e3f5c093e8b1319ba81826d43ce5",
        "cab992e17cf6ec69fd3c67ea0424bcd67475a7f1f16e6733c4419d1b5a755f78d6eda8e368360d403800a08f0d52b4bc0aa0ab",
        "b125f8caee9e54b9f9414b1c09021ed8",
    ),
}


def _vector(name: str) -> tuple[LoadedKey, bytes, bytes, bytes, bytes]:
    key, iv, pt, aad, ct, tag = (bytes.fromhex(field) for field in NIST_GCM_256[name])
    return get_key_type("aes256").load(key), iv, pt, aad, iv + ct + tag


@pytest.mark.parametrize("name", NIST_GCM_256)
def test_a_nist_gcm_vector_decrypts_to_its_plaintext(name: str) -> None:
    key, _, plaintext, aad, blob = _vector(name)
    assert key.decrypt(blob, aad_prefix=aad) == plaintext


@pytest.mark.parametrize("name", NIST_GCM_256)
def test_a_nist_gcm_vector_encrypts_to_its_ciphertext_given_its_nonce(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, iv, plaintext, aad, blob = _vector(name)
    monkeypatch.setattr(aes, "new_nonce", lambda: iv)
    assert key.encrypt(plaintext, aad_prefix=aad) == blob


def test_the_associated_data_is_the_prefix_followed_by_the_context() -> None:
    key, _, plaintext, aad, blob = _vector("partial blocks")
    assert key.decrypt(blob, aad_prefix=aad[:7], context=aad[7:]) == plaintext
    assert key.decrypt(blob, context=aad) == plaintext


def test_the_aad_prefix_has_a_fixed_layout() -> None:
    prefix = aes_aad_prefix(UID, 258)
    assert prefix == b"egide:aes256-gcm:v1\x00" + UID + b"\x00\x00\x01\x02"
    assert len(prefix) == 20 + 16 + 4


@pytest.mark.parametrize(
    ("uid", "version"),
    [(UID[:15], 1), (UID + b"\x00", 1), (UID.hex(), 1), (UID, 0), (UID, 2**31), (UID, True)],
)
def test_the_aad_prefix_refuses_a_malformed_uid_or_version(uid: object, version: object) -> None:
    with pytest.raises(ValueError, match=r"key_uid|version"):
        aes_aad_prefix(uid, version)  # type: ignore[arg-type]


# Made once by this code and kept: stored ciphertexts must stay readable, so the blob
# layout and the associated data (label, uid, version, context) must never change.
PINNED_KEY = b"\x42" * 32
PINNED_TOKEN = "egide:v7:IKc3fH7Iuo2Mmff4ZaZFJoOeFsQZpGls3Ja53Qel/Nf+jmu981OHAt+bV+J9ZJ4eSIMlQ5Lw"  # noqa: S105


def test_a_ciphertext_made_by_an_earlier_release_still_decrypts() -> None:
    version, blob = parse_ciphertext(PINNED_TOKEN)
    key = get_key_type("aes256").load(PINNED_KEY)
    plaintext = key.decrypt(blob, context=b"tenant=acme", aad_prefix=aes_aad_prefix(UID, version))
    assert plaintext == b"stored data stays readable"


def test_the_stored_layout_is_plain_aes_gcm_over_the_documented_associated_data() -> None:
    version, blob = parse_ciphertext(PINNED_TOKEN)
    aad = b"egide:aes256-gcm:v1\x00" + UID + version.to_bytes(4, "big") + b"tenant=acme"
    assert AESGCM(PINNED_KEY).decrypt(blob[:12], blob[12:], aad) == b"stored data stays readable"


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 1000, 65536])
def test_aes256_round_trips_plaintext_of_any_size(keys: dict[str, LoadedKey], size: int) -> None:
    key, prefix = keys["aes256"], aes_aad_prefix(UID, 1)
    plaintext = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    blob = key.encrypt(plaintext, aad_prefix=prefix)
    assert len(blob) == 12 + size + 16
    assert key.decrypt(blob, aad_prefix=prefix) == plaintext


def test_each_encryption_uses_a_fresh_nonce(keys: dict[str, LoadedKey]) -> None:
    blobs = {keys["aes256"].encrypt(b"same") for _ in range(50)}
    assert len(blobs) == 50
    assert len({blob[:12] for blob in blobs}) == 50


def test_a_flipped_byte_anywhere_in_an_aes_ciphertext_is_refused(
    keys: dict[str, LoadedKey],
) -> None:
    key, prefix = keys["aes256"], aes_aad_prefix(UID, 1)
    blob = key.encrypt(b"hello", aad_prefix=prefix, context=b"ctx")
    for position in range(len(blob)):
        for mask in (0x01, 0x80):
            with pytest.raises(InvalidCiphertext):
                key.decrypt(flip(blob, position, mask), aad_prefix=prefix, context=b"ctx")


@pytest.mark.parametrize("cut", [0, 1, 12, 27])
def test_a_blob_shorter_than_nonce_and_tag_is_refused(keys: dict[str, LoadedKey], cut: int) -> None:
    blob = keys["aes256"].encrypt(b"")
    with pytest.raises(InvalidCiphertext):
        keys["aes256"].decrypt(blob[:cut])


def test_a_truncated_or_extended_blob_is_refused(keys: dict[str, LoadedKey]) -> None:
    blob = keys["aes256"].encrypt(b"some longer plaintext")
    for changed in (blob[:-1], blob + b"\x00", blob[:12] + blob[13:]):
        with pytest.raises(InvalidCiphertext):
            keys["aes256"].decrypt(changed)


def _sealed_under_uid_version_3_context_a(key: LoadedKey) -> bytes:
    return key.encrypt(b"secret", aad_prefix=aes_aad_prefix(UID, 3), context=b"tenant=a")


@pytest.mark.parametrize(
    ("uid", "version", "context"),
    [
        (OTHER_UID, 3, b"tenant=a"),
        (UID, 2, b"tenant=a"),
        (UID, 4, b"tenant=a"),
        (UID, 3, b"tenant=b"),
        (UID, 3, b"tenant=a "),
        (UID, 3, None),
        (UID, 3, b""),
    ],
    ids=[
        "other key",
        "older version",
        "newer version",
        "other context",
        "longer context",
        "no context",
        "empty context",
    ],
)
def test_a_ciphertext_cannot_be_replayed_under_another_key_version_or_context(
    keys: dict[str, LoadedKey], uid: bytes, version: int, context: bytes | None
) -> None:
    blob = _sealed_under_uid_version_3_context_a(keys["aes256"])
    with pytest.raises(InvalidCiphertext) as caught:
        keys["aes256"].decrypt(blob, aad_prefix=aes_aad_prefix(uid, version), context=context)
    assert str(caught.value) == DECRYPT_FAILED


def test_a_ciphertext_does_not_decrypt_under_another_aes_key(
    keys: dict[str, LoadedKey], other_keys: dict[str, LoadedKey]
) -> None:
    blob = _sealed_under_uid_version_3_context_a(keys["aes256"])
    with pytest.raises(InvalidCiphertext) as caught:
        other_keys["aes256"].decrypt(blob, aad_prefix=aes_aad_prefix(UID, 3), context=b"tenant=a")
    assert str(caught.value) == DECRYPT_FAILED


def test_every_decrypt_failure_carries_the_same_generic_message(
    keys: dict[str, LoadedKey],
) -> None:
    key = keys["aes256"]
    blob = key.encrypt(b"secret", context=b"a")
    failures = [b"", b"x" * 27, flip(blob, 0), flip(blob, -1), blob[:-1]]
    messages = set()
    for bad in failures:
        with pytest.raises(InvalidCiphertext) as caught:
            key.decrypt(bad, context=b"a")
        messages.add(str(caught.value))
    with pytest.raises(InvalidCiphertext) as caught:
        key.decrypt(blob, context=b"b")
    messages.add(str(caught.value))
    assert messages == {DECRYPT_FAILED}


def test_no_context_and_an_empty_context_are_the_same(keys: dict[str, LoadedKey]) -> None:
    blob = keys["aes256"].encrypt(b"data", context=b"")
    assert keys["aes256"].decrypt(blob) == b"data"


@pytest.mark.parametrize("field", ["plaintext", "context", "aad_prefix"])
def test_a_non_bytes_argument_is_an_invalid_request(keys: dict[str, LoadedKey], field: str) -> None:
    arguments: dict[str, object] = {"plaintext": b"x", "context": b"c", "aad_prefix": b"p"}
    arguments[field] = "text"
    with pytest.raises(InvalidRequest, match=field):
        keys["aes256"].encrypt(**arguments)  # type: ignore[arg-type]


def test_a_non_bytes_blob_is_an_invalid_ciphertext(keys: dict[str, LoadedKey]) -> None:
    with pytest.raises(InvalidCiphertext):
        keys["aes256"].decrypt("A" * 40)  # type: ignore[arg-type]


def test_a_token_made_from_an_aes_blob_round_trips(keys: dict[str, LoadedKey]) -> None:
    prefix = aes_aad_prefix(UID, 5)
    token = format_token(5, keys["aes256"].encrypt(b"data", aad_prefix=prefix))
    version, blob = parse_ciphertext(token)
    assert version == 5
    assert keys["aes256"].decrypt(blob, aad_prefix=prefix) == b"data"
