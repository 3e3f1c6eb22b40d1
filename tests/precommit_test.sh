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
# exact WANT_STATUS WANT_OUTPUT ARGS...: pre-commit ARGS exits with WANT_STATUS and prints
# exactly WANT_OUTPUT (stcheck's run time in its summary line written as T, pre-commit's
# duration as D).
exact() {
    want_rc=$1 want=$2
    shift 2
    rc=0
    pre-commit "$@" >"$W/out" 2>&1 || rc=$?
    got=$(sed -e 's/ ([0-9.]* s)$/ (T s)/' -e 's/^- duration: .*/- duration: D/' "$W/out")
    [ "$rc" = "$want_rc" ] || fail "pre-commit $*: exit status $rc, not $want_rc: $got"
    [ "$got" = "$want" ] || fail "pre-commit $*: output
$got
not
$want"
}

# The files: pattern matches every model extension of issue 17 (any case), nothing else.
/usr/bin/python3 - "$S/.pre-commit-hooks.yaml" <<'PY' || fail "files: pattern"
import re, sys, yaml
[hook] = yaml.safe_load(open(sys.argv[1]))
assert hook["id"] == "stcheck" and hook["language"] == "system", hook
files = re.compile(hook["files"])
exts = "safetensors bin pt pth ckpt pkl joblib npy npz gguf onnx keras h5".split()
for e in exts:
    for name in (f"m.{e}", f"dir/sub/M.{e.upper()}", f"a b/.{e}"):
        assert files.search(name), name
    for name in (f"m.{e}.txt", f"m{e}", f"m.{e}x"):
        assert not files.search(name), name
PY

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
pre-commit install-hooks >/dev/null 2>&1 || fail "pre-commit install-hooks"

# Passing files: the hook passes (it sees only the two model files; --verbose shows its output).
exact 0 "stcheck (model files are safe to load)...................................Passed
- hook id: stcheck
- duration: D

model.safetensors: info ST139: data section starts at 69, not on an 8-byte boundary [at offset 69, length 0]
model.safetensors: PASS (safetensors: 0 errors, 0 warnings, 1 info)
data.pkl: PASS (pickle: 0 errors, 0 warnings, 0 info)
stcheck: 2 files: 2 passed, 0 failed, 0 could not check (T s)" \
    run --verbose --files model.safetensors data.pkl notes.txt
# Only a non-model name: the hook is skipped, not run on it.
exact 0 "stcheck (model files are safe to load)...............(no files to check)Skipped" \
    run --files notes.txt

# A malicious checkpoint (upper-case extension): pre-commit fails with stcheck's finding.
git add EVIL.PT
exact 1 "stcheck (model files are safe to load)...................................Failed
- hook id: stcheck
- exit code: 1

EVIL.PT: error ST201: GLOBAL imports os.system (known dangerous) [at offset 2, length 1]
EVIL.PT: FAIL (pickle: 1 error, 0 warnings, 0 info)
stcheck: 1 file: 0 passed, 1 failed, 0 could not check (T s)" run --files EVIL.PT notes.txt
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
exact 1 "stcheck (model files are safe to load)...................................Failed
- hook id: stcheck
- exit code: 1

model.safetensors: warning ST139: data section starts at 69, not on an 8-byte boundary [at offset 69, length 0]
model.safetensors: FAIL (safetensors: 0 errors, 1 warning, 0 info)
stcheck: 1 file: 0 passed, 1 failed, 0 could not check (T s)" run --files model.safetensors
out=$(pre-commit run --all-files 2>&1) && fail "--strict passed a warning: $out"
echo "$out" | grep -q '^model.safetensors: warning ST139' || fail "no ST139 warning: $out"
echo "precommit: ok"
