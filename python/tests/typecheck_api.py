"""Checked by ``mypy --strict`` in scripts/ci/20-python.sh, never run: the stubs give each
call the type its documentation promises (the ``rewrap_many`` overloads above all)."""

from __future__ import annotations

from typing_extensions import assert_type

import keyroll


def _calls(ring: keyroll.Keyring, tokens: list[str]) -> None:
    assert_type(ring.rewrap_many(tokens), list[str])
    assert_type(ring.rewrap_many(tokens, return_exceptions=True), list[str | keyroll.KeyrollError])
    batch = ring.rewrap_many(tokens, allow_compromised=True)
    assert_type(batch, keyroll.RewrapBatch)
    assert_type(batch.compromised, dict[int, int])
    assert_type(batch[0], str | keyroll.KeyrollError)
    assert_type(ring.rewrap(tokens[0], allow_compromised=True), str)
    assert_type(ring.rewrap_binary(tokens[0]), bytes)
    assert_type(ring.export_decrypt_only([1, 2]), keyroll.Keyring)
    assert_type(keyroll.Keyring.from_env(), keyroll.Keyring)
    index = ring.blind_index("users.email", bits=64, normalizer="trim+casefold")
    assert_type(index, keyroll.BlindIndex)
    assert_type(index.compute("a@b.c"), str)
    assert_type(index.candidates(b"a@b.c"), list[str])
    assert_type(index.active_version, int | None)
    assert_type(keyroll.BlindIndex(ring, "e", bits=32).versions, list[int])


def _handle(url: str, tokens: list[str]) -> None:
    assert_type(keyroll.Keyring.open(url, master_key=b"k" * 32), keyroll.Keyring)
    with keyroll.KeyringHandle.open(url, passphrase="p", poll_interval=5.0) as handle:
        assert_type(handle, keyroll.KeyringHandle)
        assert_type(handle.decrypt(tokens[0], context=b"c"), bytes)
        assert_type(handle.decrypt_many(tokens), list[bytes])
        outcomes = handle.decrypt_many(tokens, return_exceptions=True)
        assert_type(outcomes, list[bytes | keyroll.KeyrollError])
        assert_type(handle.reload(), bool)
        assert_type(handle.generation, int)
        status = handle.status()
        assert_type(status["last_error"], str | None)
        assert_type(status["versions"], list[int])
