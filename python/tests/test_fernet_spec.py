"""The Fernet spec's acceptance files (../shared/vectors/external/fernet/), when present."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

import keyroll
from conftest import FERNET_SPEC
from keyroll import compat

if not FERNET_SPEC.is_dir():
    print(f"\nFernet spec vectors: {FERNET_SPEC} does not exist; these tests are not collected")
    pytest.skip(f"no Fernet spec vectors at {FERNET_SPEC}", allow_module_level=True)


def _load(name: str) -> list[dict]:
    return json.loads((FERNET_SPEC / name).read_text())


def _ts(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())


def test_files_are_complete() -> None:
    counts = {n: len(_load(n)) for n in ("generate.json", "verify.json", "invalid.json")}
    print(f"Fernet spec vectors: {counts}")
    assert all(counts.values())


@pytest.mark.parametrize("case", _load("verify.json"), ids=lambda c: c["src"][:16])
def test_verify(case: dict) -> None:
    now = _ts(case["now"])
    f = compat.Fernet(case["secret"])
    assert f.decrypt_at_time(case["token"], case["ttl_sec"], now) == case["src"].encode()
    ring = keyroll.Keyring.from_fernet_keys([case["secret"]])
    assert ring.decrypt(case["token"], ttl=case["ttl_sec"], now=now) == case["src"].encode()


@pytest.mark.parametrize("case", _load("generate.json"), ids=lambda c: c["src"][:16])
def test_generate_tokens_decrypt(case: dict) -> None:
    # keyroll never writes Fernet; the spec's generated tokens must read back exactly.
    f = compat.Fernet(case["secret"])
    assert f.decrypt(case["token"]) == case["src"].encode()
    assert f.extract_timestamp(case["token"]) == _ts(case["now"])


@pytest.mark.parametrize("case", _load("invalid.json"), ids=lambda c: c["desc"])
def test_invalid(case: dict) -> None:
    now = _ts(case["now"])
    with pytest.raises(compat.InvalidToken):
        compat.Fernet(case["secret"]).decrypt_at_time(case["token"], case["ttl_sec"], now)
    ring = keyroll.Keyring.from_fernet_keys([case["secret"]])
    with pytest.raises(keyroll.DecryptError) as info:
        ring.decrypt(case["token"], ttl=case["ttl_sec"], now=now)
    assert info.value.code in {"decrypt_failed", "malformed", "expired", "unsupported_format"}
