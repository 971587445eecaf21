"""keyroll.KeyringHandle: a live keyring over a file: URL (swaps forward only, reloads at once
for a freshly staged version, keeps its last good keyring when a reload fails)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import pytest

import keyroll

MASTER = bytes(range(32))


def _first(tmp_path: Path) -> Path:
    path = tmp_path / "keyring.json"
    keyroll.Keyring.generate().save(path, master_key=MASTER)
    return path


def _stage_in_another_process(path: Path) -> str:
    """What an operator's `keyroll stage` plus a writer already on the new key do, in another
    process: add a pending version, save, and encrypt under it. Returns the token."""
    script = textwrap.dedent(
        """
        import sys, keyroll
        path, key = sys.argv[1], bytes.fromhex(sys.argv[2])
        ring = keyroll.Keyring.open("file:" + path, master_key=key)
        v = ring.add_version()
        ring.save(path, master_key=key)
        ring.promote(v)  # in memory only: this writer already writes with it
        print(ring.encrypt(b"fresh", context=b"ctx"))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(path), MASTER.hex()],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def test_keyring_open_reads_a_store_url(tmp_path: Path) -> None:
    path = _first(tmp_path)
    ring = keyroll.Keyring.open(f"file:{path}", master_key=MASTER)
    plain = keyroll.Keyring.open(str(path), master_key=MASTER)
    assert plain.id == ring.id
    with pytest.raises(keyroll.KeyrollError) as e:
        keyroll.Keyring.open(f"file:{tmp_path / 'missing.json'}", master_key=MASTER)
    assert e.value.code == "keyring_not_found"
    with pytest.raises(keyroll.KeyrollError) as e:
        keyroll.Keyring.open("nosuch://x", master_key=MASTER)
    assert e.value.code == "invalid_store_url"


def test_a_version_staged_by_another_process_decrypts_without_waiting_for_the_poll(
    tmp_path: Path,
) -> None:
    path = _first(tmp_path)
    with keyroll.KeyringHandle.open(
        f"file:{path}", master_key=MASTER, poll_interval=3600, reader="py-test:1:a"
    ) as handle:
        assert handle.generation == 1
        token = _stage_in_another_process(path)
        assert token.startswith("kr1:v2:")
        assert handle.decrypt(token, context=b"ctx") == b"fresh"
        assert handle.generation == 2
        status = handle.status()
        assert status["versions"] == [1, 2]
        assert status["last_error"] is None
        assert status["reader"] == "py-test:1:a"
        assert status["location"] == f"file:{path}"
        # It checked in where `keyroll readers` looks.
        check_in = json.loads((tmp_path / "keyring.json.readers" / "py-test_1_a.json").read_text())
        assert check_in["generation"] == 2
        assert check_in["versions"] == [1, 2]


def test_reload_swaps_a_higher_generation_and_refuses_a_lower_one(tmp_path: Path) -> None:
    path = _first(tmp_path)
    first = path.read_bytes()
    handle = keyroll.KeyringHandle.open(str(path), master_key=MASTER, poll_interval=0)
    try:
        assert handle.reload() is False
        ring = keyroll.Keyring.open(str(path), master_key=MASTER)
        ring.rotate()
        ring.save(path, master_key=MASTER)
        assert handle.reload() is True
        assert handle.generation == 2
        assert handle.encrypt(b"x").startswith("kr1:v2:")

        # The generation-1 file put back by hand: refused, generation 2 kept.
        path.write_bytes(first)
        with pytest.raises(keyroll.KeyrollError) as e:
            handle.reload()
        assert e.value.code == "keyring_rollback"
        assert handle.generation == 2
        assert handle.status()["last_error"] == "keyring_rollback"
    finally:
        handle.close()


def test_a_failed_reload_keeps_the_last_good_keyring_and_is_reported(tmp_path: Path) -> None:
    path = _first(tmp_path)
    handle = keyroll.KeyringHandle.open(str(path), master_key=MASTER, poll_interval=0)
    token = handle.encrypt(b"kept", context=b"c")
    path.write_text("{ not a keyring")
    with pytest.raises(keyroll.KeyrollError) as e:
        handle.reload()
    assert e.value.code == "keyring_corrupt"
    assert handle.decrypt(token, context=b"c") == b"kept"
    status = handle.status()
    assert status["last_error"] == "keyring_corrupt"
    assert isinstance(status["last_error_at"], int)
    assert status["generation"] == 1
    handle.close()
    # Closed: still decrypts with what it holds; reload says why it cannot.
    assert handle.decrypt(token, context=b"c") == b"kept"
    with pytest.raises(keyroll.KeyrollError) as e:
        handle.reload()
    assert e.value.code == "invalid_argument"


def test_credentials_come_from_the_environment_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _first(tmp_path)
    monkeypatch.setenv("KEYROLL_MASTER_KEY", MASTER.hex())
    monkeypatch.delenv("KEYROLL_PASSPHRASE", raising=False)
    with keyroll.KeyringHandle.open(str(path), poll_interval=0) as handle:
        assert handle.generation == 1
    with pytest.raises(keyroll.KeyrollError) as e:
        keyroll.KeyringHandle.open(str(path), master_key=bytes(32), poll_interval=0)
    assert e.value.code == "bad_passphrase"
    with pytest.raises(ValueError):
        keyroll.KeyringHandle.open(str(path), poll_interval=-1)


def test_no_secret_in_repr(tmp_path: Path) -> None:
    path = _first(tmp_path)
    passphrase = "correct horse battery staple"
    keyroll.Keyring.open(str(path), master_key=MASTER).save(
        path, passphrase=passphrase, iterations=100_000
    )
    with keyroll.KeyringHandle.open(str(path), passphrase=passphrase, poll_interval=0) as h:
        shown = repr(h) + str(h) + repr(h.status())
        assert shown.startswith(f'KeyringHandle(location="file:{path}", generation=2)')
        assert passphrase not in shown
        assert MASTER.hex() not in shown


def test_many_threads_decrypt_while_it_reloads(tmp_path: Path) -> None:
    path = _first(tmp_path)
    handle = keyroll.KeyringHandle.open(str(path), master_key=MASTER, poll_interval=0)
    tokens = [handle.encrypt(b"row %d" % i) for i in range(50)]
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(20):
                assert handle.decrypt_many(tokens) == [b"row %d" % i for i in range(50)]
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(3):
        ring = keyroll.Keyring.open(str(path), master_key=MASTER)
        ring.rotate()
        ring.save(path, master_key=MASTER)
        handle.reload()
    for t in threads:
        t.join()
    assert not errors
    assert handle.generation == 4
    handle.close()


def test_close_ends_the_background_thread_at_once(tmp_path: Path) -> None:
    path = _first(tmp_path)
    handle = keyroll.KeyringHandle.open(str(path), master_key=MASTER, poll_interval=30)
    started = time.monotonic()
    handle.close()  # wakes the thread: does not wait for the 30 s poll
    assert time.monotonic() - started < 10
    handle.close()  # twice is fine
    assert handle.generation == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_keeps_its_keyring_and_never_polls(tmp_path: Path) -> None:
    path = _first(tmp_path)
    handle = keyroll.KeyringHandle.open(str(path), master_key=MASTER, poll_interval=30)
    token = handle.encrypt(b"x")
    with warnings.catch_warnings():
        # 3.12+ warns about fork in a process with threads: the reload thread is one.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: no reload thread, and its inherited locks are never used
        code = 1
        try:
            ok = handle.decrypt(token) == b"x"
            try:
                handle.reload()
                ok = False
            except keyroll.KeyrollError as e:
                ok = ok and e.code == "invalid_argument"
            handle.close()  # does not wait for the parent's thread
            code = 0 if ok else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert handle.reload() is False  # the parent's handle is unaffected
    handle.close()
