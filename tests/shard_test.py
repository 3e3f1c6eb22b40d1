#!/usr/bin/env python3
"""Sharded checkpoints: builds folders of safetensors shards plus an index, one defect each,
and asserts the exact findings of the index (and the exit code of the run).

    shard_test.py STCHECK WORKDIR

The index is checked both given as a file (its folder is the file's) and inside a -r walk.
"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_safetensors as gen  # noqa: E402

STCHECK, WORK = sys.argv[1], sys.argv[2]
failures = 0


def shard(tensors):
    """tensors: name -> number of F32 elements. Returns the file bytes."""
    hdr, off = {}, 0
    for name, n in tensors.items():
        hdr[name] = gen.t("F32", [n], off, off + 4 * n)
        off += 4 * n
    return gen.frame(hdr, off)


GOOD = {"model-00001-of-00002.safetensors": {"a": 4, "b": 2},
        "model-00002-of-00002.safetensors": {"c": 8}}


def index_for(shards, total=None, drop=(), extra=None):
    wm = {t: f for f, ts in shards.items() for t in ts if t not in drop}
    wm.update(extra or {})
    if total is None:
        total = 4 * sum(n for ts in shards.values() for n in ts.values())
    return {"metadata": {"total_size": total}, "weight_map": wm}


def case(name, shards, index, ids, code, raw_index=None):
    global failures
    d = os.path.join(WORK, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for f, ts in shards.items():
        gen.write(os.path.join(d, f), shard(ts))
    ipath = os.path.join(d, "model.safetensors.index.json")
    with open(ipath, "wb") as f:
        f.write(raw_index if raw_index is not None else json.dumps(index).encode())
    for mode in ("file", "walk"):
        args = [ipath] if mode == "file" else ["-r", d]
        p = subprocess.run([STCHECK, "-f", "json", *args], capture_output=True)
        doc = json.loads(p.stdout)
        rep = [f for f in doc["files"] if f["path"].endswith(".index.json")][0]
        got = sorted({x["id"] for x in rep["findings"]})
        problems = []
        if got != sorted(ids):
            problems.append(f"ids {got}, expected {sorted(ids)}")
        if rep["format"] != "shard-index":
            problems.append(f"format {rep['format']}")
        if mode == "file" and p.returncode != code:
            problems.append(f"exit {p.returncode}, expected {code}")
        if problems:
            failures += 1
            print(f"FAIL {name} ({mode}): " + "; ".join(problems))


case("good", GOOD, index_for(GOOD), [], 0)
case("total-size", GOOD, index_for(GOOD, total=12345), ["ST616"], 1)
case("unlisted", GOOD, index_for(GOOD, drop=("b",)), ["ST615"], 0)
case("missing-tensor", GOOD, index_for(GOOD, extra={"zzz": "model-00002-of-00002.safetensors"}),
     ["ST613"], 1)
case("wrong-shard", GOOD, index_for(GOOD, extra={"c": "model-00001-of-00002.safetensors"}),
     ["ST613", "ST616"], 1)  # shard 2 is no longer named: its bytes leave the total
TWICE = {"s1.safetensors": {"a": 4, "dup": 1}, "s2.safetensors": {"dup": 1, "c": 2}}
case("tensor-in-two-shards", TWICE,
     {"metadata": {"total_size": 32}, "weight_map": {"a": "s1.safetensors", "dup": "s1.safetensors",
                                                     "c": "s2.safetensors"}},
     ["ST614"], 1)
case("missing-shard", GOOD, index_for(GOOD, extra={"x": "model-00003-of-00003.safetensors"}),
     ["ST612"], 1)
for bad in ("../evil.safetensors", "/etc/passwd", "sub/x.safetensors", "", "..", "a\u0000b"):
    case("shard-name-%d" % len(bad), GOOD, index_for(GOOD, extra={"x": bad}), ["ST611"], 1)
case("dup-key", GOOD, None, ["ST610"], 1,
     raw_index=b'{"weight_map": {"a": "model-00001-of-00002.safetensors", '
               b'"a": "model-00002-of-00002.safetensors"}}')
case("not-json", GOOD, None, ["ST610"], 1, raw_index=b'{"weight_map": {"a": "x",}}')
case("no-weight-map", GOOD, None, ["ST610"], 1, raw_index=b'{"metadata": {}}')
case("bad-total", GOOD, None, ["ST610"], 1,
     raw_index=b'{"metadata": {"total_size": -1}, "weight_map": {}}')
BROKEN = {"model-00001-of-00002.safetensors": {"a": 4, "b": 2},
          "model-00002-of-00002.safetensors": {"c": 8}}
d = os.path.join(WORK, "shard-invalid")
case("shard-invalid", BROKEN, index_for(BROKEN), [], 0)  # first a good one, then break a shard
with open(os.path.join(d, "model-00002-of-00002.safetensors"), "r+b") as f:
    f.truncate(20)
p = subprocess.run([STCHECK, "-f", "json", os.path.join(d, "model.safetensors.index.json")],
                   capture_output=True)
ids = sorted({x["id"] for x in json.loads(p.stdout)["files"][0]["findings"]})
if "ST618" not in ids:
    failures += 1
    print(f"FAIL shard-invalid: a truncated shard gives {ids}, expected ST618 among them")

print(f"shards: {failures} failures")
sys.exit(1 if failures else 0)
