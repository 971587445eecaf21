"""What the SQLAlchemy and Django fields share: the stored format and the context rule.

One rule for every ORM and language (``docs/orm.md``): a value is sealed with the context
``b"<table>:<column>"`` (the SQL table and column names, UTF-8) and stored as

- text and JSON values: the text envelope ``kr1:v<N>:…`` (in a text column, or as its ASCII
  bytes in a binary column);
- binary values: the binary envelope.

JSON is serialised compactly (``separators=(",", ":")``, ``ensure_ascii=False``) and UTF-8
encoded. Rows written by the old libraries hold Fernet tokens, which carry no context: they are
opened with the empty context (so their key must be imported into the keyring) and rewritten
under ``table:column`` by the next save or by the migration.

Why not the primary key in the context: it is unknown before an INSERT (the database assigns
it), and a row copied to another table or restored under a new id would stop decrypting. The
price is that a value can be moved between rows of the same column without detection; bind
the row yourself (``context=``) where that matters.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO, Union

from keyroll._native import Keyring, inspect
from keyroll._native import rewrap_to_context as _rewrap_to_context
from keyroll.errors import KeyrollError

__all__ = [
    "KeyringSource",
    "resolve",
    "context_for",
    "is_legacy",
    "open_token",
    "rewrap_token",
    "seal_text",
    "seal_bytes",
    "dump_json",
    "load_json",
    "EncryptedSpec",
    "BlindSpec",
    "plan_row",
    "progress_bar",
]

#: A keyring, or a function returning the current one (a live-reloading handle).
KeyringSource = Union[Keyring, Callable[[], Keyring]]


def resolve(source: KeyringSource) -> Keyring:
    """The keyring to use now."""
    if isinstance(source, Keyring):
        return source
    ring = source()
    if not isinstance(ring, Keyring):
        raise TypeError("the keyring callable must return a keyroll.Keyring")
    return ring


def context_for(table: str, column: str) -> bytes:
    """``b"<table>:<column>"``: the context every keyroll ORM field seals with."""
    if not table or not column:
        raise ValueError("an encrypted column needs a table and a column name for its context")
    return f"{table}:{column}".encode()


def is_legacy(token: str | bytes) -> bool:
    """Whether ``token`` is a Fernet token (old library): those carry no context."""
    try:
        return inspect(token).format == "fernet"
    except KeyrollError:
        return False


def open_token(ring: Keyring, token: str | bytes, context: bytes) -> bytes:
    """The plaintext of a stored value, or a typed :class:`keyroll.KeyrollError`.

    Never returns the stored text: a value that is not an envelope (or a Fernet token under an
    imported key) raises, so a save after a read cannot re-encrypt ciphertext as plaintext.
    """
    if isinstance(token, memoryview):
        token = token.tobytes()
    return ring.decrypt(token, context=None if is_legacy(token) else context)


def rewrap_token(ring: Keyring, token: str | bytes, context: bytes, *, binary: bool) -> str | bytes:
    """The stored value moved to the active version under ``context`` (plaintext stays in core).

    Text results are returned as ``str``; ``binary=True`` gives the binary envelope."""
    if isinstance(token, memoryview):
        token = token.tobytes()
    source = b"" if is_legacy(token) else context
    out: str | bytes = _rewrap_to_context(
        ring, token, from_context=source, to_context=context, binary=binary
    )
    return out


def needs_rewrap(ring: Keyring, token: str | bytes) -> bool:
    """Whether a stored value is not yet an envelope under the active version."""
    if isinstance(token, memoryview):
        token = token.tobytes()
    if is_legacy(token):
        return True
    return ring.needs_rewrap(token)


def seal_text(ring: Keyring, value: str, context: bytes) -> str:
    """The text envelope of ``value``."""
    if not isinstance(value, str):
        raise TypeError(f"an encrypted text value must be str, not {type(value).__name__}")
    return ring.encrypt(value.encode(), context=context)


def seal_bytes(ring: Keyring, value: bytes | bytearray | memoryview, context: bytes) -> bytes:
    """The binary envelope of ``value``."""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"an encrypted binary value must be bytes, not {type(value).__name__}")
    return ring.encrypt_binary(bytes(value), context=context)


def dump_json(value: Any) -> str:
    """The JSON text keyroll seals (compact, UTF-8, no ASCII escaping)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def load_json(plaintext: bytes) -> Any:
    """The value of sealed JSON text."""
    return json.loads(plaintext.decode())


@dataclasses.dataclass
class EncryptedSpec:
    """One encrypted column, as a migration sees it."""

    name: str
    ring: Keyring
    context: bytes
    #: Stores the binary envelope (binary fields).
    binary: bool = False
    #: Stores the text envelope's ASCII bytes (text fields in a binary column).
    ascii_bytes: bool = False


@dataclasses.dataclass
class BlindSpec:
    """One blind-index column and the encrypted column it indexes."""

    name: str
    source: EncryptedSpec
    compute: Callable[[bytes], str]


def plan_row(
    encrypted: Sequence[EncryptedSpec], blind: Sequence[BlindSpec], old: Mapping[str, Any]
) -> dict[str, Any]:
    """The columns of one row a migration must write, with their new stored values: values
    not under the active version (or legacy tokens) rewrapped in core, blind indexes not
    equal to the active version's index of the plaintext recomputed. Empty when the row is
    current. Raises :class:`keyroll.KeyrollError` when a value does not open (the row is then
    not written at all)."""
    new: dict[str, Any] = {}
    for spec in encrypted:
        value = old[spec.name]
        if value is None or not needs_rewrap(spec.ring, value):
            continue
        out = rewrap_token(spec.ring, value, spec.context, binary=spec.binary)
        if spec.ascii_bytes and isinstance(out, str):
            out = out.encode()
        new[spec.name] = out
    for index in blind:
        token = old[index.source.name]
        src = index.source
        want = None if token is None else index.compute(open_token(src.ring, token, src.context))
        if want != old[index.name]:
            new[index.name] = want
    return new


def progress_bar(out: TextIO, done: int, total: int) -> None:
    """``[#####     ] done/total rows`` on one line."""
    width = 30
    filled = min(width, width * done // total) if total else width
    out.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total} rows")
    out.flush()
