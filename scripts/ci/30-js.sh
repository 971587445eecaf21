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
cargo clippy -q -p keyroll-wasm --target wasm32-unknown-unknown --locked -- -D warnings
(cd js && npm run -s typecheck && node --expose-gc --test test/*.test.mjs)
# Smoke run of the signing benchmark against jose and node:crypto (numbers: docs/benchmarks.md).
(cd js && node bench/signing.mjs 20 >/dev/null) && echo "js: signing benchmark ran (cd js && node bench/signing.mjs for the table)"
# Rust, Python (the wheel scripts/ci/20-python.sh installed into .venv) and Node, every pair.
bash tests/cross/run.sh rust python node
