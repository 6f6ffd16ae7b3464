#!/usr/bin/env bash
# Rebuilds the C kernels with AddressSanitizer + UndefinedBehaviorSanitizer (SSMN_SANITIZE=1) in a
# throw-away virtual environment and runs the test suite under them. Any sanitizer report aborts
# the run (-fno-sanitize-recover=all) and fails it. Usage: scripts/run_sanitized_tests.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(mktemp -d)/venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
SSMN_SANITIZE=1 "$venv/bin/pip" install -q -e ".[test]" -e plugins/examples/ssmn-rule-bcm
# Python itself is not instrumented: preload the runtimes; leak checking would flag the interpreter.
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
# -s: sanitizer reports go to stderr, which pytest would otherwise capture and hide
"$venv/bin/python" -m pytest -s -q -p no:cacheprovider -m "slow or not slow" "$@"
# leave the shared checkout's extension built without sanitizers again
"$venv/bin/pip" install -q -e . >/dev/null
