"""``manage.py keyroll_migrate app_label.Model [--apply]``: moves a model's encrypted fields to
the active key version (rewrap in core; legacy Fernet tokens become ``kr1`` envelopes under
``<db_table>:<column>``) and backfills its blind indexes.

Dry run unless ``--apply``. In batches by primary key, one transaction each; every write is a
compare-and-swap on the values read (a row saved meanwhile is left alone and counted as a
conflict; the next run takes it). Idempotent, so re-running resumes; ``--after PK`` skips the
rows a previous run finished (it prints where it stopped). Rows whose values do not open are
never written; they are listed by primary key with the error code.
"""

from __future__ import annotations

import sys
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections, router, transaction

from keyroll import _orm
from keyroll.django.fields import BlindIndexField, _EncryptedMixin
from keyroll.errors import KeyrollError


class Command(BaseCommand):
    help = "Rewrap a model's encrypted fields under the active key and backfill blind indexes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model", help="app_label.ModelName")
        parser.add_argument("--apply", action="store_true", help="write (default: dry run)")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--after", help="resume after this primary key")
        parser.add_argument("--database", help="database alias (default: the router's)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            model = apps.get_model(options["model"])
        except (LookupError, ValueError) as err:
            raise CommandError(f"unknown model {options['model']!r}") from err
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        alias = options["database"] or router.db_for_write(model)
        stats = migrate(
            model,
            alias,
            apply=options["apply"],
            batch_size=options["batch_size"],
            after=options["after"],
            progress=None if options["no_progress"] else sys.stderr,
        )
        mode = "applied" if options["apply"] else "dry run (nothing written; --apply to write)"
        self.stdout.write(
            f"{model._meta.label}: {stats['scanned']} rows scanned, {stats['rewrapped']} values "
            f"rewrapped, {stats['reindexed']} blind indexes backfilled, {stats['conflicts']} "
            f"conflicts, {len(stats['failed'])} failed — {mode}"
        )
        for key, code in stats["failed"].items():
            self.stdout.write(f"  row {key}: {code}")
        if stats["last_key"] is not None:
            self.stdout.write(f"last primary key: {stats['last_key']}")
        if stats["failed"]:
            raise CommandError(f"{len(stats['failed'])} rows did not open (left unchanged)")


def migrate(
    model: Any,
    alias: str,
    *,
    apply: bool,
    batch_size: int = 500,
    after: Any = None,
    progress: Any = None,
) -> dict[str, Any]:
    """The command's work, callable from code and tests; returns its counts."""
    meta = model._meta
    fields = meta.concrete_fields
    encrypted = [f for f in fields if isinstance(f, _EncryptedMixin)]
    blind = [f for f in fields if isinstance(f, BlindIndexField)]
    if not encrypted:
        raise CommandError(f"{meta.label} has no keyroll encrypted fields")
    pk = meta.pk
    conn = connections[alias]
    q = conn.ops.quote_name
    columns = [f.column for f in encrypted + blind]
    table = q(meta.db_table)
    select = f"SELECT {q(pk.column)}, {', '.join(q(c) for c in columns)} FROM {table}"
    stats: dict[str, Any] = dict(
        scanned=0, rewrapped=0, reindexed=0, conflicts=0, failed={}, last_key=None
    )
    if after is not None:
        after = pk.to_python(after)
    with conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {table}")
        total = cur.fetchone()[0]
    while True:
        with transaction.atomic(using=alias), conn.cursor() as cur:
            where = f" WHERE {q(pk.column)} > %s" if after is not None else ""
            cur.execute(
                f"{select}{where} ORDER BY {q(pk.column)} LIMIT %s",
                [after, batch_size] if after is not None else [batch_size],
            )
            rows = cur.fetchall()
            if not rows:
                break
            specs = {f.column: f.spec() for f in encrypted}
            blind_specs = [
                _orm.BlindSpec(b.column, specs[b.source_field().column], b.compute) for b in blind
            ]
            for row in rows:
                key, old = row[0], dict(zip(columns, row[1:]))
                old = {c: bytes(v) if isinstance(v, memoryview) else v for c, v in old.items()}
                try:
                    new = _orm.plan_row(list(specs.values()), blind_specs, old)
                except KeyrollError as err:
                    stats["failed"][key] = err.code
                    new = {}
                after = key
                if not new:
                    continue
                if apply and not _swap(cur, q, table, pk.column, key, columns, old, new):
                    stats["conflicts"] += 1
                    continue
                stats["rewrapped"] += sum(1 for c in new if c in specs)
                stats["reindexed"] += sum(1 for c in new if c not in specs)
        stats["scanned"] += len(rows)
        stats["last_key"] = after
        if progress is not None:
            _orm.progress_bar(progress, stats["scanned"], total)
    if progress is not None:
        progress.write("\n")
    return stats


def _swap(
    cur: Any,
    q: Any,
    table: str,
    pk_column: str,
    key: Any,
    columns: list[str],
    old: dict[str, Any],
    new: dict[str, Any],
) -> bool:
    """``UPDATE … WHERE pk = key AND every column = what was read``: one row or none."""
    sets = ", ".join(f"{q(c)} = %s" for c in new)
    conds = [f"{q(pk_column)} = %s"]
    params: list[Any] = [*new.values(), key]
    for c in columns:
        if old[c] is None:
            conds.append(f"{q(c)} IS NULL")
        else:
            conds.append(f"{q(c)} = %s")
            params.append(old[c])
    cur.execute(f"UPDATE {table} SET {sets} WHERE {' AND '.join(conds)}", params)
    return bool(cur.rowcount == 1)
