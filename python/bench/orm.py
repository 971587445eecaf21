"""ORM round trip: keyroll.sqlalchemy against sqlalchemy-utils' Fernet engine, in one run.

    .venv/bin/python python/bench/orm.py            # prints the table and the ratios

The same SQLAlchemy 2.x model (an id, an encrypted e-mail text, an encrypted JSON profile) on
SQLite in memory: insert N rows through the ORM in one session and commit, then select them
all and touch every decrypted attribute. keyroll adds a blind-index column over the e-mail (a
second HMAC per row on insert) in a third variant, since that is what a searchable column
costs. Each figure is the best of several runs (the machine is shared).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy_utils import JSONType, StringEncryptedType
from sqlalchemy_utils.types.encrypted.encrypted_type import FernetEngine

import keyroll
from keyroll.sqlalchemy import BlindIndexColumn, EncryptedJSON, EncryptedText

KEY = "bench secret"


def model(kind: str) -> tuple[Any, Any]:
    ring = keyroll.Keyring.generate()

    class Base(DeclarativeBase):
        pass

    if kind == "sqlalchemy-utils":

        class User(Base):
            __tablename__ = "users"
            id: Mapped[int] = mapped_column(primary_key=True)
            email = mapped_column(StringEncryptedType(sa.Unicode, KEY, FernetEngine))
            profile = mapped_column(StringEncryptedType(JSONType, KEY, FernetEngine))

    elif kind == "keyroll":

        class User(Base):  # type: ignore[no-redef]
            __tablename__ = "users"
            id: Mapped[int] = mapped_column(primary_key=True)
            email: Mapped[str] = mapped_column(EncryptedText(ring))
            profile: Mapped[Any] = mapped_column(EncryptedJSON(ring))

    else:

        class User(Base):  # type: ignore[no-redef]
            __tablename__ = "users"
            id: Mapped[int] = mapped_column(primary_key=True)
            email: Mapped[str] = mapped_column(EncryptedText(ring))
            profile: Mapped[Any] = mapped_column(EncryptedJSON(ring))
            email_bi: Mapped[str] = mapped_column(BlindIndexColumn(ring, "email"))

    return Base, User


def round_trip(kind: str, rows: int) -> tuple[float, float]:
    Base, User = model(kind)
    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    t0 = time.perf_counter()
    with Session(engine) as s:
        s.add_all(
            User(id=i, email=f"user{i}@example.com", profile={"n": i, "tier": "gold"})
            for i in range(rows)
        )
        s.commit()
    t1 = time.perf_counter()
    with Session(engine) as s:
        n = sum(len(u.email) + len(u.profile) for u in s.scalars(sa.select(User)))
    t2 = time.perf_counter()
    assert n > 0
    engine.dispose()
    return t1 - t0, t2 - t1


def best(fn: Callable[[], tuple[float, float]], runs: int) -> tuple[float, float]:
    results = [fn() for _ in range(runs)]
    return min(r[0] for r in results), min(r[1] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    kinds = ["sqlalchemy-utils", "keyroll", "keyroll + blind index"]
    got = {k: best(lambda k=k: round_trip(k, args.rows), args.runs) for k in kinds}
    v = importlib.metadata.version
    print(
        f"{args.rows} rows, SQLite in memory, best of {args.runs}; Python "
        f"{platform.python_version()}, SQLAlchemy {v('SQLAlchemy')}, sqlalchemy-utils "
        f"{v('SQLAlchemy-Utils')}, cryptography {v('cryptography')}, keyroll {keyroll.__version__}"
        f" ({keyroll.AEAD_BACKEND})"
    )
    print()
    print("| model | insert | select all | round trip | rows/s | vs sqlalchemy-utils |")
    print("|---|---:|---:|---:|---:|---:|")
    base = sum(got["sqlalchemy-utils"])
    for k in kinds:
        ins, sel = got[k]
        total = ins + sel
        print(
            f"| {k} | {ins * 1000:.0f} ms | {sel * 1000:.0f} ms | {total * 1000:.0f} ms | "
            f"{args.rows / total:,.0f} | {base / total:.2f}x |"
        )


if __name__ == "__main__":
    main()
