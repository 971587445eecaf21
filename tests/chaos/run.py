"""The fleet chaos test (issue 10): one keyring in the PostgreSQL keyring store, shared by a
fleet that keeps working while the operator rotates it and things break.

- 4 Python and 2 Node readers decrypt every row as it appears (and random older ones), while
  1 Python and 1 Node writer encrypt new rows, each through a live ``KeyringHandle``
  (tests/chaos/worker.py, js/test/chaos/worker.mjs);
- the operator, through the CLI: ``stage``; ``promote`` (refused while a live reader lacks the
  staged version, retried until every reader holds it); later ``rotate --emergency`` (the
  writers' active key becomes compromised at once, so readers meet envelopes under a version
  they do not hold yet and reload on the spot); then ``migrate --apply`` re-encrypts the rows
  under the compromised key;
- meanwhile two more operators race ``policy`` changes against each other (compare-and-swap on
  the generation: none may be lost);
- one Python reader is SIGKILLed and restarted mid-way, and the PostgreSQL server is restarted
  once (``CHAOS_PG_RESTART``, a shell command).

Printed: envelopes written, decrypted, decrypt errors (goal 0), refusals of the compromised key
(by design, until migrate), the longest time from each change to every process holding it, and
the lost-change check (final generation = 1 + every change that reported success). Exit status
1 if any decrypt error or lost change. Bounded in time: every phase has a deadline.

Environment: KEYROLL_TEST_PG_URL (server), CHAOS_PG_RESTART, KEYROLL_BIN (default
target/debug/keyroll), CHAOS_POLL_INTERVAL (default 1 s).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
KEYROLL = os.environ.get("KEYROLL_BIN", str(ROOT / "target" / "debug" / "keyroll"))
POLL = float(os.environ.get("CHAOS_POLL_INTERVAL", "1.0"))
PHASE_ROWS = int(os.environ.get("CHAOS_PHASE_ROWS", "3000"))
DEADLINE = time.monotonic() + float(os.environ.get("CHAOS_MAX_SECONDS", "240"))


def log(msg: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Failed(Exception):
    pass


def wait_for(what: str, cond, limit: float = 60.0, every: float = 0.05):
    end = min(time.monotonic() + limit, DEADLINE)
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(every)
    raise Failed(f"timed out waiting for {what}")


def main() -> int:
    pg_url = os.environ["KEYROLL_TEST_PG_URL"]
    restart_cmd = os.environ.get("CHAOS_PG_RESTART")
    work = Path(tempfile.mkdtemp(prefix="keyroll-chaos-"))
    db = f"keyroll_chaos_{secrets.token_hex(3)}"
    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {db}")
    base, _, _ = pg_url.rpartition("/")
    db_url = f"{base}/{db}"
    store = f"{db_url}#chaos"
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute(
            "CREATE TABLE chaos_rows (id bigserial PRIMARY KEY, writer text NOT NULL,"
            " plaintext bytea NOT NULL, envelope text NOT NULL)"
        )
    master = subprocess.run(
        [KEYROLL, "generate"], check=True, capture_output=True, text=True
    ).stdout.strip()
    env = dict(os.environ, KEYROLL_MASTER_KEY=master, KEYROLL_KEYRING=store,
               CHAOS_POLL_INTERVAL=str(POLL))

    changes_ok = [0]  # keyring changes that reported success, from every thread
    changes_lock = threading.Lock()

    def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run([KEYROLL, *args], check=False, env=env, capture_output=True, text=True,
                           timeout=60)
        if check and r.returncode != 0:
            raise Failed(f"keyroll {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
        return r

    def change(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        """`cli` for a command that changes the keyring: a success is counted. Operators race
        here, so a `keyring_conflict` (the CLI already re-applied once) is re-run, as an
        operator would: nothing was written by the refused attempt."""
        for _ in range(20):
            r = cli(*args, check=False)
            if r.returncode == 0:
                with changes_lock:
                    changes_ok[0] += 1
                return r
            if "keyring_conflict" not in r.stderr:
                break
        if check:
            raise Failed(f"keyroll {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
        return r

    def generation() -> int:
        return json.loads(cli("info", "--json").stdout)["generation"]

    change("init")
    procs: dict[str, subprocess.Popen] = {}

    def spawn(role: str, name: str, lang: str) -> None:
        if lang == "python":
            cmd = [sys.executable, str(ROOT / "tests/chaos/worker.py")]
            cwd = ROOT
        else:
            cmd = ["node", "test/chaos/worker.mjs"]
            cwd = ROOT / "js"
        procs[name] = subprocess.Popen(
            [*cmd, role, name, store, db_url, str(work)], env=env, cwd=cwd,
        )

    for i in range(4):
        spawn("reader", f"py-reader-{i}", "python")
    for i in range(2):
        spawn("reader", f"node-reader-{i}", "node")
    spawn("writer", "py-writer", "python")
    spawn("writer", "node-writer", "node")
    names = list(procs)

    def counters() -> dict[str, dict]:
        out = {}
        for f in work.glob("*.json"):
            try:
                out[f.stem] = json.loads(f.read_text())
            except (OSError, ValueError):
                pass  # being replaced right now
        return out

    def written() -> int:
        return sum(c.get("written", 0) for c in counters().values())

    def phase(what: str, rows: int = PHASE_ROWS) -> None:
        """Lets the fleet work for `rows` more rows and at least two poll intervals."""
        mark, start = written(), time.monotonic()
        wait_for(what, lambda: written() >= mark + rows
                 and time.monotonic() - start >= 2 * POLL, 90)

    def holding(gen: int, who=None):
        """Time by which every current process had seen generation >= gen, or None."""
        cs = counters()
        times = []
        for n in who or names:
            c = cs.get(n)
            if c is None:
                return None
            seen = [t for g, t in c["generations"].items() if int(g) >= gen]
            if not seen:
                return None
            times.append(min(seen))
        return max(times)

    def readers_live() -> list[dict]:
        r = cli("readers", "--json")
        return json.loads(r.stdout)["readers"]

    results: dict[str, object] = {}
    try:
        wait_for("every process to hold the keyring", lambda: holding(1), 90)
        wait_for("every process to check in", lambda: len(readers_live()) >= len(names), 30)
        phase("the first rows")

        # Two operators race policy changes: compare-and-swap, none lost.
        race_errors: list[str] = []

        def racer(days: int) -> None:
            for i in range(8):
                r = change("policy", "--rotate-after-days", str(days + i),
                           "--warn-after-days", "30", check=False)
                if r.returncode != 0:
                    race_errors.append(r.stderr.strip())
                    return

        racers = [threading.Thread(target=racer, args=(d,)) for d in (60, 70)]
        for t in racers:
            t.start()

        # Scheduled two-phase rotation.
        t_stage = time.time()
        pending = json.loads(change("stage", "--json").stdout)["staged_version"]
        refused = 0
        while True:
            r = change("promote", str(pending), check=False)
            if r.returncode == 0:
                break
            if "readers_behind" not in r.stderr:
                raise Failed(f"promote failed: {r.stderr.strip()}")
            refused += 1
            if time.monotonic() > DEADLINE:
                raise Failed("promote never allowed")
            time.sleep(0.1)
        t_promote = time.time()
        g_promote = generation()
        results["promote_refusals_while_readers_lacked_the_key"] = refused
        results["stage_to_promote_allowed_s"] = round(t_promote - t_stage, 3)
        t_all = wait_for("every process to hold the promoted keyring", lambda: holding(g_promote), 60)
        results["promote_to_every_process_holding_it_s"] = round(max(0.0, t_all - t_promote), 3)
        for t in racers:
            t.join(timeout=120)
        if race_errors:
            raise Failed(f"racing operators: {race_errors[:3]}")

        # A reader dies and comes back; the database restarts.
        victim = "py-reader-1"
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait()
        names.remove(victim)
        (work / f"{victim}.json").rename(work / f"{victim}-killed.json.done")
        spawn("reader", victim + "-restarted", "python")
        names.append(victim + "-restarted")
        phase("rows after the kill")
        if restart_cmd:
            log("restarting PostgreSQL")
            subprocess.run(restart_cmd, shell=True, check=True, timeout=60)
            results["postgres_restarted"] = True
        phase("rows after the restart")

        # Emergency: the active key is compromised now.
        t_emergency = time.time()
        change("rotate", "--emergency", "--reason", "chaos test", "--yes")
        g_emergency = generation()
        t_all = wait_for("every process to hold the emergency keyring", lambda: holding(g_emergency), 60)
        results["emergency_to_every_process_holding_it_s"] = round(max(0.0, t_all - t_emergency), 3)
        phase("rows after the emergency")

        # Stop writing, re-encrypt what the compromised key wrote, let readers finish.
        (work / "stop-writers").touch()
        for n in ("py-writer", "node-writer"):
            procs[n].wait(timeout=30)
        # Every row under the compromised key is moved (the operator vouches for them: they
        # were written by our own writers). A migration changes rows, not the keyring.
        m = cli("migrate", "--db", db_url, "--table", "chaos_rows", "--column", "envelope",
                "--context-template", "chaos:rows", "--include-compromised", "--apply",
                "--progress", "none", "--json")
        results["migrate"] = json.loads(m.stdout)
        with psycopg.connect(db_url, autocommit=True) as c:
            top = c.execute("SELECT coalesce(max(id), 0) FROM chaos_rows").fetchone()[0]
        wait_for("every reader to read every row", lambda: all(
            counters().get(n, {}).get("last_id", 0) >= top
            for n in names if n.startswith(("py-reader", "node-reader"))), 60)
    finally:
        (work / "stop").touch()
        for p in procs.values():
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()

    cs = counters()
    total = {k: sum(c.get(k, 0) for c in cs.values()) for k in
             ("written", "decrypted", "decrypt_errors", "refused_compromised", "db_retries",
              "open_retries")}
    for f in work.glob("*-killed.json.done"):
        c = json.loads(f.read_text())
        for k in total:
            total[k] += c.get(k, 0)
    with psycopg.connect(db_url, autocommit=True) as c:
        rows = c.execute("SELECT count(*) FROM chaos_rows").fetchone()[0]
    final_generation = generation()
    # Every change that reported success (init included, as generation 1) raised the
    # generation by exactly one: a lost change would leave it lower.
    lost = changes_ok[0] - final_generation
    results.update(total)
    results["rows_in_table"] = rows
    results["final_generation"] = final_generation
    results["changes_reported_ok"] = changes_ok[0]
    results["lost_changes"] = lost
    results["errors_sample"] = sorted({e for c in cs.values() for e in c.get("errors_sample", [])})
    print(json.dumps(results, indent=2))
    # A writer's insert whose reply was lost in the server restart may have landed, so the
    # table can hold a few rows more than were counted written, never fewer.
    ok = total["decrypt_errors"] == 0 and lost == 0 and rows >= total["written"] > 0
    log("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failed as e:
        log(f"FAIL: {e}")
        sys.exit(1)
