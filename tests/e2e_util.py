"""Shared runner for the end-to-end generators: run stcheck on a file, compare the set of
finding ids and the exit code with the expected ones."""
import json
import os
import subprocess


EXIT_OF = {"pass": 0, "fail": 1, "could not check": 2}


def _judge(rep, ids, code):
    got = sorted({f["id"] for f in rep["findings"]})
    problems = []
    rc = EXIT_OF.get(rep["verdict"], 3)
    if rc != code:
        problems.append("exit %d, expected %d" % (rc, code))
    problems += ["missing %s" % i for i in ids if i not in got]
    extra_ids = [g for g in got if g not in ids and g != "ST905"]
    if extra_ids:
        problems.append("unexpected %s" % ",".join(extra_ids))
    return problems, got


def run_cases(stcheck, items, extra=()):
    """items: (path, ids, exit code). Checks the files in as few stcheck runs as possible (a
    process costs ~1 s under CI's valgrind stage): each file's exit code is the one its verdict
    gives alone, and each run's exit code must be the one its files' verdicts give together
    (2 wins over 1 over 0). Returns [(problems, ids)] in the order of items."""
    out = []
    for k in range(0, len(items), 256):
        chunk = items[k:k + 256]
        paths = [path for path, _, _ in chunk]
        p = subprocess.run([stcheck, "--format", "json", *extra, "--", *paths],
                           capture_output=True)
        reps = json.loads(p.stdout)["files"]
        if [r["path"] for r in reps] != paths:
            raise SystemExit("e2e_util: the report lists %d files for %d paths"
                             % (len(reps), len(paths)))
        worst = 0
        for (path, ids, code), rep in zip(chunk, reps):
            out.append(_judge(rep, ids, code))
            rc = EXIT_OF.get(rep["verdict"], 3)
            worst = 2 if 2 in (worst, rc) else max(worst, rc)
        if p.returncode != worst:
            out[-1][0].append("the run of %d files exited %d, its verdicts give %d"
                              % (len(chunk), p.returncode, worst))
    return out


def run_case(stcheck, path, ids, code, extra=()):
    return run_cases(stcheck, [(path, ids, code)], extra)[0]


def run_all(stcheck, workdir, cases, suffix=""):
    """cases: (name, bytes, ids, exit code). Prints failures; returns (checked, failures)."""
    os.makedirs(workdir, exist_ok=True)
    items = []
    for name, data, ids, code in cases:
        path = os.path.join(workdir, name + suffix)
        with open(path, "wb") as f:
            f.write(data)
        items.append((path, ids, code))
    failures = 0
    for (name, _, _, _), (problems, got) in zip(cases, run_cases(stcheck, items)):
        if problems:
            failures += 1
            print("FAIL %s: %s (got %s)" % (name, "; ".join(problems), got))
    return len(cases), failures
