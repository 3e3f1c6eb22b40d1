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
import subprocess
import sys

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
            with open(path, "w") as f:
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
HF = [
    ("models--org--m/blobs/" + SHA, ("copy", SAFE)),
    ("models--org--m/blobs/cfg", ("text", '{"model_type": "x"}\n')),
    ("models--org--m/refs/main", ("text", "abc\n")),
    ("models--org--m/snapshots/abc/model.safetensors", ("link", "../../blobs/" + SHA)),
    ("models--org--m/snapshots/abc/config.json", ("link", "../../blobs/cfg")),
]
HF_EXPECT = {
    "models--org--m/blobs/" + SHA: [],
    "models--org--m/blobs/cfg": ["ST608"],
    "models--org--m/refs/main": ["ST608"],
    "models--org--m/snapshots/abc/config.json": ["ST605"],
    "models--org--m/snapshots/abc/model.safetensors": ["ST605"],
}
check("hf-cache", HF, HF_EXPECT, 0)
check("hf-cache-strict", HF, HF_EXPECT, 0, ["--strict"])
# following links inside the root: the link is checked as the file it names
policy = os.path.join(WORK, "follow.json")
os.makedirs(WORK, exist_ok=True)
with open(policy, "w") as f:
    json.dump({"extends": "default", "symlinks": "follow"}, f)
FOLLOW_EXPECT = dict(HF_EXPECT)
FOLLOW_EXPECT["models--org--m/snapshots/abc/config.json"] = ["ST605", "ST608"]
doc = check("hf-cache-follow", HF, FOLLOW_EXPECT, 0, ["--policy", policy])
formats = {os.path.basename(f["path"]): f["format"] for f in doc["files"]}
if formats.get("model.safetensors") != "safetensors":
    failures += 1
    print(f"FAIL hf-cache-follow: the followed link was not checked as safetensors: {formats}")

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

# walk_extensions: regular files without a listed suffix are left out unread; links still count
policy = os.path.join(WORK, "ext.json")
with open(policy, "w") as f:
    json.dump({"extends": "default", "walk_extensions": [".safetensors"]}, f)
check("walk-extensions", [
    ("a.safetensors", ("copy", SAFE)),
    ("evil.pkl", ("copy", EVIL)),
    ("README.md", ("text", "# x\n")),
    ("out", ("link", "/etc/passwd")),
], {"a.safetensors": [], "out": ["ST604"]}, 1, ["--policy", policy])

# text output: each walk ends with its repository's verdict line
root = os.path.join(WORK, "links")
p = subprocess.run([STCHECK, "-r", root], capture_output=True, text=True)
last = p.stdout.strip().splitlines()[-1]
if not last.startswith(root + ": REPOSITORY COULD NOT CHECK (13 files:"):
    failures += 1
    print(f"FAIL text repository line: {last!r}")

print(f"tree: {failures} failures")
sys.exit(1 if failures else 0)
