#!/usr/bin/env bash
# Builds stcheck three ways and runs the whole test suite in each:
#   build/        gcc, -Wall -Wextra -Werror
#   build-clang/  clang, -Wall -Wextra -Werror
#   build-asan/   clang with AddressSanitizer + UndefinedBehaviorSanitizer
# Then runs every fuzz target briefly under libFuzzer + ASan + UBSan (ci/fuzz-smoke.sh), and
# tests the OSS-Fuzz build script the way OSS-Fuzz runs it (ci/oss-fuzz-test.sh).
# Run ci/install-deps.sh first. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc 2>/dev/null || echo 2)
export CMOCKA_MESSAGE_OUTPUT=STDOUT

run_suite() {
    local dir=$1
    shift
    echo "=== $dir: configure ($*)"
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir.configure.log" 2>&1 ||
        { cat "$dir.configure.log"; exit 1; }
    echo "=== $dir: build"
    cmake --build "$dir" -j "$JOBS"
    echo "=== $dir: test"
    ctest --test-dir "$dir" --output-on-failure -j "$JOBS"
}

mkdir -p build build-clang build-asan
run_suite build -DCMAKE_C_COMPILER=gcc
run_suite build-clang -DCMAKE_C_COMPILER=clang
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-asan -DCMAKE_C_COMPILER=clang -DSTCHECK_SANITIZE=ON
bash ci/fuzz-smoke.sh
bash ci/oss-fuzz-test.sh
echo "=== all suites passed"
