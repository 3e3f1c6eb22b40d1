#!/usr/bin/python3
"""stcheck convert / compare on real checkpoints (docs/convert.md).

Checkpoints come from tests/gen_checkpoints.py (Debian's python3-torch 1.13). Each conversion
is read back with a small safetensors reader of this file's own and compared, tensor by tensor,
with torch.load(weights_only=True) of the input and with the SHA-256 recorded at creation;
refused, malicious and truncated inputs must exit 1 or 2 with the exact finding ids and leave no
output; compare must find a one-byte change.

usage: convert_test.py STCHECK OUTDIR
"""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_checkpoints  # noqa: E402

STCHECK, OUT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32",
         "F32", "F64", "I64", "U64"]
SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "F16": 2, "BF16": 2, "I32": 4, "F32": 4,
        "F64": 8, "I64": 8, "U64": 8, "U32": 4, "U16": 2}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(*args):
    p = subprocess.run([STCHECK, *args], capture_output=True)
    return p.returncode, p.stdout


def run_json(*args):
    code, out = run(args[0], "--format", "json", *args[1:])
    doc = json.loads(out)
    f = doc["files"][0]
    return code, f["verdict"], [x["id"] for x in f["findings"]], f


def read_safetensors(path):
    """A reader of this test's own: header, tensors in file order, byte ranges checked."""
    with open(path, "rb") as fh:
        data = fh.read()
    n = struct.unpack("<Q", data[:8])[0]
    raw = data[8:8 + n]
    assert n % 8 == 0 and raw.rstrip(b" ") == raw.rstrip(b" ")[:len(raw.rstrip(b" "))]
    header = json.loads(raw)  # dict keeps the file's order
    meta = header.pop("__metadata__", None)
    body = data[8 + n:]
    tensors, pos = {}, 0
    for name, info in header.items():
        a, b = info["data_offsets"]
        assert a == pos, (name, a, pos)
        nel = 1
        for d in info["shape"]:
            nel *= d
        assert b - a == nel * SIZE[info["dtype"]]
        tensors[name] = (info["dtype"], info["shape"], body[a:b])
        pos = b
    assert pos == len(body)
    return raw, meta, tensors


def expected_layout(raw, meta, tensors):
    """The crate's layout: __metadata__ first, tensors by dtype descending then name."""
    names = list(tensors)
    want = sorted(names, key=lambda k: (-ORDER.index(tensors[k][0]), k.encode()))
    check(names == want, "tensor order is the safetensors crate's")
    check(raw.startswith(b'{"__metadata__":{'), "__metadata__ comes first, compact JSON")
    check(list(meta) == sorted(meta, key=lambda k: k.encode()), "metadata keys sorted")
    check(meta.get("format") == "pt", "format: pt")


def verify_against_torch(src, out, expected):
    raw, meta, tensors = read_safetensors(out)
    expected_layout(raw, meta, tensors)
    loaded = torch.load(src, weights_only=True)
    if "state_dict" in loaded:
        loaded = loaded["state_dict"]
    for name, t in loaded.items():
        exp = expected[name]
        if name in tensors:
            dt, shape, data = tensors[name]
            check(dt == exp["dtype"] and shape == exp["shape"], f"{out} {name}: dtype, shape")
            check(hashlib.sha256(data).hexdigest() == exp["sha256"], f"{out} {name}: digest")
            check(data == gen_checkpoints.tensor_bytes(t), f"{out} {name}: equals torch.load")
        else:
            kept = meta.get(name)
            check(kept in tensors, f"{out} {name}: an alias of a kept tensor")
            if kept in tensors:
                same = (loaded[kept].storage().data_ptr() == t.storage().data_ptr())
                check(same, f"{out} {name}: shares its storage with {kept} in torch")
    check(set(tensors) | {k for k in meta if k != "format"} == set(loaded),
          f"{out}: every name is a tensor or an alias")


def main():
    gen = os.path.join(OUT, "ckpt")
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(gen)
    subprocess.run([sys.executable, "-W", "ignore", gen_checkpoints.__file__, gen], check=True)
    with open(os.path.join(gen, "expected.json")) as fh:
        expected = json.load(fh)

    conv = {"zip.pt": ["ST674", "ST674"], "legacy.pt": ["ST674", "ST674"],
            "zip-big.pt": ["ST674", "ST674"], "zip-module.pt": [], "legacy-module.pt": [],
            # tar (pre-0.4) checkpoints from gen_checkpoints.tar_save; in tar-views "base.rows"
            # and "lone.slice" sit on view storages: "base.rows" covers its view, so it is kept
            "tar.pt": ["ST674", "ST674"], "tar-views.pt": ["ST674"], "tar-module.pt": []}
    for name, ids in conv.items():
        src, out = os.path.join(gen, name), os.path.join(OUT, name + ".safetensors")
        code, verdict, got, _ = run_json("convert", src, out)
        check(code == 0 and verdict == "pass" and got == ids,
              f"convert {name}: exit {code} {verdict} {got}")
        if os.path.exists(out):
            # zip-big: torch 1.13 ignores the byteorder record; its tensors are zip.pt's
            ref = os.path.join(gen, "zip.pt" if name == "zip-big.pt" else name)
            verify_against_torch(ref, out, expected[name])
            code, verdict, got, _ = run_json("compare", src, out)
            check((code, verdict, got) == (0, "pass", []), f"compare {name} with its output")

    # .npz of plain arrays (numpy.savez), every array compared with numpy.load's
    import numpy as np
    out = os.path.join(OUT, "arrays.safetensors")
    code, verdict, got, _ = run_json("convert", os.path.join(gen, "arrays.npz"), out)
    check((code, got) == (0, []), f"convert arrays.npz: {code} {got}")
    if os.path.exists(out):
        raw, meta, tensors = read_safetensors(out)
        expected_layout(raw, meta, tensors)
        npd = {"float64": "F64", "float32": "F32", "float16": "F16", "int64": "I64",
               "int32": "I32", "int16": "I16", "int8": "I8", "uint64": "U64", "uint32": "U32",
               "uint16": "U16", "uint8": "U8", "bool": "BOOL"}
        with np.load(os.path.join(gen, "arrays.npz")) as z:
            check(set(z.files) == set(tensors), "npz: every array converted")
            for k in z.files:
                a = z[k]
                want = np.ascontiguousarray(a.astype(a.dtype.newbyteorder("<"))).tobytes()
                dt, shape, data = tensors.get(k, (None, None, None))
                check(dt == npd[a.dtype.name] and shape == list(a.shape) and data == want,
                      f"npz {k}: {dt} {shape}")
        code, _, got, _ = run_json("compare", os.path.join(gen, "arrays.npz"), out)
        check((code, got) == (0, []), f"compare arrays.npz with its output: {code} {got}")
    for name, ids in (("npz-compressed.npz", ["ST672"]), ("npz-complex.npz", ["ST672"]),
                      ("npz-structured.npz", ["ST672"]), ("npz-mixed.npz", ["ST672"])):
        code, _, got, _ = run_json("convert", os.path.join(gen, name), os.path.join(OUT, "n.st"))
        check((code, got) == (1, ids) and not os.path.exists(os.path.join(OUT, "n.st")),
              f"convert {name}: {code} {got}")

    def data_of(n):
        with open(os.path.join(OUT, n), "rb") as fh:
            return fh.read()
    # byte-reproducible: the same tensors give the same bytes, whatever the layout
    again = os.path.join(OUT, "again.safetensors")
    run("convert", os.path.join(gen, "zip.pt"), again)
    check(data_of("again.safetensors") == data_of("zip.pt.safetensors"), "same input, same bytes")
    check(data_of("legacy.pt.safetensors") == data_of("zip.pt.safetensors"), "legacy == zip")
    check(data_of("zip-big.pt.safetensors") == data_of("zip.pt.safetensors"), "big == little")
    check(data_of("tar.pt.safetensors") == data_of("zip.pt.safetensors"), "tar == zip")
    code, verdict, got, _ = run_json("compare", os.path.join(gen, "tar.pt"),
                                     os.path.join(gen, "zip.pt"))
    check((code, got) == (0, []), f"compare tar.pt zip.pt: {code} {got}")
    # a tar checkpoint convert refuses: a storage view outside its root (torch clamps the slice)
    out = os.path.join(OUT, "tar-outside.safetensors")
    code, verdict, got, _ = run_json("convert", os.path.join(gen, "tar-views-outside.pt"), out)
    check((code, got) == (1, ["ST672"]) and not os.path.exists(out),
          f"convert tar-views-outside.pt: {code} {got}")

    sharded(gen, expected)

    # compare: checkpoints of both layouts, then a one-byte change
    code, verdict, got, _ = run_json("compare", os.path.join(gen, "legacy.pt"),
                                     os.path.join(gen, "zip.pt"))
    check((code, got) == (0, []), f"compare legacy.pt zip.pt: {code} {got}")
    flipped = bytearray(data_of("zip.pt.safetensors"))
    flipped[-3] ^= 0x01
    with open(os.path.join(OUT, "flipped.safetensors"), "wb") as fh:
        fh.write(flipped)
    code, verdict, got, f = run_json("compare", os.path.join(gen, "zip.pt"),
                                     os.path.join(OUT, "flipped.safetensors"))
    msg = f["findings"][0]["message"] if f["findings"] else ""
    check((code, verdict, got) == (1, "fail", ["ST678"]) and "1 of" in msg,
          f"one-byte change: {code} {verdict} {got} {msg}")
    # names, dtypes, shapes: a hand-written safetensors with one renamed and one retyped tensor
    write_variant(data_of("zip-module.pt.safetensors"), os.path.join(OUT, "variant.safetensors"))
    code, verdict, got, _ = run_json("compare", os.path.join(gen, "zip-module.pt"),
                                     os.path.join(OUT, "variant.safetensors"))
    check((code, sorted(got)) == (1, ["ST675", "ST676", "ST677"]), f"variant: {code} {got}")
    # inputs that fail or cannot be read
    # a tensor named "pt": the output's {"format": "pt"} was read as a removed name "format",
    # so the read-back differed (ST673) and the checkpoint could not be converted
    npt = os.path.join(OUT, "named-pt.safetensors")
    code, verdict, got, _ = run_json("convert", os.path.join(gen, "named-pt.pt"), npt)
    check((code, got) == (0, []) and os.path.exists(npt), f"convert named-pt.pt: {code} {got}")
    code, verdict, got, _ = run_json("compare", os.path.join(gen, "named-pt.pt"), npt)
    check((code, got) == (0, []), f"compare named-pt.pt with its output: {code} {got}")
    # a removed name is compared by what it holds when both files are checkpoints: a reshaped
    # or transposed view of the kept tensor is not the kept tensor (both used to pass)
    cmp = {"reshaped": (1, ["ST677"]), "transposed": (1, ["ST677"]), "tied": (0, [])}
    for name, want in cmp.items():
        code, verdict, got, _ = run_json("compare", os.path.join(gen, "cmp-tied.pt"),
                                         os.path.join(gen, "cmp-" + name + ".pt"))
        check((code, got) == want, f"compare cmp-tied.pt cmp-{name}.pt: {code} {got}")
    code, verdict, got, _ = run_json("compare", os.path.join(gen, "cmp-reshaped.pt"),
                                     os.path.join(gen, "cmp-transposed.pt"))
    check((code, got) == (1, ["ST678"]), f"compare reshaped transposed: {code} {got}")
    code, verdict, got, _ = run_json("compare", os.path.join(gen, "evil.pt"),
                                     os.path.join(gen, "zip.pt"))
    check((code, got) == (1, ["ST679"]), f"compare evil: {code} {got}")
    code, verdict, got, _ = run_json("compare", os.path.join(gen, "zip.pt"),
                                     os.path.join(gen, "absent.pt"))
    check((code, verdict, got) == (2, "could not check", ["ST679"]), f"compare absent: {code} {got}")
    code, verdict, got, _ = run_json("compare", os.path.join(gen, "refuse-int.pt"),
                                     os.path.join(gen, "zip.pt"))
    check((code, got) == (1, ["ST670", "ST679"]), f"compare refuse-int: {code} {got}")

    # refused, malicious, truncated: exit 1 or 2, exact ids, no output
    refused = {"refuse-int.pt": (1, ["ST670"]), "refuse-nested.pt": (1, ["ST670"]),
               "refuse-tensor.pt": (1, ["ST670"]), "refuse-complex.pt": (1, ["ST670"]),
               "refuse-shared.pt": (1, ["ST671"]), "refuse-deflated.pt": (1, ["ST672"]),
               "refuse-control.pt": (1, ["ST673"]), "evil.pt": (1, ["ST201"]),
               "refuse-format.pt": (1, ["ST674", "ST670"]), "refuse-controls.pt": (1, ["ST673"]),
               "truncated.pt": (1, ["ST310"])}
    for name, (want_code, ids) in refused.items():
        out = os.path.join(OUT, name + ".safetensors")
        code, verdict, got, _ = run_json("convert", os.path.join(gen, name), out)
        check((code, got) == (want_code, ids), f"convert {name}: {code} {got}")
        check(not os.path.exists(out), f"convert {name}: no output")
    code, verdict, got, _ = run_json("convert", os.path.join(OUT, "zip.pt.safetensors"),
                                     os.path.join(OUT, "st.safetensors"))
    check((code, got) == (2, ["ST670"]), f"convert a safetensors file: {code} {got}")
    code, _, got, _ = run_json("convert", os.path.join(gen, "absent.pt"), os.path.join(OUT, "x"))
    check(code == 2 and got == ["ST902"] and not os.path.exists(os.path.join(OUT, "x")),
          f"convert absent: {code} {got}")
    code, _, _, _ = run_json("convert", os.path.join(gen, "zip.pt"), "/nonexistent-dir/out")
    check(code == 2, f"convert into a missing folder: {code}")
    # the output cannot be written: a file size limit (EFBIG), a folder in the way, a long name
    def small_files():
        import resource
        import signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
    big = os.path.join(OUT, "big.safetensors")
    p = subprocess.run([STCHECK, "convert", "--format", "json", os.path.join(gen, "zip.pt"), big],
                       capture_output=True, preexec_fn=small_files)
    ids = [x["id"] for x in json.loads(p.stdout)["files"][0]["findings"]] if p.stdout else []
    check(p.returncode == 2 and ids[-1:] == ["ST673"] and not os.path.exists(big),
          f"convert with a 1 KiB file size limit: {p.returncode} {ids}")
    os.makedirs(os.path.join(OUT, "taken", "inside"))
    code, _, got, _ = run_json("convert", os.path.join(gen, "zip.pt"), os.path.join(OUT, "taken"))
    check((code, got[-1:]) == (2, ["ST673"]), f"convert onto a folder: {code} {got}")
    code, _, got, _ = run_json("convert", os.path.join(gen, "zip.pt"),
                               os.path.join(OUT, "x" * 5000))
    check((code, got[-1:]) == (2, ["ST673"]), f"convert to a long name: {code} {got}")
    code, _, got, _ = run_json("convert", os.path.join(gen, "zip.pt"),
                               os.path.join(OUT, "d" * 4300, "x.safetensors"))
    check((code, got[-1:]) == (2, ["ST673"]), f"convert into a folder with a long name: {code} {got}")
    # a symlink at OUTPUT is replaced, never written through: its target (elsewhere, or not
    # there yet) keeps its bytes / is not created; no temporary file is left after failures
    os.makedirs(os.path.join(OUT, "elsewhere"), exist_ok=True)
    victim = os.path.join(OUT, "elsewhere", "victim")
    with open(victim, "wb") as fh:
        fh.write(b"keep")
    for name, target in (("link.st", victim), ("dangling.st", victim + "-new")):
        os.symlink(target, os.path.join(OUT, name))
        code, _, got, _ = run_json("convert", os.path.join(gen, "zip.pt"), os.path.join(OUT, name))
        check(code == 0 and not os.path.islink(os.path.join(OUT, name)) and
              open(victim, "rb").read() == b"keep" and not os.path.exists(victim + "-new"),
              f"convert onto a symlink {name}: {code} {got}")
    left = [n for n in os.listdir(OUT) if n.startswith(".stcheck-convert.")]
    check(left == [], f"temporary files left: {left}")
    # a view repeating its storage's elements past the member limit (a policy lowers it)
    with open(os.path.join(OUT, "small-members.json"), "w") as fh:
        json.dump({"extends": "default", "limits": {"member_bytes": 16}}, fh)
    code, verdict, got, _ = run_json("convert", "--policy", os.path.join(OUT, "small-members.json"),
                                     os.path.join(gen, "legacy.pt"), os.path.join(OUT, "amp.st"))
    check((code, got[-1:]) == (2, ["ST901"]) and not os.path.exists(os.path.join(OUT, "amp.st")),
          f"convert an amplifying view: {code} {got}")
    code, _, got, _ = run_json("convert", gen, os.path.join(OUT, "dir.safetensors"))
    check(code == 2 and not os.path.exists(os.path.join(OUT, "dir.safetensors")),
          f"convert a folder: {code} {got}")
    p = subprocess.run([STCHECK, "convert", "-q", os.path.join(gen, "zip.pt"), "bare.safetensors"],
                       cwd=OUT, capture_output=True)
    check(p.returncode == 0 and p.stdout == b"" and os.path.exists(os.path.join(OUT, "bare.safetensors")),
          f"convert to a bare name, quiet: {p.returncode} {p.stdout}")
    code, verdict, got, _ = run_json("compare", os.path.join(gen, "plain.pkl"),
                                     os.path.join(gen, "zip.pt"))
    check((code, got) == (2, ["ST679"]), f"compare a plain pickle: {code} {got}")
    code, out = run("compare", "-q", os.path.join(gen, "zip.pt"), os.path.join(gen, "legacy.pt"))
    check(code == 0 and out == b"", f"compare -q: {code} {out}")
    leftovers = [n for n in os.listdir(OUT) if n.startswith(".stcheck-convert")]
    check(leftovers == [], f"no temporary files left: {leftovers}")
    # usage
    for args in (["convert", "one"], ["compare"], ["convert", "--format", "xml", "a", "b"],
                 ["convert", "--bogus", "a", "b"]):
        code, _ = run(*args)
        check(code == 3, f"usage {args}: {code}")
    code, out = run("convert", "--help")
    check(code == 0 and b"usage" in out, "convert --help")
    code, out = run("convert", os.path.join(gen, "zip.pt"), os.path.join(OUT, "text.safetensors"))
    check(code == 0 and b"converted:" in out, "text output names the output")
    print("convert_test:", "FAILED" if failures else "ok", len(failures))
    sys.exit(1 if failures else 0)


def sharded(gen, expected):
    """A sharded checkpoint (gen_checkpoints.shard_files): one safetensors file per shard and
    model.safetensors.index.json as transformers writes it; compared as sets."""
    src = os.path.join(gen, "shards", "pytorch_model.bin.index.json")
    out = os.path.join(OUT, "sharded")
    os.makedirs(out)
    code, verdict, got, _ = run_json("convert", src, out)
    check((code, got) == (0, ["ST674", "ST674"]), f"convert a sharded set: {code} {got}")
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    check(sorted(os.listdir(out)) == names + ["model.safetensors.index.json"],
          f"sharded output files: {sorted(os.listdir(out))}")
    if code != 0:
        return
    weight_map, total = {}, 0
    for i, name in enumerate(names):
        shard = os.path.join(gen, "shards", "pytorch_model-%05d-of-00002.bin" % (i + 1))
        verify_against_torch(shard, os.path.join(out, name), expected["zip.pt"])
        _, _, tensors = read_safetensors(os.path.join(out, name))
        weight_map.update({k: name for k in tensors})
        total += sum(len(t[2]) for t in tensors.values())
    want = json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2,
                      sort_keys=True) + "\n"
    with open(os.path.join(out, "model.safetensors.index.json")) as fh:
        got_index = fh.read()
    check(got_index == want, "the index is json.dumps(indent=2, sort_keys=True) of the set")
    index = os.path.join(out, "model.safetensors.index.json")
    for a, b in ((src, index), (os.path.join(gen, "zip.pt"), index), (src, os.path.join(gen, "zip.pt"))):
        code, verdict, got, _ = run_json("compare", a, b)
        check((code, got) == (0, []), f"compare {a} {b}: {code} {got}")
    # one byte of the second shard changed: found by name across the set
    flipped = os.path.join(OUT, "sharded-flipped")
    shutil.copytree(out, flipped)
    with open(os.path.join(flipped, names[1]), "r+b") as fh:
        fh.seek(-2, 2)
        last = fh.read(1)
        fh.seek(-2, 2)
        fh.write(bytes([last[0] ^ 1]))
    code, verdict, got, _ = run_json("compare", index, os.path.join(flipped, "model.safetensors.index.json"))
    check((code, got) == (1, ["ST678"]), f"compare a changed set: {code} {got}")
    # a set whose second shard holds an int: refused, and no file of the set is left
    empty = os.path.join(OUT, "sharded-refused")
    os.makedirs(empty)
    code, verdict, got, _ = run_json("convert", os.path.join(gen, "shards-bad", "refused.index.json"),
                                     os.path.join(empty, "model.safetensors.index.json"))
    check((code, got) == (1, ["ST670"]) and os.listdir(empty) == [],
          f"convert a set with a refused shard: {code} {got} {os.listdir(empty)}")


def write_variant(data, path):
    """zip-module's conversion with one tensor renamed and one retyped (same bytes)."""
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    names = [k for k in header if k != "__metadata__"]
    header[names[0] + ".renamed"] = header.pop(names[0])
    info = header[names[1]]
    info["dtype"] = {"F32": "I32", "I32": "F32"}.get(info["dtype"], info["dtype"])
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)) + raw + data[8 + n:])


if __name__ == "__main__":
    main()
