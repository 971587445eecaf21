"""Type stubs of the native module (checked against it by ``mypy.stubtest``)."""

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Literal, NoReturn, Protocol, TypedDict, final, overload

from keyroll.errors import KeyrollError

_Data = bytes | bytearray | str
_Path = str | os.PathLike[str]
_KeyState = Literal["pending", "active", "decrypt_only", "disabled", "compromised", "destroyed"]

__all__ = [
    "AEAD_BACKEND",
    "BLIND_INDEX_NORMALIZERS",
    "DEFAULT_PBKDF2_ITERATIONS",
    "ERROR_CODES",
    "BlindIndex",
    "FernetKey",
    "Keyring",
    "KeyringHandle",
    "KeyWrap",
    "Policy",
    "PolicyStatus",
    "RewrapBatch",
    "SIGNING_BACKEND",
    "SigningKeyring",
    "TokenInfo",
    "Verified",
    "VerifiedJwt",
    "VerifiedMessage",
    "VersionInfo",
    "__version__",
    "fernet_key_django_fernet_fields",
    "fernet_key_fernet_encrypted_fields",
    "fernet_key_sqlalchemy_utils",
    "inspect",
    "rewrap_to_context",
]
DEFAULT_PBKDF2_ITERATIONS: int
ERROR_CODES: list[str]
AEAD_BACKEND: str
BLIND_INDEX_NORMALIZERS: list[str]
SIGNING_BACKEND: str
__version__: str

def inspect(token: _Data) -> TokenInfo: ...

# The Fernet keys other ORM libraries derive from their settings (keyroll.sqlalchemy and
# keyroll.django import them), and a rewrap from one context to another (their migrations).
def fernet_key_sqlalchemy_utils(key: _Data) -> FernetKey: ...
def fernet_key_django_fernet_fields(secret: _Data) -> FernetKey: ...
def fernet_key_fernet_encrypted_fields(secret: _Data, salt: _Data) -> FernetKey: ...
def rewrap_to_context(
    ring: Keyring,
    token: _Data,
    *,
    from_context: _Data | None = None,
    to_context: _Data | None = None,
    binary: bool = False,
) -> str | bytes: ...

@final
class FernetKey:
    def __new__(cls, key: _Data) -> FernetKey: ...
    @staticmethod
    def from_bytes(raw: bytes) -> FernetKey: ...
    @staticmethod
    def generate() -> FernetKey: ...
    def to_base64(self) -> bytes: ...
    @property
    def keyroll_version(self) -> int: ...
    def __reduce__(self) -> NoReturn: ...

@final
class VersionInfo:
    @property
    def version(self) -> int: ...
    @property
    def kind(
        self,
    ) -> Literal[
        "aes256_gcm", "fernet", "raw_gcm", "hmac_sha256", "hmac_sha256_legacy", "ed25519"
    ]: ...
    @property
    def state(self) -> _KeyState: ...
    @property
    def created_at(self) -> int: ...
    @property
    def activated_at(self) -> int | None: ...
    @property
    def retired_at(self) -> int | None: ...
    @property
    def compromised_at(self) -> int | None: ...
    @property
    def destroyed_at(self) -> int | None: ...
    @property
    def note(self) -> str | None: ...
    @property
    def legacy_version_byte(self) -> int | None: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Policy:
    @property
    def rotate_after_days(self) -> int: ...
    @property
    def warn_after_days(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class PolicyStatus:
    @property
    def state(self) -> Literal["ok", "warn", "due", "no_active_key"]: ...
    @property
    def active_version(self) -> int | None: ...
    @property
    def age_seconds(self) -> int: ...
    @property
    def warn_at(self) -> int | None: ...
    @property
    def due_at(self) -> int | None: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class TokenInfo:
    @property
    def format(self) -> Literal["keyroll_v1_binary", "keyroll_v1_text", "fernet"]: ...
    @property
    def algorithm(self) -> str: ...
    @property
    def keyring_id(self) -> str | None: ...
    @property
    def key_version(self) -> int | None: ...
    @property
    def issued_at(self) -> int | None: ...
    @property
    def token_len(self) -> int: ...
    @property
    def binary_len(self) -> int: ...
    @property
    def header_len(self) -> int: ...
    @property
    def ciphertext_len(self) -> int: ...
    @property
    def plaintext_len(self) -> int | None: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Verified:
    @property
    def key_version(self) -> int: ...
    @property
    def issued_at(self) -> int | None: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class RewrapBatch:
    """What ``Keyring.rewrap_many(..., allow_compromised=True)`` returns: the new tokens in
    order (``len``, indexing and iteration work as on the list ``rewrap_many`` otherwise
    returns; with ``return_exceptions=True`` failed items hold their exception), and how many
    tokens were read from each compromised version. Data read from a compromised version is
    unverified (whoever stole the key can forge it): log the counts in your audit trail."""

    @property
    def tokens(self) -> list[str | KeyrollError]:
        """The new tokens, as a new list."""
    @property
    def compromised(self) -> dict[int, int]:
        """``{source version: tokens read from it while it was compromised}``."""
    @property
    def compromised_total(self) -> int: ...
    def __len__(self) -> int: ...
    def __getitem__(self, index: int, /) -> str | KeyrollError: ...
    def __iter__(self) -> Iterator[str | KeyrollError]: ...

@final
class BlindIndex:
    """Equality search over an encrypted column (docs/blind-index.md): ``compute`` for the
    row written, ``candidates`` for ``WHERE col IN (...)``. A snapshot of the keyring."""

    def __new__(
        cls, keyring: Keyring, name: str, *, bits: int, normalizer: str = "exact"
    ) -> BlindIndex: ...
    def compute(self, value: _Data) -> str: ...
    def candidates(self, value: _Data) -> list[str]: ...
    @property
    def name(self) -> str: ...
    @property
    def normalizer(self) -> str: ...
    @property
    def bits(self) -> int: ...
    @property
    def active_version(self) -> int | None: ...
    @property
    def versions(self) -> list[int]: ...

class _Kms(Protocol):
    def wrap(self) -> tuple[bytes, KeyWrap]: ...
    def unwrap(self, wrap: KeyWrap, /) -> bytes: ...

@final
class KeyWrap:
    """A key-encryption key wrapped by a key-management service, as a document records it."""

    def __new__(
        cls, provider: str, key_id: str, context: dict[str, str], wrapped: _Data
    ) -> KeyWrap: ...
    @property
    def provider(self) -> str: ...
    @property
    def key_id(self) -> str: ...
    @property
    def context(self) -> dict[str, str]: ...
    @property
    def wrapped(self) -> bytes: ...
    def __eq__(self, value: object, /) -> bool: ...
    @staticmethod
    def of_document(document: _Data) -> KeyWrap | None: ...

@final
class Keyring:
    @staticmethod
    def generate(*, now: int | None = None) -> Keyring: ...
    @staticmethod
    def from_document(document: _Data, *, kms: _Kms) -> Keyring:
        """Opens a document sealed by a key-management service: one ``kms.unwrap(wrap)``."""
    def to_document(self, *, kms: _Kms) -> bytes:
        """Seals under the key-encryption key ``kms.wrap()`` returns."""
    @staticmethod
    def load(
        data: _Data, *, passphrase: _Data | None = None, master_key: _Data | None = None
    ) -> Keyring: ...
    @staticmethod
    def load_file(
        path: _Path, *, passphrase: _Data | None = None, master_key: _Data | None = None
    ) -> Keyring: ...
    @staticmethod
    def open(
        url: str, *, passphrase: _Data | None = None, master_key: _Data | None = None
    ) -> Keyring:
        """Loads the keyring a store URL names: ``file:PATH`` (or a path),
        ``postgres://…#NAME``, ``aws-sm://NAME``. Credentials default to
        ``KEYROLL_MASTER_KEY`` / ``KEYROLL_PASSPHRASE``."""
    @staticmethod
    def from_fernet_keys(
        keys: Iterable[_Data | FernetKey], *, now: int | None = None
    ) -> Keyring: ...
    @staticmethod
    def document_generation(document: _Data) -> int: ...
    @staticmethod
    def check_successor(current: _Data | None, next: _Data) -> int: ...
    @staticmethod
    def check_not_rolled_back(document: _Data, highest_seen: int) -> int: ...
    @staticmethod
    def from_env(*, now: int | None = None) -> Keyring: ...
    def dump(
        self,
        *,
        passphrase: _Data | None = None,
        master_key: _Data | None = None,
        iterations: int = 600000,
    ) -> bytes: ...
    def save(
        self,
        path: _Path,
        *,
        passphrase: _Data | None = None,
        master_key: _Data | None = None,
        iterations: int = 600000,
    ) -> None: ...
    def encrypt(
        self,
        data: _Data,
        *,
        context: _Data | None = None,
        now: int | None = None,
        timestamp: bool = True,
    ) -> str: ...
    def encrypt_binary(
        self,
        data: _Data,
        *,
        context: _Data | None = None,
        now: int | None = None,
        timestamp: bool = True,
    ) -> bytes: ...
    def decrypt(
        self,
        token: _Data,
        *,
        context: _Data | None = None,
        ttl: int | None = None,
        now: int | None = None,
    ) -> bytes: ...
    def verify(
        self,
        token: _Data,
        *,
        context: _Data | None = None,
        ttl: int | None = None,
        now: int | None = None,
    ) -> Verified: ...
    def rewrap(
        self, token: _Data, *, context: _Data | None = None, allow_compromised: bool = False
    ) -> str:
        """Re-encrypts under the active version. A token under a compromised version raises
        ``KeyUnavailableError`` (``key_compromised``) unless ``allow_compromised=True``: such
        data is unverified (whoever stole the key can forge it). Use ``rewrap_many`` to count
        compromised reads."""
    def rewrap_binary(
        self, token: _Data, *, context: _Data | None = None, allow_compromised: bool = False
    ) -> bytes: ...
    def needs_rewrap(self, token: _Data) -> bool: ...
    def encrypt_many(
        self,
        items: Iterable[_Data],
        *,
        context: _Data | None = None,
        now: int | None = None,
        timestamp: bool = True,
    ) -> list[str]: ...
    def encrypt_many_binary(
        self,
        items: Iterable[_Data],
        *,
        context: _Data | None = None,
        now: int | None = None,
        timestamp: bool = True,
    ) -> list[bytes]: ...
    @overload
    def decrypt_many(
        self,
        tokens: Iterable[_Data],
        *,
        context: _Data | None = None,
        ttl: int | None = None,
        now: int | None = None,
        return_exceptions: Literal[False] = False,
    ) -> list[bytes]: ...
    @overload
    def decrypt_many(
        self,
        tokens: Iterable[_Data],
        *,
        context: _Data | None = None,
        ttl: int | None = None,
        now: int | None = None,
        return_exceptions: bool,
    ) -> list[bytes | KeyrollError]: ...
    # Without allow_compromised a list, as decrypt_many returns; with it a RewrapBatch that
    # also counts, per source version, the tokens read from compromised versions.
    @overload
    def rewrap_many(
        self,
        tokens: Iterable[_Data],
        *,
        context: _Data | None = None,
        return_exceptions: Literal[False] = False,
        allow_compromised: Literal[False] = False,
    ) -> list[str]: ...
    @overload
    def rewrap_many(
        self,
        tokens: Iterable[_Data],
        *,
        context: _Data | None = None,
        return_exceptions: bool,
        allow_compromised: Literal[False] = False,
    ) -> list[str | KeyrollError]: ...
    @overload
    def rewrap_many(
        self,
        tokens: Iterable[_Data],
        *,
        context: _Data | None = None,
        return_exceptions: bool = False,
        allow_compromised: Literal[True],
    ) -> RewrapBatch: ...
    @overload
    def rewrap_many(
        self,
        tokens: Iterable[_Data],
        *,
        context: _Data | None = None,
        return_exceptions: bool = False,
        allow_compromised: bool,
    ) -> list[str] | list[str | KeyrollError] | RewrapBatch: ...
    def add_version(self, *, now: int | None = None) -> int: ...
    def promote(self, version: int, *, now: int | None = None) -> None: ...
    def rotate(self, *, now: int | None = None) -> int: ...
    def emergency_rotate(self, reason: str, *, now: int | None = None) -> int: ...
    def set_state(
        self, version: int, state: _KeyState, *, note: str | None = None, now: int | None = None
    ) -> None: ...
    def set_min_version(self, minimum: int) -> None: ...
    def set_policy(self, *, rotate_after_days: int, warn_after_days: int) -> None: ...
    @property
    def policy(self) -> Policy: ...
    def check_policy(self, now: int | None = None) -> PolicyStatus: ...
    @property
    def id(self) -> str: ...
    @property
    def versions(self) -> list[VersionInfo]: ...
    def version(self, version: int) -> VersionInfo | None: ...
    @property
    def active_version(self) -> int | None: ...
    @property
    def min_version(self) -> int: ...
    @property
    def read_only(self) -> bool: ...
    def derive_key(self, purpose: _Data, length: int = 32) -> tuple[int, bytes]: ...
    def blind_index(self, name: str, *, bits: int, normalizer: str = "exact") -> BlindIndex:
        """A blind index over this keyring (see ``BlindIndex``)."""
    def import_fernet(
        self, keys: Iterable[_Data | FernetKey], *, now: int | None = None
    ) -> list[int]: ...
    def import_raw_gcm(
        self,
        key: _Data | None = None,
        *,
        password: _Data | None = None,
        salt: str | None = None,
        iterations: int | None = None,
        version_byte: int | None = None,
        now: int | None = None,
    ) -> int: ...
    def export_decrypt_only(self, versions: Sequence[int]) -> Keyring:
        """A read-only copy holding exactly ``versions`` (required, non-empty; only active and
        decrypt-only ones, each exported as decrypt-only; others raise). Whoever holds it can
        also forge envelopes under those versions: see docs/mobile.md."""
    def __reduce__(self) -> NoReturn: ...

_SigningAlgorithm = Literal["hmac_sha256", "ed25519"]

@final
class VerifiedMessage:
    """An authentic signed message: what was signed, by which version, with which algorithm."""

    @property
    def message(self) -> bytes: ...
    @property
    def key_version(self) -> int: ...
    @property
    def algorithm(self) -> _SigningAlgorithm: ...

@final
class VerifiedJwt:
    """An authentic JWT whose claims passed the checks."""

    @property
    def claims(self) -> dict[str, object]: ...
    @property
    def key_version(self) -> int: ...
    @property
    def algorithm(self) -> _SigningAlgorithm: ...

@final
class SigningKeyring:
    """Versioned signing keys (docs/signing.md): ``krs1:v<N>:`` signed messages, JWTs with a
    ``kid`` per version, a public keyset for apps. Prints metadata only."""

    @staticmethod
    def generate(
        algorithm: _SigningAlgorithm = "hmac_sha256", *, now: int | None = None
    ) -> SigningKeyring: ...
    @staticmethod
    def from_hmac_secret(secret: _Data, *, now: int | None = None) -> SigningKeyring: ...
    @staticmethod
    def from_public_keyset(keyset: str) -> SigningKeyring: ...
    @staticmethod
    def load(
        data: _Data, *, passphrase: _Data | None = None, master_key: _Data | None = None
    ) -> SigningKeyring: ...
    @staticmethod
    def load_file(
        path: _Path, *, passphrase: _Data | None = None, master_key: _Data | None = None
    ) -> SigningKeyring: ...
    def dump(
        self,
        *,
        passphrase: _Data | None = None,
        master_key: _Data | None = None,
        iterations: int = 600000,
    ) -> bytes: ...
    def save(
        self,
        path: _Path,
        *,
        passphrase: _Data | None = None,
        master_key: _Data | None = None,
        iterations: int = 600000,
    ) -> None: ...
    def sign(self, message: _Data, *, context: _Data | None = None) -> str: ...
    def sign_binary(self, message: _Data, *, context: _Data | None = None) -> bytes: ...
    def verify(self, signed: _Data, *, context: _Data | None = None) -> VerifiedMessage: ...
    def sign_jwt(self, claims: str | dict[str, object], *, now: int | None = None) -> str: ...
    def verify_jwt(
        self,
        token: str,
        *,
        leeway: int = 0,
        audience: str | None = None,
        issuer: str | None = None,
        required: Sequence[str] = ...,
        now: int | None = None,
    ) -> VerifiedJwt: ...
    def kid(self, version: int) -> str: ...
    def public_keyset(self) -> str: ...
    def jwks(self) -> str: ...
    def add_version(self, algorithm: _SigningAlgorithm, *, now: int | None = None) -> int: ...
    def import_hmac_secret(self, secret: _Data, *, now: int | None = None) -> int: ...
    def promote(self, version: int, *, now: int | None = None) -> None: ...
    def rotate(self, *, now: int | None = None) -> int: ...
    def rotate_to(self, algorithm: _SigningAlgorithm, *, now: int | None = None) -> int: ...
    def emergency_rotate(self, reason: str, *, now: int | None = None) -> int: ...
    def set_state(
        self, version: int, state: _KeyState, *, note: str | None = None, now: int | None = None
    ) -> None: ...
    def set_min_version(self, minimum: int) -> None: ...
    def set_policy(self, *, rotate_after_days: int, warn_after_days: int) -> None: ...
    @property
    def policy(self) -> Policy: ...
    def check_policy(self, now: int | None = None) -> PolicyStatus: ...
    @property
    def id(self) -> str: ...
    @property
    def versions(self) -> list[VersionInfo]: ...
    def version(self, version: int) -> VersionInfo | None: ...
    @property
    def active_version(self) -> int | None: ...
    @property
    def min_version(self) -> int: ...
    @property
    def verify_only(self) -> bool: ...
    @property
    def generation(self) -> int: ...
    def __reduce__(self) -> NoReturn: ...

class _HandleStatus(TypedDict):
    generation: int
    versions: list[int]
    last_check: int | None
    last_error: str | None
    last_error_at: int | None
    reader: str
    location: str

@final
class KeyringHandle:
    """A keyring that follows its store: swapped atomically when the store's generation
    moves (polled every ``poll_interval`` seconds by a Rust thread that never takes the GIL),
    reloaded at once when a token names a version it lacks, never moved back to a lower
    generation. A failed reload keeps the last good keyring and shows in ``status()``."""

    @staticmethod
    def open(
        url: str,
        *,
        passphrase: _Data | None = None,
        master_key: _Data | None = None,
        poll_interval: float = 30.0,
        reader: str | None = None,
    ) -> KeyringHandle: ...
    @property
    def generation(self) -> int: ...
    def status(self) -> _HandleStatus: ...
    def reload(self) -> bool: ...
    def close(self) -> None: ...
    def __enter__(self) -> KeyringHandle: ...
    def __exit__(self, *_args: object) -> bool: ...
    def encrypt(
        self,
        data: _Data,
        *,
        context: _Data | None = None,
        now: int | None = None,
        timestamp: bool = True,
    ) -> str: ...
    def encrypt_binary(
        self,
        data: _Data,
        *,
        context: _Data | None = None,
        now: int | None = None,
        timestamp: bool = True,
    ) -> bytes: ...
    def decrypt(
        self,
        token: _Data,
        *,
        context: _Data | None = None,
        ttl: int | None = None,
        now: int | None = None,
    ) -> bytes: ...
    def verify(
        self,
        token: _Data,
        *,
        context: _Data | None = None,
        ttl: int | None = None,
        now: int | None = None,
    ) -> Verified: ...
    def rewrap(self, token: _Data, *, context: _Data | None = None) -> str: ...
    def encrypt_many(
        self,
        items: Iterable[_Data],
        *,
        context: _Data | None = None,
        now: int | None = None,
        timestamp: bool = True,
    ) -> list[str]: ...
    @overload
    def decrypt_many(
        self,
        tokens: Iterable[_Data],
        *,
        context: _Data | None = None,
        ttl: int | None = None,
        now: int | None = None,
        return_exceptions: Literal[False] = False,
    ) -> list[bytes]: ...
    @overload
    def decrypt_many(
        self,
        tokens: Iterable[_Data],
        *,
        context: _Data | None = None,
        ttl: int | None = None,
        now: int | None = None,
        return_exceptions: bool,
    ) -> list[bytes | KeyrollError]: ...
