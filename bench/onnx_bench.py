#!/usr/bin/env python3
"""ONNX benchmarks (issue #16): stcheck on 1 GB models with 2,000 initializers (raw_data inline,
and external data in one 1 GB file next to the model), and walker throughput on a metadata-dense
model (hundreds of thousands of nodes, attributes and small tensors, nothing to skip).

    bench/onnx_bench.py [STCHECK] [WORKDIR]
    defaults: build/stcheck, /tmp/stcheck-onnx-bench

Goals: the 1 GB / 2,000-initializer model checked in < 0.2 s and < 32 MB RSS without reading
raw tensor bytes (counted with strace: bytes returned by read/pread64); the walker >= 500 MB/s on
metadata-dense files. The 1 GB files are sparse (holes where tensor bytes go). Standard
library only (bytes written by hand: no onnx import), timings for people, never asserted by
tests. docs/formats/onnx.md records the figures.
"""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_util import cpu  # noqa: E402

N_INIT = 2000
TOTAL = 1 << 30


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(num, wire):
    return varint(num << 3 | wire)


def ln(num, payload):
    return key(num, 2) + varint(len(payload)) + payload


def tensor_head(name, n_floats):
    """TensorProto fields before raw_data: dims, data_type FLOAT, name."""
    return key(1, 0) + varint(n_floats) + key(2, 0) + varint(1) + ln(8, name.encode())


def raw_model(path):
    """A 1 GB model: 2,000 FLOAT initializers of ~512 KiB raw_data each, written as holes."""
    per = TOTAL // N_INIT // 4
    with open(path, "wb") as f:
        head = key(1, 0) + varint(8) + ln(2, b"bench") + ln(8, ln(1, b"") + key(2, 0) + varint(17))
        graph_parts = []
        size = 0
        for i in range(N_INIT):
            th = tensor_head("w%d" % i, per)
            raw_hdr = key(9, 2) + varint(per * 4)
            tlen = len(th) + len(raw_hdr) + per * 4
            graph_parts.append((key(5, 2) + varint(tlen) + th + raw_hdr, per * 4))
            size += len(graph_parts[-1][0]) + per * 4
        glen = size + len(ln(2, b"g"))
        f.write(head + key(7, 2) + varint(glen) + ln(2, b"g"))
        for hdr, hole in graph_parts:
            f.write(hdr)
            f.seek(hole, 1)
        f.truncate(f.tell())
    return os.path.getsize(path)


def external_model(folder):
    """2,000 initializers with their data in weights.bin (1 GB, sparse) next to the model."""
    per = TOTAL // N_INIT // 4 * 4
    parts = []
    for i in range(N_INIT):
        ext = b"".join(ln(13, ln(1, k) + ln(2, v)) for k, v in (
            (b"location", b"weights.bin"), (b"offset", str(i * per).encode()),
            (b"length", str(per).encode())))
        t = tensor_head("w%d" % i, per // 4) + ext + key(14, 0) + varint(1)
        parts.append(ln(5, t))
    graph = ln(2, b"g") + b"".join(parts)
    model = key(1, 0) + varint(8) + ln(2, b"bench") + ln(8, key(2, 0) + varint(17)) + ln(7, graph)
    path = os.path.join(folder, "external.onnx")
    with open(path, "wb") as f:
        f.write(model)
    with open(os.path.join(folder, "weights.bin"), "wb") as f:
        f.truncate(per * N_INIT)
    return path


def dense_model(path, nodes, names=False):
    """Metadata only: nodes with inputs, outputs, names, attributes (ints, floats, strings,
    small tensors with raw_data), a nested If body every 100 nodes. names: value and node names
    as torch.onnx exports them (~50 bytes); otherwise short ones (~14 bytes), the worst case:
    more fields per byte."""
    t = ln(5, key(1, 0) + varint(4) + key(2, 0) + varint(1) + ln(8, b"const") + ln(9, bytes(16)))
    if names:
        a, b_, o, n = (b"/model/layers.17/self_attn/q_proj/MatMul_output_0",
                       b"onnx::MatMul_4711_model.layers.17.self_attn.q_proj",
                       b"/model/layers.17/self_attn/Reshape_3_output_0",
                       b"/model/layers.17/self_attn/q_proj/MatMul")
    else:
        a, b_, o, n = b"input_tensor_a", b"input_tensor_b", b"output_tensor", b"node_name_0123"
    node = (ln(1, a) + ln(1, b_) + ln(2, o) + ln(3, n) + ln(4, b"Conv") +
            ln(5, ln(1, b"kernel_shape") + key(20, 0) + varint(7) + key(8, 0) + varint(3) +
               key(8, 0) + varint(3)) +
            ln(5, ln(1, b"alpha") + key(20, 0) + varint(1) + key(2, 5) + b"\x00\x00\x80\x3f") +
            ln(5, ln(1, b"mode") + key(20, 0) + varint(3) + ln(4, b"constant")) +
            ln(5, ln(1, b"value") + key(20, 0) + varint(4) + t))
    sub = ln(1, ln(4, b"If") + ln(5, ln(1, b"then_branch") + ln(6, ln(1, node) * 4)))
    block = ln(1, node) * 99 + sub
    graph = ln(2, b"g") + block * (nodes // 100)
    model = key(1, 0) + varint(8) + ln(2, b"bench") + ln(8, key(2, 0) + varint(17)) + ln(7, graph)
    with open(path, "wb") as f:
        f.write(model)
    return len(model)


def peak(cmd):
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    return int(p.stderr.strip().splitlines()[-1])


def wall(cmd, n=7):
    t = None
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dt = time.perf_counter() - t0
        t = dt if t is None else min(t, dt)
    return t


def bytes_read(cmd):
    """Bytes returned by read/pread64 to stcheck (strace), and the number of calls."""
    p = subprocess.run(["strace", "-f", "-e", "trace=read,pread64", "-o", "/dev/stderr"] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    total = calls = 0
    for line in p.stderr.splitlines():
        m = re.search(r"(?:read|pread64)\(.*\)\s+=\s+(\d+)", line)
        if m:
            total += int(m.group(1))
            calls += 1
    return total, calls


def verdict(st, path):
    out = subprocess.run([st, "--format", "json", path], capture_output=True)
    doc = json.loads(out.stdout)["files"][0]
    return doc["verdict"], [f["id"] for f in doc["findings"]]


def main():
    st = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/stcheck")
    work = sys.argv[2] if len(sys.argv) > 2 else "/tmp/stcheck-onnx-bench"
    os.makedirs(work, exist_ok=True)
    tiny = os.path.join(work, "tiny.onnx")
    with open(tiny, "wb") as f:
        f.write(key(1, 0) + varint(8) + ln(7, ln(2, b"g")))
    c_tiny = cpu([st, tiny], 15)
    print("tiny model (process start): %.1f ms CPU" % (c_tiny * 1e3))
    raw = os.path.join(work, "raw-1g.onnx")
    size = raw_model(raw)
    ext = external_model(work)
    for name, path in (("raw_data inline", raw), ("external data", ext)):
        v = verdict(st, path)
        c, w = cpu([st, path]), wall([st, path])
        rss = peak([st, path])
        got, calls = bytes_read([st, path])
        data = size if path == raw else (TOTAL // N_INIT // 4 * 4) * N_INIT
        print("%s: %d initializers, %.2f GB of tensor data (model file %.1f MB), verdict %s %s\n"
              "  %.1f ms wall, %.1f ms CPU (best of 7), peak RSS %.1f MiB, %d bytes read in %d"
              " calls" % (name, N_INIT, data / 1e9, os.path.getsize(path) / 1e6, v[0], v[1],
                          w * 1e3, c * 1e3, rss / 1024, got, calls))
    for label, names in (("exporter-style names", True), ("short names (worst case)", False)):
        dense = os.path.join(work, "dense-%s.onnx" % ("names" if names else "short"))
        n = dense_model(dense, 200000, names)
        v = verdict(st, dense)
        c = cpu([st, dense], 5)
        rss = peak([st, dense])
        print("metadata-dense, %s: %.1f MB, %d nodes, verdict %s %s: %.1f ms CPU (%.1f above a"
              " tiny model): %.0f MB/s, peak RSS %.1f MiB" % (
                  label, n / 1e6, 200000, v[0], v[1], c * 1e3, (c - c_tiny) * 1e3,
                  n / 1e6 / (c - c_tiny), rss / 1024))


if __name__ == "__main__":
    main()
