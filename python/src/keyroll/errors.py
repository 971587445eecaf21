"""keyroll's exceptions: one base class, :class:`KeyrollError`, with a stable ``.code``.

The codes are the same in every language keyroll ships to (``keyroll.ERROR_CODES`` lists them;
``docs/wire-format.md`` documents them). Messages never contain key material or plaintext.
"""

from __future__ import annotations

__all__ = [
    "KeyrollError",
    "DecryptError",
    "ExpiredError",
    "KeyUnavailableError",
    "KeyringError",
    "StoreError",
    "PolicyError",
    "InvalidArgumentError",
]


class KeyrollError(Exception):
    """Base class of every keyroll error. ``code`` is the stable machine-readable code."""

    code: str

    def __init__(self, message: str, code: str = "keyroll_error") -> None:
        super().__init__(message, code)
        self.code = code

    def __str__(self) -> str:
        return str(self.args[0])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.args[0]!r}, code={self.code!r})"


class DecryptError(KeyrollError):
    """A token does not open: ``decrypt_failed`` (wrong key or context, or altered bytes),
    ``malformed`` or ``unsupported_format``; for signed messages and JWTs also
    ``signature_invalid``, ``algorithm_mismatch`` and ``claim_invalid``."""


class ExpiredError(DecryptError):
    """A TTL check failed: ``expired``, or ``missing_timestamp`` (the token carries no time)."""


class KeyUnavailableError(DecryptError):
    """The token's key cannot be used: ``unknown_key_version``, ``wrong_keyring``,
    ``key_disabled``, ``key_compromised``, ``key_destroyed`` or ``below_minimum_version``."""


class KeyringError(KeyrollError):
    """The keyring itself: ``bad_passphrase``, ``keyring_corrupt``, ``invalid_key``,
    ``read_only``, ``wrong_keyring_kind`` (a signing keyring's document where an encryption
    keyring's is expected, or the reverse)."""


class StoreError(KeyringError):
    """Reading or writing a keyring file: ``io_error``, ``keyring_not_found``,
    ``keyring_locked``, …"""


class PolicyError(KeyrollError):
    """A key life-cycle rule: ``invalid_state_transition``, ``no_active_key``."""


class InvalidArgumentError(KeyrollError, ValueError):
    """An argument out of range: ``invalid_argument``."""
