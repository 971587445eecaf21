"""keyroll.BlindIndex beyond the shared vectors: the Python surface (str and bytes, errors,
repr, pickling, threads) and a rotation in the middle of lookups."""

from __future__ import annotations

import pickle
from concurrent.futures import ThreadPoolExecutor

import pytest

import keyroll


def test_str_and_bytes_give_the_same_index() -> None:
    ring = keyroll.Keyring.generate()
    index = ring.blind_index("users.email", bits=64, normalizer="trim+casefold")
    assert index.compute(" Alice@Example.COM ") == index.compute(b"alice@example.com")
    assert index.compute(bytearray(b"alice@example.com")) == index.compute("alice@example.com")
    assert index.compute("a").startswith("bi1:v1:")
    assert len(index.compute("a")) == len("bi1:v1:") + 16


def test_constructor_and_method_agree() -> None:
    ring = keyroll.Keyring.generate()
    a = keyroll.BlindIndex(ring, "users.phone", bits=32, normalizer="digits")
    b = ring.blind_index("users.phone", bits=32, normalizer="digits")
    assert a.compute("+1 555 0100") == b.compute("15550100")
    assert (a.name, a.normalizer, a.bits, a.active_version, a.versions) == (
        "users.phone",
        "digits",
        32,
        1,
        [1],
    )
    assert keyroll.BLIND_INDEX_NORMALIZERS == [
        "exact",
        "trim",
        "casefold",
        "trim+casefold",
        "digits",
    ]


def test_bad_arguments_raise_typed_errors() -> None:
    ring = keyroll.Keyring.generate()
    for bits in (0, 4, 12, 264):
        with pytest.raises(keyroll.InvalidArgumentError) as info:
            ring.blind_index("e", bits=bits)
        assert info.value.code == "invalid_argument"
    with pytest.raises(keyroll.InvalidArgumentError):
        ring.blind_index("e", bits=64, normalizer="lower")
    with pytest.raises(keyroll.InvalidArgumentError):
        ring.blind_index("", bits=64)
    index = ring.blind_index("e", bits=64, normalizer="casefold")
    with pytest.raises(keyroll.InvalidArgumentError):
        index.compute(b"\xff")
    with pytest.raises(TypeError):
        index.compute(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ring.blind_index("e")  # type: ignore[call-arg]


def test_repr_and_pickle_show_no_key() -> None:
    ring = keyroll.Keyring.generate()
    index = ring.blind_index("users.email", bits=64)
    assert repr(index) == (
        "BlindIndex(name=\"users.email\", normalizer='exact', bits=64, versions=[1])"
    )
    with pytest.raises(TypeError):
        pickle.dumps(index)


def test_rotation_in_the_middle_of_lookups_loses_no_match() -> None:
    ring = keyroll.Keyring.generate()
    index = ring.blind_index("users.email", bits=64, normalizer="trim+casefold")
    stored = {f"user{i}@example.com": index.compute(f"user{i}@example.com") for i in range(50)}
    ring.rotate()
    index = ring.blind_index("users.email", bits=64, normalizer="trim+casefold")
    assert index.versions == [2, 1]
    # Half the rows rewritten under v2, half still under v1: every lookup finds its row.
    for i, email in enumerate(stored):
        if i % 2:
            stored[email] = index.compute(email)
            assert stored[email].startswith("bi1:v2:")
    for email, column in stored.items():
        assert column in index.candidates(email.upper())


def test_read_only_export_looks_up_but_does_not_write() -> None:
    ring = keyroll.Keyring.generate()
    written = ring.blind_index("e", bits=64).compute("x")
    export = ring.export_decrypt_only([1])
    index = export.blind_index("e", bits=64)
    assert index.active_version is None
    assert index.candidates("x") == [written]
    with pytest.raises(keyroll.KeyrollError) as info:
        index.compute("x")
    assert info.value.code == "no_active_key"


def test_threads_share_an_index() -> None:
    ring = keyroll.Keyring.generate()
    index = ring.blind_index("e", bits=128)
    want = [index.compute(str(i)) for i in range(200)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda i: index.compute(str(i)), range(200)))
    assert got == want
