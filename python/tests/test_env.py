"""The environment contract of ``Keyring.from_env`` (``store/src/env.rs``, the parser the CLI
uses too): the same table as the CLI's end-to-end test (``cli/tests/secrets.rs``)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

import keyroll

TABLE = json.loads((Path(__file__).parent / "env_cases.json").read_text())
KEYS: dict[str, str] = TABLE["keys"]
NAMES = [
    "KEYROLL_KEYRING",
    "KEYROLL_MASTER_KEY",
    "KEYROLL_PASSPHRASE",
    "ENCRYPTION_KEY",
    "ENCRYPTION_KEY_PREVIOUS",
]


def _substitute(text: str) -> str:
    return re.sub(r"\b(K1|K2|K3|M|P)\b", lambda m: KEYS[m.group(1)], text)


@pytest.fixture
def clean_env():
    """Removes the contract's variables for the test and puts the caller's back after."""
    saved = {n.encode(): os.environb.get(n.encode()) for n in NAMES}
    for name in saved:
        os.environb.pop(name, None)
    yield
    for name, value in saved.items():
        os.environb.pop(name, None)
        if value is not None:
            os.environb[name] = value


def _set(case: dict) -> None:
    for name, value in case.get("env", {}).items():
        os.environb[name.encode()] = _substitute(value).encode()
    for name, value in case.get("env_hex", {}).items():
        os.environb[name.encode()] = bytes.fromhex(value)


def _version(name: str) -> int:
    return keyroll.FernetKey(KEYS[name]).keyroll_version


@pytest.mark.parametrize("case", TABLE["cases"], ids=lambda c: c["name"])
def test_environment_contract(clean_env, tmp_path, case) -> None:
    if "keyring" in case:
        path = tmp_path / "keyring.json"
        ring = keyroll.Keyring.generate()
        if case["keyring"] == "M":
            ring.save(path, master_key=bytes.fromhex(KEYS["M"]))
        else:
            ring.save(path, passphrase=KEYS["P"], iterations=100_000)
        os.environ["KEYROLL_KEYRING"] = str(path)
    _set(case)
    if "error" in case:
        with pytest.raises(keyroll.KeyrollError) as info:
            keyroll.Keyring.from_env()
        assert info.value.code == case["error"]
        # The message names the variable, never its value.
        for secret in KEYS.values():
            assert secret not in str(info.value)
        return
    opened = keyroll.Keyring.from_env()
    if "fernet" in case:
        expected = [_version(k) for k in case["fernet"]]
        # Without KEYROLL_KEYRING the list is a Fernet keyring, the first key writing.
        assert sorted(v.version for v in opened.versions) == sorted(expected)
        assert opened.active_version == expected[0]
    if case.get("opens"):
        assert opened.id == ring.id


def test_cases_cover_every_rule() -> None:
    names = {c["name"] for c in TABLE["cases"]}
    assert len(names) == len(TABLE["cases"]) >= 19
    assert any("env_hex" in c for c in TABLE["cases"])
