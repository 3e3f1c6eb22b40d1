#!/bin/sh
# Built with -DSTCHECK_REMOTE=OFF: a URL is a usage error (exit 3) that says why; paths still work.
stcheck="$1"
out=$("$stcheck" http://127.0.0.1:9/x.safetensors 2>&1)
code=$?
[ "$code" -eq 3 ] || { echo "FAIL: exit $code, expected 3"; exit 1; }
echo "$out" | grep -q "built without remote support" || { echo "FAIL: message: $out"; exit 1; }
out=$("$stcheck" -r hf://o/r 2>&1)
[ $? -eq 3 ] || { echo "FAIL: -r hf:// exit, expected 3"; exit 1; }
echo ok
