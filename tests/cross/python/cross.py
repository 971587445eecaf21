"""The Python side of the cross-language harness (tests/cross/README.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import keyroll
from keyroll import compat


def plaintext(case: dict) -> bytes:
    if "plaintext_repeat" in case:
        rep = case["plaintext_repeat"]
        return bytes.fromhex(rep["hex"]) * rep["times"]
    return bytes.fromhex(case["plaintext_hex"])


def write(spec: dict, out: Path) -> None:
    ring = keyroll.Keyring.generate(now=spec["generated_at"])
    fernet = keyroll.Keyring.from_fernet_keys(spec["fernet_keys"], now=spec["generated_at"])
    tokens: dict[str, object] = {}

    def seal(r: keyroll.Keyring, case: dict) -> None:
        kwargs = {"context": case["context"]}
        if case["issued_at"] is None:
            kwargs["timestamp"] = False
        else:
            kwargs["now"] = case["issued_at"]
        if case["form"] == "binary":
            tokens[case["name"]] = {"hex": r.encrypt_binary(plaintext(case), **kwargs).hex()}
        elif case["keyring"] == "fernet" and not case["context"] and case["issued_at"]:
            # What a service that swapped its cryptography.fernet import writes.
            multi = compat.MultiFernet([compat.Fernet(k) for k in spec["fernet_keys"]])
            token = multi.encrypt_at_time(plaintext(case), case["issued_at"])
            tokens[case["name"]] = token.decode("ascii")
        else:
            tokens[case["name"]] = r.encrypt(plaintext(case), **kwargs)

    for phase in ("old", "active"):
        if phase == "active":
            ring.rotate(now=spec["rotated_at"])
        for case in spec["cases"]:
            if case["version"] == phase:
                seal(fernet if case["keyring"] == "fernet" else ring, case)
    doc = ring.dump(passphrase=spec["passphrase"], iterations=spec["iterations"])
    (out / "keyring.json").write_bytes(doc)
    (out / "tokens.json").write_text(json.dumps({"writer": "python", "tokens": tokens}))


def read(spec: dict, src: Path) -> int:
    written = json.loads((src / "tokens.json").read_text())
    ring = keyroll.Keyring.load((src / "keyring.json").read_bytes(), passphrase=spec["passphrase"])
    fernet = keyroll.Keyring.from_fernet_keys(spec["fernet_keys"], now=spec["generated_at"])
    fernet_version = keyroll.FernetKey(spec["fernet_keys"][0]).keyroll_version
    mine = keyroll.Keyring.generate()
    errors = []
    cases = {c["name"]: c for c in spec["cases"]}

    def token_of(name: str) -> bytes | str:
        t = written["tokens"][name]
        return bytes.fromhex(t["hex"]) if isinstance(t, dict) else t

    def ring_of(case: dict) -> keyroll.Keyring:
        return fernet if case["keyring"] == "fernet" else ring

    for name, case in cases.items():
        token, r = token_of(name), ring_of(case)
        try:
            if r.decrypt(token, context=case["context"]) != plaintext(case):
                errors.append(f"{name}: wrong plaintext")
            v = r.verify(token, context=case["context"])
            want = (
                fernet_version
                if case["keyring"] == "fernet"
                else (1 if case["version"] == "old" else 2)
            )
            if (v.key_version, v.issued_at) != (want, case["issued_at"]):
                errors.append(f"{name}: verify gave {v}, want v{want} at {case['issued_at']}")
            # Rewrap into the reader's own keyring: plaintext moves between keyrings intact.
            moved = mine.encrypt(r.decrypt(token, context=case["context"]))
            if mine.decrypt(moved) != plaintext(case):
                errors.append(f"{name}: re-encrypted copy differs")
            if r.decrypt(
                r.rewrap(token, context=case["context"]), context=case["context"]
            ) != plaintext(case):
                errors.append(f"{name}: rewrap lost the plaintext")
            # The Fernet drop-in, configured with the same key list, reads it too.
            if case["keyring"] == "fernet" and not case["context"]:
                multi = compat.MultiFernet([compat.Fernet(k) for k in spec["fernet_keys"]])
                if multi.decrypt(token) != plaintext(case):
                    errors.append(f"{name}: keyroll.compat.MultiFernet read a different plaintext")
        except keyroll.KeyrollError as exc:
            errors.append(f"{name}: {exc.code}: {exc}")
    for fail in spec["failures"]:
        case = cases[fail["case"]]
        token = token_of(case["name"])
        if fail.get("flip_last_byte"):
            raw = bytearray(token if isinstance(token, bytes) else token.encode())
            if isinstance(token, str):
                raise SystemExit("flip_last_byte is defined for binary cases only")
            raw[-1] ^= 1
            token = bytes(raw)
        kwargs = {"context": fail.get("context", case["context"])}
        if "ttl" in fail:
            kwargs.update(ttl=fail["ttl"]["seconds"], now=fail["ttl"]["now"])
        try:
            ring_of(case).decrypt(token, **kwargs)
            errors.append(f"{fail['name']}: decrypted, want {fail['code']}")
        except keyroll.KeyrollError as exc:
            if exc.code != fail["code"]:
                errors.append(f"{fail['name']}: got {exc.code}, want {fail['code']}")
    who = f"python read {written['writer']}"
    if errors:
        print(f"cross: {who}: FAILED", *errors, sep="\n  ", file=sys.stderr)
        return 1
    print(f"cross: {who}: {len(cases)} cases, {len(spec['failures'])} failure codes ok")
    return 0


def main() -> int:
    if len(sys.argv) != 4 or sys.argv[1] not in ("write", "read"):
        print("usage: cross.py write|read CASES DIR", file=sys.stderr)
        return 2
    spec = json.loads(Path(sys.argv[2]).read_text())
    if sys.argv[1] == "write":
        write(spec, Path(sys.argv[3]))
        return 0
    return read(spec, Path(sys.argv[3]))


if __name__ == "__main__":
    sys.exit(main())
