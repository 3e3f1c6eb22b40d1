#!/usr/bin/env python3
"""Samples of the formats stcheck identifies without checking them (src/formats/other.c,
other_exec.c) and of TensorFlow SavedModel folders (src/formats/keras/savedmodel.c), built with
the standard library only (protobuf wire data and zips by hand).

Usage:
  identify_samples.py corpus DIR        write corpus/other and corpus/savedmodel seeds under DIR
  identify_samples.py e2e STCHECK WORK  build a model folder of every kind under WORK and check
                                        it with ONE `stcheck -r --format json` run: exact ids and
                                        verdict per file, and the run's exit code
"""
import io
import json
import os
import struct
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
GGUF_DIR = os.path.join(HERE, "..", "corpus", "gguf")


# ---- protobuf wire data ---------------------------------------------------------------------

def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def vfield(num, v):
    return varint(num << 3) + varint(v)


def lfield(num, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(num << 3 | 2) + varint(len(payload)) + payload


# ---- FlatBuffer-identified formats ----------------------------------------------------------

def tflite():
    return struct.pack("<I", 0x1c) + b"TFL3" + bytes(24)


def executorch(ident=b"ET12", extended=True):
    head = struct.pack("<I", 0x38) + ident
    if extended:
        head += b"eh00" + struct.pack("<IQQQ", 0x20, 0x2f0, 0x1000, 0x20)
    return head + bytes(0x40 - len(head))


# ---- Core ML --------------------------------------------------------------------------------

def coreml(spec=4, model_type=500, extra=b""):
    desc = lfield(1, lfield(1, "input")) + lfield(10, lfield(1, "output"))
    return vfield(1, spec) + lfield(2, desc) + extra + lfield(model_type, lfield(1, b""))


MANIFEST = json.dumps({
    "fileFormatVersion": "1.0.0",
    "itemInfoEntries": {
        "A1": {"author": "com.apple.CoreML", "description": "CoreML Model Specification",
               "name": "model.mlmodel", "path": "com.apple.CoreML/model.mlmodel"},
        "B2": {"author": "com.apple.CoreML", "description": "CoreML Model Weights",
               "name": "weights", "path": "com.apple.CoreML/weights"}},
    "rootModelIdentifier": "A1"}, indent=2).encode()


# ---- OpenVINO IR ----------------------------------------------------------------------------

OPENVINO_XML = b"""<?xml version="1.0"?>
<!-- converted -->
<net name="model" version="11">
\t<layers>
\t\t<layer id="0" name="x" type="Parameter" version="opset1"/>
\t</layers>
</net>
"""


# ---- executables ----------------------------------------------------------------------------

APE = (b"MZqFpD='\n\n\x00\x10\x00\xf8" + bytes(50) + b"'\n#!/bin/sh\n"
       b"# the APE shell polyglot: sh runs this script, Windows the PE header\nexit 1\n")


def gguf(name="valid-basic.gguf"):
    with open(os.path.join(GGUF_DIR, name), "rb") as f:
        return f.read()


def llamafile(members, prefix=APE):
    """An APE prefix and a zip at its end (offsets from the start of the file, as zipalign
    writes them): members are (name, bytes, compress)."""
    b = io.BytesIO()
    if prefix:
        b.write(prefix + bytes(4096 - len(prefix)))
    with zipfile.ZipFile(b, "a") as z:
        for name, data, comp in members:
            z.writestr(zipfile.ZipInfo(name), data,
                       compress_type=zipfile.ZIP_DEFLATED if comp else zipfile.ZIP_STORED)
    return b.getvalue()


def elf():
    return b"\x7fELF\x02\x01\x01" + bytes(57)


def pe():
    h = bytearray(b"MZ" + bytes(0x7e))
    h[0x3c:0x40] = struct.pack("<I", 0x40)
    h[0x40:0x44] = b"PE\0\0"
    return bytes(h)


# ---- SavedModel -----------------------------------------------------------------------------

def saved_model(nodes=3, functions=1, tags=("serve",), version="2.15.0"):
    info = b"".join(lfield(4, t) for t in tags) + lfield(5, version)
    graph = b"".join(lfield(1, lfield(1, "n%d" % i) + lfield(2, "Const")) for i in range(nodes))
    graph += lfield(2, b"".join(lfield(1, lfield(1, b"")) for _ in range(functions)))
    meta = lfield(1, info) + lfield(2, graph) + lfield(5, lfield(1, b""))
    return vfield(1, 1) + lfield(2, meta)


def keras_node(node_id, path, metadata, identifier="_tf_keras_layer"):
    return lfield(1, lfield(1, vfield(1, 1)) + vfield(2, node_id) + lfield(3, path) +
                  lfield(4, identifier) + lfield(5, json.dumps(metadata)))


DENSE = {"class_name": "Dense", "name": "dense", "trainable": True, "dtype": "float32",
         "config": {"name": "dense", "units": 2, "activation": "linear", "use_bias": True}}
LAMBDA = {"class_name": "Lambda", "name": "lambda", "trainable": True, "dtype": "float32",
          "config": {"name": "lambda", "function": ["4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAA==", None, None],
                     "function_type": "lambda", "module": "__main__", "output_shape": None,
                     "output_shape_type": "raw", "output_shape_module": None, "arguments": {}}}


def keras_metadata(layers):
    return b"".join(keras_node(i + 1, "root.layer-%d" % i, m) for i, m in enumerate(layers))


def fingerprint():
    return (vfield(1, 0x1234) + vfield(2, 0x5678) + vfield(3, 9) + vfield(4, 10) +
            vfield(5, 11) + lfield(6, vfield(1, 1)))


# ---- corpus seeds ---------------------------------------------------------------------------

def corpus_other():
    """corpus/other: identification seeds (fuzz_identify) with exact outcomes."""
    return {
        "ST530-model.tflite": tflite(),
        "ST531-model.pte": executorch(),
        "ST531-no-extended-header.pte": executorch(extended=False),
        "ST531-data.ptd": executorch(b"FT01", extended=False),
        "ST532-model.mlmodel": coreml(),
        "ST532-unnamed-coreml": coreml(spec=7, model_type=502, extra=vfield(10, 1)),
        "ST532-Manifest.json": MANIFEST,
        "ST533-model.xml": OPENVINO_XML,
        "ST534-model.llamafile": llamafile([("model.gguf", gguf(), False),
                                            (".args", b"-m\nmodel.gguf\n", True)]),
        "ST534-bad-gguf.llamafile": llamafile([("model.gguf", gguf("ST713-alignment.gguf"),
                                                False)]),
        "ST534-deflated.llamafile": llamafile([("model.gguf", gguf("ST706-key-nul.gguf"), True)]),
        "ST534-no-zip.ape": APE,
        "ST713-gguf-member.zip": llamafile([("model.gguf", gguf("ST713-alignment.gguf"), False)],
                                           prefix=b""),
        "ST534-lib.so": elf(),
        "ST534-setup.exe": pe(),
        "ST534-macho.dylib": b"\xcf\xfa\xed\xfe" + bytes(28),
    }


def corpus_savedmodel():
    """corpus/savedmodel: fuzz_savedmodel's seeds (the names say which file TensorFlow reads)."""
    return {
        "ST885-saved_model.pb": saved_model(),
        "ST885-empty-saved_model.pb": b"",
        "ST885-saved_model.pbtxt": b"saved_model_schema_version: 1\nmeta_graphs {\n}\n",
        "ST886-truncated-saved_model.pb": saved_model()[:-3],
        "ST886-wire-saved_model.pb": vfield(1, 1) + vfield(2, 5),
        "ST886-keras_metadata.pb": keras_metadata([DENSE])[:-2],
        "ST886-fingerprint.pb": lfield(1, b"x"),
        "ST887-variables.index": b"\0" * 40 + struct.pack("<Q", 0xdb4775248b80fb57),
        "ST887-variables.data-00000-of-00001": bytes(64),
        "ST888-fingerprint.pb": fingerprint(),
        "valid-keras_metadata.pb": keras_metadata([DENSE, DENSE]),
        "ST851-lambda-keras_metadata.pb": keras_metadata([DENSE, LAMBDA]),
    }


def write(folder, files):
    os.makedirs(folder, exist_ok=True)
    for name, data in files.items():
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


# ---- the end-to-end run ---------------------------------------------------------------------

# (relative path, bytes, exact ids, verdict)
E2E = [
    ("tf/saved_model.pb", saved_model(), ["ST885"], "could not check"),
    ("tf/keras_metadata.pb", keras_metadata([DENSE, LAMBDA]), ["ST851"], "fail"),
    ("tf/fingerprint.pb", fingerprint(), ["ST888"], "pass"),
    ("tf/variables/variables.index", b"\0" * 40 + struct.pack("<Q", 0xdb4775248b80fb57),
     ["ST887"], "could not check"),
    ("tf/variables/variables.data-00000-of-00001", bytes(range(256)), ["ST887"],
     "could not check"),
    ("tf/assets/vocab.txt", b"a\nb\n", ["ST608"], "pass"),
    ("model.tflite", tflite(), ["ST530"], "could not check"),
    ("model.pte", executorch(), ["ST531"], "could not check"),
    ("model.ptd", executorch(b"FT01", extended=False), ["ST531"], "could not check"),
    ("model.mlmodel", coreml(), ["ST532"], "could not check"),
    ("Model.mlpackage/Manifest.json", MANIFEST, ["ST532"], "could not check"),
    ("Model.mlpackage/Data/com.apple.CoreML/model.mlmodel", coreml(spec=8, model_type=502),
     ["ST532"], "could not check"),
    ("Model.mlpackage/Data/com.apple.CoreML/weights/weight.bin", bytes(range(1, 200)),
     ["ST532"], "could not check"),
    ("ov/model.xml", OPENVINO_XML, ["ST533"], "could not check"),
    ("ov/model.bin", bytes(range(1, 250)) * 4, ["ST533"], "could not check"),
    # a .bin beside an .xml that is no IR, beside a folder named .xml, or alone: unidentified
    ("ov/notes.xml", b"<notes/>\n", ["ST608"], "pass"),
    ("ov/notes.bin", bytes(range(1, 250)), ["ST506"], "could not check"),
    ("ov/dir.xml/README.md", b"a folder\n", ["ST608"], "pass"),
    ("ov/dir.bin", bytes(range(1, 250)), ["ST506"], "could not check"),
    ("ov/alone.bin", bytes(range(1, 250)), ["ST506"], "could not check"),
    ("ov/.bin", bytes(range(1, 250)), ["ST506"], "could not check"),
    ("model.llamafile", llamafile([("model.gguf", gguf(), False),
                                   (".args", b"-m\nmodel.gguf\n", True)]), ["ST534"], "fail"),
    ("bad.llamafile", llamafile([("model.gguf", gguf("ST713-alignment.gguf"), False)]),
     ["ST534", "ST713"], "fail"),
    ("lib/libop.so", elf(), ["ST534"], "fail"),
]


def e2e(stcheck, work):
    root = os.path.join(work, "tree")
    if os.path.isdir(root):
        subprocess.run(["rm", "-rf", root], check=True)
    write(root, {p: d for p, d, _, _ in E2E})
    p = subprocess.run([stcheck, "-r", "--format", "json", root], capture_output=True)
    files = {os.path.relpath(f["path"], root): f for f in json.loads(p.stdout)["files"]}
    failed = 0
    for path, _, ids, verdict in E2E:
        f = files.pop(path, None)
        got = None if f is None else (sorted({x["id"] for x in f["findings"]} - {"ST905"}),
                                      f["verdict"])
        if got != (sorted(ids), verdict):
            print("FAIL %s: got %s, expected %s" % (path, got, (sorted(ids), verdict)))
            failed += 1
    for path in files:
        print("FAIL unexpected report for %s" % path)
        failed += 1
    if p.returncode != 2:
        print("FAIL exit %d, expected 2 (could not check wins)" % p.returncode)
        failed += 1
    print("%d files, %d failed" % (len(E2E), failed))
    return 1 if failed else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "corpus":
        write(os.path.join(argv[2], "other"), corpus_other())
        write(os.path.join(argv[2], "savedmodel"), corpus_savedmodel())
        return 0
    if len(argv) == 4 and argv[1] == "e2e":
        return e2e(argv[2], argv[3])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
