#!/usr/bin/env bash
# Installs stcheck's dependencies from Debian packages (Debian 12). Runs as root (or via sudo);
# packages already present are skipped.
#   bash ci/install-deps.sh          what building the library and the CLI needs
#   bash ci/install-deps.sh --test   that, plus what the test suite needs (ci/test-deps.txt:
#                                    clang and its sanitizer/fuzzer runtime, cmocka, oracles...)
set -euo pipefail

PKGS=(
    build-essential cmake pkg-config
    libcjson-dev libmagic-dev libssl-dev zlib1g-dev libbz2-dev liblzma-dev
    libcurl4-openssl-dev
)
case "${1:-}" in
--test)
    # Test-only packages, one per line (other helpers append theirs).
    while read -r p; do
        case "$p" in '' | '#'*) ;; *) PKGS+=("$p") ;; esac
    done <"$(dirname "$0")/test-deps.txt"
    # Node.js and npm (tests/npm_pack.py: gguf_npm, onnx_npm, the SARIF schema): a Node the
    # machine already has is kept (NodeSource's nodejs bundles npm and conflicts with Debian's
    # npm package); otherwise Debian 12's nodejs 18 and npm, on which gguf_npm passes too.
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        PKGS+=(nodejs npm)
    fi
    ;;
'') ;;
*)
    echo "usage: $0 [--test]" >&2
    exit 3
    ;;
esac

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
