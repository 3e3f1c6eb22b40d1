#!/usr/bin/env python3
"""Differential test: every GGUF file stcheck passes must parse in @huggingface/gguf (an
independent npm parser, run on the machine's Node: NodeSource's 20 here, Debian 12's 18 where
ci/install-deps.sh --test installs it; both pass, though the package declares Node >= 20 and
`npm pack` does not enforce it) with the same tensor infos, key count
and data offset (the data offset only when there are tensors: with none, gguf.cpp does not pad
the end of the metadata to the alignment and @huggingface/gguf does; no data is read there).

    gguf_npm.py STCHECK BUILD_DIR CORPUS_DIR

The package and its one dependency are installed at test time like tests/sarif/fetch_schema.py
does: `npm pack` of pinned versions into BUILD_DIR/gguf-npm (a build folder, never committed),
each tarball's sha512 checked against the registry integrity recorded here, then unpacked into
node_modules. Inputs: corpus/gguf and files made here with tests/gen_gguf.py (every value type,
arrays, versions 2 and 3, alignments, quantized types including Q8_1). For files made here the
tensor infos are also compared with what the generator wrote.

What the npm parser says is never evidence that a file is sound: it reads zeros past the end of
a file and does not check layout, and its type table differs from ggml's (Q8_1 is 40 bytes per
block there, 36 in ggml, the reference). Files stcheck refuses that it parses are counted and
listed, not failures. Exit 1 on any disagreement about a passed file, or when npm or the
registry cannot be reached.
"""
import json
import os
import random
import struct
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_gguf as g  # noqa: E402
from npm_pack import pack  # noqa: E402

PACKAGES = [  # name, version, the registry's dist.integrity
    ("@huggingface/gguf", "0.4.6",
     "sha512-+S4ysHzzNN77rU0gBcuuGN+x1TYNP4M7EgOEZ2rKaTz8dZ8o2N92qapQaeTjnPPNiWSc23iCV9E8u2A9VvK+rg=="),
    ("@huggingface/tasks", "0.21.33",
     "sha512-efQa8g+WjPwzlwk7Wl4eDgbM1Jq+WooUw/b1+eKl2LVUdPMhnbwsFNMJJxhEywaLJvJBy93+jjna6855U9GePw=="),
]


def install(dest):
    nm = os.path.join(dest, "node_modules")
    for name, version, integrity in PACKAGES:
        tgz = pack(dest, name, version, integrity, "gguf_npm")
        target = os.path.join(nm, name)
        if not os.path.exists(os.path.join(target, "package.json")):
            os.makedirs(target, exist_ok=True)
            with tarfile.open(tgz, "r:gz") as t:
                for m in t.getmembers():
                    if not m.isfile() or not m.name.startswith("package/") or ".." in m.name:
                        continue
                    out = os.path.join(target, m.name[len("package/"):])
                    os.makedirs(os.path.dirname(out), exist_ok=True)
                    with open(out, "wb") as f:
                        f.write(t.extractfile(m).read())
    return nm


def random_file(rng, i):
    """A valid file with varied values and tensors; returns (bytes, expected tensor infos)."""
    version = rng.choice([2, 3])
    align = rng.choice([None, 8, 16, 64, 256])
    w = g.W(version, align)
    w.kv("general.architecture", g.STRING, "llama")
    w.kv("llama.block_count", g.U32, 2)
    for k in range(rng.randrange(0, 12)):
        t = rng.choice([g.U8, g.I8, g.U16, g.I16, g.U32, g.I32, g.F32, g.BOOL, g.STRING,
                        g.U64, g.I64, g.F64, g.ARRAY])
        key = "general.k%d_%d" % (i, k)
        if t == g.ARRAY:
            et = rng.choice([g.U8, g.I32, g.F32, g.STRING, g.BOOL, g.U64])
            n = rng.randrange(0, 20)
            items = [("s%d" % j) if et == g.STRING else (j % 2 if et == g.BOOL else j % 100)
                     for j in range(n)]
            w.kv(key, t, (et, items))
        elif t == g.STRING:
            w.kv(key, t, "v\u00e9" * rng.randrange(0, 5))
        elif t == g.BOOL:
            w.kv(key, t, rng.randrange(2))
        elif t in (g.F32, g.F64):
            w.kv(key, t, 0.5)
        else:
            w.kv(key, t, rng.randrange(0, 100))
    expect = []
    off = 0
    for k in range(rng.randrange(0, 6)):
        ty = rng.choice([0, 1, 8, 9, 12, 14, 30, 24, 28, 39])
        blck = g.GGML[ty][0]
        dims = [blck * rng.randrange(1, 3)] + [rng.randrange(1, 4) for _ in range(rng.randrange(0, 3))]
        w.tensor("t%d.weight" % k, dims, ty)
        expect.append(["t%d.weight" % k, dims, ty, off])
        off += g.pad(g.W.nbytes(dims, ty), w.alignment)
    return w.build(), expect


def main():
    stcheck, build, corpus = sys.argv[1:4]
    dest = os.path.join(os.path.abspath(build), "gguf-npm")
    os.makedirs(os.path.join(dest, "files"), exist_ok=True)
    nm = install(dest)
    files, expected = [], {}
    for name in sorted(os.listdir(corpus)):
        if name.endswith(".gguf"):
            files.append(os.path.join(corpus, name))
    rng = random.Random(13)
    for i in range(150):
        data, exp = random_file(rng, i)
        p = os.path.join(dest, "files", "random-%03d.gguf" % i)
        with open(p, "wb") as f:
            f.write(data)
        files.append(p)
        expected[p] = exp
    res = subprocess.run([stcheck, "--format", "json"] + files, capture_output=True)
    reports = {f["path"]: f for f in json.loads(res.stdout)["files"]}
    out = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "gguf_npm.js")] + files,
                         capture_output=True, text=True, env=dict(os.environ, NODE_PATH=nm),
                         timeout=600)
    npm = {}
    for line in out.stdout.splitlines():
        r = json.loads(line)
        npm[r["path"]] = r
    bad, passed, lenient = 0, 0, []
    for p in files:
        st, n = reports[p], npm.get(p)
        if st["verdict"] != "pass":
            if n and n["ok"]:
                lenient.append(os.path.basename(p))
            continue
        passed += 1
        why = None
        if n is None or not n["ok"]:
            why = "npm refuses it: %s" % (n or {}).get("error")
        elif (n["version"], len(n["tensors"]), n["kv_count"], n["keys"],
              n["data_offset"] if n["tensors"] else None) != (
                st["gguf"]["version"], st["tensor_count"], st["gguf"]["kv_count"],
                st["gguf"]["kv_count"], st["gguf"]["data_offset"] if n["tensors"] else None):
            why = "counts differ: npm %r, stcheck %r" % (
                (n["version"], len(n["tensors"]), n["kv_count"], n["keys"], n["data_offset"]),
                st["gguf"])
        elif p in expected and n["tensors"] != expected[p]:
            why = "tensor infos differ: npm %r, written %r" % (n["tensors"], expected[p])
        if why:
            bad += 1
            print("DISAGREE %s: %s" % (os.path.basename(p), why))
    print("%d files, %d passed by stcheck and read alike by @huggingface/gguf, %d disagreements"
          % (len(files), passed, bad))
    print("files stcheck refuses that @huggingface/gguf parses (%d): %s"
          % (len(lenient), " ".join(lenient)))
    return 1 if bad or passed < 100 else 0


if __name__ == "__main__":
    sys.exit(main())
