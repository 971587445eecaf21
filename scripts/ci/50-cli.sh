#!/usr/bin/env bash
# keyroll CLI and keyring store: unit and end-to-end tests on SQLite and on a throwaway
# PostgreSQL cluster (Debian's postgresql, started on 127.0.0.1 in a temp dir, stopped on exit).
# The cluster serves TLS with a certificate from a throwaway CA made here with openssl, so the
# CLI's sslmode handling is tested against a real server (KEYROLL_TEST_PG_CA names the CA file,
# KEYROLL_TEST_PG_WRONG_CA another CA that did not sign it).
#
# `--serve` starts the cluster, prints the environment to use and waits (for running single
# tests by hand: `bash scripts/ci/50-cli.sh --serve`, then Ctrl-C).
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"

apt_install postgresql openssl
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGPORT=${KEYROLL_TEST_PG_PORT:-55450}
PGTMP=$(mktemp -d)
AS_PG=()
if [ "$(id -u)" -eq 0 ]; then chown postgres "$PGTMP"; AS_PG=(runuser -u postgres --); fi
stop_pg() { "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGTMP/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$PGTMP"; }
trap stop_pg EXIT

# A CA, a server certificate for 127.0.0.1/localhost signed by it, and an unrelated CA.
TLS="$PGTMP/tls"
mkdir -p "$TLS"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=keyroll test CA" -keyout "$TLS/ca.key" -out "$TLS/ca.crt" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=keyroll unrelated CA" -keyout "$TLS/wrong-ca.key" -out "$TLS/wrong-ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=localhost" -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$TLS/ext.cnf"
openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -CAcreateserial \
  -days 2 -extfile "$TLS/ext.cnf" -out "$TLS/server.crt" 2>/dev/null
chmod 600 "$TLS/server.key"
if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$TLS"; fi

"${AS_PG[@]}" "$PGBIN/initdb" -D "$PGTMP/data" -A trust -U postgres >/dev/null
"${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/log" -w \
  -o "-p $PGPORT -k $PGTMP -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200 \
      -c ssl=on -c ssl_cert_file=$TLS/server.crt -c ssl_key_file=$TLS/server.key" start >/dev/null
export KEYROLL_TEST_PG_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
export KEYROLL_TEST_PG_CA="$TLS/ca.crt"
export KEYROLL_TEST_PG_WRONG_CA="$TLS/wrong-ca.crt"
# moto's server for the Secrets Manager store and KMS key-encryption keys (store/tests/aws.rs,
# cli/tests/aws.rs): AWS_ENDPOINT_URL on 127.0.0.1, dummy credentials, stopped on exit.
start_moto

if [ "${1:-}" = "--serve" ]; then
  echo "export KEYROLL_TEST_PG_URL=$KEYROLL_TEST_PG_URL KEYROLL_TEST_PG_CA=$KEYROLL_TEST_PG_CA KEYROLL_TEST_PG_WRONG_CA=$KEYROLL_TEST_PG_WRONG_CA"
  echo "export AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null"
  while :; do sleep 3600; done
fi

# The store with its PostgreSQL keyring store (tests/pg_store.rs, pgconn's TLS tests) on this server,
# and its AWS stores (tests/aws.rs) on moto.
cargo test --locked -p keyroll-store -p keyroll-cli --features keyroll-store/postgres,keyroll-store/aws
# keyroll.sqlalchemy / keyroll.django on this server (the wheel scripts/ci/20-python.sh installed).
(venv && cd python && python -m pytest -q -p no:cacheprovider tests/orm -k postgresql)
# keyroll.KeyringHandle on this server: `keyroll stage` (the CLI built above), a reader decrypts at once.
(venv && cd python && python -m pytest -q -p no:cacheprovider tests/test_handle_pg.py)
# The npm package's TypeORM/Drizzle columns on this server (js/ as scripts/ci/30-js.sh built it).
(cd js && node --test test/pg/*.test.mjs)
# The fleet chaos test (issue 10, tests/chaos/run.py): 4 Python and 2 Node readers, 2 writers, the
# CLI staging, promoting and emergency-rotating on this server's keyring store while a reader is
# SIGKILLed and the server restarted; bounded (CHAOS_MAX_SECONDS); prints its figures as JSON.
(venv && KEYROLL_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/keyroll" \
  CHAOS_PG_RESTART="${AS_PG[*]} $PGBIN/pg_ctl -D $PGTMP/data -l $PGTMP/log -m fast -w restart" \
  python tests/chaos/run.py)
