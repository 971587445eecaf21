"""Every case of every file in tests/vectors/v1 (schema: tests/vectors/README.md).

Positive cases must give exactly the expected bytes and values; every ``fail_*`` case must
raise a ``KeyrollError`` whose ``.code`` is the expected one.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from test_signing import SIGNING_OPS, run_signing_case

import keyroll
from conftest import VECTORS

FILES = sorted(VECTORS.glob("*.json"))


def _cases() -> list[Any]:
    out = []
    for path in FILES:
        data = json.loads(path.read_text())
        for case in data["cases"]:
            out.append(pytest.param(path.name, case, id=f"{path.stem}:{case['name']}"))
    return out


CASES = _cases()


def test_vector_files_present() -> None:
    # An empty directory must fail the suite, not silently run nothing.
    assert {p.name for p in FILES} >= {
        "envelope.json",
        "keyring.json",
        "rotation.json",
        "legacy_fernet.json",
        "legacy_raw_gcm.json",
        "operations.json",
    }
    assert len(CASES) > 100


@cache
def _file(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text())


@cache
def _keyring(file: str, name: str) -> keyroll.Keyring:
    spec = _file(file)["keyrings"][name]
    if "passphrase" in spec:
        return keyroll.Keyring.load(spec["document"], passphrase=spec["passphrase"])
    return keyroll.Keyring.load(spec["document"], master_key=bytes.fromhex(spec["master_key_hex"]))


def _token(case: dict[str, Any]) -> bytes | str:
    return bytes.fromhex(case["token_hex"]) if "token_hex" in case else case["token"]


def _ring_summary(ring: keyroll.Keyring) -> dict[str, Any]:
    return {
        "keyring_id": ring.id,
        "active_version": ring.active_version,
        "min_version": ring.min_version,
        "read_only": ring.read_only,
        "versions": [
            {"version": v.version, "kind": v.kind, "state": v.state} for v in ring.versions
        ],
    }


def _run(file: str, case: dict[str, Any]) -> None:
    op = case["op"]
    if op == "decrypt":
        ring = _keyring(file, case["keyring"])
        ttl = case.get("ttl")
        out = ring.decrypt(
            _token(case),
            context=bytes.fromhex(case["context_hex"]),
            ttl=ttl["seconds"] if ttl else None,
            now=ttl["now"] if ttl else None,
        )
        assert out.hex() == case["plaintext_hex"]
    elif op == "rewrap":
        ring = _keyring(file, case["keyring"])
        context = bytes.fromhex(case["context_hex"])
        token = _token(case)
        opt_in = case.get("allow_compromised", False)
        fresh = ring.rewrap(token, context=context, allow_compromised=opt_in)
        info = keyroll.inspect(fresh)
        if opt_in:
            # Python reports the source version through rewrap_many's per-version count of
            # compromised reads.
            batch = ring.rewrap_many([token], context=context, allow_compromised=True)
            want = {case["expect_from_version"]: 1} if case["expect_from_compromised"] else {}
            assert batch.compromised == want
        assert info.key_version == case["expect_version"]
        assert ring.decrypt(fresh, context=context).hex() == case["plaintext_hex"]
        # The text form whatever the input; the authenticated issued-at (none for raw GCM,
        # even when the blob also looks like a Fernet token); a new envelope every time.
        assert info.format == case["expect_format"]
        assert info.issued_at == case["expect_issued_at"]
        assert fresh != token
    elif op == "inspect":
        info = keyroll.inspect(_token(case))
        got = {k: getattr(info, k) for k in case["expect"]}
        assert got == case["expect"]
        assert set(case["expect"]) == {
            "format",
            "algorithm",
            "keyring_id",
            "key_version",
            "issued_at",
            "token_len",
            "binary_len",
            "header_len",
            "ciphertext_len",
            "plaintext_len",
        }
    elif op == "load":
        assert _ring_summary(_keyring(file, case["keyring"])) == case["expect"]
    elif op == "policy":
        status = _keyring(file, case["keyring"]).check_policy(case["now"])
        got = {k: getattr(status, k) for k in case["expect"]}
        assert got == case["expect"]
    elif op == "derive":
        version, key = _keyring(file, case["keyring"]).derive_key(case["purpose"], case["length"])
        assert (version, key.hex()) == (case["expect_version"], case["expect_hex"])
    elif op == "fernet_compat":
        ring = keyroll.Keyring.from_fernet_keys(case["fernet_keys"])
        assert _ring_summary(ring) == case["expect"]
    elif op == "import_raw_gcm":
        spec = case["import"]
        ring = keyroll.Keyring.generate()
        if "key_utf8" in spec:
            ring.import_raw_gcm(spec["key_utf8"].encode(), version_byte=spec["version_byte"])
        elif "key_hex" in spec:
            ring.import_raw_gcm(bytes.fromhex(spec["key_hex"]), version_byte=spec["version_byte"])
        else:
            ring.import_raw_gcm(
                password=spec["password_utf8"],
                salt=spec["salt_pattern"],
                iterations=spec["iterations"],
                version_byte=spec["version_byte"],
            )
        assert ring.decrypt(case["token"]).hex() == case["plaintext_hex"]
    elif op == "operations":
        # Steps change the keyring: a fresh copy of the document for each case.
        spec = _file(file)["keyrings"][case["keyring"]]
        ring = keyroll.Keyring.load(
            spec["document"], master_key=bytes.fromhex(spec["master_key_hex"])
        )
        steps = case["steps"]
        for i, step in enumerate(steps):
            try:
                got = _step(ring, step)
            except keyroll.KeyrollError:
                # Only the last step of a fail_* case may fail.
                assert i == len(steps) - 1, f"step {i} failed"
                raise
            assert got == step.get("expect"), f"step {i}: {got!r}"
    elif op == "check_successor":
        rings = _file(file)["keyrings"]
        current = rings[case["current"]]["document"] if case["current"] is not None else None
        got = keyroll.Keyring.check_successor(current, rings[case["next"]]["document"])
        assert got == case["expect_generation"]
    elif op == "check_not_rolled_back":
        document = _file(file)["keyrings"][case["keyring"]]["document"]
        got = keyroll.Keyring.check_not_rolled_back(document, case["highest_seen"])
        assert got == case["expect_generation"]
    elif op in ("blind_index", "blind_index_candidates"):
        _blind_index(file, case)
    elif op in SIGNING_OPS:
        run_signing_case(file, case)
    else:
        pytest.fail(f"unknown op {op!r}: the Python runner must learn it")


def _blind_index(file: str, case: dict[str, Any]) -> None:
    """`blind_index` (compute) and `blind_index_candidates` cases: str values as str, raw
    bytes as bytes."""
    ring = _keyring(file, case["keyring"])
    index = ring.blind_index(case["index_name"], bits=case["bits"], normalizer=case["normalizer"])
    value = case["value_utf8"] if "value_utf8" in case else bytes.fromhex(case["value_hex"])
    if case["op"] == "blind_index":
        assert index.compute(value) == case["expect"]
    else:
        assert index.candidates(value) == case["expect"]
        assert index.versions == case["expect_versions"]


def _step(ring: keyroll.Keyring, step: dict[str, Any]) -> Any:
    """One step of an ``operations`` case: the value it gives (None for none)."""
    what = step["do"]
    if what == "add_version":
        return ring.add_version(now=step["now"])
    if what == "rotate":
        return ring.rotate(now=step["now"])
    if what == "emergency_rotate":
        return ring.emergency_rotate(step["reason"], now=step["now"])
    if what == "promote":
        return ring.promote(step["version"], now=step["now"])
    if what == "set_state":
        return ring.set_state(step["version"], step["state"], note=step["note"], now=step["now"])
    if what == "set_min_version":
        return ring.set_min_version(step["minimum"])
    if what == "set_policy":
        return ring.set_policy(
            rotate_after_days=step["rotate_after_days"], warn_after_days=step["warn_after_days"]
        )
    if what == "check_policy":
        status = ring.check_policy(step["now"])
        return {k: getattr(status, k) for k in step["expect"]}
    if what == "encrypt":
        context = bytes.fromhex(step["context_hex"])
        plaintext = bytes.fromhex(step["plaintext_hex"])
        token = ring.encrypt(plaintext, context=context, timestamp=False)
        assert ring.decrypt(token, context=context) == plaintext
        return keyroll.inspect(token).key_version
    if what == "decrypt":
        return ring.decrypt(step["token"], context=bytes.fromhex(step["context_hex"])).hex()
    if what == "summary":
        return _ring_summary(ring)
    pytest.fail(f"unknown step {what!r}: the Python runner must learn it")


@pytest.mark.parametrize(("file", "case"), CASES)
def test_vector(file: str, case: dict[str, Any]) -> None:
    if case["name"].startswith("fail_"):
        with pytest.raises(keyroll.KeyrollError) as info:
            _run(file, case)
        assert info.value.code == case["error"], str(info.value)
        assert info.value.code in keyroll.ERROR_CODES
    else:
        _run(file, case)
