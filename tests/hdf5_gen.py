#!/usr/bin/env python3
"""HDF5 files as h5py (Debian's python3-h5py, libhdf5 1.10) writes them for Keras, checked end
to end: Keras 3 model.weights.h5 layouts, legacy Keras 2 full-model .h5 files with model_config
attributes, and the features outside the subset stcheck walks (each with its exact ids and
verdict).

Usage: hdf5_gen.py e2e STCHECK WORKDIR    every case, in one stcheck run
       hdf5_gen.py corpus DIR             writes the small seeds of corpus/hdf5/ (fuzz_hdf5)"""
import json
import os
import struct
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import run_cases  # noqa: E402

# Keras 3's model.weights.h5 (keras/src/saving/saving_lib.py H5IOStore): a group per layer path
# with a vars group of datasets named 0, 1, ...; optimizer variables under optimizer/vars.
LAYERS = ["dense", "conv2d", "batch_normalization"]

# A legacy tf.keras 2 configuration (keras/saving/legacy/hdf5_format.py save_model_to_hdf5).
DENSE = {"class_name": "Dense", "config": {"name": "dense", "trainable": True, "dtype": "float32",
                                           "units": 2, "activation": "relu", "use_bias": True}}
LAMBDA = {"class_name": "Lambda", "config": {
    "name": "lambda", "trainable": True, "dtype": "float32",
    "function": ["4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMIAAAAfABkARQAUwApAk7pAgAAAKkAKQHaAXhyAgAAAHIC",
                 None, None],
    "function_type": "lambda", "module": "__main__", "output_shape": None,
    "output_shape_type": "raw", "output_shape_module": None, "arguments": {}}}


def sequential(*layers):
    return json.dumps({"class_name": "Sequential",
                       "config": {"name": "sequential", "layers": list(layers)},
                       "keras_version": "2.11.0", "backend": "tensorflow"})


def weights(f, optimizer_vars=3):
    for name in LAYERS:
        g = f.create_group("layers/%s/vars" % name)
        for i in range(2):
            g.create_dataset(str(i), data=np.full((3, 2), i, dtype="f4"))
    o = f.create_group("optimizer/vars")
    for i in range(optimizer_vars):
        o.create_dataset(str(i), data=np.zeros((2,), dtype="f4"))


def legacy(f, config, training=None):
    f.attrs["keras_version"] = "2.11.0"
    f.attrs["backend"] = "tensorflow"
    f.attrs["model_config"] = config
    if training is not None:
        f.attrs["training_config"] = training
    mw = f.create_group("model_weights")
    mw.attrs["layer_names"] = np.array([b"dense"])
    g = mw.create_group("dense")
    g.attrs["weight_names"] = np.array([b"dense/kernel:0", b"dense/bias:0"])
    g2 = g.create_group("dense")
    g2.create_dataset("kernel:0", data=np.ones((3, 2), "f4"))
    g2.create_dataset("bias:0", data=np.zeros((2,), "f4"))


def low_level(f, name, dcpl, data):
    sid = h5py.h5s.create_simple(data.shape)
    d = h5py.h5d.create(f.id, name.encode(), h5py.h5t.NATIVE_FLOAT, sid, dcpl=dcpl)
    d.write(h5py.h5s.ALL, h5py.h5s.ALL, data)


def compact(f):
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    low_level(f, "compact", dcpl, np.ones(4, "f4"))


def chunked(f):
    # 100 chunks: a chunk B-tree of two levels (64 entries per node)
    f.create_dataset("gzip", data=np.arange(2500, dtype="f4").reshape(50, 50),
                     chunks=(5, 5), compression="gzip", shuffle=True, fletcher32=True)
    f.create_dataset("lzf", data=np.ones((100,), "f4"), chunks=(10,), compression="lzf")
    f.create_dataset("scaleoffset", data=np.ones((100,), "i4"), chunks=(10,), scaleoffset=0)
    f.create_dataset("unwritten", shape=(10,), dtype="f4", chunks=(5,))


def kinds(f):
    f.create_dataset("empty", shape=(0,), dtype="f4")
    f.create_dataset("unwritten", shape=(10,), dtype="f4")
    f.create_dataset("bool", data=np.array([True, False]))
    f.create_dataset("scalar", data=np.float64(2))
    f.create_dataset("half", data=np.ones(3, "f2"))
    f.create_dataset("int8", data=np.ones(3, "i1"))
    compact(f)
    f["soft"] = h5py.SoftLink("/scalar")


def plugin(f):
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk((2,))
    dcpl.set_filter(305, h5py.h5z.FLAG_OPTIONAL, (1, 2))  # written without the filter
    low_level(f, "p", dcpl, np.ones(4, "f4"))


def virtual(f):
    lay = h5py.VirtualLayout(shape=(4,), dtype="f4")
    lay[:] = h5py.VirtualSource("other.h5", "d", shape=(4,))
    f.create_virtual_dataset("v", lay)


def committed(f):
    f["t"] = np.dtype("f4")
    f.create_dataset("d", shape=(2,), dtype=f["t"])


def reference(f):
    d = f.create_dataset("a", data=np.ones(2))
    f.create_dataset("r", data=[d.ref], dtype=h5py.ref_dtype)


def many_attributes(f):
    weights(f)
    for i in range(120):  # enough for continuation blocks in the root's object header
        f.attrs["attr%03d" % i] = np.arange(8)
    f.attrs["model_config"] = sequential(DENSE)


# (name, File() keywords, builder, ids, exit code)
CASES = [
    ("valid-weights.h5", {}, weights, [], 0),
    ("valid-weights-many.h5", {}, lambda f: weights(f, 300), [], 0),  # B-tree of several nodes
    ("valid-weights-latest.h5", {"libver": "latest"},
     lambda f: (f.create_group("layers/dense/vars").create_dataset("0", data=np.ones(3, "f4")),
                f.attrs.create("model_config", sequential(DENSE))), [], 0),
    ("valid-weights-track-order.h5", {"track_order": True}, weights, [], 0),
    ("valid-userblock.h5", {"userblock_size": 1024}, weights, [], 0),
    ("valid-legacy.h5", {}, lambda f: legacy(f, sequential(DENSE),
                                             json.dumps({"loss": "mse", "metrics": ["mae"]})), [], 0),
    ("valid-legacy-bytes.h5", {}, lambda f: legacy(f, sequential(DENSE).encode()), [], 0),
    ("valid-legacy-fixed.h5", {}, lambda f: legacy(f, np.bytes_(sequential(DENSE).encode())),
     [], 0),
    ("valid-many-attributes.h5", {}, many_attributes, [], 0),
    ("valid-kinds.h5", {}, kinds, [], 0),
    ("ST882-chunked.h5", {}, chunked, ["ST882"], 0),
    ("ST851-lambda.h5", {}, lambda f: legacy(f, sequential(DENSE, LAMBDA)), ["ST851"], 1),
    ("ST851-lambda-training.h5", {}, lambda f: legacy(f, sequential(DENSE), sequential(LAMBDA)),
     ["ST851"], 1),
    ("ST875-external-link.h5", {},
     lambda f: f.__setitem__("x", h5py.ExternalLink("/etc/passwd.h5", "/data")), ["ST875"], 2),
    ("ST876-external-storage.h5", {},
     lambda f: f.create_dataset("e", shape=(10,), dtype="f4", external=[("raw.bin", 0, 40)]),
     ["ST876"], 2),
    ("ST876-virtual.h5", {}, virtual, ["ST876"], 2),
    ("ST878-dense-links.h5", {"libver": "latest"}, lambda f: weights(f, 20), ["ST878"], 2),
    ("ST878-committed-type.h5", {}, committed, ["ST878"], 2),
    ("ST879-strings.h5", {}, lambda f: f.create_dataset("s", data=np.array([b"ab", b"cd"])),
     ["ST879"], 2),
    ("ST879-reference.h5", {}, reference, ["ST879"], 2),
    ("ST881-plugin.h5", {}, plugin, ["ST881", "ST882"], 1),
    ("ST883-config-array.h5", {}, lambda f: f.attrs.create("model_config", np.arange(3)),
     ["ST883"], 2),
]


def make(folder):
    os.makedirs(folder, exist_ok=True)
    out = []
    for name, kw, build, ids, code in CASES:
        path = os.path.join(folder, name)
        with h5py.File(path, "w", **kw) as f:
            build(f)
        out.append((path, ids, code))
    # a download cut short: the superblock's end of file lies past the end
    with open(os.path.join(folder, "valid-weights.h5"), "rb") as f:
        data = f.read()
    path = os.path.join(folder, "ST871-truncated.h5")
    with open(path, "wb") as f:
        f.write(data[:len(data) // 2])
    out.append((path, ["ST871"], 2))
    out.append(gheap_twice(folder))
    out.append(behind_pickle(folder))
    return out


def gheap_twice(folder):
    """model_config's global heap collection holding its object index twice: a benign copy,
    space-padded to the Lambda's length, then the Lambda. libhdf5 reads the last copy
    (H5HG__cache_heap_deserialize); h5py is asked here to prove it."""
    bad = sequential(LAMBDA)
    good = sequential(DENSE)
    good += " " * (len(bad) - len(good))
    path = os.path.join(folder, "ST872-gheap-index-twice.h5")
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = good
    with open(path, "rb") as f:
        d = bytearray(f.read())
    g = d.find(b"GCOL")
    end = g + struct.unpack_from("<Q", d, g + 8)[0]
    size = struct.unpack_from("<Q", d, g + 24)[0]
    second = g + 16 + 16 + (size + 7) // 8 * 8
    b = bad.encode()
    obj = struct.pack("<HHIQ", 1, 0, 0, len(b)) + b + bytes((8 - len(b) % 8) % 8)
    rest = end - second - len(obj)
    d[second:end] = obj + struct.pack("<HHIQ", 0, 0, 0, rest) + bytes(rest - 16)
    with open(path, "wb") as f:
        f.write(d)
    with h5py.File(path, "r") as f:
        assert "Lambda" in f.attrs["model_config"], "libhdf5 no longer reads the last copy"
    return path, ["ST872"], 2


def behind_pickle(folder):
    """A pickle, then (as a 512-byte user block) an HDF5 file whose model_config holds a Lambda:
    h5py opens it, pickle.load reads the pickle."""
    path = os.path.join(folder, "ST851-behind-pickle.h5")
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = sequential(LAMBDA)
    with open(path, "rb") as f:
        h5 = f.read()
    head = b"\x80\x02K\x01."  # PROTO 2, BININT1 1, STOP
    with open(path, "wb") as f:
        f.write(head + bytes(512 - len(head)) + h5)
    with h5py.File(path, "r") as f:
        assert "Lambda" in f.attrs["model_config"]
    return path, ["ST208", "ST851"], 1


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "corpus":
        for path, _, _ in make(sys.argv[2]):
            if os.path.getsize(path) > 40000:  # seeds stay small
                os.unlink(path)
        return 0
    if len(sys.argv) != 4 or sys.argv[1] != "e2e":
        sys.exit(__doc__)
    items = make(sys.argv[3])
    failures = 0
    for (path, _, _), (problems, got) in zip(items, run_cases(sys.argv[2], items)):
        if problems:
            failures += 1
            print("FAIL %s: %s (got %s)" % (os.path.basename(path), "; ".join(problems), got))
    print("hdf5_gen: %d cases, %d failures" % (len(items), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
