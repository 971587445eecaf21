"""The `users` table of test/orm/adapters.mjs through the Python fields, for the Node suites
(a row written in Python is read in Node and back; docs/orm.md).

    python python_rows.py write DATABASE_URL
    python python_rows.py read DATABASE_URL < given.json  ({"document", "masterKeyHex", "emails"})

DATABASE_URL is a SQLAlchemy URL (sqlite:///... or postgresql+psycopg://...).

Rows 1-3 go through keyroll.sqlalchemy (EncryptedText/EncryptedBytes/EncryptedJSON and a
BlindIndexColumn over email, its defaults: index `users.email`, trim+casefold, 64 bits); row 4
through sqlalchemy-utils' StringEncryptedType with its Fernet engine (the old library), whose
key the keyring imports. `write` prints JSON: the keyring document (sealed with a master key),
the master key, and the plaintexts. `read` prints every row's plaintexts and, for each email
given, the ids `blind_match` finds.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import keyroll
from keyroll.sqlalchemy import (
    BlindIndexColumn,
    EncryptedBytes,
    EncryptedJSON,
    EncryptedText,
    sqlalchemy_utils_key,
)

OLD_KEY = "sqlalchemy-utils secret of the old app"
ROWS: list[dict[str, Any]] = [
    {
        "id": 1,
        "ssn": "078-05-1120",
        "photo": b"\x00\x01\xfe\xff",
        "prefs": {"theme": "dark", "n": [1, 2.5, None], "s": "é ✓"},
        "email": "Alice@Example.com",
    },
    {"id": 2, "ssn": "", "photo": b"", "prefs": [], "email": "bob@example.com "},
    {"id": 3, "ssn": None, "photo": None, "prefs": None, "email": None},
]
LEGACY = {"id": 4, "ssn": "219-09-9999"}


def models(ring: keyroll.Keyring) -> tuple[Any, Any]:
    """The keyroll model of the table."""

    class Base(DeclarativeBase):
        pass

    class User(Base):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
        ssn: Mapped[str | None] = mapped_column(EncryptedText(ring))
        photo: Mapped[bytes | None] = mapped_column(EncryptedBytes(ring))
        prefs: Mapped[Any | None] = mapped_column(EncryptedJSON(ring))
        email: Mapped[str | None] = mapped_column(EncryptedText(ring))
        email_bidx: Mapped[str | None] = mapped_column(BlindIndexColumn(ring, "email"))

    return Base, User


def write(url: str) -> None:
    ring = keyroll.Keyring.generate()
    ring.import_fernet([sqlalchemy_utils_key(OLD_KEY)])
    Base, User = models(ring)
    # Imported here: sqlalchemy-utils takes a second to import, and `read` does not need it.
    from sqlalchemy_utils import StringEncryptedType
    from sqlalchemy_utils.types.encrypted.encrypted_type import FernetEngine

    class OldBase(DeclarativeBase):
        pass

    class OldUser(OldBase):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
        ssn: Mapped[str | None] = mapped_column(
            StringEncryptedType(sa.Unicode, OLD_KEY, FernetEngine)
        )

    engine = sa.create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(User(**row) for row in ROWS)
        session.commit()
    with Session(engine) as session:
        session.add(OldUser(**LEGACY))
        session.commit()
    engine.dispose()

    master_key = os.urandom(32)
    out = {
        "document": ring.dump(master_key=master_key).decode(),
        "masterKeyHex": master_key.hex(),
        "rows": [
            {
                **row,
                "photo": None if row["photo"] is None else base64.b64encode(row["photo"]).decode(),
            }
            for row in ROWS
        ],
        "legacy": LEGACY,
    }
    json.dump(out, sys.stdout)


def read(url: str) -> None:
    given = json.load(sys.stdin)
    ring = keyroll.Keyring.load(
        given["document"].encode(), master_key=bytes.fromhex(given["masterKeyHex"])
    )
    _, User = models(ring)
    engine = sa.create_engine(url)
    with Session(engine) as session:
        rows = [
            {
                "id": u.id,
                "ssn": u.ssn,
                "photo": None if u.photo is None else base64.b64encode(u.photo).decode(),
                "prefs": u.prefs,
                "email": u.email,
            }
            for u in session.scalars(sa.select(User).order_by(User.id))
        ]
        found = {
            email: list(
                session.scalars(sa.select(User.id).where(User.email_bidx.blind_match(email)))
            )
            for email in given["emails"]
        }
    engine.dispose()
    json.dump({"rows": rows, "found": found}, sys.stdout)


if __name__ == "__main__":
    {"write": write, "read": read}[sys.argv[1]](sys.argv[2])
