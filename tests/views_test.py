#!/usr/bin/env python3
"""The views every file gets (src/formats/views.c): safetensors files that are also a pickle or
a tar, built by gen_safetensors.py, proven to be both here with Python's own readers (never
loading the payload), then checked: exact ids, verdict and exit code.

    views_test.py STCHECK WORKDIR
"""
import io
import json
import os
import pickle
import pickletools
import struct
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_safetensors as gen  # noqa: E402

STCHECK, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL " + msg)


def read_safetensors(data):
    """A minimal safetensors reader (the format's rules, not stcheck's code): header JSON, every
    tensor's offsets inside the data section, the data section exactly covered."""
    n = struct.unpack("<Q", data[:8])[0]
    hdr = json.loads(data[8:8 + n].decode("utf-8"))
    end = 0
    for name, t in hdr.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        assert 0 <= b <= e <= len(data) - 8 - n, name
        end = max(end, e)
    assert end == len(data) - 8 - n, "data section not covered"
    return hdr


class Recorder(pickle.Unpickler):
    """Records what pickle.load would import and call; imports nothing, calls nothing real."""

    def __init__(self, f):
        super().__init__(f)
        self.imports, self.calls = [], []

    def find_class(self, module, name):
        self.imports.append((module, name))

        def stand_in(*args):
            self.calls.append(((module, name), args))
        return stand_in


def check(path, ids, code, fmt):
    p = subprocess.run([STCHECK, "-f", "json", path], capture_output=True)
    rep = json.loads(p.stdout)["files"][0]
    got = sorted({f["id"] for f in rep["findings"]})
    problems = []
    if got != sorted(ids):
        problems.append("ids %s, expected %s" % (got, sorted(ids)))
    if p.returncode != code:
        problems.append("exit %d, expected %d" % (p.returncode, code))
    if rep["format"] != fmt:
        problems.append("format %s, expected %s" % (rep["format"], fmt))
    if problems:
        fail("%s: %s" % (os.path.basename(path), "; ".join(problems)))
    return rep


# 1. A safetensors file that pickle.load (torch.load, numpy.load(allow_pickle=True)) executes.
data, name = gen.pickle_polyglot()
path = os.path.join(WORK, "pickle-polyglot.safetensors")
gen.write(path, data)
hdr = read_safetensors(data)
if name.decode() not in hdr:
    fail("pickle-polyglot: the pickle is not the first tensor's name")
ops = [op.name for op, _, _ in pickletools.genops(io.BytesIO(data))]
if ops[:3] != ["PROTO", "BINFLOAT", "POP"] or "STACK_GLOBAL" not in ops or ops[-1] != "STOP":
    fail("pickle-polyglot: opcodes %s" % ops)
rec = Recorder(io.BytesIO(data))
rec.load()
want = (gen.POLY_MODULE.decode(), gen.POLY_NAME.decode())
if rec.imports != [want] or rec.calls != [(want, (gen.POLY_ARG.decode(),))]:
    fail("pickle-polyglot: pickle.load would import %s and call %s" % (rec.imports, rec.calls))
if data[:4] == b"PK\x03\x04" or data[:6] == b"\x93NUMPY":
    fail("pickle-polyglot: numpy.load would not reach pickle.load")
rep = check(path, ["ST201", "ST520"], 1, "safetensors")
imps = [(i["module"], i["name"], i["member"]) for i in rep.get("imports", [])]
if imps != [want + ("(pickle view)",)]:
    fail("pickle-polyglot: imports %s" % imps)
if [c["opcode"] for c in rep.get("calls", [])] != ["REDUCE"]:
    fail("pickle-polyglot: calls %s" % rep.get("calls"))

# The same file judged under --strict (warnings fail) and with the view's import allowlisted
# would still fail: ST201 is an error whatever the policy's warnings do.
p = subprocess.run([STCHECK, "--strict", "-q", path], capture_output=True)
if p.returncode != 1:
    fail("pickle-polyglot --strict: exit %d" % p.returncode)

# 2. A safetensors file whose first 512 bytes are a tar header that tarfile.open accepts.
data = gen.tar_polyglot()
path = os.path.join(WORK, "tar-polyglot.safetensors")
gen.write(path, data)
read_safetensors(data)
try:
    with tarfile.open(path, "r:") as t:
        members = t.getmembers()
    if len(members) != 1 or members[0].size != len(data) - 512:
        fail("tar-polyglot: tarfile lists %s" % members)
except tarfile.TarError as e:
    fail("tar-polyglot: tarfile.open refuses it: %s" % e)
# The tar's one member is the rest of the file, no format stcheck knows: could not check.
check(path, ["ST521", "ST903"], 2, "safetensors")

# 3. No false views: a valid safetensors file for every value of byte 0 (the length prefix's
# low byte, set by padding the header) passes cleanly, whatever pickle.load makes of it.
base = {"a": gen.t("F32", [2], 0, 8)}
body = json.dumps(base, separators=(",", ":")).encode()
bad, paths = [], []
for b0 in range(256):
    n = len(body)
    pad = (b0 - n) % 256
    hdr_bytes = body + b" " * pad
    if len(hdr_bytes) % 256 != b0:
        raise SystemExit("padding arithmetic")
    data = struct.pack("<Q", len(hdr_bytes)) + hdr_bytes + bytes(8)
    path = os.path.join(WORK, "byte0-%02x.safetensors" % b0)
    gen.write(path, data)
    paths.append(path)
# One run for the 256 files (a process costs ~1 s under CI's valgrind stage): every file must
# pass, and so must the run.
p = subprocess.run([STCHECK, "-f", "json", "--"] + paths, capture_output=True)
reps = json.loads(p.stdout)["files"]
if [r["path"] for r in reps] != paths:
    fail("plain files with every byte 0: the report lists %d files" % len(reps))
if p.returncode != 0:
    bad.append("exit %d" % p.returncode)
for b0, rep in enumerate(reps):
    got = {f["id"] for f in rep["findings"]} - {"ST139"}  # info: data start not 8-aligned
    if rep["verdict"] != "pass" or got:
        bad.append("%02x: %s %s" % (b0, rep["verdict"], sorted(got)))
for path in paths:
    os.unlink(path)
if bad:
    fail("plain files with every byte 0: " + ", ".join(bad[:8]))

print("views: %d failures" % failures)
sys.exit(1 if failures else 0)
