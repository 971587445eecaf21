"""Destroy means destroy, from Python too: after ``set_state(v, "destroyed")`` and ``save()``,
no backup (the one that save just took of the pre-destroy keyring included) still holds the
version's sealed key material. Backups go where the CLI keeps them (``KEYROLL_BACKUP_DIR``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import keyroll

MASTER_KEY = bytes(range(32))
OTHER_KEY = bytes([9] * 32)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KEYROLL_BACKUP_DIR", "KEYROLL_AUDIT_LOG"):
        monkeypatch.delenv(name, raising=False)


def _sealed(doc: bytes, version: int) -> str | None:
    for v in json.loads(doc)["body"]["versions"]:
        if v["version"] == version:
            return v.get("sealed")
    return None


def _backups(directory: Path) -> list[Path]:
    return sorted(directory.glob("keyring-*.json"))


def _three_generations(path: Path, **secret: bytes) -> keyroll.Keyring:
    ring = keyroll.Keyring.generate()
    ring.save(path, **secret)
    ring.rotate()
    ring.save(path, **secret)
    ring.rotate()
    ring.save(path, **secret)  # v1 decrypt_only, v2 decrypt_only, v3 active; 2 backups
    return ring


def _plant_backup(directory: Path, doc: bytes, when: int) -> Path:
    """A backup file as the store names them (time and SHA-256 of the content)."""
    sha = hashlib.sha256(doc).hexdigest()
    path = directory / f"keyring-{when:012d}.000000000-{sha}.json"
    path.write_bytes(doc)
    path.chmod(0o600)
    return path


def _assert_purged(directory: Path, blobs: list[str], version: int, **secret: bytes) -> None:
    left = _backups(directory)
    assert left
    for b in left:
        doc = b.read_bytes()
        assert _sealed(doc, version) is None, b.name
        text = doc.decode()
        for blob in blobs:
            assert blob not in text, b.name
        # Every backup left still opens, with the version destroyed in it (or from before it).
        info = keyroll.Keyring.load(doc, **secret).version(version)
        assert info is None or info.state == "destroyed", b.name


def test_destroy_then_save_purges_the_key_from_every_backup(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    ring = _three_generations(path, master_key=MASTER_KEY)
    backup_dir = tmp_path / "keyring.json.backups"
    # A backup sealed under other credentials: it cannot be re-sealed, so it must go.
    foreign = keyroll.Keyring.load(path.read_bytes(), master_key=MASTER_KEY)
    foreign_doc = foreign.dump(master_key=OTHER_KEY)
    planted = _plant_backup(backup_dir, foreign_doc, 1)
    # Every sealed copy of v1 that exists now.
    blobs = [s for s in (_sealed(p.read_bytes(), 1) for p in [path, *_backups(backup_dir)]) if s]
    assert len(blobs) == 4
    ring.set_state(1, "destroyed")
    ring.save(path, master_key=MASTER_KEY)
    assert not planted.exists()
    # The two earlier backups and the one this save took of the pre-destroy keyring.
    assert len(_backups(backup_dir)) == 3
    _assert_purged(backup_dir, blobs, 1, master_key=MASTER_KEY)
    assert _sealed(path.read_bytes(), 1) is None
    audit = [
        json.loads(line)
        for line in (tmp_path / "keyring.json.audit.jsonl").read_text().splitlines()
    ]
    assert audit[-1]["event"] == "purge_backups"
    assert audit[-1]["versions"] == [1]
    assert audit[-1]["details"]["unopenable"] == [planted.name]
    assert len(audit[-1]["details"]["resealed"]) == 3
    # A save that destroys nothing new leaves the backups as they are.
    before = _backups(backup_dir)
    ring.rotate()
    ring.save(path, master_key=MASTER_KEY)
    after = _backups(backup_dir)
    assert set(before) < set(after) and len(after) == len(before) + 1


def test_backups_go_to_keyroll_backup_dir_and_are_purged_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    audit_log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("KEYROLL_BACKUP_DIR", str(elsewhere))
    monkeypatch.setenv("KEYROLL_AUDIT_LOG", str(audit_log))
    path = tmp_path / "keyring.json"
    ring = _three_generations(path, master_key=MASTER_KEY)
    assert not (tmp_path / "keyring.json.backups").exists()
    assert len(_backups(elsewhere)) == 2
    blobs = [s for s in (_sealed(p.read_bytes(), 2) for p in [path, *_backups(elsewhere)]) if s]
    assert len(blobs) == 2  # the keyring and the generation-2 backup (v2 came after the first)
    ring.set_state(2, "destroyed")
    ring.save(path, master_key=MASTER_KEY)
    assert len(_backups(elsewhere)) == 3
    _assert_purged(elsewhere, blobs, 2, master_key=MASTER_KEY)
    assert not (tmp_path / "keyring.json.backups").exists()
    records = [json.loads(line) for line in audit_log.read_text().splitlines()]
    assert [r["event"] for r in records] == ["purge_backups"]


def test_passphrase_backups_are_resealed_with_their_own_iterations(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    secret = {"passphrase": b"correct horse battery staple"}
    ring = keyroll.Keyring.generate()
    ring.save(path, iterations=100_000, **secret)
    ring.rotate()
    ring.save(path, iterations=100_000, **secret)
    ring.set_state(1, "destroyed")
    ring.save(path, iterations=100_000, **secret)
    backup_dir = tmp_path / "keyring.json.backups"
    _assert_purged(backup_dir, [], 1, passphrase=secret["passphrase"])
    for b in _backups(backup_dir):
        kek = json.loads(b.read_bytes())["body"]["kek"]
        assert kek["iterations"] == 100_000, b.name


def test_a_damaged_backup_is_deleted_rather_than_kept(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    ring = _three_generations(path, master_key=MASTER_KEY)
    backup_dir = tmp_path / "keyring.json.backups"
    damaged = _backups(backup_dir)[0]
    damaged.write_bytes(damaged.read_bytes() + b" ")
    ring.set_state(1, "destroyed")
    ring.save(path, master_key=MASTER_KEY)
    assert not damaged.exists()
    _assert_purged(backup_dir, [], 1, master_key=MASTER_KEY)


def test_a_destroyed_signing_key_leaves_every_backup_too(tmp_path: Path) -> None:
    """Signing keyrings keep sealed private keys in backups as well. Before, their ``save``
    skipped the purge, so a destroyed signing key stayed in every backup."""
    path = tmp_path / "signing.json"
    ring = keyroll.SigningKeyring.generate("ed25519")
    ring.save(path, master_key=MASTER_KEY)
    for _ in range(2):
        ring.rotate()
        ring.save(path, master_key=MASTER_KEY)  # v1, v2 verify-only, v3 active; 2 backups
    backup_dir = tmp_path / "signing.json.backups"
    blobs = [s for s in (_sealed(p.read_bytes(), 1) for p in [path, *_backups(backup_dir)]) if s]
    assert len(blobs) == 3
    ring.set_state(1, "destroyed")
    ring.save(path, master_key=MASTER_KEY)
    left = _backups(backup_dir)
    assert len(left) == 3
    for b in [path, *left]:
        doc = b.read_bytes()
        assert _sealed(doc, 1) is None, b.name
        for blob in blobs:
            assert blob not in doc.decode(), b.name
        copy = keyroll.SigningKeyring.load(doc, master_key=MASTER_KEY)
        assert copy.version(1).state == "destroyed", b.name
