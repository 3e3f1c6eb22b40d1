#!/usr/bin/python3
"""Checkpoints for the convert/compare tests (tests/convert_test.py), made at test time.

Real ones with Debian's python3-torch (1.13: zip and legacy layouts), each with the expected
tensors' dtype, shape and SHA-256 of their contiguous little-endian bytes recorded at creation
(expected.json), and hand-made ones torch no longer writes or that must be refused: a zip with a
"big" byteorder record and byte-swapped storages (as torch >= 2.1 writes on big-endian hosts),
a zip whose storage record is deflated, state dicts holding other values, a group of views
sharing a storage none covers, a malicious pickle, a truncated file.

usage: gen_checkpoints.py OUTDIR          (every checkpoint, expected.json)
       gen_checkpoints.py --unit OUTDIR   (only those tests/test_convert.c reads)
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
    sd["empty.tied"] = sd["empty"]         # a storage of 0 bytes: never grouped
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


# ---- pre-0.4 tar checkpoints (torch 1.13 reads them, no longer writes them) ----
TYPE_NAME = {torch.float64: "Double", torch.float32: "Float", torch.float16: "Half",
             torch.bfloat16: "BFloat16", torch.int64: "Long", torch.int32: "Int",
             torch.int16: "Short", torch.int8: "Char", torch.uint8: "Byte", torch.bool: "Bool"}


def storage_bytes(t):
    """The bytes of t's whole storage, little-endian (this host's order)."""
    return torch.empty(0, dtype=torch.uint8).set_(t.storage()._storage).numpy().tobytes()


def tar_save(obj, path, views=()):
    """torch.save's tar layout before 0.4, from its description (torch/serialization.py of
    torch 0.3 _save, read back by 1.13's _legacy_load -> legacy_load): members sys_info,
    pickle, tensors, storages written by tarfile (PAX_FORMAT). As old torch did, tensors and
    storages have int keys (id()), the root of a storage view a str key; the pickle names a
    tensor by str(key). views: names whose tensor sits on a view storage (offset, numel) of its
    root. Keys are small counters here, so the same input gives the same bytes."""
    sd = obj["state_dict"] if "state_dict" in obj else obj
    tkeys, skeys, storages, tensors, view_list = {}, {}, [], [], []
    roots_with_views = {}
    for name, t in sd.items():
        ptr = t.storage().data_ptr() if t.storage().nbytes() else ("empty", id(t))
        if name in views:
            roots_with_views[ptr] = True
    for name, t in sd.items():
        if id(t) in tkeys:
            continue
        ptr = t.storage().data_ptr() if t.storage().nbytes() else ("empty", id(t))
        if ptr not in skeys:
            skeys[ptr] = str(1000 + len(skeys)) if ptr in roots_with_views else 1000 + len(skeys)
            storages.append((skeys[ptr], t))
        skey, off = skeys[ptr], t.storage_offset()
        if name in views:
            voff, vnumel = views[name]
            skey = 2000 + len(view_list)
            view_list.append((skey, skeys[ptr], voff, vnumel))
            off -= voff
        tkeys[id(t)] = 100 + len(tkeys)
        tensors.append((tkeys[id(t)], skey, t, off))
    sys_info = pickle.dumps({"protocol_version": 1001, "little_endian": True,
                             "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    f = io.BytesIO()

    class P(pickle.Pickler):
        def persistent_id(self, o):
            return str(tkeys[id(o)]) if isinstance(o, torch.Tensor) else None
    P(f, protocol=2).dump(obj)
    main = f.getvalue()
    ten = pickle.dumps(len(tensors), protocol=2)
    for key, skey, t, off in tensors:
        cls = getattr(torch, TYPE_NAME[t.dtype] + "Tensor")
        ten += pickle.dumps((key, skey, cls), protocol=2)
        ten += struct.pack("<iI", t.dim(), 0)
        ten += struct.pack("<%dq" % t.dim(), *t.shape) + struct.pack("<%dq" % t.dim(), *t.stride())
        ten += struct.pack("<q", off)
    sto = pickle.dumps(len(storages), protocol=2)
    for key, t in storages:
        cls = getattr(torch, TYPE_NAME[t.dtype] + "Storage")
        sto += pickle.dumps((key, "cpu", cls), protocol=2)
        sto += struct.pack("<q", t.storage().size()) + storage_bytes(t)
    sto += pickle.dumps(view_list, protocol=2)
    with open(path, "wb") as out:
        out.write(tar_bytes([("sys_info", sys_info), ("pickle", main), ("tensors", ten),
                             ("storages", sto)]))


def tar_bytes(members):
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def p2(body):
    """A protocol 2 pickle from hand-assembled opcodes."""
    return b"\x80\x02" + body + b"."


def bu(s):
    """BINUNICODE of s."""
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def pickle_of(obj_code):
    return obj_code


# ---- hand-made pickles and files for the plan's own checks (tests/test_convert.c reads them
# with the plan builder directly; most would fail the input check first) ----
P2, RB = b"\x80\x02", b"ctorch._utils\n_rebuild_tensor_v2\n"
ODE = b"ccollections\nOrderedDict\n)R"


def s_(x):
    b = x.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def int_(n):
    return b"J" + struct.pack("<i", n)


def tup_(xs):
    return b"(" + b"".join(int_(x) for x in xs) + b"t"


def pid_(key, numel, legacy=False, view=None):
    v = b""
    if legacy:
        v = b"N" if view is None else b"(" + s_(view[0]) + int_(view[1]) + int_(view[2]) + b"t"
    return (b"(" + s_("storage") + b"ctorch\nFloatStorage\n" + s_(key) + s_("cpu") +
            int_(numel) + v + b"tQ")


def tens_(pid, off, size, stride):
    return RB + b"(" + pid + int_(off) + tup_(size) + tup_(stride) + b"\x89" + ODE + b"tR"


def sd_(items):
    return P2 + b"}(" + b"".join(s_(k) + v for k, v in items) + b"u."


def legacy_file(path, data_pkl, keys, storages):
    """_legacy_save's layout: magic, protocol, sys_info, object, keys, then the storages."""
    with open(path, "wb") as f:
        f.write(pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2))
        f.write(pickle.dumps(1001, protocol=2))
        f.write(pickle.dumps({"protocol_version": 1001, "little_endian": True,
                              "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2))
        f.write(data_pkl)
        f.write(pickle.dumps(keys, protocol=2) if not isinstance(keys, bytes) else keys)
        f.write(storages)


def plan_files(out):
    four = struct.pack("<4f", 1, 2, 3, 4)
    one = sd_([("a", tens_(pid_("0", 4), 0, [4], [1]))])
    raw_zip(os.path.join(out, "plan-oob.pt"), sd_([("a", tens_(pid_("0", 2), 0, [4], [1]))]),
            {"0": four[:8]})
    raw_zip(os.path.join(out, "plan-short.pt"), one, {"0": four[:8]})
    raw_zip(os.path.join(out, "plan-missing.pt"), one, {"1": four})
    raw_zip(os.path.join(out, "plan-longkey.pt"), sd_([("a", tens_(pid_("k" * 250, 4), 0, [4],
                                                                    [1]))]), {"k" * 250: four})
    raw_zip(os.path.join(out, "plan-byteorder.pt"), one, {"0": four})
    with zipfile.ZipFile(os.path.join(out, "plan-byteorder.pt"), "a") as z:
        z.writestr("archive/byteorder", b"middle")
    with zipfile.ZipFile(os.path.join(out, "plan-nofolder.pt"), "w") as z:
        z.writestr("data.pkl", one)
    with zipfile.ZipFile(os.path.join(out, "plan-nopkl.pt"), "w") as z:
        z.writestr("archive/version", b"3\n")
    with zipfile.ZipFile(os.path.join(out, "plan-refused.pt"), "w") as z:
        z.writestr("archive/data.pkl", P2 + b"K\x01.")
    raw_zip(os.path.join(out, "plan-huge.pt"),
            sd_([("a", tens_(pid_("0", 4), 0, [2**31 - 1] * 3, [1, 1, 1]))]), {"0": four})
    raw_zip(os.path.join(out, "plan-empty-view.pt"),
            sd_([("a", tens_(pid_("0", 4), 0, [4], [1])), ("e", tens_(pid_("0", 4), 0, [0, 3],
                                                                    [1, 5]))]), {"0": four})
    raw_zip(os.path.join(out, "plan-bug.pt"), one, {"0": four})
    with zipfile.ZipFile(os.path.join(out, "plan-bug.pt"), "a") as z:
        z.writestr("archive/byteorder", b"bug")
    big_numel = (b"(" + s_("storage") + b"ctorch\nFloatStorage\n" + s_("0") + s_("cpu") +
                 b"\x8a\x08" + struct.pack("<q", 2**62) + b"tQ")
    raw_zip(os.path.join(out, "plan-numel.pt"), sd_([("a", tens_(big_numel, 0, [4], [1]))]),
            {"0": four})
    zipfile.ZipFile(os.path.join(out, "plan-emptyzip.pt"), "w").close()
    with zipfile.ZipFile(os.path.join(out, "plan-longfolder.pt"), "w") as z:
        z.writestr("f" * 5000 + "/data.pkl", one)
    with zipfile.ZipFile(os.path.join(out, "plan-nulfolder.pt"), "w") as z:
        z.writestr("arc_ive/data.pkl", one)
    with open(os.path.join(out, "plan-nulfolder.pt"), "rb") as f:
        data = f.read().replace(b"arc_ive", b"arc\x00ive")
    with open(os.path.join(out, "plan-nulfolder.pt"), "wb") as f:
        f.write(data)
    raw_zip(os.path.join(out, "plan-empty.pt"), sd_([]), {})
    st = struct.pack("<q", 4) + four
    leg1 = sd_([("a", tens_(pid_("0", 4, True), 0, [4], [1]))])
    legacy_file(os.path.join(out, "plan-leg-ok.pt"), leg1, ["0"], st)
    legacy_file(os.path.join(out, "plan-leg-unknown.pt"), leg1, ["0", "9"], st)
    legacy_file(os.path.join(out, "plan-leg-twice.pt"), leg1, ["0", "0"], st + st)
    legacy_file(os.path.join(out, "plan-leg-unlisted.pt"), leg1, [], b"")
    legacy_file(os.path.join(out, "plan-leg-count.pt"), leg1, ["0"], struct.pack("<q", 3) + four)
    legacy_file(os.path.join(out, "plan-leg-cut.pt"), leg1, ["0"], st[:10])
    legacy_file(os.path.join(out, "plan-leg-keysdict.pt"), leg1, {"0": 1}, st)
    legacy_file(os.path.join(out, "plan-leg-refused.pt"), P2 + b"K\x01.", ["0"], st)
    with open(os.path.join(out, "plan-leg-short.pt"), "wb") as f:
        f.write(pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2) + pickle.dumps(1001, protocol=2))
    # views of one legacy storage: a complete view and a partial one share the view storage
    leg2 = sd_([("v", tens_(pid_("0", 8, True, ("v0", 4, 4)), 0, [4], [1])),
                ("w", tens_(pid_("0", 8, True, ("v0", 4, 4)), 1, [2], [1])),
                ("x", tens_(pid_("0", 8, True), 0, [8], [1])),
                ("y", tens_(pid_("0", 8, True, ("v1", 0, 4)), 0, [4], [1]))])
    legacy_file(os.path.join(out, "plan-leg-views.pt"), leg2, ["0"],
                struct.pack("<q", 8) + struct.pack("<8f", *range(8)))


def npy_member(header, data=b"", version=1):
    h = header.encode("latin-1")
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(h)) + h + data


def npz_files(out):
    import numpy as np
    arrays = {"f8": np.arange(5, dtype="<f8"), "f4": np.arange(6, dtype="<f4").reshape(2, 3),
              "f2": np.arange(4, dtype="<f2"), "i8": np.arange(-3, 3, dtype="<i8"),
              "i4": np.arange(4, dtype="<i4"), "i2": np.arange(4, dtype="<i2"),
              "i1": np.arange(-2, 2, dtype="i1"), "u8": np.arange(3, dtype="<u8"),
              "u4": np.arange(3, dtype="<u4"), "u2": np.arange(3, dtype="<u2"),
              "u1": np.arange(3, dtype="u1"), "b1": np.array([True, False]),
              "scalar": np.array(2.5), "empty": np.zeros((0, 3), dtype="<f4"),
              "fortran": np.asfortranarray(np.arange(12, dtype="<f4").reshape(3, 4)),
              "big": np.arange(5, dtype=">f4"), "big16": np.arange(3, dtype=">i2")}
    np.savez(os.path.join(out, "arrays.npz"), **arrays)
    np.savez_compressed(os.path.join(out, "npz-compressed.npz"), a=np.arange(3.0))
    np.savez(os.path.join(out, "npz-complex.npz"), a=np.ones(2, dtype=np.complex64))
    np.savez(os.path.join(out, "npz-structured.npz"), a=np.zeros(2, dtype=[("x", "<f4")]))
    ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
    bad = ["{'descr': '=f4', 'fortran_order': False, 'shape': (2,), }",
           "{'descr': '<f4x 'fortran_order': False, 'shape': (2,), }",
           "{'descr': '<q9', 'fortran_order': False, 'shape': (2,), }",
           "{'descr': '<f4'; 'fortran_order': False, 'shape': (2,), }",
           "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }",
           "{'descr': '<f4', 'fortran_order': False; 'shape': (2,), }",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (x,), }",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2;), }",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (" + "1, " * 70 + "), }",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }    x",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }    ",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4), }",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (9,), }",
           "{'descr': '<f",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (22",
           "{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551616,), }"]
    for i, h in enumerate(bad):
        with zipfile.ZipFile(os.path.join(out, "npz-bad-%02d.npz" % i), "w") as z:
            z.writestr("a.npy", npy_member(h + ("\n" if not h.endswith("    ") and "x" not in h[-2:]
                                               else ""), b"\0" * 8))
    with zipfile.ZipFile(os.path.join(out, "npz-big1.npz"), "w") as z:
        z.writestr("a.npy", npy_member(ok.replace("<f4", ">i1") + "\n", b"\1\2"))
    with zipfile.ZipFile(os.path.join(out, "npz-noext.npz"), "w") as z:
        z.writestr("x", npy_member(ok + "\n", struct.pack("<2f", 1, 2)))
    with zipfile.ZipFile(os.path.join(out, "npz-longheader.npz"), "w") as z:
        z.writestr("a.npy", b"\x93NUMPY\x01\x00\x00\x01" + b" " * 100)
    with zipfile.ZipFile(os.path.join(out, "npz-v2.npz"), "w") as z:
        z.writestr("a.npy", npy_member(ok + "\n", struct.pack("<2f", 1, 2), version=2))
    with zipfile.ZipFile(os.path.join(out, "npz-mixed.npz"), "w") as z:
        z.writestr("a.npy", npy_member(ok + "\n", struct.pack("<2f", 1, 2)))
        z.writestr("readme.txt", b"hello")
    with zipfile.ZipFile(os.path.join(out, "npz-short.npz"), "w") as z:
        z.writestr("a.npy", b"\x93NUMPY")
    with zipfile.ZipFile(os.path.join(out, "npz-hugeheader.npz"), "w") as z:
        z.writestr("a.npy", b"\x93NUMPY\x01\x00\xff\xff" + b" " * 100)
    with zipfile.ZipFile(os.path.join(out, "npz-twice.npz"), "w") as z:
        z.writestr("a.npy", npy_member(ok + "\n", struct.pack("<2f", 1, 2)))
        z.writestr("a.npy", npy_member(ok + "\n", struct.pack("<2f", 3, 4)))


def tar_files(out):
    """Tar checkpoints: real layouts (tar_save) and hand-made records convert must refuse."""
    sd = state_dict()
    tar_save(sd, os.path.join(out, "tar.pt"))
    tar_save(sd, os.path.join(out, "tar-views.pt"), views={"base.rows": (8, 24),
                                                           "lone.slice": (10, 40)})
    tar_save({"state_dict": module_state()}, os.path.join(out, "tar-module.pt"))
    dump = lambda o: pickle.dumps(o, protocol=2)  # noqa: E731
    fs = torch.FloatStorage
    four = struct.pack("<q", 4) + struct.pack("<4f", 1, 2, 3, 4)

    def rec(key, skey, ndim=1, dims=(4, 1), off=0, cls=torch.FloatTensor):
        return (dump((key, skey, cls)) + struct.pack("<iI", ndim, 0) +
                struct.pack("<%dq" % len(dims), *dims) + struct.pack("<q", off))
    good = {"main": p2(b"ccollections\nOrderedDict\n)R" + bu("a") + bu("100") + b"Qs"),
            "storages": dump(1) + dump((1000, "cpu", fs)) + four + dump([]),
            "tensors": dump(1) + rec(100, 1000)}
    cases = {
        "ok": {},
        "pid-int": {"main": p2(b"}" + bu("a") + b"Kd" + b"Qs")},  # 100 as an int
        "pid-neg": {"main": p2(b"}" + bu("a") + bu("-5") + b"Qs"),
                    "tensors": dump(1) + rec(-5, 1000)},
        "pid-text": {"main": p2(b"}" + bu("a") + bu("1e2") + b"Qs")},
        "pid-tuple": {"main": p2(b"}" + bu("a") + b"(K\x01K\x02tQs")},
        "pid-none": {"main": p2(b"}" + bu("a") + b"NQs")},
        "pid-unknown": {"main": p2(b"}" + bu("a") + bu("7") + b"Qs")},
        "pid-storage": {"main": p2(b"}" + bu("a") + bu("1000") + b"Qs")},
        "count-str": {"storages": dump("1") + dump((1000, "cpu", fs)) + four + dump([])},
        "count-big": {"storages": dump(2) + dump((1000, "cpu", fs)) + four + dump([])},
        "count-raw": {"storages": dump(2) + dump((1000, "cpu", fs)) + four + b"\xff" * 9},
        "storage-cut": {"storages": dump(1) + dump((1000, "cpu", fs)) + four[:10]},
        "storage-nocount": {"storages": dump(1) + dump((1000, "cpu", fs))},
        "storage-location": {"storages": dump(1) + dump((1000, 0, fs)) + four + dump([])},
        "storage-type": {"storages": dump(1) + dump((1000, "cpu", torch.FloatTensor)) + four +
                         dump([])},
        "storage-keytype": {"storages": dump(1) + dump((None, "cpu", fs)) + four + dump([])},
        "storage-notuple": {"storages": dump(1) + dump([1000, "cpu", fs]) + four + dump([])},
        "storage-twice": {"storages": dump(2) + dump((1000, "cpu", fs)) + four +
                          dump((1000, "cpu", fs)) + four + dump([])},
        "views-dict": {"storages": dump(1) + dump((1000, "cpu", fs)) + four + dump({})},
        "views-list": {"storages": dump(1) + dump((1000, "cpu", fs)) + four + dump([[1, 2, 3, 4]])},
        "views-neg": {"storages": dump(1) + dump((1000, "cpu", fs)) + four +
                      dump([(1, 1000, -1, 2)])},
        "views-root": {"storages": dump(1) + dump((1000, "cpu", fs)) + four +
                       dump([(1, 999, 0, 2)])},
        "views-outside": {"storages": dump(1) + dump((1000, "cpu", fs)) + four +
                          dump([(1, 1000, 3, 2)])},
        "views-twice": {"storages": dump(1) + dump((1000, "cpu", fs)) + four +
                        dump([(1, 1000, 0, 2), (1, 1000, 2, 2)])},
        "views-keytype": {"storages": dump(1) + dump((1000, "cpu", fs)) + four +
                          dump([(True, 1000, 0, 2)])},
        "views-roottype": {"storages": dump(1) + dump((1000, "cpu", fs)) + four +
                           dump([(1, None, 0, 2)])},
        # a view of a view, under a str key: tensor "a" is elements 2..3 of the root
        "views-nested": {"storages": dump(1) + dump(("r", "cpu", fs)) + four +
                         dump([(1, "r", 1, 3), (2, 1, 1, 2)]),
                         "tensors": dump(1) + rec(100, 2, dims=(2, 1))},
        "tensor-notuple": {"tensors": dump(1) + dump(100) + struct.pack("<iIqqq", 1, 0, 4, 1, 0)},
        "tensor-type": {"tensors": dump(1) + rec(100, 1000, cls=torch.FloatStorage)},
        "tensor-reftype": {"tensors": dump(1) + rec(100, None)},
        "tensor-storage": {"tensors": dump(1) + rec(100, 5)},
        "tensor-oftensor": {"tensors": dump(2) + rec(99, 1000) + rec(100, 99)},
        "tensor-twice": {"tensors": dump(2) + rec(100, 1000) + rec(100, 1000)},
        "tensor-cut": {"tensors": dump(1) + dump((100, 1000, torch.FloatTensor)) + b"\1\0"},
        "tensor-ndim": {"tensors": dump(1) + rec(100, 1000, ndim=-1, dims=())},
        "tensor-rank": {"tensors": dump(1) + rec(100, 1000, ndim=3, dims=(4, 1))},
        "tensor-negative": {"tensors": dump(1) + rec(100, 1000, dims=(4, -1))},
        "tensor-offset": {"tensors": dump(1) + rec(100, 1000, off=-1)},
        "tensor-oob": {"tensors": dump(1) + rec(100, 1000, dims=(5, 1))},
        "tensor-count": {"tensors": dump(2) + rec(100, 1000)},
        "tensor-0d": {"tensors": dump(1) + rec(100, 1000, ndim=0, dims=(), off=3)},
        "main-list": {"main": p2(b"]" + bu("100") + b"Qa")},
        "main-garbage": {"main": b"\xff\xfe not a pickle"},
        "views-offset": {"storages": dump(1) + dump((1000, "cpu", fs)) + four +
                         dump([(1, 1000, 5, 0)])},
        # a memo index 5 in the tensor record, or in the storage record: with the walker's
        # memo limit lowered, that record's walk fails (test_convert)
        "memo-storage": {"storages": dump(1) + p2(b"(M\xe8\x03" + bu("cpu") +
                                                  b"ctorch\nFloatStorage\nq\x05t") + four +
                         dump([])},
        "plain-main": {"main": p2(b"}" + bu("a") + bu("100") + b"Qs"),
                       "tensors": dump(1) + p2(b"(KdM\xe8\x03ctorch\nFloatTensor\nq\x05t")[:-1] +
                       b"." + struct.pack("<iIqqq", 1, 0, 4, 1, 0)},
    }
    for name, parts in cases.items():
        d = dict(good, **parts)
        with open(os.path.join(out, "tar-" + name + ".pt"), "wb") as f:
            f.write(tar_bytes([("sys_info", dump({"little_endian": True})), ("pickle", d["main"]),
                               ("storages", d["storages"]), ("tensors", d["tensors"])]))
    with open(os.path.join(out, "tar-nomember.pt"), "wb") as f:
        f.write(tar_bytes([("pickle", good["main"]), ("storages", good["storages"])]))


def index_json(path, weight_map, total=0, extra=None):
    doc = {"metadata": {"total_size": total}, "weight_map": weight_map}
    doc.update(extra or {})
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)


def shard_files(out):
    """Sharded checkpoints (pytorch_model.bin.index.json): shards/ holds state_dict() split in
    two zip shards (names before "c" in the first: "base" and its aliases together), so its
    union equals zip.pt; shards-bad/ holds indexes convert or compare must refuse."""
    sd = state_dict()
    d = os.path.join(out, "shards")
    os.makedirs(d, exist_ok=True)
    files = {"pytorch_model-00001-of-00002.bin": {k: v for k, v in sd.items() if k < "c"},
             "pytorch_model-00002-of-00002.bin": {k: v for k, v in sd.items() if k >= "c"}}
    wm = {}
    for name, part in files.items():
        torch.save(part, os.path.join(d, name))
        wm.update({k: name for k in part})
    total = sum(len(tensor_bytes(v)) for v in sd.values())
    index_json(os.path.join(d, "pytorch_model.bin.index.json"), wm, total)
    b = os.path.join(out, "shards-bad")
    os.makedirs(b, exist_ok=True)
    # names of 2-, 3- and 4-byte UTF-8, a quote and a backslash: escaped as json.dumps does
    odd = "é€😀\"\\"
    torch.save({"a": torch.ones(2), "b": torch.zeros(3), odd: torch.ones(1)},
               os.path.join(b, "one.bin"))
    torch.save({"c": torch.ones(2), "step": 3}, os.path.join(b, "z-int.bin"))
    with open(os.path.join(b, "evil.bin"), "wb") as f:
        f.write(b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueq\x00\x85R.")
    with open(os.path.join(b, "plain.pkl"), "wb") as f:
        pickle.dump({"a": 1}, f, protocol=2)
    open(os.path.join(b, "empty.bin"), "wb").close()
    ok = {"a": "one.bin", "b": "one.bin", odd: "one.bin"}
    cases = {"meta": (ok, {"metadata": {"total_size": 20, "x": [1, {"y": [2]}], "z": None}}),
             "missing": (dict(ok, c="absent.bin"), None),
             "extra": (dict(ok, c="one.bin"), None),
             "fewer": ({"a": "one.bin"}, None),
             "empty": ({}, None),
             "evil": (dict(ok, x="evil.bin"), None),
             "pickle": (dict(ok, x="plain.pkl"), None),
             "emptyshard": (dict(ok, x="empty.bin"), None),
             "longname": (dict(ok, x="n" * 4300), None),
             "slash": (dict(ok, x="../shards-bad/one.bin"), None),
             "dotdot": (dict(ok, x=".."), None),
             "refused": (dict(ok, c="z-int.bin", step="z-int.bin"), None)}
    for name, (wmap, extra) in cases.items():
        index_json(os.path.join(b, name + ".index.json"), wmap, 20, extra)
    raw = {"badjson": '{"weight_map": {"a": "one.bin"', "notobj": "[]",
           "wmnotobj": '{"weight_map": []}', "wmval": '{"weight_map": {"a": 1}}',
           "metacut": '{"metadata": {"a": [1, 2', "metaval": '{"metadata": 1, "weight_map": {}}',
           "wmcut": '{"weight_map": {"a": "one.bin", 1'}
    for name, text in raw.items():
        with open(os.path.join(b, name + ".index.json"), "w") as f:
            f.write(text)


def unit_files(out):
    """The checkpoints tests/test_convert.c reads (ctest convert_checkpoints): quick to make."""
    sd = state_dict()
    torch.save(sd, os.path.join(out, "zip.pt"))
    torch.save(sd, os.path.join(out, "legacy.pt"), _use_new_zipfile_serialization=False)
    rezip(os.path.join(out, "zip.pt"), os.path.join(out, "refuse-deflated.pt"),
          lambda n, d: (d, zipfile.ZIP_DEFLATED if "/data/" in n else zipfile.ZIP_STORED))
    # a name with a control character: the output would fail --strict (ST133): not written
    torch.save({"a\b\f\n\r\t\x01\x7f": torch.ones(2)}, os.path.join(out, "refuse-control.pt"))
    # a removed name "format" cannot be recorded in __metadata__ (convert.py drops it silently)
    tied = torch.ones(3)
    torch.save({"base": tied, "format": tied}, os.path.join(out, "refuse-format.pt"))
    torch.save({"w": torch.arange(30000, dtype=torch.float32)}, os.path.join(out, "plan-big.pt"))
    with open(os.path.join(out, "zip.pt"), "rb") as f:
        data = f.read()
    with open(os.path.join(out, "truncated.pt"), "wb") as f:  # the zip checkpoint cut in half
        f.write(data[:len(data) // 2])
    plan_files(out)
    npz_files(out)
    tar_files(out)
    shard_files(out)


def main():
    if sys.argv[1] == "--unit":
        os.makedirs(sys.argv[2], exist_ok=True)
        unit_files(sys.argv[2])
        return
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    unit_files(out)
    expected = {}
    sd = state_dict()
    for name in ("zip", "legacy", "tar", "tar-views"):
        expected[name + ".pt"] = describe(sd)
    for name, kw in (("zip", {}), ("legacy", {"_use_new_zipfile_serialization": False})):
        torch.save({"state_dict": module_state()}, os.path.join(out, name + "-module.pt"), **kw)
        expected[name + "-module.pt"] = describe(module_state())
    expected["tar-module.pt"] = describe(module_state())
    big_endian(os.path.join(out, "zip.pt"), os.path.join(out, "zip-big.pt"), sd)
    expected["zip-big.pt"] = expected["zip.pt"]
    # refused: values that are not tensors, nesting
    torch.save({"a": torch.ones(2), "step": 3}, os.path.join(out, "refuse-int.pt"))
    torch.save({"a": {"b": torch.ones(2)}}, os.path.join(out, "refuse-nested.pt"))
    torch.save(torch.ones(3), os.path.join(out, "refuse-tensor.pt"))
    # refused: two views share a storage that neither covers (convert.py refuses it too)
    whole = torch.arange(10.0)
    torch.save({"a": whole[0:4], "b": whole[5:9]}, os.path.join(out, "refuse-shared.pt"))
    # refused: a complex tensor (no safetensors dtype)
    torch.save({"c": torch.ones(2, dtype=torch.complex64)}, os.path.join(out, "refuse-complex.pt"))
    torch.save({"c%02d\x01" % i: torch.ones(1) for i in range(40)},
               os.path.join(out, "refuse-controls.pt"))  # 40 ST133 in the output
    # a tensor named "pt": __metadata__'s {"format": "pt"} is no removed name
    torch.save({"pt": torch.ones(2)}, os.path.join(out, "named-pt.pt"))
    # compare: a removed name holds what its view holds (same storage, three different "b")
    for name, view in (("tied", lambda x: x), ("reshaped", lambda x: x.view(2, 2)),
                       ("transposed", lambda x: x.view(2, 2).t())):
        x = torch.arange(4.0)
        torch.save({"a": x, "b": view(x)}, os.path.join(out, "cmp-" + name + ".pt"))
    with open(os.path.join(out, "plain.pkl"), "wb") as f:
        pickle.dump({"a": 1}, f, protocol=2)
    # malicious: a pickle calling os.system in data.pkl (fails the check: never converted)
    evil = (b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01cos\nsystem\nq\x02X\x04\x00\x00\x00trueq\x03"
            b"\x85q\x04Rq\x05s.")
    raw_zip(os.path.join(out, "evil.pt"), evil, {})
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
