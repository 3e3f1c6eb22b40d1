#!/bin/sh
# Built with -DSTCHECK_REMOTE=OFF (ci/build-matrix.sh's gcc-remote-off): a URL is a usage error
# (exit 3) that says why, for http(s):// and -r hf:// alike; local paths are still checked.
stcheck="$1"
out=$("$stcheck" http://127.0.0.1:9/x.safetensors 2>&1)
code=$?
[ "$code" -eq 3 ] || { echo "FAIL: exit $code, expected 3"; exit 1; }
echo "$out" | grep -q "built without remote support" || { echo "FAIL: message: $out"; exit 1; }
out=$("$stcheck" -r hf://o/r 2>&1)
[ $? -eq 3 ] || { echo "FAIL: -r hf:// exit, expected 3"; exit 1; }
echo "$out" | grep -q "built without remote support" || { echo "FAIL: -r message: $out"; exit 1; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
# an empty safetensors file: 8-byte length 8, "{}" and padding (ST138, info: a pass)
printf '\010\000\000\000\000\000\000\000{}      ' >"$dir/e.safetensors"
out=$("$stcheck" "$dir/e.safetensors" 2>&1)
[ $? -eq 0 ] || { echo "FAIL: a local file: $out"; exit 1; }
echo "$out" | grep -q "e.safetensors: PASS" || { echo "FAIL: local output: $out"; exit 1; }
echo ok
