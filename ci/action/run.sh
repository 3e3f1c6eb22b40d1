#!/usr/bin/env bash
# The GitHub Action's check step (action.yml), also run locally by tests/action_test.py.
# Inputs come from the environment:
#   STCHECK        the stcheck binary
#   INPUT_PATHS    paths, folders and globs (bash globstar: **/*.pt), separated by newlines or
#                  spaces; folders are walked (stcheck -r)
#   INPUT_POLICY   a policy file or shipped name (strict, registry, permissive); empty: built-in
#   INPUT_STRICT   "true": warnings fail too
#   INPUT_SARIF    SARIF file to write (for github/codeql-action/upload-sarif); empty: none
#   INPUT_JUNIT    JUnit XML file to write; empty: none
#   INPUT_FAIL     "false": exit 0 even when files fail (the outputs still tell)
#   GITHUB_OUTPUT  where outputs go (exit-code, verdict, sarif, junit, files), when set
# Exit status: stcheck's (0 pass, 1 fail, 2 could not check, 3 usage), 0 with INPUT_FAIL=false
# unless the usage is wrong.
set -euo pipefail
shopt -s globstar nullglob dotglob

st=${STCHECK:-stcheck}
list=$(mktemp)
trap 'rm -f "$list"' EXIT

# Every path or glob match, NUL-separated for --files-from -0 (names with spaces or a leading
# dash stay names); a folder turns -r on.
count=0
recursive=()
while IFS= read -r line || [ -n "$line" ]; do
    read -ra words <<<"$line"
    for pat in "${words[@]}"; do
        case $pat in
        *[*?[]*)
            matches=($pat)
            if [ ${#matches[@]} -eq 0 ]; then
                echo "::warning::stcheck: no file matches $pat"
            fi
            ;;
        *) matches=("$pat") ;;
        esac
        for m in "${matches[@]}"; do
            [ -d "$m" ] && recursive=(--recursive)
            printf '%s\0' "$m" >>"$list"
            count=$((count + 1))
        done
    done
done <<<"${INPUT_PATHS:-.}"

out() {
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
        echo "$1=$2" >>"$GITHUB_OUTPUT"
    fi
}

if [ "$count" -eq 0 ]; then
    echo "::error::stcheck: the paths input matched nothing"
    out exit-code 3
    out verdict "usage error"
    exit 3
fi

args=("${recursive[@]}")
[ "${INPUT_STRICT:-false}" = "true" ] && args+=(--strict)
[ -n "${INPUT_POLICY:-}" ] && args+=(--policy "$INPUT_POLICY")
[ -n "${INPUT_SARIF:-}" ] && args+=(--sarif-output "$INPUT_SARIF")
[ -n "${INPUT_JUNIT:-}" ] && args+=(--junit-output "$INPUT_JUNIT")

rc=0
"$st" "${args[@]}" -0 --files-from "$list" || rc=$?
case $rc in
0) verdict=pass ;;
1) verdict=fail ;;
2) verdict="could not check" ;;
*) verdict="usage error" ;;
esac
out exit-code "$rc"
out verdict "$verdict"
out files "$count"
out sarif "${INPUT_SARIF:-}"
out junit "${INPUT_JUNIT:-}"
if [ "$rc" -ne 0 ]; then
    echo "::error::stcheck: $verdict (exit status $rc)"
fi
if [ "${INPUT_FAIL:-true}" = "false" ] && [ "$rc" -ne 3 ]; then
    exit 0
fi
exit "$rc"
