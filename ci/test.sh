#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run). Every build has -DSTCHECK_WERROR=ON.
# Stages, with the wall time each took on a clean clone on this project's 2-core machine, idle
# (2026-11-30, at dd391c9; the script prints each stage's time at the end, so every CI log shows the real
# figures):
#   build-gcc/     gcc RelWithDebInfo, every test (the torch/numpy oracle about half)   123 s
#   build-clang/   clang RelWithDebInfo, every test                                     98 s
#   build-asan/    clang, AddressSanitizer + UndefinedBehaviorSanitizer, every test    140 s
#   coverage       gcc --coverage -O0, every test, then gcovr: fails below 95 % lines or 90 %
#                  branches of src/; report in out/ci/coverage/ (ci/coverage.sh)       120 s
#   mutation       tests/mutate.py --sample 20 --seed 12: 20 fixed mutants of tests/mutants.txt
#                  (check-removing edits to zip.c, tar.c, pickle.c, json.c, safetensors.c),
#                  each applied to a copy in build-mutation/, rebuilt, and run against the fast
#                  tests; fails below 95 % killed or on a stale anchor; out/ci/mutation.json
#                                                                                       86 s
#   valgrind       gcc, every test's programs under memcheck (ci/valgrind.sh; ~320 processes:
#                  the e2e scripts check many files per stcheck run)                   326 s
#   fuzz smoke     build, then every fuzz target (24) for 20 s under libFuzzer + ASan + UBSan
#                                                                                      552 s
#   oss-fuzz       ci/oss-fuzz/build.sh run as OSS-Fuzz runs it, each target 2,000 runs  64 s
#   build matrix   gcc and clang x Debug, Release, RelWithDebInfo, MinSizeRel, and Debian's
#                  packaging flags: library + CLI, binary hardening; and gcc without
#                  libcurl (STCHECK_REMOTE=OFF) running tests/remote_off_test.sh        195 s
#   clean tree     git status --porcelain is empty (nothing generated, logs ignored)    <1 s
# In all 28.5 minutes, under the 30 minutes CI allows, plus what ci/install-deps.sh --test
# downloads on a fresh machine. The fuzz smoke is the largest stage: a new fuzz target adds 20 s.
# It leaves build/ (the README's build) alone. Logs go to out/ci/ (ignored by git).
# Run ci/install-deps.sh --test first. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc 2>/dev/null || echo 2)
export CMOCKA_MESSAGE_OUTPUT=STDOUT
LOGS=out/ci
mkdir -p "$LOGS"
TIMES=()

stage_done() {
    TIMES+=("$(printf '%-14s %4d s' "$1" $((SECONDS - $2)))")
}

run_suite() {
    local dir=$1 start=$SECONDS
    shift
    echo "=== $dir: configure ($*)"
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTCHECK_WERROR=ON \
        -DSTCHECK_BUILD_TESTS=ON "$@" >"$LOGS/$dir.configure.log" 2>&1 ||
        { cat "$LOGS/$dir.configure.log"; exit 1; }
    echo "=== $dir: build"
    cmake --build "$dir" -j "$JOBS"
    echo "=== $dir: test"
    ctest --test-dir "$dir" --output-on-failure -j "$JOBS"
    stage_done "$dir" "$start"
}

run_suite build-gcc -DCMAKE_C_COMPILER=gcc
run_suite build-clang -DCMAKE_C_COMPILER=clang
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-asan -DCMAKE_C_COMPILER=clang -DSTCHECK_SANITIZE=ON
start=$SECONDS
bash ci/coverage.sh
stage_done "coverage" "$start"
start=$SECONDS
python3 tests/mutate.py --sample 20 --seed 12 --min-kill 95 --work build-mutation \
    --json "$LOGS/mutation.json"
stage_done "mutation" "$start"
start=$SECONDS
bash ci/valgrind.sh build-valgrind
stage_done "valgrind" "$start"
start=$SECONDS
bash ci/fuzz-smoke.sh
stage_done "fuzz smoke" "$start"
start=$SECONDS
bash ci/oss-fuzz-test.sh
stage_done "oss-fuzz" "$start"
start=$SECONDS
bash ci/build-matrix.sh
stage_done "build matrix" "$start"
# Last: every stage above must have written only to ignored places.
bash ci/check-clean.sh
echo "=== stage times"
printf '  %s\n' "${TIMES[@]}"
echo "=== all suites passed"
