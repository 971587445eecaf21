"""keyroll.sqlalchemy against the real SQLAlchemy 2.x and sqlalchemy-utils, on SQLite and
PostgreSQL: round trips, rows written by sqlalchemy-utils read, migrated and searched, fail
closed, compare-and-swap, and lookups through a rotation."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy_utils import JSONType, StringEncryptedType
from sqlalchemy_utils.types.encrypted.encrypted_type import FernetEngine

import keyroll
from keyroll import _orm
from keyroll.compat import Fernet
from keyroll.sqlalchemy import (
    BlindIndexColumn,
    EncryptedBytes,
    EncryptedJSON,
    EncryptedText,
    blind_match,
    reencrypt,
    sqlalchemy_utils_key,
)

OLD_KEY = "the sqlalchemy-utils secret key"


def models(ring: Any) -> tuple[type, type]:
    """A fresh declarative base and keyroll User model bound to ``ring``."""

    class Base(DeclarativeBase):
        pass

    class User(Base):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(40), default="")
        email: Mapped[str] = mapped_column(EncryptedText(ring), nullable=True)
        profile: Mapped[Any] = mapped_column(EncryptedJSON(ring), nullable=True)
        avatar: Mapped[bytes] = mapped_column(EncryptedBytes(ring), nullable=True)
        email_bi: Mapped[str] = mapped_column(
            BlindIndexColumn(ring, "email"), nullable=True, index=True
        )

    return Base, User


def legacy_models(dialect: str) -> tuple[type, type]:
    """The same table as an app on sqlalchemy-utils' Fernet engine declares it.

    On PostgreSQL, ``StringEncryptedType(JSONType, ...)`` encrypts ``repr(dict)``, not JSON
    (JSONType passes the dict through for a native-JSON dialect and the engine then calls
    ``repr``), and reads it back as that string: such columns hold no JSON to read. The app
    here stores its JSON text in a Unicode column there, as apps that hit this do.
    """
    json_type: Any = JSONType if dialect == "sqlite" else sa.Unicode

    class Base(DeclarativeBase):
        pass

    class OldUser(Base):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(40), default="")
        email = mapped_column(StringEncryptedType(sa.Unicode, OLD_KEY, FernetEngine))
        profile = mapped_column(StringEncryptedType(json_type, OLD_KEY, FernetEngine))
        avatar = mapped_column(sa.LargeBinary, nullable=True)
        email_bi = mapped_column(sa.String(80), nullable=True)

    return Base, OldUser


def raw(engine: sa.Engine, column: str, row_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            sa.text(f"SELECT {column} FROM users WHERE id = :id"), {"id": row_id}
        ).scalar_one()


def test_round_trip_and_stored_format(db_url: str) -> None:
    ring = keyroll.Keyring.generate()
    Base, User = models(ring)
    engine = sa.create_engine(db_url)
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(
            User(
                id=1,
                email="Alice@Example.com",
                profile={"tier": "gold", "ü": [1, 2]},
                avatar=b"\x00\xffpng",
            )
        )
        s.commit()
    with Session(engine) as s:
        u = s.get(User, 1)
        assert (u.email, u.profile, u.avatar) == (
            "Alice@Example.com",
            {"tier": "gold", "ü": [1, 2]},
            b"\x00\xffpng",
        )
    stored = raw(engine, "email", 1)
    assert stored.startswith("kr1:v1:")
    assert ring.decrypt(stored, context=b"users:email") == b"Alice@Example.com"
    with pytest.raises(keyroll.DecryptError):
        ring.decrypt(stored, context=b"users:other")
    assert ring.decrypt(raw(engine, "profile", 1), context=b"users:profile") == (
        '{"tier":"gold","ü":[1,2]}'.encode()
    )
    avatar = bytes(raw(engine, "avatar", 1))
    assert avatar[:3] != b"kr1" and ring.decrypt(avatar, context=b"users:avatar") == b"\x00\xffpng"
    assert raw(engine, "email_bi", 1) == User.email_bi.type.compute("alice@example.com ")
    engine.dispose()


def test_old_sqlalchemy_utils_rows_read_migrated_searched(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    OldBase, OldUser = legacy_models(engine.dialect.name)
    OldBase.metadata.create_all(engine)
    people = {i: f"user{i}@example.com" for i in range(1, 26)}
    with Session(engine) as s:
        for i, email in people.items():
            profile = {"n": i} if engine.dialect.name == "sqlite" else json.dumps({"n": i})
            s.add(OldUser(id=i, email=email, profile=profile))
        s.commit()
    assert raw(engine, "email", 1).startswith("gAAAAA")  # a Fernet token, as the old app wrote

    # Step 1: change the field classes; import the old key (one line at startup).
    ring = keyroll.Keyring.generate()
    ring.import_fernet([sqlalchemy_utils_key(OLD_KEY)])
    _, User = models(ring)
    with Session(engine) as s:
        assert {u.id: u.email for u in s.scalars(sa.select(User))} == people
        assert s.get(User, 3).profile == {"n": 3}
        # A save after a read writes the plaintext's new envelope, not the old token.
        u = s.get(User, 2)
        flag_modified(u, "email")  # a save of the unchanged value, as a form would do
        s.commit()
    stored = raw(engine, "email", 2)
    assert stored.startswith("kr1:v1:")
    assert ring.decrypt(stored, context=b"users:email") == people[2].encode()

    # Step 2: migrate (rewrap + blind-index backfill), resumable and idempotent.
    out = io.StringIO()
    report = reencrypt(engine, User, batch_size=10, dry_run=True)
    # 24 old emails (row 2 was saved) + 25 old profiles; 24 indexes (the save made row 2's).
    assert (report.rewrapped, report.reindexed) == (24 + 25, 24)
    assert raw(engine, "email", 1).startswith("gAAAAA")  # dry run wrote nothing
    report = reencrypt(engine, User, batch_size=10, progress=out)
    assert (report.scanned, report.rewrapped, report.reindexed, report.conflicts) == (25, 49, 24, 0)
    assert not report.failed and "25/25 rows" in out.getvalue()
    assert reencrypt(engine, User).rewrapped == 0  # idempotent
    for i in people:
        assert not _orm.is_legacy(raw(engine, "email", i))

    # Step 3: retire the old key; everything still reads, and searches work.
    fernet_version = next(v.version for v in ring.versions if v.kind == "fernet")
    ring.set_state(fernet_version, "disabled")
    with Session(engine) as s:
        found = s.scalars(sa.select(User).where(User.email_bi.blind_match(" USER7@example.com")))
        assert [u.id for u in found] == [7]
        assert {u.id: u.email for u in s.scalars(sa.select(User))} == people
    engine.dispose()


def test_fail_closed(db_url: str) -> None:
    ring = keyroll.Keyring.generate()
    Base, User = models(ring)
    engine = sa.create_engine(db_url)
    Base.metadata.create_all(engine)
    other = keyroll.Keyring.generate()
    cases = {
        1: "not encrypted at all",  # plaintext left in the column
        2: other.encrypt(b"x", context=b"users:email"),  # another keyring
        3: ring.encrypt(b"x", context=b"users:name"),  # another column's value
        4: Fernet(Fernet.generate_key()).encrypt(b"x").decode(),
    }
    with engine.begin() as conn:
        for i, stored in cases.items():
            conn.execute(
                sa.text("INSERT INTO users (id, name, email) VALUES (:i, '', :e)"),
                {"i": i, "e": stored},
            )
    for i in cases:
        with Session(engine) as s, pytest.raises(keyroll.DecryptError) as err:
            s.get(User, i)
        assert err.value.code in {
            "decrypt_failed",
            "unsupported_format",
            "wrong_keyring",
            "malformed",
            "unknown_key_version",
        }
        assert cases[i] not in str(err.value)
    with Session(engine) as s:
        with pytest.raises(TypeError, match="BlindIndexColumn"):
            s.scalars(sa.select(User).where(User.email == "x"))
    engine.dispose()


def test_reencrypt_compare_and_swap(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/cas.db"
    ring = keyroll.Keyring.generate()
    Base, User = models(ring)
    engine = sa.create_engine(url)
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([User(id=i, email=f"u{i}@x") for i in range(1, 6)])
        s.commit()
    ring.rotate()
    writer = sa.create_engine(url)
    real = _orm.rewrap_token

    def racing(r: Any, token: Any, context: bytes, *, binary: bool) -> Any:
        # Another process saves row 3 between the migration's read and its write.
        if r.decrypt(token, context=context) == b"u3@x":
            with Session(writer) as s:
                s.get(User, 3).email = "changed@x"
                s.commit()
        return real(r, token, context, binary=binary)

    monkeypatch.setattr(_orm, "rewrap_token", racing)
    report = reencrypt(engine, User, batch_size=2)
    assert report.conflicts == 1 and report.rewrapped == 4
    with Session(engine) as s:
        assert s.get(User, 3).email == "changed@x"  # the concurrent write stands
    monkeypatch.setattr(_orm, "rewrap_token", real)
    assert reencrypt(engine, User).rewrapped == 0  # the saved row is already v2
    engine.dispose()
    writer.dispose()


def test_reencrypt_resumes(tmp_path: Any) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/resume.db")
    ring = keyroll.Keyring.generate()
    Base, User = models(ring)
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([User(id=i, email=f"u{i}@x") for i in range(1, 11)])
        s.commit()
    ring.rotate()

    class Killed(Exception):
        pass

    class DiesAfterOneBatch(io.StringIO):
        def write(self, text: str) -> int:
            raise Killed

    with pytest.raises(Killed):
        reencrypt(engine, User, batch_size=4, progress=DiesAfterOneBatch())
    versions = [keyroll.inspect(raw(engine, "email", i)).key_version for i in range(1, 11)]
    assert versions == [2] * 4 + [1] * 6  # the first batch committed, nothing else
    report = reencrypt(engine, User, batch_size=4)
    assert (report.scanned, report.rewrapped) == (10, 6)
    report = reencrypt(engine, User, after=4)
    assert (report.scanned, report.rewrapped, report.last_key) == (6, 0, 10)
    engine.dispose()


def test_rotation_loses_no_match(db_url: str) -> None:
    """Recall 100% across a rotation: rows under v1 and v2, lookups through candidates, then
    the backfill, then the old version retired."""
    ring = keyroll.Keyring.generate()
    Base, User = models(ring)
    engine = sa.create_engine(db_url)
    Base.metadata.create_all(engine)
    emails = {i: f"person{i % 40}@example.com" for i in range(1, 121)}  # duplicates on purpose

    def lookups(upto: int) -> None:
        with Session(engine) as s:
            for value in set(emails.values()):
                want = sorted(i for i, e in emails.items() if e == value and i <= upto)
                got = s.scalars(
                    sa.select(User.id)
                    .where(blind_match(User.email_bi, value.upper()))
                    .order_by(User.id)
                )
                assert list(got) == want, value

    with Session(engine) as s:
        s.add_all([User(id=i, email=e) for i, e in emails.items() if i <= 60])
        s.commit()
    lookups(60)
    ring.rotate()
    with Session(engine) as s:
        s.add_all([User(id=i, email=e) for i, e in emails.items() if i > 60])
        s.commit()
    index_versions = {raw(engine, "email_bi", i)[:7] for i in emails}
    assert index_versions == {"bi1:v1:", "bi1:v2:"}
    lookups(120)  # mid-rotation: half the rows under each version
    report = reencrypt(engine, User, batch_size=50)
    assert (report.rewrapped, report.reindexed) == (60, 60)
    lookups(120)
    ring.set_state(1, "disabled")
    assert {raw(engine, "email_bi", i)[:7] for i in emails} == {"bi1:v2:"}
    lookups(120)  # v1 gone: still every match
    engine.dispose()


def test_one_type_instance_per_column() -> None:
    ring = keyroll.Keyring.generate()
    shared = EncryptedText(ring)
    meta = sa.MetaData()
    sa.Table("a", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("x", shared))
    with pytest.raises(TypeError, match="two columns"):
        sa.Table("b", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("y", shared))
    explicit = EncryptedText(ring, context="users:42:email")
    assert explicit.context == b"users:42:email"
