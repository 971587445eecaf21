"""Keyrings sealed by a key-management service, through the client your service already has.

A document sealed this way records a :class:`keyroll.KeyWrap`: which service and key wrapped
its key-encryption key (KEK), the encryption context, and the service's ciphertext. Opening it
is one service call; encrypting and decrypting make none; saving a changed keyring reuses the
KEK it was opened with, so it makes none either::

    import boto3, keyroll
    from keyroll.kms import Boto3Kms

    kms = Boto3Kms(boto3.client("kms"), "alias/keyroll", {"app": "payments"})
    ring = keyroll.Keyring.generate()
    document = ring.to_document(kms=kms)          # GenerateDataKey, once
    ring = keyroll.Keyring.from_document(document, kms=Boto3Kms(boto3.client("kms"), None))
                                                  # Decrypt, once: the document names the key

Any object with the same two methods works (``docs/fleet.md`` sketches GCP KMS and Vault
Transit): ``unwrap(wrap) -> bytes`` returns the 32-byte KEK, and ``wrap() -> (bytes, KeyWrap)``
returns the KEK to seal under with its wrap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn, Protocol

from keyroll._native import KeyWrap
from keyroll.errors import InvalidArgumentError, KeyringError

__all__ = ["Boto3Kms", "Kms", "KeyWrap", "PROVIDER"]

#: The ``KeyWrap.provider`` of AWS KMS wraps (the same as the CLI's).
PROVIDER = "aws-kms"

# KMS's answers for a ciphertext, key or context that does not match: as for a wrong master key.
_REFUSED = {"InvalidCiphertextException", "IncorrectKeyException"}


class Kms(Protocol):
    """What ``Keyring.from_document(..., kms=)`` and ``Keyring.to_document(kms=)`` call."""

    def wrap(self) -> tuple[bytes, KeyWrap]:
        """The KEK to seal under and its wrap."""
        ...

    def unwrap(self, wrap: KeyWrap) -> bytes:
        """The KEK ``wrap`` holds, from the service."""
        ...


class Boto3Kms:
    """AWS KMS through a boto3 KMS client (its credentials, region and endpoint are yours).

    ``key_id`` (key id, ARN or alias) and ``context`` (the encryption context) are what new
    KEKs are made under; opening a document needs neither (``key_id=None`` is fine), since the
    document records both. The object remembers the KEK it last made or unwrapped, so that
    ``to_document`` after ``from_document`` re-seals under the same one without a call: use
    one object per keyring. That KEK is held as Python ``bytes``, which cannot be wiped.
    """

    def __init__(
        self, client: Any, key_id: str | None, context: Mapping[str, str] | None = None
    ) -> None:
        self._client = client
        self._key_id = key_id
        self._context = dict(context or {})
        self._current: tuple[bytes, KeyWrap] | None = None

    def __repr__(self) -> str:
        return f"Boto3Kms(key_id={self._key_id!r}, context={self._context!r})"

    def __reduce__(self) -> NoReturn:
        # Pickling (and copy.copy) would write the remembered KEK out in the clear.
        raise TypeError("Boto3Kms holds a key-encryption key and cannot be pickled or copied")

    def wrap(self) -> tuple[bytes, KeyWrap]:
        """The KEK last unwrapped or made, else a new one: ``GenerateDataKey`` (AES-256) under
        ``key_id`` and ``context``; the wrap records the key's ARN, not an alias."""
        if self._current is None:
            if not self._key_id:
                raise InvalidArgumentError(
                    "Boto3Kms needs a key_id to seal a new keyring", "invalid_argument"
                )
            out = self._client.generate_data_key(
                KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=dict(self._context)
            )
            wrap = KeyWrap(PROVIDER, out["KeyId"], dict(self._context), out["CiphertextBlob"])
            self._current = (out["Plaintext"], wrap)
        return self._current

    def unwrap(self, wrap: KeyWrap) -> bytes:
        """One ``Decrypt`` with the key and context ``wrap`` records. A ciphertext, key or
        context KMS refuses raises :class:`keyroll.KeyringError` (``bad_passphrase``)."""
        if wrap.provider != PROVIDER:
            raise InvalidArgumentError(
                f"this keyring's KEK was wrapped by {wrap.provider!r}, not AWS KMS",
                "invalid_argument",
            )
        try:
            out = self._client.decrypt(
                CiphertextBlob=wrap.wrapped,
                KeyId=wrap.key_id,
                EncryptionContext=wrap.context,
            )
        except Exception as e:  # botocore.exceptions.ClientError, without importing botocore
            code = getattr(e, "response", {}).get("Error", {}).get("Code")
            if code in _REFUSED:
                raise KeyringError(
                    "AWS KMS refused to unwrap this keyring's key-encryption key "
                    f"({code}): wrong key, context or ciphertext",
                    "bad_passphrase",
                ) from None
            raise
        kek: bytes = out["Plaintext"]
        self._current = (kek, wrap)
        return kek
