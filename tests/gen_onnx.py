#!/usr/bin/python3
"""gen_onnx.py - ONNX models for stcheck's ONNX checks (src/formats/onnx/), built with Debian's
python3-onnx (onnx.helper), plus hand-made protobuf bytes for what onnx.helper cannot write
(duplicate fields, truncation, nesting past protobuf's limit, an unknown data_location).

    gen_onnx.py e2e STCHECK FOLDER           every case: exact finding ids and verdict (one
                                             stcheck run over all of them, external files made
                                             next to them), and the JSON "onnx" facts
    gen_onnx.py testdata STCHECK [DATA_DIR]  every model of Debian's libonnx-testdata passes
    gen_onnx.py seeds FOLDER                 fuzz seeds (corpus/onnx)
"""
import json
import os
import subprocess
import sys

import onnx
from onnx import TensorProto, helper

TESTDATA = "/usr/share/libonnx-testdata/data"


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, payload):
    """a length-delimited field"""
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def tensor(name="w", dims=(2, 2), raw=bytes(16), location=None, extra=None, dtype=TensorProto.FLOAT):
    # not helper.make_tensor: it refuses the wrong sizes the tests need
    t = TensorProto(name=name, data_type=dtype, dims=list(dims), raw_data=raw)
    if location is not None:
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        entries = [("location", location), ("offset", "0"), ("length", "16")] + (extra or [])
        for k, v in entries:
            e = t.external_data.add()
            e.key, e.value = k, v
    return t


def model(nodes=(), inits=(), sparse=(), functions=(), training=(), opsets=None):
    g = helper.make_graph(list(nodes), "g", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])],
                          initializer=list(inits), sparse_initializer=list(sparse))
    m = helper.make_model(g, opset_imports=opsets or [helper.make_opsetid("", 13)],
                          functions=list(functions), producer_name="gen_onnx")
    for t in training:
        m.training_info.append(t)
    return m


def const(t, name="c"):
    return helper.make_node("Constant", [], [name], value=t)


def nested_if(inner, levels):
    """inner node wrapped in `levels` If subgraphs (then_branch)"""
    node = inner
    for i in range(levels):
        g = helper.make_graph([node], "sub%d" % i, [], [])
        node = helper.make_node("If", ["cond"], ["o%d" % i], then_branch=g, else_branch=g)
    return node


def epcontext(embed_mode, cache, name="ctx"):
    """onnxruntime's com.microsoft EPContext node (EP-Context-Design.md); embed_mode None: absent"""
    attrs = {"ep_cache_context": cache, "source": "QNN"}
    if embed_mode is not None:
        attrs["embed_mode"] = embed_mode
    return helper.make_node("EPContext", ["x"], ["y"], name=name, domain="com.microsoft", **attrs)


def ext_tensor(location, offset=None, length=None, dims=(2, 2), dtype=TensorProto.FLOAT, name="w"):
    t = TensorProto(name=name, data_type=dtype, dims=list(dims))
    t.data_location = TensorProto.EXTERNAL
    for k, v in [("location", location), ("offset", offset), ("length", length)]:
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, str(v)
    return t


# files next to the e2e models: what their external data and EPContext nodes name
NEIGHBOURS = {"weights.bin": 64, "data/w.bin": 16, "ctx.bin": 32}
NEIGHBOUR_DIRS = ["adir"]


def ser(m):
    return m.SerializeToString()


def deep_bytes(levels):
    """graph -> node -> attribute g -> graph ... nested `levels` times, written by hand"""
    g = b""
    for _ in range(levels):
        attr = field(1, b"then_branch") + field(6, g)
        node = field(4, b"If") + field(5, attr)
        g = field(1, node)
    return b"\x08\x07" + field(7, g)


def cases():
    out = []

    def add(name, data, ids, verdict):
        out.append((name, data, ids, verdict))

    ok = TensorProto.EXTERNAL
    assert ok == 1
    add("valid-basic.onnx", ser(model(inits=[tensor()])), "", "pass")
    add("valid-external.onnx", ser(model(inits=[tensor(location="weights.bin")])), "", "pass")
    add("valid-external-subdir.onnx", ser(model(inits=[tensor(location="data/w.bin")])), "", "pass")
    add("valid-ms-domain.onnx", ser(model(nodes=[helper.make_node("FusedGemm", [], ["y"], domain="com.microsoft")])),
        "", "pass")
    fn = helper.make_function("local.fn", "MyOp", ["x"], ["y"], [helper.make_node("Relu", ["x"], ["y"])],
                              [helper.make_opsetid("", 13)])
    add("valid-local-function.onnx",
        ser(model(nodes=[helper.make_node("MyOp", ["x"], ["y"], domain="local.fn")], functions=[fn],
                  opsets=[helper.make_opsetid("", 13), helper.make_opsetid("local.fn", 1)])), "", "pass")
    add("valid-int4-like-uint8.onnx", ser(model(inits=[tensor(dims=(3,), raw=bytes(3), dtype=TensorProto.UINT8)])),
        "", "pass")
    # external data locations that leave the model's folder (CVE-2024-27318, CVE-2024-5187)
    for tag, loc in [("dotdot", "../secret.bin"), ("dotdot-inner", "data/../../x"), ("absolute", "/etc/passwd"),
                     ("drive", "C:/x.bin"), ("backslash", "data\\w.bin"), ("nul", "w.bin\0.txt"),
                     ("empty", "")]:
        add("ST803-%s.onnx" % tag, ser(model(inits=[tensor(location=loc)])), "ST803", "fail")
    t = tensor(location="w.bin")
    del t.external_data[0]
    add("ST803-no-location.onnx", ser(model(inits=[t])), "ST803", "fail")
    add("ST804-ort-mem-addr.onnx", ser(model(inits=[tensor(location="*/_ORT_MEM_ADDR_/*")])), "ST804", "fail")
    t = tensor(location="w.bin")
    t.external_data[1].value = "-1"
    add("ST805-offset.onnx", ser(model(inits=[t])), "ST805", "fail")
    t = tensor(location="w.bin")
    t.external_data[2].value = "0x10"
    add("ST805-length.onnx", ser(model(inits=[t])), "ST805", "fail")
    add("ST806-custom-domain.onnx", ser(model(nodes=[helper.make_node("Evil", [], ["y"], domain="evil.ops")])),
        "ST806", "fail")
    add("ST806-nested-domain.onnx",
        ser(model(nodes=[nested_if(helper.make_node("Evil", [], ["y"], domain="evil.ops"), 3)])), "ST806", "fail")
    # every place a tensor hides
    esc = "../../x.bin"
    add("ST803-constant.onnx", ser(model(nodes=[const(tensor(location=esc))])), "ST803", "fail")
    add("ST803-nested-subgraph.onnx", ser(model(nodes=[nested_if(const(tensor(location=esc)), 5)])),
        "ST803", "fail")
    loop_body = helper.make_graph([const(tensor(location=esc))], "body", [], [])
    add("ST803-loop-body.onnx",
        ser(model(nodes=[helper.make_node("Loop", ["m", "c"], ["o"], body=loop_body)])), "ST803", "fail")
    add("ST803-tensors-attr.onnx",
        ser(model(nodes=[helper.make_node("X", [], ["y"], ts=[tensor(), tensor(location=esc)])])), "ST803", "fail")
    sp = helper.make_sparse_tensor(tensor(dims=(2,), raw=bytes(8), location=esc),
                                   tensor(dims=(2,), raw=bytes(16), dtype=TensorProto.INT64), [4])
    add("ST803-sparse-initializer.onnx", ser(model(sparse=[sp])), "ST803", "fail")
    add("ST803-sparse-constant.onnx",
        ser(model(nodes=[helper.make_node("Constant", [], ["c"], sparse_value=sp)])), "ST803", "fail")
    ti = onnx.TrainingInfoProto()
    ti.initialization.CopyFrom(helper.make_graph([], "init", [], [], initializer=[tensor(location=esc)]))
    add("ST803-training-info.onnx", ser(model(training=[ti])), "ST803", "fail")
    fn2 = helper.make_function("local.fn", "MyOp", [], ["y"], [const(tensor(location=esc), "y")],
                               [helper.make_opsetid("", 13)])
    add("ST803-function.onnx", ser(model(functions=[fn2])), "ST803", "fail")
    # parser differentials: duplicate singular fields; a second graph protobuf merges in
    base = ser(model(inits=[tensor()]))
    add("ST807-ir-version-twice.onnx", base + b"\x08\x07", "ST807", "fail")
    hidden = helper.make_graph([], "h", [], [], initializer=[tensor(location=esc)]).SerializeToString()
    add("ST807-graph-twice-hidden.onnx", base + field(7, hidden), "ST803,ST807", "fail")
    add("ST807-location-twice.onnx",
        ser(model(inits=[tensor(location="w.bin", extra=[("location", "/etc/passwd")])])), "ST803,ST807", "fail")
    # sizes
    add("ST808-raw-short.onnx", ser(model(inits=[tensor(raw=bytes(3))])), "ST808", "fail")
    add("ST808-raw-long.onnx", ser(model(inits=[tensor(dims=(), raw=bytes(8))])), "ST808", "fail")
    add("ST809-negative-dim.onnx", ser(model(inits=[tensor(dims=(-1,), raw=bytes(4))])), "ST809", "fail")
    add("ST809-overflow.onnx", ser(model(inits=[tensor(dims=(1 << 40, 1 << 40), raw=bytes(4))])), "ST809", "fail")
    t = TensorProto()
    t.ParseFromString(tensor().SerializeToString() + b"\x70\x07")  # data_location 7: unknown field
    add("ST810-data-location.onnx", ser(model(inits=[t])), "ST810", "fail")
    # framing
    add("ST801-truncated.onnx", base[:-5], "ST801", "could not check")
    add("ST801-group.onnx", b"\x08\x07\x0b", "ST801", "could not check")
    add("ST802-deep.onnx", deep_bytes(40), "ST802", "could not check")
    add("valid-deep-30.onnx", deep_bytes(30), "", "pass")
    # external files, checked in the model's folder (NEIGHBOURS): existence, ranges, overlaps
    two = [ext_tensor("weights.bin", 0, 16, name="a"), ext_tensor("weights.bin", 16, 16, name="b"),
           ext_tensor("data/w.bin", 0, 16, name="c")]
    add("valid-external-two.onnx", ser(model(inits=two)), "", "pass")
    add("valid-external-nolength.onnx", ser(model(inits=[ext_tensor("weights.bin", 48)])), "", "pass")
    add("valid-external-string.onnx",
        ser(model(inits=[ext_tensor("weights.bin", 0, 64, dims=(3,), dtype=TensorProto.STRING)])), "", "pass")
    add("ST813-missing.onnx", ser(model(inits=[ext_tensor("nothere.bin", 0, 16)])), "ST813", "fail")
    add("ST813-directory.onnx", ser(model(inits=[ext_tensor("adir", 0, 16)])), "ST813", "fail")
    add("ST814-past-end.onnx", ser(model(inits=[ext_tensor("weights.bin", 60, 16)])), "ST814", "fail")
    add("ST814-offset-past-end.onnx", ser(model(inits=[ext_tensor("weights.bin", 65)])), "ST814", "fail")
    add("ST814-string-past-end.onnx",
        ser(model(inits=[ext_tensor("weights.bin", 65, dims=(3,), dtype=TensorProto.STRING)])), "ST814", "fail")
    add("ST814-overflow.onnx",
        ser(model(inits=[ext_tensor("weights.bin", 16, dims=((1 << 63) - 1, 2), dtype=TensorProto.INT8)])),
        "ST814", "fail")
    add("ST815-length.onnx", ser(model(inits=[ext_tensor("weights.bin", 0, 8)])), "ST815", "fail")
    add("ST816-overlap.onnx",
        ser(model(inits=[ext_tensor("weights.bin", 0, 16, name="a"), ext_tensor("weights.bin", 8, 16, name="b")])),
        "ST816", "fail")
    # EPContext nodes (onnxruntime: a precompiled execution-provider blob)
    add("ST818-epcontext-inline.onnx", ser(model(nodes=[epcontext(1, b"\x00QNN-BLOB")])), "ST818", "fail")
    add("ST818-epcontext-default.onnx", ser(model(nodes=[epcontext(None, b"\x00QNN-BLOB")])), "ST818", "fail")
    add("ST818-epcontext-file.onnx", ser(model(nodes=[epcontext(0, b"ctx.bin")])), "ST818", "fail")
    add("ST813-epcontext-missing.onnx", ser(model(nodes=[epcontext(0, b"missing_ctx.bin")])), "ST813,ST818",
        "fail")
    add("ST817-epcontext-escape.onnx", ser(model(nodes=[epcontext(0, b"../ctx.bin")])), "ST817", "fail")
    add("ST817-epcontext-absolute.onnx", ser(model(nodes=[epcontext(0, b"/tmp/ctx.bin")])), "ST817", "fail")
    add("ST819-epcontext-mode.onnx", ser(model(nodes=[epcontext(2, b"ctx.bin")])), "ST819", "fail")
    add("ST817-epcontext-in-subgraph.onnx", ser(model(nodes=[nested_if(epcontext(0, b"../x"), 2)])), "ST817",
        "fail")
    return out


# the JSON "onnx" object of some cases (docs/report-json.md)
FACTS = {
    "valid-external-two.onnx": {
        "ir_version": 8, "opsets": {"": 13}, "domains": [], "truncated": False,
        "external_files_checked": True,
        "external_files": [{"path": "data/w.bin", "tensors": 1, "bytes": 16, "ep_context": False},
                           {"path": "weights.bin", "tensors": 2, "bytes": 32, "ep_context": False}]},
    "ST818-epcontext-file.onnx": {
        "ir_version": 8, "opsets": {"": 13}, "domains": ["com.microsoft"], "truncated": False,
        "external_files_checked": True,
        "external_files": [{"path": "ctx.bin", "tensors": 0, "bytes": 32, "ep_context": True}]},
    "valid-local-function.onnx": {
        "ir_version": 8, "opsets": {"": 13, "local.fn": 1}, "domains": ["local.fn", ""], "truncated": False,
        "external_files_checked": False, "external_files": []},
}


def check_one(stcheck, path):
    p = subprocess.run([stcheck, "--format", "json", path], capture_output=True)
    doc = json.loads(p.stdout)["files"][0]
    return doc, ",".join(sorted({f["id"] for f in doc["findings"]}))


def e2e(stcheck, folder):
    os.makedirs(folder, exist_ok=True)
    for d in NEIGHBOUR_DIRS + ["data"]:
        os.makedirs(os.path.join(folder, d), exist_ok=True)
    for name, size in NEIGHBOURS.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(bytes(size))
    failed = 0
    paths = []
    for name, data, ids, verdict in cases():
        paths.append(os.path.join(folder, name))
        with open(paths[-1], "wb") as f:
            f.write(data)
    # one stcheck process for every case (each costs ~1 s under the CI's valgrind)
    p = subprocess.run([stcheck, "--format", "json"] + paths, capture_output=True)
    docs = json.loads(p.stdout)["files"]
    for (name, data, ids, verdict), doc in zip(cases(), docs):
        got = ",".join(sorted({f["id"] for f in doc["findings"]}))
        if got != ids or doc["verdict"] != verdict or doc.get("format") != "onnx":
            failed += 1
            print("FAIL %s: ids %r verdict %r format %r, expected %r %r" %
                  (name, got, doc["verdict"], doc.get("format"), ids, verdict))
            for f in doc["findings"]:
                print("   ", f["id"], f["message"])
        if name in FACTS and doc.get("onnx") != FACTS[name]:
            failed += 1
            print("FAIL %s: onnx facts %r, expected %r" % (name, doc.get("onnx"), FACTS[name]))
    # over protobuf's 2 GiB limit: a sparse file whose raw_data is never read
    path = os.path.join(folder, "ST811-large.onnx")
    n = (1 << 31) + 16
    t = varint(1 << 3) + varint(n) + varint(2 << 3) + varint(2) + varint(9 << 3 | 2) + varint(n)
    g = varint(5 << 3 | 2) + varint(len(t) + n) + t
    head = b"\x08\x07" + varint(7 << 3 | 2) + varint(len(g) + n) + g
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(len(head) + n)
    doc, got = check_one(stcheck, path)
    os.unlink(path)
    if got != "ST811" or doc["verdict"] != "pass":  # a warning
        failed += 1
        print("FAIL ST811-large.onnx: %r %r" % (got, doc["verdict"]))
    print("e2e_onnx: %d cases, %d failures" % (len(cases()) + 1, failed))
    return 1 if failed else 0


def testdata(stcheck, root=TESTDATA):
    """Every model of libonnx-testdata passes (run in batches: one stcheck per 200 files)."""
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".onnx"))
    if len(files) < 1000:
        print("FAIL: %d models under %s (libonnx-testdata not installed?)" % (len(files), root))
        return 1
    failed = 0
    for i in range(0, len(files), 200):
        p = subprocess.run([stcheck, "--format", "json"] + files[i:i + 200], capture_output=True)
        for doc in json.loads(p.stdout)["files"]:
            if doc["verdict"] != "pass" or doc.get("format") != "onnx":
                failed += 1
                print("FAIL", doc.get("path"), doc["verdict"], [f["id"] for f in doc["findings"]])
    print("onnx_testdata: %d models, %d failures" % (len(files), failed))
    return 1 if failed else 0


def seeds(folder):
    """Cases whose outcome does not depend on files next to them (corpus/onnx has none)."""
    os.makedirs(folder, exist_ok=True)
    for name, data, ids, _ in cases():
        needs = b"weights.bin" in data or b"w.bin" in data or b"ctx.bin" in data
        if len(data) <= 4096 and not (needs and "ST80" not in ids):
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    if sys.argv[1] == "e2e":
        sys.exit(e2e(sys.argv[2], sys.argv[3]))
    if sys.argv[1] == "testdata":
        sys.exit(testdata(*sys.argv[2:4]))
    seeds(sys.argv[2])
