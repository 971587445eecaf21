"""The Keyring API: forms, contexts, TTLs, rotation, documents, files, environment."""

from __future__ import annotations

import base64
import os
import stat

import pytest

import keyroll

NOW = 1_700_000_000
DAY = 86_400


@pytest.fixture
def ring() -> keyroll.Keyring:
    return keyroll.Keyring.generate(now=NOW)


def test_text_and_binary_forms(ring: keyroll.Keyring) -> None:
    token = ring.encrypt(b"hello", context="users:1")
    assert token.startswith("kr1:v1:")
    assert ring.decrypt(token, context=b"users:1") == b"hello"
    assert ring.decrypt(token.encode(), context="users:1") == b"hello"
    blob = ring.encrypt_binary(b"hello", context=b"users:1")
    assert isinstance(blob, bytes) and blob[:3] == b"\xc4kr"
    assert ring.decrypt(blob, context=b"users:1") == b"hello"
    # str payloads are UTF-8; bytearray works too.
    assert ring.decrypt(ring.encrypt("café")) == "café".encode()
    assert ring.decrypt(ring.encrypt(bytearray(b"ba"))) == b"ba"
    with pytest.raises(TypeError):
        ring.encrypt(12)  # type: ignore[arg-type]


def test_context_binds(ring: keyroll.Keyring) -> None:
    token = ring.encrypt(b"x", context=b"a")
    with pytest.raises(keyroll.DecryptError) as info:
        ring.decrypt(token, context=b"b")
    assert info.value.code == "decrypt_failed"
    with pytest.raises(keyroll.DecryptError):
        ring.decrypt(token)


def test_issued_at_and_ttl(ring: keyroll.Keyring) -> None:
    token = ring.encrypt(b"x", now=NOW)
    assert keyroll.inspect(token).issued_at == NOW
    assert ring.verify(token).issued_at == NOW
    assert ring.decrypt(token, ttl=60, now=NOW + 60) == b"x"
    with pytest.raises(keyroll.ExpiredError) as info:
        ring.decrypt(token, ttl=60, now=NOW + 61)
    assert info.value.code == "expired"
    bare = ring.encrypt(b"x", timestamp=False)
    assert keyroll.inspect(bare).issued_at is None
    with pytest.raises(keyroll.ExpiredError) as info:
        ring.decrypt(bare, ttl=60)
    assert info.value.code == "missing_timestamp"
    # Default time is the clock.
    import time

    before = int(time.time())
    stamped = keyroll.inspect(ring.encrypt(b"x")).issued_at
    assert stamped is not None and before <= stamped <= int(time.time())


def test_rotation_and_rewrap(ring: keyroll.Keyring) -> None:
    old = ring.encrypt(b"data", context=b"c", now=NOW)
    assert ring.rotate(now=NOW + 90 * DAY) == 2
    assert ring.active_version == 2
    assert ring.needs_rewrap(old)
    fresh = ring.rewrap(old, context=b"c")
    assert fresh.startswith("kr1:v2:")
    assert not ring.needs_rewrap(fresh)
    assert keyroll.inspect(fresh).issued_at == NOW
    assert ring.decrypt(fresh, context=b"c") == b"data"
    fresh_bin = ring.rewrap_binary(old, context=b"c")
    assert ring.decrypt(fresh_bin, context=b"c") == b"data"
    states = [(v.version, v.state) for v in ring.versions]
    assert states == [(1, "decrypt_only"), (2, "active")]
    v1 = ring.version(1)
    assert v1 is not None and v1.retired_at == NOW + 90 * DAY and v1.kind == "aes256_gcm"
    assert ring.version(99) is None


def test_two_phase_rotation_and_states(ring: keyroll.Keyring) -> None:
    token = ring.encrypt(b"x")
    v2 = ring.add_version(now=NOW + 1)
    assert ring.version(v2).state == "pending"
    assert ring.encrypt(b"y").startswith("kr1:v1:")
    ring.promote(v2, now=NOW + 2)
    assert ring.encrypt(b"y").startswith("kr1:v2:")
    ring.set_state(1, "disabled", note="paused")
    with pytest.raises(keyroll.KeyUnavailableError) as info:
        ring.decrypt(token)
    assert info.value.code == "key_disabled"
    ring.set_state(1, "decrypt_only")
    assert ring.decrypt(token) == b"x"
    with pytest.raises(keyroll.PolicyError) as info:
        ring.set_state(2, "destroyed")
    assert info.value.code == "invalid_state_transition"
    with pytest.raises(keyroll.InvalidArgumentError) as info:
        ring.set_state(1, "bogus")  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)


def test_emergency_rotate(ring: keyroll.Keyring) -> None:
    token = ring.encrypt(b"x")
    ring.emergency_rotate("laptop stolen", now=NOW + 5)
    v1 = ring.version(1)
    assert v1.state == "compromised" and v1.note == "laptop stolen"
    with pytest.raises(keyroll.KeyUnavailableError) as info:
        ring.decrypt(token)
    assert info.value.code == "key_compromised"
    # Moving data off a compromised version is an explicit opt-in (see below).
    assert ring.decrypt(ring.rewrap(token, allow_compromised=True)) == b"x"


def test_rewrap_of_compromised_versions_is_opt_in_and_counted(ring: keyroll.Keyring) -> None:
    # A forger holding v1 could have written any of these: rewrap must not launder them.
    under_v1 = [ring.encrypt(f"row {i}".encode(), context=b"c") for i in range(5)]
    binary_v1 = ring.encrypt_binary(b"blob", context=b"c")
    ring.rotate(now=NOW + 1)  # v2
    under_v2 = [ring.encrypt(b"fine", context=b"c") for _ in range(3)]
    ring.emergency_rotate("key leaked", now=NOW + 2)  # v2 compromised, v3 active
    ring.set_state(1, "compromised", note="same leak")
    for call in (
        lambda: ring.rewrap(under_v1[0], context=b"c"),
        lambda: ring.rewrap_binary(binary_v1, context=b"c"),
        lambda: ring.rewrap_many(under_v1 + under_v2, context=b"c"),
    ):
        with pytest.raises(keyroll.KeyUnavailableError) as info:
            call()
        assert info.value.code == "key_compromised"
    failed = ring.rewrap_many(under_v1[:2], context=b"c", return_exceptions=True)
    assert isinstance(failed, list)
    assert [e.code for e in failed] == ["key_compromised"] * 2  # type: ignore[union-attr]
    # Opted in: moved, and counted per source version.
    one = ring.rewrap(under_v1[0], context=b"c", allow_compromised=True)
    assert keyroll.inspect(one).key_version == 3
    assert (
        ring.decrypt(
            ring.rewrap_binary(binary_v1, context=b"c", allow_compromised=True), context=b"c"
        )
        == b"blob"
    )
    batch = ring.rewrap_many(under_v1 + under_v2 + [one], context=b"c", allow_compromised=True)
    assert isinstance(batch, keyroll.RewrapBatch)
    assert batch.compromised == {1: 5, 2: 3} and batch.compromised_total == 8
    assert len(batch) == 9 and list(batch) == batch.tokens
    assert batch[-1].startswith("kr1:v3:") and batch[0] == batch.tokens[0]
    assert [ring.decrypt(t, context=b"c") for t in batch][:5] == [
        f"row {i}".encode() for i in range(5)
    ]
    assert "compromised={1: 5, 2: 3}" in repr(batch)
    with pytest.raises(IndexError):
        batch[9]
    # With return_exceptions, failures stay in place and are not counted.
    mixed = ring.rewrap_many(
        [under_v1[0], "kr1:v9:AAAA"], context=b"c", return_exceptions=True, allow_compromised=True
    )
    assert isinstance(mixed, keyroll.RewrapBatch)
    assert mixed.compromised == {1: 1}
    assert isinstance(mixed[1], keyroll.KeyrollError)


def test_policy(ring: keyroll.Keyring) -> None:
    assert ring.policy.rotate_after_days == 90 and ring.policy.warn_after_days == 80
    ring.set_policy(rotate_after_days=30, warn_after_days=20)
    assert (ring.policy.rotate_after_days, ring.policy.warn_after_days) == (30, 20)
    assert ring.check_policy(NOW + 10 * DAY).state == "ok"
    assert ring.check_policy(NOW + 20 * DAY).state == "warn"
    status = ring.check_policy(NOW + 30 * DAY)
    assert (status.state, status.active_version, status.due_at) == ("due", 1, NOW + 30 * DAY)
    with pytest.raises(keyroll.InvalidArgumentError):
        ring.set_policy(rotate_after_days=10, warn_after_days=20)
    assert ring.policy.rotate_after_days == 30  # unchanged


def test_min_version(ring: keyroll.Keyring) -> None:
    token = ring.encrypt(b"x")
    ring.rotate()
    ring.set_min_version(2)
    with pytest.raises(keyroll.KeyUnavailableError) as info:
        ring.decrypt(token)
    assert info.value.code == "below_minimum_version"
    assert ring.min_version == 2


def test_derive_key(ring: keyroll.Keyring) -> None:
    version, key = ring.derive_key("pii")
    assert version == 1 and len(key) == 32
    assert ring.derive_key(b"pii")[1] == key
    assert ring.derive_key("audit", 64)[1] != key
    ring.rotate()
    assert ring.derive_key("pii") != (version, key)
    with pytest.raises(keyroll.InvalidArgumentError):
        ring.derive_key("pii", 0)


def test_export_decrypt_only(ring: keyroll.Keyring) -> None:
    token = ring.encrypt(b"x")
    ring.rotate()
    with pytest.raises(TypeError):
        ring.export_decrypt_only()  # type: ignore[call-arg]
    with pytest.raises(keyroll.KeyrollError):
        ring.export_decrypt_only([])
    reader = ring.export_decrypt_only([1, 2])
    assert reader.read_only and reader.active_version is None
    assert [(v.version, v.state) for v in reader.versions] == [
        (1, "decrypt_only"),
        (2, "decrypt_only"),
    ]
    assert reader.decrypt(token) == b"x"
    with pytest.raises(keyroll.PolicyError) as info:
        reader.encrypt(b"y")
    assert info.value.code == "no_active_key"
    with pytest.raises(keyroll.KeyringError) as info:
        reader.rotate()
    assert info.value.code == "read_only"
    only2 = ring.export_decrypt_only([2])
    with pytest.raises(keyroll.KeyUnavailableError):
        only2.decrypt(token)


def test_batches(ring: keyroll.Keyring) -> None:
    items = [os.urandom(n) for n in range(0, 3000, 7)]  # 429 items
    items = items * 5  # 2145 items: three chunks
    tokens = ring.encrypt_many(items, context=b"batch")
    assert len(tokens) == len(items) and all(t.startswith("kr1:v1:") for t in tokens)
    assert ring.decrypt_many(tokens, context=b"batch") == items
    blobs = ring.encrypt_many_binary(iter(items), context=b"batch")
    assert ring.decrypt_many(blobs, context=b"batch") == items
    ring.rotate()
    fresh = ring.rewrap_many(tokens, context=b"batch")
    assert all(t.startswith("kr1:v2:") for t in fresh)
    assert ring.decrypt_many(fresh, context=b"batch") == items
    # One bad row: raised by default, returned in place on request.
    mixed = [tokens[0], "kr1:v1:AAAA", tokens[1]]
    with pytest.raises(keyroll.DecryptError):
        ring.decrypt_many(mixed, context=b"batch")
    out = ring.decrypt_many(mixed, context=b"batch", return_exceptions=True)
    assert out[0] == items[0] and out[2] == items[1]
    assert isinstance(out[1], keyroll.DecryptError) and out[1].code == "unsupported_format"
    out = ring.rewrap_many(mixed, context=b"batch", return_exceptions=True)
    assert isinstance(out[1], keyroll.KeyrollError) and isinstance(out[0], str)
    assert ring.encrypt_many([]) == []
    with pytest.raises(TypeError):
        ring.encrypt_many([b"ok", 3])  # type: ignore[list-item]


def test_documents_roundtrip(ring: keyroll.Keyring) -> None:
    token = ring.encrypt(b"x")
    ring.rotate()
    doc = ring.dump(passphrase="pw", iterations=100_000)
    with pytest.raises(keyroll.InvalidArgumentError):
        ring.dump(passphrase="pw", iterations=99_999)  # below the sealing floor
    again = keyroll.Keyring.load(doc, passphrase=b"pw")
    assert again.id == ring.id and again.decrypt(token) == b"x"
    with pytest.raises(keyroll.KeyringError) as info:
        keyroll.Keyring.load(doc, passphrase="nope")
    assert info.value.code == "bad_passphrase"
    mk = os.urandom(32)
    doc2 = ring.dump(master_key=mk)
    assert keyroll.Keyring.load(doc2.decode(), master_key=mk).decrypt(token) == b"x"
    with pytest.raises(keyroll.KeyringError) as info:
        ring.dump(master_key=b"short")
    assert info.value.code == "invalid_key"
    with pytest.raises(TypeError):
        ring.dump()
    with pytest.raises(TypeError):
        ring.dump(passphrase="a", master_key=mk)
    with pytest.raises(keyroll.KeyringError) as info:
        keyroll.Keyring.load(doc.replace(b'"min_version": 0', b'"min_version": 1'), passphrase="pw")
    assert info.value.code == "keyring_corrupt"


def test_save_is_atomic_private_and_loadable(ring: keyroll.Keyring, tmp_path) -> None:
    path = tmp_path / "keyring.json"
    ring.save(path, passphrase="pw", iterations=100_000)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = keyroll.Keyring.load_file(path, passphrase="pw")
    assert loaded.id == ring.id
    ring.rotate()
    ring.save(str(path), passphrase="pw", iterations=100_000)
    assert keyroll.Keyring.load_file(path, passphrase="pw").active_version == 2
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # No temporary file is left behind; the replaced document was backed up.
    leftovers = [p.name for p in tmp_path.iterdir() if ".tmp." in p.name]
    assert leftovers == []
    backups = list((tmp_path / "keyring.json.backups").iterdir())
    assert len(backups) == 1
    assert keyroll.Keyring.load(backups[0].read_bytes(), passphrase="pw").active_version == 1
    with pytest.raises(keyroll.StoreError) as info:
        keyroll.Keyring.load_file(tmp_path / "missing.json", passphrase="pw")
    assert info.value.code == "keyring_not_found"
    # A failed save changes nothing.
    before = path.read_bytes()
    with pytest.raises(keyroll.InvalidArgumentError):
        ring.save(path, passphrase="pw", iterations=0)
    assert path.read_bytes() == before


def test_from_env(ring: keyroll.Keyring, tmp_path, monkeypatch) -> None:
    for var in (
        "KEYROLL_KEYRING",
        "KEYROLL_PASSPHRASE",
        "KEYROLL_MASTER_KEY",
        "ENCRYPTION_KEY",
        "ENCRYPTION_KEY_PREVIOUS",
    ):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(keyroll.InvalidArgumentError):
        keyroll.Keyring.from_env()
    from cryptography.fernet import Fernet

    k1, k2, k3 = (Fernet.generate_key() for _ in range(3))
    old_token = Fernet(k3).encrypt(b"legacy")
    monkeypatch.setenv("ENCRYPTION_KEY", k1.decode())
    monkeypatch.setenv("ENCRYPTION_KEY_PREVIOUS", f"{k2.decode()}, {k3.decode()}")
    env_ring = keyroll.Keyring.from_env()
    assert env_ring.decrypt(old_token) == b"legacy"
    assert env_ring.active_version == keyroll.FernetKey(k1).keyroll_version
    same = keyroll.Keyring.from_fernet_keys([k1, k2, k3])
    assert same.decrypt(env_ring.encrypt(b"shared")) == b"shared"
    # A keyring file, opened by master key, with the Fernet keys imported into it.
    mk = os.urandom(32)
    path = tmp_path / "ring.json"
    ring.save(path, master_key=mk)
    monkeypatch.setenv("KEYROLL_KEYRING", str(path))
    monkeypatch.setenv("KEYROLL_MASTER_KEY", base64.b64encode(mk).decode())
    file_ring = keyroll.Keyring.from_env()
    assert file_ring.id == ring.id and file_ring.active_version == 1
    assert file_ring.decrypt(old_token) == b"legacy"
    assert file_ring.decrypt(ring.encrypt(b"v1")) == b"v1"
    # As in the CLI, the master key wins over a passphrase; hex works too.
    monkeypatch.setenv("KEYROLL_PASSPHRASE", "ignored")
    monkeypatch.setenv("KEYROLL_MASTER_KEY", mk.hex())
    assert keyroll.Keyring.from_env().id == ring.id
    monkeypatch.delenv("KEYROLL_MASTER_KEY")
    with pytest.raises(keyroll.KeyringError) as info:
        keyroll.Keyring.from_env()
    assert info.value.code == "bad_passphrase"
    monkeypatch.delenv("KEYROLL_PASSPHRASE")
    with pytest.raises(keyroll.InvalidArgumentError):
        keyroll.Keyring.from_env()
    monkeypatch.setenv("KEYROLL_MASTER_KEY", "not base64 of 32 bytes")
    with pytest.raises(keyroll.KeyringError) as info:
        keyroll.Keyring.from_env()
    assert info.value.code == "invalid_key"


def test_legacy_raw_gcm_import(ring: keyroll.Keyring) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = os.urandom(32)
    nonce = os.urandom(12)
    blob = base64.b64encode(b"\x07" + nonce + AESGCM(key).encrypt(nonce, b"old", None))
    version = ring.import_raw_gcm(key, version_byte=7)
    assert ring.version(version).kind == "raw_gcm"
    assert ring.decrypt(blob) == b"old"
    assert ring.rewrap(blob).startswith("kr1:v1:")
    with pytest.raises(TypeError):
        ring.import_raw_gcm()
    with pytest.raises(keyroll.KeyringError):
        ring.import_raw_gcm(b"short")


def test_inspect() -> None:
    ring = keyroll.Keyring.generate(now=NOW)
    info = keyroll.inspect(ring.encrypt(b"abc", now=NOW))
    assert (info.format, info.key_version, info.issued_at, info.plaintext_len) == (
        "keyroll_v1_text",
        1,
        NOW,
        3,
    )
    assert info.keyring_id == ring.id
    with pytest.raises(keyroll.DecryptError) as e:
        keyroll.inspect(b"random junk")
    assert e.value.code == "unsupported_format"


def test_error_codes_are_the_core_list() -> None:
    assert "decrypt_failed" in keyroll.ERROR_CODES and len(set(keyroll.ERROR_CODES)) == len(
        keyroll.ERROR_CODES
    )
    assert issubclass(keyroll.ExpiredError, keyroll.DecryptError)
    assert issubclass(keyroll.StoreError, keyroll.KeyringError)
    e = keyroll.DecryptError("decryption failed", "decrypt_failed")
    import pickle

    back = pickle.loads(pickle.dumps(e))
    assert type(back) is keyroll.DecryptError and back.code == "decrypt_failed"


def test_package_docstring_example_runs() -> None:
    import doctest

    result = doctest.testmod(keyroll, verbose=False)
    assert result.attempted >= 3 and result.failed == 0


def test_export_refuses_untrusted_versions(ring: keyroll.Keyring) -> None:
    ring.rotate(now=NOW + 1)  # v2 active, v1 decrypt-only
    ring.emergency_rotate("leak", now=NOW + 2)  # v2 compromised, v3 active
    ring.add_version(now=NOW + 3)  # v4 pending (staged, never promoted)
    ring.rotate(now=NOW + 4)  # v5 active, v3 decrypt-only
    ring.set_state(1, "disabled")
    ring.rotate(now=NOW + 5)  # v6 active, v5 decrypt-only
    ring.set_state(3, "compromised")
    ring.set_state(3, "destroyed")
    states = {v.version: v.state for v in ring.versions}
    assert states == {
        1: "disabled",
        2: "compromised",
        3: "destroyed",
        4: "pending",
        5: "decrypt_only",
        6: "active",
    }
    for version, state in states.items():
        if state in ("active", "decrypt_only"):
            exported = ring.export_decrypt_only([version])
            assert [v.state for v in exported.versions] == ["decrypt_only"]
            continue
        with pytest.raises(keyroll.KeyrollError) as info:
            ring.export_decrypt_only([version, ring.active_version])
        assert info.value.code == "invalid_argument", state
    with pytest.raises(keyroll.KeyrollError) as info:
        ring.export_decrypt_only([99])
    assert info.value.code == "unknown_key_version"
