#!/usr/bin/env python3
"""Remote-check benchmarks (issue 14): what a check costs over HTTP against a local nginx.

    bench/remote_bench.py [STCHECK] [WORKDIR]    defaults: build/stcheck, /tmp/stcheck-remote-bench

Cases (goals in brackets; figures go to the README):
  st-4gib     a 4 GiB safetensors file (sparse) over HTTP     [<= 2 requests, <= header + 64 KiB]
  torch-200mb a ~200 MB PyTorch zip checkpoint over HTTP       [< 2 MiB, verdict = local check]
  hub-200     -r hf:// over a 200-shard repository and its model.safetensors.index.json (nginx
              imitating the Hub: tree API as a static listing, resolve answered by a 302 to a
              CDN host; the index fetches every shard's header)  [< 1 % of the bytes, < 2 s]
Servers listen on 127.0.0.1 only (tests/remote_util.py). Standard library + Debian's torch.
"""
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import remote_util as ru  # noqa: E402

ST = sys.argv[1] if len(sys.argv) > 1 else "build/stcheck"
WORK = sys.argv[2] if len(sys.argv) > 2 else "/tmp/stcheck-remote-bench"


def safetensors_header(n_tensors, total, prefix="model.layers"):
    per = total // n_tensors // 4 * 4
    hdr, off = {}, 0
    for i in range(n_tensors):
        hdr["%s.%d.weight" % (prefix, i)] = {"dtype": "F32", "shape": [per // 4],
                                             "data_offsets": [off, off + per]}
        off += per
    h = json.dumps(hdr).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h, off


def sparse_safetensors(path, n_tensors, total, prefix="model.layers"):
    head, data = safetensors_header(n_tensors, total, prefix)
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(len(head) + data)
    return len(head) - 8, data


def run_json(args, env=None):
    t0 = time.time()
    p = subprocess.run([ST, "--format", "json", *args], capture_output=True,
                       env=env or ru.clean_env())
    secs = time.time() - t0
    return p.returncode, json.loads(p.stdout)["files"], secs


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    root = os.path.join(WORK, "www")
    os.makedirs(root)
    hlen = sparse_safetensors(os.path.join(root, "4g.safetensors"), 291, 4 << 30)[0]
    import torch
    sd = {"layer%d.weight" % i: torch.zeros(1 << 20) for i in range(50)}  # 50 x 4 MiB
    torch.save(sd, os.path.join(root, "200mb.pt"))
    # the Hub: 200 shards of 50 MiB (sparse) and their index, listed by the tree API
    repo = os.path.join(root, "_repos", "org", "big")
    os.makedirs(repo)
    listing, total, weight_map, data = [], 0, {}, 0
    for i in range(200):
        name = "model-%05d-of-00200.safetensors" % (i + 1)
        data += sparse_safetensors(os.path.join(repo, name), 4, 50 << 20,
                                   "model.layers.%d" % i)[1]
        for k in range(4):
            weight_map["model.layers.%d.%d.weight" % (i, k)] = name
        size = os.path.getsize(os.path.join(repo, name))
        total += size
        listing.append({"type": "file", "oid": "0" * 40, "size": size, "path": name})
    # the index: checking it reads every shard's header again (cross-checks)
    index = json.dumps({"metadata": {"total_size": data}, "weight_map": weight_map}).encode()
    with open(os.path.join(repo, "model.safetensors.index.json"), "wb") as f:
        f.write(index)
    total += len(index)
    listing.append({"type": "file", "oid": "0" * 40, "size": len(index),
                    "path": "model.safetensors.index.json"})
    os.makedirs(os.path.join(root, "_tree", "org", "big"))
    with open(os.path.join(root, "_tree", "org", "big", "main.json"), "w") as f:
        json.dump(listing, f)
    ng = ru.Nginx(WORK, root)
    try:
        code, fs, secs = run_json([ng.url + "/4g.safetensors"])
        f = fs[0]
        print("st-4gib: verdict %s, %d requests, %d bytes fetched (header %d + 64 KiB = %d), "
              "%.3f s" % (f["verdict"], f["requests"], f["bytes_fetched"], hlen, hlen + 65536,
                          secs))
        code_l, fl, _ = run_json([os.path.join(root, "200mb.pt")])
        code_r, fr, secs = run_json([ng.url + "/200mb.pt"])
        same = (code_l == code_r and fl[0]["verdict"] == fr[0]["verdict"] and
                sorted(x["id"] for x in fl[0]["findings"]) ==
                sorted(x["id"] for x in fr[0]["findings"]))
        size = os.path.getsize(os.path.join(root, "200mb.pt"))
        print("torch-200mb: %d bytes, %d fetched (%.3f %%) in %d requests, verdict %s, "
              "identical to the local check: %s, %.3f s"
              % (size, fr[0]["bytes_fetched"], 100.0 * fr[0]["bytes_fetched"] / size,
                 fr[0]["requests"], fr[0]["verdict"], same, secs))
        env = ru.clean_env(HF_ENDPOINT=ng.url)
        code, fs, secs = run_json(["-r", "hf://org/big"], env)
        fetched = sum(x["bytes_fetched"] for x in fs)
        reqs = sum(x["requests"] for x in fs)
        verdicts = sorted(set(x["verdict"] for x in fs))
        ix = [x for x in fs if x["path"].endswith(".index.json")][0]
        print("hub-200: %d files, %d bytes in the repository, %d fetched (%.3f %%) in %d "
              "requests, verdicts %s, %.3f s wall" % (len(fs), total, fetched,
                                                       100.0 * fetched / total, reqs, verdicts,
                                                       secs))
        print("hub-200 index: verdict %s, findings %s, %d requests, %d bytes"
              % (ix["verdict"], sorted(x["id"] for x in ix["findings"]), ix["requests"],
                 ix["bytes_fetched"]))
    finally:
        ng.stop()


if __name__ == "__main__":
    main()
