#!/usr/bin/env bash
# Builds the ten configurations users and packagers use, each with -DSTCHECK_WERROR=ON (users get
# warnings, CI fails on them): gcc and clang x Debug, Release, RelWithDebInfo, MinSizeRel, plus
# gcc and clang with Debian's packaging flags (dpkg-buildflags CFLAGS + CPPFLAGS, LDFLAGS, build
# type None, as debhelper's cmake build does). Each is configured with the default options and
# builds the library (static and shared) and the CLI only (not the tests or fuzz targets: the
# three suites in ci/test.sh build and run those), and has its binary's hardening checked
# (tests/hardening_test.sh; no FORTIFY at -O0). An eleventh, gcc-remote-off, is gcc Debug with
# -DSTCHECK_REMOTE=OFF (no libcurl): it runs tests/remote_off_test.sh (a URL is a usage error
# saying so), which no other suite can run.
# Folders: build-matrix/<compiler>-<type>/; logs: out/ci/matrix/ (both ignored by git).
# Cost on a 2-core machine: 4-13 s a configuration, 81 s for all ten (measured, ccache-free).
# Usage: ci/build-matrix.sh [NAME...]   e.g. ci/build-matrix.sh gcc-Release clang-dpkg
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc 2>/dev/null || echo 2)
LOGS=out/ci/matrix
mkdir -p "$LOGS"

configs=()
for cc in gcc clang; do
    for t in Debug Release RelWithDebInfo MinSizeRel dpkg; do configs+=("$cc-$t"); done
done
configs+=(gcc-remote-off)
[ $# -gt 0 ] && configs=("$@")

build_one() {
    local name=$1 cc=${1%%-*} type=${1#*-} dir=build-matrix/$1 start=$SECONDS
    local -a env=() args=(-DCMAKE_C_COMPILER="$cc" -DSTCHECK_WERROR=ON)
    if [ "$type" = dpkg ]; then
        command -v dpkg-buildflags >/dev/null || { echo "dpkg-buildflags missing (dpkg-dev)"; return 1; }
        env=(CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
            LDFLAGS="$(dpkg-buildflags --get LDFLAGS)")
        args+=(-DCMAKE_BUILD_TYPE=None)
    elif [ "$type" = remote-off ]; then
        args+=(-DCMAKE_BUILD_TYPE=Debug -DSTCHECK_REMOTE=OFF)
    else
        args+=(-DCMAKE_BUILD_TYPE="$type")
    fi
    # A fresh cache each time: CFLAGS from the environment only seed a new cache.
    rm -rf "$dir"
    if ! env "${env[@]}" cmake -S . -B "$dir" "${args[@]}" >"$LOGS/$name.configure.log" 2>&1 ||
        ! cmake --build "$dir" -j "$JOBS" --target stcheck stcheck_shared \
            >"$LOGS/$name.build.log" 2>&1; then
        echo "=== $name: FAILED ($((SECONDS - start)) s)"
        tail -40 "$LOGS/$name.configure.log" "$LOGS/$name.build.log" 2>/dev/null
        return 1
    fi
    local fortify=()
    [ "$type" = Debug ] || [ "$type" = remote-off ] && fortify=(--no-fortify)
    if ! sh tests/hardening_test.sh "$dir/stcheck" "${fortify[@]}" >"$LOGS/$name.hardening.log" 2>&1; then
        echo "=== $name: hardening FAILED"
        cat "$LOGS/$name.hardening.log"
        return 1
    fi
    if [ "$type" = remote-off ] && ! sh tests/remote_off_test.sh "$dir/stcheck" \
        >"$LOGS/$name.remote-off.log" 2>&1; then
        echo "=== $name: remote_off_test FAILED"
        cat "$LOGS/$name.remote-off.log"
        return 1
    fi
    echo "=== $name: built, hardened ($((SECONDS - start)) s)"
}

fail=0
for c in "${configs[@]}"; do build_one "$c" || fail=1; done
[ "$fail" -eq 0 ] && echo "=== build matrix: ${#configs[@]} configurations passed"
exit "$fail"
