#!/bin/sh
# cmake --install into a scratch prefix, then build and run consumers of the installed tree:
# a C program through pkg-config (shared and static) and a CMake project through
# find_package(stcheck CONFIG). Also checks the installed CLI, man page and policies.
#   install_test.sh BUILD_DIR WORK_DIR
# ST_CONSUMER_LDFLAGS: the linker flags the library was built with (tests/CMakeLists.txt passes
# CMAKE_EXE_LINKER_FLAGS). A consumer of an instrumented build needs them too: objects built
# with --coverage (ci/coverage.sh) call libgcov, which only --coverage at link time brings in.
set -eu
B=$1
W=$2
LDX=${ST_CONSUMER_LDFLAGS:-}
rm -rf "$W"
mkdir -p "$W/consumer"
P="$W/prefix"
cmake --install "$B" --prefix "$P" >/dev/null
LIBDIR=$(dirname "$(find "$P" -name stcheck.pc)")/..
for f in bin/stcheck include/stcheck.h share/man/man1/stcheck.1 share/stcheck/rules/default.json \
    share/stcheck/rules/strict.json share/stcheck/rules/registry.json \
    share/stcheck/rules/permissive.json; do
    [ -e "$P/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
"$P/bin/stcheck" --check-policy "$P/share/stcheck/rules/registry.json" >/dev/null
# Called by name from PATH, as the README's Use does, it finds the installed policies by name
# (here, with no rules/ folder anywhere near: the prefix it runs from).
mkdir -p "$W/elsewhere"
RP=$(cd "$P" && pwd -P)
out=$(cd "$W/elsewhere" && PATH="$P/bin:$PATH" stcheck --check-policy strict) ||
    { echo "FAIL: installed stcheck --check-policy strict"; exit 1; }
[ "$out" = "$RP/share/stcheck/rules/strict.json: valid policy" ] ||
    { echo "FAIL: --check-policy strict found '$out'"; exit 1; }

cat >"$W/consumer/main.c" <<'C'
#include <stdio.h>
#include <stcheck.h>
int main(int argc, char **argv)
{
    st_ctx *ctx = st_ctx_new();
    st_report *r = st_check_path(ctx, argv[argc - 1]);
    printf("%s %s\n", st_report_format(r), st_verdict_name(st_report_verdict(r)));
    int v = (int)st_report_verdict(r);
    st_report_free(r);
    st_ctx_free(ctx);
    return v;
}
C
SAMPLE=$(cd "$(dirname "$0")/.." && pwd)/corpus/safetensors/valid-basic.safetensors
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
# shared, through pkg-config
cc -o "$W/consumer/shared" "$W/consumer/main.c" $(pkg-config --cflags --libs stcheck) $LDX
out=$(LD_LIBRARY_PATH="$LIBDIR" "$W/consumer/shared" "$SAMPLE")
[ "$out" = "safetensors pass" ] || { echo "FAIL: pkg-config shared consumer printed '$out'"; exit 1; }
# static, through pkg-config --static
cc -o "$W/consumer/static" "$W/consumer/main.c" $(pkg-config --cflags stcheck) \
    "$LIBDIR/libstcheck.a" $(pkg-config --libs --static stcheck | sed 's/-lstcheck//') $LDX
out=$("$W/consumer/static" "$SAMPLE")
[ "$out" = "safetensors pass" ] || { echo "FAIL: static consumer printed '$out'"; exit 1; }
# CMake, through find_package
cat >"$W/consumer/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(stcheck 0.1 CONFIG REQUIRED)
add_executable(shared main.c)
target_link_libraries(shared PRIVATE stcheck::stcheck)
add_executable(static main.c)
target_link_libraries(static PRIVATE stcheck::stcheck_static)
CM
cmake -S "$W/consumer" -B "$W/consumer/build" -DCMAKE_PREFIX_PATH="$P" \
    -DCMAKE_EXE_LINKER_FLAGS="$LDX" >"$W/cmake.log" 2>&1 ||
    { cat "$W/cmake.log"; echo "FAIL: find_package(stcheck)"; exit 1; }
cmake --build "$W/consumer/build" >>"$W/cmake.log" 2>&1 || { cat "$W/cmake.log"; exit 1; }
for t in shared static; do
    out=$(LD_LIBRARY_PATH="$LIBDIR" "$W/consumer/build/$t" "$SAMPLE")
    [ "$out" = "safetensors pass" ] || { echo "FAIL: CMake $t consumer printed '$out'"; exit 1; }
done
echo "install: pkg-config (shared, static) and CMake (shared, static) consumers ok"
