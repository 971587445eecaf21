#!/usr/bin/env bash
# Builds everything the Kotlin programs need, into target/ (nothing generated is committed):
#   target/release/libkeyroll_uniffi.so   the cdylib (release profile, strip = "debuginfo")
#   target/debug/uniffi-bindgen           the generator on the pinned uniffi (dev profile)
#   target/uniffi/{kotlin,swift}/         the generated bindings
#   target/uniffi/kotlin-tests.jar        generated Kotlin + tests, compiled by npm kotlin-compiler
# Usage: bash bindings/uniffi/tests/kotlin/build.sh   (from anywhere)
source "$(dirname "$0")/../../../../scripts/lib.sh"
cd "$ROOT"
HERE=bindings/uniffi/tests/kotlin
apt_install libjna-java

# Release cdylib alone: the bindgen's `cli` feature must not unify into it (TOOLCHAIN.md).
cargo build -q --release --locked -p keyroll-uniffi
cargo build -q --locked -p uniffi-bindgen
rm -rf target/uniffi/kotlin target/uniffi/swift
for lang in kotlin swift; do
  target/debug/uniffi-bindgen generate --no-format --library target/release/libkeyroll_uniffi.so \
    --language "$lang" --out-dir "target/uniffi/$lang" >/dev/null
done

(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
"$HERE/node_modules/kotlin-compiler/bin/kotlinc" -nowarn -cp /usr/share/java/jna.jar \
  -d target/uniffi/kotlin-tests.jar target/uniffi/kotlin/dev/keyroll/keyroll.kt "$HERE"/src/*.kt
echo "built target/uniffi/kotlin-tests.jar"
