#!/usr/bin/env bash
# Fails if the work tree is not clean: after the README's commands (build, then the tests) no
# tracked file may have changed and no untracked, unignored file may exist. Nothing is excluded:
# builds go to build*/, logs and scratch to out/ or /tmp, all ignored by .gitignore.
# Run at the end of ci/test.sh. On a tree with uncommitted edits it fails too: that is the point.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "check-clean: not a git work tree, skipped"
    exit 0
fi
dirty=$(git status --porcelain --untracked-files=all)
if [ -n "$dirty" ]; then
    echo "check-clean: the work tree is not clean after the build and tests:"
    echo "$dirty" | head -50
    exit 1
fi
echo "check-clean: git status is clean"
