"""Saving through the file store: a stale handle cannot undo another process's change
(``keyring_conflict``), and an old copy put back is refused (``keyring_rollback``)."""

from __future__ import annotations

import json

import pytest

import keyroll

MASTER_KEY = bytes(range(32))


def _generation(path) -> int:
    return json.loads(path.read_bytes())["body"].get("generation", 0)


def test_a_stale_save_is_refused_and_changes_nothing(tmp_path) -> None:
    path = tmp_path / "keyring.json"
    keyroll.Keyring.generate().save(path, master_key=MASTER_KEY)
    n = _generation(path)
    # Two handles load generation N.
    a = keyroll.Keyring.load_file(path, master_key=MASTER_KEY)
    b = keyroll.Keyring.load_file(path, master_key=MASTER_KEY)
    # A rotates and saves: N + 1.
    a_version = a.rotate()
    a.save(path, master_key=MASTER_KEY)
    assert _generation(path) == n + 1
    saved = path.read_bytes()
    backups = sorted(p.name for p in (tmp_path / "keyring.json.backups").iterdir())
    # B rotates and saves: refused; the file and the backups are untouched.
    b.rotate()
    with pytest.raises(keyroll.StoreError) as info:
        b.save(path, master_key=MASTER_KEY)
    assert info.value.code == "keyring_conflict"
    assert path.read_bytes() == saved
    assert sorted(p.name for p in (tmp_path / "keyring.json.backups").iterdir()) == backups
    assert keyroll.Keyring.load_file(path, master_key=MASTER_KEY).active_version == a_version
    # The handle whose save landed saves again on top of it.
    a.rotate()
    a.save(path, master_key=MASTER_KEY)
    assert _generation(path) == n + 2


def test_an_old_copy_put_back_is_refused(tmp_path) -> None:
    path = tmp_path / "keyring.json"
    ring = keyroll.Keyring.generate()
    ring.save(path, master_key=MASTER_KEY)
    old = path.read_bytes()
    ring.rotate()
    ring.save(path, master_key=MASTER_KEY)
    path.write_bytes(old)
    with pytest.raises(keyroll.StoreError) as info:
        keyroll.Keyring.load_file(path, master_key=MASTER_KEY)
    assert info.value.code == "keyring_rollback"
    assert "keyring_conflict" in keyroll.ERROR_CODES
    assert "keyring_rollback" in keyroll.ERROR_CODES
