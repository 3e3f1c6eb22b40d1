#!/bin/sh
# Mechanical style checks (curl-style): banned unbounded string functions, and clang-format
# conformance (clang-format is required: ci/test-deps.txt installs it).
SRC=$1
cd "$SRC" || exit 1
fail=0
files=$(find src cli include fuzz tests -name '*.[ch]')
if grep -nE '\b(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|strtok)[[:space:]]*\(' $files; then
    echo "FAIL: banned function used (use snprintf, memcpy with a bound, strtoull)"
    fail=1
fi
if command -v clang-format >/dev/null 2>&1; then
    if ! clang-format --dry-run --Werror $files 2>/tmp/stcheck-style.$$; then
        head -20 /tmp/stcheck-style.$$
        echo "FAIL: clang-format differences (run: clang-format -i \$(git ls-files '*.[ch]'))"
        fail=1
    fi
    rm -f /tmp/stcheck-style.$$
else
    # A missing tool is an install bug (ci/test-deps.txt lists it), never a silent pass.
    echo "FAIL: clang-format is not installed"
    fail=1
fi
[ $fail -eq 0 ] && echo "style: 1 passed, 0 failed" || echo "style: 0 passed, 1 failed"
exit $fail
