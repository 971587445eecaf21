"""Django settings for the suite (configured once per process) and per-test tables."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import django
from django.conf import settings

from orm.conftest import PG_URL

ALIASES = ["default"] + (["pg"] if PG_URL else [])
SECRET_KEY = "django-insecure-the-old-app-secret"


def setup() -> None:
    if settings.configured:
        return
    databases = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    if PG_URL:
        import psycopg

        name = "keyroll_orm_dj_" + secrets.token_hex(4)
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        parts = urlsplit(PG_URL)
        databases["pg"] = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": parts.username or "postgres",
            "HOST": parts.hostname,
            "PORT": str(parts.port),
        }
    settings.configure(
        SECRET_KEY=SECRET_KEY,
        SALT_KEY="the-old-salt",
        INSTALLED_APPS=["keyroll.django", "orm.djapp"],
        DATABASES=databases,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
        KEYROLL={
            "KEYRING": "orm.djapp.keyring.current",
            "LEGACY": ["django-fernet-fields", "django-fernet-encrypted-fields"],
        },
    )
    django.setup()


@contextmanager
def tables(alias: str, *models: type) -> Iterator[None]:
    from django.db import connections

    with connections[alias].schema_editor() as editor:
        for model in models:
            editor.create_model(model)
    try:
        yield
    finally:
        with connections[alias].schema_editor() as editor:
            for model in models:
                editor.delete_model(model)
