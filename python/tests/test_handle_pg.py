"""keyroll.KeyringHandle on the PostgreSQL store, against the server and the CLI that
scripts/ci/50-cli.sh starts and builds (KEYROLL_TEST_PG_URL): the operator stages with
`keyroll stage`, a writer already on the new key encrypts, and a reader that opened the keyring
before decrypts at once; its check-in is what `keyroll readers` lists."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

import keyroll
from conftest import REPO

PG = os.environ.get("KEYROLL_TEST_PG_URL")
MASTER = bytes(range(32, 64))
pytestmark = pytest.mark.skipif(
    not PG, reason="needs the PostgreSQL server of scripts/ci/50-cli.sh (which runs this file)"
)


def _cli() -> str:
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return os.environ.get("KEYROLL_CLI", str(target / "debug" / "keyroll"))


def _keyroll(url: str, *args: str) -> str:
    env = {**os.environ, "KEYROLL_MASTER_KEY": MASTER.hex(), "KEYROLL_KEYRING": url}
    env.pop("KEYROLL_PASSPHRASE", None)
    done = subprocess.run([_cli(), *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_version_the_cli_staged_decrypts_at_once_and_the_reader_is_listed() -> None:
    name = f"py-handle-{os.getpid()}-{time.time_ns()}"
    url = f"{PG}#{name}"
    _keyroll(url, "init")
    reader = f"py-pg:{name}"
    with keyroll.KeyringHandle.open(
        url, master_key=MASTER, poll_interval=3600, reader=reader
    ) as handle:
        assert handle.generation == 1
        _keyroll(url, "stage")
        writer = keyroll.Keyring.open(url, master_key=MASTER)
        staged = max(v.version for v in writer.versions)
        writer.promote(staged)  # in memory: this writer already writes with it
        token = writer.encrypt(b"fresh", context=b"ctx")
        assert handle.decrypt(token, context=b"ctx") == b"fresh"
        assert handle.generation == 2
        assert handle.status()["versions"] == [1, staged]
        listed = json.loads(_keyroll(url, "readers", "--json"))["readers"]
    mine = [r for r in listed if r["reader"] == reader]
    assert len(mine) == 1, listed
    assert mine[0]["generation"] == 2
    assert mine[0]["versions"] == [1, staged]
