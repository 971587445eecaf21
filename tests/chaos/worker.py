"""One process of the fleet chaos test (tests/chaos/run.py): a reader or a writer holding a
live keyring through ``keyroll.KeyringHandle`` on the PostgreSQL keyring store.

``worker.py reader|writer NAME STORE_URL DB_URL OUT_DIR``; the master key comes from
``KEYROLL_MASTER_KEY`` (never argv). It runs until ``OUT_DIR/stop`` exists, writing its
counters to ``OUT_DIR/NAME.json`` (atomically) several times a second, so a SIGKILL loses at
most the last fraction of a second of counts, never corrupts them.

A writer encrypts random plaintexts and inserts (plaintext, envelope) rows. A reader reads
every new row in id order (and, between, random older ones), decrypts it and compares it with
the plaintext. Database errors (the server is restarted once) are retried and counted apart:
they are not decrypt errors. A refusal of a version the operator compromised is counted apart
too (``key_compromised`` is what an emergency rotation is for); every other failure to decrypt,
and every wrong plaintext, is a decrypt error.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time

import keyroll
import psycopg

CONTEXT = b"chaos:rows"


def main() -> None:
    role, name, store_url, db_url, out_dir = sys.argv[1:6]
    # A process that starts while the store is down fails to open (there is no keyring to
    # serve with yet); its supervisor starts it again: here, a retry for up to 60 s.
    give_up = time.monotonic() + 60
    open_retries = 0
    while True:
        try:
            handle = keyroll.KeyringHandle.open(
                store_url,
                poll_interval=float(os.environ.get("CHAOS_POLL_INTERVAL", "1.0")),
                reader=name,
            )
            break
        except keyroll.KeyrollError as e:
            if e.code != "store_unavailable" or time.monotonic() > give_up:
                raise
            open_retries += 1
            time.sleep(0.1)
    counts = {
        "name": name,
        "role": role,
        "lang": "python",
        "pid": os.getpid(),
        "written": 0,
        "decrypted": 0,
        "decrypt_errors": 0,
        "refused_compromised": 0,
        "db_retries": 0,
        "open_retries": open_retries,
        "errors_sample": [],
        "generations": {},
    }
    stop = os.path.join(out_dir, "stop")
    out = os.path.join(out_dir, f"{name}.json")
    conn = None
    last_id = 0
    last_flush = 0.0
    rng = random.SystemRandom()

    def flush() -> None:
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(counts, f)
        os.replace(tmp, out)

    def note_generation() -> None:
        g = str(handle.generation)
        if g not in counts["generations"]:
            counts["generations"][g] = time.time()

    def check(plaintext: bytes, envelope: str) -> None:
        try:
            got = handle.decrypt(envelope, context=CONTEXT)
        except keyroll.KeyrollError as e:
            if e.code == "key_compromised":
                counts["refused_compromised"] += 1
                return
            counts["decrypt_errors"] += 1
            if len(counts["errors_sample"]) < 5:
                counts["errors_sample"].append(e.code)
            return
        if got == plaintext:
            counts["decrypted"] += 1
        else:
            counts["decrypt_errors"] += 1
            if len(counts["errors_sample"]) < 5:
                counts["errors_sample"].append("wrong_plaintext")

    stop_writers = os.path.join(out_dir, "stop-writers")
    while not os.path.exists(stop) and not (role == "writer" and os.path.exists(stop_writers)):
        note_generation()
        now = time.monotonic()
        if now - last_flush > 0.2:
            flush()
            last_flush = now
        try:
            if conn is None:
                conn = psycopg.connect(db_url, autocommit=True, connect_timeout=5)
            if role == "writer":
                rows = []
                for _ in range(20):
                    pt = rng.randbytes(rng.randrange(1, 200))
                    rows.append((name, pt, handle.encrypt(pt, context=CONTEXT)))
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO chaos_rows (writer, plaintext, envelope) VALUES (%s, %s, %s)",
                        rows,
                    )
                counts["written"] += len(rows)
            else:
                with conn.cursor() as cur:
                    cur.execute(
                        "SELECT id, plaintext, envelope FROM chaos_rows WHERE id > %s ORDER BY id LIMIT 200",
                        (last_id,),
                    )
                    fresh = cur.fetchall()
                    cur.execute(
                        "SELECT plaintext, envelope FROM chaos_rows"
                        " WHERE id = (SELECT floor(random() * (max(id) + 1))::bigint FROM chaos_rows)"
                    )
                    old = cur.fetchall()
                for row_id, pt, env in fresh:
                    check(bytes(pt), env)
                    last_id = row_id
                counts["last_id"] = last_id
                for pt, env in old:
                    check(bytes(pt), env)
                if not fresh:
                    time.sleep(0.01)  # pacing an idle loop, not synchronisation
        except psycopg.Error:
            counts["db_retries"] += 1
            if conn is not None:
                conn.close()
            conn = None
            time.sleep(0.05)
    note_generation()
    status = handle.status()
    counts["final_generation"] = handle.generation
    counts["last_error"] = status.get("last_error")
    flush()
    handle.close()


if __name__ == "__main__":
    main()
