#!/usr/bin/env python3
"""GGUF benchmarks: stcheck on a llama-shaped file with a 150,000-token vocabulary and a 2 GiB
data section (sparse), metadata throughput on a large vocabulary, and @huggingface/gguf on the
same files.

    bench/gguf_bench.py [STCHECK] [WORKDIR] [NODE_MODULES]
    defaults: build/stcheck, /tmp/stcheck-gguf-bench, build/tests/gguf-npm/node_modules
    (tests/gguf_npm.py installs the pinned @huggingface/gguf there)

Goals (issue #13): < 50 ms and < 32 MB RSS for the 150k-vocab 2 GiB file, time independent of
the data size; metadata >= 500 MB/s on one core; >= 10x faster than @huggingface/gguf.
Standard library only; timings are for people, never asserted by tests.
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, HERE)
import gen_gguf as g  # noqa: E402
from bench_util import cpu  # noqa: E402


def vocab_file(path, n_tokens, data_bytes, template=g.T_QWEN):
    """A llama-shaped GGUF: tokens, scores, token types, merges, a template, 32 blocks of
    tensors; the data section is made sparse with truncate."""
    w = g.W(3)
    w.kv("general.architecture", g.STRING, "llama")
    w.kv("general.name", g.STRING, "bench")
    w.kv("llama.block_count", g.U32, 32)
    w.kv("llama.context_length", g.U32, 4096)
    w.kv("llama.embedding_length", g.U32, 4096)
    w.kv("tokenizer.ggml.model", g.STRING, "gpt2")
    toks = ["tok\u0120%06d" % i for i in range(n_tokens)]
    w.kv("tokenizer.ggml.tokens", g.ARRAY, (g.STRING, toks))
    w.kv("tokenizer.ggml.scores", g.ARRAY, (g.F32, [0.0] * n_tokens))
    w.kv("tokenizer.ggml.token_type", g.ARRAY, (g.I32, [1] * n_tokens))
    w.kv("tokenizer.ggml.merges", g.ARRAY, (g.STRING, ["t o%d" % i for i in range(n_tokens)]))
    w.kv("tokenizer.ggml.bos_token_id", g.U32, 1)
    w.kv("tokenizer.chat_template", g.STRING, template)
    # 32 blocks x 9 tensors of equal size, then the embeddings: about data_bytes in all
    per = data_bytes // (32 * 9 + 1)
    elems = max(32, per // 2 // 4096 * 4096)
    rows = elems // 4096
    names = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down",
             "attn_norm", "ffn_norm"]
    for b in range(32):
        for n in names:
            w.tensor("blk.%d.%s.weight" % (b, n), [4096, rows], 1, data=b"")
    w.tensor("token_embd.weight", [4096, rows], 1, data=b"")
    # build() pads each tensor's (empty) data: write the header, then extend sparsely
    head = w.build()
    hdr_len = len(head)
    total = 0
    for t in w.tensors:
        total += g.pad(g.W.nbytes(t["dims"], t["type"]), w.alignment)
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(hdr_len + total)
    return hdr_len, hdr_len + total


def peak(cmd):
    p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S"] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    rss, u, s = p.stderr.strip().splitlines()[-1].split()
    return int(rss), float(u) + float(s)


def best(cmd, n=7):
    t, code = None, None
    for _ in range(n):
        t0 = time.perf_counter()
        code = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        dt = time.perf_counter() - t0
        t = dt if t is None else min(t, dt)
    return t, code


NODE = """
const { gguf } = require("@huggingface/gguf");
(async () => {
  let best = Infinity;
  for (let i = 0; i < %d; i++) {
    const t0 = process.hrtime.bigint();
    const r = await gguf(process.argv[1], { allowLocalFile: true });
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (dt < best) best = dt;
    if (i == 0) console.error(r.tensorInfos.length, Object.keys(r.metadata).length);
  }
  console.log(best);
})();
"""


def npm_ms(nm, path, n=5):
    p = subprocess.run(["node", "-e", NODE % n, path], capture_output=True, text=True,
                       env=dict(os.environ, NODE_PATH=nm), timeout=600)
    if p.returncode != 0:
        return None
    return float(p.stdout.strip())


def main():
    st = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/stcheck")
    work = sys.argv[2] if len(sys.argv) > 2 else "/tmp/stcheck-gguf-bench"
    nm = sys.argv[3] if len(sys.argv) > 3 else "build/tests/gguf-npm/node_modules"
    os.makedirs(work, exist_ok=True)
    big = os.path.join(work, "vocab150k-2gib.gguf")
    small = os.path.join(work, "vocab150k-small.gguf")
    meta = os.path.join(work, "vocab1500k-meta.gguf")
    hdr, size = vocab_file(big, 150000, 2 << 30)
    vocab_file(small, 150000, 1 << 20)
    mhdr, _ = vocab_file(meta, 1500000, 1 << 20)
    tiny = os.path.join(work, "tiny.gguf")
    with open(tiny, "wb") as f:
        f.write(g.valid().build())
    out = subprocess.run([st, "--format", "json", big], capture_output=True)
    doc = json.loads(out.stdout)["files"][0]
    print("150k vocab, 2 GiB data: %d-byte metadata, %.2f GiB file, verdict %s %s" % (
        hdr, size / 2**30, doc["verdict"], [f["id"] for f in doc["findings"]]))
    t_big, _ = best([st, big])
    rss_big, _ = peak([st, big])
    c_big, c_small, c_tiny = cpu([st, big]), cpu([st, small]), cpu([st, tiny], 15)
    t_tiny, _ = best([st, tiny], 15)
    print("  stcheck: %.1f ms wall (best of 7), %.1f ms CPU, peak RSS %.1f MiB; the same"
          " vocabulary with 1 MiB of data: %.1f ms CPU; a tiny GGUF (process start, dynamic"
          " loading): %.1f ms wall, %.1f ms CPU" % (t_big * 1e3, c_big * 1e3, rss_big / 1024,
                                                    c_small * 1e3, t_tiny * 1e3, c_tiny * 1e3))
    t_meta, _ = best([st, meta], 5)
    c_meta = cpu([st, meta], 5)
    rss_meta, _ = peak([st, meta])
    print("1.5M vocab: %.1f MB of metadata: %.1f ms wall, %.1f ms CPU (%.1f ms above a tiny"
          " file): %.0f MB/s of CPU, peak RSS %.1f MiB" % (
              mhdr / 1e6, t_meta * 1e3, c_meta * 1e3, (c_meta - c_tiny) * 1e3,
              mhdr / 1e6 / (c_meta - c_tiny), rss_meta / 1024))
    # A chat template assigning ~50,000 names, each used as a key (the judge's taint set;
    # quadratic before 22aa88b: 5-13 s).
    names = os.path.join(work, "many-names.gguf")
    tpl, i = [], 0
    while sum(map(len, tpl)) < (1 << 20):
        tpl.append("{%% set a%d = 'x' %%}{{ y[a%d] }}" % (i, i // 2))
        i += 1
    with open(names, "wb") as f:
        f.write(g.valid(template="".join(tpl)).build())
    c_names = cpu([st, names], 5)
    print("many names: a 1 MiB template assigning %d names: %.1f ms CPU" % (i, c_names * 1e3))
    if os.path.isdir(nm):
        for name, path, t in (("150k vocab, 2 GiB", big, t_big), ("1.5M vocab", meta, t_meta)):
            ms = npm_ms(nm, path)
            if ms is None:
                print("  @huggingface/gguf failed on", name)
                continue
            print("  @huggingface/gguf on %s: %.1f ms in-process (best of 5, Node start not"
                  " counted) vs stcheck %.1f ms wall for the whole process: %.1fx" % (
                      name, ms, t * 1e3, ms / (t * 1e3)))
    else:
        print("(no %s: run the gguf_npm test first for the @huggingface/gguf comparison)" % nm)


if __name__ == "__main__":
    main()
