#!/usr/bin/env bash
# Builds and installs stcheck for the GitHub Action (action.yml) on a Debian/Ubuntu runner whose
# packages ci/install-deps.sh installed.   build.sh SOURCE_DIR BUILD_DIR PREFIX
set -euo pipefail
src=$1
build=$2
prefix=$3
# Remote checks need libcurl >= 7.85 (Ubuntu 22.04 has 7.81): without it, local files only.
remote=OFF
if pkg-config --atleast-version=7.85 libcurl 2>/dev/null; then
    remote=ON
fi
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSTCHECK_BUILD_TESTS=OFF \
    -DSTCHECK_REMOTE="$remote" -DCMAKE_INSTALL_PREFIX="$prefix"
cmake --build "$build" -j "$(nproc)"
cmake --install "$build"
"$prefix/bin/stcheck" --version
