"""Master-key wrapping of stored key material and system secrets."""

from __future__ import annotations

import base64
import copy
import hashlib
import pickle

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kms.crypto import MasterKey, MasterKeyError, material_aad, secret_aad

from .helpers import flip

UID = bytes(range(16))
FIXED = bytes(range(32))
FIXED_B64 = base64.b64encode(FIXED).decode()

# Made once by this code and kept: rows wrapped by an earlier release must still unwrap,
# so the subkey derivation, the id and the blob layout must never change.
PINNED_ID = "e0bae6028fb51aff"
PINNED_AUDIT_KEY = "2ce16985377ab6909ea0955a71e0206fd46cb0cfb7df74e14115206eddde5418"
PINNED_WRAPPED = (
    "b71428f4980e4f15d41ae4471ac9392d41601ec1f71b307e2431d93a458cf5d081f0102ae94f10f4"
    "070181e6b7d2183260d6884f33f0c31d7f274ed9"
)


@pytest.fixture
def master() -> MasterKey:
    return MasterKey.from_base64(MasterKey.generate_base64())


def test_wrapped_material_unwraps_with_the_same_aad(master: MasterKey) -> None:
    aad = material_aad(UID, 1)
    blob = master.wrap(b"\x01" * 32, aad=aad)
    assert len(blob) == 12 + 32 + 16
    assert master.unwrap(blob, aad=aad) == b"\x01" * 32


def test_each_wrap_uses_a_fresh_nonce(master: MasterKey) -> None:
    aad = material_aad(UID, 1)
    assert master.wrap(b"same", aad=aad) != master.wrap(b"same", aad=aad)


@pytest.mark.parametrize(
    "other_aad",
    [material_aad(bytes(16), 1), material_aad(UID, 2), secret_aad("audit-chain")],
    ids=["another key", "another version", "a secret"],
)
def test_a_row_moved_to_another_key_or_version_fails_to_unwrap(master: MasterKey, other_aad: bytes) -> None:
    blob = master.wrap(b"material", aad=material_aad(UID, 1))
    with pytest.raises(MasterKeyError, match="failed authentication"):
        master.unwrap(blob, aad=other_aad)


def test_material_wrapped_by_another_master_key_fails_to_unwrap(master: MasterKey) -> None:
    blob = master.wrap(b"material", aad=material_aad(UID, 1))
    other = MasterKey.from_base64(MasterKey.generate_base64())
    with pytest.raises(MasterKeyError) as caught:
        other.unwrap(blob, aad=material_aad(UID, 1))
    assert other.id in str(caught.value)


def test_an_altered_or_truncated_row_fails_to_unwrap(master: MasterKey) -> None:
    aad = material_aad(UID, 1)
    blob = master.wrap(b"material", aad=aad)
    for bad in [flip(blob, i) for i in range(len(blob))] + [blob[:-1], blob[:27], b""]:
        with pytest.raises(MasterKeyError):
            master.unwrap(bad, aad=aad)


def test_an_empty_aad_is_refused(master: MasterKey) -> None:
    with pytest.raises(ValueError, match="aad"):
        master.wrap(b"material", aad=b"")
    with pytest.raises(ValueError, match="aad"):
        master.unwrap(b"\x00" * 40, aad=b"")


def test_material_is_wrapped_under_a_derived_subkey_not_the_master_key_itself() -> None:
    blob = bytes.fromhex(PINNED_WRAPPED)
    aad = material_aad(UID, 3)
    wrapping_key = HKDF(hashes.SHA256(), 32, salt=None, info=b"egide material wrapping v1").derive(FIXED)
    assert AESGCM(wrapping_key).decrypt(blob[:12], blob[12:], aad) == b"\x42" * 32
    with pytest.raises(InvalidTag):
        AESGCM(FIXED).decrypt(blob[:12], blob[12:], aad)


def test_a_row_wrapped_by_an_earlier_release_still_unwraps() -> None:
    master = MasterKey.from_base64(FIXED_B64)
    assert master.unwrap(bytes.fromhex(PINNED_WRAPPED), aad=material_aad(UID, 3)) == b"\x42" * 32


def test_the_master_key_id_is_a_stable_public_fingerprint() -> None:
    master = MasterKey.from_base64(FIXED_B64)
    assert master.id == PINNED_ID
    assert master.id == hashlib.sha256(b"egide master key id\x00" + FIXED).hexdigest()[:16]
    assert MasterKey.from_base64(MasterKey.generate_base64()).id != PINNED_ID


def test_derived_subkeys_are_hkdf_sha256_and_stable() -> None:
    master = MasterKey.from_base64(FIXED_B64)
    derived = master.derive(b"egide audit chain v1")
    assert derived.hex() == PINNED_AUDIT_KEY
    expected = HKDF(hashes.SHA256(), 32, salt=None, info=b"egide audit chain v1").derive(FIXED)
    assert derived == expected
    assert len(master.derive(b"egide audit chain v1", 64)) == 64
    assert master.derive(b"another purpose") != derived


def test_no_one_can_derive_the_wrapping_subkey(master: MasterKey) -> None:
    for length in (16, 32, 64):
        with pytest.raises(ValueError, match="reserved"):
            master.derive(b"egide material wrapping v1", length)


@pytest.mark.parametrize(("info", "length"), [(b"", 32), ("text", 32), (b"x", 8), (b"x", 10000)])
def test_derive_refuses_empty_info_or_an_unsafe_length(master: MasterKey, info: object, length: int) -> None:
    with pytest.raises(ValueError, match=r"info|length"):
        master.derive(info, length)  # type: ignore[arg-type]


def test_a_generated_master_key_is_44_characters_of_base64_for_32_random_bytes() -> None:
    first, second = MasterKey.generate_base64(), MasterKey.generate_base64()
    assert len(first) == 44
    assert len(base64.b64decode(first, validate=True)) == 32
    assert first != second


def test_surrounding_whitespace_such_as_a_files_final_newline_is_ignored() -> None:
    assert MasterKey.from_base64(f"  {FIXED_B64}\n").id == PINNED_ID


BAD_MASTER_KEYS = {
    "empty": "",
    "not base64": "not a master key at all!!!!!!!!!!!!!!!!!!!!!",
    "16 bytes": base64.b64encode(FIXED[:16]).decode(),
    "33 bytes": base64.b64encode(FIXED + b"\x00").decode(),
    "missing padding": FIXED_B64.rstrip("="),
    "urlsafe alphabet": base64.urlsafe_b64encode(b"\xfb" * 32).decode(),
    "inner newline": FIXED_B64[:20] + "\n" + FIXED_B64[20:],
    "non-canonical last character": FIXED_B64[:42] + "9=",
    "non-ascii": FIXED_B64[:43] + "\u00e9",
    "hex instead of base64": FIXED.hex(),
}


@pytest.mark.parametrize("text", BAD_MASTER_KEYS.values(), ids=BAD_MASTER_KEYS.keys())
def test_a_malformed_master_key_is_refused_without_echoing_it(text: str) -> None:
    with pytest.raises(MasterKeyError) as caught:
        MasterKey.from_base64(text)
    message = str(caught.value)
    assert "base64 of 32 random bytes" in message
    if text:
        assert text.strip()[:12] not in message
    assert caught.value.__cause__ is None


@pytest.mark.parametrize("value", [None, FIXED, 42])
def test_a_master_key_that_is_not_text_is_refused(value: object) -> None:
    with pytest.raises(MasterKeyError, match="must be text"):
        MasterKey.from_base64(value)  # type: ignore[arg-type]


def test_a_master_key_never_shows_its_bytes_in_repr() -> None:
    master = MasterKey.from_base64(FIXED_B64)
    assert repr(master) == f"<MasterKey id={PINNED_ID}>"
    assert FIXED_B64[:8] not in repr(master)
    assert FIXED.hex()[:8] not in repr(master)


def test_a_master_key_refuses_to_be_pickled_or_copied(master: MasterKey) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(master, protocol=protocol)
    with pytest.raises(TypeError):
        copy.deepcopy(master)


def test_the_material_aad_has_a_fixed_layout() -> None:
    assert material_aad(UID, 258) == b"egide:material:v1\x00" + UID + b"\x00\x00\x01\x02"


def test_the_secret_aad_is_its_label_and_the_utf8_name() -> None:
    assert secret_aad("audit-chain") == b"egide:secret:v1\x00audit-chain"
    assert secret_aad("clé") == b"egide:secret:v1\x00cl\xc3\xa9"


@pytest.mark.parametrize(("uid", "version"), [(UID[:15], 1), (UID, 0), (UID, -1), (UID, 2**31)])
def test_the_material_aad_refuses_a_malformed_uid_or_version(uid: bytes, version: int) -> None:
    with pytest.raises(ValueError, match=r"key_uid|version"):
        material_aad(uid, version)


@pytest.mark.parametrize("name", ["", None, b"audit"])
def test_the_secret_aad_refuses_an_empty_or_non_text_name(name: object) -> None:
    with pytest.raises(ValueError, match="secret name"):
        secret_aad(name)  # type: ignore[arg-type]
