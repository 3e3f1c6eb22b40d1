#!/usr/bin/env python3
"""Sharded checkpoints: builds folders of safetensors shards plus an index, one defect each,
and asserts the exact findings of the index (every id, as often as it is reported), its verdict,
and the exit code of the run.

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
VERDICT = {0: "pass", 1: "fail", 2: "could not check"}


def id_list(rep):
    """Every finding id of a report, sorted, repeated as often as it was reported."""
    return sorted(x["id"] for x in rep["findings"])


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
        PENDING.append((name, mode, d, ipath, sorted(ids), code, None))


# Cases are checked in batches (flush): one stcheck run for the indexes given as files, one -r
# run over the cases' folders; a process costs ~1 s under CI's valgrind stage.
PENDING = []
EXIT_OF = {"pass": 0, "fail": 1, "could not check": 2}


def run(args, valgrind=False):
    cmd = [STCHECK, "-f", "json", *args]
    if valgrind:
        cmd = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=no"] + cmd
    return subprocess.run(cmd, capture_output=True)


def flush():
    global failures
    for mode in ("file", "walk"):
        todo = [c for c in PENDING if c[1] == mode]
        if not todo:
            continue
        if mode == "file":
            args = ["--"] + [c[3] for c in todo]
        else:
            args = ["-r", "--"] + sorted({c[2] for c in todo})
        p = run(args)
        reps = {r["path"]: r for r in json.loads(p.stdout)["files"]}
        worst = 0
        for name, _, d, ipath, want, code, check in todo:
            rep = reps.get(ipath)
            problems = []
            if rep is None:
                problems.append("no report for the index")
            else:
                got = id_list(rep)
                if got != want:
                    problems.append(f"ids {got}, expected {want}")
                if rep["verdict"] != VERDICT[code]:
                    problems.append(f"verdict {rep['verdict']}, expected {VERDICT[code]}")
                if rep["format"] != "shard-index":
                    problems.append(f"format {rep['format']}")
                if check:
                    problems += check(rep)
            if problems:
                failures += 1
                print(f"FAIL {name} ({mode}): " + "; ".join(problems))
        if mode == "file":
            for r in reps.values():
                rc = EXIT_OF.get(r["verdict"], 3)
                worst = 2 if 2 in (worst, rc) else max(worst, rc)
            if p.returncode != worst:
                failures += 1
                print(f"FAIL the run of {len(todo)} indexes exited {p.returncode}, "
                      f"its verdicts give {worst}")
    PENDING.clear()


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
flush()
with open(os.path.join(d, "model-00002-of-00002.safetensors"), "r+b") as f:
    f.truncate(20)
p = subprocess.run([STCHECK, "-f", "json", os.path.join(d, "model.safetensors.index.json")],
                   capture_output=True)
rep = json.loads(p.stdout)["files"][0]
# the cut shard fails its own checks (ST618, naming the shard's ST104), no longer holds "c"
# (ST613), and its 32 bytes of "c" leave the total (ST616)
got = (id_list(rep), rep["verdict"], p.returncode)
msg618 = [x["message"] for x in rep["findings"] if x["id"] == "ST618"]
if got != (["ST613", "ST616", "ST618"], "fail", 1) or "ST104" not in msg618[0]:
    failures += 1
    print(f"FAIL shard-invalid: a truncated shard gives {got} {msg618}, expected ST613, "
          "ST616, ST618 (naming ST104), fail, exit 1")


# ---- issue #10: identification, every shard checked, one check per file, links -------------

def report_of(doc, index_name):
    reps = [f for f in doc["files"] if f["path"].endswith("/" + index_name)]
    return reps[0] if reps else None


def folder_case(name, files, index_name, index_bytes, ids, code, modes=("file", "walk"),
                check=None, walk_extra=()):
    """files: name -> bytes, or ("link", target) for a symbolic link."""
    global failures
    d = os.path.join(WORK, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for f, content in files.items():
        p = os.path.join(d, f)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if isinstance(content, tuple):
            os.symlink(content[1], p)
        else:
            gen.write(p, content)
    ipath = os.path.join(d, index_name)
    if index_bytes is not None:
        os.makedirs(os.path.dirname(ipath), exist_ok=True)
        with open(ipath, "wb") as f:
            f.write(index_bytes)
    for mode in modes:
        want = sorted(ids + list(walk_extra if mode == "walk" else ()))
        PENDING.append((name, mode, d, ipath, want, code, check))


def good_files():
    return {f: shard(ts) for f, ts in GOOD.items()}


def index_bytes(extra=None, total=True):
    return json.dumps(index_for(GOOD, extra=extra) if total else
                      {"weight_map": index_for(GOOD, extra=extra)["weight_map"]}).encode()


# Found by parsing, not by a 4 KiB window: 5,000 leading spaces are valid JSON.
folder_case("leading-ws", good_files(), "model.safetensors.index.json",
            b" " * 5000 + index_bytes({"x": "../../evil.safetensors"}), ["ST611"], 1)
folder_case("leading-ws-good", good_files(), "model.safetensors.index.json",
            b"\n" * 5000 + index_bytes(), [], 0)
# transformers' variant names, and accelerate's index of any .json name.
folder_case("variant-name", good_files(), "model.safetensors.index.fp16.json",
            index_bytes({"x": "../x.safetensors"}), ["ST611"], 1)
folder_case("any-json-name", good_files(), "checkpoint.json",
            b" " * 5000 + index_bytes({"x": "../x.safetensors"}), ["ST611"], 1)

# Shards of any format are checked with the full scanner.
EVIL = b"\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03."  # never loaded
BENIGN = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s."  # {'a': 1}


def names_ids(want):
    def check(rep):
        msgs = [x["message"] for x in rep["findings"] if x["id"] == "ST618"]
        return [] if all(w in " ".join(msgs) for w in want) else [f"ST618 messages {msgs}"]
    return check


BIN = "pytorch_model-00001-of-00001.bin"
folder_case("pickle-shard", {BIN: EVIL}, "pytorch_model.bin.index.json",
            json.dumps({"weight_map": {"a": BIN}}).encode(), ["ST618"], 1,
            check=names_ids(["pickle", "ST201"]))
folder_case("pickle-shard-benign", {BIN: BENIGN}, "pytorch_model.bin.index.json",
            json.dumps({"weight_map": {"a": BIN}}).encode(), [], 0)
MIXED = dict(good_files(), **{BIN: EVIL})
folder_case("mixed-index", MIXED, "model.safetensors.index.json",
            json.dumps({"weight_map": dict(index_for(GOOD)["weight_map"], z=BIN)}).encode(),
            ["ST618"], 1, check=names_ids(["ST201"]))
# A shard named .safetensors whose content is a pickle (ST501 in the shard itself).
folder_case("pickle-named-safetensors", {"model-00001-of-00001.safetensors": EVIL},
            "model.safetensors.index.json",
            json.dumps({"weight_map": {"a": "model-00001-of-00001.safetensors"}}).encode(),
            ["ST618"], 1, check=names_ids(["ST501", "ST201"]))
# A shard that is itself an index is never read as one (no recursion): its shards unknown.
folder_case("index-as-shard", good_files(), "model.safetensors.index.json",
            json.dumps({"weight_map": {"a": "model.safetensors.index.json"}}).encode(),
            ["ST618"], 1, check=names_ids(["shard-index", "ST617"]))


# Each shard file is checked once however many names (links) point at it.
def links_case(name, blob, n_links, ids, code, n618):
    files = {"blob.bin": blob}
    wm = {}
    for k in range(n_links):
        link = "model-%05d-of-%05d.safetensors" % (k + 1, n_links)
        files[link] = ("link", "blob.bin")
        for t in ("a", "b"):
            wm[t if k == 0 else f"{t}{k}"] = link
    def check(rep):
        n = sum(1 for x in rep["findings"] if x["id"] == "ST618")
        return [] if n == n618 else [f"{n} ST618 findings, expected {n618}"]
    folder_case(name, files, "model.safetensors.index.json",
                json.dumps({"weight_map": wm}).encode(), ids, code, modes=("file",),
                check=check)


many = {"a": 4, "b": 2}
many.update({f"{t}{k}": 1 for k in range(1, 60) for t in ("a", "b")})
links_case("links-60", shard(many), 60, [], 0, 0)
# (its header cut short, it holds none of the 120 tensors the index puts in it: ST613 each)
links_case("links-60-broken", shard(many)[:40], 60, ["ST613"] * 120 + ["ST618"], 1, 1)
# Names linked to one file are one shard: a tensor in "two" of them is not in two shards
# (no ST614); the shard holds a and b, not a1 and b1 (two ST613).
links_case("links-dup-tensor", shard({"a": 4, "b": 2}), 2, ["ST613", "ST613"], 1, 0)

flush()

# Index syntax errors: offsets come from the scanner, never from an unset token (valgrind).
SYNTAX = [(b'{"weight_map": {"a": "x",}}', 25, 0), (b'{"weight_map": [', 15, 1),
          (b'{"weight_map": ', 15, 0), (b'{"metadata": {"total_size": 1,', 30, 0),
          (b'{"metadata": 1, "weight_map": {}}', 13, 1), (b'{', 1, 0)]
# valgrind cannot run a sanitizer build (ASan has its own checks), and valgrind 3.19 gives up on
# clang 14's DWARF 5 debug information; the gcc builds (and ci/valgrind.sh) run it.
with open(STCHECK, "rb") as f:
    image = f.read()
unsupported = b"__asan_init" in image or b"clang version" in image
have_valgrind = shutil.which("valgrind") is not None and not unsupported
for k, (raw, off, length) in enumerate(SYNTAX):
    d = os.path.join(WORK, f"syntax-{k}")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    ipath = os.path.join(d, "model.safetensors.index.json")
    with open(ipath, "wb") as f:
        f.write(raw)
    p = run([ipath], valgrind=have_valgrind)
    if p.returncode == 99:
        failures += 1
        print(f"FAIL syntax-{k}: valgrind: {p.stderr.decode(errors='replace')[:2000]}")
        continue
    doc = json.loads(p.stdout)
    rep = doc["files"][0]
    got = [(x["id"], x["offset"], x["length"]) for x in rep["findings"]]
    if rep["format"] != "shard-index" or got != [("ST610", off, length)]:
        failures += 1
        print(f"FAIL syntax-{k}: {rep['format']} {got}, expected [('ST610', {off}, {length})]")
if not have_valgrind:
    print("note: syntax cases ran without valgrind (not installed, a sanitizer build, or a clang build)")

# A Hugging Face cache: every snapshot name is a link to a blob, the index too. Shards are
# opened by their names in the snapshot folder (links), not beside the blob.
def cache_case(name, wm_extra, ids, code, modes=("file", "walk")):
    blobs = {f"blobs/{k:040x}": shard(ts) for k, (f, ts) in enumerate(GOOD.items())}
    files = dict(blobs)
    for k, f in enumerate(GOOD):
        files[f"snapshots/rev/{f}"] = ("link", f"../../blobs/{k:040x}")
    files["blobs/" + "f" * 40] = index_bytes(wm_extra)
    files["snapshots/rev/model.safetensors.index.json"] = ("link", "../../blobs/" + "f" * 40)
    # in a walk the index is reached through its link: ST605 (info) says so
    folder_case(name, files, "snapshots/rev/model.safetensors.index.json", None, ids, code,
                modes=modes, walk_extra=["ST605"])


cache_case("hf-cache", None, [], 0)
cache_case("hf-cache-escape", {"x": "../../blobs/" + "0" * 40}, ["ST611"], 1)
# Beside the blob (blobs/) the shards do not exist under their snapshot names: if the folder
# were the link target's, every shard would be missing (ST612).
cache_case("hf-cache-missing", {"x": "model-00003-of-00003.safetensors"}, ["ST612"], 1)
flush()

# ---- issue #12: every check and error path of src/formats/index.c ---------------------------

def exact_case(name, files, index_name, index_raw, want_format, ids, verdict, code, args=(),
               relative=False):
    """Runs the CLI on one file of a fresh folder; asserts its format, exact finding list (every
    id, sorted, as often as reported), verdict and exit code."""
    global failures
    d = os.path.join(WORK, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for f, content in files.items():
        p = os.path.join(d, f)
        if isinstance(content, tuple):
            os.symlink(content[1], p)
        elif content is None:
            os.makedirs(p)
        else:
            gen.write(p, content)
    ipath = os.path.join(d, index_name)
    with open(ipath, "wb") as f:
        f.write(index_raw)
    if relative:  # a bare name (no folder part), from the folder itself
        p = subprocess.run([os.path.abspath(STCHECK), "-f", "json", *args, index_name],
                           capture_output=True, cwd=d)
    else:
        p = run([*args, ipath])
    rep = json.loads(p.stdout)["files"][0]
    got = (rep["format"], id_list(rep), rep["verdict"], p.returncode)
    want = (want_format, sorted(ids), verdict, code)
    if got != want:
        failures += 1
        print(f"FAIL {name}: {got}, expected {want}")
    return rep


IX = "model.safetensors.index.json"
S1, S2 = list(GOOD)
WM = json.dumps(index_for(GOOD)["weight_map"])
# grammar and shape of the index itself
for k, (raw, ids) in enumerate([
        (b'{"weight_map": {"a": 1}}', ["ST610"]),                    # value not a string
        (b'{"weight_map": {"a": }}', ["ST610"]),                     # value cut
        (b'{"weight_map": {"a": "a\\\\b.safetensors"}}', ["ST611"]),  # a backslash
        (b'{"metadata": {"total_size": "56"}, "weight_map": ' + WM.encode() + b'}', ["ST610"]),
        (b'{"metadata": {"total_size": }, "weight_map": {}}', ["ST610"]),
        (b'{"metadata": {"x": [1,]}, "weight_map": {}}', ["ST610"]),  # a skipped value cut
        (b'{"metadata": [], "weight_map": {}}', ["ST610"]),
        (b'{"weight_map": {}, "other": [1,]}', ["ST610"]),            # an ignored key cut
        (b'{"other": }', ["ST610"]),                                   # its value missing
        (b'{"weight_map": {}} x', ["ST610"]),                         # data after the object
        ]):
    exact_case(f"index-grammar-{k}", good_files(), IX, raw, "shard-index", ids, "fail", 1)
# keys of weight_map's and metadata's lengths that are neither: ignored, as loaders do
exact_case("index-near-keys", good_files(), IX,
           b'{"weight_map": {}, "weight_maq": 1, "metadatx": {"total_size": "x"}}',
           "shard-index", [], "pass", 0)
# other metadata keys are skipped; a key of total_size's length is not total_size
exact_case("index-metadata-keys", good_files(), IX,
           b'{"metadata": {"format": {"a": [1]}, "total_sizf": 1, "total_size": 56},'
           b' "weight_map": ' + WM.encode() + b'}', "shard-index", [], "pass", 0)
# an index above the header_bytes limit is not read
exact_case("index-limit", dict(good_files(), **{"p.json": b'{"limits": {"header_bytes": 64}}'}),
           IX, index_bytes(), "shard-index", ["ST901"], "could not check", 2,
           args=("--policy", os.path.join(WORK, "index-limit", "p.json")))

# shards: a directory, a dangling link, a link loop, a shard on another file system
exact_case("shard-is-dir", dict(good_files(), **{"d.safetensors": None}), IX,
           index_bytes({"x": "d.safetensors"}), "shard-index", ["ST612"], "fail", 1)
exact_case("shard-dangling", dict(good_files(), **{"l.safetensors": ("link", "nowhere")}), IX,
           index_bytes({"x": "l.safetensors"}), "shard-index", ["ST612"], "fail", 1)
exact_case("shard-loop", dict(good_files(), **{"l.safetensors": ("link", "l.safetensors")}), IX,
           index_bytes({"x": "l.safetensors"}), "shard-index", ["ST612"], "fail", 1)
shm = "/dev/shm/stcheck-shard-test-%d.safetensors" % os.getpid()
gen.write(shm, shard({"c": 8}))
OTHER_FS = {S1: shard(GOOD[S1]), S2: ("link", shm)}
exact_case("shard-other-device", OTHER_FS, IX, index_bytes(), "shard-index", [], "pass", 0)
# the same with the other shard on the other device, and inodes in the other order (the second
# shard's file made first): shards are grouped by device and inode whatever their order
gen.write(shm, shard(GOOD[S1]))
exact_case("shard-other-device-2", {S2: shard(GOOD[S2]), S1: ("link", shm)}, IX, index_bytes(),
           "shard-index", [], "pass", 0)
os.unlink(shm)
exact_case("shard-inode-order", {S2: shard(GOOD[S2]), S1: shard(GOOD[S1])}, IX, index_bytes(),
           "shard-index", [], "pass", 0)
# a shard tensor without usable offsets: its size is unknown, so total_size is not judged
BADOFF = gen.frame({"a": gen.t("F32", [4], 0, 16), "b": {"dtype": "F32", "shape": [2],
                                                          "data_offsets": [8]}}, 16)
exact_case("shard-bad-offsets", {S1: BADOFF, S2: shard(GOOD[S2])}, IX, index_bytes(),
           "shard-index", ["ST618"], "fail", 1)
# tensor sizes whose sum wraps: not judged either
HALF = 2 ** 63
HUGE = gen.frame({"a": gen.t("U8", [HALF], 0, HALF), "b": gen.t("U8", [HALF], 0, HALF)}, 0)
exact_case("shard-sizes-wrap", {"h.safetensors": HUGE}, IX,
           json.dumps({"metadata": {"total_size": 5},
                       "weight_map": {"a": "h.safetensors", "b": "h.safetensors"}}).encode(),
           "shard-index", ["ST618"], "fail", 1)
# a shard with many findings: the message names the first six at warning or above, no info
# (an unpadded header: ST139, info, comes first; eight ST133 warnings; a trailing byte, ST129)
MANY_HDR = {"\t%d" % i: gen.t("U8", [1], i, i + 1) for i in range(8)}
MANY = gen.frame(MANY_HDR, 9, pad=False)
assert len(json.dumps(MANY_HDR, separators=(",", ":"))) % 8 != 0
rep = exact_case("shard-many-findings", {"m.safetensors": MANY}, IX,
                 json.dumps({"weight_map": {k: "m.safetensors" for k in MANY_HDR}}).encode(),
                 "shard-index", ["ST618"], "fail", 1)
msg = rep["findings"][0]["message"] if rep["findings"] else ""
if "fail: ST133 ST133 ST133 ST133 ST133 ST133;" not in msg:
    failures += 1
    print(f"FAIL shard-many-findings: message {msg!r}, expected the first six ids at warning or "
          "above (not ST139, info; not ST129, the seventh)")

# identification
for k, (fname, raw, fmt, ids, verdict, code) in enumerate([
        ("m.index.fp16.json", b'{"weight_map": {"a": "../x"}}', "shard-index", ["ST611"],
         "fail", 1),
        ("m.index..json", b'{"weight_map": {"a": "../x"}}', "shard-index", ["ST611"], "fail", 1),
        ("plain.json", b'{"a": 1, "b": [2]}', "unknown", ["ST903"], "could not check", 2),
        ("plain2.json", b'{"a": 1, x}', "unknown", ["ST903"], "could not check", 2),
        ("plain3.json", b'{"weight_maq": 1}', "unknown", ["ST903"], "could not check", 2),
        ("plain4.json", b'{"a": [1,]}', "unknown", ["ST903"], "could not check", 2),
        ("plain5.json", b'{"w": x, "wait": 1}', "unknown", ["ST903"], "could not check", 2),
        ("refused.json", b'{"a": 1, "weight_map": {"a": "x",}}', "shard-index", ["ST610"],
         "fail", 1),
        ("refused2.json", b'{"weight_map" 1}', "shard-index", ["ST610"], "fail", 1),
        ("ws.json", b" \t\r\n" * 3000 + b'{"weight_map": {"a": "../x"}}', "shard-index",
         ["ST611"], "fail", 1),
        ("allws.index.json", b" " * 9000, "unknown", ["ST903"], "could not check", 2),
        ("empty.index.json", b"", "unknown", ["ST903"], "could not check", 2),
        ]):
    exact_case(f"sniff-{k}", {}, fname, raw, fmt, ids, verdict, code)
exact_case("sniff-bare-name", {}, "m.index.fp16.json", b'{"weight_map": {"a": "../x"}}',
           "shard-index", ["ST611"], "fail", 1, relative=True)
# listed and held names that sort next to each other: "ab", "acx" and "ah" listed; "ac", "ag"
# and "zz" held (each listed name missing, each held name unlisted)
exact_case("listed-held-neighbours",
           {"s.safetensors": gen.frame({"ac": gen.t("U8", [1], 0, 1),
                                        "ag": gen.t("U8", [1], 1, 2),
                                        "zz": gen.t("U8", [1], 2, 3)}, 3)},
           IX, json.dumps({"weight_map": {k: "s.safetensors" for k in ("ab", "acx", "ah")}})
           .encode(), "shard-index", ["ST613"] * 3 + ["ST615"] * 3, "fail", 1)
exact_case("sniff-limit", {"p.json": b'{"limits": {"header_bytes": 64}}'}, "big.json",
           b'{"weight_map": {"a": "../x"}, "pad": "' + b"x" * 100 + b'"}', "unknown", ["ST903"],
           "could not check", 2,
           args=("--policy", os.path.join(WORK, "sniff-limit", "p.json")))

print(f"shards: {failures} failures")
sys.exit(1 if failures else 0)
