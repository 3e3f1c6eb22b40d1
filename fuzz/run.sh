#!/bin/sh
# Runs one fuzz target with its dictionary and seed corpus under libFuzzer + ASan + UBSan.
#   fuzz/run.sh TARGET SECONDS [BUILD_DIR]     e.g. fuzz/run.sh safetensors 60
# Builds BUILD_DIR (default build-fuzz) with -DSTCHECK_FUZZ=ON if needed. New inputs go to
# out/fuzz/<target>/corpus (not committed), crashes to out/fuzz/<target>/. Limits are
# OSS-Fuzz's: -rss_limit_mb=2560 -timeout=25. Exits non-zero on any crash, leak, timeout or OOM.
set -eu
T=$1
S=$2
B=${3:-build-fuzz}
cd "$(dirname "$0")/.."
if [ ! -x "$B/fuzz/fuzz_$T" ]; then
    cmake -S . -B "$B" -DCMAKE_C_COMPILER=clang -DSTCHECK_FUZZ=ON -DSTCHECK_BUILD_TESTS=OFF >/dev/null
    cmake --build "$B" -j "$(nproc)" --target "fuzz_$T" >/dev/null
fi
W=out/fuzz/$T
mkdir -p "$W/corpus"
# Seed folders per target: read from fuzz/CMakeLists.txt (set(seeds_<target> ...)), the one list
# ctest's replay tests and ci/oss-fuzz also use, so a target's seeds cannot differ between them.
dirs=$(sed -n "s/^set(seeds_$T \(.*\))\$/\1/p" fuzz/CMakeLists.txt)
[ -n "$dirs" ] || { echo "fuzz/run.sh: no set(seeds_$T ...) in fuzz/CMakeLists.txt" >&2; exit 1; }
SEEDS=""
for d in $dirs; do SEEDS="$SEEDS corpus/$d"; done
OPTS=""
# FUZZ_SEED fixes libFuzzer's random seed (ci/fuzz-smoke.sh uses it to make CI replayable).
[ -n "${FUZZ_SEED:-}" ] && OPTS="-seed=$FUZZ_SEED"
max_len=$(sed -n 's/^max_len *= *//p' "fuzz/fuzz_$T.options" 2>/dev/null || true)
[ -n "$max_len" ] && OPTS="$OPTS -max_len=$max_len"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    "$B/fuzz/fuzz_$T" "$W/corpus" $SEEDS -dict="fuzz/fuzz_$T.dict" $OPTS \
    -max_total_time="$S" -rss_limit_mb=2560 -timeout=25 -print_final_stats=1 \
    -artifact_prefix="$W/"
