"""Structure mutators for the loader-differential oracle: zip (torch checkpoints, npz), tar
(pre-2018 torch checkpoints), legacy torch streams, joblib dumps (current and pre-0.10 formats)
and .npy headers. Each mutator builds a file whose structure is legal for some reader and puts a
payload pickle (GLOBAL oracle_payload.<mutator>) where one reader may find it and another not;
plus a byte-level mutator over the corpus. Deterministic for a given random.Random.

Nothing here unpickles: pickles are written with pickle.dumps of plain data or by hand, and
existing files are split with pickletools.genops (which only decodes opcodes).
"""
import glob
import io
import os
import pickle
import pickletools
import struct
import tarfile
import zipfile
import zlib

import numpy as np

# ---------------------------------------------------------------------------------------------
# Pickles


def payload(tag, proto=None, rng=None):
    """A pickle that resolves oracle_payload.<tag> and calls it."""
    if proto is None:
        proto = rng.choice([0, 1, 2, 4, 5]) if rng else 2
    glob_ = b"coracle_payload\n" + tag.encode() + b"\n"
    if proto == 0:
        return glob_ + b"(tR."
    if proto >= 4 and rng and rng.random() < 0.5:
        body = (b"\x8c\x0eoracle_payload" + b"\x8c" + bytes([len(tag)]) + tag.encode() +
                b"\x93)R.")
        return b"\x80" + bytes([proto]) + body
    return b"\x80" + bytes([max(proto, 2)]) + glob_ + b")R."


def split_pickles(data, count):
    """Offsets of the first `count` consecutive pickles in data (pickletools only decodes)."""
    f = io.BytesIO(data)
    out = []
    for _ in range(count):
        start = f.tell()
        for _op in pickletools.genops(f):
            pass
        out.append((start, f.tell()))
    return out


# ---------------------------------------------------------------------------------------------
# Zip writer with every field under control

def _dos():
    return 0, 0x21  # time, date (1980-01-01)


class Member:
    def __init__(self, name, data, method=0, local_name=None, flags=0, extra=b"",
                 in_cd=True, in_local=True, crc=None):
        self.name, self.data, self.method = name, data, method
        self.local_name = name if local_name is None else local_name
        self.flags, self.extra, self.in_cd, self.in_local, self.crc = flags, extra, in_cd, \
            in_local, crc


def write_zip(members, prefix=b"", comment=b"", cd_offset_delta=0, zip64=False, suffix=b"",
              eocd_count_delta=0, cd_order=None, extra_eocd=False):
    out = bytearray(prefix)
    offsets = []
    for m in members:
        raw = m.data if m.method == 0 else zlib.compress(m.data)[2:-4]
        crc = zlib.crc32(m.data) if m.crc is None else m.crc
        m._raw, m._crc = raw, crc
        offsets.append(len(out))
        if not m.in_local:
            continue
        ln = m.local_name if isinstance(m.local_name, bytes) else m.local_name.encode(
            "utf-8", "surrogateescape")
        t, d = _dos()
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, m.flags, m.method, t, d, crc,
                           len(raw), len(m.data), len(ln), len(m.extra)) + ln + m.extra + raw
    cd_start = len(out)
    order = cd_order if cd_order is not None else range(len(members))
    n = 0
    for i in order:
        m = members[i]
        if not m.in_cd:
            continue
        n += 1
        nm = m.name if isinstance(m.name, bytes) else m.name.encode("utf-8", "surrogateescape")
        t, d = _dos()
        out += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, m.flags, m.method, t, d,
                           m._crc, len(m._raw), len(m.data), len(nm), 0, 0, 0, 0, 0,
                           offsets[i] - len(prefix) * 0) + nm
    cd_size = len(out) - cd_start
    if extra_eocd:
        # an end record in the middle that frames only the first half of the directory
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, cd_size, cd_start, 0)
    if zip64:
        z64 = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, cd_size,
                           cd_start + cd_offset_delta)
        out += struct.pack("<IIQI", 0x07064B50, 0, z64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n + eocd_count_delta,
                       n + eocd_count_delta, cd_size, cd_start + cd_offset_delta, len(comment))
    out += comment + suffix
    return bytes(out)


def zip_members(path):
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


NAME_VARIANTS = [
    lambda n: n, lambda n: n.replace("/", "\\"), lambda n: "./" + n, lambda n: "/" + n,
    lambda n: n.replace("/", "//"), lambda n: n.upper(), lambda n: n + "\x00",
    lambda n: n + "/", lambda n: "other/" + n.split("/", 1)[-1], lambda n: n.split("/", 1)[-1],
    lambda n: n.replace("/", "/./"), lambda n: n + " ", lambda n: n.replace("data", "Data"),
]


def mut_torch_zip(rng, root, tag):
    base = rng.choice(["corpus/pytorch/valid-state-dict.pt", "corpus/pytorch/valid-optimizer.pt",
                       "corpus/pytorch/valid-dtypes-shared.pt"])
    mem = [Member(n, d, method=rng.choice([0, 0, 8])) for n, d in zip_members(
        os.path.join(root, base))]
    pk = [m for m in mem if m.name.endswith("/data.pkl")][0]
    pl = payload(tag, rng=rng)
    choice = rng.randrange(9)
    kw = {}
    if choice == 0:  # a second data.pkl, before or after the first, maybe a name variant
        var = rng.choice(NAME_VARIANTS)(pk.name)
        mem.insert(rng.randrange(len(mem) + 1), Member(var, pl, method=rng.choice([0, 8])))
    elif choice == 1:  # central directory and local header disagree on the name
        other = Member(pk.name, pl)
        if rng.random() < 0.5:
            other.local_name = rng.choice(NAME_VARIANTS)(pk.name)
        else:
            other.name = rng.choice(NAME_VARIANTS)(pk.name)
        mem.append(other)
        if rng.random() < 0.5:
            other.in_cd = rng.random() < 0.5
    elif choice == 2:  # the pickle only in the local headers, or only in the directory
        hidden = Member(pk.name, pl, in_cd=False)
        mem.insert(rng.randrange(len(mem) + 1), hidden)
    elif choice == 3:  # prefix or suffix bytes, offsets relative or absolute
        legacy = (pickle.dumps(0x1950A86A20F9469CFC6C, 2) + pickle.dumps(1001, 2) + b"}." +
                  pl + b"].")
        kw["prefix"] = rng.choice([b"", b"PK\x03\x04junk", rng.randbytes(rng.randrange(1, 64)),
                                   write_zip([Member(pk.name, pl)]), legacy, pl])
        kw["suffix"] = rng.choice([b"", write_zip([Member(pk.name, pl)]), b"\x00" * 22])
        if rng.random() < 0.5:
            kw["cd_offset_delta"] = -len(kw["prefix"]) if rng.random() < 0.5 else \
                rng.randrange(-64, 64)
    elif choice == 4:  # zip64 records, maybe with a different directory offset
        kw["zip64"] = True
        kw["cd_offset_delta"] = rng.choice([0, 0, rng.randrange(-200, 200)])
    elif choice == 5:  # a comment holding a whole second archive with the payload
        kw["comment"] = write_zip([Member(pk.name, pl)])[:65535]
    elif choice == 6:  # a TorchScript marker (torch dispatches to torch.jit.load)
        top = pk.name.split("/")[0]
        mem.append(Member(top + "/constants.pkl", pl))
        if rng.random() < 0.5:
            mem.append(Member(top + "/code/__torch__.py", b"def f(): pass\n"))
    elif choice == 7:  # two end records, directory order permuted
        kw["extra_eocd"] = True
        mem.append(Member(rng.choice(NAME_VARIANTS)(pk.name), pl))
        order = list(range(len(mem)))
        rng.shuffle(order)
        kw["cd_order"] = order
    else:  # the real pickle replaced in place, flags and method varied
        pk.data = pl
        pk.flags = rng.choice([0, 1, 8, 0x800, 0x41])
        pk.method = rng.choice([0, 8, 12, 99])
    return "zip", write_zip(mem, **kw), {}


# ---------------------------------------------------------------------------------------------
# npy / npz

def npy_bytes(rng, tag, descr=None, valid=None):
    """An .npy file whose data is a payload pickle; valid: a header numpy accepts."""
    if valid is None:
        valid = rng.random() < 0.5
    if descr is None:
        descr = rng.choice(["|O", "O", "<f4", "|V8", "O8", "|O8", "<f8",
                            [("a", "O")], [("a", "<f4"), ("b", "O")], [("a", "<i8")],
                            {"names": ["a"], "formats": ["O"], "offsets": [0], "itemsize": 16},
                            [("a", "O", (2,))], [("a", [("b", "O")])]])
    shape = rng.choice([(), (1,), (2,), (0,), (1, 1), (3,)])
    header = {"descr": descr, "fortran_order": rng.random() < 0.2, "shape": shape}
    if rng.random() < 0.1 and not valid:
        header["extra"] = 1
    text = repr(header)
    version = rng.choice([(1, 0), (2, 0), (3, 0)] if valid else
                         [(1, 0), (1, 0), (2, 0), (3, 0), (0, 0), (1, 1)])
    lenfmt = "<H" if version[0] == 1 else "<I"
    pre = 10 if version[0] == 1 else 12
    pad = (-(pre + len(text) + 1)) % 64
    text = text + " " * pad + "\n"
    hlen = len(text) + (0 if valid else rng.choice([0, 0, 0, -1, 1, -64, 64]))
    head = b"\x93NUMPY" + bytes(version) + struct.pack(lenfmt, max(hlen, 0)) + \
        text.encode("latin1")
    if valid or rng.random() < 0.5:
        body = payload(tag, rng=rng)
    else:
        body = rng.randbytes(rng.randrange(0, 32)) + payload(tag, rng=rng)
    return head + body


def mut_npy(rng, root, tag):
    return "npy", npy_bytes(rng, tag), {}


def mut_npz(rng, root, tag):
    names = ["arr_0.npy", "a", "data.bin", "x.NPY", "dir/a.npy", "../a.npy", "arr_0.npy "]
    mem = []
    for name, data in zip_members(os.path.join(root, "corpus/numpy/valid-arrays.npz")):
        mem.append(Member(name, data, method=rng.choice([0, 8])))
    evil = Member(rng.choice(names), npy_bytes(rng, tag), method=rng.choice([0, 8]))
    if rng.random() < 0.3:
        evil.local_name = rng.choice(names)
    if rng.random() < 0.3:
        evil.name = mem[0].name  # a duplicate of an existing member
    mem.insert(rng.randrange(len(mem) + 1), evil)
    return "npz", write_zip(mem, prefix=rng.choice([b"", b"", b"junk"])), {}


# ---------------------------------------------------------------------------------------------
# tar (pre-2018 torch checkpoints) and the legacy stream

TYPEFLAGS = [b"0", b"\x00", b"7", b"1", b"2", b"5", b"V", b"A", b"S", b"D", b"M", b"N", b"g",
             b"x", b"K", b"L", b"6", b"3", b"z", b" "]


def tar_header(name, size, typeflag=b"0", linkname=b"", checksum_mode=0, size_field=None,
               magic=b"ustar\x0000"):
    h = bytearray(512)
    n = name if isinstance(name, bytes) else name.encode("utf-8", "surrogateescape")
    h[0:len(n[:100])] = n[:100]
    h[100:108] = b"0000644\x00"
    h[108:116] = b"0000000\x00"
    h[116:124] = b"0000000\x00"
    h[124:136] = size_field if size_field is not None else ("%011o\x00" % size).encode()
    h[136:148] = b"00000000000\x00"
    h[156:157] = typeflag
    h[157:157 + len(linkname)] = linkname
    h[257:265] = magic
    h[148:156] = b" " * 8
    if checksum_mode == 1:  # signed sum (tarfile accepts either)
        chk = sum(struct.unpack("512b", bytes(h)))
    else:
        chk = sum(h)
    if checksum_mode == 2:
        chk += 1
    h[148:156] = ("%06o\x00 " % (chk & 0o777777)).encode()
    return bytes(h)


def tar_member(name, data, rng=None, **kw):
    pad = (-len(data)) % 512
    return tar_header(name, len(data), **kw) + data + b"\x00" * pad


def tar_members(path):
    with tarfile.open(path) as t:
        return [(m.name, t.extractfile(m).read()) for m in t.getmembers()]


def mut_torch_tar(rng, root, tag):
    mem = tar_members(os.path.join(root, "corpus/pytorch/valid-tar-checkpoint.tar"))
    pl = payload(tag, rng=rng)
    out = []
    choice = rng.randrange(6)
    for name, data in mem:
        if name == "pickle" and choice == 0:  # a second 'pickle' with an odd typeflag
            extra = tar_member("pickle", pl, typeflag=rng.choice(TYPEFLAGS))
            out += [tar_member(name, data), extra] if rng.random() < 0.7 else \
                [extra, tar_member(name, data)]
        elif name == "pickle" and choice == 1:  # the payload behind a pax or GNU long name
            kind = rng.choice(["pax", "gnu"])
            if kind == "pax":
                rec = b"path=pickle\n"
                rec = b"%d " % (len(rec) + 3) + rec
                out.append(tar_member("././@PaxHeader", rec, typeflag=rng.choice([b"x", b"g"])))
            else:
                out.append(tar_member("././@LongLink", b"pickle\x00", typeflag=b"L"))
            out.append(tar_member(rng.choice(["other", "pickle.x", "p"]), pl,
                                  typeflag=rng.choice(TYPEFLAGS[:3])))
            if rng.random() < 0.5:
                out.insert(0, tar_member(name, data))
        elif name == "pickle" and choice == 2:  # checksum, size and magic variants
            out.append(tar_member(rng.choice(["pickle", "./pickle", "pickle/", "pickle\x00x"]),
                                  pl, checksum_mode=rng.randrange(3),
                                  magic=rng.choice([b"ustar\x0000", b"ustar  \x00",
                                                    b"\x00" * 8, b"ustaR\x0000"])))
            if rng.random() < 0.5:
                out.insert(0, tar_member(name, data))
        elif name == "pickle" and choice == 3:  # base-256 or space-padded size
            fld = rng.choice([b"\x80" + len(pl).to_bytes(11, "big"),
                              ("%o" % len(pl)).encode().rjust(11) + b" ",
                              ("%o " % len(pl)).encode().ljust(12, b"\x00")])
            out.append(tar_header("pickle", len(pl), size_field=fld) + pl +
                       b"\x00" * ((-len(pl)) % 512))
        else:
            out.append(tar_member(name, data))
    body = b"".join(out)
    if choice == 4:  # a link named pickle to the payload member
        body += tar_member("payload", pl) + tar_member("pickle", b"", typeflag=b"1",
                                                        linkname=b"payload")
    if choice == 5:  # tar-before-legacy: the first header's name is a whole legacy stream
        legacy = (pickle.dumps(0x1950A86A20F9469CFC6C, 2) + pickle.dumps(1001, 2) + b"}." +
                  b"}." + b"].")
        body = tar_member(legacy, b"") + body
    end = rng.choice([b"\x00" * 1024, b"\x00" * 512, b"", pl])
    return "tar", body + end, {}


def mut_legacy(rng, root, tag):
    data = open(os.path.join(root, "corpus/pytorch/valid-legacy-state-dict.pt"), "rb").read()
    parts = split_pickles(data, 5)
    pieces = [data[a:b] for a, b in parts] + [data[parts[-1][1]:]]
    magic = 0x1950A86A20F9469CFC6C
    enc = rng.choice([
        pickle.dumps(magic, 2), pickle.dumps(magic, 0), pickle.dumps(magic, 1),
        pickle.dumps(magic, 4), pickle.dumps(magic, 5),
        b"I%d\n." % magic, b"L%dL\n." % magic,
        b"\x80\x02\x8b\x0a\x00\x00\x00" + magic.to_bytes(10, "little") + b".",
        b"\x80\x04\x95\x0e\x00\x00\x00\x00\x00\x00\x00\x8a\x0a" + magic.to_bytes(10, "little") +
        b".",
    ])
    pieces[0] = enc
    which = rng.choice([2, 3, 4])
    if which == 3:
        pieces[3] = payload(tag, rng=rng)
    elif which == 2:
        pieces[2] = payload(tag, rng=rng)  # sys_info
    else:
        pieces[4] = payload(tag, rng=rng)  # storage keys
    if rng.random() < 0.3:
        pieces[1] = rng.choice([pickle.dumps(1001, 0), b"I1001\n.", b"\x80\x05M\xe9\x03."])
    return "pt", b"".join(pieces), {}


# ---------------------------------------------------------------------------------------------
# joblib

def _wrapper_pickle(rng, dtype, shape, order, align, allow_mmap, proto):
    """A NumpyArrayWrapper pickle prefix up to and including its BUILD (joblib writes the
    array bytes right after it, joblib/numpy_pickle.py NumpyPickler.save)."""
    state = {"subclass": np.ndarray, "shape": shape, "order": order, "dtype": dtype,
             "allow_mmap": allow_mmap}
    if align is not None:
        state["numpy_array_alignment_bytes"] = align
    p = pickle.dumps(state, proto)
    # strip PROTO/FRAME and STOP: we splice the dict into our own stream
    ops = list(pickletools.genops(p))
    start = ops[0][2] + 2 if ops[0][0].name == "PROTO" else 0
    if len(ops) > 1 and ops[1][0].name == "FRAME":
        start = ops[1][2] + 9
    body = p[start:-1]
    head = b"\x80" + bytes([proto])
    cls = b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n"
    out = head + cls + b")\x81" + body + b"b"
    return out


def mut_joblib(rng, root, tag):
    dtype = rng.choice([np.dtype("<f4"), np.dtype("O"), np.dtype([("a", "O")]),
                        np.dtype([("a", "<f4"), ("b", "O")]), np.dtype("<i8"),
                        np.dtype([("a", "<i4")]), np.dtype("V8"), np.dtype(">f8")])
    shape = rng.choice([(), (1,), (2,), (0,), (2, 2), (8,), (64,)])
    order = rng.choice(["C", "C", "F"])
    align = rng.choice([None, 16, 8, 0, 255])
    proto = rng.choice([2, 3, 4, 5])
    pre = _wrapper_pickle(rng, dtype, shape, order, align, rng.random() < 0.5, proto)
    count = int(np.prod(shape)) if shape else 1
    pl = payload(tag, rng=rng)
    if dtype.hasobject:
        data = pl
    else:
        n = count * dtype.itemsize
        data = b""
        if align is not None:
            data += bytes([rng.choice([0, 1, 8, align & 0xFF])])
            data += b"\xff" * (data[0])
        r = rng.random()
        if r < 0.4:  # the array bytes are opcodes for any other reader
            ops = pl[2:-1] if rng.random() < 0.7 else pl[:-1]
            data += ops[:n].ljust(n, b"N") if n >= len(ops) else ops
        elif r < 0.7:
            data += pl[:n].ljust(n, b"\x00")
        else:
            data += b"\x00" * n
    rest = rng.choice([b".", b"0" + pl[2:] if len(pl) > 2 else b".", pl, b"." + pl])
    blob = pre + data + rest
    comp = rng.choice(["raw", "raw", "zlib", "gzip", "bz2", "xz", "lzma"])
    blob = compress(comp, blob)
    return "joblib", blob, {}


def compress(kind, blob):
    import bz2
    import gzip
    import lzma
    if kind == "zlib":
        return zlib.compress(blob)
    if kind == "gzip":
        return gzip.compress(blob, mtime=0)
    if kind == "bz2":
        return bz2.compress(blob)
    if kind == "xz":
        return lzma.compress(blob, format=lzma.FORMAT_XZ)
    if kind == "lzma":
        return lzma.compress(blob, format=lzma.FORMAT_ALONE)
    return blob


def _body(obj):
    """pickle.dumps(obj, 2) without PROTO and STOP, memo indices as written (below 1000)."""
    return pickle.dumps(obj, 2)[2:-1]


def mut_joblib_late_dtype(rng, root, tag):
    """The wrapper's dtype is a memoised void dtype whose object field arrives by a BUILD on
    it before, or only after, the wrapper's own BUILD (numpy's dtype.__setstate__ gives a
    dtype('V8') its fields; joblib reads the array when the wrapper's BUILD runs)."""
    target = rng.choice([np.dtype([("a", "O")]), np.dtype([("a", "<f4"), ("b", "O")]),
                         np.dtype([("a", "<i8")]), np.dtype("O")])
    _, args, state = target.__reduce__()
    first = rng.choice([np.dtype("V%d" % target.itemsize), np.dtype("<f8"), np.dtype("O"),
                        target])
    _, fargs, fstate = first.__reduce__()
    n = rng.choice([0, 1, 2, 3, 8])
    shape = (n,)
    mem = b"q\x1f"  # BINPUT 31 (above the indices the spliced bodies use)
    get = b"h\x1f"
    out = b"\x80\x02cnumpy\ndtype\n" + _body(fargs) + b"R" + mem
    if fstate is not None:
        out += _body(fstate) + b"b"
    out += b"0"  # POP: the dtype stays in the memo only
    wrapper_state = {"subclass": np.ndarray, "shape": shape, "order": "C",
                     "allow_mmap": rng.random() < 0.5}
    align = rng.choice([None, 16])
    if align:
        wrapper_state["numpy_array_alignment_bytes"] = align
    build_dtype = get + _body(state) + b"b0"
    when = rng.choice(["before", "after", "never"])
    out += b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81" + _body(wrapper_state)[:-1]
    # the dict ends with SETITEMS ('u') after MARK: add the dtype as one more SETITEM
    out += b"u" + b"X\x05\x00\x00\x00dtype" + get + b"s"
    if when == "before":
        out += build_dtype
    out += b"b"
    pl = payload(tag, rng=rng)
    size = n * target.itemsize
    if align and rng.random() < 0.7:
        out += b"\x00"
    region = rng.choice([pl, pl[:size].ljust(size, b"N"), pl + b"N" * max(0, size - len(pl))])
    out += region
    if when == "after":
        out += build_dtype
    out += rng.choice([b".", b"0.", pl[2:]])
    return "joblib", compress(rng.choice(["raw", "raw", "zlib", "gzip"]), out), {}


def mut_joblib_old(rng, root, tag):
    """joblib < 0.10: NDArrayWrapper naming a sibling .npy, ZF-compressed pickles."""
    pl = payload(tag, rng=rng)
    base = "sib%08x" % rng.getrandbits(32)
    sib_name = rng.choice(["%s_01.npy", "./%s_01.npy", "%s_01", "../%s_01.npy",
                           "/nonexistent/%s_01.npy", "sub/%s_01.npy", "%s_01.npy\x00x"]) % base
    state = {"filename": sib_name, "subclass": np.ndarray, "allow_mmap": rng.random() < 0.5}
    kind = rng.choice(["nd", "nd", "znd", "zf"])
    if kind == "zf":
        inner = pl
        z = zlib.compress(inner)
        # joblib/numpy_pickle_compat.py write_zfile: "ZF" + hex length padded to 19 + zlib
        blob = b"ZF" + ("0x%x" % len(inner)).encode().ljust(19) + z
        return "pkl", blob, {}
    cls = b"cjoblib.numpy_pickle_compat\n" + (b"NDArrayWrapper" if kind == "nd" else
                                              b"ZNDArrayWrapper") + b"\n"
    if kind == "znd":
        state = {"filename": sib_name, "state": (1, (1,), np.dtype("O"), False, []),
                 "init_args": (np.ndarray, (0,), b"b")}
    body = pickle.dumps(state, 2)[2:-1]
    blob = b"\x80\x02" + cls + b")\x81" + body + b"b."
    sib = npy_bytes(rng, tag, descr=rng.choice(["|O", "|O", "<f4", [("a", "O")]]),
                    valid=rng.random() < 0.8)
    if kind == "znd":
        sib = b"ZF" + ("0x%x" % len(sib)).encode().ljust(19) + zlib.compress(sib)
    return "pkl", blob, {sib_name: sib}


# ---------------------------------------------------------------------------------------------
# Pickle-level: how the two operands of STACK_GLOBAL (or GLOBAL/INST) are written

def _str_op(rng, text, proto):
    """Opcodes that push `text` as a str the way some pickler could have written it."""
    raw = text.encode("utf-8", "surrogatepass")
    kinds = ["short", "u4", "u8", "unicode", "binstring", "string", "memo", "codecs"]
    kind = rng.choice(kinds)
    if kind == "short" and len(raw) < 256:
        return b"\x8c" + bytes([len(raw)]) + raw
    if kind == "u8":
        return b"\x8d" + len(raw).to_bytes(8, "little") + raw
    if kind == "unicode" and b"\n" not in raw and b"\\" not in raw:
        return b"V" + raw + b"\n"
    if kind == "binstring" and text.isascii():  # py2 str, decoded with encoding="ASCII"
        return (b"U" + bytes([len(raw)]) + raw) if len(raw) < 256 else \
            (b"T" + len(raw).to_bytes(4, "little") + raw)
    if kind == "string" and text.isascii() and "'" not in text and "\\" not in text:
        return b"S'" + raw + b"'\n"
    if kind == "memo":  # memoised, popped, fetched back
        return b"\x8c" + bytes([len(raw) & 0xFF]) + raw[:255] + b"q\x1e0h\x1e" \
            if len(raw) < 256 else b"X" + len(raw).to_bytes(4, "little") + raw
    if kind == "codecs" and text.isascii():  # the value an allowed callable returns
        import codecs
        enc = codecs.encode(text, "rot13").encode()
        return (b"\x8c\x07_codecs\x8c\x06encode\x93\x8c" + bytes([len(enc) & 0xFF]) + enc[:255] +
                b"\x8c\x05rot13\x86R")
    return b"X" + len(raw).to_bytes(4, "little") + raw


def mut_pickle_names(rng, root, tag):
    proto = rng.choice([2, 3, 4, 5])
    module = rng.choice(["oracle_payload", "oracle_payload", "__builtin__", "copy_reg",
                         "oracle_payload.sub", "torch.tensor"])
    name = rng.choice([tag, tag + ".attr", tag + "Storage", "x" * rng.choice([255, 256, 1025]),
                       tag + "\x7f", tag + "\u200b", "eval", "_reconstructor", "FloatStorage"])
    how = rng.choice(["stack_global", "stack_global", "global", "inst", "obj"])
    if how == "stack_global":
        ops = _str_op(rng, module, proto) + _str_op(rng, name, proto) + b"\x93"
        ops += rng.choice([b")R", b")\x81", b"}b", b"N\x85R"])
    elif how == "global":
        ops = b"c" + module.encode() + b"\n" + name.encode("utf-8", "surrogatepass") + b"\n)R"
    elif how == "inst":
        ops = b"(i" + module.encode() + b"\n" + name.encode("utf-8", "surrogatepass") + b"\n"
    else:
        ops = b"(c" + module.encode() + b"\n" + name.encode("utf-8", "surrogatepass") + b"\no"
    body = b"\x80" + bytes([proto]) + ops + b"."
    if proto >= 4 and rng.random() < 0.5:
        inner = body[2:]
        body = body[:2] + b"\x95" + len(inner).to_bytes(8, "little") + inner
    return "pkl", body, {}


# ---------------------------------------------------------------------------------------------
# bytes

INTERESTING = [b"\x00", b"\xff", b"\x7f", b"\x80", b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06",
               b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b".", b"\x80\x02", b"0", b"7"]


def mut_bytes(rng, root, tag, pool):
    path = rng.choice(pool)
    data = bytearray(open(path, "rb").read())
    for _ in range(rng.randrange(1, 5)):
        op = rng.randrange(4)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[min(pos, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            v = rng.choice(INTERESTING)
            data[pos:pos + len(v)] = v
        elif op == 2:
            data[pos:pos] = rng.choice([payload(tag, rng=rng), rng.choice(INTERESTING)])
        else:
            del data[pos:pos + rng.randrange(1, 16)]
    ext = os.path.splitext(path)[1].lstrip(".") or "bin"
    return ext, bytes(data), {}


MUTATORS = [
    ("torch-zip", mut_torch_zip, 4),
    ("npz", mut_npz, 2),
    ("npy", mut_npy, 2),
    ("torch-tar", mut_torch_tar, 3),
    ("legacy", mut_legacy, 2),
    ("joblib", mut_joblib, 3),
    ("joblib-old", mut_joblib_old, 2),
    ("joblib-dtype", mut_joblib_late_dtype, 3),
    ("pickle-names", mut_pickle_names, 2),
    ("bytes", None, 3),
]


_SIBLINGS = {}


def siblings(path):
    """The sibling files generate() wrote for a mutated file (old joblib's .npy files)."""
    return _SIBLINGS.get(path, [])


def generate(root, outdir, rng, count):
    """Write `count` mutated files into outdir; returns their paths."""
    pool = sorted(p for p in glob.glob(os.path.join(root, "corpus", "*", "*"))
                  if os.path.splitext(p)[1] in (".pt", ".pkl", ".joblib", ".npy", ".npz",
                                                ".tar", ".zip", ".gz", ".bz2", ".xz"))
    weights = [w for _, _, w in MUTATORS]
    paths = []
    for i in range(count):
        name, fn, _ = rng.choices(MUTATORS, weights)[0]
        tag = name.replace("-", "_")
        if fn is None:
            ext, data, sibs = mut_bytes(rng, root, tag, pool)
        else:
            ext, data, sibs = fn(rng, root, tag)
        path = os.path.join(outdir, "m%05d-%s.%s" % (i, name, ext))
        with open(path, "wb") as f:
            f.write(data)
        _SIBLINGS[path] = []
        for sname, sdata in sibs.items():
            # joblib opens os.path.join(dirname(file), filename): keep siblings inside outdir
            spath = os.path.normpath(os.path.join(outdir, sname.split("\x00")[0]))
            if not spath.startswith(os.path.join(outdir, "")):
                continue
            os.makedirs(os.path.dirname(spath), exist_ok=True)
            with open(spath, "wb") as f:
                f.write(sdata)
            _SIBLINGS[path].append(spath)
        paths.append(path)
    return paths
