"""Writes the benchmark's raw AES-GCM table the way a home-made manager (the seeds' shape) does:
`secrets(id INTEGER PRIMARY KEY, value TEXT)` of ROWS rows, each
`base64([version byte] || nonce || AESGCM(key_v).encrypt(nonce, 100-byte secret, None))`, version
bytes 1-20 in turn, key_v = PBKDF2-HMAC-SHA256(RAW_GCM_PASSWORD, salt "app-{v}", 1000 iterations),
pyca `cryptography`. Usage: RAW_GCM_PASSWORD=... raw_gcm_table.py DB ROWS"""
import base64
import os
import sqlite3
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

VERSIONS = range(1, 21)
ITERATIONS = 1000


def key(password: bytes, v: int) -> bytes:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=f"app-{v}".encode(), iterations=ITERATIONS)
    return kdf.derive(password)


def main() -> None:
    db, rows = sys.argv[1], int(sys.argv[2])
    password = os.environ["RAW_GCM_PASSWORD"].encode()
    aeads = {v: AESGCM(key(password, v)) for v in VERSIONS}
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE secrets (id INTEGER PRIMARY KEY, value TEXT)")

    def blob(i: int) -> tuple:
        v = VERSIONS[i % len(VERSIONS)]
        nonce = os.urandom(12)
        secret = (f"secret {i:010d} " + "x" * 100)[:100].encode()
        return (i, base64.b64encode(bytes([v]) + nonce + aeads[v].encrypt(nonce, secret, None)).decode())

    conn.executemany("INSERT INTO secrets VALUES (?, ?)", (blob(i) for i in range(1, rows + 1)))
    conn.commit()


if __name__ == "__main__":
    main()
