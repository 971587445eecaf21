#!/usr/bin/env bash
# Python: one release abi3 wheel (maturin), installed into .venv; ruff; the pytest suite
# against the installed wheel (vectors, pyca reference client, Fernet spec, compat, threads,
# secrets); the stubs checked against the module (mypy stubtest); the cross-language harness.
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
venv
pip install -q -r python/requirements-dev.txt

ruff check --config python/pyproject.toml python/src python/tests python/bench tests/cross/python
ruff format --config python/pyproject.toml --check python/src python/tests python/bench tests/cross/python

rm -rf target/wheels/keyroll-*.whl
(cd python && maturin build --release --strip --locked -q -o ../target/wheels)
pip install -q --force-reinstall --no-deps target/wheels/keyroll-*.whl
# The suite must import the installed wheel, not the source tree.
python -c 'import keyroll, sys; assert "site-packages" in keyroll.__file__, keyroll.__file__; print("keyroll", keyroll.__version__, "from", keyroll.__file__, "AEAD:", keyroll.AEAD_BACKEND)'

# moto's server for tests/test_kms.py (boto3 against KMS on 127.0.0.1; stopped on exit).
start_moto
(cd python && python -m pytest -q -p no:cacheprovider tests)
python -m mypy.stubtest keyroll._native
python -m mypy --strict python/src/keyroll/compat.py python/src/keyroll/errors.py python/src/keyroll/__init__.py python/src/keyroll/kms.py python/tests/typecheck_api.py
python -m mypy --strict python/src/keyroll/_orm.py python/src/keyroll/sqlalchemy.py
# Django ships no type stubs: its classes are Any to mypy.
python -m mypy --strict --ignore-missing-imports --allow-subclassing-any python/src/keyroll/django

bash tests/cross/run.sh rust python
