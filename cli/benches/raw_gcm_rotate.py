"""The peer for raw AES-GCM: what the home-made manager's own rotation does over a SQLite table
written by raw_gcm_table.py — each blob opened with AESGCM under the key of its version byte and
sealed again under a new key (version byte 21), batches of 5000 rows, one transaction each,
pyca `cryptography`. Usage: RAW_GCM_PASSWORD=... raw_gcm_rotate.py DB. Prints JSON."""
import base64
import json
import os
import sqlite3
import sys
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from raw_gcm_table import VERSIONS, key

password = os.environ["RAW_GCM_PASSWORD"].encode()
old = {v: AESGCM(key(password, v)) for v in VERSIONS}
NEW_VERSION = 21
new = AESGCM(key(password, NEW_VERSION))
conn = sqlite3.connect(sys.argv[1])


def rotate(value: str) -> str:
    raw = base64.b64decode(value)
    plaintext = old[raw[0]].decrypt(raw[1:13], raw[13:], None)
    nonce = os.urandom(12)
    return base64.b64encode(bytes([NEW_VERSION]) + nonce + new.encrypt(nonce, plaintext, None)).decode()


start = time.perf_counter()
last, rows_done = 0, 0
while True:
    rows = conn.execute("SELECT id, value FROM secrets WHERE id > ? ORDER BY id LIMIT 5000", (last,)).fetchall()
    if not rows:
        break
    conn.executemany("UPDATE secrets SET value = ? WHERE id = ?", [(rotate(v), i) for i, v in rows])
    conn.commit()
    last = rows[-1][0]
    rows_done += len(rows)
seconds = time.perf_counter() - start
print(json.dumps({"rows": rows_done, "seconds": seconds, "rows_per_second": rows_done / seconds}))
