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
