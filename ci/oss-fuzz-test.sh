#!/usr/bin/env bash
# Tests ci/oss-fuzz/build.sh without Docker: sets the variables OSS-Fuzz sets (clang, ASan +
# fuzzer-no-link CFLAGS, $LIB_FUZZING_ENGINE, a scratch $OUT), runs the build, checks that every
# target, dictionary, options file and seed corpus zip landed in $OUT, and runs each target
# briefly on its seed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(mktemp -d /tmp/stcheck-ossfuzz-out.XXXXXX)
WORK=$(mktemp -d /tmp/stcheck-ossfuzz-work.XXXXXX)
trap 'rm -rf "$OUT" "$WORK"' EXIT
export CC=clang OUT WORK SRC=$WORK/src
export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address \
-fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
export LIB_FUZZING_ENGINE="-fsanitize=fuzzer"
mkdir -p "$SRC"
bash ci/oss-fuzz/build.sh >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; exit 1; }
targets=$(sed -n 's/^set(STCHECK_FUZZ_TARGETS \(.*\))$/\1/p' fuzz/CMakeLists.txt)
pass=0
fail=0
for t in $targets; do
    ok=1
    for f in "fuzz_$t" "fuzz_$t.dict" "fuzz_$t.options" "fuzz_${t}_seed_corpus.zip"; do
        [ -e "$OUT/$f" ] || { echo "missing $OUT/$f"; ok=0; }
    done
    mkdir -p "$WORK/seeds-$t"
    unzip -q -o "$OUT/fuzz_${t}_seed_corpus.zip" -d "$WORK/seeds-$t"
    if [ $ok -eq 1 ] && "$OUT/fuzz_$t" -runs=2000 -rss_limit_mb=2560 -timeout=25 \
        -dict="$OUT/fuzz_$t.dict" "$WORK/seeds-$t" >"$WORK/run-$t.log" 2>&1; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "oss-fuzz target $t failed"
        tail -20 "$WORK/run-$t.log"
    fi
done
echo "oss-fuzz build: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
