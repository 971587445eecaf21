#!/usr/bin/env bash
# Migration benchmark: `keyroll migrate` vs a Python MultiFernet.rotate script over the same
# SQLite table (ROWS rows of 100-byte secrets, default 1,000,000), in the same run; a raw
# AES-GCM table (a home-made manager's blobs, written by pyca) imported with `import-raw-gcm`
# and migrated, against the manager's own re-encryption in Python; and `keyroll migrate` on a
# throwaway local PostgreSQL, as one command (2 workers) and as two `--shard` processes at once.
# Prints a Markdown table with ratios.
# Not part of CI. Usage: bash cli/benches/migrate.sh   (ROWS=200000 for a quick run)
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"
ROWS=${ROWS:-1000000}
venv
python -c "import cryptography" 2>/dev/null || pip install -q cryptography
cargo build -q --release --locked -p keyroll-cli --bin keyroll --example fernet_table
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
K="$TARGET/release/keyroll"
M="python $ROOT/cli/benches/measure.py"
W=$(mktemp -d)
PGTMP=""
cleanup() {
  if [ -n "$PGTMP" ]; then "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGTMP/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$PGTMP"; fi
  rm -rf "$W"
}
trap cleanup EXIT
export KEYROLL_KEYRING="$W/keyring.json" KEYROLL_MASTER_KEY="$("$K" generate)"
OLD_FERNET="$("$K" generate --kind fernet)"
NEW_FERNET="$("$K" generate --kind fernet)"

echo "generating $ROWS Fernet rows (100-byte secrets) ..." >&2
FERNET_KEY="$OLD_FERNET" "$TARGET/release/examples/fernet_table" "$W/base.db" "$ROWS"
python - "$W/base.db" <<'PY'
import sqlite3, sys
sqlite3.connect(sys.argv[1]).execute("PRAGMA journal_mode = WAL")
PY
cp "$W/base.db" "$W/py.db"; cp "$W/base.db" "$W/kr.db"

field() { python -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
run() { # label, command...: prints "rows_per_second seconds peak_rss"
  local out err
  out=$($M "$@" 2>"$W/err") || { cat "$W/err" >&2; exit 1; }
  err=$(tail -1 "$W/err")
  echo "$out" > "$W/last.json"
  echo "$err" > "$W/last.rss"
}

echo "python MultiFernet.rotate ..." >&2
run python cli/benches/multifernet_rotate.py "$W/py.db" "$OLD_FERNET" "$NEW_FERNET"
PY_RPS=$(field "$(cat "$W/last.json")" rows_per_second); PY_RSS=$(field "$(cat "$W/last.rss")" peak_rss_mb)

"$K" init >/dev/null
ENCRYPTION_KEY="$OLD_FERNET" "$K" import-fernet >/dev/null
echo "keyroll migrate: Fernet -> kr1 ..." >&2
run "$K" migrate --db "$W/kr.db" --table secrets --column value --apply --json
KF_RPS=$(field "$(cat "$W/last.json")" rows_per_second); KF_RSS=$(field "$(cat "$W/last.rss")" peak_rss_mb)
"$K" rotate >/dev/null
echo "keyroll migrate: v1 -> v2 ..." >&2
run "$K" migrate --db "$W/kr.db" --table secrets --column value --apply --json
KR_RPS=$(field "$(cat "$W/last.json")" rows_per_second); KR_RSS=$(field "$(cat "$W/last.rss")" peak_rss_mb)

# Raw AES-GCM (the seeds' home-made manager): PBKDF2 per version byte 1-20, blobs by pyca.
export RAW_GCM_PASSWORD="bench raw-gcm master password"
echo "generating $ROWS raw AES-GCM rows (pyca) ..." >&2
python cli/benches/raw_gcm_table.py "$W/rawbase.db" "$ROWS"
cp "$W/rawbase.db" "$W/raw_py.db"; cp "$W/rawbase.db" "$W/raw_kr.db"
echo "python AESGCM re-encryption (the manager's own rotation) ..." >&2
run python cli/benches/raw_gcm_rotate.py "$W/raw_py.db"
RP_RPS=$(field "$(cat "$W/last.json")" rows_per_second); RP_RSS=$(field "$(cat "$W/last.rss")" peak_rss_mb)
"$K" import-raw-gcm --versions 1-20 --salt-pattern 'app-{version}' --iterations 1000 >/dev/null
echo "keyroll migrate: raw AES-GCM -> kr1 ..." >&2
run "$K" migrate --db "$W/raw_kr.db" --table secrets --column value --apply --json
RK_RPS=$(field "$(cat "$W/last.json")" rows_per_second); RK_RSS=$(field "$(cat "$W/last.rss")" peak_rss_mb)
RK_REMAINING=$(field "$(cat "$W/last.json")" remaining)
[ "$RK_REMAINING" = "0" ] || { echo "raw-GCM migration left $RK_REMAINING rows" >&2; exit 1; }
unset RAW_GCM_PASSWORD

# PostgreSQL: the same rows (now kr1 v2) in a throwaway local cluster, rotated to v3.
apt_install postgresql
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGTMP=$(mktemp -d); AS_PG=()
if [ "$(id -u)" -eq 0 ]; then chown postgres "$PGTMP"; AS_PG=(runuser -u postgres --); fi
"${AS_PG[@]}" "$PGBIN/initdb" -D "$PGTMP/data" -A trust -U postgres >/dev/null
"${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/log" -w -o "-p 55460 -k $PGTMP -c listen_addresses=127.0.0.1" start >/dev/null
PG=postgres://postgres@127.0.0.1:55460/postgres
"$PGBIN/psql" -q "$PG" -c "CREATE TABLE secrets (id bigint PRIMARY KEY, value text)"
python - "$W/kr.db" <<'PY' | "$PGBIN/psql" -q "$PG" -c "COPY secrets (id, value) FROM STDIN"
import sqlite3, sys
for i, v in sqlite3.connect(sys.argv[1]).execute("SELECT id, value FROM secrets ORDER BY id"):
    sys.stdout.write(f"{i}\t{v}\n")
PY
"$PGBIN/psql" -q "$PG" -c "VACUUM ANALYZE secrets"
"$K" rotate >/dev/null
echo "keyroll migrate on PostgreSQL: v2 -> v3 (2 workers) ..." >&2
run "$K" migrate --db "$PG" --table secrets --column value --apply --workers 2 --json
PG_RPS=$(field "$(cat "$W/last.json")" rows_per_second); PG_RSS=$(field "$(cat "$W/last.rss")" peak_rss_mb)
PG_REMAINING=$(field "$(cat "$W/last.json")" remaining)
[ "$PG_REMAINING" = "0" ] || { echo "PostgreSQL migration left $PG_REMAINING rows" >&2; exit 1; }
"$PGBIN/psql" -q "$PG" -c "VACUUM ANALYZE secrets"
"$K" rotate >/dev/null
echo "keyroll migrate on PostgreSQL: two --shard processes at once ..." >&2
SH="$K migrate --db $PG --table secrets --column value --apply --json"
python cli/benches/measure_parallel.py "$SH --shard 0/2" "$SH --shard 1/2" > "$W/last.json"
S2_RPS=$(field "$(cat "$W/last.json")" rows_per_second); S2_RSS=$(field "$(cat "$W/last.json")" peak_rss_mb)
S2_REMAINING=$(field "$(cat "$W/last.json")" remaining)
[ "$S2_REMAINING" = "0" ] || { echo "sharded migration left $S2_REMAINING rows" >&2; exit 1; }

python - "$ROWS" "$PY_RPS" "$PY_RSS" "$KF_RPS" "$KF_RSS" "$KR_RPS" "$KR_RSS" "$RP_RPS" "$RP_RSS" \
  "$RK_RPS" "$RK_RSS" "$PG_RPS" "$PG_RSS" "$S2_RPS" "$S2_RSS" <<'PY'
import sys
rows = int(sys.argv[1])
py, py_rss, kf, kf_rss, kr, kr_rss, rp, rp_rss, rk, rk_rss, pg, pg_rss, s2, s2_rss = map(float, sys.argv[2:])
print(f"| {rows:,} rows, 100-byte secrets | rows/s | vs Python | peak RSS |")
print("|---|---:|---:|---:|")
print(f"| Python `MultiFernet.rotate` (cryptography), SQLite | {py:,.0f} | 1.0x | {py_rss:.0f} MB |")
print(f"| `keyroll migrate`, SQLite, Fernet -> kr1 | {kf:,.0f} | {kf/py:.1f}x | {kf_rss:.0f} MB |")
print(f"| `keyroll migrate`, SQLite, kr1 v1 -> v2 | {kr:,.0f} | {kr/py:.1f}x | {kr_rss:.0f} MB |")
print(f"| Python AESGCM re-encryption (cryptography), SQLite, raw AES-GCM | {rp:,.0f} | 1.0x (raw-GCM peer) | {rp_rss:.0f} MB |")
print(f"| `keyroll migrate`, SQLite, raw AES-GCM -> kr1 | {rk:,.0f} | {rk/rp:.1f}x raw-GCM peer | {rk_rss:.0f} MB |")
print(f"| `keyroll migrate --workers 2`, PostgreSQL 15, v2 -> v3 | {pg:,.0f} | {pg/py:.1f}x | {pg_rss:.0f} MB |")
print(f"| 2 x `keyroll migrate --shard I/2` at once, PostgreSQL 15, kr1 -> next version | {s2:,.0f} | {s2/py:.1f}x | {s2_rss:.0f} MB each (max) |")
PY
