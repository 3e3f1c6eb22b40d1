#!/bin/sh
# CLI tests: exit codes for every class, both output formats, --strict, --list-rules, --help,
# and that the man page documents every option of the option table.
# Usage: cli_test.sh STCHECK SRCDIR WORKDIR
set -u
ST=$1
SRC=$2
W=$3
GEN="python3 $SRC/tests/gen_safetensors.py"
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect_exit CODE CMD...: runs CMD, compares its exit code
expect_exit() {
    want=$1
    shift
    "$@" >"$W/out" 2>"$W/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok; else bad "exit $got (want $want): $*"; fi
}

rm -rf "$W" && mkdir -p "$W/c"
$GEN corpus "$W/c" || { echo "generator failed"; exit 1; }
VALID="$W/c/valid-basic.safetensors"
BAD="$W/c/ST114-duplicate-tensor.safetensors"
WARN="$W/c/ST132-empty-name.safetensors"
printf 'plain text, not a model\n' >"$W/notes.txt"

expect_exit 0 "$ST" "$VALID"
expect_exit 1 "$ST" "$BAD"
expect_exit 1 "$ST" "$VALID" "$BAD"
expect_exit 2 "$ST" "$W/does-not-exist.safetensors"
grep -q "error ST902: cannot open" "$W/out" && ok || bad "ST902 for a missing file"
expect_exit 2 "$ST" "$W"                      # a directory: not a regular file
grep -q "error ST601: not a regular file (directory)" "$W/out" && ok || bad "ST601 for a directory"
expect_exit 2 "$ST" "$W/notes.txt"            # unknown format: could not check
expect_exit 2 "$ST" "$BAD" "$W/notes.txt"     # 2 wins over 1
expect_exit 2 "$ST" "$W/notes.txt" "$BAD"     # whatever the order
expect_exit 3 "$ST"
expect_exit 3 "$ST" --no-such-option "$VALID"
expect_exit 3 "$ST" --format xml "$VALID"
expect_exit 0 "$ST" --version
expect_exit 0 "$ST" --help
expect_exit 0 "$ST" --list-rules

# --strict: a warning fails the file; without it the file passes.
expect_exit 0 "$ST" "$WARN"
expect_exit 1 "$ST" --strict "$WARN"
expect_exit 1 "$ST" -s "$WARN"

# -j: output and exit code identical to -j1 over a mixed corpus (all three verdicts).
set -- "$W"/c/*.safetensors "$SRC"/corpus/pickle/* "$SRC"/corpus/pytorch/* "$SRC"/corpus/numpy/* "$W/notes.txt"
"$ST" -j1 "$@" >"$W/j1.txt" 2>/dev/null; c1=$?
"$ST" -j4 "$@" >"$W/j4.txt" 2>/dev/null; c4=$?
[ "$c1" -eq "$c4" ] && cmp -s "$W/j1.txt" "$W/j4.txt" && ok || bad "-j4 differs from -j1"
"$ST" -j1 --format json "$@" >"$W/j1.json" 2>&1
"$ST" -j3 --format json "$@" >"$W/j3.json" 2>&1
cmp -s "$W/j1.json" "$W/j3.json" && ok || bad "-j3 json differs from -j1"
expect_exit 3 "$ST" -j 0 "$VALID"
expect_exit 3 "$ST" --jobs x "$VALID"
set --

# --explain prints the rule's documentation; -q prints only files that do not pass.
"$ST" --explain ST114 >"$W/out" && grep -q "^## ST114 duplicate-key" "$W/out" && grep -q "^Example:" "$W/out" && ok || bad "--explain"
expect_exit 3 "$ST" --explain ST000
"$ST" -q "$VALID" "$BAD" >"$W/out"
! grep -q "valid-basic" "$W/out" && grep -q "ST114-duplicate-tensor" "$W/out" && ok || bad "--quiet"

# --color: escapes only when asked; the summary line goes to stderr.
"$ST" --color always "$BAD" >"$W/out" 2>"$W/err"
grep -q "$(printf '\033')\[31m" "$W/out" && ok || bad "--color always"
"$ST" --color never "$BAD" >"$W/out" 2>"$W/err"
! grep -q "$(printf '\033')" "$W/out" && ok || bad "--color never"
grep -q "^stcheck: 1 file: 0 passed, 1 failed, 0 could not check" "$W/err" && ok || bad "summary line"
expect_exit 3 "$ST" --color sometimes "$VALID"

# --files-from: lines, standard input, NUL-separated; names with spaces and newlines.
printf '%s\n%s\n' "$VALID" "$BAD" >"$W/list.txt"
expect_exit 1 "$ST" --files-from "$W/list.txt"
grep -q "valid-basic.safetensors: PASS" "$W/out" && ok || bad "--files-from lines"
expect_exit 1 sh -c "\"$ST\" --files-from - <\"$W/list.txt\""
cp "$VALID" "$W/odd
name.safetensors"
printf '%s\0' "$W/odd
name.safetensors" >"$W/list0"
expect_exit 0 "$ST" -0 --files-from "$W/list0"
grep -q 'odd\\x0aname.safetensors: PASS' "$W/out" && ok || bad "-0 with a newline in a name"
expect_exit 3 "$ST" --files-from "$W/no-such-list"

# --json-output: text on stdout and the JSON document in a file, in one run.
expect_exit 1 "$ST" --json-output "$W/side.json" "$VALID" "$BAD"
grep -q "ST114-duplicate-tensor.safetensors: FAIL" "$W/out" && python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['summary']['files']==2" "$W/side.json" && ok || bad "--json-output"

# expect_findings CODE "VERDICT ID:SEVERITY..." CMD...: runs CMD (which writes JSON Lines for
# one file), compares its exit code and the file's exact verdict and findings (id and severity,
# in order; ST905 included).
expect_findings() {
    want_code=$1
    want=$2
    shift 2
    "$@" >"$W/out.jsonl" 2>"$W/err"
    got_code=$?
    got=$(python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
d = json.loads(lines[0])
print(" ".join([d["verdict"].replace(" ", "-")] + ["%s:%s" % (f["id"], f["severity"]) for f in d["findings"]]))
' "$W/out.jsonl" 2>&1)
    if [ "$got_code" -eq "$want_code" ] && [ "$got" = "$want" ]; then ok; else
        bad "exit $got_code, findings '$got' (want $want_code, '$want'): $*"; fi
}

# Policies: --policy, --fail-on, --check-policy (exit 3 naming the key), --print-policy; each
# case asserts the exit code, the verdict and the exact findings with their severities.
expect_findings 1 "fail ST132:warning" "$ST" --format jsonl --policy "$SRC/rules/strict.json" "$WARN"
expect_findings 0 "pass ST114:error" "$ST" --format jsonl --policy "$SRC/rules/permissive.json" "$BAD"
expect_findings 1 "fail ST132:warning" "$ST" --format jsonl --fail-on warning "$WARN"
expect_findings 0 "pass ST114:error" "$ST" --format jsonl --fail-on none "$BAD"
expect_findings 0 "pass ST132:warning" "$ST" --format jsonl "$WARN"
expect_findings 1 "fail ST114:error" "$ST" --format jsonl --policy "$SRC/rules/default.json" "$BAD"
expect_findings 0 "pass" "$ST" --format jsonl --policy "$SRC/rules/strict.json" "$VALID"
printf '{"severity":{"ST132":"error"}}' >"$W/p-raise.json"
expect_findings 1 "fail ST132:error" "$ST" --format jsonl --policy "$W/p-raise.json" "$WARN"
printf '{"severity":{"ST114":"off"}}' >"$W/p-off.json"
expect_findings 0 "pass" "$ST" --format jsonl --policy "$W/p-off.json" "$BAD"
mkdir -p "$W/pol" && cp "$SRC/rules/strict.json" "$W/pol/strict.json"
printf '{"extends":"strict.json","severity":{"ST132":"info"}}' >"$W/pol/p-extends.json"
expect_findings 0 "pass ST132:info" "$ST" --format jsonl --policy "$W/pol/p-extends.json" "$WARN"
printf '{"extends":"strict.json","fail_on":"error"}' >"$W/pol/p-fail-on.json"
expect_findings 0 "pass ST132:warning" "$ST" --format jsonl --policy "$W/pol/p-fail-on.json" "$WARN"
expect_exit 3 "$ST" --fail-on sometimes "$VALID"
expect_exit 0 "$ST" --check-policy "$SRC/rules/registry.json"
printf '{"limits":{"tensorz":1}}' >"$W/bad-policy.json"
expect_exit 3 "$ST" --check-policy "$W/bad-policy.json"
grep -q "limits.tensorz: unknown limit" "$W/err" && ok || bad "policy error names the key path"
expect_exit 3 "$ST" --policy "$W/bad-policy.json" "$VALID"
"$ST" --policy "$SRC/rules/strict.json" --print-policy >"$W/policy.json"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['fail_on']=='warning' and d['severity']['ST114']=='error' and d['limits']['header_bytes']==100000000" "$W/policy.json" && ok || bad "print-policy"

# "--" ends options: a file named like an option is still a file.
cp "$VALID" "$W/-s"
expect_exit 0 "$ST" -- "$W/-s"
(cd "$W" && "$ST" -- -s >/dev/null 2>&1); [ $? -eq 0 ] && ok || bad "-- -s"

# A FIFO is refused without blocking (no FIFO: a failure, never a silent skip).
if mkfifo "$W/fifo"; then
    expect_exit 2 "$ST" "$W/fifo"
    grep -q "error ST601: not a regular file" "$W/out" && ok || bad "ST601 for a FIFO: $(cat "$W/out")"
else
    bad "mkfifo failed: the FIFO case cannot run"
fi

# Unknown content is named by libmagic (a second opinion in the message, never a verdict);
# without its database (MAGIC names a missing file) the content is "unidentified".
"$ST" "$W/notes.txt" >"$W/out"
grep -q "ST903: content is not a format stcheck recognises (libmagic: ASCII text)" "$W/out" && ok || bad "libmagic naming"
MAGIC="$W/no-such-magic.mgc" "$ST" "$W/notes.txt" >"$W/out"
grep -q "ST903: content is not a format stcheck recognises (libmagic: unidentified)" "$W/out" && ok ||
    bad "libmagic without its database: $(cat "$W/out")"

# Text format: a finding line with id, offset and length, then the verdict line.
"$ST" "$BAD" >"$W/out"
grep -q "error ST114: duplicate key \"a\"" "$W/out" && ok || bad "text finding line"
grep -q "\[at offset [0-9]*, length [0-9]*\]" "$W/out" && ok || bad "text offset/length"
grep -q "ST114-duplicate-tensor.safetensors: FAIL (safetensors: 1 error" "$W/out" && ok || bad "verdict line"

# JSON format: one valid document with the per-file fields.
"$ST" --format json "$VALID" "$BAD" "$W/notes.txt" >"$W/out.json"
python3 - "$W/out.json" <<'PY' && ok || bad "json document"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["tool"] == "stcheck" and d["schema_version"] == 1 and "version" in d
f = d["files"]
assert [x["verdict"] for x in f] == ["pass", "fail", "could not check"], f
for x in f:
    for k in ("path", "size", "format", "kind", "wrapper", "verdict", "findings"):
        assert k in x, k
assert f[0]["tensor_count"] == 2 and f[0]["format"] == "safetensors"
assert f[0]["header_length"] > 0 and f[1]["tensor_count"] == 1
# sizes only where the format knows them: absent, never a false 0 (issue 11)
assert "tensor_count" not in f[2] and "header_length" not in f[2], f[2]
assert f[1]["findings"][0]["id"] == "ST114"
for k in ("id", "severity", "message", "offset", "length"):
    assert k in f[1]["findings"][0], k
assert d["summary"] == {"files": 3, "passed": 1, "failed": 1, "could_not_check": 1}
PY

# JSON Lines: one valid object per file, in order, each with schema_version.
"$ST" --format jsonl "$VALID" "$BAD" "$W/notes.txt" >"$W/out.jsonl"
python3 - "$W/out.jsonl" <<'PY' && ok || bad "jsonl"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 3, lines
objs = [json.loads(l) for l in lines]
assert [o["verdict"] for o in objs] == ["pass", "fail", "could not check"]
assert all(o["schema_version"] == 1 for o in objs)
PY

# What a file is (kind) and what wraps it, apart from the policy's format name (issue 11): a
# joblib dump in xz, an old joblib ZF file, an .npz; a checkpoint has no tensor_count; a global
# is named once, after Python-2 mapping, and JSON gives the file's own spelling too.
/usr/bin/python3 - "$W" <<'PY'
import joblib, numpy, pickle, sys, zlib
joblib.dump([numpy.arange(3)], sys.argv[1] + "/k.joblib.xz", compress=("xz", 3))
joblib.dump([numpy.arange(3)], sys.argv[1] + "/k.joblib")
d = pickle.dumps({1}, protocol=2)
zf = b"ZF" + ("0x%x" % len(d)).ljust(19).encode()  # joblib numpy_pickle_compat.write_zfile
open(sys.argv[1] + "/k-zf.pkl", "wb").write(zf + zlib.compress(d))
PY
K="$W/k.joblib.xz $W/k-zf.pkl $W/k.joblib $SRC/corpus/numpy/valid-arrays.npz $SRC/corpus/pytorch/valid-state-dict.pt $SRC/corpus/pytorch/valid-legacy-state-dict.pt"
"$ST" $K >"$W/out"
[ "$(grep -c ': PASS (' "$W/out")" = 6 ] &&
    grep -qx "$W/k.joblib: PASS (pickle \\[joblib\\]: 0 errors, 0 warnings, 0 info)" "$W/out" &&
    grep -qx "$W/k.joblib.xz: PASS (xz \[joblib\]: 0 errors, 0 warnings, 0 info)" "$W/out" &&
    grep -qx "$W/k-zf.pkl: PASS (joblib-zfile \[joblib\]: 0 errors, 0 warnings, 0 info)" "$W/out" &&
    grep -q "valid-arrays.npz: PASS (zip \[npz\]: 0 errors" "$W/out" &&
    grep -q "valid-state-dict.pt: PASS (pytorch: 0 errors" "$W/out" && ok || bad "kind in the verdict line"
"$ST" --format json $K >"$W/out.json"
python3 - "$W/out.json" <<'PY' && ok || bad "json kind, wrapper, sizes, import spellings"
import json, sys
f = json.load(open(sys.argv[1]))["files"]
got = [(x["format"], x["kind"], x["wrapper"]) for x in f]
assert got == [("xz", "joblib", "xz"), ("joblib-zfile", "joblib", "zlib"), ("pickle", "joblib", None),
               ("zip", "npz", "zip"), ("pytorch", "pytorch", None),
               ("pytorch-legacy", "pytorch-legacy", None)], got
assert all("tensor_count" not in x and "header_length" not in x for x in f), f
im = f[1]["imports"]
assert [(i["module"], i["name"], i["written_module"], i["written_name"]) for i in im] == [
    ("builtins", "set", "__builtin__", "set")], im
PY
# Every format name the source gives a report is listed in docs/policy.md (formats.allow).
python3 - "$SRC" <<'PY' && ok || bad "format names documented"
import glob, re, sys
src, names = sys.argv[1], set()
for p in glob.glob(src + "/src/**/*.c", recursive=True):
    s = open(p).read()
    names |= set(re.findall(r'->format = "([a-z0-9-]+)"', s))
    names |= set(re.findall(r'(?:skipped|not_inspected)\(in, "([a-z0-9-]+)"', s))
s = open(src + "/src/formats/compressed.c").read()
names |= set(re.findall(r'"([a-z0-9]+)"', re.search(r"names\[\] = \{([^}]*)\}", s).group(1)))
names |= set(re.findall(r'^\s*\{"([a-z0-9]+)", \d', open(src + "/src/formats/opaque.c").read(), re.M))
doc = open(src + "/docs/policy.md").read().split("## Format names", 1)[1]
assert len(names) > 25 and names <= set(re.findall(r"`([a-z0-9-]+)`", doc)), names
PY
"$ST" --format sarif "$SRC/corpus/numpy/ST201-npz-object-member.npz" >"$W/out.sarif"
python3 - "$W/out.sarif" <<'PY' && ok || bad "sarif kind"
import json, sys
r = json.load(open(sys.argv[1]))["runs"][0]["results"]
p = r[0]["properties"]
assert (p["format"], p["kind"], p["wrapper"]) == ("zip", "npz", "zip"), p
PY

# Messages a new user meets (issue 11), each on standard error or in the finding, exactly.
# A policy file that does not exist is blamed by its own name (not as an "extends").
expect_exit 3 "$ST" --policy "$W/nope.json" "$VALID"
grep -qx "stcheck: policy $W/nope.json: cannot open: No such file or directory" "$W/err" &&
    ! grep -q extends "$W/err" && ok || bad "--policy nope.json: $(cat "$W/err")"
printf '{"extends": "missing.json"}\n' >"$W/p-ext.json"
expect_exit 3 "$ST" --policy "$W/p-ext.json" "$VALID"
grep -q "policy $W/p-ext.json: extends: cannot open \"$W/missing.json\": No such file" "$W/err" &&
    ok || bad "extends names its file: $(cat "$W/err")"
# Shipped policies by name: found in the source tree's rules/ beside an uninstalled build (a
# build folder elsewhere finds them where it installs them; tests/install_test.sh checks that).
want="/strict.json: valid policy"
[ "$(cd "$(dirname "$ST")/../rules" 2>/dev/null && pwd -P)" = "$(cd "$SRC/rules" && pwd -P)" ] &&
    want="$(cd "$SRC/rules" && pwd -P)/strict.json: valid policy"
(cd "$W" && "$ST" --check-policy strict) >"$W/out" 2>"$W/err" &&
    case "$(cat "$W/out")" in *"$want") true ;; *) false ;; esac && ok ||
    bad "--check-policy strict: $(cat "$W/out" "$W/err")"
# A file named like a shipped policy in the working folder (a checkout under review can add
# one) never replaces it: 'strict' and 'registry.json' here would pass everything.
printf '{"fail_on": "none"}\n' >"$W/strict"
printf '{"fail_on": "none"}\n' >"$W/registry.json"
expect_findings 1 "fail ST132:warning" sh -c 'cd "$1" && "$2" --format jsonl --policy strict "$3"' \
    sh "$W" "$ST" "$WARN"
expect_findings 1 "fail ST132:warning" sh -c 'cd "$1" && "$2" --format jsonl --policy registry.json "$3"' \
    sh "$W" "$ST" "$WARN"
# ... and a path to it is that file.
expect_findings 0 "pass ST132:warning" sh -c 'cd "$1" && "$2" --format jsonl --policy ./strict "$3"' \
    sh "$W" "$ST" "$WARN"
rm -f "$W/strict" "$W/registry.json"
(cd "$W" && "$ST" --policy registry.json --print-policy) >"$W/out" 2>"$W/err" && ok ||
    bad "--policy registry.json by name: $(cat "$W/err")"
(cd "$W" && "$ST" --policy stric "$VALID") >"$W/out" 2>"$W/err"
[ $? -eq 3 ] && grep -q "^stcheck: policies are looked up by name in .*/rules" "$W/err" && ok ||
    bad "--policy stric: where policies are: $(cat "$W/err")"
# A dangling symbolic link says so, and where it points.
ln -s "$W/gone.safetensors" "$W/dangling.safetensors"
expect_exit 2 "$ST" "$W/dangling.safetensors"
grep -q "ST902: dangling symbolic link: it points to \"$W/gone.safetensors\", which does not exist" \
    "$W/out" && ok || bad "dangling link: $(cat "$W/out")"
# I/O errors have no byte range ([at offset 0, length 0] meant nothing).
grep "ST902" "$W/out" | grep -q "at offset" && bad "I/O error with a byte range" || ok
# A folder without -r: the hint to use -r.
expect_exit 2 "$ST" "$W/c"
grep -qx "stcheck: $W/c is a folder: use -r to check the files in it" "$W/err" && ok ||
    bad "folder without -r: $(cat "$W/err")"
# A mistyped option: one line, the closest option, no path of argv[0], no help.
expect_exit 3 "$ST" --polcy strict "$VALID"
[ "$(cat "$W/err")" = "stcheck: unknown option '--polcy'; did you mean '--policy'?" ] && ok ||
    bad "mistyped option: $(cat "$W/err")"
expect_exit 3 "$ST" --j 2 "$VALID"
[ "$(wc -l <"$W/err")" -eq 1 ] && grep -q "'--j' is ambiguous; it could be .*--jobs" "$W/err" &&
    ok || bad "ambiguous option: $(cat "$W/err")"
expect_exit 3 "$ST" --strict=yes "$VALID"
grep -qx "stcheck: option '--strict' takes no argument" "$W/err" && ok || bad "--strict=yes"
expect_exit 3 "$ST" --policy
grep -qx "stcheck: option '--policy' needs an argument" "$W/err" && ok || bad "missing argument"
expect_exit 3 "$ST" -Z "$VALID"
grep -qx "stcheck: unknown option '-Z' (stcheck --help lists the options)" "$W/err" && ok ||
    bad "unknown short option: $(cat "$W/err")"
# --explain: ids in any case, and the rule names --list-rules shows; a near miss is suggested.
"$ST" --explain st114 | grep -q "^## ST114 duplicate-key" && ok || bad "--explain st114"
"$ST" --explain duplicate-key | grep -q "^## ST114 duplicate-key" && ok || bad "--explain by name"
expect_exit 3 "$ST" --explain duplicat-key
grep -q "did you mean ST114 (duplicate-key)?" "$W/err" && ok || bad "--explain near miss"
# --list-rules: in id order; summaries current (tar files are read: ST502 does not name tar).
"$ST" --list-rules | cut -d' ' -f1 >"$W/ids"
sort -c "$W/ids" 2>/dev/null && ok || bad "--list-rules not in id order"
"$ST" --list-rules | grep '^ST502 ' | grep -q tar && bad "ST502 summary says tar is unsupported" || ok

# --help documents the exit codes; --list-rules lists every rule once.
"$ST" --help | grep -q "2  at least one file could not be checked" && ok || bad "help exit codes"
n_rules=$("$ST" --list-rules | grep -c '^ST[0-9][0-9][0-9] ')
n_doc=$(grep -c '^## ST[0-9][0-9][0-9] ' "$SRC/docs/rules.md")
[ "$n_rules" -gt 30 ] && [ "$n_rules" -eq "$n_doc" ] && ok || bad "list-rules $n_rules vs docs $n_doc"

# Every top-level policy key (from the effective policy, plus extends and description) has its
# entry in the man page's POLICY section.
for key in extends description $("$ST" --print-policy | sed -n 's/^\t"\([a-z_]*\)":.*/\1/p'); do
    if sed -n '/^\.SH POLICY/,/^\.SH EXIT/p' "$SRC/docs/stcheck.1" | grep -qx "\.B $key"; then ok; else bad "man page POLICY lacks key $key"; fi
done
# The man page's EXAMPLES are the README's Use commands, line for line; its DESCRIPTION names
# every kind of file stcheck reads.
sed -n '/^## Use/,/^```$/p' "$SRC/README.md" | grep '^stcheck ' >"$W/readme-use"
sed -n '/^\.SH EXAMPLES/,/^\.fi/p' "$SRC/docs/stcheck.1" | grep '^stcheck ' | sed 's/\\//g' >"$W/man-ex"
[ -s "$W/readme-use" ] && cmp -s "$W/readme-use" "$W/man-ex" && ok ||
    bad "man EXAMPLES differ from README Use: $(diff "$W/readme-use" "$W/man-ex" | tr '\n' ' ')"
sed -n '/^\.SH DESCRIPTION/,/^\.SH OPTIONS/p' "$SRC/docs/stcheck.1" >"$W/man-desc"
for kind in safetensors pickles "PyTorch checkpoints" "legacy checkpoints" "tar checkpoints" \
    NumPy npz joblib "zip and tar" index.json folders zstd GGUF; do
    grep -q "$kind" "$W/man-desc" && ok || bad "man DESCRIPTION does not name $kind"
done
# Every long option in --help is documented in the man page, and vice versa.
"$ST" --help | grep -o -- '--[a-z][a-z-]*' | sort -u >"$W/help-opts"
sed 's/\\//g' "$SRC/docs/stcheck.1" | grep -o -- '--[a-z][a-z-]*' | sort -u >"$W/man-opts"
if diff "$W/help-opts" "$W/man-opts" >/dev/null; then ok; else bad "man page options differ: $(diff "$W/help-opts" "$W/man-opts" | tr '\n' ' ')"; fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
