#!/usr/bin/env python3
"""End-to-end cases for pickles and zip/PyTorch containers (Python standard library only).

    gen_containers.py e2e STCHECK CORPUS WORKDIR

Starts from the real benign checkpoint committed in CORPUS/pytorch (made once with Debian's
python3-torch by make_real_samples.py) and derives each attack or anomaly from it with
zipfile and byte patching. Payloads are harmless commands; no file is ever loaded.
"""
import io
import os
import pickle
import struct
import sys
import zipfile
import zlib

from e2e_util import run_all

EVIL = b"cos\nsystem\n(S'true'\ntR."  # protocol 0: os.system('true'), never executed


def npy_u8(n):
    """A version 1.0 .npy of n uint8 zeros, as numpy.save writes it."""
    hdr = b"{'descr': '|u1', 'fortran_order': False, 'shape': (%d,), }" % n
    hdr += b" " * (64 - (10 + len(hdr) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr + bytes(n)


def members(path):
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def build(entries, method=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            z.writestr(info, data)
    return buf.getvalue()


def replace(entries, suffix, data):
    return [(n, data if n.endswith(suffix) else d) for n, d in entries]


def patch(blob, old, new, count=1):
    assert old in blob, old
    return blob.replace(old, new, count)


def tar_of(entries, pax=None):
    """A ustar archive of (name, bytes) members, as Python's tarfile writes them."""
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            if pax and name in pax:
                info.pax_headers = pax[name]
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def p2(body):
    """A protocol 2 pickle from hand-assembled opcodes."""
    return b"\x80\x02" + body + b"."


def bu(s):
    """BINUNICODE of s."""
    return b"X" + struct.pack("<I", len(s)) + s.encode()


def legacy_tar(main=None, numel=4, data_len=16, ndim=1, extra=(), storage_type=b"FloatStorage"):
    """A pre-2018 torch checkpoint (legacy tar format) holding one F32 tensor of 4 elements."""
    sys_info = pickle.dumps({"protocol_version": 1001, "little_endian": True,
                             "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    main = main or p2(b"ccollections\nOrderedDict\n)R" + bu("weight") + bu("1") + b"Qs")
    storages = (p2(b"K\x01") + p2(bu("0") + bu("cpu") + b"ctorch\n" + storage_type + b"\n\x87")
                + struct.pack("<Q", numel) + bytes(data_len) + p2(b"]"))
    tensors = (p2(b"K\x01") + p2(bu("1") + bu("0") + b"ctorch\nFloatTensor\n\x87")
               + struct.pack("<ii", ndim, 0) + struct.pack("<qqq", 4, 1, 0))
    return [("sys_info", sys_info), ("pickle", main), ("storages", storages),
            ("tensors", tensors)] + list(extra)


def cases(corpus):
    base = members(os.path.join(corpus, "pytorch", "valid-state-dict.pt"))
    top = base[0][0].split("/")[0] + "/"
    ok = build(base)
    c = []

    def add(name, data, ids=(), code=None):
        c.append((name, data, list(ids), code if code is not None else (1 if ids else 0)))

    add("torch-rebuilt-benign", ok)
    add("torch-deflated-benign", build(base, zipfile.ZIP_DEFLATED))
    add("torch-malicious-data-pkl", build(replace(base, "data.pkl", EVIL)), ["ST201"])
    add("torch-extra-pkl", build(base + [(top + "extra.pkl", EVIL)]), ["ST201"])
    add("torch-pickle-not-named-pkl", build(base + [(top + "notes.txt", EVIL)]), ["ST201"])
    add("torch-unknown-global", build(replace(base, "data.pkl", b"cmylib\nNet\n)R.")),
        ["ST202"], 0)
    add("torch-numpy-refused", build(replace(
        base, "data.pkl", b"cnumpy.core.multiarray\n_reconstruct\n.")), ["ST202"], 0)
    dup = base + [(top + "data.pkl", EVIL)]
    add("zip-duplicate-name", build(dup), ["ST201", "ST301"])
    add("torch-missing-storage", build([(n, d) for n, d in base if not n.endswith("data/0")]),
        ["ST312"])
    add("torch-storage-too-small", build([(n, d[:4] if n.endswith("data/0") else d)
                                          for n, d in base]), ["ST312"])
    crc = bytearray(ok)
    off = ok.find(b"PK\x03\x04") + 14  # CRC of the first local header and its directory entry
    cen = ok.find(b"PK\x01\x02") + 16
    crc[off:off + 4] = crc[cen:cen + 4] = b"\x00\x00\x00\x00"
    add("zip-crc-mismatch", bytes(crc), ["ST303"], 0)
    add("zip-prepended", b"junk" * 8 + ok, ["ST308"], 0)
    add("zip-appended", ok + b"trailer", ["ST308"], 0)
    add("zip-dotdot-name", build(base + [(top + "../evil.txt", b"x")]), ["ST309"])
    add("zip-outside-top", build(base + [("other/file.txt", b"x")]), ["ST309"])
    enc = bytearray(build([("a.pkl", b"N.")]))
    enc[6] |= 1
    enc[bytes(enc).find(b"PK\x01\x02") + 8] |= 1
    add("zip-encrypted", bytes(enc), ["ST304"], 2)
    bz = bytearray(build([("a.pkl", b"N.")]))
    bz[8] = 12
    bz[bytes(bz).find(b"PK\x01\x02") + 10] = 12
    add("zip-bzip2", bytes(bz), ["ST305"], 2)
    inner = build([("evil.pkl", EVIL)])
    add("zip-nested-malicious", build([("outer/inner.zip", inner)]), ["ST201", "ST313"])
    bomb = build([("big.pkl", b"N." + b"\x00" * (8 << 20))], zipfile.ZIP_DEFLATED)
    add("zip-bomb", bomb, ["ST311"], 2)
    mism = bytearray(build([("a.pkl", b"N."), ("b.pkl", b"N.")]))
    mism[30] = ord("x")  # first local name 'a.pkl' -> 'x.pkl'
    add("zip-local-name-mismatch", bytes(mism), ["ST302"])
    hidden = build([("a.pkl", b"N.")])
    first_cen = hidden.find(b"PK\x01\x02")
    extra = b"PK\x03\x04" + b"\x00" * 26 + b"evil.pkl"
    hidden = hidden[:first_cen] + extra + hidden[first_cen:]
    cd_off = struct.unpack("<L", hidden[-6:-2])[0]
    hidden = hidden[:-6] + struct.pack("<L", cd_off + len(extra)) + hidden[-2:]
    add("zip-hidden-local", hidden, ["ST307"])
    stor = [(n, (b"\x80\x02cos\nsystem\n)R." + b"\x00" * 64)[:len(d)] if n.endswith("data/0")
             else d) for n, d in base]
    add("torch-storage-pickle-import", build(stor), ["ST315"], 0)
    # two directory entries pointing at the same local header: shared bytes
    two = build([("a.pkl", b"N."), ("b.pkl", b"N.")])
    cen2 = two.find(b"PK\x01\x02", two.find(b"PK\x01\x02") + 4)
    shared = bytearray(two)
    shared[cen2 + 42:cen2 + 46] = b"\x00\x00\x00\x00"  # b.pkl's local header offset -> a.pkl's
    add("zip-overlapping-entries", bytes(shared), ["ST302", "ST306", "ST307"])
    add("zip-no-end-record", ok[:ok.find(b"PK\x01\x02")], ["ST310"])
    add("zip-no-data-pkl", build([("m/version", b"3\n"), ("m/data/0", b"\x00" * 4)]), ["ST314"])
    add("pickle-named-safetensors", pickle.dumps([1, 2], protocol=2), ["ST501"])
    add("npz-like-benign", build([("a.npy", npy_u8(8))]))
    add("npz-truncated-member", build([("a.npy", npy_u8(8)[:-2])]), ["ST402"])
    # pre-2018 torch checkpoints: tar files, every member framed as torch reads it
    add("tar-torch-benign", tar_of(legacy_tar()))
    add("tar-torch-malicious-pickle", tar_of(legacy_tar(main=EVIL)), ["ST201"])
    add("tar-torch-storage-short", tar_of(legacy_tar(data_len=8)), ["ST312"])
    add("tar-torch-storage-numel-huge", tar_of(legacy_tar(numel=1 << 62)), ["ST312"])
    add("tar-torch-tensor-ndim", tar_of(legacy_tar(ndim=100000)), ["ST312"])
    add("tar-torch-unknown-storage", tar_of(legacy_tar(storage_type=b"EvilStorage")),
        ["ST202", "ST208"], 0)  # no element size: the rest of the member cannot be framed
    add("tar-torch-extra-member", tar_of(legacy_tar(extra=[("notes", EVIL)])), ["ST201", "ST323"])
    add("tar-torch-duplicate", tar_of(legacy_tar() + [("pickle", EVIL)]), ["ST201", "ST321"])
    add("tar-unsafe-name", tar_of([("../evil.pkl", EVIL)]), ["ST201", "ST322"])
    add("tar-members-by-content", tar_of([("a/model.bin", EVIL), ("b.txt", b"hello")]),
        ["ST201", "ST903"], 2)
    good = tar_of(legacy_tar())
    bad_sum = bytearray(good)
    bad_sum[148:156] = b"0000000\x00"
    add("tar-bad-checksum", bytes(bad_sum), ["ST320"])
    add("tar-truncated", good[:1200], ["ST320"])
    # pax size wins in tarfile (5000 bytes: the pickle and what follows); ustar-only readers
    # see 602 bytes: the disagreement is ST320
    add("tar-pax-size", tar_of([("x.pkl", EVIL + b"\x00" * 600)], pax={"x.pkl": {"size": "5000"}}),
        ["ST201", "ST208", "ST320"])
    return c


def main(argv):
    if len(argv) == 5 and argv[1] == "e2e":
        cs = cases(argv[3])
        named = [(n, d, i, k) for n, d, i, k in cs]
        checked, failures = 0, 0
        for name, data, ids, code in named:
            suffix = ".safetensors" if name == "pickle-named-safetensors" else ".pt"
            n, f = run_all(argv[2], argv[4], [(name, data, ids, code)], suffix)
            checked += n
            failures += f
        print("%d passed, %d failed" % (checked - failures, failures))
        return 1 if failures else 0
    print(__doc__, file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
