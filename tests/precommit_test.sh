#!/bin/sh
# .pre-commit-hooks.yaml for real: Debian's pre-commit runs the hook from a local clone of a
# repository holding this hook file (no network) on a scratch git repository, with the stcheck
# built here on PATH: `pre-commit run`, the installed git hook refusing a commit, the files:
# pattern, and --strict / --policy given as args.
#   precommit_test.sh STCHECK SOURCE_DIR WORK_DIR
set -eu
ST=$1
S=$2
W=$3
rm -rf "$W"
mkdir -p "$W/hooks" "$W/repo" "$W/home" "$W/bin"
W=$(cd "$W" && pwd)
ln -s "$(cd "$(dirname "$ST")" && pwd)/$(basename "$ST")" "$W/bin/stcheck"
export HOME="$W/home" PRE_COMMIT_HOME="$W/home/pre-commit" PATH="$W/bin:$PATH"
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid
export GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.invalid
command -v pre-commit >/dev/null || { echo "FAIL: pre-commit not installed (ci/test-deps.txt)"; exit 1; }
fail() { echo "FAIL: $*"; exit 1; }

# The hook repository: this repository's hook file, committed.
cp "$S/.pre-commit-hooks.yaml" "$W/hooks/"
(cd "$W/hooks" && git init -q && git add .pre-commit-hooks.yaml && git commit -q -m hooks)
REV=$(git -C "$W/hooks" rev-parse HEAD)

cd "$W/repo"
git init -q
config() { # ARGS...: the hook with these args
    {
        echo "repos:"
        echo "- repo: $W/hooks"
        echo "  rev: $REV"
        echo "  hooks:"
        echo "  - id: stcheck"
        [ $# -eq 0 ] || echo "    args: [$(echo "$@" | sed 's/ /, /g')]"
    } >.pre-commit-config.yaml
}
config
/usr/bin/python3 - <<'PY'
import json, pickle, struct
h = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
open("model.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + b"\0" * 4)  # ST139 (info)
open("data.pkl", "wb").write(pickle.dumps({"a": 1}, protocol=2))
# GLOBAL os.system + REDUCE, never unpickled
evil = b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03."
open("EVIL.PT", "wb").write(evil)
open("notes.txt", "wb").write(evil)  # not a model file name: the hook never sees it
open("p.json", "w").write('{"severity": {"ST139": "warning"}}')
PY
git add .pre-commit-config.yaml model.safetensors data.pkl notes.txt p.json

# Passing files: the hook passes (it sees only the two model files).
out=$(pre-commit run --files model.safetensors data.pkl notes.txt 2>&1) || fail "good files: $out"
echo "$out" | grep -q '^stcheck (model files are safe to load).*Passed$' || fail "no Passed line: $out"
# Only a non-model name: the hook is skipped, not run on it.
out=$(pre-commit run --files notes.txt 2>&1) || fail "notes.txt: $out"
echo "$out" | grep -q 'no files to check.*Skipped$' || fail "notes.txt not skipped: $out"

# A malicious checkpoint (upper-case extension): pre-commit fails with stcheck's finding.
git add EVIL.PT
out=$(pre-commit run --all-files 2>&1) && fail "EVIL.PT passed: $out"
echo "$out" | grep -q '^EVIL.PT: error ST201: GLOBAL imports os.system' || fail "no ST201: $out"
echo "$out" | grep -q '^stcheck (model files are safe to load).*Failed$' || fail "no Failed: $out"

# The installed git hook refuses the commit; without the file it goes through.
pre-commit install >/dev/null
git commit -q -m evil >/dev/null 2>&1 && fail "commit with EVIL.PT was accepted"
git rm -q --cached EVIL.PT
rm EVIL.PT
git commit -q -m models >/dev/null 2>&1 || fail "commit of passing files refused"

# args: a policy that makes ST139 a warning fails only with --strict.
config --policy p.json
out=$(pre-commit run --all-files 2>&1) || fail "--policy without --strict: $out"
config --strict --policy p.json
out=$(pre-commit run --all-files 2>&1) && fail "--strict passed a warning: $out"
echo "$out" | grep -q '^model.safetensors: warning ST139' || fail "no ST139 warning: $out"
echo "precommit: ok"
