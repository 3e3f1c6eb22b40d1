#!/bin/bash -eu
# OSS-Fuzz build: $CC, $CFLAGS, $LIB_FUZZING_ENGINE and $OUT come from the fuzzing
# infrastructure. Produces every fuzz target with its dictionary, options and seed corpus zip.
# Tested here by running it with those variables set as OSS-Fuzz sets them (see fuzz/README.md).
SRC_DIR=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-/tmp/stcheck-ossfuzz-work}
mkdir -p "$WORK" "$OUT"

# cJSON: static and instrumented from source when the Dockerfile cloned it; a local test run
# without it links the system library instead.
CJSON_ARGS=()
if [ -d "$SRC_DIR/cjson" ]; then
    mkdir -p "$WORK/cjson/include/cjson"
    $CC $CFLAGS -c "$SRC_DIR/cjson/cJSON.c" -o "$WORK/cjson/cJSON.o"
    ar rcs "$WORK/cjson/libcjson.a" "$WORK/cjson/cJSON.o"
    cp "$SRC_DIR/cjson/cJSON.h" "$WORK/cjson/include/cjson/"
    printf 'Name: libcjson\nDescription: cJSON\nVersion: 1.7\nCflags: -I%s\nLibs: %s\n' \
        "$WORK/cjson/include/cjson" "$WORK/cjson/libcjson.a" >"$WORK/cjson/libcjson.pc"
    export PKG_CONFIG_PATH="$WORK/cjson${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    CJSON_ARGS=(-DCMAKE_C_FLAGS="$CFLAGS -I$WORK/cjson/include")
fi

cmake -S "$ROOT" -B "$WORK/build" -DSTCHECK_OSSFUZZ=ON -DSTCHECK_BUILD_TESTS=OFF \
    -DSTCHECK_WERROR=OFF -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF "${CJSON_ARGS[@]}"
cmake --build "$WORK/build" -j"$(nproc)"

targets=$(sed -n 's/^set(STCHECK_FUZZ_TARGETS \(.*\))$/\1/p' "$ROOT/fuzz/CMakeLists.txt")
for t in $targets; do
    cp "$WORK/build/fuzz/fuzz_$t" "$OUT/"
    cp "$ROOT/fuzz/fuzz_$t.dict" "$ROOT/fuzz/fuzz_$t.options" "$OUT/"
    seeds=$(sed -n "s/^set(seeds_$t \(.*\))$/\1/p" "$ROOT/fuzz/CMakeLists.txt")
    rm -f "$OUT/fuzz_${t}_seed_corpus.zip"
    for d in $seeds; do
        (cd "$ROOT/corpus/$d" && zip -q -j "$OUT/fuzz_${t}_seed_corpus.zip" ./*)
    done
done
