#!/usr/bin/env bash
# Rust: format, lints, the core's tests on both AEAD backends, and the vector diff.
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test -p keyroll --locked
# Same suite on RustCrypto aes-gcm (the wasm backend): identical bytes on every vector.
cargo test -p keyroll --locked --features rustcrypto
# Vectors are regenerated from fixed inputs and must equal what is committed.
cargo run -q -p keyroll --locked --features testing --example gen_vectors -- tests/vectors/v1
git diff --exit-code -- tests/vectors/ || { echo "tests/vectors differ from the generator's output"; exit 1; }
