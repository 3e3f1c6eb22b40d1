#!/usr/bin/python3
"""Checkpoints for the convert/compare tests (tests/convert_test.py), made at test time.

Real ones with Debian's python3-torch (1.13: zip and legacy layouts), each with the expected
tensors' dtype, shape and SHA-256 of their contiguous little-endian bytes recorded at creation
(expected.json), and hand-made ones torch no longer writes or that must be refused: a zip with a
"big" byteorder record and byte-swapped storages (as torch >= 2.1 writes on big-endian hosts),
a zip whose storage record is deflated, state dicts holding other values, a group of views
sharing a storage none covers, a malicious pickle, a truncated file.

usage: gen_checkpoints.py OUTDIR
"""
import collections
import hashlib
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import torch

ST_DTYPE = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16",
            torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32", torch.int16: "I16",
            torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}


def tensor_bytes(t):
    """The tensor's elements as a contiguous little-endian array (what convert writes)."""
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def describe(sd):
    return {k: {"dtype": ST_DTYPE[v.dtype], "shape": list(v.shape),
                "sha256": hashlib.sha256(tensor_bytes(v)).hexdigest()}
            for k, v in sd.items()}


def state_dict():
    g = torch.Generator().manual_seed(15)
    base = torch.randn(6, 8, generator=g)
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(3, 4, generator=g)
    sd["f64"] = torch.randn(5, generator=g, dtype=torch.float64)
    sd["f16"] = torch.randn(2, 3, generator=g).half()
    sd["bf16"] = torch.randn(4, 2, generator=g).bfloat16()
    sd["i64"] = torch.arange(-5, 7, dtype=torch.int64).reshape(3, 4)
    sd["i32"] = torch.arange(-3, 3, dtype=torch.int32)
    sd["i16"] = torch.arange(-300, 300, 100, dtype=torch.int16)
    sd["i8"] = torch.arange(-4, 4, dtype=torch.int8)
    sd["u8"] = torch.arange(0, 250, 10, dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(3.5)
    sd["empty"] = torch.zeros(0, 4)
    sd["base"] = base                      # complete: kept
    sd["base.tied"] = base                 # the same tensor: an alias of "base"
    sd["base.rows"] = base[1:4]            # a view of base's storage: an alias of "base"
    lone = torch.randn(10, 7, generator=g)
    sd["lone.slice"] = lone[2:5, 1:6]      # a lone partial view (offset, strides): copied out
    sd["transposed"] = torch.randn(5, 3, generator=g).t()  # complete, not contiguous
    sd["expanded"] = torch.randn(1, 3, generator=g).expand(4, 3)  # stride 0
    sd["param"] = torch.nn.Parameter(torch.randn(2, 2, generator=g))
    sd["ünïcode \"name\" \\"] = torch.ones(2, dtype=torch.int32)
    return sd


def module_state():
    torch.manual_seed(3)
    m = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 4))
    m[2].weight = torch.nn.Parameter(m[0].weight.t().clone().t().contiguous().t())
    return m.state_dict()  # an OrderedDict with _metadata (BUILD)


def zip_members(path):
    with zipfile.ZipFile(path) as z:
        return [(i, z.read(i.filename)) for i in z.infolist()]


def rezip(src, dst, edit):
    """Rewrites a torch zip member by member: edit(name, data) -> (data, compress) or None."""
    with zipfile.ZipFile(dst, "w") as out:
        for info, data in zip_members(src):
            res = edit(info.filename, data)
            if res is None:
                continue
            data, method = res
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = method
            out.writestr(zi, data)


def big_endian(src, dst, sd):
    """torch >= 2.1's layout on a big-endian host: byteorder "big", storages swapped."""
    sizes = {}
    with zipfile.ZipFile(src) as z:
        pkl = z.read(z.namelist()[0].split("/")[0] + "/data.pkl")

    class Probe(pickle.Unpickler):  # reads the storage types only: never builds a tensor
        def find_class(self, mod, name):
            if mod == "torch" and name.endswith("Storage"):
                return name
            if mod == "collections" and name == "OrderedDict":
                return collections.OrderedDict
            return lambda *a: None

        def persistent_load(self, pid):
            sizes[pid[2]] = getattr(torch, pid[1])().element_size()
            return None

    Probe(io.BytesIO(pkl)).load()
    top = None

    def edit(name, data):
        nonlocal top
        top = top or name.split("/")[0]
        key = name.split("/")[-1]
        if name.startswith(top + "/data/") and sizes.get(key, 1) > 1:
            es = sizes[key]
            data = b"".join(data[i:i + es][::-1] for i in range(0, len(data), es))
        return data, zipfile.ZIP_STORED

    rezip(src, dst, edit)
    with zipfile.ZipFile(dst, "a") as z:
        zi = zipfile.ZipInfo(top + "/byteorder", date_time=(1980, 1, 1, 0, 0, 0))
        z.writestr(zi, b"big")


def raw_zip(dst, pkl, storages):
    """A torch-like zip written by hand: archive/data.pkl, archive/data/<key>, version."""
    with zipfile.ZipFile(dst, "w") as z:
        def put(n, d):
            zi = zipfile.ZipInfo("archive/" + n, date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(zi, d)
        put("data.pkl", pkl)
        for k, d in storages.items():
            put("data/" + k, d)
        put("version", b"3\n")


def pickle_of(obj_code):
    return obj_code


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    expected = {}
    sd = state_dict()
    for name, kw in (("zip", {}), ("legacy", {"_use_new_zipfile_serialization": False})):
        torch.save(sd, os.path.join(out, name + ".pt"), **kw)
        expected[name + ".pt"] = describe(sd)
        torch.save({"state_dict": module_state()}, os.path.join(out, name + "-module.pt"), **kw)
        expected[name + "-module.pt"] = describe(module_state())
    big_endian(os.path.join(out, "zip.pt"), os.path.join(out, "zip-big.pt"), sd)
    expected["zip-big.pt"] = expected["zip.pt"]
    # refused: a deflated storage record (convert reads records in place)
    rezip(os.path.join(out, "zip.pt"), os.path.join(out, "refuse-deflated.pt"),
          lambda n, d: (d, zipfile.ZIP_DEFLATED if "/data/" in n else zipfile.ZIP_STORED))
    # refused: values that are not tensors, nesting
    torch.save({"a": torch.ones(2), "step": 3}, os.path.join(out, "refuse-int.pt"))
    torch.save({"a": {"b": torch.ones(2)}}, os.path.join(out, "refuse-nested.pt"))
    torch.save(torch.ones(3), os.path.join(out, "refuse-tensor.pt"))
    # refused: two views share a storage that neither covers (convert.py refuses it too)
    whole = torch.arange(10.0)
    torch.save({"a": whole[0:4], "b": whole[5:9]}, os.path.join(out, "refuse-shared.pt"))
    # refused: a complex tensor (no safetensors dtype)
    torch.save({"c": torch.ones(2, dtype=torch.complex64)}, os.path.join(out, "refuse-complex.pt"))
    # a name with a control character: the output would fail --strict (ST133): not written
    torch.save({"a\tb": torch.ones(2)}, os.path.join(out, "refuse-control.pt"))
    # malicious: a pickle calling os.system in data.pkl (fails the check: never converted)
    evil = (b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01cos\nsystem\nq\x02X\x04\x00\x00\x00trueq\x03"
            b"\x85q\x04Rq\x05s.")
    raw_zip(os.path.join(out, "evil.pt"), evil, {})
    # truncated: the zip checkpoint cut in half
    with open(os.path.join(out, "zip.pt"), "rb") as f:
        data = f.read()
    with open(os.path.join(out, "truncated.pt"), "wb") as f:
        f.write(data[:len(data) // 2])
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
