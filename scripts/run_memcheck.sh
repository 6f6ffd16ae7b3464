#!/usr/bin/env bash
# Builds scripts/memcheck_driver.c together with the C core (native/, the sources that
# ssmn_rl/_native_build.py compiles) and runs it under valgrind memcheck: any invalid read or
# write, use of uninitialised memory, or leak fails the run (exit status 1), as does a failed
# status-code check inside the driver. Builds in a temporary directory; touches nothing in the
# checkout. Usage: scripts/run_memcheck.sh [extra valgrind options]
#
# The build uses the project's flags (-std=c99 -O3 -ffp-contract=fast, no fast-math) without
# -march=native: valgrind does not decode every AVX-512 instruction, and a portable build runs
# the same code paths.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in gcc valgrind; do
    command -v "$tool" >/dev/null || { echo "run_memcheck.sh: $tool not found" >&2; exit 2; }
done
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
gcc -std=c99 -O3 -g -fopenmp-simd -fno-fast-math -fno-trapping-math -ffp-contract=fast -Wall -Wextra -Wno-psabi \
    -Inative -o "$build/memcheck_driver" scripts/memcheck_driver.c \
    native/ssmn_core.c native/cell_f32.c native/cell_f64.c -lm
valgrind --tool=memcheck --error-exitcode=1 --leak-check=full --show-leak-kinds=all \
    --errors-for-leak-kinds=all --track-origins=yes "$@" "$build/memcheck_driver"
