#!/usr/bin/env bash
# Runs a main class of target/uniffi/kotlin-tests.jar on the JVM with JNA loading the release
# cdylib: run.sh VectorsTestKt [dir] | BenchKt [seconds] | CrossKt write|read CASES DIR
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../../../.." && pwd)"
T="${CARGO_TARGET_DIR:-$ROOT/target}"   # where build.sh wrote (it honours CARGO_TARGET_DIR too)
main="$1"; shift
[ -f "$T/uniffi/kotlin-tests.jar" ] || bash "$ROOT/bindings/uniffi/tests/kotlin/build.sh" >&2
exec java -Djna.library.path="$T/release" \
  -cp "$T/uniffi/kotlin-tests.jar:/usr/share/java/jna.jar:$ROOT/bindings/uniffi/tests/kotlin/node_modules/kotlin-compiler/lib/kotlin-stdlib.jar" \
  "dev.keyroll.tests.$main" "$@"
