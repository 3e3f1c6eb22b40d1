#!/usr/bin/env python3
"""Runs stcheck on every committed sample of a corpus folder. A name starting with `valid-`
must pass (exit 0) even under --strict; a name starting with a finding id (`ST114-...`) must
report that id; a name starting with `gap-` is a real file of a layout stcheck does not handle
fully yet (see the issue notes): it must not pass under --strict; a name starting with `crash-` is an input a fuzzer once
crashed on: it must be checked to a verdict (exit 0-2) with a valid report.
Usage: corpus_test.py STCHECK DIR"""
import json
import os
import re
import subprocess
import sys


def main(stcheck, folder):
    names = sorted(os.listdir(folder))
    rules = subprocess.run([stcheck, "--list-rules"], capture_output=True, text=True).stdout
    severity = {line.split()[0]: line.split()[1] for line in rules.splitlines()}
    failed = 0
    for name in names:
        p = subprocess.run([stcheck, "--format", "json", os.path.join(folder, name)],
                           capture_output=True)
        ids = {f["id"] for f in json.loads(p.stdout)["files"][0]["findings"]}
        m = re.match(r"(ST\d{3})-", name)
        if name.startswith("valid-") or name.startswith("gap-"):
            strict = subprocess.run([stcheck, "--strict", os.path.join(folder, name)],
                                    capture_output=True)
            good = (p.returncode == 0 and strict.returncode == 0) if name.startswith("valid-") \
                else strict.returncode != 0
        elif name.startswith("crash-"):
            good = p.returncode in (0, 1, 2)
        elif m:
            # the named id must be reported; an error-level id must also fail the file
            good = m.group(1) in ids and (p.returncode != 0 or severity[m.group(1)] != "error")
        else:
            print("unexpected sample name", name)
            good = False
        if not good:
            failed += 1
            print("FAIL", name, "exit", p.returncode, sorted(ids))
    print("%d passed, %d failed" % (len(names) - failed, failed))
    return 1 if failed or not names else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
