#!/usr/bin/env bash
# Builds everything the Kotlin programs need, into target/ (nothing generated is committed):
#   target/release/libkeyroll_uniffi.so   the cdylib (release profile, strip = "debuginfo")
#   target/debug/uniffi-bindgen           the generator on the pinned uniffi (dev profile)
#   target/uniffi/{kotlin,swift}/         the generated bindings (Kotlin patched by patch_jna.py)
#   target/uniffi/kotlin-tests.jar        generated Kotlin + tests, compiled by npm kotlin-compiler
# Usage: bash bindings/uniffi/tests/kotlin/build.sh   (from anywhere; honours CARGO_TARGET_DIR,
# like cargo, so a second build dir never overwrites target/uniffi of the first)
source "$(dirname "$0")/../../../../scripts/lib.sh"
cd "$ROOT"
HERE=bindings/uniffi/tests/kotlin
T="${CARGO_TARGET_DIR:-$ROOT/target}"
apt_install libjna-java

# Release cdylib alone: the bindgen's `cli` feature must not unify into it (TOOLCHAIN.md).
cargo build -q --release --locked -p keyroll-uniffi
cargo build -q --locked -p uniffi-bindgen
rm -rf "$T/uniffi/kotlin" "$T/uniffi/swift"
for lang in kotlin swift; do
  "$T/debug/uniffi-bindgen" generate --no-format --library "$T/release/libkeyroll_uniffi.so" \
    --language "$lang" --out-dir "$T/uniffi/$lang" >/dev/null
done
# keyroll's JNA call-cost patch (docs/mobile.md, "JVM call cost patch"): Kotlin only; it fails
# the build if uniffi's generated code no longer matches what it replaces.
python3 "$HERE/patch_jna.py" "$T/uniffi/kotlin/dev/keyroll/keyroll.kt"

(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
"$HERE/node_modules/kotlin-compiler/bin/kotlinc" -nowarn -cp /usr/share/java/jna.jar \
  -d "$T/uniffi/kotlin-tests.jar" "$T/uniffi/kotlin/dev/keyroll/keyroll.kt" "$HERE"/src/*.kt
echo "built $T/uniffi/kotlin-tests.jar"
