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


# ---- loader differentials (issue #9): each builds bytes two readers see differently -----------

def tar_member(name, data, typeflag=b"0", linkname=""):
    """One member with an arbitrary typeflag, as tarfile writes its header (ustar)."""
    import tarfile
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.type = typeflag
    info.linkname = linkname
    hdr = info.tobuf(tarfile.USTAR_FORMAT)
    # tobuf writes size 0 for non-file types: put the real size back, re-checksum
    hdr = bytearray(hdr)
    hdr[124:136] = b"%011o\0" % len(data)
    hdr[148:156] = b" " * 8
    hdr[148:156] = b"%06o\0 " % sum(hdr)
    pad = b"\0" * (-len(data) % 512)
    return bytes(hdr) + data + pad


def tar_raw(members):
    return b"".join(members) + b"\0" * 1024


def legacy_tar_members(main=None):
    return [tar_member(n, d) for n, d in legacy_tar(main)]


def zip64_split_view(base, top):
    """A torch zip whose ZIP64 locator names a second ZIP64 end record hidden in a stored member:
    miniz (torch) follows the locator's offset to a central directory listing a malicious
    data.pkl; zipfile reads the ZIP64 record right before the locator (the benign archive)."""
    def local(name, data):
        return (struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 0, 0, 0, zlib.crc32(data),
                            len(data), len(data), len(name), 0) + name + data)

    def central(name, data, off):
        return (struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, 0, 0, 0,
                            zlib.crc32(data), len(data), len(data), len(name), 0, 0, 0, 0, 0,
                            off) + name)

    def z64(count, size, off):
        return struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, count, count, size, off)

    hidden_len = 4096
    first = build(base + [(top + "pad.bin", b"\xff" * hidden_len)])
    start = first.find(b"\xff" * hidden_len)  # absolute offset of the stored member's data
    recs = [((top + "version").encode(), b"3\n"), ((top + "data.pkl").encode(), EVIL)]
    blob, cds = b"\xff" * 16, b""
    for name, data in recs:
        cds += central(name, data, start + len(blob))
        blob += local(name, data)
    cd_at = start + len(blob)
    blob += cds
    z64_at = start + len(blob)
    blob += z64(len(recs), len(cds), cd_at)
    blob += b"\xff" * (hidden_len - len(blob))
    whole = build(base + [(top + "pad.bin", blob)])
    assert whole.find(blob) == start
    count, size, off = struct.unpack("<HII", whole[-12:-2])
    eocd = whole[-22:]
    tail = z64(count, size, off) + struct.pack("<IIQI", 0x07064b50, 0, z64_at, 1)
    return whole[:-22] + tail + eocd


def torchscript_sample(path):
    """A TorchScript archive written by Debian's torch (torch.jit.save of a tiny module)."""
    import torch

    class Tiny(torch.nn.Module):
        def forward(self, x):
            return x + 1

    torch.jit.save(torch.jit.script(Tiny()), path)


def differential_cases(corpus):
    """(name, bytes, ids, exit code) of every loader differential; also written to the corpus."""
    c = []

    def add(name, data, ids=(), code=None):
        c.append((name, data, sorted(ids), code if code is not None else (1 if ids else 0)))

    # tar: tarfile reads unknown and contiguous typeflags as files (Lib/tarfile.py extractfile)
    parts = legacy_tar()
    for flag, tag in ((b"V", "unknown"), (b"7", "contiguous")):
        add("ST324-tar-typeflag-%s" % tag, tar_raw(
            [tar_member(n, EVIL if n == "pickle" else d, flag if n == "pickle" else b"0")
             for n, d in parts]), ["ST201", "ST324"])
    # a hard link named "pickle": extractfile follows it to the earlier member it names
    add("ST324-tar-hardlink-pickle", tar_raw(
        [tar_member("notes", EVIL)] + [tar_member(n, d) for n, d in parts if n != "pickle"] +
        [tar_member("pickle", b"", b"1", "notes")]), ["ST201", "ST323", "ST324"])
    # a symbolic link "storages": tar.extract recreates it and torch opens what it names
    add("ST324-tar-symlink-storages", tar_raw(
        [tar_member(n, d) for n, d in parts if n != "storages"] +
        [tar_member("storages", b"", b"2", "/etc/hostname")]), ["ST324"])
    # a directory member with a size: tarfile skips no data for it, so the "data" is the next
    # header - a second "pickle" that tarfile returns (the last copy)
    hidden = tar_member("pickle", EVIL)
    add("ST321-tar-directory-hides-member", tar_raw(
        legacy_tar_members() + [tar_member("dir", hidden, b"5")]),
        ["ST201", "ST321"])
    # torch tries tarfile before the legacy format: a tar whose first header is also a pickle
    add("ST319-tar-header-is-pickle", tar_raw(
        [tar_member(EVIL.decode("latin-1"), b"")] + legacy_tar_members()),
        ["ST201", "ST208", "ST319"])
    # a first header that pickle.load stops reading at its 12th byte, after importing os.system
    add("ST319-tar-header-imports", tar_raw(
        [tar_member("cos\nsystem\n", b"")] + legacy_tar_members()),
        ["ST201", "ST206", "ST319", "ST520"])  # ST520: views.c's pickle view of every file
    # legacy magic number in other integer encodings: compared by value (_legacy_load)
    leg = open(os.path.join(corpus, "pytorch", "valid-legacy-state-dict.pt"), "rb").read()
    std = pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2)
    assert leg.startswith(std)
    rest = leg[len(std):]
    for tag, magic in (("int-p0", b"I119547037146038801333356\n."),
                       ("long-p0", b"L119547037146038801333356L\n."),
                       ("hex-int", b"I0x1950_a86a_20f9_469c_fc6c\n."),
                       ("long4", b"\x80\x02\x8b\x0b\x00\x00\x00" +
                        (0x1950a86a20f9469cfc6c).to_bytes(11, "little") + b".")):
        add("ST325-legacy-magic-%s" % tag, magic + rest, ["ST325"], 0)
    evil_obj = (std + pickle.dumps(1001, protocol=2) + pickle.dumps({}, protocol=2) + EVIL +
                pickle.dumps([], protocol=2))
    add("ST325-legacy-magic-p0-malicious", b"I119547037146038801333356\n." + evil_obj[len(std):],
        ["ST201", "ST325"])
    # zip: torch's miniz follows the ZIP64 locator's offset, zipfile the record before it
    base = members(os.path.join(corpus, "pytorch", "valid-state-dict.pt"))
    top = base[0][0].split("/")[0] + "/"
    add("ST316-zip64-locator-split-view", zip64_split_view(base, top), ["ST201", "ST316"])
    # the end record counts one entry fewer than the directory holds: zipfile reads by size
    # (_RealGetContents), miniz by count - the last entry exists for zipfile only
    counted = bytearray(build(base + [(top + "extra.pkl", EVIL)]))
    n = struct.unpack("<H", counted[-12:-10])[0]
    counted[-14:-10] = struct.pack("<HH", n - 1, n - 1)
    add("ST316-zip-count-vs-size", bytes(counted), ["ST201", "ST310", "ST316"])
    # torch finds data.pkl by a case-insensitive search; zipfile has no such entry. The payload
    # hides behind 5000 bytes of a harmless string, past any 4 KiB sniffing window
    slow_evil = b"S'" + b"A" * 5000 + b"'\n0" + EVIL
    add("ST317-zip-data-pkl-case", build(
        [(n.replace("data.pkl", "DATA.PKL"), slow_evil if n.endswith("data.pkl") else d)
         for n, d in base]), ["ST201", "ST317"])
    # torch.load reads offset 0 (a benign pickle), zipfile the zip at the end (malicious)
    add("ST319-pickle-then-zip", pickle.dumps([1], protocol=2) +
        build(replace(base, "data.pkl", EVIL)), ["ST201", "ST208", "ST308", "ST319"])
    # TorchScript: torch.load hands it to torch.jit.load, which runs its code
    ts = os.path.join(corpus, "pytorch", "ST318-torchscript-module.pt")
    if os.path.exists(ts):
        tsm = members(ts)
        add("ST318-torchscript-malicious-constants",
            build(replace(tsm, "constants.pkl", EVIL)), ["ST201", "ST202", "ST318"])
    return c


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
        ["ST202"])
    add("torch-numpy-refused", build(replace(
        base, "data.pkl", b"cnumpy.core.multiarray\n_reconstruct\n.")), ["ST202"])
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
        ["ST202", "ST208"])  # no element size: the rest of the member cannot be framed
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


def write_corpus(corpus):
    """Writes the differential samples into CORPUS/pytorch (ST-prefixed: corpus_test checks the
    id); the TorchScript sample is made once with Debian's torch."""
    ts = os.path.join(corpus, "pytorch", "ST318-torchscript-module.pt")
    if not os.path.exists(ts):
        torchscript_sample(ts)
    for name, data, _, _ in differential_cases(corpus):
        suffix = ".tar" if "-tar-" in name else ".pt"
        with open(os.path.join(corpus, "pytorch", name + suffix), "wb") as f:
            f.write(data)
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "write":
        return write_corpus(argv[2])
    if len(argv) == 5 and argv[1] == "e2e":
        cs = cases(argv[3]) + differential_cases(argv[3])
        named = [(n, d, i, k) for n, d, i, k in cs]
        odd = [c for c in named if c[0] == "pickle-named-safetensors"]
        checked, failures = run_all(argv[2], argv[4], [c for c in named if c not in odd], ".pt")
        n, f = run_all(argv[2], argv[4], odd, ".safetensors")
        checked, failures = checked + n, failures + f
        print("%d passed, %d failed" % (checked - failures, failures))
        return 1 if failures else 0
    print(__doc__, file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
