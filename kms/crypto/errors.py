"""Typed errors of the crypto core.

Every message is written to be shown to users as it is: it never contains key
material, plaintext, or the raw input token. Adapters map each class to its
``code`` (the stable API error code).
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base of every error the crypto core raises on purpose."""

    code: str = "crypto_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidKeyType(CryptoError):
    """The key type name is not registered."""

    code = "invalid_key_type"


class OperationNotAllowed(CryptoError):
    """The key type cannot perform this operation (e.g. sign with aes256)."""

    code = "operation_not_allowed"


class InvalidRequest(CryptoError):
    """A parameter is wrong: a hash or padding not allowed for the key type, a prehashed
    digest of the wrong length, RSA plaintext over the OAEP limit, a context for RSA...
    """

    code = "invalid_request"


class InvalidKeyMaterial(InvalidRequest):
    """Serialized key material does not hold a valid key of the expected type and size.

    A subclass of :class:`InvalidRequest` (same code) so that adapters need no new
    mapping; a server loading its own stored material should treat it as a bug.
    """


class InvalidWrappedMaterial(InvalidKeyMaterial):
    """Wrapped key material (CKM_RSA_AES_KEY_WRAP) could not be unwrapped.

    One message whatever failed (the RSA-OAEP layer or the AES-KWP layer), so that the
    wrapping key is no decryption oracle.
    """


class InvalidPeerKey(InvalidRequest):
    """A peer public key for key agreement is not a valid key of the key's curve."""


class InvalidBackup(InvalidRequest):
    """A backup bundle is malformed, was modified, or was not made for this recipient."""


class InvalidCiphertext(CryptoError):
    """A ciphertext token is malformed, or could not be decrypted.

    Decryption failures always carry :data:`DECRYPT_FAILED`, whatever the cause, so
    the error is no oracle.
    """

    code = "invalid_ciphertext"


class InvalidSignature(CryptoError):
    """A signature token is malformed (a wrong signature is ``verify() -> False``)."""

    code = "invalid_signature"


class MasterKeyError(CryptoError):
    """The master key is malformed, or stored material failed authentication under it."""

    code = "master_key_error"


DECRYPT_FAILED = "ciphertext could not be decrypted: wrong key, version, context, or tampered data"
