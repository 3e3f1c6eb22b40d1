#!/usr/bin/env python3
"""Folder walks (stcheck -r): builds trees and asserts the exact findings of every entry.

    tree_test.py STCHECK CORPUS_DIR WORKDIR

Trees: a Hugging Face cache layout (snapshots/<rev>/<file> -> ../../blobs/<sha256>), links that
dangle, loop, escape (absolute, ../..), point at a FIFO or a folder, a hard link, a FIFO, a
non-model file, a malicious pickle. Each case names the entries it expects with their finding
ids and the run's exit code; an entry not named must not appear.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib

STCHECK, CORPUS, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
SAFE = os.path.join(CORPUS, "safetensors", "valid-basic.safetensors")
EVIL = os.path.join(CORPUS, "pickle", "ST201-inst.pkl")
failures = 0


def build(root, spec):
    """spec: relative path -> ("copy", src) | ("link", target) | ("fifo",) | ("hard", rel) |
    ("text", str) | ("dir",)."""
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    for rel, what in spec:
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        kind = what[0]
        if kind == "copy":
            shutil.copyfile(what[1], path)
        elif kind == "link":
            os.symlink(what[1], path)
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "hard":
            os.link(os.path.join(root, what[1]), path)
        elif kind == "text":
            with open(path, "w", encoding="utf-8") as f:
                f.write(what[1])
        elif kind == "bytes":
            with open(path, "wb") as f:
                f.write(what[1])
        elif kind == "dir":
            os.makedirs(path, exist_ok=True)


def check(name, spec, expect, code, extra=()):
    """expect: relative path -> sorted list of finding ids."""
    global failures
    root = os.path.join(WORK, name)
    build(root, spec)
    p = subprocess.run([STCHECK, "-r", "-f", "json", *extra, root], capture_output=True)
    doc = json.loads(p.stdout)
    got = {os.path.relpath(f["path"], root): sorted(x["id"] for x in f["findings"])
           for f in doc["files"]}
    problems = []
    if p.returncode != code:
        problems.append(f"exit {p.returncode}, expected {code}")
    if got != expect:
        problems.append(f"got {got}, expected {expect}")
    repos = doc.get("repositories", [])
    want_v = {0: "pass", 1: "fail", 2: "could not check"}[code]
    if expect and (len(repos) != 1 or repos[0]["verdict"] != want_v or
                   repos[0]["files"] != len(expect) or repos[0]["root"] != root):
        problems.append(f"repositories {repos}, expected one {want_v} of {len(expect)} files")
    if any(f.get("repository") != root for f in doc["files"]):
        problems.append("a file does not name its repository")
    order = [f["path"] for f in doc["files"]]
    if order != sorted(order):
        problems.append("entries are not in sorted walk order")
    if problems:
        failures += 1
        print(f"FAIL {name}: " + "; ".join(problems))
    return doc


SHA = "a" * 64
IDX = "b" * 64
SNAP = "models--org--m/snapshots/abc/"
INDEX = json.dumps({"metadata": {}, "weight_map": {"a": "model.safetensors",
                                                    "b": "model.safetensors"}})
HF = [
    ("models--org--m/blobs/" + SHA, ("copy", SAFE)),
    ("models--org--m/blobs/cfg", ("text", '{"model_type": "x"}\n')),
    ("models--org--m/blobs/" + IDX, ("text", INDEX)),
    ("models--org--m/refs/main", ("text", "abc\n")),
    ("models--org--m/.no_exist/abc/tokenizer_config.json", ("text", "")),
    (SNAP + "model.safetensors", ("link", "../../blobs/" + SHA)),
    (SNAP + "config.json", ("link", "../../blobs/cfg")),
    (SNAP + "model.safetensors.index.json", ("link", "../../blobs/" + IDX)),
]
# Every link to a file is checked under its own name (the name a loader opens): the index
# behind a link is found and its shard (another link in the snapshot folder) checked. Blobs are
# also checked where they lie; .no_exist markers are empty files and pass; refs/ is text.
HF_EXPECT = {
    "models--org--m/.no_exist/abc/tokenizer_config.json": ["ST608"],
    "models--org--m/blobs/" + SHA: [],
    "models--org--m/blobs/" + IDX: ["ST608"],
    "models--org--m/blobs/cfg": ["ST608"],
    "models--org--m/refs/main": ["ST608"],
    SNAP + "config.json": ["ST605", "ST608"],
    SNAP + "model.safetensors": ["ST605"],
    SNAP + "model.safetensors.index.json": ["ST605"],
}
doc = check("hf-cache", HF, HF_EXPECT, 0)
formats = {os.path.relpath(f["path"], os.path.join(WORK, "hf-cache")): f["format"]
           for f in doc["files"]}
want_formats = {SNAP + "model.safetensors": "safetensors",
                SNAP + "model.safetensors.index.json": "shard-index",
                "models--org--m/.no_exist/abc/tokenizer_config.json": "empty",
                "models--org--m/refs/main": "text"}
for k, v in want_formats.items():
    if formats.get(k) != v:
        failures += 1
        print(f"FAIL hf-cache: {k} checked as {formats.get(k)}, expected {v}")
check("hf-cache-strict", HF, HF_EXPECT, 0, ["--strict"])
# the older policy value "follow" means the same
policy = os.path.join(WORK, "follow.json")
os.makedirs(WORK, exist_ok=True)
with open(policy, "w") as f:
    json.dump({"extends": "default", "symlinks": "follow"}, f)
check("hf-cache-follow", HF, HF_EXPECT, 0, ["--policy", policy])

# An index behind a link whose shard escapes: reported under the link's name
BAD_INDEX = json.dumps({"metadata": {}, "weight_map": {"a": "../../blobs/" + SHA}})
check("hf-cache-bad-index", [
    ("m/blobs/" + SHA, ("copy", SAFE)),
    ("m/blobs/" + IDX, ("text", BAD_INDEX)),
    ("m/snapshots/abc/model.safetensors.index.json", ("link", "../../blobs/" + IDX)),
], {
    "m/blobs/" + SHA: [],
    "m/blobs/" + IDX: ["ST608"],
    "m/snapshots/abc/model.safetensors.index.json": ["ST605", "ST611"],
}, 1)

check("links", [
    ("model.safetensors", ("copy", SAFE)),
    ("abs", ("link", "/etc/passwd")),
    ("up", ("link", "../outside")),
    ("deep/up2", ("link", "../../x")),
    ("dangling", ("link", "missing.bin")),
    ("through-file", ("link", "model.safetensors/x")),
    ("loop1", ("link", "loop2")),
    ("loop2", ("link", "loop1")),
    ("self", ("link", "self")),
    ("dirlink", ("link", "deep")),
    ("fifo", ("fifo",)),
    ("to-fifo", ("link", "fifo")),
    ("chain", ("link", "deep/../dirlink/../model.safetensors")),
], {
    "model.safetensors": [],
    "abs": ["ST604"],
    "up": ["ST604"],
    "deep/up2": ["ST604"],
    "dangling": ["ST602"],
    "through-file": ["ST602"],
    "loop1": ["ST603"],
    "loop2": ["ST603"],
    "self": ["ST603"],
    "dirlink": ["ST605"],
    "fifo": ["ST601"],
    "to-fifo": ["ST601"],
    "chain": ["ST605"],
}, 2)

check("hard-links-and-pickle", [
    ("a.safetensors", ("copy", SAFE)),
    ("b/again.safetensors", ("hard", "a.safetensors")),
    ("evil.safetensors", ("copy", EVIL)),
    ("README.md", ("text", "# model\n")),
], {
    "README.md": ["ST608"],
    "a.safetensors": [],
    "b/again.safetensors": ["ST606"],
    "evil.safetensors": ["ST201", "ST501"],
}, 1)

check("empty", [], {}, 0)

# tree_depth limit: a walk deeper than the policy allows is "could not check"
policy = os.path.join(WORK, "shallow.json")
with open(policy, "w") as f:
    json.dump({"extends": "default", "limits": {"tree_depth": 2}}, f)
check("depth-limit", [("a/b/c/d/model.safetensors", ("copy", SAFE))],
      {"a/b/c": ["ST901"]}, 2, ["--policy", policy])

# walk_extensions filters by the name a loader opens: a link's own name, never its target's.
# A hash-named blob is left out, yet checked through the link named .safetensors; a link named
# otherwise is left out; a link that leaves the folder is reported whatever its name.
policy = os.path.join(WORK, "ext.json")
with open(policy, "w") as f:
    json.dump({"extends": "default", "walk_extensions": [".safetensors"]}, f)
check("walk-extensions", [
    ("a.safetensors", ("copy", SAFE)),
    ("evil.pkl", ("copy", EVIL)),
    ("README.md", ("text", "# x\n")),
    ("out", ("link", "/etc/passwd")),
    ("blobs/" + SHA, ("copy", EVIL)),
    ("blobs/cfg", ("copy", EVIL)),
    ("snap/model.safetensors", ("link", "../blobs/" + SHA)),
    ("snap/notes.txt", ("link", "../blobs/cfg")),
], {"a.safetensors": [], "out": ["ST604"],
    "snap/model.safetensors": ["ST201", "ST501", "ST605"]}, 1, ["--policy", policy])

# -r never passes what a loader could read. Skipped only when identified (ST608); Python source
# is a warning (ST609); data that loads without code is framed, not inspected (ST505).
def sentencepiece():
    piece = b"\x0a\x03abc" + b"\x15" + struct.pack("<f", -1.5) + b"\x18\x01"
    trainer = b"\x0a\x04spec"
    return (b"\x0a" + bytes([len(piece)]) + piece) * 3 + b"\x12" + bytes([len(trainer)]) + trainer


def msgpack_flax():
    arr = b"\xc7\x05\x01" + b"\x00" * 5  # ext 8: 5 bytes, type 1 (Flax's ndarray)
    return b"\x81\xa6params\x82\xa1w" + arr + b"\xa1b\x92\x01\xcb" + b"\x00" * 8


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + bytes(17)
check("non-model-files", [
    ("README.md", ("text", "# model card\n\nText: ünïcode.\n")),
    ("config.json", ("text", '{"architectures": ["X"]}\n')),
    ("vocab.txt", ("text", "[PAD]\n[UNK]\nthe\n")),
    ("merges.txt", ("text", "#version: 0.2\nt h\nth e\n")),
    ("cfg.yaml", ("text", "a: 1\n")),
    ("logo.png", ("bytes", PNG)),
    ("photo.jpg", ("bytes", b"\xff\xd8\xff\xe0" + bytes(20))),
    ("paper.pdf", ("bytes", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(20))),
    ("sample.wav", ("bytes", b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " + bytes(28))),
    ("sample.flac", ("bytes", b"fLaC" + bytes(30))),
    ("tokenizer.model", ("bytes", sentencepiece())),
    ("flax_model.msgpack", ("bytes", msgpack_flax())),
    ("modeling_x.py", ("text", "import torch\nimport os\n\nclass X:\n    pass\n")),
    ("empty.txt", ("text", "")),
], {
    "README.md": ["ST608"], "config.json": ["ST608"], "vocab.txt": ["ST608"],
    "merges.txt": ["ST608"], "cfg.yaml": ["ST608"], "logo.png": ["ST608"],
    "photo.jpg": ["ST608"], "paper.pdf": ["ST608"], "sample.wav": ["ST608"],
    "sample.flac": ["ST608"], "tokenizer.model": ["ST505"], "flax_model.msgpack": ["ST505"],
    "modeling_x.py": ["ST609"], "empty.txt": ["ST608"],
}, 0)
check("python-strict", [("modeling_x.py", ("text", "import os\n"))],
      {"modeling_x.py": ["ST609"]}, 1, ["--strict"])
# the pickle view: ASCII text that pickle.load runs os.system from, then fails (no STOP)
check("pickle-view-text", [("notes.txt", ("bytes", b"cos\nsystem\n(S'id'\ntR\xff"))],
      {"notes.txt": ["ST201", "ST206"]}, 1)
# anything else is could not check: an unknown blob, a framing that fails (a .model that is
# not a sentencepiece protobuf, a truncated msgpack), text with an escape byte
check("unidentified", [("weights.dat", ("bytes", bytes(range(1, 250)) * 4))],
      {"weights.dat": ["ST506"]}, 2)
check("unidentified-model", [("tokenizer.model", ("bytes", b"\x0a\x7f" + bytes(5)))],
      {"tokenizer.model": ["ST506"]}, 2)
check("unidentified-msgpack", [("flax_model.msgpack", ("bytes", msgpack_flax()[:-3]))],
      {"flax_model.msgpack": ["ST506"]}, 2)
check("unidentified-escape", [("log.txt", ("text", "ok \x1b[2J\n"))], {"log.txt": ["ST506"]}, 2)
# model formats stcheck cannot check yet are could not check too (ST502, ST530), never skipped
check("opaque-models", [
    ("model.onnx", ("bytes", b"\x08\x07\x12\x09test")),  # truncated: onnx.c, ST801
    ("model.tflite", ("bytes", b"\x1c\x00\x00\x00TFL3" + bytes(24))),
    ("model.h5", ("bytes", b"\x89HDF\r\n\x1a\n" + bytes(40))),
], {"model.onnx": ["ST801"], "model.tflite": ["ST530"], "model.h5": ["ST870"]}, 2)
# a policy may lower ST506 for a pattern (anchored at the walk root)
policy = os.path.join(WORK, "lower506.json")
with open(policy, "w") as f:
    json.dump({"extends": "default", "overrides": [
        {"paths": ["data/*"], "policy": {"severity": {"ST506": "info"}}}]}, f)
check("unidentified-lowered", [
    ("data/a.dat", ("bytes", bytes(range(1, 250)))),
    ("b.dat", ("bytes", bytes(range(1, 250)))),
], {"data/a.dat": ["ST506"], "b.dat": ["ST506"]}, 2, ["--policy", policy])
doc = check("unidentified-lowered-only", [("data/a.dat", ("bytes", bytes(range(1, 250))))],
            {"data/a.dat": ["ST506"]}, 0, ["--policy", policy])
# an old-joblib ZF file (zlib-compressed pickle) with a payload is never skipped: identified by
# the format table (joblib.c) and its pickle checked
zf_payload = b"cos\nsystem\n(S'id'\ntR."
zf = b"ZF" + b"0x%x" % len(zf_payload) + b" " * (19 - len(b"0x%x" % len(zf_payload)))
zf += zlib.compress(zf_payload)
doc = check("zf", [("model.pkl", ("bytes", zf))], {"model.pkl": ["ST201"]}, 1)
if doc["files"][0]["format"] != "joblib-zfile":
    failures += 1
    print(f"FAIL zf: checked as {doc['files'][0]['format']}")

# A git clone: .git/ identified as git's own store is one info entry, not walked; LFS pointers
# were never downloaded: could not check. A folder named .git that is no store is walked.
LFS = ("version https://git-lfs.github.com/spec/v1\noid sha256:" + "c" * 64 +
       "\nsize 1234\n")
GIT = [
    (".git/HEAD", ("text", "ref: refs/heads/main\n")),
    (".git/objects/pack/pack-1.pack", ("copy", EVIL)),
    (".git/refs/heads/main", ("text", "d" * 40 + "\n")),
    (".git/config", ("text", "[core]\n")),
    (".gitattributes", ("text", "*.safetensors filter=lfs diff=lfs merge=lfs -text\n")),
    ("model.safetensors", ("copy", SAFE)),
    ("README.md", ("text", "# m\n")),
]
GIT_EXPECT = {".git": ["ST630"], ".gitattributes": ["ST608"], "model.safetensors": [],
              "README.md": ["ST608"]}
check("git-clone", GIT, GIT_EXPECT, 0)
check("git-clone-lfs", GIT + [("big.safetensors", ("text", LFS))],
      dict(GIT_EXPECT, **{"big.safetensors": ["ST507"]}), 2)
check("git-fake-store", [(".git/payload.pkl", ("copy", EVIL)), (".git/HEAD", ("text", "x\n"))],
      {".git/payload.pkl": ["ST201"], ".git/HEAD": ["ST608"]}, 1)
policy = os.path.join(WORK, "gitcheck.json")
with open(policy, "w") as f:
    json.dump({"extends": "default", "git_store": "check"}, f)
check("git-clone-checked", GIT, {
    ".git/HEAD": ["ST608"], ".git/config": ["ST608"], ".git/objects/pack/pack-1.pack": ["ST201"],
    ".git/refs/heads/main": ["ST608"], ".gitattributes": ["ST608"], "model.safetensors": [],
    "README.md": ["ST608"]}, 1, ["--policy", policy])

# Override globs are anchored at the walk root (gitignore): "vendor/*" relaxes the root's
# vendor/ only, not an uploaded folder of that name deeper down, nor a root folder so named;
# "**/deps/*" matches at any depth.
policy = os.path.join(WORK, "vendor.json")
with open(policy, "w") as f:
    json.dump({"extends": "default", "overrides": [
        {"paths": ["vendor/*", "**/deps/*"], "policy": {"fail_on": "none"}}]}, f)
check("override-anchored", [
    ("vendor/a.pkl", ("copy", EVIL)),
    ("deps/b.pkl", ("copy", EVIL)),
    ("x/deps/c.pkl", ("copy", EVIL)),
], {"vendor/a.pkl": ["ST201"], "deps/b.pkl": ["ST201"], "x/deps/c.pkl": ["ST201"]}, 0,
    ["--policy", policy])
check("override-upload-named-vendor", [("upload/vendor/a.pkl", ("copy", EVIL))],
      {"upload/vendor/a.pkl": ["ST201"]}, 1, ["--policy", policy])
check("vendor", [("a.pkl", ("copy", EVIL))], {"a.pkl": ["ST201"]}, 1, ["--policy", policy])

# Link resolution is bounded per walk (link_steps): past the budget every link is ST901.
policy = os.path.join(WORK, "steps.json")
with open(policy, "w") as f:
    json.dump({"extends": "default", "limits": {"link_steps": 1}}, f)
check("link-steps", [
    ("a.safetensors", ("copy", SAFE)),
    ("l1", ("link", "a.safetensors")),
    ("l2", ("link", "a.safetensors")),
], {"a.safetensors": [], "l1": ["ST901"], "l2": ["ST901"]}, 2, ["--policy", policy])

# 61 looping links through a 200-deep folder (10.9 s once, with "0.00 s" in the summary): the
# default budget keeps the walk short, and the summary's time includes the walk.
root = os.path.join(WORK, "deep-loops")
shutil.rmtree(root, ignore_errors=True)
deep = "/".join(["a"] * 200)
os.makedirs(os.path.join(root, deep))
up = "/".join([".."] * 200)
for i in range(61):
    os.symlink(deep + "/x%d" % i, os.path.join(root, "l%d" % i))
    os.symlink(up + "/l%d" % i, os.path.join(root, deep, "x%d" % i))
t0 = time.monotonic()
p = subprocess.run([STCHECK, "-r", root], capture_output=True, text=True)
wall = time.monotonic() - t0
said = float(p.stderr.strip().splitlines()[-1].rsplit("(", 1)[1].split()[0])
lines = [ln for ln in p.stdout.splitlines() if ": error ST" in ln]
ids = {ln.split("error ")[1].split(":")[0] for ln in lines}
if p.returncode != 2 or not ids <= {"ST603", "ST901"} or "ST901" not in ids or len(lines) != 122:
    failures += 1
    print(f"FAIL deep-loops: exit {p.returncode}, ids {ids}, {len(lines)} findings")
if wall > 5 or (wall > 0.2 and said < 0.5 * wall):
    failures += 1
    print(f"FAIL deep-loops: took {wall:.2f} s, the summary says {said:.2f} s")

# text output: each walk ends with its repository's verdict line
root = os.path.join(WORK, "links")
p = subprocess.run([STCHECK, "-r", root], capture_output=True, text=True)
last = p.stdout.strip().splitlines()[-1]
if not last.startswith(root + ": REPOSITORY COULD NOT CHECK (13 files:"):
    failures += 1
    print(f"FAIL text repository line: {last!r}")

print(f"tree: {failures} failures")
sys.exit(1 if failures else 0)
