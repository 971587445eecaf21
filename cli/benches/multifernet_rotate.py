"""The peer: what a Python service does today to rotate Fernet keys over a SQLite table —
MultiFernet([new, old]).rotate(token) row by row, batches of 5000 rows, one transaction each.
Usage: multifernet_rotate.py DB OLD_KEY NEW_KEY. Prints JSON."""
import json
import sqlite3
import sys
import time

from cryptography.fernet import Fernet, MultiFernet

db, old, new = sys.argv[1:4]
rotator = MultiFernet([Fernet(new), Fernet(old)])
conn = sqlite3.connect(db)
start = time.perf_counter()
last, rows_done = 0, 0
while True:
    rows = conn.execute(
        "SELECT id, value FROM secrets WHERE id > ? ORDER BY id LIMIT 5000", (last,)
    ).fetchall()
    if not rows:
        break
    conn.executemany(
        "UPDATE secrets SET value = ? WHERE id = ?",
        [(rotator.rotate(value.encode()).decode(), row_id) for row_id, value in rows],
    )
    conn.commit()
    last = rows[-1][0]
    rows_done += len(rows)
seconds = time.perf_counter() - start
print(json.dumps({"rows": rows_done, "seconds": seconds, "rows_per_second": rows_done / seconds}))
