#!/usr/bin/env bash
# Mobile (UniFFI): the release cdylib and the pinned uniffi-bindgen; Kotlin and Swift bindings
# generated into target/uniffi/ (never committed); the Swift bindings checked as text (no Swift
# toolchain exists here); the Kotlin suite on the JVM through JNA (every shared vector, the API
# checks); the cross-language matrix with Kotlin reading what Python and Rust wrote at test
# time and the reverse; a short smoke run of the JVM benchmark (numbers: docs/benchmarks.md).
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"

bash bindings/uniffi/tests/kotlin/build.sh

python3 bindings/uniffi/tests/swift/check_bindings.py target/uniffi/swift target/release/libkeyroll_uniffi.so

bash bindings/uniffi/tests/kotlin/run.sh VectorsTestKt tests/vectors/v1

# Kotlin must open envelopes the Python package writes. scripts/ci/20-python.sh installs the
# wheel into .venv; when this step runs on its own, build and install it here.
if ! { [ -x .venv/bin/python ] && .venv/bin/python -c 'import keyroll' 2>/dev/null; }; then
  venv
  pip install -q maturin
  (cd python && maturin build --release --strip --locked -q -o ../target/wheels)
  pip install -q --force-reinstall --no-deps target/wheels/keyroll-*.whl
fi
bash tests/cross/run.sh rust python kotlin

# Benchmark smoke run only (0.2 s per measurement); the table comes from a longer run.
bash bindings/uniffi/tests/kotlin/run.sh BenchKt 0.2 >/dev/null
echo "mobile: JVM benchmark ran (bash bindings/uniffi/tests/kotlin/run.sh BenchKt 3 for the table)"
