"""Shared runner for the end-to-end generators: run stcheck on a file, compare the set of
finding ids and the exit code with the expected ones."""
import json
import os
import subprocess


def run_case(stcheck, path, ids, code, extra=()):
    p = subprocess.run([stcheck, "--format", "json", *extra, path], capture_output=True)
    doc = json.loads(p.stdout)
    got = sorted({f["id"] for f in doc["files"][0]["findings"]})
    problems = []
    if p.returncode != code:
        problems.append("exit %d, expected %d" % (p.returncode, code))
    problems += ["missing %s" % i for i in ids if i not in got]
    extra_ids = [g for g in got if g not in ids and g != "ST905"]
    if extra_ids:
        problems.append("unexpected %s" % ",".join(extra_ids))
    return problems, got


def run_all(stcheck, workdir, cases, suffix=""):
    """cases: (name, bytes, ids, exit code). Prints failures; returns (checked, failures)."""
    os.makedirs(workdir, exist_ok=True)
    failures = 0
    for name, data, ids, code in cases:
        path = os.path.join(workdir, name + suffix)
        with open(path, "wb") as f:
            f.write(data)
        problems, got = run_case(stcheck, path, ids, code)
        if problems:
            failures += 1
            print("FAIL %s: %s (got %s)" % (name, "; ".join(problems), got))
    return len(cases), failures
