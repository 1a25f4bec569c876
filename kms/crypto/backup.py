"""Backup bundles: one key, all its versions, sealed to a destination.

A bundle is text::

    egide-backup.v1.<base64url(header)>.<base64url(sealed payload)>

The *header* is canonical JSON, readable without any key (:func:`peek_bundle`)::

    {"cek": <wrapped content key>, "format": "egide-backup", "key_type": "aes256",
     "nonce": <payload nonce>, "recipient": <id>, "to": "master" | "rsa", "v": 1}

The *payload* is canonical JSON of the key (its uid, type, settings and every version's
material), sealed with AES-256-GCM under a fresh random 256-bit content key (CEK), with
the header's exact bytes as associated data. The CEK is wrapped for the destination:

- ``"to": "master"`` (restore into this Egide): AES-256-GCM under the subkey
  ``MasterKey.derive(b"egide backup v1")``; ``recipient`` is the master key's id;
- ``"to": "rsa"`` (move to another Egide, like Transit's ``byok-export``): RSA-OAEP-
  SHA256 (MGF1-SHA256) to that Egide's RSA wrapping public key; ``recipient`` is the
  first 16 bytes (hex) of SHA-256 of that key's SubjectPublicKeyInfo DER.

Integrity: any change to any byte of the header or payload fails the GCM tag (the
header is the payload's associated data, so a CEK or recipient swapped from another
bundle fails too). A bundle for another recipient is refused by its ``recipient``
before any decryption. Every failure is :class:`InvalidBackup`. What it does not give:
a bundle sealed to an RSA wrapping key authenticates its content, not its sender
(whoever holds that public key can make one); that is the same trust as an import
with the same key, and restoring needs the same permission.

The key's ``uid`` travels in the bundle: ciphertexts' associated data are bound to it
(:func:`kms.crypto.aad.aes_aad_prefix`), so a restored key keeps it, whatever name it
is restored under.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kms.crypto.aad import MAX_VERSION, UID_LENGTH
from kms.crypto.errors import CryptoError, InvalidBackup, InvalidCiphertext
from kms.crypto.keytypes import get_key_type
from kms.crypto.loaded import LoadedKey
from kms.crypto.pkcs8 import load_public_key, public_der
from kms.crypto.wrapping import MasterKey

PREFIX = "egide-backup.v"
FORMAT = "egide-backup"
FORMAT_VERSION = 1
BACKUP_INFO = b"egide backup v1"
TO_MASTER = "master"
TO_RSA = "rsa"
MAX_BUNDLE_CHARS = 16 * 1024 * 1024
_CEK_AAD = b"egide:backup-cek:v1\x00"
_NONCE = 12
_OAEP = asym_padding.OAEP(mgf=asym_padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
_HEADER_FIELDS = {"cek", "format", "key_type", "nonce", "recipient", "to", "v"}
_PAYLOAD_FIELDS = {"settings", "type", "uid", "versions"}
_VERSION_FIELDS = {"info", "material", "public_key", "version"}
_MODIFIED = "backup was modified or is corrupt"


@dataclass(frozen=True)
class BundleVersion:
    """One version in a bundle: its material (None once destroyed, or for a verify-only
    version, which has ``public_key`` instead) and the caller's JSON-safe ``info`` about
    it (status, dates, counters...).
    """

    version: int
    material: bytes | None = field(repr=False)
    public_key: str | None = None
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class KeyBundle:
    """What a bundle holds: the key's uid (its ciphertexts' identity), type, JSON-safe
    settings (policy, rotation...) and versions in increasing order.
    """

    uid: bytes
    key_type: str
    settings: Mapping[str, Any]
    versions: tuple[BundleVersion, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.uid, bytes) or len(self.uid) != UID_LENGTH:
            raise ValueError(f"uid must be {UID_LENGTH} bytes")
        get_key_type(self.key_type, served_only=False)
        numbers = [v.version for v in self.versions]
        if not numbers or numbers != sorted(set(numbers)):
            raise ValueError("versions must be non-empty, unique and in increasing order")
        for v in self.versions:
            if isinstance(v.version, bool) or not 1 <= v.version <= MAX_VERSION:
                raise ValueError("a version number must be from 1 to 2**31 - 1")
            if v.material is not None and not isinstance(v.material, bytes):
                raise ValueError("material must be bytes or None")


@dataclass(frozen=True)
class BundleInfo:
    """The readable header of a bundle (not yet authenticated)."""

    format_version: int
    to: str
    recipient: str
    key_type: str


def rsa_recipient(public_key: str | bytes) -> str:
    """The recipient id of an RSA wrapping public key (PEM or DER SubjectPublicKeyInfo)."""
    return hashlib.sha256(public_der(load_public_key("wrapping", public_key))).hexdigest()[:32]


def make_bundle(bundle: KeyBundle, *, to: MasterKey | str | bytes) -> str:
    """Seal ``bundle`` to this Egide's master key (a MasterKey) or to another Egide's RSA
    wrapping public key (PEM or DER SubjectPublicKeyInfo); return the bundle text.
    """
    cek = AESGCM.generate_key(bit_length=256)
    if isinstance(to, MasterKey):
        mode, recipient = TO_MASTER, to.id
        cek_nonce = os.urandom(_NONCE)
        wrapped = cek_nonce + AESGCM(to.derive(BACKUP_INFO)).encrypt(cek_nonce, cek, _CEK_AAD)
    else:
        public = load_public_key("wrapping", to)
        if not isinstance(public, rsa.RSAPublicKey) or public.key_size < 3072:
            raise ValueError("a backup is sealed to an RSA wrapping public key of 3072+ bits")
        mode, recipient = TO_RSA, rsa_recipient(to)
        wrapped = public.encrypt(cek, _OAEP)
    nonce = os.urandom(_NONCE)
    header = _canonical(
        {
            "cek": _b64(wrapped),
            "format": FORMAT,
            "key_type": bundle.key_type,
            "nonce": _b64(nonce),
            "recipient": recipient,
            "to": mode,
            "v": FORMAT_VERSION,
        }
    )
    sealed = AESGCM(cek).encrypt(nonce, _canonical(_payload(bundle)), header)
    return f"{PREFIX}{FORMAT_VERSION}.{_b64(header)}.{_b64(sealed)}"


def peek_bundle(text: str) -> BundleInfo:
    """The header of a bundle, to choose the key that opens it; InvalidBackup if malformed."""
    header, _raw, _sealed = _split(text)
    return BundleInfo(header["v"], header["to"], header["recipient"], header["key_type"])


def open_bundle(
    text: str,
    *,
    master_key: MasterKey | None = None,
    wrapping_key: LoadedKey | None = None,
) -> KeyBundle:
    """Open and check a bundle with this Egide's master key (``"to": "master"``) or its
    RSA wrapping key (an rsa LoadedKey holding its private key, ``"to": "rsa"``).

    InvalidBackup if the text is not a bundle, was sealed for another recipient, was
    modified in any byte, or holds material that is not a valid key of its type.
    """
    header, raw_header, sealed = _split(text)
    cek = _open_cek(header, master_key, wrapping_key)
    try:
        plain = AESGCM(cek).decrypt(_unb64(header["nonce"]), sealed, raw_header)
    except (InvalidTag, ValueError):
        raise InvalidBackup(_MODIFIED) from None
    return _bundle(_json(plain, _PAYLOAD_FIELDS), header["key_type"])


def _open_cek(header: dict[str, Any], master_key: MasterKey | None, wrapping_key: LoadedKey | None) -> bytes:
    wrapped = _unb64(header["cek"])
    if header["to"] == TO_MASTER:
        if master_key is None:
            raise InvalidBackup("this backup is sealed to a master key; restore it on its Egide")
        if header["recipient"] != master_key.id:
            raise InvalidBackup(
                f"this backup was made for another Egide (master key {header['recipient']}, not {master_key.id})"
            )
        try:
            aead = AESGCM(master_key.derive(BACKUP_INFO))
            return aead.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], _CEK_AAD)
        except (InvalidTag, ValueError):
            raise InvalidBackup(_MODIFIED) from None
    if wrapping_key is None or not wrapping_key.has_private:
        raise InvalidBackup("this backup is sealed to a wrapping key; give its private key")
    if header["recipient"] != rsa_recipient(wrapping_key.public_key_pem() or ""):
        raise InvalidBackup("this backup was made for another Egide's wrapping key")
    try:
        cek = wrapping_key.decrypt(wrapped)
    except (InvalidCiphertext, CryptoError):
        raise InvalidBackup(_MODIFIED) from None
    if len(cek) != 32:
        raise InvalidBackup(_MODIFIED)
    return cek


def _payload(bundle: KeyBundle) -> dict[str, Any]:
    return {
        "settings": dict(bundle.settings),
        "type": bundle.key_type,
        "uid": bundle.uid.hex(),
        "versions": [
            {
                "info": dict(v.info),
                "material": None if v.material is None else _b64(v.material),
                "public_key": v.public_key,
                "version": v.version,
            }
            for v in bundle.versions
        ],
    }


def _bundle(payload: dict[str, Any], header_type: str) -> KeyBundle:
    """The checked KeyBundle of a payload that authenticated (so only a bug or a foreign
    writer makes it malformed, but it is checked all the same).
    """
    try:
        if payload["type"] != header_type:
            raise ValueError("type differs from the header's")
        key_type = get_key_type(payload["type"], served_only=False)
        versions = []
        for item in payload["versions"]:
            if not isinstance(item, dict) or set(item) != _VERSION_FIELDS:
                raise ValueError("version fields")
            material = None if item["material"] is None else _unb64(item["material"])
            if material is not None:
                key_type.load(material)  # full checks: restored material is not trusted
            elif item["public_key"] is not None:
                key_type.load_public(item["public_key"])
            if not isinstance(item["info"], dict):
                raise ValueError("info")
            versions.append(BundleVersion(item["version"], material, item["public_key"], item["info"]))
        if not isinstance(payload["settings"], dict) or not isinstance(payload["uid"], str):
            raise ValueError("settings or uid")
        return KeyBundle(bytes.fromhex(payload["uid"]), payload["type"], payload["settings"], tuple(versions))
    except (ValueError, TypeError, KeyError, CryptoError):
        raise InvalidBackup(f"{_MODIFIED} (its content is not a valid key)") from None


def _split(text: str) -> tuple[dict[str, Any], bytes, bytes]:
    if not isinstance(text, str) or len(text) > MAX_BUNDLE_CHARS:
        raise InvalidBackup("not an Egide backup")
    if not text.startswith(PREFIX):
        raise InvalidBackup("not an Egide backup (it must start with 'egide-backup.v')")
    parts = text[len(PREFIX) :].split(".")
    if len(parts) != 3 or not parts[0].isascii() or not parts[0].isdigit():
        raise InvalidBackup(_MODIFIED)
    if parts[0] != str(FORMAT_VERSION):
        raise InvalidBackup(
            f"unsupported backup format version {parts[0][:8]} (this Egide reads version {FORMAT_VERSION})"
        )
    raw_header, sealed = _unb64(parts[1]), _unb64(parts[2])
    header = _json(raw_header, _HEADER_FIELDS)
    if _canonical(header) != raw_header:
        raise InvalidBackup(_MODIFIED)
    if (
        header["format"] != FORMAT
        or header["v"] != FORMAT_VERSION
        or header["to"] not in (TO_MASTER, TO_RSA)
        or not all(isinstance(header[k], str) for k in ("cek", "nonce", "recipient", "key_type"))
        or len(_unb64(header["nonce"])) != _NONCE
    ):
        raise InvalidBackup(_MODIFIED)
    return header, raw_header, sealed


def _json(raw: bytes, fields: set[str]) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidBackup(_MODIFIED) from None
    if not isinstance(value, dict) or set(value) != fields:
        raise InvalidBackup(_MODIFIED)
    return value


def _canonical(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: object) -> bytes:
    """Canonical unpadded base64url, or InvalidBackup."""
    if not isinstance(text, str) or not text.isascii():
        raise InvalidBackup(_MODIFIED)
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidBackup(_MODIFIED) from None
    if _b64(data) != text:
        raise InvalidBackup(_MODIFIED)
    return data
