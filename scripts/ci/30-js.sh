#!/usr/bin/env bash
# Node and browsers: one wasm build (wasm-bindgen + npm binaryen's wasm-opt) into js/dist, the
# wasm crate's lints on wasm32, tsc on the sources and on the published .d.ts, the node:test
# suite (vectors, API, secrets, 100k-object memory, npm pack) and the same vectors in a real
# headless Chromium (Debian's chromium + playwright-core), then the cross-language matrix.
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
apt_install chromium
(cd js && npm ci --no-audit --no-fund --loglevel=error)
bash js/scripts/build.sh
# The Node-API addon into its platform package (linux-x64-gnu; release core reused from 20-python).
bash js/scripts/build-native.sh
cargo clippy -q -p keyroll-wasm --target wasm32-unknown-unknown --locked -- -D warnings
# moto's server for test/kms.test.mjs (@aws-sdk/client-kms against KMS on 127.0.0.1; stopped on exit).
start_moto
# Node runs the whole suite on the addon (KEYROLL_BACKEND=native: a broken addon fails here
# rather than falling back), then the Node suites again on the WebAssembly fallback (Chromium
# and the packed-browser test run wasm in the first pass already).
first=wasm; [ -f js/platforms/linux-x64-gnu/keyroll.linux-x64-gnu.node ] && first=native
(cd js && npm run -s typecheck && KEYROLL_BACKEND=$first node --expose-gc --test test/*.test.mjs)
if [ "$first" = native ]; then
  (cd js && KEYROLL_BACKEND=wasm node --expose-gc --test $(ls test/*.test.mjs | grep -v -e '/browser.test.mjs$' -e '/pack.test.mjs$'))
fi
# Smoke run of the signing benchmark against jose and node:crypto (numbers: docs/benchmarks.md).
(cd js && node bench/signing.mjs 20 >/dev/null) && echo "js: signing benchmark ran (cd js && node bench/signing.mjs for the table)"
# Rust, Python (the wheel scripts/ci/20-python.sh installed into .venv) and Node on the addon
# and on wasm, every pair.
bash tests/cross/run.sh rust python node node-wasm
