#!/usr/bin/env bash
# Installs every build and test dependency of stcheck from Debian packages.
# Idempotent: packages already present are skipped by apt. Runs as root (or via sudo).
set -euo pipefail

PKGS=(
    build-essential cmake pkg-config
    clang libclang-rt-14-dev afl++
    libcjson-dev libzip-dev libmagic-dev libcmocka-dev python3-jsonschema libssl-dev zlib1g-dev libbz2-dev liblzma-dev zip unzip
    python3 time
)
# Test-only packages (oracles, checkers): ci/test-deps.txt, one per line.
while read -r p; do
    case "$p" in ''|'#'*) ;; *) PKGS+=("$p") ;; esac
done <"$(dirname "$0")/test-deps.txt"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
