"""keyroll: versioned envelope encryption and key rotation.

>>> import keyroll
>>> ring = keyroll.Keyring.generate()
>>> token = ring.encrypt(b"4111 1111 1111 1111", context=b"users:42:card")
>>> token.startswith("kr1:v1:")
True
>>> ring.decrypt(token, context=b"users:42:card")
b'4111 1111 1111 1111'

``keyroll.compat`` is a drop-in replacement for ``cryptography.fernet``.
"""

from keyroll._native import (
    AEAD_BACKEND,
    BLIND_INDEX_NORMALIZERS,
    DEFAULT_PBKDF2_ITERATIONS,
    ERROR_CODES,
    SIGNING_BACKEND,
    BlindIndex,
    FernetKey,
    Keyring,
    KeyringHandle,
    KeyWrap,
    Policy,
    PolicyStatus,
    RewrapBatch,
    SigningKeyring,
    TokenInfo,
    Verified,
    VerifiedJwt,
    VerifiedMessage,
    VersionInfo,
    __version__,
    inspect,
)
from keyroll.errors import (
    DecryptError,
    ExpiredError,
    InvalidArgumentError,
    KeyringError,
    KeyrollError,
    KeyUnavailableError,
    PolicyError,
    StoreError,
)

__all__ = [
    "AEAD_BACKEND",
    "BLIND_INDEX_NORMALIZERS",
    "DEFAULT_PBKDF2_ITERATIONS",
    "ERROR_CODES",
    "BlindIndex",
    "DecryptError",
    "ExpiredError",
    "FernetKey",
    "InvalidArgumentError",
    "KeyUnavailableError",
    "Keyring",
    "KeyringError",
    "KeyringHandle",
    "KeyWrap",
    "KeyrollError",
    "Policy",
    "PolicyError",
    "PolicyStatus",
    "RewrapBatch",
    "SIGNING_BACKEND",
    "SigningKeyring",
    "StoreError",
    "TokenInfo",
    "Verified",
    "VerifiedJwt",
    "VerifiedMessage",
    "VersionInfo",
    "__version__",
    "inspect",
]
