"""Django model fields that encrypt with the keyroll keyring, and a blind index with a lookup.

Values are sealed with the context ``<db_table>:<column>`` and stored as ``kr1`` envelopes
(``docs/orm.md``). Reads also open Fernet tokens of the old libraries named in
``settings.KEYROLL["LEGACY"]``. A value that does not open raises a
:class:`keyroll.KeyrollError` from the query: it is never handed back as stored, so a ``save()``
after a read always writes the plaintext's new envelope. ``to_python`` never decrypts (forms
and fixtures hold plaintext), which is how django-fernet-encrypted-fields ended up
re-encrypting ciphertext (#13, #46).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldError
from django.db import models
from django.db.models import Lookup
from django.db.models.expressions import Col

from keyroll import _orm
from keyroll._native import BlindIndex, Keyring
from keyroll.django import conf

__all__ = [
    "EncryptedTextField",
    "EncryptedBinaryField",
    "EncryptedJSONField",
    "BlindIndexField",
]


class _EncryptedMixin(models.Field):
    """Context, fail-closed reads, no SQL comparisons."""

    _binary_envelope = False

    def __init__(self, *args: Any, context: str | None = None, **kwargs: Any) -> None:
        for refused in ("primary_key", "unique", "db_index"):
            if kwargs.get(refused):
                raise FieldError(
                    f"{type(self).__name__} does not support {refused}=True (envelopes are "
                    "randomised): index a BlindIndexField instead"
                )
        self.fixed_context = context
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.fixed_context is not None:
            kwargs["context"] = self.fixed_context
        return name, path, args, kwargs

    @property
    def context(self) -> bytes:
        """``<db_table>:<column>`` unless ``context=`` was given."""
        if self.fixed_context is not None:
            return self.fixed_context.encode()
        return _orm.context_for(self.model._meta.db_table, self.column)

    def ring(self) -> Keyring:
        return conf.keyring()

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return self.unseal(_orm.open_token(self.ring(), value, self.context))

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None:
            return None
        return self.seal(self.ring(), value)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name in ("isnull", "blind"):
            return super().get_lookup(lookup_name)
        raise FieldError(
            f"{type(self).__name__} '{self.name}' does not support the '{lookup_name}' lookup "
            "(envelopes are randomised): use a BlindIndexField and '__blind'"
        )

    def get_transform(self, lookup_name: str) -> Any:
        return None

    def spec(self) -> _orm.EncryptedSpec:
        """How ``keyroll_migrate`` treats this column."""
        return _orm.EncryptedSpec(
            self.column,
            self.ring(),
            self.context,
            binary=self._binary_envelope,
            ascii_bytes=self.get_internal_type() == "BinaryField" and not self._binary_envelope,
        )

    def seal(self, ring: Keyring, value: Any) -> Any:
        raise NotImplementedError

    def unseal(self, plaintext: bytes) -> Any:
        raise NotImplementedError


class _TextStorage(_EncryptedMixin):
    """A text envelope in a ``TEXT`` column, or (``binary_column=True``) its ASCII bytes in a
    binary column: the columns django-fernet-fields created, so switching needs no schema
    change."""

    def __init__(self, *args: Any, binary_column: bool = False, **kwargs: Any) -> None:
        self.binary_column = binary_column
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.binary_column:
            kwargs["binary_column"] = True
        return name, path, args, kwargs

    def get_internal_type(self) -> str:
        return "BinaryField" if self.binary_column else "TextField"

    def seal_text(self, ring: Keyring, text: str) -> Any:
        token = _orm.seal_text(ring, text, self.context)
        return token.encode() if self.binary_column else token


class EncryptedTextField(_TextStorage, models.TextField):
    """A ``str``, encrypted. ``binary_column=True`` for columns django-fernet-fields made."""

    def seal(self, ring: Keyring, value: Any) -> Any:
        return self.seal_text(ring, value if isinstance(value, str) else str(value))

    def unseal(self, plaintext: bytes) -> str:
        return plaintext.decode()

    def to_python(self, value: Any) -> Any:
        return value if value is None or isinstance(value, str) else str(value)


class EncryptedJSONField(_TextStorage, models.Field):
    """Any JSON value, encrypted as its compact JSON text."""

    def seal(self, ring: Keyring, value: Any) -> Any:
        return self.seal_text(ring, _orm.dump_json(value))

    def unseal(self, plaintext: bytes) -> Any:
        return _orm.load_json(plaintext)

    def to_python(self, value: Any) -> Any:
        return value

    def value_to_string(self, obj: Any) -> str:
        return _orm.dump_json(self.value_from_object(obj))


class EncryptedBinaryField(_EncryptedMixin, models.BinaryField):
    """``bytes``, encrypted as a binary envelope in a binary column."""

    _binary_envelope = True

    def seal(self, ring: Keyring, value: Any) -> bytes:
        return _orm.seal_bytes(ring, value, self.context)

    def unseal(self, plaintext: bytes) -> bytes:
        return plaintext


class BlindIndexField(models.CharField):
    """The blind index (``bi1:v<N>:<hex>``) of an encrypted field of the same model, filled on
    every save; ``Model.objects.filter(<source>__blind=value)`` searches through it.

    The index name (part of its key's derivation: Node and Python must agree) is
    ``<db_table>.<source column>`` unless ``index_name`` is given; ``normalizer`` and ``bits``
    as in ``docs/blind-index.md``. ``QuerySet.update()`` and ``bulk_update`` do not call
    ``pre_save``: run ``keyroll_migrate --apply`` (it backfills) after those."""

    def __init__(
        self,
        source: str,
        *args: Any,
        index_name: str | None = None,
        normalizer: str = "trim+casefold",
        bits: int = 64,
        **kwargs: Any,
    ) -> None:
        self.source = source
        self.index_name = index_name
        self.normalizer = normalizer
        self.bits = bits
        kwargs.setdefault("max_length", 80)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        args = [self.source, *args]
        kwargs.update(normalizer=self.normalizer, bits=self.bits)
        if self.index_name is not None:
            kwargs["index_name"] = self.index_name
        return name, path, args, kwargs

    def source_field(self) -> _EncryptedMixin:
        field = self.model._meta.get_field(self.source)
        if not isinstance(field, _EncryptedMixin):
            raise FieldError(f"BlindIndexField source {self.source!r} is not an encrypted field")
        return field

    def index(self) -> BlindIndex:
        # Made per use: an index is a snapshot of the keyring's live versions (one HKDF per
        # version), so a rotation or reload is seen at once.
        name = self.index_name or f"{self.model._meta.db_table}.{self.source_field().column}"
        return conf.keyring().blind_index(name, bits=self.bits, normalizer=self.normalizer)

    def compute(self, value: str | bytes) -> str:
        return self.index().compute(value)

    def candidates(self, value: str | bytes) -> list[str]:
        return self.index().candidates(value)

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        value = getattr(model_instance, self.source)
        stored = None if value is None else self.compute(_plain_bytes(value))
        setattr(model_instance, self.attname, stored)
        return stored


def _plain_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return str(value).encode()


def blind_field_for(field: _EncryptedMixin) -> BlindIndexField:
    """The BlindIndexField of ``field``'s model whose source is ``field``."""
    for other in field.model._meta.concrete_fields:
        if isinstance(other, BlindIndexField) and other.source == field.name:
            return other
    raise FieldError(
        f"'{field.name}__blind' needs a BlindIndexField('{field.name}') on {field.model.__name__}"
    )


class BlindLookup(Lookup):
    """``<encrypted field>__blind=value``: ``<blind index column> IN (candidates)``, one
    candidate per live key version, so rows written before a rotation still match."""

    lookup_name = "blind"
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        return self.rhs

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        if not isinstance(self.lhs, Col):
            raise FieldError("__blind applies to an encrypted model field")
        blind = blind_field_for(self.lhs.target)
        candidates = blind.candidates(_plain_bytes(self.rhs))
        sql, params = compiler.compile(Col(self.lhs.alias, blind))
        marks = ", ".join(["%s"] * len(candidates))
        return f"{sql} IN ({marks})", [*params, *candidates]


_EncryptedMixin.register_lookup(BlindLookup)
