#!/usr/bin/env bash
# Runs the cross-language matrix: every language writes, every language reads every output.
# Usage: tests/cross/run.sh [lang ...]   (default: every executable in tests/cross/langs/)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CASES="$HERE/cases.json"
if [ $# -gt 0 ]; then langs=("$@"); else
  langs=(); for f in "$HERE"/langs/*; do langs+=("$(basename "$f")"); done
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for w in "${langs[@]}"; do
  [ -x "$HERE/langs/$w" ] || { echo "cross: no language '$w' in $HERE/langs" >&2; exit 1; }
  mkdir -p "$work/$w"
  "$HERE/langs/$w" write "$CASES" "$work/$w"
done
checks=0
for r in "${langs[@]}"; do
  for w in "${langs[@]}"; do
    "$HERE/langs/$r" read "$CASES" "$work/$w"
    checks=$((checks + 1))
  done
done
echo "cross: ${#langs[@]} languages (${langs[*]}), $checks writer×reader pairs passed"
