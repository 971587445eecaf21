"""SQLAlchemy 2.x column types that encrypt with a keyroll keyring, and blind indexes.

>>> import sqlalchemy as sa
>>> from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
>>> import keyroll
>>> from keyroll.sqlalchemy import BlindIndexColumn, EncryptedText
>>> ring = keyroll.Keyring.generate()
>>> class Base(DeclarativeBase): ...
>>> class User(Base):
...     __tablename__ = "users"
...     id: Mapped[int] = mapped_column(primary_key=True)
...     email: Mapped[str] = mapped_column(EncryptedText(ring))
...     email_bi: Mapped[str] = mapped_column(BlindIndexColumn(ring, "email"), index=True)
>>> User.__table__.c.email.type.context
b'users:email'

A value is sealed with the context ``b"<table>:<column>"`` and stored as a ``kr1:`` envelope
(``docs/orm.md`` has the exact rule, shared with the Node fields). Reads also accept Fernet
tokens, including what sqlalchemy-utils' ``StringEncryptedType(..., FernetEngine)`` wrote, once
its key is imported: ``ring.import_fernet([sqlalchemy_utils_key(OLD_KEY)])``. A value that does
not open raises a :class:`keyroll.KeyrollError`; it is never returned as stored.

Encrypted columns cannot be compared in SQL (every envelope has a fresh nonce): ``==``,
``IN``, ``LIKE`` and ordering comparisons on them raise ``TypeError``. Search through a
:class:`BlindIndexColumn` column: ``select(User).where(User.email_bi.blind_match("a@b.c"))``.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import sqlalchemy as sa
from sqlalchemy import event, types
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.orm import Mapper
from sqlalchemy.sql import operators
from sqlalchemy.sql.base import SchemaEventTarget

from keyroll import _orm
from keyroll._native import BlindIndex, FernetKey, Keyring
from keyroll._native import fernet_key_sqlalchemy_utils as _sqlalchemy_utils_key
from keyroll._orm import KeyringSource
from keyroll.errors import KeyrollError

__all__ = [
    "EncryptedText",
    "EncryptedBytes",
    "EncryptedJSON",
    "BlindIndexColumn",
    "KeyringSource",
    "blind_match",
    "sqlalchemy_utils_key",
    "reencrypt",
    "ReencryptReport",
]


def sqlalchemy_utils_key(key: str | bytes) -> FernetKey:
    """The Fernet key sqlalchemy-utils' ``FernetEngine`` derives from ``key`` (the ``key``
    argument of ``StringEncryptedType``), to import into the keyring so old rows open."""
    return _sqlalchemy_utils_key(key)


# Comparisons that would compare ciphertexts: always wrong for randomised envelopes.
_REFUSED = {
    operators.eq,
    operators.ne,
    operators.lt,
    operators.le,
    operators.gt,
    operators.ge,
    operators.in_op,
    operators.not_in_op,
    operators.like_op,
    operators.not_like_op,
    operators.ilike_op,
    operators.not_ilike_op,
    operators.contains_op,
    operators.startswith_op,
    operators.endswith_op,
    operators.between_op,
}


class _Bound(SchemaEventTarget):
    """Learns ``table:column`` when the column joins its table (SQLAlchemy's SchemaType hook)."""

    table_name: str | None = None
    column_name: str | None = None

    def _set_parent(self, parent: SchemaEventTarget, outer: bool = False, **kw: Any) -> None:
        parent._on_table_attach(self._set_table)  # type: ignore[attr-defined]

    def _set_table(self, column: sa.Column[Any], table: sa.Table) -> None:
        here = (table.name, column.name)
        if (
            self.table_name is not None
            and not self._copied
            and (
                self.table_name,
                self.column_name,
            )
            != here
        ):
            raise TypeError(
                f"one {type(self).__name__} instance cannot serve two columns "
                f"({self.table_name}.{self.column_name} and {table.name}.{column.name}): "
                "give each column its own"
            )
        self.table_name, self.column_name = here
        self._copied = False

    _copied = False

    def copy(self, **kw: Any) -> Any:
        # SQLAlchemy copies a type for each dialect (the copy keeps the column's context) and
        # for each copy of a column (declarative mixins, Table.to_metadata): the latter may be
        # attached once to another table, which then gives its context.
        out = types.TypeDecorator.copy(self, **kw)  # type: ignore[type-var]
        out._copied = True
        return out


class _Encrypted(_Bound, types.TypeDecorator[Any]):
    """Base of the encrypted types: keyring source, context, fail-closed reads."""

    cache_ok = True
    _binary = False

    class comparator_factory(types.TypeDecorator.Comparator[Any]):  # noqa: N801
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            if op in _REFUSED:
                raise TypeError(
                    "an encrypted column cannot be compared in SQL (envelopes are "
                    "randomised): search through a keyroll.sqlalchemy.BlindIndexColumn column"
                )
            return super().operate(op, *other, **kwargs)

    def __init__(self, keyring: KeyringSource, *, context: str | None = None) -> None:
        super().__init__()
        self.keyring = keyring
        self.fixed_context = context

    @property
    def context(self) -> bytes:
        """The context this column seals with: ``table:column`` unless given."""
        if self.fixed_context is not None:
            return self.fixed_context.encode()
        if self.table_name is None or self.column_name is None:
            raise TypeError(
                f"{type(self).__name__} is not attached to a table column yet (or pass context=...)"
            )
        return _orm.context_for(self.table_name, self.column_name)

    def ring(self) -> Keyring:
        return _orm.resolve(self.keyring)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return self.seal(self.ring(), value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return self.unseal(_orm.open_token(self.ring(), value, self.context))

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        raise TypeError("encrypted values cannot be rendered as SQL literals")

    def seal(self, ring: Keyring, value: Any) -> Any:
        raise NotImplementedError

    def unseal(self, plaintext: bytes) -> Any:
        raise NotImplementedError


class EncryptedText(_Encrypted):
    """A ``str`` stored as a text envelope in a ``TEXT`` column (``String(length)`` if given:
    an envelope is about 4/3 of the UTF-8 length plus 60 characters)."""

    cache_ok = True
    impl = types.Text

    def seal(self, ring: Keyring, value: Any) -> str:
        return _orm.seal_text(ring, value, self.context)

    def unseal(self, plaintext: bytes) -> str:
        return plaintext.decode()

    @property
    def python_type(self) -> type:
        return str


class EncryptedJSON(_Encrypted):
    """A JSON value (``dict``, ``list``, …) stored as the text envelope of its compact JSON."""

    cache_ok = True
    impl = types.Text

    def seal(self, ring: Keyring, value: Any) -> str:
        return _orm.seal_text(ring, _orm.dump_json(value), self.context)

    def unseal(self, plaintext: bytes) -> Any:
        return _orm.load_json(plaintext)

    @property
    def python_type(self) -> type:
        return object


class EncryptedBytes(_Encrypted):
    """``bytes`` stored as a binary envelope in a ``BLOB``/``bytea`` column."""

    cache_ok = True
    impl = types.LargeBinary
    _binary = True

    def seal(self, ring: Keyring, value: Any) -> bytes:
        return _orm.seal_bytes(ring, value, self.context)

    def unseal(self, plaintext: bytes) -> bytes:
        return plaintext

    @property
    def python_type(self) -> type:
        return bytes


class BlindIndexColumn(_Bound, types.TypeDecorator[str]):
    """A column holding the blind index (``bi1:v<N>:<hex>``) of another attribute's plaintext.

    ``source`` is the attribute key of the encrypted column it indexes. The ORM fills it on
    every insert and on updates that change the source (Core ``insert()``/``update()``
    statements do not run ORM events: compute the value with :meth:`compute`). The index name
    (part of its key's derivation, so Node and Python must agree) is ``<table>.<source>``
    unless ``name`` is given; ``normalizer`` and ``bits`` are as in ``docs/blind-index.md``.
    """

    impl = types.String(80)
    cache_ok = True

    class comparator_factory(types.TypeDecorator.Comparator[str]):  # noqa: N801
        def blind_match(self, value: str | bytes) -> sa.ColumnElement[bool]:
            """``col IN (candidates)``: rows whose source equals ``value`` (after
            normalisation) under any live key version."""
            index_type: BlindIndexColumn = self.type  # type: ignore[assignment]
            return self.expr.in_(index_type.candidates(value))

    def __init__(
        self,
        keyring: KeyringSource,
        source: str,
        *,
        name: str | None = None,
        normalizer: str = "trim+casefold",
        bits: int = 64,
    ) -> None:
        super().__init__()
        self.keyring = keyring
        self.source = source
        self.name = name
        self.normalizer = normalizer
        self.bits = bits

    @property
    def index_name(self) -> str:
        if self.name is not None:
            return self.name
        if self.table_name is None:
            raise TypeError(
                "BlindIndexColumn is not attached to a table column yet (or pass name=...)"
            )
        return f"{self.table_name}.{self.source}"

    def _index(self) -> BlindIndex:
        # Made per call: an index is a snapshot of the keyring's live versions (cheap: one
        # HKDF per live version), and a reloaded or rotated keyring must be seen at once.
        ring = _orm.resolve(self.keyring)
        return ring.blind_index(self.index_name, bits=self.bits, normalizer=self.normalizer)

    def compute(self, value: str | bytes) -> str:
        """The index of ``value`` under the active version (what inserts store)."""
        out: str = self._index().compute(_as_bytes(value))
        return out

    def candidates(self, value: str | bytes) -> list[str]:
        """The index of ``value`` under every live version (what lookups ask for)."""
        out: list[str] = self._index().candidates(_as_bytes(value))
        return out

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        return str(value)


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def blind_match(column: Any, value: str | bytes) -> sa.ColumnElement[bool]:
    """``column IN (candidates of value)`` for a :class:`BlindIndexColumn` column or attribute."""
    index_type = column.type
    if not isinstance(index_type, BlindIndexColumn):
        raise TypeError("blind_match needs a keyroll.sqlalchemy.BlindIndexColumn column")
    out: sa.ColumnElement[bool] = column.in_(index_type.candidates(value))
    return out


# The blind-index columns of each mapper, found once (mappers are configured before flushes).
_BLIND_BY_MAPPER: weakref.WeakKeyDictionary[Mapper[Any], list[tuple[str, BlindIndexColumn]]] = (
    weakref.WeakKeyDictionary()
)


def _blind_columns(mapper: Mapper[Any]) -> list[tuple[str, BlindIndexColumn]]:
    found = _BLIND_BY_MAPPER.get(mapper)
    if found is None:
        found = [
            (prop.key, col.type)
            for prop in mapper.column_attrs
            for col in prop.columns
            if isinstance(col.type, BlindIndexColumn)
        ]
        _BLIND_BY_MAPPER[mapper] = found
    return found


def _fill_blind(insert: bool) -> Callable[[Mapper[Any], Connection, Any], None]:
    def fill(mapper: Mapper[Any], connection: Connection, target: Any) -> None:
        for key, index_type in _blind_columns(mapper):
            if not insert:
                history = sa.inspect(target).attrs[index_type.source].history
                if not history.has_changes():
                    continue
            value = getattr(target, index_type.source)
            setattr(target, key, None if value is None else index_type.compute(value))

    return fill


event.listen(Mapper, "before_insert", _fill_blind(True))
event.listen(Mapper, "before_update", _fill_blind(False))


@dataclasses.dataclass
class ReencryptReport:
    """What :func:`reencrypt` did. ``last_key`` resumes a run (``after=``)."""

    scanned: int = 0
    rewrapped: int = 0
    reindexed: int = 0
    conflicts: int = 0
    failed: dict[Any, str] = dataclasses.field(default_factory=dict)
    last_key: Any = None
    dry_run: bool = False


def reencrypt(
    bind: Engine,
    table: Any,
    *,
    batch_size: int = 500,
    after: Any = None,
    dry_run: bool = False,
    progress: TextIO | None = None,
) -> ReencryptReport:
    """Moves every encrypted value of ``table`` (a Table or mapped class) to the keyring's
    active version under ``table:column`` and brings its blind indexes to the active version.

    In batches of ``batch_size`` rows by primary key (one transaction each), resumable from
    ``after`` (a report's ``last_key``) and idempotent: a row already current is not written.
    Every write is a compare-and-swap on the values read, so a row changed meanwhile is left
    alone (counted in ``conflicts``; the next run takes it). Values that do not open are never
    written; their keys and error codes are in ``failed``. ``dry_run`` counts only.
    """
    tbl: sa.Table = table.__table__ if hasattr(table, "__table__") else table
    pk = list(tbl.primary_key.columns)
    if len(pk) != 1:
        raise ValueError("reencrypt needs a table with a one-column primary key")
    key_col = pk[0]
    encrypted = [c for c in tbl.columns if isinstance(c.type, _Encrypted)]
    blind = [c for c in tbl.columns if isinstance(c.type, BlindIndexColumn)]
    by_key = {c.key: c for c in tbl.columns}
    sources: dict[str, sa.Column[Any]] = {}
    for c in blind:
        source = c.type.source  # type: ignore[attr-defined]
        src = by_key.get(source)
        if src is None or not isinstance(src.type, _Encrypted):
            raise ValueError(f"blind index {c.name}: source {source!r} is not encrypted")
        sources[c.name] = src
    raw = [_raw(c) for c in encrypted + blind]
    report = ReencryptReport(dry_run=dry_run, last_key=after)
    total = _count(bind, tbl)
    while True:
        query = sa.select(key_col, *raw).order_by(key_col).limit(batch_size)
        if report.last_key is not None:
            query = query.where(key_col > report.last_key)
        with bind.begin() as conn:
            rows = conn.execute(query).all()
            if not rows:
                break
            for row in rows:
                _reencrypt_row(conn, tbl, key_col, encrypted, blind, sources, row, report)
                report.last_key = row[0]
        report.scanned += len(rows)
        if progress is not None:
            _orm.progress_bar(progress, report.scanned, total)
    if progress is not None:
        progress.write("\n")
    return report


def _raw(column: sa.Column[Any]) -> Any:
    """The column as stored, without the type's processing."""
    impl = (
        column.type.impl_instance if isinstance(column.type, types.TypeDecorator) else column.type
    )
    return sa.type_coerce(column, impl).label(column.name)


def _count(bind: Engine, tbl: sa.Table) -> int:
    with bind.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(tbl)).scalar_one())


def _reencrypt_row(
    conn: Connection,
    tbl: sa.Table,
    key_col: sa.Column[Any],
    encrypted: Sequence[sa.Column[Any]],
    blind: Sequence[sa.Column[Any]],
    sources: dict[str, sa.Column[Any]],
    row: Any,
    report: ReencryptReport,
) -> None:
    key = row[0]
    columns = list(encrypted) + list(blind)
    old = dict(zip([c.name for c in columns], row[1:]))
    specs = {c.name: _spec(c) for c in encrypted}
    blind_specs = [
        _orm.BlindSpec(c.name, specs[sources[c.name].name], c.type.compute)  # type: ignore[attr-defined]
        for c in blind
    ]
    try:
        new = _orm.plan_row(list(specs.values()), blind_specs, old)
    except KeyrollError as err:
        report.failed[key] = err.code
        return
    if not new:
        return
    rewrapped = sum(1 for c in encrypted if c.name in new)
    reindexed = len(new) - rewrapped
    if not report.dry_run:
        cond = [key_col == key]
        for col in columns:
            raw = _raw(col).element
            cond.append(raw.is_(None) if old[col.name] is None else raw == old[col.name])
        values = {
            name: sa.type_coerce(value, _raw(tbl.c[name]).type) for name, value in new.items()
        }
        if conn.execute(sa.update(tbl).where(*cond).values(values)).rowcount != 1:
            report.conflicts += 1
            return
    report.rewrapped += rewrapped
    report.reindexed += reindexed


def _spec(col: sa.Column[Any]) -> _orm.EncryptedSpec:
    typ: _Encrypted = col.type  # type: ignore[assignment]
    return _orm.EncryptedSpec(col.name, typ.ring(), typ.context, binary=typ._binary)
