#!/usr/bin/python3
"""joblib and numpy as their loaders read them: every class of docs/formats/joblib.md with its
exact finding ids and exit code.

Runs under /usr/bin/python3 (Debian's numpy and joblib write the real files; the hostile ones
are written opcode by opcode). Nothing here is ever loaded. Usage: joblib_test.py STCHECK DIR
"""
import glob
import gzip
import io
import os
import pickle
import random
import shutil
import sys
import warnings
import zlib

import joblib
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import run_cases  # noqa: E402

JOBLIB_DATA = "/usr/lib/python3/dist-packages/joblib/test/data"
PAYLOAD = b"cos\nsystem\n(S'echo pwned'\ntR."  # protocol 0: os.system('echo pwned')


def s(text):
    """SHORT_BINUNICODE"""
    b = text.encode()
    return b"\x8c" + bytes([len(b)]) + b


def tup(*items):
    return b"(" + b"".join(items) + b"t"


def wrapper_head():
    """PROTO 4, NumpyArrayWrapper() by NEWOBJ, as joblib >= 0.10 writes it."""
    return (b"\x80\x04" + s("joblib.numpy_pickle") + s("NumpyArrayWrapper") + b"\x93" +
            b")\x81")


def dtype(typestr, memo=None):
    """numpy.dtype(typestr, False, True) (dtype.__reduce__), memoized at memo."""
    out = s("numpy") + s("dtype") + b"\x93" + tup(s(typestr), b"\x89", b"\x88") + b"R"
    if memo is not None:
        out += b"q" + bytes([memo])
    return out


def state_dict(dtype_ops, shape=(1,), align=b"K\x10"):
    """The wrapper's state: subclass, shape, order, dtype, allow_mmap[, alignment]."""
    items = (s("subclass") + s("numpy") + s("ndarray") + b"\x93" +
             s("shape") + tup(*[b"K" + bytes([d]) for d in shape]) +
             s("order") + s("C") + s("dtype") + dtype_ops + s("allow_mmap") + b"\x89")
    if align is not None:
        items += s("numpy_array_alignment_bytes") + align
    return b"}(" + items + b"u"


def dtype_state(flags, elsize=b"J\xff\xff\xff\xff"):
    """dtype.__setstate__ version 3: (3, '<', None, None, None, elsize, alignment, flags)."""
    return tup(b"K\x03", s("<"), b"N", b"N", b"N", elsize, b"J\xff\xff\xff\xff",
               b"K" + bytes([flags]))


def later_build_object():
    """'f8' dtype that a BUILD after the state dict holds it turns into an object dtype: joblib
    then reads a nested pickle where the 8 raw bytes would be."""
    return (wrapper_head() + state_dict(dtype("f8", memo=1), align=b"N") +
            b"h\x01" + dtype_state(1) + b"b0" + b"b" + PAYLOAD + b".")


def later_build_plain():
    """The same BUILD with flags 0: the dtype stays float64; 8 raw bytes follow."""
    return (wrapper_head() + state_dict(dtype("f8", memo=1), align=b"N") +
            b"h\x01" + dtype_state(0) + b"b0" + b"b" + b"\x00" * 8 + b".")


def object_flag_cleared():
    """'O' whose state clears its object flag: raw bytes become object references."""
    return (wrapper_head() + state_dict(dtype("O8") + dtype_state(0) + b"b", align=b"N") +
            b"b" + b"\x00" * 8 + b".")


def align_absent_payload():
    """numpy_array_alignment_bytes None: no padding byte (joblib writes this for
    non-seekable files). The 8 data bytes are followed by a payload in the same pickle; a
    reader that takes a padding byte (8 here) skips the data's tail and the payload with it."""
    return (wrapper_head() + state_dict(dtype("f8"), align=b"N") + b"b" +
            b"\x08" + b"\x00" * 7 + b"0" + PAYLOAD)


def align_key_missing():
    """No numpy_array_alignment_bytes key (joblib <= 1.1): no padding byte either."""
    return (wrapper_head() + state_dict(dtype("f8"), align=None) + b"b" + b"\x00" * 8 + b".")


def align_present():
    """Alignment 16: a padding-length byte, that much padding, then the data."""
    return (wrapper_head() + state_dict(dtype("f8")) + b"b" + b"\x03\xff\xff\xff" +
            b"\x00" * 8 + b".")


def array_bytes_are_opcodes():
    """joblib reads the payload as uint8 array data; pickle.load executes it."""
    return (wrapper_head() + state_dict(dtype("u1"), shape=(len(PAYLOAD),), align=b"N") +
            b"b" + PAYLOAD + b".")


def padding_seen_by_old_joblib():
    """joblib >= 1.2 reads a padding byte (len(PAYLOAD) - 1) and padding; joblib < 1.2 reads
    the array from the padding byte on and resumes len(PAYLOAD) bytes early: at the payload
    that ends the array data."""
    data = b"\x00" * 8 + PAYLOAD
    return (wrapper_head() + state_dict(dtype("u1"), shape=(len(data),)) + b"b" +
            bytes([len(PAYLOAD) - 1]) + b"\xff" * (len(PAYLOAD) - 1) + data + b".")


def plain_array_object_flag_cleared():
    """pickle.dumps of an ndarray (numpy's _reconstruct + BUILD) whose 'O8' dtype state clears
    the object flag: ndarray.__setstate__ copies the 8 raw bytes in as an object reference."""
    good = pickle.dumps(np.array([1.0]), 2)
    assert b"X\x02\x00\x00\x00f8" in good
    return good.replace(b"X\x02\x00\x00\x00f8", b"X\x02\x00\x00\x00O8")


def unresolved_dtype():
    """A dtype that is not numpy.dtype(...) (here a class): stcheck cannot tell what joblib
    reads; it fails closed."""
    return (wrapper_head() + state_dict(s("numpy") + s("ndarray") + b"\x93", align=b"N") +
            b"b" + b"\x00" * 8 + b".")


def reduce_wrapper():
    """NumpyArrayWrapper(subclass, shape, order, dtype) by REDUCE: __init__ sets alignment 16."""
    return (b"\x80\x04" + s("joblib.numpy_pickle") + s("NumpyArrayWrapper") + b"\x93" +
            tup(s("numpy") + s("ndarray") + b"\x93", tup(b"K\x01"), s("C"), dtype("f8")) +
            b"R}b" + b"\x00" + b"\x00" * 8 + b".")


def nd_wrapper(filename):
    """joblib 0.9 NDArrayWrapper naming filename (protocol 2, as joblib 0.9 wrote)."""
    return (b"\x80\x02cjoblib.numpy_pickle\nNDArrayWrapper\n)\x81}(" +
            b"X\x08\x00\x00\x00subclasscnumpy\nndarray\n" +
            b"X\x0a\x00\x00\x00allow_mmap\x88" +
            b"X\x08\x00\x00\x00filename" + b"X" + len(filename).to_bytes(4, "little") +
            filename.encode() + b"ub.")


def znd_wrapper(filename):
    """joblib 0.8 ZNDArrayWrapper naming filename (its state: filename, init_args, state)."""
    return (b"\x80\x02cjoblib.numpy_pickle\nZNDArrayWrapper\n)\x81}(" +
            b"X\x08\x00\x00\x00subclasscnumpy\nndarray\n" +
            b"X\x08\x00\x00\x00filename" + b"X" + len(filename).to_bytes(4, "little") +
            filename.encode() + b"ub.")


def zfile(data, py2_space=False):
    """numpy_pickle_compat.write_zfile"""
    head = b"ZF" + ("0x%x" % len(data)).ljust(19).encode()
    return head + (b" " if py2_space else b"") + zlib.compress(data, 3)


def dump(obj, **kw):
    bio = io.BytesIO()
    joblib.dump(obj, bio, **kw)
    return bio.getvalue()


def npy(arr):
    bio = io.BytesIO()
    np.save(bio, arr, allow_pickle=True)
    return bio.getvalue()


def object_npy_with_payload():
    """An object .npy whose pickle is the payload."""
    arr = np.array([None, None], dtype=object)
    raw = npy(arr)
    header_end = raw.index(b"\n") + 1
    return raw[:header_end] + PAYLOAD


def memmap_dump(workdir):
    path = os.path.join(workdir, "mm.dat")
    mm = np.memmap(path, dtype="float32", mode="w+", shape=(4, 4))
    mm[:] = 1.5
    return dump(mm)


def cases(workdir):
    rec = np.array([(1, "a"), (2, None)], dtype=[("x", "<i4"), ("o", "O")])
    return [
        # dtype object-ness from a later BUILD
        ("later-build-object.pkl", later_build_object(), ["ST201"], 1),
        ("later-build-plain.pkl", later_build_plain(), [], 0),
        ("object-flag-cleared.pkl", object_flag_cleared(), ["ST231"], 1),
        # alignment byte: absent (None or no key) and present
        ("align-none-payload.pkl", align_absent_payload(), ["ST201"], 1),
        ("align-key-missing.pkl", align_key_missing(), [], 0),
        ("align-present.pkl", align_present(), [], 0),
        ("reduce-wrapper.pkl", reduce_wrapper(), [], 0),
        ("unresolved-dtype.pkl", unresolved_dtype(), ["ST230"], 1),
        ("plain-array-object-flag.pkl", plain_array_object_flag_cleared(), ["ST231"], 1),
        ("plain-array.pkl", pickle.dumps(np.arange(4.0), 2), [], 0),
        ("plain-object-array.pkl", pickle.dumps(np.array([1, None], dtype=object), 2), [], 0),
        # the same bytes as other readers read them
        ("array-bytes-opcodes.pkl", array_bytes_are_opcodes(), ["ST201"], 1),
        ("padding-old-joblib.pkl", padding_seen_by_old_joblib(), ["ST201"], 1),
        # real joblib dumps
        ("real-aligned.pkl", dump(np.arange(10.0)), [], 0),
        ("real-unaligned.pkl", dump(np.arange(10.0), compress=3), [], 0),
        ("zero-d.pkl", dump(np.array(3.5)), [], 0),
        ("zero-d.npy", npy(np.array(3.5)), [], 0),
        ("record-object.pkl", dump(rec), [], 0),
        ("record-object.npy", npy(rec), ["ST404"], 0),
        ("memmap.pkl", memmap_dump(workdir), [], 0),
        ("zeros-64MiB.pkl.z", dump(np.zeros(8 << 20), compress=3), [], 0),
        # old joblib ZF files
        ("zf-payload.pkl", zfile(PAYLOAD), ["ST201"], 1),
        ("zf-benign.pkl", zfile(pickle.dumps([1, 2, 3], 2)), [], 0),
        ("zf-py2-space.pkl", zfile(pickle.dumps({"a": 1}, 2), py2_space=True), [], 0),
        ("zf-raw-data.pkl", zfile(np.arange(5).tobytes()), ["ST237"], 0),
        ("zf-bad-length.pkl", b"ZF0xzz" + b" " * 15 + zlib.compress(b"N."), ["ST235"], 2),
        # the length field as int(text, 16) reads it: spaces and tabs around, 0X, hex case
        ("zf-spaces.pkl", zf_raw(b" \t0X%X\r\n" % len(N_PICKLE_RAW), N_PICKLE), [], 0),
        ("zf-no-digits.pkl", zf_raw(b"0x", N_PICKLE), ["ST235"], 2),
        ("zf-no-0x.pkl", zf_raw(b"%x" % len(N_PICKLE_RAW), N_PICKLE), [], 0),  # int() takes it
        ("zf-not-x.pkl", zf_raw(b"0x0y12", N_PICKLE), ["ST235"], 2),
        ("zf-blank.pkl", zf_raw(b"", N_PICKLE), ["ST903"], 2),  # no length: not claimed
        ("zf-over-64-bits.pkl", zf_raw(b"0x" + b"f" * 17, N_PICKLE), ["ST235"], 2),
        ("zf-short.pkl", b"ZF0x1", ["ST235"], 2),
        ("zf-short-digits.pkl", b"ZF12", ["ST903"], 2),  # too short for a field: not claimed
        ("zf-one-digit.pkl", zf_raw(b"5", zlib.compress(b"N.")), ["ST236"], 0),  # int("5", 16)
        ("zf-leading-0.pkl", zf_raw(b"04", N_PICKLE), [], 0),
        ("zf-upper-hex.pkl", zf_raw(b"0X%X" % len(N_PICKLE_RAW), N_PICKLE), [], 0),
        ("zf-mixed-hex.pkl", zf_raw(b"0x1aBf", N_PICKLE), ["ST236"], 0),
        # the zlib stream: cut, corrupt, its length a lie, bytes after it
        ("zf-cut.pkl", zfile(pickle.dumps(list(range(500)), 2))[:60], ["ST503"], 1),
        ("zf-corrupt.pkl", zf_raw(b"0x10", b"\x78\x9c\xff\xff\xff\xff"), ["ST503"], 1),
        ("zf-length-lie.pkl", zf_raw(b"0x99", N_PICKLE), ["ST236"], 0),
        ("zf-trailing.pkl", zfile(N_PICKLE_RAW) + b"junk", ["ST504"], 0),
        # raw data whose stream is read in more than one 64 KiB chunk
        ("zf-two-chunks.pkl", zfile(random.Random(1).randbytes(100000)), ["ST237"], 0),
        # a ZF pickle is a nested input: its importing content is judged as any pickle
        ("zf-in-gzip.pkl.gz", gzip.compress(zfile(PAYLOAD)), ["ST201"], 1),
    ]


N_PICKLE_RAW = b"\x80\x02N."
N_PICKLE = zlib.compress(N_PICKLE_RAW)


def zf_raw(field, stream):
    """A ZF file with the 19-byte length field given (padded with spaces) and the stream."""
    return b"ZF" + field.ljust(19) + stream


def policy_cases(workdir):
    """ZF under limits given by a policy: the member-size limit (a bomb) and nesting."""
    pol = os.path.join(workdir, "limits.json")
    with open(pol, "w") as f:
        f.write('{"limits": {"member_bytes": 100000, "nesting": 1}}')
    big = zfile(pickle.dumps(bytes(300000), 2))
    small = os.path.join(workdir, "limits-small.json")
    with open(small, "w") as f:
        f.write('{"limits": {"member_bytes": 1000}}')
    return [
        ("zf-over-limit.pkl", big, ["ST311"], 2, ("--policy", pol)),
        # a limit below the first 64 KiB buffer
        ("zf-over-small-limit.pkl", zfile(pickle.dumps(bytes(5000), 2)), ["ST311"], 2,
         ("--policy", small)),
        # in gzip (depth 1), the ZF pickle would be depth 2
        ("zf-nested-too-deep.pkl.gz", gzip.compress(zfile(N_PICKLE_RAW)), ["ST901"], 2,
         ("--policy", pol)),
    ]


def sibling_cases(workdir):
    """NDArrayWrapper siblings: plain names pass; paths fail; a missing one cannot be
    checked; the sibling's own content is checked like any .npy."""
    folder = os.path.join(workdir, "siblings")
    os.makedirs(folder, exist_ok=True)
    out = []

    def put(name, data):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)

    put("plain.npy", npy(np.arange(3)))
    put("plain.pkl", nd_wrapper("plain.npy"))
    out.append(("plain.pkl", ["ST232"], 0))
    put("evil.npy", object_npy_with_payload())
    put("evil.pkl", nd_wrapper("evil.npy"))
    out.append(("evil.pkl", ["ST201", "ST232", "ST404"], 1))
    put("sib-pickle", PAYLOAD)  # numpy.load hands non-.npy files to pickle.load
    put("sib-pickle.pkl", nd_wrapper("sib-pickle"))
    out.append(("sib-pickle.pkl", ["ST201", "ST232"], 1))
    put("dotdot.pkl", nd_wrapper("../plain.npy"))
    out.append(("dotdot.pkl", ["ST233"], 1))
    put("absolute.pkl", nd_wrapper("/etc/passwd"))
    out.append(("absolute.pkl", ["ST233"], 1))
    put("missing.pkl", nd_wrapper("nothere.npy"))
    out.append(("missing.pkl", ["ST234"], 2))
    # the same wrapper in a gzip-compressed pickle: siblings come from the file's folder
    put("plain.pkl.gz", gzip.compress(nd_wrapper("plain.npy")))
    out.append(("plain.pkl.gz", ["ST232"], 0))
    # numpy.load of a zip is an NpzFile joblib cannot use; a folder is no readable file
    put("sib.npz", b"PK\x05\x06" + bytes(18))
    put("npz.pkl", nd_wrapper("sib.npz"))
    out.append(("npz.pkl", ["ST232", "ST233"], 1))
    os.makedirs(os.path.join(folder, "subdir"), exist_ok=True)
    put("dir.pkl", nd_wrapper("subdir"))
    out.append(("dir.pkl", ["ST234"], 2))
    put("empty-sib", b"")
    put("empty.pkl", nd_wrapper("empty-sib"))
    out.append(("empty.pkl", ["ST205", "ST232"], 1))
    # names os.path.join does not keep in the folder: ".", "", backslashes, NUL
    for i, bad in enumerate([".", "", "a\\b.npy", ".."]):
        put("badname%d.pkl" % i, nd_wrapper(bad))
        out.append(("badname%d.pkl" % i, ["ST233"], 1))
    # a NUL in the name: the walker refuses the text before any file is named (ST230)
    put("badname-nul.pkl", nd_wrapper("a\0b.npy"))
    out.append(("badname-nul.pkl", ["ST230"], 1))
    # a two-byte name that is no "..", a sibling too short for any magic, a link loop
    put("ab.pkl", nd_wrapper("ab"))
    out.append(("ab.pkl", ["ST234"], 2))
    put("pk", b"PK\x01\x02" + PAYLOAD)  # "PK", but no zip record numpy.load knows: a pickle
    put("pk.pkl", nd_wrapper("pk"))
    out.append(("pk.pkl", ["ST211", "ST232"], 1))  # PERSID without a persistent_load
    put("s3", b"N.\n")
    put("three.pkl", nd_wrapper("s3"))
    out.append(("three.pkl", ["ST232"], 0))
    os.symlink("loop", os.path.join(folder, "loop"))
    put("loop.pkl", nd_wrapper("loop"))
    out.append(("loop.pkl", ["ST234"], 2))
    put("znd-path.pkl", znd_wrapper("../z.dat"))
    out.append(("znd-path.pkl", ["ST233"], 1))
    # ZNDArrayWrapper: the sibling is a ZF file whose bytes are raw array data
    put("z.dat", zfile(np.arange(4).tobytes()))
    put("z.pkl", znd_wrapper("z.dat"))
    out.append(("z.pkl", ["ST232"], 0))
    put("z-bad.dat", b"ZX0x10" + bytes(30))
    put("z-bad.pkl", znd_wrapper("z-bad.dat"))
    out.append(("z-bad.pkl", ["ST232", "ST235"], 1))
    put("z-short.dat", b"ZF0x")
    put("z-short.pkl", znd_wrapper("z-short.dat"))
    out.append(("z-short.pkl", ["ST232", "ST235"], 1))
    put("z-badlen.dat", b"ZF0xzz" + bytes(30))
    put("z-badlen.pkl", znd_wrapper("z-badlen.dat"))
    out.append(("z-badlen.pkl", ["ST232", "ST235"], 1))
    return [(os.path.join(folder, n), ids, code) for n, ids, code in out]


def main():
    stcheck, workdir = sys.argv[1], sys.argv[2]
    warnings.simplefilter("ignore")
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    failures = checked = 0

    def report(items, extra=(), allowed_missing=False):
        nonlocal failures, checked
        for (path, _, _), (problems, got) in zip(items, run_cases(stcheck, items, extra)):
            if allowed_missing:
                problems = [p for p in problems if not p.startswith("missing")]
            checked += 1
            if problems:
                failures += 1
                print("FAIL %s: %s (got %s)" % (os.path.basename(path), "; ".join(problems), got))

    def write(name, data):
        path = os.path.join(workdir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    # One stcheck run per group of files (a process costs ~1 s under CI's valgrind stage).
    report([(write(name, data), ids, code) for name, data, ids, code in cases(workdir)])
    for name, data, ids, code, extra in policy_cases(workdir):
        report([(write(name, data), ids, code)], extra)
    report(sibling_cases(workdir))
    # joblib's own test data (joblib 0.8-0.11, compressed and not, with siblings): all pass
    files = sorted(glob.glob(os.path.join(JOBLIB_DATA, "joblib_*")))
    if not files:
        print("FAIL: no joblib test data under %s (python3-joblib)" % JOBLIB_DATA)
        failures += 1
    report([(path, [i for i in ("ST232", "ST237", "ST404")], 0) for path in files],
           allowed_missing=True)
    print("joblib: %d checked, %d failed" % (checked, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
