"""Signing keyrings from Python: the shared signing vectors (run by ``test_vectors.py`` through
``run_signing_case`` below, counted here), and JWTs cross-checked with PyJWT in both
directions — HS256 from a legacy ``SECRET_KEY`` and then v2 after rotation, EdDSA through
PyJWT's Ed25519 support (pyca ``cryptography``) and a JWKS."""

from __future__ import annotations

import json
import time
from functools import cache
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

import keyroll
from conftest import VECTORS

SIGNING_OPS = frozenset(
    {"signing_load", "sign", "verify", "sign_jwt", "verify_jwt", "public_keyset", "jwks"}
)
SECRET_KEY = "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz"


@cache
def _file(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text())
    return data


def _source(file: str, case: dict[str, Any]) -> keyroll.SigningKeyring:
    if "keyring" in case:
        spec = _file(file)["keyrings"][case["keyring"]]
        if "passphrase" in spec:
            return keyroll.SigningKeyring.load(spec["document"], passphrase=spec["passphrase"])
        return keyroll.SigningKeyring.load(
            spec["document"], master_key=bytes.fromhex(spec["master_key_hex"])
        )
    if "public_keyset" in case:
        return keyroll.SigningKeyring.from_public_keyset(case["public_keyset"])
    return keyroll.SigningKeyring.from_hmac_secret(case["hmac_secret_utf8"], now=0)


def _summary(ring: keyroll.SigningKeyring) -> dict[str, Any]:
    return {
        "keyring_id": ring.id,
        "active_version": ring.active_version,
        "min_version": ring.min_version,
        "verify_only": ring.verify_only,
        "versions": [
            {"version": v.version, "kind": v.kind, "state": v.state} for v in ring.versions
        ],
    }


def run_signing_case(file: str, case: dict[str, Any]) -> None:
    """One case of ``signing.json`` (schema: tests/vectors/README.md)."""
    op = case["op"]
    ring = _source(file, case)
    context = bytes.fromhex(case.get("context_hex", ""))
    if op == "signing_load":
        assert _summary(ring) == case["expect"]
    elif op == "sign":
        message = bytes.fromhex(case["message_hex"])
        assert ring.sign(message, context=context) == case["expect_signed"]
        assert ring.sign_binary(message, context=context).hex() == case["expect_signed_hex"]
    elif op == "verify":
        signed = case["signed"] if "signed" in case else bytes.fromhex(case["signed_hex"])
        got = ring.verify(signed, context=context)
        assert got.message.hex() == case["expect_message_hex"]
        assert got.key_version == case["expect_version"]
    elif op == "sign_jwt":
        assert ring.sign_jwt(case["claims"], now=case["now"]) == case["expect_token"]
    elif op == "verify_jwt":
        o = case["options"]
        v = ring.verify_jwt(
            case["token"],
            leeway=o["leeway"],
            audience=o["audience"],
            issuer=o["issuer"],
            required=o["required"],
            now=case["now"],
        )
        assert v.claims == case["expect_claims"]
        assert (v.key_version, v.algorithm) == (case["expect_version"], case["expect_algorithm"])
    elif op == "public_keyset":
        assert json.loads(ring.public_keyset()) == case["expect"]
    elif op == "jwks":
        assert json.loads(ring.jwks()) == case["expect"]
    else:
        pytest.fail(f"unknown signing op {op!r}")


def test_signing_vectors_are_all_run() -> None:
    cases = _file("signing.json")["cases"]
    assert {c["op"] for c in cases} <= SIGNING_OPS | {"load"}
    failing = [c for c in cases if c["name"].startswith("fail_")]
    assert len(cases) >= 100 and len(failing) >= 60
    # Every signing-specific code has a vector the Python runner checks.
    assert {c["error"] for c in failing} >= {
        "signature_invalid",
        "algorithm_mismatch",
        "claim_invalid",
        "wrong_keyring_kind",
        "expired",
        "key_compromised",
        "no_active_key",
    }


# --- PyJWT, both directions ------------------------------------------------------------------


def test_hs256_secret_key_rotation_with_pyjwt() -> None:
    now = int(time.time())
    claims = {"sub": "42", "exp": now + 3600}
    # 1. The old system: PyJWT with the single SECRET_KEY, no kid.
    old_token = jwt.encode(claims, SECRET_KEY, algorithm="HS256")
    # 2. A process configured with the same secret only: reads it, and signs tokens PyJWT
    #    (the old system, which ignores kid) reads.
    ring = keyroll.SigningKeyring.from_hmac_secret(SECRET_KEY)
    assert ring.verify_jwt(old_token).claims == claims
    v1_token = ring.sign_jwt(claims)
    assert jwt.get_unverified_header(v1_token)["kid"] == ring.kid(1)
    assert jwt.decode(v1_token, SECRET_KEY, algorithms=["HS256"])["sub"] == "42"
    # 3. Rotation: stage v2, promote it; old tokens keep verifying by kid (and without kid).
    v2 = ring.add_version("hmac_sha256")
    ring.promote(v2)
    v2_token = ring.sign_jwt(claims)
    assert jwt.get_unverified_header(v2_token) == {"alg": "HS256", "kid": ring.kid(2), "typ": "JWT"}
    for token, version in ((old_token, 1), (v1_token, 1), (v2_token, 2)):
        assert ring.verify_jwt(token).key_version == version
    # The old secret no longer verifies v2 tokens: they are under a new key.
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(v2_token, SECRET_KEY, algorithms=["HS256"])
    # 4. Retire v1 once its tokens expired.
    ring.set_state(1, "disabled")
    with pytest.raises(keyroll.KeyUnavailableError) as info:
        ring.verify_jwt(old_token)
    assert info.value.code == "key_disabled"
    # The same ring after a save and load (the document keeps every version).
    copy = keyroll.SigningKeyring.load(ring.dump(master_key=bytes(32)), master_key=bytes(32))
    assert copy.verify_jwt(v2_token).key_version == 2


def test_pyjwt_tokens_with_keyroll_kids_verify() -> None:
    """A token PyJWT signs with the legacy secret and keyroll's kid verifies in keyroll, with
    the audience, issuer, required-claim and expiry checks PyJWT users rely on."""
    ring = keyroll.SigningKeyring.from_hmac_secret(SECRET_KEY)
    now = int(time.time())
    token = jwt.encode(
        {"sub": "7", "aud": "app", "iss": "auth", "exp": now + 60},
        SECRET_KEY,
        algorithm="HS256",
        headers={"kid": ring.kid(1)},
    )
    v = ring.verify_jwt(token, audience="app", issuer="auth", required=["exp"])
    assert v.claims["sub"] == "7" and v.algorithm == "hmac_sha256"
    for kwargs, code in (
        ({"audience": "other", "issuer": "auth"}, "claim_invalid"),
        ({"audience": "app", "issuer": "evil"}, "claim_invalid"),
        ({"audience": "app", "required": ["jti"]}, "claim_invalid"),
        ({"audience": "app", "now": now + 60}, "expired"),
    ):
        with pytest.raises(keyroll.KeyrollError) as info:
            ring.verify_jwt(token, **kwargs)  # type: ignore[arg-type]
        assert info.value.code == code, kwargs
    expired = jwt.encode({"exp": now - 10}, SECRET_KEY, algorithm="HS256")
    assert ring.verify_jwt(expired, leeway=30).key_version == 1
    with pytest.raises(keyroll.ExpiredError):
        ring.verify_jwt(expired)


def test_eddsa_both_directions_with_pyjwt_and_a_jwks() -> None:
    ring = keyroll.SigningKeyring.generate("ed25519")
    now = int(time.time())
    claims = {"sub": "alice", "exp": now + 600}
    token = ring.sign_jwt(claims)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "kid": ring.kid(1), "typ": "JWT"}
    # PyJWT verifies keyroll's token with the key from keyroll's JWKS.
    jwks = jwt.PyJWKSet.from_json(ring.jwks())
    key = next(k for k in jwks.keys if k.key_id == header["kid"])
    assert isinstance(key.key, Ed25519PublicKey)
    decoded = jwt.decode(token, key.key, algorithms=["EdDSA"])
    assert decoded == {**claims, "iat": decoded["iat"]} and abs(decoded["iat"] - now) <= 5
    # A public keyset alone verifies it (what an app ships).
    app = keyroll.SigningKeyring.from_public_keyset(ring.public_keyset())
    assert app.verify_jwt(token).claims["sub"] == "alice"
    with pytest.raises(keyroll.KeyringError) as info:
        app.sign_jwt(claims)
    assert info.value.code == "read_only"
    # Rotation: v2 is published (pending) before it signs; both verify with the new JWKS.
    v2 = ring.add_version("ed25519")
    assert len(json.loads(ring.jwks())["keys"]) == 2
    ring.promote(v2)
    token2 = ring.sign_jwt(claims)
    jwks2 = {k.key_id: k.key for k in jwt.PyJWKSet.from_json(ring.jwks()).keys}
    for t in (token, token2):
        kid = jwt.get_unverified_header(t)["kid"]
        assert jwt.decode(t, jwks2[kid], algorithms=["EdDSA"])["sub"] == "alice"


def test_pyjwt_eddsa_tokens_verify_in_keyroll_and_alg_confusion_fails() -> None:
    """PyJWT signs with a pyca Ed25519 key whose public half is in a keyroll public keyset:
    keyroll verifies it; the HS256 forgery with the public key as secret is refused."""
    private = Ed25519PrivateKey.generate()
    ring = keyroll.SigningKeyring.generate("ed25519")
    public = json.loads(ring.public_keyset())
    raw = private.public_key().public_bytes_raw()
    public["versions"][0]["public_key"] = jwt.utils.base64url_encode(raw).decode()
    app = keyroll.SigningKeyring.from_public_keyset(json.dumps(public))
    now = int(time.time())
    token = jwt.encode(
        {"sub": "bob", "exp": now + 60}, private, algorithm="EdDSA", headers={"kid": ring.kid(1)}
    )
    assert app.verify_jwt(token).claims["sub"] == "bob"
    # Algorithm confusion: HS256 over the same claims with the public key as the HMAC secret.
    forged = _hs256_with_secret(raw, {"sub": "bob", "exp": now + 60}, ring.kid(1))
    with pytest.raises(keyroll.DecryptError) as info:
        app.verify_jwt(forged)
    assert info.value.code == "algorithm_mismatch"
    unsigned = _unsigned({"sub": "bob"}, ring.kid(1))
    with pytest.raises(keyroll.DecryptError) as info:
        app.verify_jwt(unsigned)
    assert info.value.code == "algorithm_mismatch"


def _hs256_with_secret(secret: bytes, claims: dict[str, Any], kid: str) -> str:
    import hashlib
    import hmac

    b64 = jwt.utils.base64url_encode
    head = b64(json.dumps({"alg": "HS256", "kid": kid}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(secret, head + b"." + body, hashlib.sha256).digest()
    return (head + b"." + body + b"." + b64(sig)).decode()


def _unsigned(claims: dict[str, Any], kid: str) -> str:
    b64 = jwt.utils.base64url_encode
    head = b64(json.dumps({"alg": "none", "kid": kid}).encode())
    return (head + b"." + b64(json.dumps(claims).encode()) + b".").decode()


# --- the binding itself --------------------------------------------------------------------


def test_messages_and_states() -> None:
    ring = keyroll.SigningKeyring.generate("hmac_sha256")
    signed = ring.sign(b"payload", context=b"orders:1")
    assert signed.startswith("krs1:v1:")
    v = ring.verify(signed, context=b"orders:1")
    assert (v.message, v.key_version, v.algorithm) == (b"payload", 1, "hmac_sha256")
    binary = ring.sign_binary("payload", context="orders:1")
    assert ring.verify(binary, context="orders:1").message == b"payload"
    with pytest.raises(keyroll.DecryptError) as info:
        ring.verify(signed, context=b"orders:2")
    assert info.value.code == "signature_invalid"
    ring.emergency_rotate("leaked")
    with pytest.raises(keyroll.KeyUnavailableError) as info:
        ring.verify(signed, context=b"orders:1")
    assert info.value.code == "key_compromised"


def test_documents_of_the_other_kind_are_refused(tmp_path: Path) -> None:
    signing = keyroll.SigningKeyring.generate("ed25519")
    doc = signing.dump(master_key=bytes(32))
    with pytest.raises(keyroll.KeyringError) as info:
        keyroll.Keyring.load(doc, master_key=bytes(32))
    assert info.value.code == "wrong_keyring_kind"
    enc = keyroll.Keyring.generate().dump(master_key=bytes(32))
    with pytest.raises(keyroll.KeyringError) as info:
        keyroll.SigningKeyring.load(enc, master_key=bytes(32))
    assert info.value.code == "wrong_keyring_kind"
    path = tmp_path / "signing.json"
    signing.save(path, master_key=bytes(32))
    loaded = keyroll.SigningKeyring.load_file(path, master_key=bytes(32))
    assert loaded.generation == 1 and loaded.versions == signing.versions


def test_secrets_never_in_repr_or_errors() -> None:
    ring = keyroll.SigningKeyring.from_hmac_secret(SECRET_KEY)
    ring.add_version("ed25519")
    doc = ring.dump(master_key=bytes(32))
    texts = [repr(ring), str(ring), repr(ring.versions), repr(ring.verify(ring.sign(b"m")))]
    with pytest.raises(keyroll.KeyrollError) as info:
        keyroll.SigningKeyring.from_hmac_secret(SECRET_KEY[:31])
    texts.append(str(info.value))
    texts.append(repr(info.value))
    for text in texts:
        assert SECRET_KEY not in text and SECRET_KEY[:31] not in text, text
    assert SECRET_KEY.encode() not in doc
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(ring)
