"""Databases for the ORM suites: SQLite always, PostgreSQL when ``KEYROLL_TEST_PG_URL`` names
a server (scripts/ci/50-cli.sh starts one and runs ``-k postgresql``)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

PG_URL = os.environ.get("KEYROLL_TEST_PG_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def pg_url(database: str) -> str:
    """The test server's URL for SQLAlchemy with psycopg 3, on ``database``."""
    assert PG_URL is not None
    parts = urlsplit(PG_URL)
    return urlunsplit(("postgresql+psycopg", parts.netloc, "/" + database, "", ""))


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    import psycopg

    assert PG_URL is not None
    name = "keyroll_orm_" + secrets.token_hex(4)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """A SQLAlchemy URL of an empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/orm.db"
    return pg_url(request.getfixturevalue("pg_database"))
