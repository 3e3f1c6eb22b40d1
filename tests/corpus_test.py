#!/usr/bin/env python3
"""Checks every file of a corpus folder against its exact expected outcome, listed in the
folder's EXPECTED file, and checks that names and outcomes agree.

Usage: corpus_test.py STCHECK DIR [--probe CORPUS_PROBE] [--update]

EXPECTED has one line per file: `NAME OUTCOME` (`#` starts a comment). Checked both ways: every
file has a line, every line has a file. The outcome depends on the folder:
- model files (safetensors, pytorch, pickle, numpy, index, zip, oracle, textual): stcheck's
  verdict, then every finding id of the JSON report, sorted, repeats kept:
  `fail ST201 ST208`, `pass`, `pass ST308`, `could-not-check/limit-reached ST311`
  (the reason after / is the report's error);
- legacy: as model files, after the 15-byte magic-number pickle that fuzz/fuzz_legacy.c puts
  before every input (the files are that target's seeds, kept without it);
- json, manifest, policy: the entry that reads them, through tests/corpus_probe.c: the strict
  JSON scanner (`ok TOKENS`, `error KIND@OFFSET`), the --expect manifest parser (`ok ENTRIES`,
  `error: MESSAGE`), the policy loader (`ok`, `error: MESSAGE`).
Names agree with outcomes:
- `valid-*` passes with no warning or error, and also under --strict (probe folders: `ok`);
- `STnnn-*` reports STnnn, and fails (or cannot be checked) when STnnn is an error;
- `bad-*` (probe folders) is refused (`error...`);
- `crash-*` is an input a fuzzer once crashed on (named after what it caught): any outcome,
  but exactly the expected one;
- oracle/, textual/ and zip/ files are named after the loader differential, content or zip
  anomaly they hold (tests/oracle/make_regressions.py, the textual detector's cases, the e2e
  cases of tests/gen_containers.py; test_pickle.c names the zip files): EXPECTED alone says
  their outcome, except that a name containing `benign` passes like `valid-*`. Any other name
  is an error.
--update rewrites EXPECTED from the current outcomes (review the diff before committing)."""
import json
import os
import re
import subprocess
import sys
import tempfile

PROBE_KIND = {"json": "json", "manifest": "manifest", "policy": "policy"}
FREE_NAMES = {"oracle", "textual", "zip"}
LEGACY_MAGIC = bytes([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8,
                      0x50, 0x19, 0x2e])
EXIT_OF = {"pass": 0, "fail": 1, "could not check": 2}


def read_expected(path):
    exp = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            name, _, outcome = line.partition(" ")
            if name in exp:
                raise SystemExit("%s:%d: %s listed twice" % (path, n, name))
            exp[name] = outcome.strip()
    return exp


def stcheck_outcomes(stcheck, paths, strict=False):
    """Checks many files in one stcheck run (each process costs ~1 s under the CI's valgrind
    stage): {path: (outcome, ids, verdict)}, plus problems with the run as a whole. The run's
    exit code must be the one its verdicts give (2 wins over 1 over 0)."""
    out, problems = {}, []
    for k in range(0, len(paths), 256):
        chunk = paths[k:k + 256]
        cmd = [stcheck, "--format", "json"] + (["--strict"] if strict else []) + ["--"] + chunk
        p = subprocess.run(cmd, capture_output=True)
        files = json.loads(p.stdout)["files"]
        if [f["path"] for f in files] != chunk:
            raise SystemExit("corpus_test: the report lists %d files for %d paths"
                             % (len(files), len(chunk)))
        worst = 0
        for f in files:
            verdict = f["verdict"]
            ids = sorted(x["id"] for x in f["findings"])
            head = verdict.replace(" ", "-")
            if f.get("error"):
                head += "/" + f["error"].replace(" ", "-")
            out[f["path"]] = (" ".join([head] + ids), ids, verdict)
            code = EXIT_OF.get(verdict, 3)
            worst = 2 if 2 in (worst, code) else max(worst, code)
        if p.returncode != worst:
            problems.append("exit %d does not match the verdicts (%d)" % (p.returncode, worst))
    return out, problems


def check_names(folder, name, outcome, ids, verdict, severity, strict_rc):
    """The reasons a name disagrees with its outcome (empty when they agree)."""
    kind = PROBE_KIND.get(os.path.basename(folder))
    m = re.match(r"(ST\d{3})-", name)
    if name.startswith("crash-"):
        return []
    if kind:
        if name.startswith("valid-"):
            return [] if outcome.startswith("ok") else ["a valid- file is refused"]
        if name.startswith("bad-"):
            return [] if outcome.startswith("error") else ["a bad- file is accepted"]
        return ["name must start with valid-, bad- or crash-"]
    if name.startswith("valid-") or (os.path.basename(folder) in FREE_NAMES and "benign" in name):
        bad = []
        if verdict != "pass" or any(severity.get(i) in ("error", "warning") for i in ids):
            bad.append("a valid file must pass without warnings or errors")
        if strict_rc != 0:
            bad.append("a valid- file must pass --strict (exit %s)" % strict_rc)
        return bad
    if m:
        rid = m.group(1)
        if rid not in ids:
            return ["%s not reported" % rid]
        if severity.get(rid) == "error" and verdict == "pass":
            return ["%s is an error but the file passes" % rid]
        return []
    if os.path.basename(folder) in FREE_NAMES:
        return []
    return ["name must start with valid-, STnnn- or crash-"]


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    update = "--update" in argv
    probe = None
    if "--probe" in argv:
        probe = argv[argv.index("--probe") + 1]
        args.remove(probe)
    stcheck, folder = args[0], args[1].rstrip("/")
    base = os.path.basename(folder)
    kind = PROBE_KIND.get(base)
    if kind and probe is None:
        print("corpus_test: folder %s needs --probe" % base)
        return 1
    rules = subprocess.run([stcheck, "--list-rules"], capture_output=True, text=True).stdout
    severity = {line.split()[0]: line.split()[1] for line in rules.splitlines() if line.strip()}
    exp_path = os.path.join(folder, "EXPECTED")
    expected = {} if update and not os.path.exists(exp_path) else read_expected(exp_path)
    names = sorted(n for n in os.listdir(folder) if n != "EXPECTED")
    failed, got = 0, {}
    tmp = tempfile.mkdtemp(prefix="corpus-")
    paths = {}
    for name in names:
        path = os.path.join(folder, name)
        if not kind and base == "legacy":
            with open(path, "rb") as f:
                data = LEGACY_MAGIC + f.read()
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                f.write(data)
        paths[name] = path
    results, strict = {}, {}
    if not kind:
        results, run_problems = stcheck_outcomes(stcheck, list(paths.values()))
        valid = [paths[n] for n in names if n.startswith("valid-") or "benign" in n]
        strict, strict_problems = stcheck_outcomes(stcheck, valid, strict=True)
        for problem in run_problems + strict_problems:
            failed += 1
            print("FAIL %s: %s" % (folder, problem))
    for name in names:
        path = paths[name]
        problems, ids, verdict, strict_rc = [], [], None, None
        if kind:
            p = subprocess.run([probe, kind, path], capture_output=True, text=True)
            outcome = p.stdout.strip()
            if p.returncode != 0 or "\n" in outcome:
                problems.append("probe exit %d: %s" % (p.returncode, p.stderr.strip()))
        else:
            outcome, ids, verdict = results[path]
            if path in strict:
                strict_rc = EXIT_OF.get(strict[path][2], 3)
        got[name] = outcome
        problems += check_names(folder, name, outcome, ids, verdict, severity, strict_rc)
        if not update:
            if name not in expected:
                problems.append("no line in EXPECTED")
            elif expected[name] != outcome:
                problems.append("expected %r" % expected[name])
        if problems:
            failed += 1
            print("FAIL %s: %s: %s" % (name, outcome, "; ".join(problems)))
    for name in sorted(set(expected) - set(names)):
        if not update:
            failed += 1
            print("FAIL EXPECTED lists %s, which is not in %s" % (name, folder))
    if update:
        with open(exp_path, "w", encoding="utf-8") as f:
            f.write("# corpus/%s: NAME OUTCOME, checked by tests/corpus_test.py (see there)\n"
                    % base)
            for name in names:
                f.write("%s %s\n" % (name, got[name]))
    print("%d passed, %d failed" % (len(names) - failed, failed))
    return 1 if failed or not names else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
