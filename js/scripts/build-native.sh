#!/usr/bin/env bash
# Builds the Node-API addon (bindings/node, release) into the platform package
# js/platforms/linux-x64-gnu/, where the `keyroll` package's Node entry loads it first (through
# the npm workspace link node_modules/keyroll-linux-x64-gnu). Other platforms have no package
# yet: there keyroll runs on its WebAssembly module, and this script says so and does nothing.
# Reuses the release build of core and aws-lc-rs that scripts/ci/20-python.sh leaves in target/.
set -euo pipefail
JS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$(cd "$JS/.." && pwd)"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

libc="$(ldd --version 2>&1 | head -1 || true)"
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ] || ! grep -qi 'glibc\|gnu libc' <<<"$libc"; then
  echo "build-native: no platform package for $(uname -s)-$(uname -m); keyroll runs on WebAssembly here"
  exit 0
fi
cd "$ROOT"
cargo build -q --release -p keyroll-node --locked
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$JS/platforms/linux-x64-gnu/keyroll.linux-x64-gnu.node"
# Copied to a new file then renamed: a running process that has the old one loaded keeps it.
cp "$TARGET/release/libkeyroll_node.so" "$OUT.tmp"
mv -f "$OUT.tmp" "$OUT"
echo "built $OUT: $(wc -c < "$OUT") bytes"
