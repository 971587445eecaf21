"""No key material in repr, str, exception messages or pickles."""

from __future__ import annotations

import base64
import copy
import os
import pickle

import pytest

import keyroll
from keyroll import compat


def _needles(raw: bytes) -> list[str]:
    return [
        raw.hex(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        base64.b64encode(raw).decode().rstrip("="),
        repr(raw)[2:-1],
    ]


def test_no_secrets_in_repr_str_errors_pickles() -> None:
    fernet_key = compat.Fernet.generate_key()
    raw_fernet = base64.urlsafe_b64decode(fernet_key)
    master = os.urandom(32)
    ring = keyroll.Keyring.from_fernet_keys([fernet_key])
    ring.rotate()
    raw_version = ring.import_raw_gcm(os.urandom(32))
    doc = ring.dump(master_key=master)
    loaded = keyroll.Keyring.load(doc, master_key=master)
    _, derived = loaded.derive_key("pii")
    texts = [
        repr(ring),
        str(ring),
        repr(loaded),
        repr(ring.versions),
        repr(ring.version(raw_version)),
        repr(keyroll.FernetKey(fernet_key)),
        repr(compat.Fernet(fernet_key)),
        repr(compat.MultiFernet([compat.Fernet(fernet_key)])),
    ]
    errors = []
    for attempt in (
        lambda: keyroll.Keyring.load(doc, master_key=os.urandom(32)),
        lambda: keyroll.Keyring.load(doc, master_key=master[:31]),
        lambda: keyroll.Keyring.load(doc.replace(b"sealed", b"sealeD"), master_key=master),
        lambda: ring.decrypt(ring.encrypt(b"x", context=b"a"), context=b"b"),
        lambda: compat.Fernet(fernet_key).decrypt(b"gAAAAAAA"),
        lambda: keyroll.FernetKey(fernet_key[:-2]),
    ):
        with pytest.raises(Exception) as info:
            attempt()
        errors.append(f"{info.value!r} {info.value!s} {info.value.args!r}")
    for obj in (
        ring,
        keyroll.FernetKey(fernet_key),
        compat.Fernet(fernet_key),
        compat.MultiFernet([compat.Fernet(fernet_key)]),
    ):
        with pytest.raises(TypeError):
            pickle.dumps(obj)
        with pytest.raises(TypeError):
            copy.copy(obj)
    secrets = [raw_fernet, master, derived]
    haystack = "\n".join(texts + errors)
    for secret in secrets:
        for needle in _needles(secret):
            assert needle not in haystack
    assert fernet_key.decode() not in haystack
    # The sealed document holds no key in clear either.
    for secret in (raw_fernet, master):
        for needle in _needles(secret):
            assert needle not in doc.decode()


def test_boto3_kms_refuses_pickle_and_copy_which_would_write_its_kek_out() -> None:
    import copy
    import pickle

    from keyroll.kms import Boto3Kms

    kms = Boto3Kms(object(), "alias/keyroll")
    for leak in (pickle.dumps, copy.copy, copy.deepcopy):
        with pytest.raises(TypeError, match="cannot be pickled"):
            leak(kms)
