"""A drop-in replacement for ``cryptography.fernet``.

Change ``from cryptography.fernet import Fernet, MultiFernet, InvalidToken`` to
``from keyroll.compat import Fernet, MultiFernet, InvalidToken`` and keep the same keys:

* every Fernet token made with those keys still decrypts (``decrypt``, ``rotate``,
  ``extract_timestamp``, TTLs included);
* new tokens are keyroll v1 envelopes (AES-256-GCM, text form ``kr1:v<N>:…`` as ASCII bytes)
  under a key derived from the primary Fernet key with HKDF (``docs/wire-format.md``), so every
  process configured with the same key list, in any language, reads them with no keyring file;
* ``MultiFernet.rotate`` turns any token, Fernet or keyroll, into one under the primary key,
  keeping its timestamp.

Signatures, return types and exceptions are those of ``cryptography.fernet``: bytes in, bytes
out, ``InvalidToken`` for any token that does not open, ``ValueError`` for a bad key or a
``str`` token holding a non-ASCII character (that one is also an ``InvalidToken``),
``TypeError`` for a wrong argument type. The keys are held inside a native
:class:`keyroll.Keyring`, never in a Python attribute, repr or pickle.

For a keyring an operator can rotate to ordinary versions, use
``keyroll.Keyring.from_fernet_keys`` with the same list.
"""

from __future__ import annotations

import base64
import binascii
import typing
from collections.abc import Iterable

from keyroll._native import FernetKey, Keyring
from keyroll.errors import DecryptError, KeyrollError

__all__ = ["Fernet", "InvalidToken", "MultiFernet"]


class InvalidToken(DecryptError):  # noqa: N818 (the name cryptography.fernet uses)
    """The token does not open under these keys (or is malformed, or too old)."""

    def __init__(self, message: str = "invalid token", code: str = "decrypt_failed") -> None:
        super().__init__(message, code)


class _NonAsciiToken(InvalidToken, ValueError):
    """A ``str`` token with a character outside ASCII.

    ``cryptography.fernet`` decodes tokens with ``base64.urlsafe_b64decode``, which raises a
    plain ``ValueError`` for such a string before any key is tried (and skips non-alphabet
    *bytes* in a ``bytes`` token, which keyroll mirrors). This is both a ``ValueError``, so that
    code written against pyca behaves the same, and an ``InvalidToken``, so that
    ``except InvalidToken`` also catches it.
    """

    def __init__(self) -> None:
        super().__init__("string argument should contain only ASCII characters", "malformed")


_KEY_ERROR = "Fernet key must be 32 url-safe base64-encoded bytes."


def _parse_key(key: bytes | str) -> FernetKey:
    # The same decoding as cryptography.fernet (lenient urlsafe_b64decode), so that every key
    # it accepts is accepted here.
    try:
        raw = base64.urlsafe_b64decode(key)
    except binascii.Error as exc:
        raise ValueError(_KEY_ERROR) from exc
    if len(raw) != 32:
        raise ValueError(_KEY_ERROR)
    return FernetKey.from_bytes(raw)


def _check_token(token: object) -> None:
    if not isinstance(token, (str, bytes)):
        raise TypeError("token must be bytes or str")
    if isinstance(token, str) and not token.isascii():
        raise _NonAsciiToken


def _check_ttl(ttl: int | None) -> None:
    if ttl is None:
        raise ValueError("decrypt_at_time() can only be used with a non-None ttl")


def _encrypt(ring: Keyring, data: bytes, now: int | None, name: str) -> bytes:
    if not isinstance(data, bytes):
        raise TypeError(f"{name} must be bytes")
    return ring.encrypt(data, now=now).encode("ascii")


def _lenient_fernet(token: bytes | str) -> bytes | None:
    """The canonical form of a Fernet token that cryptography.fernet reads but keyroll's strict
    decoder does not (``binascii`` skips characters outside the alphabet, such as a trailing
    newline, and accepts non-canonical padding bits); ``None`` if there is none."""
    if isinstance(token, str):
        try:
            token = token.encode("ascii")
        except UnicodeEncodeError:
            return None
    try:
        raw = base64.urlsafe_b64decode(token)
    except (binascii.Error, ValueError):
        return None
    if not raw or raw[0] != 0x80:
        return None
    canonical = base64.urlsafe_b64encode(raw)
    return canonical if canonical != token else None


_T = typing.TypeVar("_T")


def _open(token: bytes | str, op: typing.Callable[[bytes | str], _T]) -> _T:
    """Runs ``op`` on the token, retrying a leniently encoded Fernet token in canonical form;
    every failure becomes ``InvalidToken``."""
    _check_token(token)
    try:
        return op(token)
    except KeyrollError as exc:
        if exc.code not in ("malformed", "unsupported_format"):
            raise InvalidToken(str(exc), exc.code) from None
        canonical = _lenient_fernet(token)
        if canonical is None:
            raise InvalidToken(str(exc), exc.code) from None
    try:
        return op(canonical)
    except KeyrollError as exc:
        raise InvalidToken(str(exc), exc.code) from None


def _decrypt(ring: Keyring, token: bytes | str, ttl: int | None, now: int | None) -> bytes:
    if ttl is not None and (ttl < 0 or (now is not None and now < 0)):
        raise InvalidToken("ttl and time must be non-negative", "invalid_argument")
    return _open(token, lambda t: ring.decrypt(t, ttl=ttl, now=now))


def _timestamp(ring: Keyring, token: bytes | str) -> int:
    issued_at = _open(token, lambda t: ring.verify(t).issued_at)
    if issued_at is None:
        raise InvalidToken("the token carries no timestamp", "missing_timestamp")
    return issued_at


class _Base:
    __slots__ = ("_ring",)
    _ring: Keyring

    def __repr__(self) -> str:
        return f"<keyroll.compat.{type(self).__name__} keyring={self._ring.id}>"

    def __reduce__(self) -> typing.NoReturn:
        raise TypeError(f"a {type(self).__name__} holds keys and cannot be pickled")


class Fernet(_Base):
    """``cryptography.fernet.Fernet``, writing keyroll envelopes and reading both formats."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes | str, backend: typing.Any = None) -> None:
        self._key = _parse_key(key)
        self._ring = Keyring.from_fernet_keys([self._key], now=0)

    @classmethod
    def generate_key(cls) -> bytes:
        """A fresh random key: 32 bytes in URL-safe base64, as Fernet makes them."""
        return FernetKey.generate().to_base64()

    def encrypt(self, data: bytes) -> bytes:
        return _encrypt(self._ring, data, None, "data")

    def encrypt_at_time(self, data: bytes, current_time: int) -> bytes:
        return _encrypt(self._ring, data, current_time, "data")

    def decrypt(self, token: bytes | str, ttl: int | None = None) -> bytes:
        return _decrypt(self._ring, token, ttl, None)

    def decrypt_at_time(self, token: bytes | str, ttl: int, current_time: int) -> bytes:
        _check_ttl(ttl)
        return _decrypt(self._ring, token, ttl, current_time)

    def extract_timestamp(self, token: bytes | str) -> int:
        return _timestamp(self._ring, token)


def _key_of(fernet: object) -> FernetKey:
    if isinstance(fernet, Fernet):
        return fernet._key
    # A cryptography.fernet.Fernet: lets a service mix both during a migration.
    signing = getattr(fernet, "_signing_key", None)
    encryption = getattr(fernet, "_encryption_key", None)
    if isinstance(signing, bytes) and isinstance(encryption, bytes):
        return FernetKey.from_bytes(signing + encryption)
    raise TypeError("MultiFernet takes Fernet instances")


class MultiFernet(_Base):
    """``cryptography.fernet.MultiFernet``: encrypts under the first key, decrypts under any."""

    __slots__ = ()

    def __init__(self, fernets: Iterable[Fernet]) -> None:
        keys = [_key_of(f) for f in fernets]
        if not keys:
            raise ValueError("MultiFernet requires at least one Fernet instance")
        self._ring = Keyring.from_fernet_keys(keys, now=0)

    def encrypt(self, msg: bytes) -> bytes:
        return _encrypt(self._ring, msg, None, "data")

    def encrypt_at_time(self, msg: bytes, current_time: int) -> bytes:
        return _encrypt(self._ring, msg, current_time, "data")

    def decrypt(self, msg: bytes | str, ttl: int | None = None) -> bytes:
        return _decrypt(self._ring, msg, ttl, None)

    def decrypt_at_time(self, msg: bytes | str, ttl: int, current_time: int) -> bytes:
        _check_ttl(ttl)
        return _decrypt(self._ring, msg, ttl, current_time)

    def extract_timestamp(self, msg: bytes | str) -> int:
        return _timestamp(self._ring, msg)

    def rotate(self, msg: bytes | str) -> bytes:
        """Re-encrypts any readable token under the primary key, keeping its timestamp."""
        return _open(msg, self._ring.rewrap).encode("ascii")
