"""keyroll.django against the real Django, django-fernet-fields and
django-fernet-encrypted-fields, on SQLite and PostgreSQL: round trips, old rows read, migrated
with keyroll_migrate and searched, fail closed, compare-and-swap, lookups through a rotation."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from orm import djsetup

djsetup.setup()

from django.core.exceptions import FieldError  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

import keyroll  # noqa: E402
import keyroll.compat  # noqa: E402
from keyroll import _orm  # noqa: E402
from keyroll.django import conf  # noqa: E402
from keyroll.django.management.commands import keyroll_migrate  # noqa: E402
from orm.djapp import keyring as test_keyring  # noqa: E402
from orm.djapp.models import Account, Customer, OldAccount, OldCustomer, Person  # noqa: E402


@pytest.fixture(params=djsetup.ALIASES, ids=lambda a: "sqlite" if a == "default" else "postgresql")
def alias(request: pytest.FixtureRequest) -> Iterator[str]:
    test_keyring.CURRENT[0] = keyroll.Keyring.generate()
    conf.reset()
    with djsetup.tables(request.param, Person, OldCustomer, OldAccount):
        yield request.param
    conf.reset()


def ring() -> keyroll.Keyring:
    return test_keyring.CURRENT[0]


def raw(alias: str, table: str, column: str, key: int) -> Any:
    with connections[alias].cursor() as cur:
        cur.execute(f"SELECT {column} FROM {table} WHERE id = %s", [key])
        value = cur.fetchone()[0]
    return bytes(value) if isinstance(value, memoryview) else value


def test_round_trip_stored_format_and_lookup(alias: str) -> None:
    p = Person(name="a", email="Alice@Example.com", notes={"k": ["v", 1]}, photo=b"\x00img")
    p.save(using=alias)
    got = Person.objects.using(alias).get(pk=p.pk)
    assert (got.email, got.notes, bytes(got.photo)) == (
        "Alice@Example.com",
        {"k": ["v", 1]},
        b"\x00img",
    )
    stored = raw(alias, "people", "email", p.pk)
    assert stored.startswith("kr1:v1:")
    assert ring().decrypt(stored, context=b"people:email") == b"Alice@Example.com"
    assert ring().decrypt(raw(alias, "people", "notes", p.pk), context=b"people:notes") == (
        b'{"k":["v",1]}'
    )
    assert ring().decrypt(raw(alias, "people", "photo", p.pk), context=b"people:photo") == (
        b"\x00img"
    )
    assert [
        x.pk for x in Person.objects.using(alias).filter(email__blind=" alice@EXAMPLE.com")
    ] == [p.pk]
    assert not Person.objects.using(alias).filter(email__blind="bob@example.com").exists()
    with pytest.raises(FieldError, match="blind"):
        list(Person.objects.using(alias).filter(email="Alice@Example.com"))
    with pytest.raises(FieldError, match="unique"):
        type(Person._meta.get_field("email"))(unique=True)


def test_old_django_fernet_fields_rows_read_migrated_searched(alias: str) -> None:
    people = {}
    for i in range(1, 13):
        old = OldCustomer(name=f"c{i}", email=f"customer{i}@example.com")
        old.save(using=alias)
        people[old.pk] = old.email
    first = min(people)
    assert raw(alias, "customers", "email", first).startswith(b"gAAAAA")  # bytea/BLOB Fernet
    # Step 1: change the field classes (same column type, no schema change for the value) and
    # add the blind-index column (an ordinary AddField migration).
    conn = connections[alias]
    assert Customer._meta.get_field("email").db_type(conn) == (
        OldCustomer._meta.get_field("email").db_type(conn)
    )
    with conn.schema_editor() as editor:
        editor.add_field(Customer, Customer._meta.get_field("email_bi"))
    objects = Customer.objects.using(alias)
    assert {c.pk: c.email for c in objects.all()} == people
    c = objects.get(pk=first)
    c.save(using=alias)  # a save after a read writes the plaintext's new envelope
    stored = raw(alias, "customers", "email", first)
    assert stored.startswith(b"kr1:v1:")
    assert ring().decrypt(stored, context=b"customers:email") == people[first].encode()

    # Step 2: keyroll_migrate — dry run by default, then --apply.
    out = io.StringIO()
    call_command("keyroll_migrate", "djapp.Customer", database=alias, stdout=out, no_progress=True)
    assert "11 values rewrapped, 11 blind indexes backfilled" in out.getvalue()
    assert "dry run" in out.getvalue()
    assert raw(alias, "customers", "email", first + 1).startswith(b"gAAAAA")
    call_command(
        "keyroll_migrate", "djapp.Customer", database=alias, apply=True, batch_size=5,
        stdout=out,
    )  # fmt: skip
    stats = keyroll_migrate.migrate(Customer, alias, apply=True)
    assert (stats["rewrapped"], stats["reindexed"]) == (0, 0)  # idempotent
    for key in people:
        assert raw(alias, "customers", "email", key).startswith(b"kr1:v1:")

    # Step 3: retire the old key (drop LEGACY); rows read and are found.
    with override_settings(KEYROLL={"KEYRING": "orm.djapp.keyring.current"}):
        test_keyring.CURRENT[0] = keyroll.Keyring.load(
            ring().dump(master_key=b"k" * 32), master_key=b"k" * 32
        )
        fernet = [v.version for v in ring().versions if v.kind == "fernet"]
        for version in fernet:
            ring().set_state(version, "disabled")
        assert {c.pk: c.email for c in objects.all()} == people
        assert [c.pk for c in objects.filter(email__blind="CUSTOMER7@example.com")] == [
            k for k, e in people.items() if e == "customer7@example.com"
        ]


def test_old_django_fernet_encrypted_fields_rows_read(alias: str) -> None:
    old = OldAccount(token="tok-123")
    old.save(using=alias)
    assert raw(alias, "accounts", "token", old.pk).startswith("gAAAAA")
    acct = Account.objects.using(alias).get(pk=old.pk)
    assert acct.token == "tok-123"
    acct.save(using=alias)
    assert raw(alias, "accounts", "token", old.pk).startswith("kr1:v1:")
    assert Account.objects.using(alias).get(pk=old.pk).token == "tok-123"


def test_fail_closed(alias: str) -> None:
    p = Person(email="x@y")
    p.save(using=alias)
    other = keyroll.Keyring.generate()
    bad = {
        "plaintext": "x@y",
        "other keyring": other.encrypt(b"x@y", context=b"people:email"),
        "other column": ring().encrypt(b"x@y", context=b"people:notes"),
        "truncated": raw(alias, "people", "email", p.pk)[:-4],
    }
    for stored in bad.values():
        with connections[alias].cursor() as cur:
            cur.execute("UPDATE people SET email = %s WHERE id = %s", [stored, p.pk])
        # A typed keyroll error (decrypt_failed, wrong_keyring, malformed, or invalid_argument
        # for a non-envelope when legacy keys are imported), never the stored text.
        with pytest.raises(keyroll.KeyrollError) as err:
            Person.objects.using(alias).get(pk=p.pk)
        assert stored not in str(err.value)
        # The django-fernet-encrypted-fields bug: a failed read handed back the stored text,
        # and the next save encrypted that ciphertext as the value. Here nothing was returned,
        # so nothing can be saved, and the column still holds exactly what it held.
        assert raw(alias, "people", "email", p.pk) == stored
    with connections[alias].cursor() as cur:
        cur.execute("UPDATE people SET email = NULL WHERE id = %s", [p.pk])
    assert Person.objects.using(alias).get(pk=p.pk).email is None


def test_fail_closed_where_the_old_library_did_not(alias: str) -> None:
    """The same undecryptable row through django-fernet-encrypted-fields and through keyroll:
    the old field hands back the stored ciphertext as the value, and its next save encrypts
    that ciphertext (#13/#46); keyroll raises and the row keeps what it held."""
    wrong = keyroll.compat.Fernet(keyroll.compat.Fernet.generate_key()).encrypt(b"t").decode()
    old = OldAccount(token="t")
    old.save(using=alias)
    with connections[alias].cursor() as cur:
        cur.execute("UPDATE accounts SET token = %s WHERE id = %s", [wrong, old.pk])
    read_by_old = OldAccount.objects.using(alias).get(pk=old.pk)
    assert read_by_old.token == wrong  # the bug this test guards against
    with pytest.raises(keyroll.KeyrollError):
        Account.objects.using(alias).get(pk=old.pk)
    assert raw(alias, "accounts", "token", old.pk) == wrong


def test_migrate_compare_and_swap_and_resume(alias: str, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = []
    for i in range(1, 9):
        p = Person(email=f"p{i}@x")
        p.save(using=alias)
        keys.append(p.pk)
    ring().rotate()
    conf.reset()
    real = _orm.rewrap_token

    def racing(r: Any, token: Any, context: bytes, *, binary: bool) -> Any:
        # The app saves row 3 between the migration's read and its write.
        if r.decrypt(token, context=context) == b"p3@x":
            Person.objects.using(alias).get(pk=keys[2]).save(using=alias)
            with connections[alias].cursor() as cur:
                cur.execute(
                    "UPDATE people SET email = %s WHERE id = %s",
                    [r.encrypt(b"changed@x", context=b"people:email"), keys[2]],
                )
        return real(r, token, context, binary=binary)

    monkeypatch.setattr(_orm, "rewrap_token", racing)
    stats = keyroll_migrate.migrate(Person, alias, apply=True, batch_size=3, after=keys[0])
    assert stats["conflicts"] == 1 and stats["scanned"] == 7 and stats["last_key"] == keys[-1]
    assert Person.objects.using(alias).get(pk=keys[2]).email == "changed@x"
    assert keyroll.inspect(raw(alias, "people", "email", keys[0])).key_version == 1  # skipped
    monkeypatch.setattr(_orm, "rewrap_token", real)
    stats = keyroll_migrate.migrate(Person, alias, apply=True)
    assert (stats["rewrapped"], stats["conflicts"]) == (1, 0)  # only row 1 was left
    versions = {keyroll.inspect(raw(alias, "people", "email", k)).key_version for k in keys}
    assert versions == {2}


def test_rotation_loses_no_match(alias: str) -> None:
    emails = [f"member{i % 25}@example.com" for i in range(100)]
    made: list[tuple[int, str]] = []

    def lookups() -> None:
        objects = Person.objects.using(alias)
        for value in set(emails):
            want = sorted(k for k, e in made if e == value)
            got = sorted(objects.filter(email__blind=value.upper()).values_list("pk", flat=True))
            assert got == want, value

    for e in emails[:50]:
        p = Person(email=e)
        p.save(using=alias)
        made.append((p.pk, e))
    lookups()
    ring().rotate()
    for e in emails[50:]:
        p = Person(email=e)
        p.save(using=alias)
        made.append((p.pk, e))
    assert {raw(alias, "people", "email_bi", k)[:7] for k, _ in made} == {"bi1:v1:", "bi1:v2:"}
    lookups()  # mid-rotation
    stats = keyroll_migrate.migrate(Person, alias, apply=True, batch_size=30)
    assert (stats["rewrapped"], stats["reindexed"]) == (50, 50)
    lookups()
    ring().set_state(1, "disabled")
    assert {raw(alias, "people", "email_bi", k)[:7] for k, _ in made} == {"bi1:v2:"}
    lookups()  # v1 retired: still every match
