"""Signing keyrings against the peers a Python service leaves, in one run.

    .venv/bin/python python/bench/signing.py        # prints the table and the ratios

- HS256 JWTs: ``SigningKeyring.sign_jwt`` / ``verify_jwt`` against PyJWT's ``jwt.encode`` /
  ``jwt.decode`` with the same claims (a dict, as callers pass them), the same secret and
  the same checks (signature, ``exp``; PyJWT told the algorithm, keyroll taking it from the
  key version its ``kid`` names).
- Ed25519 verification: a ``krs1`` signed message (``SigningKeyring.verify``, from a public
  keyset) against pyca ``cryptography``'s ``Ed25519PublicKey.verify`` of the same 64-byte
  message; and EdDSA JWTs, keyroll against PyJWT (which verifies through pyca).

Each figure is the best of several interleaved runs (``bench.rates``: the machine is shared).
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import keyroll

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import rates  # noqa: E402

SECRET = "django-insecure-bench-0123456789abcdefghijklmnop"


def main() -> None:
    now = int(time.time())
    claims = {"sub": "user-42", "iss": "https://auth.example", "exp": now + 3600, "iat": now}

    ring = keyroll.SigningKeyring.from_hmac_secret(SECRET)
    kid = ring.kid(1)
    hs_keyroll = ring.sign_jwt(claims)
    hs_pyjwt = jwt.encode(claims, SECRET, algorithm="HS256", headers={"kid": kid})
    assert ring.verify_jwt(hs_pyjwt).claims == claims
    assert jwt.decode(hs_keyroll, SECRET, algorithms=["HS256"]) == claims

    ed = keyroll.SigningKeyring.generate("ed25519")
    app = keyroll.SigningKeyring.from_public_keyset(ed.public_keyset())
    jwk = next(iter(jwt.PyJWKSet.from_json(ed.jwks()).keys))
    public = jwk.key
    assert isinstance(public, Ed25519PublicKey)
    message = b"m" * 64
    signed = ed.sign_binary(message)
    # The bytes Ed25519 signed (§12.2): header ‖ u32be(len(context)) ‖ context ‖ message.
    signed_input = signed[:18] + b"\0\0\0\0" + message
    signature = signed[-64:]
    public.verify(signature, signed_input)
    ed_token = ed.sign_jwt(claims)
    assert jwt.decode(ed_token, public, algorithms=["EdDSA"]) == claims

    rows: list[tuple[str, str, str, Callable[[], object], Callable[[], object]]] = [
        (
            "HS256 JWT sign",
            "PyJWT jwt.encode",
            "",
            lambda: ring.sign_jwt(claims),
            lambda: jwt.encode(claims, SECRET, algorithm="HS256", headers={"kid": kid}),
        ),
        (
            "HS256 JWT verify",
            "PyJWT jwt.decode",
            "",
            lambda: ring.verify_jwt(hs_keyroll),
            lambda: jwt.decode(hs_keyroll, SECRET, algorithms=["HS256"]),
        ),
        (
            "Ed25519 verify (64 B message)",
            "pyca Ed25519PublicKey.verify",
            "",
            lambda: app.verify(signed),
            lambda: public.verify(signature, signed_input),
        ),
        (
            "EdDSA JWT verify",
            "PyJWT jwt.decode (pyca)",
            "",
            lambda: app.verify_jwt(ed_token),
            lambda: jwt.decode(ed_token, public, algorithms=["EdDSA"]),
        ),
    ]
    fns: dict[str, Callable[[], object]] = {}
    for i, (_, _, _, ours, theirs) in enumerate(rows):
        fns[f"{i}k"] = ours
        fns[f"{i}p"] = theirs
    measured = rates(fns)

    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}" for name in ("PyJWT", "cryptography")
    )
    print(
        f"Python {platform.python_version()}, {versions}, keyroll {keyroll.__version__} "
        f"(signing: {keyroll.SIGNING_BACKEND})"
    )
    print()
    print("| operation | keyroll | peer | peer ops/s | keyroll / peer |")
    print("|---|---:|---|---:|---:|")
    for i, (what, peer, _, _, _) in enumerate(rows):
        ours, theirs = measured[f"{i}k"], measured[f"{i}p"]
        print(
            f"| {what} | {ours / 1e3:,.0f}k/s | {peer} | {theirs / 1e3:,.0f}k/s "
            f"| {ours / theirs:.2f}x |"
        )
    print()
    print(
        json.dumps(
            {row[0]: round(measured[f"{i}k"] / measured[f"{i}p"], 2) for i, row in enumerate(rows)}
        )
    )


if __name__ == "__main__":
    main()
