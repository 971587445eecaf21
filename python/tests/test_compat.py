"""keyroll.compat against cryptography.fernet: same signatures, types and exceptions."""

from __future__ import annotations

import inspect as pyinspect

import pytest
from cryptography import fernet as pyca

import keyroll
from keyroll import compat


@pytest.fixture(scope="module")
def keys() -> list[bytes]:
    return [pyca.Fernet.generate_key() for _ in range(2)]


@pytest.mark.parametrize(
    ("cls", "ref"), [(compat.Fernet, pyca.Fernet), (compat.MultiFernet, pyca.MultiFernet)]
)
def test_public_signatures_match(cls, ref) -> None:
    public = {n for n in dir(ref) if not n.startswith("_")}
    assert public <= {n for n in dir(cls) if not n.startswith("_")}
    for name in public:
        ours, theirs = (
            pyinspect.signature(getattr(cls, name)),
            pyinspect.signature(getattr(ref, name)),
        )
        assert list(ours.parameters) == list(theirs.parameters), name
        for p in theirs.parameters:
            assert ours.parameters[p].default == theirs.parameters[p].default, (name, p)
    assert list(pyinspect.signature(cls.__init__).parameters) == list(
        pyinspect.signature(ref.__init__).parameters
    )


def test_one_line_swap(keys) -> None:
    # What a service does before and after the import change.
    for mod in (pyca, compat):
        f = mod.MultiFernet([mod.Fernet(keys[0]), mod.Fernet(keys[1])])
        token = f.encrypt(b"payload")
        assert isinstance(token, bytes)
        assert f.decrypt(token) == b"payload"
        assert f.decrypt(token.decode()) == b"payload"
        assert isinstance(f.extract_timestamp(token), int)
        assert f.decrypt(f.rotate(token), ttl=60) == b"payload"
        with pytest.raises(mod.InvalidToken):
            f.decrypt(token[:-4])
        with pytest.raises(TypeError):
            f.encrypt("text")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            f.decrypt(12)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            f.decrypt_at_time(token, None, 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        compat.MultiFernet([])
    with pytest.raises(ValueError):
        compat.Fernet(b"too short")
    with pytest.raises(ValueError):
        compat.Fernet("!!!!")
    assert len(compat.Fernet.generate_key()) == 44
    assert compat.Fernet(compat.Fernet.generate_key().decode())  # str keys too


def test_new_tokens_are_v1_and_cross_process(keys) -> None:
    writer = compat.Fernet(keys[0])
    token = writer.encrypt_at_time(b"x", 1_700_000_000)
    assert token.startswith(b"kr1:v")
    info = keyroll.inspect(token)
    assert info.format == "keyroll_v1_text" and info.issued_at == 1_700_000_000
    # Another "process" with the key list (primary first, or as an old key) reads it.
    assert (
        compat.MultiFernet([compat.Fernet(keys[1]), compat.Fernet(keys[0])]).decrypt(token) == b"x"
    )
    assert keyroll.Keyring.from_fernet_keys([keys[0]]).decrypt(token) == b"x"
    with pytest.raises(compat.InvalidToken):
        compat.Fernet(keys[1]).decrypt(token)
    assert writer.extract_timestamp(token) == 1_700_000_000
    assert writer.decrypt_at_time(token, 10, 1_700_000_010) == b"x"
    with pytest.raises(compat.InvalidToken):
        writer.decrypt_at_time(token, 10, 1_700_000_011)


def test_rotate_any_token_to_primary(keys) -> None:
    old, new = keys
    legacy = pyca.Fernet(old).encrypt_at_time(b"legacy", 1_600_000_000)
    written_by_old = compat.Fernet(old).encrypt_at_time(b"v1", 1_650_000_000)
    multi = compat.MultiFernet([compat.Fernet(new), compat.Fernet(old)])
    for token, pt, ts in (
        (legacy, b"legacy", 1_600_000_000),
        (written_by_old, b"v1", 1_650_000_000),
    ):
        rotated = multi.rotate(token)
        assert keyroll.inspect(rotated).key_version == keyroll.FernetKey(new).keyroll_version
        assert compat.Fernet(new).decrypt(rotated) == pt
        assert compat.Fernet(new).extract_timestamp(rotated) == ts
    with pytest.raises(compat.InvalidToken):
        compat.MultiFernet([compat.Fernet(new)]).rotate(legacy)


def test_mixing_pyca_fernet_objects(keys) -> None:
    multi = compat.MultiFernet([pyca.Fernet(keys[0]), compat.Fernet(keys[1])])
    assert multi.decrypt(pyca.Fernet(keys[1]).encrypt(b"m")) == b"m"
    with pytest.raises(TypeError):
        compat.MultiFernet([object()])  # type: ignore[list-item]


def test_invalid_token_is_a_keyroll_error(keys) -> None:
    with pytest.raises(keyroll.DecryptError) as info:
        compat.Fernet(keys[0]).decrypt(b"gAAAA")
    assert isinstance(info.value, compat.InvalidToken) and info.value.code in keyroll.ERROR_CODES


def test_lenient_fernet_tokens_as_pyca_reads_them(keys) -> None:
    ref, ours = pyca.Fernet(keys[0]), compat.Fernet(keys[0])
    multi = compat.MultiFernet([ours])
    token = ref.encrypt_at_time(b"x", 1_234)
    variants = [
        token + b"\n",
        b" " + token,
        token[:20] + b"\r\n" + token[20:],
        token.decode() + "\n",
    ]
    for v in variants:
        assert ref.decrypt(v) == b"x"
        assert ours.decrypt(v) == b"x"
        assert ours.extract_timestamp(v) == 1_234
        assert ours.decrypt(multi.rotate(v)) == b"x"
    for bad in (token.rstrip(b"="), token[:-6] + b"\n", "gAAAAé"):
        with pytest.raises(compat.InvalidToken):
            ours.decrypt(bad)
    # keyroll's own envelopes stay strict (the wire format allows one spelling only).
    v1 = ours.encrypt(b"x")
    with pytest.raises(compat.InvalidToken):
        ours.decrypt(v1 + b"\n")
    with pytest.raises(compat.InvalidToken):
        ours.decrypt_at_time(token, -1, 1_234)
