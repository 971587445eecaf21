"""KMS-sealed keyrings through boto3 (keyroll.kms.Boto3Kms) against moto's server.

scripts/ci/20-python.sh starts it (scripts/lib.sh start_moto: AWS_ENDPOINT_URL on 127.0.0.1,
dummy credentials, KEYROLL_TEST_MOTO=1); without it these tests are skipped, never run
against real AWS.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import pytest

import keyroll
from keyroll.kms import Boto3Kms

if not os.environ.get("KEYROLL_TEST_MOTO"):
    pytest.skip("needs moto (scripts/lib.sh start_moto)", allow_module_level=True)

assert os.environ["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:"), "moto only"

boto3 = pytest.importorskip("boto3")

CONTEXT = {"app": "payments", "keyring": "default"}


class Counting:
    """A boto3 client that counts the KMS calls made through it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return method(*args, **kwargs)

        return call


@pytest.fixture(scope="module")
def client() -> Any:
    return boto3.client("kms")


@pytest.fixture()
def alias(client: Any) -> str:
    key = client.create_key()["KeyMetadata"]["KeyId"]
    name = f"alias/keyroll-py-{uuid.uuid4().hex}"
    client.create_alias(AliasName=name, TargetKeyId=key)
    return name


def test_seal_open_with_one_decrypt_and_save_with_none(client: Any, alias: str) -> None:
    sealer = Counting(client)
    ring = keyroll.Keyring.generate()
    document = ring.to_document(kms=Boto3Kms(sealer, alias, CONTEXT))
    assert sealer.calls == ["generate_data_key"]
    wrap = keyroll.KeyWrap.of_document(document)
    assert wrap is not None
    assert wrap.provider == "aws-kms"
    assert wrap.key_id.startswith("arn:aws:kms:"), "the ARN, not the alias"
    assert wrap.context == CONTEXT
    token = ring.encrypt(b"4111", context=b"users:1:card")

    # Another service: its own client, no key id; the document names key and context.
    opener = Counting(client)
    kms = Boto3Kms(opener, None)
    opened = keyroll.Keyring.from_document(document, kms=kms)
    assert opener.calls == ["decrypt"]
    for _ in range(100):
        assert opened.decrypt(token, context=b"users:1:card") == b"4111"
    opened.rotate()
    changed = opened.to_document(kms=kms)
    assert opener.calls == ["decrypt"], "no KMS call per message nor on save"
    assert keyroll.KeyWrap.of_document(changed) == wrap
    assert keyroll.Keyring.check_successor(document, changed) == 2
    assert "4111" not in repr(kms) and "Plaintext" not in repr(kms)
    assert "bytes>" in repr(wrap)


def test_kms_refuses_another_context_and_the_error_is_typed(client: Any, alias: str) -> None:
    kms = Boto3Kms(client, alias, CONTEXT)
    _, wrap = kms.wrap()
    other = keyroll.KeyWrap(wrap.provider, wrap.key_id, {"app": "other"}, wrap.wrapped)
    with pytest.raises(keyroll.KeyringError) as e:
        Boto3Kms(client, None).unwrap(other)
    assert e.value.code == "bad_passphrase"
    foreign = keyroll.KeyWrap("vault-transit", "keyroll", {}, b"x")
    with pytest.raises(keyroll.InvalidArgumentError):
        Boto3Kms(client, None).unwrap(foreign)


def test_an_altered_wrap_in_the_document_never_opens(client: Any, alias: str) -> None:
    document = keyroll.Keyring.generate().to_document(kms=Boto3Kms(client, alias, CONTEXT))
    doc = json.loads(document)
    text = json.dumps(doc)
    assert "payments" in text
    altered = text.replace('"payments"', '"billing"').encode()
    with pytest.raises(keyroll.KeyringError) as e:
        keyroll.Keyring.from_document(altered, kms=Boto3Kms(client, None))
    assert e.value.code in ("bad_passphrase", "keyring_corrupt")


def test_other_documents_are_pointed_at_load(client: Any) -> None:
    master = os.urandom(32)
    document = keyroll.Keyring.generate().dump(master_key=master)
    assert keyroll.KeyWrap.of_document(document) is None
    with pytest.raises(keyroll.InvalidArgumentError):
        keyroll.Keyring.from_document(document, kms=Boto3Kms(client, None))
    with pytest.raises(keyroll.InvalidArgumentError):
        keyroll.Keyring.generate().to_document(kms=Boto3Kms(client, None))
