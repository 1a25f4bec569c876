"""The data plane: encrypt, decrypt, sign, verify, hmac, decapsulate, derive-shared-secret (single
and batch), datakey, rewrap; random bytes.

Bytes in, bytes out: the client does the base64. Batch calls return one result per
item, in order; an item that failed is an EgideError instance in the list (not raised).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from kms.client.base import BaseClient, b64, compact, segment, unb64
from kms.client.errors import EgideError, PayloadTooLarge, ServerError, error_for

RAW_BODY_LIMIT = 16 * 1024 * 1024
"""Largest raw sign/verify body the API takes (docs/api.md)."""


@dataclass(frozen=True)
class Ciphertext:
    ciphertext: str  # egide:v<version>:<base64>
    key_version: int


@dataclass(frozen=True)
class Signature:
    signature: str  # egide:v<version>:<base64>
    key_version: int


@dataclass(frozen=True)
class DataKey:
    """A data key: ``plaintext`` (None if not asked for) and the same key wrapped."""

    plaintext: bytes | None = field(repr=False)  # never shown in a repr or a traceback
    ciphertext: str  # the wrapped key: egide:v<version>:<base64>
    key_version: int


@dataclass(frozen=True)
class Mac:
    hmac: str  # egide:v<version>:<base64>
    key_version: int


@dataclass(frozen=True)
class SharedSecret:
    """A decapsulated or derived shared secret (never shown in a repr)."""

    shared_secret: bytes = field(repr=False)
    key_version: int


class CryptoCalls(BaseClient):
    """The ``/v1/kms/<operation>/<name>`` endpoints, and ``/v1/kms/random``."""

    def encrypt(
        self,
        name: str,
        plaintext: bytes,
        *,
        context: bytes | None = None,
        key_version: int | None = None,
    ) -> Ciphertext:
        """Encrypt ``plaintext`` under the key (``key_version``: an older one); ``context`` must be given again to
        decrypt."""
        body = compact(plaintext=b64(plaintext), context=_opt_b64(context), key_version=key_version)
        return _ciphertext(self._call("POST", _op("encrypt", name), body))

    def decrypt(self, name: str, ciphertext: str | Ciphertext, *, context: bytes | None = None) -> bytes:
        """The plaintext of ``ciphertext``: the ``egide:v<N>:...`` text or the Ciphertext that encrypt returned.
        InvalidCiphertext if it does not decrypt (wrong key, context or data)."""
        if isinstance(ciphertext, Ciphertext):
            ciphertext = ciphertext.ciphertext
        body = compact(ciphertext=ciphertext, context=_opt_b64(context))
        return unb64(self._call("POST", _op("decrypt", name), body).get("plaintext"), "plaintext")

    def sign(
        self,
        name: str,
        data: bytes,
        *,
        algorithm: str | None = None,
        padding: str | None = None,
        prehashed: bool | None = None,
        key_version: int | None = None,
        context: bytes | None = None,
    ) -> Signature:
        """Sign ``data`` (or, with ``prehashed``, the digest given as ``data``); ``context``:
        ML-DSA's context string (at most 255 bytes)."""
        body = compact(
            data=b64(data), algorithm=algorithm, padding=padding,
            prehashed=prehashed, key_version=key_version, context=_opt_b64(context),
        )  # fmt: skip
        return _signature(self._call("POST", _op("sign", name), body))

    def verify(
        self,
        name: str,
        data: bytes,
        signature: str,
        *,
        algorithm: str | None = None,
        padding: str | None = None,
        prehashed: bool | None = None,
        context: bytes | None = None,
    ) -> bool:
        """True if ``signature`` is valid for ``data``; a malformed one raises InvalidSignature."""
        body = compact(
            data=b64(data), signature=signature, algorithm=algorithm,
            padding=padding, prehashed=prehashed, context=_opt_b64(context),
        )  # fmt: skip
        return _valid(self._call("POST", _op("verify", name), body))

    def hmac(self, name: str, data: bytes, *, algorithm: str | None = None, key_version: int | None = None) -> Mac:
        """The HMAC of ``data`` with an ``hmac`` key (sha256 by default, sha384, sha512)."""
        body = compact(data=b64(data), algorithm=algorithm, key_version=key_version)
        return _mac(self._call("POST", _op("hmac", name), body))

    def verify_hmac(self, name: str, data: bytes, mac: str, *, algorithm: str | None = None) -> bool:
        """True if ``mac`` (``egide:v<N>:...``) is the HMAC of ``data`` (compared in constant time)."""
        body = compact(data=b64(data), hmac=mac, algorithm=algorithm)
        return _valid(self._call("POST", _op("verify", name), body))

    def decapsulate(self, name: str, ciphertext: bytes, *, key_version: int | None = None) -> SharedSecret:
        """The ML-KEM shared secret of ``ciphertext`` (encapsulated to the key's public key)."""
        body = compact(ciphertext=b64(ciphertext), key_version=key_version)
        return _secret(self._call("POST", _op("decapsulate", name), body))

    def derive_shared_secret(self, name: str, public_key: str, *, key_version: int | None = None) -> SharedSecret:
        """The raw X25519/ECDH shared secret with a peer's public key (PEM SubjectPublicKeyInfo)."""
        body = compact(public_key=public_key, key_version=key_version)
        return _secret(self._call("POST", _op("derive-shared-secret", name), body))

    def random(self, count: int, *, format: str = "base64") -> bytes:  # noqa: A002 - the API's name
        """``count`` random bytes (at most 1024) from the server's CSPRNG."""
        data = self._call("POST", "/v1/kms/random", {"bytes": count, "format": format})
        text = _text(data, "random")
        if format == "hex":
            try:
                return bytes.fromhex(text)
            except ValueError:
                raise ServerError("server_error", "the server's random bytes are not hex") from None
        return unb64(text, "random")

    def sign_stream(
        self,
        name: str,
        stream: BinaryIO,
        length: int,
        *,
        algorithm: str | None = None,
        padding: str | None = None,
        key_version: int | None = None,
    ) -> Signature:
        """Sign ``length`` bytes read from ``stream``, sent as the raw request body.

        For Ed25519, which has no prehashed form. The body is streamed, not loaded.
        PayloadTooLarge (nothing sent) above RAW_BODY_LIMIT.
        """
        query = compact(algorithm=algorithm, padding=padding, key_version=key_version)
        _check_raw_length(length)
        return _signature(self._call_raw("POST", _op("sign", name), stream, length, query))

    def verify_stream(
        self,
        name: str,
        stream: BinaryIO,
        length: int,
        signature: str,
        *,
        algorithm: str | None = None,
        padding: str | None = None,
    ) -> bool:
        """Verify ``signature`` over ``length`` bytes of ``stream`` sent as the raw body."""
        query = compact(signature=signature, algorithm=algorithm, padding=padding)
        _check_raw_length(length)
        return _valid(self._call_raw("POST", _op("verify", name), stream, length, query))

    def datakey(self, name: str, *, context: bytes | None = None, plaintext: bool = True) -> DataKey:
        """A fresh 256-bit data key wrapped under the key (and in plaintext unless told not)."""
        body = compact(context=_opt_b64(context), plaintext=plaintext)
        data = self._call("POST", _op("datakey", name), body)
        raw = data.get("plaintext")
        key = None if raw is None else unb64(raw, "data key")
        return DataKey(key, _text(data, "ciphertext"), _int(data, "key_version"))

    def rewrap(self, name: str, ciphertext: str, *, context: bytes | None = None) -> Ciphertext:
        """Re-encrypt a ciphertext under the key's current version, inside the server."""
        body = compact(ciphertext=ciphertext, context=_opt_b64(context))
        return _ciphertext(self._call("POST", _op("rewrap", name), body))

    # --- batch ----------------------------------------------------------------------

    def encrypt_batch(
        self,
        name: str,
        plaintexts: Sequence[bytes],
        *,
        contexts: Sequence[bytes | None] | None = None,
    ) -> list[Ciphertext | EgideError]:
        """Encrypt many plaintexts in one request; a failed item is an EgideError in the list."""
        items = [
            compact(plaintext=b64(p), context=_opt_b64(c))
            for p, c in zip(plaintexts, _contexts(contexts, len(plaintexts)), strict=True)
        ]
        return self._batch("encrypt", name, items, _ciphertext)

    def decrypt_batch(
        self,
        name: str,
        ciphertexts: Sequence[str],
        *,
        contexts: Sequence[bytes | None] | None = None,
    ) -> list[bytes | EgideError]:
        """Decrypt many ciphertexts in one request; a failed item is an EgideError in the list."""
        items = [
            compact(ciphertext=t, context=_opt_b64(c))
            for t, c in zip(ciphertexts, _contexts(contexts, len(ciphertexts)), strict=True)
        ]
        return self._batch("decrypt", name, items, lambda d: unb64(d.get("plaintext"), "plaintext"))

    def sign_batch(
        self,
        name: str,
        items: Sequence[bytes],
        *,
        algorithm: str | None = None,
        padding: str | None = None,
        prehashed: bool | None = None,
    ) -> list[Signature | EgideError]:
        """Sign many items in one request; a failed item is an EgideError in the list."""
        body = [compact(data=b64(d), algorithm=algorithm, padding=padding, prehashed=prehashed) for d in items]
        return self._batch("sign", name, body, _signature)

    def verify_batch(
        self,
        name: str,
        items: Sequence[tuple[bytes, str]],
        *,
        algorithm: str | None = None,
        padding: str | None = None,
        prehashed: bool | None = None,
    ) -> list[bool | EgideError]:
        """``items`` are (data, signature) pairs."""
        body = [
            compact(data=b64(d), signature=s, algorithm=algorithm, padding=padding, prehashed=prehashed)
            for d, s in items
        ]
        return self._batch("verify", name, body, _valid)

    def hmac_batch(self, name: str, items: Sequence[bytes], *, algorithm: str | None = None) -> list[Mac | EgideError]:
        """HMAC many items in one request; a failed item is an EgideError in the list."""
        body = [compact(data=b64(d), algorithm=algorithm) for d in items]
        return self._batch("hmac", name, body, _mac)

    def decapsulate_batch(self, name: str, ciphertexts: Sequence[bytes]) -> list[SharedSecret | EgideError]:
        """Decapsulate many ML-KEM ciphertexts in one request; a failed item is an EgideError in the list."""
        return self._batch("decapsulate", name, [{"ciphertext": b64(c)} for c in ciphertexts], _secret)

    def _batch(self, operation: str, name: str, items: list[dict[str, Any]], convert: Any) -> list:
        data = self._call("POST", _op(operation, name), {"batch": items})
        results = data.get("batch") if isinstance(data, dict) else None
        if not isinstance(results, list) or len(results) != len(items):
            message = f"the server answered a {operation} batch without one result per item"
            raise ServerError("server_error", message)
        return [_item(result, convert) for result in results]


def _item(result: Any, convert: Any) -> Any:
    if isinstance(result, dict) and isinstance(result.get("error"), dict):
        error = result["error"]
        return error_for(str(error.get("code")), str(error.get("message", "")), 0)
    return convert(result)


def _op(operation: str, name: str) -> str:
    return f"/v1/kms/{operation}/{segment(name)}"


def _opt_b64(value: bytes | None) -> str | None:
    return None if value is None else b64(value)


def _contexts(contexts: Sequence[bytes | None] | None, count: int) -> Sequence[bytes | None]:
    return [None] * count if contexts is None else contexts


def _check_raw_length(length: int) -> None:
    if length > RAW_BODY_LIMIT:
        raise PayloadTooLarge(
            "payload_too_large",
            f"{length} bytes is over the server's limit of {RAW_BODY_LIMIT} bytes (16 MiB) for data sent whole",
        )


def _text(data: Any, field: str) -> str:
    value = data.get(field) if isinstance(data, dict) else None
    if not isinstance(value, str):
        raise ServerError("server_error", f"the server's answer has no {field}")
    return value


def _int(data: Any, field: str) -> int:
    value = data.get(field) if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ServerError("server_error", f"the server's answer has no {field}")
    return value


def _ciphertext(data: Any) -> Ciphertext:
    return Ciphertext(_text(data, "ciphertext"), _int(data, "key_version"))


def _signature(data: Any) -> Signature:
    return Signature(_text(data, "signature"), _int(data, "key_version"))


def _mac(data: Any) -> Mac:
    return Mac(_text(data, "hmac"), _int(data, "key_version"))


def _secret(data: Any) -> SharedSecret:
    return SharedSecret(unb64(_text(data, "shared_secret"), "shared_secret"), _int(data, "key_version"))


def _valid(data: Any) -> bool:
    value = data.get("valid") if isinstance(data, dict) else None
    if not isinstance(value, bool):
        raise ServerError("server_error", "the server's answer has no valid: true/false")
    return value
