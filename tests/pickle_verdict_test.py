#!/usr/bin/env python3
"""The pickle verdict model end to end (issue #9, docs/formats/pickle.md "Verdict model"):
real data passes by default, pickled objects of classes no profile allows fail, every tensor
rebuild function torch's weights_only unpickler allows passes, and legacy checkpoints of every
protocol torch loads pass.

Files are made here with /usr/bin/python3 and Debian's numpy, scipy, pandas, sklearn and torch:
pickle.dumps / torch.save only - nothing made here is ever loaded. Debian's own numpy and scipy
test data are checked in place.
Usage: pickle_verdict_test.py STCHECK WORKDIR"""
import collections
import glob
import io
import os
import pickle
import sys
import warnings
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import run_cases  # noqa: E402

warnings.simplefilter("ignore")
PASS, FAIL = 0, 1


def g(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def call0(module, name):
    """A protocol-2 pickle calling module.name() and returning the result."""
    return b"\x80\x02" + g(module, name) + b")R."


def torch_zip(pkl, name="archive"):
    """A zip laid out as torch.save writes it, holding pkl as data.pkl."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr(name + "/data.pkl", pkl)
        z.writestr(name + "/byteorder", "little")
        z.writestr(name + "/version", "3\n")
    return buf.getvalue()


def numpy_cases():
    import numpy as np
    import numpy.ma as ma
    cases = []
    mm_path = os.path.join(WORK, "mm.bin")
    objs = {
        "matrix": np.matrix([[1, 2], [3, 4]]),
        "recarray": np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
        "masked": ma.array([1, 2, 3], mask=[0, 1, 0]),
        "masked-matrix": ma.array(np.matrix([[1, 2]]), mask=[[0, 1]]),
        "chararray": np.char.array(["ab", "c"]),
        "memmap": np.memmap(mm_path, dtype="f4", mode="w+", shape=(3,)),
        "scalars": [np.float64(1.5), np.int32(3), np.dtype("f4")],
        "range-object-array": np.array([range(3), None], dtype=object),
    }
    for name, obj in objs.items():
        for proto in (2, 3, 4, 5):
            cases.append(("numpy-%s-p%d.pkl" % (name, proto), pickle.dumps(obj, protocol=proto),
                          [], PASS))
    return cases


def refused_cases():
    """Objects of classes no profile allows: ST202, fail."""
    import pandas as pd
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression
    import numpy as np
    import uuid
    objs = {
        "pandas-dataframe": pd.DataFrame({"a": [1, 2]}),
        "scipy-csr": sp.csr_matrix(np.eye(3)),
        "sklearn-estimator": LogisticRegression(),
        "uuid": uuid.UUID(int=1),
    }
    cases = []
    for name, obj in objs.items():
        cases.append(("refused-%s.pkl" % name, pickle.dumps(obj, protocol=4), ["ST202"], FAIL))
    # inert builtins the data profile holds
    inert = [collections.OrderedDict(a=1), collections.Counter("ab"), {1, 2}, frozenset([3]),
             complex(1, 2), bytearray(b"x"), slice(1, 2), range(4), b"bytes"]
    for proto in (0, 1, 2, 3, 4, 5):
        cases.append(("inert-builtins-p%d.pkl" % proto, pickle.dumps(inert, protocol=proto), [],
                      PASS))
    return cases


def torch_cases():
    import torch
    cases = []
    sd = collections.OrderedDict(w=torch.arange(6, dtype=torch.float32).reshape(2, 3),
                                 b=torch.zeros(2, dtype=torch.int64),
                                 p=torch.nn.Parameter(torch.ones(2)))
    made = {
        "state-dict": sd,
        "meta": {"m": torch.empty(2, 3, device="meta")},
        "sparse-coo": {"s": torch.eye(3).to_sparse()},
        "sparse-csr": {"s": torch.eye(3).to_sparse_csr()},
        "quantized": {"q": torch.quantize_per_tensor(torch.ones(4), 0.1, 0, torch.quint8)},
        "tensor-attrs": {"t": _with_attr(torch.ones(2))},
        "dtypes": {"d": [torch.float16, torch.bfloat16, torch.bool, torch.complex64]},
    }
    try:
        made["nested"] = {"n": torch.nested.nested_tensor([torch.ones(2), torch.ones(3)])}
    except Exception:  # nested tensors need a newer torch
        pass
    for name, obj in made.items():
        for proto in (2, 4):
            for zipped in (True, False):
                buf = io.BytesIO()
                try:
                    torch.save(obj, buf, pickle_protocol=proto,
                               _use_new_zipfile_serialization=zipped)
                except RuntimeError:  # torch 1.13 cannot save nested tensors
                    continue
                kind = "zip" if zipped else "legacy"
                ids = ["ST325"] if not zipped and proto != 2 else []
                cases.append(("torch-%s-%s-p%d.pt" % (name, kind, proto), buf.getvalue(), ids,
                              PASS))
    # every protocol torch loads (0 is refused by torch itself: its persistent ids are text)
    for proto in (1, 2, 3, 4, 5):
        for zipped in (True, False):
            buf = io.BytesIO()
            torch.save(sd, buf, pickle_protocol=proto, _use_new_zipfile_serialization=zipped)
            kind = "zip" if zipped else "legacy"
            # a legacy magic number pickled at another protocol than 2 is reported (ST325)
            ids = ["ST325"] if not zipped and proto != 2 else []
            cases.append(("torch-protocol-%s-p%d.pt" % (kind, proto), buf.getvalue(), ids, PASS))
    # a whole nn.Module: its classes are not on the allowlist
    buf = io.BytesIO()
    torch.save(torch.nn.Linear(2, 2), buf)
    cases.append(("torch-whole-module.pt", buf.getvalue(), ["ST202"], FAIL))
    # numpy inside a checkpoint: refused, as weights_only refuses it
    buf = io.BytesIO()
    import numpy as np
    torch.save({"acc": np.float64(0.5)}, buf)
    cases.append(("torch-numpy-scalar.pt", buf.getvalue(), ["ST202"], FAIL))
    return cases


def _with_attr(t):
    t.note = "kept by _rebuild_from_type_v2"
    return t


# Everything torch/_weights_only_unpickler.py allows (torch 1.13 and upstream), called in a
# checkpoint's data.pkl: all pass.
WEIGHTS_ONLY = [
    ("torch._utils", f) for f in (
        "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
        "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_sparse_tensor",
        "_rebuild_sparse_csr_tensor", "_rebuild_meta_tensor_no_storage",
        "_rebuild_nested_tensor", "_rebuild_wrapper_subclass",
        "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor")
] + [
    ("torch._tensor", "_rebuild_from_type_v2"), ("torch.nn.parameter", "Parameter"),
    ("torch.serialization", "_get_layout"), ("collections", "OrderedDict"),
    ("collections", "Counter"), ("builtins", "set"), ("builtins", "complex"),
    ("builtins", "bytearray"), ("_codecs", "encode"), ("torch", "Size"), ("torch", "device"),
    ("torch.cuda", "FloatStorage"), ("torch.sparse", "FloatTensor"),
    ("torch.cuda.sparse", "LongTensor"), ("torch", "uint4"), ("torch", "float8_e8m0fnu"),
]


def weights_only_cases():
    cases = []
    for module, name in WEIGHTS_ONLY:
        cases.append(("wo-%s.%s.pt" % (module, name), torch_zip(call0(module, name)), [], PASS))
    # and what it refuses
    for module, name, rule in (("torch.nn.modules.linear", "Linear", "ST202"),
                               ("numpy.core.multiarray", "_reconstruct", "ST202"),
                               ("torch.utils.collect_env", "run", "ST201"),
                               ("numpy", "matrix", "ST202")):
        cases.append(("wo-refused-%s.%s.pt" % (module, name), torch_zip(call0(module, name)),
                      [rule], FAIL))
    return cases


# Debian's own test data. scipy's propack_test_data.npz holds pickled scipy.sparse matrices in
# object arrays: a class no profile allows, so it fails by design (docs/formats/pickle.md).
EXPECTED_FAIL = {"propack_test_data.npz": ["ST202", "ST404"]}
OBJECT_ARRAY_WARN = "ST404"  # numpy.c: object arrays are reported (a warning)


def debian_data(stcheck):
    files = []
    for pkg in ("numpy", "scipy"):
        for ext in ("pkl", "npy", "npz"):
            files += glob.glob("/usr/lib/python3/dist-packages/%s/**/*.%s" % (pkg, ext),
                               recursive=True)
    files.sort()
    items = [(path, EXPECTED_FAIL.get(os.path.basename(path), []),
              FAIL if os.path.basename(path) in EXPECTED_FAIL else PASS) for path in files]
    failures = 0
    for path, (problems, got) in zip(files, run_cases(stcheck, items)):
        if os.path.basename(path) not in EXPECTED_FAIL:
            problems = [p for p in problems if p != "unexpected " + OBJECT_ARRAY_WARN]
        if problems:
            failures += 1
            print("FAIL %s: %s (got %s)" % (path, "; ".join(problems), got))
    return len(files), failures


def main(stcheck, work):
    global WORK
    WORK = work
    os.makedirs(work, exist_ok=True)
    cases = numpy_cases() + refused_cases() + weights_only_cases() + torch_cases()
    items = []
    for name, data, ids, code in cases:
        path = os.path.join(work, name)
        with open(path, "wb") as f:
            f.write(data)
        items.append((path, ids, code))
    checked, failures = len(cases), 0
    for (name, _, _, _), (problems, got) in zip(cases, run_cases(stcheck, items)):
        if problems:
            failures += 1
            print("FAIL %s: %s (got %s)" % (name, "; ".join(problems), got))
    n, f = debian_data(stcheck)
    checked, failures = checked + n, failures + f
    print("%d passed, %d failed" % (checked - failures, failures))
    return 1 if failures or checked == 0 else 0


WORK = "."
if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
