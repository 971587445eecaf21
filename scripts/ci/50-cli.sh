#!/usr/bin/env bash
# keyroll CLI and keyring store: unit and end-to-end tests on SQLite and on a throwaway
# PostgreSQL cluster (Debian's postgresql, started on 127.0.0.1 in a temp dir, stopped on exit).
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"

apt_install postgresql
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGPORT=${KEYROLL_TEST_PG_PORT:-55450}
PGTMP=$(mktemp -d)
AS_PG=()
if [ "$(id -u)" -eq 0 ]; then chown postgres "$PGTMP"; AS_PG=(runuser -u postgres --); fi
stop_pg() { "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGTMP/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$PGTMP"; }
trap stop_pg EXIT
"${AS_PG[@]}" "$PGBIN/initdb" -D "$PGTMP/data" -A trust -U postgres >/dev/null
"${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/log" -w \
  -o "-p $PGPORT -k $PGTMP -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200" start >/dev/null
export KEYROLL_TEST_PG_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"

cargo test --locked -p keyroll-store -p keyroll-cli
