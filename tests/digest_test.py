#!/usr/bin/env python3
"""--digest, --expect and --deep end to end.

    digest_test.py STCHECK WORKDIR

- the printed SHA-256 equals hashlib's, with and without --deep (one shared read), for small
  files, a file over several 1 MiB read chunks, and non-safetensors files;
- --expect: right digests pass, a wrong one is ST620, a missing one ST621, "./" prefixes and
  sha256sum's escaped names match, a malformed manifest is a usage error naming the line;
- --deep counts NaN and Inf exactly per float dtype, including elements split across read
  chunks (a tensor starting at an odd offset) and values at both ends of the data.
"""
import hashlib
import json
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_safetensors as gen  # noqa: E402

STCHECK, WORK = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
os.makedirs(WORK, exist_ok=True)
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL:", msg)


def run(*args):
    p = subprocess.run([STCHECK, "-f", "json", *args], capture_output=True)
    try:
        return p.returncode, json.loads(p.stdout)["files"], p.stderr.decode()
    except ValueError:
        return p.returncode, [], p.stderr.decode()


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write(name, data):
    path = os.path.join(WORK, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


# ---- --deep: exact NaN/Inf counts ---------------------------------------------------------
F32_NAN, F32_INF, F32_ONE = struct.pack("<I", 0x7fc00001), struct.pack("<f", float("-inf")), \
    struct.pack("<f", 1.0)
# a 3 MiB F32 tensor that starts at data offset 2 (after a 2-byte U8 tensor), so elements
# straddle every 1 MiB read boundary; NaN/Inf planted at both ends and around the boundaries
n = 3 * (1 << 20) // 4
f64 = struct.pack("<4d", float("nan"), float("inf"), -0.0, 5.0)
f16 = struct.pack("<5H", 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0x3c00)      # 2 Inf, 2 NaN
bf16 = struct.pack("<3H", 0x7f80, 0x7fc0, 0x3f80)                    # 1 Inf, 1 NaN
e5m2 = bytes([0x7c, 0x7d, 0xfc, 0x3c])                               # 2 Inf, 1 NaN
e4m3 = bytes([0x7f, 0xff, 0x7e, 0x00])                               # 2 NaN
fnuz = bytes([0x80, 0x7f, 0x00])                                     # 1 NaN
ints = struct.pack("<4I", 0x7f800000, 0x7fc00000, 0xffffffff, 0)     # I32: never counted
parts = [("u", "U8", [2], b"\x00\x00"), ("big", "F32", [n], None), ("d", "F64", [4], f64),
         ("h", "F16", [5], f16), ("b", "BF16", [3], bf16), ("e5", "F8_E5M2", [4], e5m2),
         ("e4", "F8_E4M3", [4], e4m3), ("fz", "F8_E4M3FNUZ", [3], fnuz), ("i", "I32", [4], ints)]
hdr, off = {}, 0
for name, dt, shape, raw in parts:
    size = 4 * n if raw is None else len(raw)
    hdr[name] = gen.t(dt, shape, off, off + size)
    off += size
base = len(gen.frame(hdr, 0)) + 2  # file offset of the F32 tensor: 2 mod 4
vals = [F32_ONE] * n
plant = {0: F32_NAN, n - 1: F32_INF}
for k in (1, 2, 3):  # the element split by each 1 MiB read boundary, and its neighbours
    i = (k * (1 << 20) - base) // 4
    plant.update({i - 1: F32_INF, i: F32_NAN, i + 1: F32_INF})
for i, v in plant.items():
    vals[i] = v
nan_f32 = sum(1 for v in plant.values() if v == F32_NAN)
inf_f32 = sum(1 for v in plant.values() if v == F32_INF)
data = b"".join(raw if raw is not None else b"".join(vals) for _, _, _, raw in parts)
deep = write("deep.safetensors", gen.frame(hdr, 0) + data)  # header, then the real data
want = {"big": (nan_f32, inf_f32), "d": (1, 1), "h": (2, 2), "b": (1, 1), "e5": (1, 2),
        "e4": (2, 0), "fz": (1, 0)}
code, files, err = run("--deep", "--digest", deep)
got = {}
for fd in files[0]["findings"] if files else []:
    if fd["id"] == "ST141":
        name = fd["message"].split('"')[1]
        words = fd["message"].split()
        got[name] = (int(words[words.index("NaN") - 1]), int(words[words.index("Inf") - 1]))
if got != want:
    fail(f"--deep counts {got}, expected {want}")
if files and files[0]["sha256"] != sha(deep):
    fail("--deep --digest: SHA-256 differs from hashlib's")
if code != 0:
    fail(f"--deep: exit {code} (ST141 is a warning)")
code, files, err = run("--deep", "--strict", deep)
if code != 1:
    fail(f"--deep --strict: exit {code}, expected 1")
code, files, err = run(deep)
if files and any(f["id"] == "ST141" for f in files[0]["findings"]):
    fail("ST141 without --deep")

# ---- --digest ---------------------------------------------------------------------------
corpus = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")
samples = [deep, os.path.join(corpus, "safetensors", "valid-basic.safetensors"),
           os.path.join(corpus, "pickle", "valid-gzip.pkl.gz"),
           write("empty.bin", b""), write("text.txt", b"hello\n")]
code, files, err = run("--digest", *samples)
for f, p in zip(files, samples):
    if f["sha256"] != sha(p):
        fail(f"--digest {os.path.basename(p)}: {f['sha256']} != {sha(p)}")
code, files, err = run(samples[1])
if files and files[0]["sha256"] is not None:
    fail("sha256 reported without --digest")

# ---- --expect ---------------------------------------------------------------------------
good, other = samples[1], samples[2]
os.chdir(WORK)
rel = "deep.safetensors"
odd = write("we ird\\name.safetensors", open(good, "rb").read())
manifest = write("SHA256SUMS", (
    f"{sha(good)}  {good}\n"
    f"{'0' * 64}  {other}\n"
    f"{sha(deep).upper()} *./{rel}\n"
    f"\\{sha(odd)}  {os.path.join(WORK, 'we ird').replace(chr(92), chr(92) * 2)}"
    f"\\\\name.safetensors\n").encode())
code, files, err = run("--expect", manifest, good, other, rel, odd, samples[4])
ids = {os.path.basename(f["path"]): sorted(x["id"] for x in f["findings"]) for f in files}
want_ids = {os.path.basename(good): [], os.path.basename(other): ["ST620"],
            rel: ["ST136"] * 3,  # the misaligned tensors (info), no digest finding
            os.path.basename(odd): [], "text.txt": ["ST621", "ST903"]}
if ids != want_ids:
    fail(f"--expect findings {ids}, expected {want_ids}")
if code != 2:  # text.txt is also unknown content: could not check wins
    fail(f"--expect: exit {code}, expected 2")
for bad, line in ((b"xyz  a\n", 1), (b"\n" + b"a" * 64 + b"  \n", 2), (b"a" * 64 + b"-x\n", 1)):
    m = write("bad.sums", bad)
    p = subprocess.run([STCHECK, "--expect", m, good], capture_output=True)
    if p.returncode != 3 or f"line {line}".encode() not in p.stderr:
        fail(f"malformed manifest {bad!r}: exit {p.returncode}, {p.stderr!r}")

print(f"digest: {failures} failures")
sys.exit(1 if failures else 0)
