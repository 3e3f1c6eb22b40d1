#!/usr/bin/python3
"""gen_onnx.py - ONNX models for stcheck's ONNX checks (src/formats/onnx/), built with Debian's
python3-onnx (onnx.helper), plus hand-made protobuf bytes for what onnx.helper cannot write
(duplicate fields, truncation, nesting past protobuf's limit, an unknown data_location).

    gen_onnx.py e2e STCHECK FOLDER           every case: exact finding ids and verdict
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
    return out


def check_one(stcheck, path):
    p = subprocess.run([stcheck, "--format", "json", path], capture_output=True)
    doc = json.loads(p.stdout)["files"][0]
    return doc, ",".join(sorted({f["id"] for f in doc["findings"]}))


def e2e(stcheck, folder):
    os.makedirs(folder, exist_ok=True)
    failed = 0
    for name, data, ids, verdict in cases():
        path = os.path.join(folder, name)
        with open(path, "wb") as f:
            f.write(data)
        doc, got = check_one(stcheck, path)
        if got != ids or doc["verdict"] != verdict or doc.get("format") != "onnx":
            failed += 1
            print("FAIL %s: ids %r verdict %r format %r, expected %r %r" %
                  (name, got, doc["verdict"], doc.get("format"), ids, verdict))
            for f in doc["findings"]:
                print("   ", f["id"], f["message"])
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
    os.makedirs(folder, exist_ok=True)
    for name, data, _, _ in cases():
        if len(data) <= 4096:
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    if sys.argv[1] == "e2e":
        sys.exit(e2e(sys.argv[2], sys.argv[3]))
    if sys.argv[1] == "testdata":
        sys.exit(testdata(*sys.argv[2:4]))
    seeds(sys.argv[2])
