"""pyca ``cryptography`` as the reference client: tokens it makes at test time must open
through ``Keyring`` and ``keyroll.compat``, rewrap to v1, and fail exactly as Fernet fails."""

from __future__ import annotations

import base64
import os
import random

import pytest
from cryptography import fernet as pyca

import keyroll
from keyroll import compat

SIZES = [0, 1, 15, 16, 17, 31, 32, 100, 1024, 4095, 65536]
TIMESTAMPS = [0, 1, 1_700_000_000, 2**32, 2**63, 2**64 - 1]


def _payloads() -> list[bytes]:
    rng = random.Random(1234)
    out = [bytes(rng.getrandbits(8) for _ in range(n)) for n in SIZES]
    out.append("naïve café – 鍵 🔑".encode())
    out.append(b"\x00" * 33)
    return out


PAYLOADS = _payloads()


@pytest.fixture(scope="module")
def keys() -> list[bytes]:
    return [pyca.Fernet.generate_key() for _ in range(3)]


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: f"{len(p)}B")
@pytest.mark.parametrize("timestamp", TIMESTAMPS)
def test_pyca_fernet_tokens_open_everywhere(keys, payload, timestamp) -> None:
    token = pyca.Fernet(keys[0]).encrypt_at_time(payload, timestamp)
    ring = keyroll.Keyring.from_fernet_keys(keys)
    assert ring.decrypt(token) == payload
    assert ring.verify(token).issued_at == timestamp
    assert compat.Fernet(keys[0]).decrypt(token) == payload
    assert compat.MultiFernet([compat.Fernet(k) for k in keys]).decrypt(token) == payload
    assert compat.Fernet(keys[0]).extract_timestamp(token) == timestamp
    # Rewrap to v1 under the primary, keeping the timestamp.
    fresh = ring.rewrap(token)
    assert fresh.startswith("kr1:v")
    info = keyroll.inspect(fresh)
    assert info.issued_at == timestamp
    assert info.key_version == keyroll.FernetKey(keys[0]).keyroll_version
    assert ring.decrypt(fresh) == payload
    # An ordinary keyring that imported the keys reads it too.
    other = keyroll.Keyring.generate()
    other.import_fernet(keys)
    assert other.decrypt(token) == payload
    assert other.decrypt(other.rewrap(token)) == payload


@pytest.mark.parametrize("payload", PAYLOADS[:6], ids=lambda p: f"{len(p)}B")
def test_pyca_multifernet_and_rotate(keys, payload) -> None:
    old = pyca.Fernet(keys[2])
    multi = pyca.MultiFernet([pyca.Fernet(keys[0]), pyca.Fernet(keys[1]), old])
    for token in (
        old.encrypt(payload),
        multi.encrypt(payload),
        multi.rotate(old.encrypt_at_time(payload, 1_600_000_000)),
    ):
        ours = compat.MultiFernet([compat.Fernet(k) for k in keys])
        assert ours.decrypt(token) == payload
        rotated = ours.rotate(token)
        assert rotated.startswith(b"kr1:v")
        assert ours.decrypt(rotated) == payload
        assert ours.extract_timestamp(rotated) == multi.extract_timestamp(token)
        # Any process with only the primary key reads the rotated token.
        assert compat.Fernet(keys[0]).decrypt(rotated) == payload


def test_tampered_truncated_expired_raise_invalid_token(keys) -> None:
    f = compat.Fernet(keys[0])
    token = pyca.Fernet(keys[0]).encrypt_at_time(b"secret", 1_000)
    raw = bytearray(base64.urlsafe_b64decode(token))
    for i in range(len(raw)):
        bad = bytearray(raw)
        bad[i] ^= 0x01
        bad_token = base64.urlsafe_b64encode(bytes(bad))
        with pytest.raises(compat.InvalidToken):
            f.decrypt(bad_token)
        with pytest.raises(pyca.InvalidToken):
            pyca.Fernet(keys[0]).decrypt(bad_token)
    for cut in (0, 1, 9, 25, len(raw) - 32, len(raw) - 1):
        truncated = base64.urlsafe_b64encode(bytes(raw[:cut]))
        with pytest.raises(compat.InvalidToken):
            f.decrypt(truncated)
    with pytest.raises(compat.InvalidToken):
        f.decrypt_at_time(token, ttl=60, current_time=1_061)
    assert f.decrypt_at_time(token, ttl=60, current_time=1_060) == b"secret"
    with pytest.raises(compat.InvalidToken):
        f.decrypt(token, ttl=60)  # issued in 1970
    with pytest.raises(compat.InvalidToken):
        compat.Fernet(keys[1]).decrypt(token)
    with pytest.raises(compat.InvalidToken):
        f.decrypt(b"not a token at all")
    with pytest.raises(compat.InvalidToken):
        f.extract_timestamp(base64.urlsafe_b64encode(bytes(raw[:-1]) + b"\x00"))


def test_ttl_semantics_match_pyca(keys) -> None:
    ref, ours = pyca.Fernet(keys[0]), compat.Fernet(keys[0])
    now = 1_700_000_000
    for issued in (now - 61, now - 60, now, now + 60, now + 61):
        token = ref.encrypt_at_time(b"x", issued)
        ours_token = ours.encrypt_at_time(b"x", issued)
        for t in (token, ours_token):
            try:
                ref.decrypt_at_time(token, 60, now)
                expected = True
            except pyca.InvalidToken:
                expected = False
            try:
                ours.decrypt_at_time(t, 60, now)
                got = True
            except compat.InvalidToken:
                got = False
            assert got == expected, (issued, t)


def test_random_fernet_tokens_fuzz(keys) -> None:
    # Many random keys and payloads, one pass each: keyroll reads everything pyca writes.
    rng = random.Random(99)
    for _ in range(300):
        key = pyca.Fernet.generate_key()
        payload = os.urandom(rng.randrange(0, 2048))
        ts = rng.randrange(0, 2**64)
        token = pyca.Fernet(key).encrypt_at_time(payload, ts)
        assert compat.Fernet(key).decrypt(token) == payload
        assert compat.Fernet(key).extract_timestamp(token) == ts


# Characters outside ASCII, some of which Unicode-aware decoders treat as digits, letters or
# spaces (Arabic-Indic zero, fullwidth "a", no-break space, zero-width space, BOM, …).
NON_ASCII = ["é", "\u00a0", "\u0660", "\uff41", "\u200b", "\u2028", "\x80", "\xff", "\ufeff", "🔑"]


def _outcome(fn, token):
    try:
        return ("ok", fn(token))
    except Exception as exc:  # noqa: BLE001 (the type is what is compared)
        return ("raised", exc)


def _variants(token: str, char: str) -> list[bytes | str]:
    """The token with `char` inserted at, or replacing, the start, the version byte, the middle
    and the end; each as str, UTF-8 bytes and (where it fits) Latin-1 bytes."""
    texts = []
    for at in (0, 1, len(token) // 2, len(token) - 1, len(token)):
        texts += [token[:at] + char + token[at:], token[:at] + char + token[at + 1 :]]
    out: list[bytes | str] = []
    for text in texts:
        out += [text, text.encode("utf-8")]
        if ord(char) < 256:
            out.append(text.encode("latin-1"))
    return out


@pytest.mark.parametrize("char", NON_ASCII, ids=ascii)
def test_non_ascii_tokens_behave_as_pyca(keys, char) -> None:
    """pyca is the reference: a `str` token with a non-ASCII character raises `ValueError`
    there (ours is also an `InvalidToken`); a `bytes` token has such bytes skipped by the
    base64 decoder, so a Fernet token still opens. Both libraries get the same inputs."""
    ref, ours = pyca.Fernet(keys[0]), compat.Fernet(keys[0])
    ref_multi, ours_multi = pyca.MultiFernet([ref]), compat.MultiFernet([ours])
    calls = [
        ("decrypt", ref.decrypt, ours.decrypt),
        (
            "decrypt_at_time",
            lambda t: ref.decrypt_at_time(t, 10**9, 2_000),
            lambda t: ours.decrypt_at_time(t, 10**9, 2_000),
        ),
        ("extract_timestamp", ref.extract_timestamp, ours.extract_timestamp),
        ("multi.decrypt", ref_multi.decrypt, ours_multi.decrypt),
        (
            "multi.rotate",
            lambda t: ref_multi.decrypt(ref_multi.rotate(t)),
            lambda t: ours_multi.decrypt(ours_multi.rotate(t)),
        ),
    ]
    tokens = [
        ref.encrypt_at_time(b"secret", 1_000).decode(),
        ours.encrypt_at_time(b"secret", 1_000).decode(),
    ]
    seen = {"ok": 0, "ValueError": 0, "InvalidToken": 0}
    for token in tokens:
        for variant in _variants(token, char):
            for name, ref_call, our_call in calls:
                expected, got = _outcome(ref_call, variant), _outcome(our_call, variant)
                where = (name, variant)
                if expected[0] == "ok":
                    assert got == expected, where
                    seen["ok"] += 1
                    continue
                assert got[0] == "raised", where
                assert isinstance(got[1], compat.InvalidToken), (where, got[1])
                if isinstance(expected[1], pyca.InvalidToken):
                    seen["InvalidToken"] += 1
                else:
                    assert type(expected[1]) is ValueError, (where, expected[1])
                    assert isinstance(got[1], ValueError), (where, got[1])
                    assert str(got[1]) == str(expected[1])
                    seen["ValueError"] += 1
    # Every kind of outcome was exercised: str refused as ValueError, bytes read or refused.
    assert seen["ValueError"] >= 20 * len(calls), seen
    assert seen["ok"] > 0 and seen["InvalidToken"] > 0, seen
