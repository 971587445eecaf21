# Shared helpers for scripts/ci/*.sh. Source it; every function is idempotent.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# apt_install PKG...: installs Debian packages that are missing (runs `apt-get update` once).
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ ! -f "$ROOT/target/.apt-updated" ]; then
    $sudo apt-get update -qq
    mkdir -p "$ROOT/target" && touch "$ROOT/target/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# venv: creates .venv (once) and puts it first on PATH.
venv() {
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    python3 -m venv "$ROOT/.venv"
    "$ROOT/.venv/bin/pip" install -q --upgrade pip
  fi
  export PATH="$ROOT/.venv/bin:$PATH"
  export VIRTUAL_ENV="$ROOT/.venv"
}

# on_exit CMD: adds CMD to the EXIT trap, after whatever is there already.
on_exit() {
  local prev
  prev=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
  # shellcheck disable=SC2064
  trap "${prev:+$prev; }$1" EXIT
}

# start_moto: moto's server (PyPI `moto[server]`, pinned in python/requirements-dev.txt) on a
# free 127.0.0.1 port, for the Secrets Manager and KMS tests with the real AWS SDKs. Waits until
# it answers HTTP, stops it on exit, and points every AWS SDK at it: AWS_ENDPOINT_URL (all
# services), region us-east-1, dummy keys, no profile files, no instance metadata — so nothing
# can reach real AWS. Exports KEYROLL_TEST_MOTO=1 for the tests that need it.
start_moto() {
  venv
  command -v moto_server >/dev/null || pip install -q -r "$ROOT/python/requirements-dev.txt"
  local port log i
  port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  log=$(mktemp)
  moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  on_exit "kill $MOTO_PID 2>/dev/null || true; rm -f $log"
  for i in $(seq 600); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/data.json" 2>/dev/null; then break; fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then echo "moto_server exited:"; cat "$log"; return 1; fi
    sleep 0.1
  done
  curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/data.json" || { echo "moto_server did not answer"; cat "$log"; return 1; }
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
  unset AWS_PROFILE AWS_SESSION_TOKEN AWS_IGNORE_CONFIGURED_ENDPOINT_URLS AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_WEB_IDENTITY_TOKEN_FILE
  export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
  export KEYROLL_TEST_MOTO=1
  echo "moto_server on $AWS_ENDPOINT_URL (pid $MOTO_PID)"
}
