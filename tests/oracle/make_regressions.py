#!/usr/bin/python3
"""Writes corpus/oracle/: minimal files for each differential the oracle found (see
/work/brief/oracle-findings.md and fuzz/README.md). Each resolves a payload global
oracle_payload.<what> in a real loader; stcheck must list it or fail the file.

  /usr/bin/python3 tests/oracle/make_regressions.py ROOT
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mutators as M  # noqa: E402


def tar_checkpoint(root, pickle_member, typeflag=b"0", first=b""):
    out = [first]
    for name, data in M.tar_members(os.path.join(root, "corpus/pytorch/valid-tar-checkpoint.tar")):
        if name == "pickle":
            out.append(M.tar_member(name, pickle_member, typeflag=typeflag))
        else:
            out.append(M.tar_member(name, data))
    return b"".join(out) + b"\x00" * 1024


def build(root):
    files = {}
    # tarfile treats typeflag '7' (CONTTYPE) and every unknown typeflag as a regular file
    # (Lib/tarfile.py TarInfo._proc_builtin, TarFile.extractfile); torch reads 'pickle' from it.
    files["tar-typeflag-contiguous.tar"] = tar_checkpoint(
        root, M.payload("tar_typeflag_contiguous", 2), typeflag=b"7")
    files["tar-typeflag-unknown.tar"] = tar_checkpoint(
        root, M.payload("tar_typeflag_unknown", 2), typeflag=b"V")
    # torch.load tries tar before the legacy magic (torch/serialization.py _legacy_load): a
    # tar whose first member's name is a complete, empty legacy stream.
    legacy = (b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little") + b"." +
              b"\x80\x02M\xe9\x03." + b"}." + b"}." + b"].")
    files["tar-legacy-polyglot.tar"] = tar_checkpoint(
        root, M.payload("tar_legacy_polyglot", 2), first=M.tar_member(legacy, b""))
    # A zip checkpoint holding constants.pkl: torch.load dispatches to torch.jit.load
    # (torch/serialization.py load, _is_torchscript_zip), which runs TorchScript.
    mem = [M.Member(n, d) for n, d in M.zip_members(
        os.path.join(root, "corpus/pytorch/valid-state-dict.pt"))]
    top = mem[0].name.split("/")[0]
    mem.append(M.Member(top + "/constants.pkl", b"\x80\x02).", method=0))
    files["torchscript-constants-pkl.pt"] = M.write_zip(mem)
    # joblib reads the bytes after a NumpyArrayWrapper's BUILD as array data
    # (joblib/numpy_pickle.py NumpyArrayWrapper.read_array); pickle.load, numpy.load and
    # torch.load (legacy path) read the same bytes as opcodes.
    import numpy as np
    ops = b"coracle_payload\njoblib_array_bytes_as_opcodes\n)R."
    n = (len(ops) + 7) // 8
    files["joblib-array-bytes-as-opcodes.joblib"] = (
        M._wrapper_pickle(None, np.dtype("<i8"), (n,), "C", None, False, 4) +
        ops.ljust(n * 8, b"N") + b".")
    # The same bytes ending in a GLOBAL whose line runs to the end of the file: pickle's pure-
    # Python unpickler (dill, joblib's base class) imports line[:-1] anyway (Lib/pickle.py
    # _Unpickler.load_global reads readline()[:-1]); the C unpickler stops.
    ops = b"\x80\x02coracle_payload_line_cut_by_eof"
    n = (len(ops) + 7) // 8
    files["joblib-array-bytes-global-cut-by-eof.joblib"] = (
        M._wrapper_pickle(None, np.dtype("<i8"), (n,), "C", None, False, 4) +
        ops.ljust(n * 8, b"x") + b".")
    # A tar checkpoint whose first header begins with a pickle prefix that reaches a GLOBAL
    # (then a NUL, an invalid opcode): pickle.load, numpy.load and joblib.load import it
    # before they fail; torch reads the tar.
    files["tar-header-global-prefix.tar"] = tar_checkpoint(
        root, M.tar_members(os.path.join(root, "corpus/pytorch/valid-tar-checkpoint.tar"))[1][1],
        first=M.tar_member(b"coracle_payload\ntar_header_global_prefix\n", b""))
    # A STACK_GLOBAL whose module is what an allowed callable returned: _codecs.encode("bf",
    # "rot13") is "os", so every loader resolves os.system (issue #9's own example).
    files["stack-global-name-from-codecs.pkl"] = (
        b"\x80\x04\x8c\x07_codecs\x8c\x06encode\x93\x8c\x02bf\x8c\x05rot13\x86R"
        b"\x8c\x06system\x93\x8c\x04echo\x85R.")
    # Names longer than what is judged: 300 and 5006 bytes, written with BINUNICODE.
    def u4(text):
        raw = text.encode()
        return b"X" + len(raw).to_bytes(4, "little") + raw
    files["stack-global-long-name.pkl"] = (b"\x80\x04" + u4("oracle_payload") +
                                           u4("long_name_" + "a" * 290) + b"\x93)R.")
    files["stack-global-name-5000-bytes.pkl"] = (b"\x80\x04" + u4("os") +
                                                 u4("system" + ".x" * 2500) + b"\x93)R.")
    return files


def main():
    root = sys.argv[1]
    out = os.path.join(root, "corpus", "oracle")
    os.makedirs(out, exist_ok=True)
    for name, data in build(root).items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(os.path.join("corpus/oracle", name))


if __name__ == "__main__":
    main()
