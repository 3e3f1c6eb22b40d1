#!/usr/bin/env python3
"""Generates safetensors test files (Python standard library only).

    gen_safetensors.py corpus DIR          write the small samples of corpus/safetensors/
    gen_safetensors.py e2e STCHECK WORKDIR run stcheck on every case and check the result
    gen_safetensors.py big PATH N [PFX]   write a header of N tensors named PFX<i> (benchmarks)
    gen_safetensors.py sparse PATH BYTES   write a valid file of BYTES bytes, data sparse

Every case names the finding ids it must produce; a case with no ids must pass cleanly.
No generated file is ever loaded by a model library.
"""
import json
import os
import struct
import sys

from e2e_util import run_all, run_case


def frame(header, data_len, pad=True, raw_prefix=None):
    """8-byte little-endian length, header bytes (padded with spaces to 8), data bytes."""
    if isinstance(header, (dict, list)):
        header = json.dumps(header, separators=(",", ":")).encode()
    elif isinstance(header, str):
        header = header.encode("utf-8")
    if pad:
        header += b" " * ((8 - (len(header) + 8) % 8) % 8)
    n = len(header) if raw_prefix is None else raw_prefix
    return struct.pack("<Q", n) + header + bytes(data_len)


def t(dtype, shape, begin, end, **extra):
    d = {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}
    d.update(extra)
    return d


def cases():
    """(name, bytes, expected ids, expected exit code)."""
    ok2 = {"a": t("F32", [2, 2], 0, 16), "b": t("I64", [1], 16, 24)}
    c = []
    add = lambda name, data, ids=(), code=None: c.append(
        (name, data, list(ids), code if code is not None else (1 if any_error(ids) else 0)))
    # valid files
    add("valid-basic", frame(ok2, 24))
    add("valid-metadata", frame({"__metadata__": {"format": "pt"}, **ok2}, 24))
    add("valid-empty-header", frame({}, 0), ["ST138"])
    add("valid-zero-size", frame({"z": t("F32", [0, 4], 16, 16), **ok2}, 24))
    add("valid-scalar", frame({"s": t("F64", [], 0, 8)}, 8))
    add("valid-subbyte", frame({"q": t("F4", [2, 3], 0, 3)}, 3))
    add("valid-f6", frame({"q": t("F6_E2M3", [4], 0, 3)}, 3))
    add("valid-all-dtypes", frame(all_dtypes(), all_dtypes_len()))
    add("valid-escaped-name", frame('{"a\\u00e9b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1))
    add("valid-unordered-offsets", frame({"b": t("U8", [4], 4, 8), "a": t("U8", [4], 0, 4)}, 8))
    # framing
    add("ST101-short", b"\x05\x00\x00", ["ST101"])
    add("ST102-zero-length", struct.pack("<Q", 0) + b"{}", ["ST102"])
    add("ST103-huge-length", struct.pack("<Q", 100_000_001) + b"{}" + bytes(30), ["ST103"])
    add("ST104-past-eof", frame(ok2, 24, raw_prefix=4096)[:200], ["ST104"])
    add("ST103-length-max", struct.pack("<Q", 2**64 - 1) + b"{}", ["ST103"])
    # JSON text
    add("ST105-invalid-utf8", frame_bytes(b'{"a\xff":{}}'), ["ST105"])
    add("ST105-overlong", frame_bytes(b'{"\xc0\xaf":1}'), ["ST105"])
    add("ST105-surrogate", frame_bytes(b'{"\xed\xa0\x80":1}'), ["ST105"])
    add("ST106-bom", frame_bytes(b"\xef\xbb\xbf{}"), ["ST106"])
    add("ST107-raw-control", frame_bytes(b'{"a\x01":1}'), ["ST107"])
    add("ST107-raw-nul", frame_bytes(b'{"a\x00":1}'), ["ST107"])
    add("ST108-trailing-comma", frame_bytes(b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},}', 1), ["ST108"])
    add("ST108-lone-surrogate", frame_bytes(b'{"\\ud800":1}'), ["ST108"])
    add("ST108-single-quotes", frame_bytes(b"{'a':1}"), ["ST108"])
    add("ST109-nul-key", frame_bytes(b'{"a\\u0000b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1), ["ST109", "ST133"])
    add("ST110-array-top", frame_bytes(b"[]"), ["ST110"])
    add("ST111-leading-ws", frame_bytes(b'\n{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1), ["ST111"])
    add("ST112-trailing-newline", frame_bytes(b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}\n', 1), ["ST112"])
    add("ST113-trailing-data", frame_bytes(b'{}{}'), ["ST113"])
    add("ST113-trailing-nul", frame_bytes(b'{}\x00\x00'), ["ST113"])
    add("ST114-duplicate-tensor", frame_bytes(b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1), ["ST114"])
    add("ST114-duplicate-escaped", frame_bytes(b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\\u0061":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1), ["ST114"])
    add("ST114-duplicate-field", frame_bytes(b'{"a":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}}', 1), ["ST114"])
    # tensor entries
    add("ST115-tensor-array", frame_bytes(b'{"a":["U8",[1],[0,1]]}', 1), ["ST115", "ST129"])
    add("ST116-missing-dtype", frame({"a": {"shape": [1], "data_offsets": [0, 1]}}, 1), ["ST116"])
    add("ST117-unknown-field", frame({"a": t("U8", [1], 0, 1, extra={"x": [1, {"y": 2}]})}, 1), ["ST117"])
    add("ST118-dtype-object", frame_bytes(b'{"a":{"dtype":{"F32":null},"shape":[1],"data_offsets":[0,4]}}', 4), ["ST118"])
    add("ST119-dtype-unknown", frame({"a": t("F128", [1], 0, 16)}, 16), ["ST119"])
    add("ST119-dtype-lowercase", frame({"a": t("f32", [1], 0, 4)}, 4), ["ST119"])
    add("ST120-shape-float", frame_bytes(b'{"a":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}}', 1), ["ST120"])
    add("ST120-shape-exponent", frame_bytes(b'{"a":{"dtype":"U8","shape":[1e0],"data_offsets":[0,1]}}', 1), ["ST120"])
    add("ST120-shape-negative-zero", frame_bytes(b'{"a":{"dtype":"U8","shape":[-0],"data_offsets":[0,0]}}', 0), ["ST120"])
    add("ST120-shape-too-big", frame_bytes(b'{"a":{"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,0]}}', 0), ["ST120"])
    add("ST108-shape-leading-zero", frame_bytes(b'{"a":{"dtype":"U8","shape":[01],"data_offsets":[0,1]}}', 1), ["ST108"])
    add("ST121-count-overflow", frame({"a": t("U8", [2**32, 2**32], 0, 0)}, 0), ["ST121"])
    add("ST121-bits-overflow", frame({"a": t("F64", [2**62], 0, 0)}, 0), ["ST121"])
    add("ST121-overflow-with-zero", frame({"a": t("U8", [0, 2**63, 4], 0, 0)}, 0), ["ST121"])
    add("ST122-subbyte-partial", frame({"a": t("F4", [3], 0, 2)}, 2), ["ST122"])
    add("ST123-offsets-three", frame_bytes(b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}', 1), ["ST123", "ST129"])
    add("ST123-offsets-negative", frame_bytes(b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}}', 1), ["ST123", "ST129"])
    add("ST124-offsets-reversed", frame({"a": t("U8", [1], 1, 0)}, 1), ["ST124", "ST129"])
    add("ST125-size-mismatch", frame({"a": t("F32", [2], 0, 4)}, 4), ["ST125"])
    # coverage
    add("ST126-gap", frame({"a": t("U8", [4], 0, 4), "b": t("U8", [4], 8, 12)}, 12), ["ST126"])
    add("ST126-gap-at-start", frame({"a": t("U8", [4], 4, 8)}, 8), ["ST126"])
    add("ST127-overlap", frame({"a": t("U8", [8], 0, 8), "b": t("U8", [4], 4, 8)}, 8), ["ST127"])
    add("ST127-aliased", frame({"a": t("U8", [8], 0, 8), "b": t("U8", [8], 0, 8)}, 8), ["ST127"])
    add("ST127-zero-size-inside", frame({"a": t("U8", [8], 0, 8), "z": t("U8", [0], 4, 4)}, 8), ["ST127"])
    add("ST128-past-eof", frame({"a": t("U8", [8], 0, 8)}, 4), ["ST128"])
    add("ST129-trailing", frame({"a": t("U8", [4], 0, 4)}, 8), ["ST129"])
    # metadata
    add("ST130-metadata-array", frame({"__metadata__": ["x"], **ok2}, 24), ["ST130"])
    add("ST131-metadata-number", frame({"__metadata__": {"epoch": 3}, **ok2}, 24), ["ST131"])
    add("ST131-metadata-null", frame({"__metadata__": {"x": None}, **ok2}, 24), ["ST131"])
    # review warnings and info
    add("ST132-empty-name", frame({"": t("U8", [1], 0, 1)}, 1), ["ST132"])
    add("ST133-control-name", frame({"a\u202eb": t("U8", [1], 0, 1)}, 1), ["ST133"])
    add("ST134-metadata-large", frame({"__metadata__": {"blob": "x" * 70000}, **ok2}, 24), ["ST134"])
    add("ST135-metadata-url", frame({"__metadata__": {"src": "see https://example.invalid/x"}, **ok2}, 24), ["ST135"])
    add("ST135-metadata-code", frame({"__metadata__": {"cmd": "__import__('os').system('true')"}, **ok2}, 24), ["ST135"])
    add("ST136-misaligned", frame({"a": t("U8", [2], 0, 2), "b": t("F32", [1], 2, 6)}, 6), ["ST136"])
    add("ST137-metadata-nul", frame_bytes(b'{"__metadata__":{"k":"a\\u0000b"}}'), ["ST137", "ST138"])
    add("ST139-unpadded", frame_bytes(b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1, pad=False), ["ST139"])
    add("ST901-deep-nesting", frame_bytes(b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":' + b"[" * 100 + b"]" * 100 + b"}}", 1), ["ST117", "ST901"], 2)
    return c


def any_error(ids):
    info_or_warn = {"ST111", "ST112", "ST117", "ST132", "ST133", "ST134", "ST135", "ST136",
                    "ST137", "ST138", "ST139"}
    return any(i not in info_or_warn for i in ids)


def frame_bytes(header, data_len=0, pad=True):
    """frame() for a header given as exact bytes (which may be invalid UTF-8 on purpose)."""
    assert isinstance(header, bytes)
    return frame(header, data_len, pad)


DTYPES = [("BOOL", 8), ("U8", 8), ("I8", 8), ("F8_E5M2", 8), ("F8_E4M3", 8), ("F8_E8M0", 8),
          ("F8_E4M3FNUZ", 8), ("F8_E5M2FNUZ", 8), ("I16", 16), ("U16", 16), ("F16", 16),
          ("BF16", 16), ("I32", 32), ("U32", 32), ("F32", 32), ("I64", 64), ("U64", 64),
          ("F64", 64), ("C64", 64), ("F4", 4), ("F6_E2M3", 6), ("F6_E3M2", 6)]


def all_dtypes():
    h, off = {}, 0
    for name, bits in sorted(DTYPES, key=lambda d: -d[1]):
        h["t_" + name] = t(name, [8], off, off + bits)  # 8 elements: `bits` bytes
        off += bits
    return h


def all_dtypes_len():
    return sum(bits for _, bits in DTYPES)


def big_header(n_tensors, prefix="layer."):
    """A header of n_tensors F32 [1] tensors, written without building a dict."""
    parts = [b"{"]
    pre = prefix.encode()
    for i in range(n_tensors):
        parts.append(b'"%s%d":{"dtype":"F32","shape":[1],"data_offsets":[%d,%d]},'
                     % (pre, i, 4 * i, 4 * i + 4))
    parts[-1] = parts[-1][:-1]
    parts.append(b"}")
    return b"".join(parts), 4 * n_tensors


# ---- polyglots: valid safetensors files that other loaders read as something else -------------

# The pickle hidden in a polyglot: a real module and a dotted name that protocol 4 resolves by
# getattr (multiprocessing.popen_spawn_posix imports os; os.path is posixpath, which imports
# os), so every string is at least 32 bytes: SHORT_BINSTRING's length byte is then printable,
# and the whole pickle is a JSON string. Never loaded by any test.
POLY_MODULE = b"multiprocessing.popen_spawn_posix"
POLY_NAME = b"os.path.os.path.os.path.os.system"
POLY_ARG = b"echo this-would-run-under-torch.load"


def _short_binstring(s):
    assert 32 <= len(s) < 127 and b'"' not in s and b"\\" not in s
    return b"U" + bytes([len(s)]) + s


def pickle_polyglot():
    """A valid safetensors file whose bytes from 0 are a protocol-4 pickle calling os.system.

    Length prefix 80 04 47 00 00 00 00 00: PROTO 4, then BINFLOAT, whose 8-byte argument
    swallows the rest of the prefix and '{"x'. Inside the first tensor name: POP (the float),
    two SHORT_BINSTRINGs, BINPUT 0xE2 whose argument and the STACK_GLOBAL (0x93) and MEMOIZE
    (0x94) bytes after it form the UTF-8 character U+24D4, then MARK, the argument, TUPLE,
    REDUCE, STOP. The header is padded with spaces to the length the prefix says (4,654,208
    bytes), which is what fixes its size."""
    n = 0x470480
    pk = (b"0" + _short_binstring(POLY_MODULE) + _short_binstring(POLY_NAME) + b"q\xe2\x93\x94"
          + b"(" + _short_binstring(POLY_ARG) + b"tR.")
    name = b"x" + pk
    hdr = b'{"' + name + b'":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}'
    hdr += b" " * (n - len(hdr))
    return struct.pack("<Q", n) + hdr + bytes(8), name


def tar_polyglot():
    """A valid safetensors file whose first 512 bytes are a tar header tarfile.open accepts:
    the header's fields (octal text padded with spaces, the ustar magic) lie inside the first
    tensor name, and the one member's data runs to the end of the file. No NUL inside the JSON:
    every field tarfile parses is digits and spaces."""
    def field(text, width):
        return text.encode().ljust(width, b" ")

    def build(n, total, chk):
        blk = bytearray(b"x" * 512)
        blk[100:108] = field("0000644", 8)             # mode
        blk[108:116] = field("0000000", 8)             # uid
        blk[116:124] = field("0000000", 8)             # gid
        blk[124:136] = field("%011o" % (total - 512), 12)  # size: the rest of the file
        blk[136:148] = field("00000000000", 12)        # mtime
        blk[148:156] = field("%06o" % chk, 8)          # checksum
        blk[156:157] = b"0"                            # regular file
        blk[157:257] = b" " * 100                      # linkname
        blk[257:265] = b"ustar   "                     # magic and version, no NUL
        blk[265:345] = b" " * 80                       # uname, gname
        blk[329:345] = b" " * 16                       # devmajor, devminor
        blk[345:500] = b" " * 155                      # prefix
        blk[0:8] = struct.pack("<Q", n)
        blk[8:10] = b'{"'
        return blk

    tail = b'":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}'
    n = 512 - 8 + len(tail)
    n += (8 - n % 8) % 8
    total = 8 + n + 8
    total += (512 - total % 512) % 512  # padding as a second tensor's bytes would break it
    data = total - 8 - n
    tail = b'":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}' % (data, data)
    n = 512 - 8 + len(tail)
    n += (8 - n % 8) % 8
    total = 8 + n + data
    blk = build(n, total, 0)
    blk[148:156] = b" " * 8
    chk = sum(blk)
    blk = build(n, total, chk)
    hdr = bytes(blk[8:]) + tail
    hdr += b" " * (n - len(hdr))
    return struct.pack("<Q", n) + hdr + bytes(data)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def write_sparse(path, total):
    """A valid file of `total` bytes: one U8 tensor covering a sparse data section."""
    make = lambda n: frame({"__metadata__": {"format": "pt"}, "w": t("U8", [n], 0, n)}, 0)
    data_len = total - len(make(total))
    while len(make(data_len)) + data_len != total:  # the header's length depends on the digits
        data_len = total - len(make(data_len))
    hdr = make(data_len)
    with open(path, "wb") as f:
        f.write(hdr)
        f.truncate(total)


def e2e(stcheck, workdir):
    checked, failures = run_all(stcheck, workdir, cases(), ".safetensors")
    # A valid 4 GiB sparse file: checked in O(header), never read.
    path = os.path.join(workdir, "sparse-4gib.safetensors")
    write_sparse(path, 4 << 30)
    problems, got = run_case(stcheck, path, [], 0)
    checked += 1
    if problems:
        failures += 1
        print("FAIL sparse-4gib: %s (got %s)" % ("; ".join(problems), got))
    os.unlink(path)
    # A header just under the 100,000,000-byte limit, with padding to the limit.
    hdr, data_len = big_header(1_200_000)
    hdr += b" " * (100_000_000 - len(hdr))
    path = os.path.join(workdir, "near-limit.safetensors")
    write(path, struct.pack("<Q", len(hdr)) + hdr + bytes(data_len))
    problems, got = run_case(stcheck, path, [], 0)
    checked += 1
    if problems:
        failures += 1
        print("FAIL near-limit: %s (got %s)" % ("; ".join(problems), got))
    os.unlink(path)
    print("%d passed, %d failed" % (checked - failures, failures))
    return 1 if failures else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "corpus":
        os.makedirs(argv[2], exist_ok=True)
        for name, data, _, _ in cases():
            write(os.path.join(argv[2], name + ".safetensors"), data)
        return 0
    if len(argv) == 4 and argv[1] == "e2e":
        return e2e(argv[2], argv[3])
    if len(argv) in (4, 5) and argv[1] == "big":
        hdr, data_len = big_header(int(argv[3]), *argv[4:])
        hdr += b" " * ((8 - (len(hdr) + 8) % 8) % 8)
        with open(argv[2], "wb") as f:
            f.write(struct.pack("<Q", len(hdr)) + hdr)
            f.truncate(8 + len(hdr) + data_len)
        return 0
    if len(argv) == 4 and argv[1] == "sparse":
        write_sparse(argv[2], int(argv[3]))
        return 0
    print(__doc__, file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
