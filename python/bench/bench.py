"""keyroll for Python against its peers, timed in the same run.

    .venv/bin/pip install cryptography tink          # peers
    .venv/bin/python python/bench/bench.py           # prints the table and the ratios
    .venv/bin/python python/bench/bench.py --update-docs   # also rewrites "## Python" in
                                                           # docs/benchmarks.md

Each figure is the best of several timed runs (the machine is shared: the best run is the
one least disturbed). Payloads: 64 B and 1 KiB in keyroll's text form (what a string column
holds), 64 KiB in the binary form. pyca AESGCM gets a fresh ``os.urandom(12)`` nonce per
encryption, as a real caller must; Tink is AEAD with the AES256_GCM template.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import keyroll
from keyroll import FernetKey, compat

try:
    import cryptography
    from cryptography.fernet import Fernet, MultiFernet
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except ImportError:  # pragma: no cover
    sys.exit("pip install cryptography (the reference peer) first")

try:
    import tink
    from tink import aead as tink_aead

    tink_aead.register()
    TINK = tink.new_keyset_handle(tink_aead.aead_key_templates.AES256_GCM).primitive(tink_aead.Aead)
    TINK_VERSION = importlib.metadata.version("tink")
except ImportError:
    TINK = None
    TINK_VERSION = None

REPO = Path(__file__).resolve().parents[2]
# Many short interleaved runs: on a shared machine the best of many finds the quiet moments.
MIN_TIME = 0.03
ROUNDS = 25
SIZES = [("64 B", 64), ("1 KiB", 1024), ("64 KiB", 65536)]


def _calibrate(fn: Callable[[], object], min_time: float) -> int:
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t
        if dt >= min_time / 4:
            return max(1, int(n * min_time / dt))
        n *= 4


def rates(
    fns: dict[str, Callable[[], object]], *, min_time: float = 0.0, rounds: int = 0
) -> dict[str, float]:
    """Operations per second of each function: the best of ``rounds`` runs of at least
    ``min_time``, the functions taking turns within each round so that a burst of load on the
    shared machine hits all of them alike."""
    min_time, rounds = min_time or MIN_TIME, rounds or ROUNDS
    counts = {name: _calibrate(fn, min_time) for name, fn in fns.items()}
    best = dict.fromkeys(fns, 0.0)
    for _ in range(rounds):
        for name, fn in fns.items():
            n = counts[name]
            t = time.perf_counter()
            for _ in range(n):
                fn()
            best[name] = max(best[name], n / (time.perf_counter() - t))
    return best


def rate(fn: Callable[[], object]) -> float:
    return rates({"": fn})[""]


def batch_rate(fn: Callable[[], object], items: int, repeat: int = 5) -> float:
    best = 0.0
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = max(best, items / (time.perf_counter() - t))
    return best


def fmt_rate(ops: float, size: int) -> str:
    if size >= 65536:
        return f"{ops * size / 1e9:.2f} GB/s"
    if ops >= 1e6:
        return f"{ops / 1e6:.2f}M/s"
    return f"{ops / 1e3:.0f}k/s"


def single_ops() -> dict[tuple[str, str, str], float]:
    ring = keyroll.Keyring.generate()
    fernet = Fernet(Fernet.generate_key())
    aes = AESGCM(AESGCM.generate_key(bit_length=256))
    cf = compat.Fernet(compat.Fernet.generate_key())
    urandom = os.urandom
    out: dict[tuple[str, str, str], float] = {}
    for label, size in SIZES:
        data = os.urandom(size)
        big = size >= 65536
        enc = ring.encrypt_binary if big else ring.encrypt
        token = enc(data)
        nonce = urandom(12)
        ct = aes.encrypt(nonce, data, None)
        ftok = fernet.encrypt(data)
        ctok = cf.encrypt(data)
        fns: dict[tuple[str, str, str], Callable[[], object]] = {
            ("keyroll", "encrypt", label): lambda: enc(data),
            ("keyroll", "decrypt", label): lambda: ring.decrypt(token),
            ("pyca AESGCM", "encrypt", label): lambda: aes.encrypt(urandom(12), data, None),
            ("pyca AESGCM", "decrypt", label): lambda: aes.decrypt(nonce, ct, None),
            ("pyca Fernet", "encrypt", label): lambda: fernet.encrypt(data),
            ("pyca Fernet", "decrypt", label): lambda: fernet.decrypt(ftok),
            ("keyroll.compat Fernet", "encrypt", label): lambda: cf.encrypt(data),
            ("keyroll.compat Fernet", "decrypt", label): lambda: cf.decrypt(ctok),
        }
        if TINK is not None:
            tct = TINK.encrypt(data, b"")
            fns[("Tink AEAD", "encrypt", label)] = lambda: TINK.encrypt(data, b"")
            fns[("Tink AEAD", "decrypt", label)] = lambda: TINK.decrypt(tct, b"")
        names = list(fns)
        measured = rates({str(i): fns[k] for i, k in enumerate(names)})
        out.update({k: measured[str(i)] for i, k in enumerate(names)})
    return out


def rewrap_ops() -> dict[str, float]:
    data = os.urandom(64)
    k_old, k_new = Fernet.generate_key(), Fernet.generate_key()
    multi = MultiFernet([Fernet(k_new), Fernet(k_old)])
    old_token = Fernet(k_old).encrypt(data)
    ring = keyroll.Keyring.generate()
    v1_token = ring.encrypt(data)
    ring.rotate()
    cmulti = compat.MultiFernet([compat.Fernet(k_new), compat.Fernet(k_old)])
    ring_f = keyroll.Keyring.from_fernet_keys([k_new, k_old])
    return rates(
        {
            "pyca MultiFernet.rotate (Fernet token)": lambda: multi.rotate(old_token),
            "keyroll rewrap (v1 → v2)": lambda: ring.rewrap(v1_token),
            "keyroll rewrap (Fernet token → v1)": lambda: ring_f.rewrap(old_token),
            "keyroll.compat MultiFernet.rotate (Fernet token)": lambda: cmulti.rotate(old_token),
        }
    )


def batch_ops(n: int = 20_000) -> dict[str, float]:
    ring = keyroll.Keyring.generate()
    items = [os.urandom(64) for _ in range(n)]
    tokens = ring.encrypt_many(items)
    ring.rotate()
    enc, dec = ring.encrypt, ring.decrypt
    return {
        "encrypt, one call per item": batch_rate(lambda: [enc(x) for x in items], n),
        "encrypt_many": batch_rate(lambda: ring.encrypt_many(items), n),
        "decrypt, one call per item": batch_rate(lambda: [dec(t) for t in tokens], n),
        "decrypt_many": batch_rate(lambda: ring.decrypt_many(tokens), n),
        "rewrap_many (v1 → v2)": batch_rate(lambda: ring.rewrap_many(tokens), n),
    }


def anatomy() -> dict[str, float]:
    """Nanoseconds per call of the parts that explain the gaps (see docs/benchmarks.md)."""
    ring = keyroll.Keyring.generate()
    raw = os.urandom(32)
    d64, d1k = os.urandom(64), os.urandom(1024)
    t1k, b1k = ring.encrypt(d1k), ring.encrypt_binary(d1k)
    t64 = ring.encrypt(d64)
    r = rates(
        {
            "keyroll encrypt, 64 B, text": lambda: ring.encrypt(d64),
            "keyroll decrypt, 64 B, text": lambda: ring.decrypt(t64),
            "gen": FernetKey.generate,
            "wrap": lambda: FernetKey.from_bytes(raw),
            "keyroll decrypt, 1 KiB, text form": lambda: ring.decrypt(t1k),
            "keyroll decrypt, 1 KiB, binary form": lambda: ring.decrypt(b1k),
            "os.urandom(12) (pyca AESGCM callers pay it)": lambda: os.urandom(12),
        }
    )
    ns = {k: 1e9 / v for k, v in r.items()}
    ns["system RNG, one call (FernetKey.generate − FernetKey.from_bytes)"] = ns.pop("gen") - ns.pop(
        "wrap"
    )
    return ns


RSS_CHILD = r"""
import os, resource, sys, keyroll
n, size, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ring = keyroll.Keyring.generate()
items = [os.urandom(size) for _ in range(n)]
kib = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
before = kib()
out = ring.encrypt_many(items) if mode == "text" else ring.encrypt_many_binary(items)
peak = kib()
out_bytes = sum(sys.getsizeof(t) for t in out) + sys.getsizeof(out)
in_bytes = sum(sys.getsizeof(x) for x in items) + sys.getsizeof(items)
print(before, peak, out_bytes, in_bytes)
"""


def rss(n: int = 1_000_000, size: int = 100) -> dict[str, tuple[float, float, float]]:
    """Peak RSS growth of encrypt_many over n items, measured in a fresh process."""
    out = {}
    for mode in ("text", "binary"):
        res = subprocess.run(
            [sys.executable, "-c", RSS_CHILD, str(n), str(size), mode],
            capture_output=True,
            text=True,
            check=True,
        )
        before, peak, out_bytes, in_bytes = map(int, res.stdout.split())
        growth = (peak - before) * 1024
        raw = n * size
        out[mode] = (growth / raw, out_bytes / raw, (growth - out_bytes) / raw, in_bytes / raw)
    return out


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--update-docs", action="store_true")
    ap.add_argument("--no-rss", action="store_true")
    args = ap.parse_args()

    single = single_ops()
    rew = rewrap_ops()
    bat = batch_ops()
    mem = None if args.no_rss else rss()
    parts = anatomy()

    peers = ["keyroll", "pyca AESGCM", "pyca Fernet", "keyroll.compat Fernet"]
    if TINK is not None:
        peers.append("Tink AEAD")
    lines = []
    add = lines.append
    add("## Python")
    add("")
    add(
        f"`python python/bench/bench.py` (keyroll {keyroll.__version__} release wheel, "
        f"AEAD backend {keyroll.AEAD_BACKEND}; cryptography {cryptography.__version__}; "
        + (f"tink {TINK_VERSION}; " if TINK else "tink not installed; ")
        + f"CPython {platform.python_version()}, one thread). Best of {ROUNDS} interleaved "
        f"runs of ≥ {MIN_TIME * 1000:.0f} ms "
        "(peers take turns, so load on the shared machine hits all alike)."
    )
    add("")
    add(
        "Operations per second (GB/s of plaintext at 64 KiB). keyroll: text form at 64 B and "
        "1 KiB, binary form at 64 KiB; encryption stamps the issue time."
    )
    add("")
    add(
        "| op | size | "
        + " | ".join(peers)
        + " | keyroll ÷ AESGCM | keyroll ÷ Fernet |"
        + (" keyroll ÷ Tink |" if TINK else "")
    )
    add("|---|---|" + "---|" * len(peers) + "---|---|" + ("---|" if TINK else ""))
    for op in ("encrypt", "decrypt"):
        for label, size in SIZES:
            row = [single[(p, op, label)] for p in peers]
            k = single[("keyroll", op, label)]
            cells = [fmt_rate(r, size) for r in row]
            extra = [
                ratio(k, single[("pyca AESGCM", op, label)]),
                ratio(k, single[("pyca Fernet", op, label)]),
            ]
            if TINK:
                extra.append(ratio(k, single[("Tink AEAD", op, label)]))
            add(f"| {op} | {label} | " + " | ".join(cells + extra) + " |")
    add("")
    add("Rewrap of a 64 B token (ops/s):")
    add("")
    add("| op | ops/s | ÷ MultiFernet.rotate |")
    add("|---|---|---|")
    base = rew["pyca MultiFernet.rotate (Fernet token)"]
    for name, r in rew.items():
        add(f"| {name} | {fmt_rate(r, 64)} | {ratio(r, base)} |")
    add("")
    add("Batches of 20,000 items of 64 B (items/s; the batch calls release the GIL):")
    add("")
    add("| op | items/s |")
    add("|---|---|")
    for name, r in bat.items():
        add(f"| {name} | {fmt_rate(r, 64)} |")
    add("")
    add("Where the time goes (ns per call, same run):")
    add("")
    add("| part | ns |")
    add("|---|---|")
    for name, t in parts.items():
        add(f"| {name} | {t:.0f} |")
    if mem:
        add("")
        add(
            "`encrypt_many` over 1,000,000 items of 100 B (100 MB of plaintext; as a Python list "
            "of `bytes` the input takes 1.41× that): peak RSS growth during the call, measured "
            "in a fresh process, as multiples of the plaintext size:"
        )
        add("")
        add(
            "| form | peak RSS growth | of which the returned list | transient | "
            "growth ÷ input list |"
        )
        add("|---|---|---|---|---|")
        for mode, (growth, outb, transient, inb) in mem.items():
            add(
                f"| {mode} | {growth:.2f}× | {outb:.2f}× | {transient:+.2f}× "
                f"| {growth / inb:.2f}× |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    goals = [
        (
            "encrypt 64 B ≥ 1.5× pyca AESGCM",
            single[("keyroll", "encrypt", "64 B")] / single[("pyca AESGCM", "encrypt", "64 B")],
            1.5,
        ),
        (
            "encrypt 64 B ≥ 20× Fernet",
            single[("keyroll", "encrypt", "64 B")] / single[("pyca Fernet", "encrypt", "64 B")],
            20,
        ),
        (
            "decrypt 64 B ≥ 1.0× pyca AESGCM",
            single[("keyroll", "decrypt", "64 B")] / single[("pyca AESGCM", "decrypt", "64 B")],
            1.0,
        ),
        (
            "encrypt 64 KiB ≥ 1.0× pyca AESGCM",
            single[("keyroll", "encrypt", "64 KiB")] / single[("pyca AESGCM", "encrypt", "64 KiB")],
            1.0,
        ),
        (
            "decrypt 64 KiB ≥ 1.0× pyca AESGCM",
            single[("keyroll", "decrypt", "64 KiB")] / single[("pyca AESGCM", "decrypt", "64 KiB")],
            1.0,
        ),
        ("rewrap ≥ 20× MultiFernet.rotate", rew["keyroll rewrap (v1 → v2)"] / base, 20),
        (
            "rewrap of Fernet tokens ≥ 20× MultiFernet.rotate",
            rew["keyroll rewrap (Fernet token → v1)"] / base,
            20,
        ),
    ]
    if TINK:
        for op in ("encrypt", "decrypt"):
            for label, _ in SIZES:
                goals.append(
                    (
                        f"{op} {label} ≥ 1.3× Tink",
                        single[("keyroll", op, label)] / single[("Tink AEAD", op, label)],
                        1.3,
                    )
                )
    if mem:
        for mode in ("binary", "text"):
            growth, _, _, inb = mem[mode]
            goals.append(
                (
                    f"encrypt_many 1M×100 B ({mode}) peak RSS growth ≤ 2× the input list",
                    2 * inb / growth,
                    1.0,
                )
            )
            goals.append(
                (
                    f"encrypt_many 1M×100 B ({mode}) peak RSS growth ≤ 2× the raw plaintext",
                    2 / growth,
                    1.0,
                )
            )
    print("Goals:")
    for name, got, want in goals:
        mark = "met" if got >= want else "MISSED"
        print(f"  {mark:6} {name}: {got:.2f}" + ("" if "RSS" in name else f" (goal {want})"))
    if args.update_docs:
        update_docs(text)


def update_docs(section: str) -> None:
    path = REPO / "docs" / "benchmarks.md"
    doc = path.read_text()
    start = doc.find("\n## Python\n")
    if start < 0:
        doc = doc.rstrip("\n") + "\n\n" + section
    else:
        end = doc.find("\n## ", start + 1)
        tail = doc[end:] if end >= 0 else ""
        analysis = ""
        notes_marker = "\n### Python: reading the numbers\n"
        old = doc[start : end if end >= 0 else len(doc)]
        if notes_marker in old:
            analysis = old[old.index(notes_marker) :]
        doc = doc[:start] + "\n" + section + analysis.rstrip("\n") + "\n" + tail
    path.write_text(doc)
    print(f"updated {path}")


if __name__ == "__main__":
    main()
