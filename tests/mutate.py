#!/usr/bin/env python3
"""Mutation check of stcheck's parsers: applies one check-removing edit at a time (from
tests/mutants.txt) to a COPY of the source tree, rebuilds it incrementally and runs the fast
tests; a mutant no test notices "survived". The source tree itself is never written.

  mutate.py --all                 every mutant in the list
  mutate.py --sample N --seed S   a fixed random sample (CI)
  mutate.py --only NAME...        the named mutants
  mutate.py --check               only verify that every anchor matches exactly once, and
                                  that every check-shaped `if` of the files has a mutant

A mutant is killed when a test fails, crashes or times out (a timeout is a kill: the mutation
made a check loop or hang; reported as "timeout"). A mutant whose edit does not compile is an
error of the list, as is an anchor that no longer matches exactly once in its file: the run
fails, never skips it. A mutant marked "= equivalent: REASON" in the list is not run; it is
listed with its reason.

The list format (tests/mutants.txt), one block per mutant:
  @ NAME FILE
  - anchor line (text after "- ", exact; several "-" lines are joined with newlines)
  + replacement line (likewise)
  = equivalent: why no behaviour can change     (optional)
Anchors are exact substrings of the file; keep them short (a condition, not a whole line with
its comment) so edits elsewhere on the line do not invalidate them.

Exit status: 0 when every mutant run was killed (or the kill rate is at least --min-kill),
1 when mutants survived below it, 2 on a list, build or baseline error."""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COPY_DIRS = ["cmake", "cli", "corpus", "docs", "fuzz", "include", "rules", "src", "tests"]
COPY_FILES = ["CMakeLists.txt"]

# Fast tests, in the order they are run for a mutant of each file: the cmocka programs that
# drive the parser first (each finishes in under a second), then the corpus folders it reads
# (a second or two each). The slower end-to-end suites (e2e_*, views, joblib, cli, shards,
# oracle, valgrind) are left out: a check only they would notice gets a fast exact test in
# tests/test_mutants.c instead. A name missing from the build is reported, never dropped
# silently.
ORDER = {
    "src/formats/zip.c": ["test_zip", "test_mutants", "test_containers", "corpus_zip",
                          "corpus_pytorch"],
    "src/formats/tar.c": ["test_tar", "test_mutants", "test_containers", "corpus_pytorch",
                          "corpus_oracle"],
    "src/formats/pickle.c": ["test_pickle", "test_pickle_values", "test_pickle_faults",
                             "test_mutants", "test_containers", "corpus_pickle",
                             "corpus_legacy", "corpus_oracle", "corpus_pytorch"],
    "src/json/json.c": ["test_json", "test_mutants", "test_safetensors", "corpus_json",
                        "corpus_safetensors"],
    "src/formats/safetensors.c": ["test_safetensors", "test_mutants", "corpus_safetensors"],
}


class ListError(Exception):
    pass


def parse_list(path):
    mutants, cur = [], None
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if line.startswith("@ "):
                parts = line[2:].split()
                if len(parts) != 2:
                    raise ListError("%s:%d: '@ NAME FILE' expected" % (path, lineno))
                cur = {"name": parts[0], "file": parts[1], "anchor": [], "repl": [],
                       "equivalent": None, "line": lineno}
                mutants.append(cur)
            elif line.startswith("#") or not line.strip():
                continue
            elif cur is None:
                raise ListError("%s:%d: line outside a mutant block" % (path, lineno))
            elif line.startswith("- ") or line == "-":
                cur["anchor"].append(line[2:])
            elif line.startswith("+ ") or line == "+":
                cur["repl"].append(line[2:])
            elif line.startswith("= equivalent:"):
                cur["equivalent"] = line[len("= equivalent:"):].strip()
            else:
                raise ListError("%s:%d: unknown line %r" % (path, lineno, line))
    names = set()
    for m in mutants:
        if m["name"] in names:
            raise ListError("duplicate mutant name %s" % m["name"])
        names.add(m["name"])
        if not m["anchor"]:
            raise ListError("mutant %s has no anchor" % m["name"])
        m["anchor"] = "\n".join(m["anchor"])
        m["repl"] = "\n".join(m["repl"])
        if m["anchor"] == m["repl"]:
            raise ListError("mutant %s changes nothing" % m["name"])
    return mutants


def check_anchors(mutants, root):
    """Every anchor must occur exactly once in its file; returns the error messages."""
    errors, texts = [], {}
    for m in mutants:
        path = os.path.join(root, m["file"])
        if m["file"] not in texts:
            try:
                with open(path, encoding="utf-8") as f:
                    texts[m["file"]] = f.read()
            except OSError as e:
                errors.append("%s: %s" % (m["name"], e))
                texts[m["file"]] = None
        text = texts[m["file"]]
        if text is None:
            continue
        n = text.count(m["anchor"])
        if n != 1:
            errors.append("mutant %s (list line %d): anchor matches %d times in %s: %r"
                          % (m["name"], m["line"], n, m["file"], m["anchor"][:120]))
        else:
            m["src_line"] = text[:text.index(m["anchor"])].count("\n") + 1
    return errors, texts


# What makes an `if` a check the list must cover: its body records a finding, refuses, or
# returns an error (the rule the generated blocks follow). Allocation failures and `if`s that
# only hold a nested check (the nested one is the check) are left out.
CHECK_BODY = re.compile(r"st_report_add|st_report_fail|\bstructure\(|\bio_error\(|\bmalformed\("
                        r"|\brefused\(|\bfail\(|\blimit\(|\bFINDING\(|data_class_misused\("
                        r"|name_too_long\(|return ST_E_|return -2;")
ALLOC_BODY = re.compile(r"NOMEM|nomem\(|out of memory|\bmalloc\(|\bcalloc\(|\brealloc\(")


def balanced(text, i, op, cl):
    """Index of the bracket closing the one at text[i]."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == op:
            depth += 1
        elif text[j] == cl:
            depth -= 1
            if depth == 0:
                return j
    return len(text) - 1


def find_gaps(mutants, root):
    """`if`s of the listed files whose body is a check (CHECK_BODY) and whose condition no
    anchor of the list holds: checks added since the list was generated."""
    gaps = []
    for f in sorted(ORDER):
        with open(os.path.join(root, f), encoding="utf-8") as fh:
            text = fh.read()
        anchors = [" ".join(m["anchor"].split()) for m in mutants if m["file"] == f]
        for mo in re.finditer(r"\bif \(", text):
            close = balanced(text, mo.end() - 1, "(", ")")
            cond = " ".join(text[mo.end():close].split())
            k = close + 1
            while k < len(text) and text[k] in " \t\n":
                k += 1
            body = text[k:balanced(text, k, "{", "}") + 1] if text[k] == "{" else \
                text[k:text.find(";", k) + 1]
            if not CHECK_BODY.search(body) or ALLOC_BODY.search(body) or \
                    re.search(r"\bif \(", body):
                continue
            if not any(cond[:60] in a for a in anchors):
                gaps.append("%s:%d: if (%s)" % (f, text[:mo.start()].count("\n") + 1, cond[:100]))
    return gaps


def sync_tree(src, dst):
    """Copies the source tree into dst, writing only files whose bytes differ (so the build
    there stays incremental) and removing files gone from the source."""
    for d in COPY_DIRS:
        s_root, d_root = os.path.join(src, d), os.path.join(dst, d)
        seen = set()
        for dirpath, dirnames, filenames in os.walk(s_root):
            dirnames[:] = [x for x in dirnames if x != "__pycache__"]
            rel = os.path.relpath(dirpath, s_root)
            os.makedirs(os.path.join(d_root, rel), exist_ok=True)
            for fn in filenames:
                r = os.path.normpath(os.path.join(rel, fn))
                seen.add(r)
                copy_if_changed(os.path.join(dirpath, fn), os.path.join(d_root, r))
        for dirpath, dirnames, filenames in os.walk(d_root):
            dirnames[:] = [x for x in dirnames if x != "__pycache__"]
            rel = os.path.relpath(dirpath, d_root)
            for fn in filenames:
                if os.path.normpath(os.path.join(rel, fn)) not in seen:
                    os.unlink(os.path.join(dirpath, fn))
    for fn in COPY_FILES:
        copy_if_changed(os.path.join(src, fn), os.path.join(dst, fn))


def copy_if_changed(a, b):
    with open(a, "rb") as f:
        data = f.read()
    try:
        with open(b, "rb") as f:
            if f.read() == data:
                return
    except OSError:
        pass
    with open(b, "wb") as f:
        f.write(data)
    shutil.copymode(a, b)


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def configure(tree, build):
    if os.path.exists(os.path.join(build, "CMakeCache.txt")):
        # regenerate for the tree as it is now (new tests, new targets), keeping the cache
        p = run(["cmake", "-S", tree, "-B", build])
        if p.returncode != 0:
            sys.exit("mutate: cmake failed\n" + p.stdout[-4000:])
        return
    # -O0: the compile of one parser after each edit dominates the cost of a mutant.
    p = run(["cmake", "-S", tree, "-B", build, "-DCMAKE_C_COMPILER=gcc",
             "-DCMAKE_BUILD_TYPE=Debug", "-DCMAKE_C_FLAGS_DEBUG=-O0",
             "-DSTCHECK_HARDEN=OFF"])
    if p.returncode != 0:
        sys.exit("mutate: cmake failed\n" + p.stdout[-4000:])


def ctest_tests(build):
    p = run(["ctest", "--test-dir", build, "--show-only=json-v1"])
    if p.returncode != 0:
        sys.exit("mutate: ctest --show-only failed\n" + p.stdout[-2000:])
    out = {}
    for t in json.loads(p.stdout)["tests"]:
        if "command" not in t:
            continue  # a program not built (fuzz replays): not among the fast tests
        env, wd = {}, build
        for prop in t.get("properties", []):
            if prop["name"] == "ENVIRONMENT":
                for kv in prop["value"]:
                    k, _, v = kv.partition("=")
                    env[k] = v
            elif prop["name"] == "WORKING_DIRECTORY":
                wd = prop["value"]
        out[t["name"]] = {"cmd": t["command"], "env": env, "cwd": wd}
    return out


def test_order(tests, file):
    return [n for n in ORDER[file] if n in tests]


def targets_of(build, tests, names):
    """The build targets the named tests run: programs of the build named on their command
    lines (a script's CLI and probe too); a script with none runs the CLI."""
    targets = set()
    for n in names:
        cmd = tests[n]["cmd"]
        mine = {os.path.basename(x) for x in cmd
                if os.path.abspath(x).startswith(os.path.abspath(build) + os.sep)
                and os.path.basename(x) in TARGETS}
        targets |= mine or {"stcheck"}
    return targets


def build_targets(build, targets, log):
    p = run(["cmake", "--build", build, "-j", str(JOBS), "--target"] + sorted(targets))
    if p.returncode != 0:
        log.write(p.stdout)
    return p.returncode == 0, p.stdout


def run_test(t, timeout):
    env = dict(os.environ)
    env.update(t["env"])
    try:
        p = subprocess.run(t["cmd"], cwd=t["cwd"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        return "pass" if p.returncode == 0 else "fail"
    except subprocess.TimeoutExpired:
        return "timeout"


JOBS = 2
TARGETS = set()  # every target of the build (cmake --build --target help)


def main():
    global JOBS
    # a kill (CI timeout) still restores the copy's sources (finally below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--all", action="store_true")
    g.add_argument("--sample", type=int, metavar="N")
    g.add_argument("--only", nargs="+", metavar="NAME")
    g.add_argument("--check", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--list", default=os.path.join(ROOT, "tests", "mutants.txt"))
    ap.add_argument("--work", default=os.path.join(ROOT, "build-mut"),
                    help="work folder: tree/ (the copy) and build/ (its build)")
    ap.add_argument("--rev", help="mutate this git revision (git archive) instead of the work "
                    "tree")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--min-kill", type=float, default=100.0,
                    help="exit 0 when at least this percentage of the mutants run are killed")
    a = ap.parse_args()
    JOBS = a.jobs
    try:
        mutants = parse_list(a.list)
    except ListError as e:
        print("mutate: %s" % e, file=sys.stderr)
        return 2
    # with --rev the anchors are checked against that revision's copy, in run_mutants
    errors = [] if a.rev else check_anchors(mutants, ROOT)[0]
    unknown = sorted({m["file"] for m in mutants} - set(ORDER))
    errors += ["no test order for %s (add it to ORDER)" % f for f in unknown]
    if errors:
        print("mutate: the mutant list does not match the sources:", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        return 2
    if a.check:
        print("mutate: %d mutants, every anchor matches once" % len(mutants))
        gaps = find_gaps(mutants, ROOT)
        if gaps:
            print("mutate: checks no mutant covers (add a block for each):", file=sys.stderr)
            for g in gaps:
                print("  " + g, file=sys.stderr)
            return 2
        print("mutate: every `if` whose body records a finding, refuses or returns an error "
              "has a mutant")
        return 0
    live = [m for m in mutants if m["equivalent"] is None]
    if a.only:
        want = set(a.only)
        missing = want - {m["name"] for m in mutants}
        if missing:
            print("mutate: unknown mutants: %s" % " ".join(sorted(missing)), file=sys.stderr)
            return 2
        chosen = [m for m in live if m["name"] in want]
    elif a.sample is not None:
        chosen = random.Random(a.seed).sample(live, min(a.sample, len(live)))
    else:
        chosen = live
    return run_mutants(a, mutants, chosen)


def run_mutants(a, mutants, chosen):
    tree, build = os.path.join(a.work, "tree"), os.path.join(a.work, "build")
    os.makedirs(tree, exist_ok=True)
    log = open(os.path.join(a.work, "mutate.log"), "w", encoding="utf-8")
    t0 = time.time()
    src = ROOT
    if a.rev:
        # a committed tree: other people's unfinished edits in the work tree stay out of it
        src = os.path.join(a.work, "rev")
        shutil.rmtree(src, ignore_errors=True)
        os.makedirs(src)
        arch = subprocess.run(["git", "-C", ROOT, "archive", a.rev] + COPY_DIRS + COPY_FILES,
                              stdout=subprocess.PIPE, check=True).stdout
        subprocess.run(["tar", "-x", "-C", src], input=arch, check=True)
    sync_tree(src, tree)
    errors, originals = check_anchors(mutants, tree)
    if errors:
        print("mutate: the mutant list does not match %s:" % (a.rev or "the tree"),
              file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        return 2
    configure(tree, build)
    # ctest names a test's program only once it is built: build the CLI and every cmocka
    # program (targets test_*) first.
    helps = run(["cmake", "--build", build, "--target", "help"]).stdout
    TARGETS.update(re.findall(r"^\.\.\. (\w+)", helps, re.M))
    units = sorted(t for t in TARGETS if t.startswith("test_"))
    p = run(["cmake", "--build", build, "-j", str(JOBS), "--target", "stcheck"] + units)
    if p.returncode != 0:
        log.write(p.stdout)
        print("mutate: the unmutated tree does not build (see %s)" % log.name, file=sys.stderr)
        return 2
    tests = ctest_tests(build)
    files = sorted({m["file"] for m in chosen})
    need = sorted({n for f in files for n in test_order(tests, f)})
    missing = sorted({n for f in files for n in ORDER[f]} - set(tests))
    if missing:
        print("mutate: not in this build (not run): %s" % " ".join(missing), file=sys.stderr)
    ok, _ = build_targets(build, targets_of(build, tests, need), log)
    if not ok:
        print("mutate: the unmutated tree does not build (see %s)" % log.name, file=sys.stderr)
        return 2
    base = {}
    for n in need:
        s = time.time()
        r = run_test(tests[n], 600)
        base[n] = time.time() - s
        if r != "pass":
            print("mutate: baseline test %s fails on the unmutated tree" % n, file=sys.stderr)
            return 2
    print("mutate: baseline of %d tests passed in %.1f s (setup %.1f s); %d mutants to run"
          % (len(need), sum(base.values()), time.time() - t0, len(chosen)), flush=True)
    results = []
    try:
        for f in files:
            path = os.path.join(tree, f)
            order = test_order(tests, f)
            for m in (x for x in chosen if x["file"] == f):
                s = time.time()
                write(path, originals[f].replace(m["anchor"], m["repl"], 1))
                # Programs are relinked only when a test needs them: most mutants die in the
                # first unit test, so the rest is never rebuilt for them.
                verdict, by, built = "survived", None, set()
                for n in order:
                    want = targets_of(build, tests, [n]) - built
                    if want:
                        ok, _ = build_targets(build, want, log)
                        if not ok:
                            verdict = "error"
                            print("mutate: mutant %s does not compile" % m["name"],
                                  file=sys.stderr)
                            break
                        built |= want
                    r = run_test(tests[n], max(20.0, 5 * base[n]))
                    if r != "pass":
                        verdict, by = ("timeout" if r == "timeout" else "killed"), n
                        break
                results.append((m, verdict, by, time.time() - s))
                log.write("%s %s %s %.1fs\n" % (m["name"], verdict, by or "", time.time() - s))
                log.flush()
                if verdict == "survived":
                    print("  survived: %s (%s:%d)" % (m["name"], f, m["src_line"]), flush=True)
            write(path, originals[f])
    finally:
        for f in files:
            write(os.path.join(tree, f), originals[f])
    return report(a, mutants, results, time.time() - t0)


def report(a, mutants, results, elapsed):
    per = {}
    for m, verdict, by, _ in results:
        per.setdefault(m["file"], {"killed": 0, "timeout": 0, "survived": 0, "error": 0})
        per[m["file"]][verdict] += 1
    print("\nmutation results (%d mutants run in %.0f s; a timeout counts as killed):"
          % (len(results), elapsed))
    print("%-28s %7s %7s %8s %6s %7s" % ("file", "killed", "timeout", "survived", "error",
                                          "kill %"))
    tk = tn = 0
    for f in sorted(per):
        c = per[f]
        k = c["killed"] + c["timeout"]
        n = k + c["survived"]
        tk, tn = tk + k, tn + n
        print("%-28s %7d %7d %8d %6d %6.1f%%" % (f, c["killed"], c["timeout"], c["survived"],
                                                 c["error"], 100.0 * k / n if n else 100.0))
    rate = 100.0 * tk / tn if tn else 100.0
    print("%-28s %7s %7s %8d %6s %6.1f%%" % ("all", "", "", tn - tk, "", rate))
    surv = [(m, by) for m, v, by, _ in results if v == "survived"]
    if surv:
        print("\nsurvived:")
        for m, _ in surv:
            print("  %s  %s:%d  %s" % (m["name"], m["file"], m["src_line"],
                                        m["anchor"].split("\n")[0].strip()[:80]))
    eq = [m for m in mutants if m["equivalent"] is not None]
    if eq and (a.all or a.only is None):
        print("\nequivalent (not run; %d):" % len(eq))
        for m in eq:
            print("  %s  %s: %s" % (m["name"], m["file"], m["equivalent"]))
    errs = [m for m, v, _, _ in results if v == "error"]
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump({"elapsed": elapsed, "per_file": per, "kill_rate": rate,
                       "results": [{"name": m["name"], "file": m["file"], "verdict": v,
                                    "by": by, "seconds": round(t, 2)}
                                   for m, v, by, t in results]}, f, indent=1)
    if errs:
        return 2
    return 0 if rate >= a.min_kill else 1


if __name__ == "__main__":
    sys.exit(main())
