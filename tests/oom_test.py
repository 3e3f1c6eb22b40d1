#!/usr/bin/env python3
"""Allocation failure is "could not check" (ST904, exit 2), never a crash or a pass.

    oom_test.py STCHECK WORKDIR

Runs stcheck under an address-space limit (RLIMIT_AS) on a safetensors file whose header
length needs more memory than the limit allows: the header allocation fails, and the report must
say so. Plain builds only (sanitizers reserve terabytes of address space).
"""
import json
import os
import resource
import struct
import subprocess
import sys

STCHECK, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
path = os.path.join(WORK, "big-header.safetensors")
n = 96_000_000  # under the 100,000,000-byte header limit, over the address-space limit
with open(path, "wb") as f:
    f.write(struct.pack("<Q", n) + b"{")
    f.truncate(8 + n)  # sparse: the header bytes exist (zeros), the allocation is what fails


def limit():
    resource.setrlimit(resource.RLIMIT_AS, (64 << 20, 64 << 20))


p = subprocess.run([STCHECK, "-f", "json", path], capture_output=True, preexec_fn=limit)
failures = []
try:
    f = json.loads(p.stdout)["files"][0]
    got = [(x["id"], x["message"]) for x in f["findings"]]
    if got != [("ST904", "no memory for a 96000000-byte header")]:
        failures.append(f"findings {got}, expected exactly ST904 for the header")
    if f["verdict"] != "could not check" or f["error"] != "out of memory":
        failures.append(f"verdict {f['verdict']} / {f['error']}")
except (ValueError, IndexError, KeyError) as e:
    failures.append(f"no report ({e}): exit {p.returncode}, stderr {p.stderr[-300:]!r}")
if p.returncode != 2:
    failures.append(f"exit {p.returncode}, expected 2")
# without the limit the same file is checked, and fails on its content (a "{" followed by NUL
# bytes: ST108 at the first key), not on memory
q = subprocess.run([STCHECK, "-f", "json", path], capture_output=True)
try:
    g = json.loads(q.stdout)["files"][0]
    got = ([x["id"] for x in g["findings"]], g["verdict"], g.get("error"), q.returncode)
    if got != (["ST108"], "fail", None, 1):
        failures.append(f"without a limit: {got}, expected (['ST108'], 'fail', None, 1)")
except (ValueError, IndexError, KeyError) as e:
    failures.append(f"without a limit: no report ({e}): exit {q.returncode}")
for m in failures:
    print("FAIL:", m)
print(f"oom: {len(failures)} failures")
sys.exit(1 if failures else 0)
