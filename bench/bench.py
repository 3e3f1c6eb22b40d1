#!/usr/bin/env python3
"""stcheck benchmarks: prints wall time (best of several runs) and peak RSS per case.

    bench/bench.py [STCHECK] [WORKDIR]      defaults: build/stcheck, /tmp/stcheck-bench

Cases (goals in brackets):
  small-1000   1,000 small valid files in one invocation            [<= 50 ms]
  big-header   a 97 MB header with 1.4 million tensors              [< 1.5 s, RSS < 3x header]
  sparse-4gib  a valid 4 GiB file (sparse) vs 4 KiB with one header  [same time, RSS < 8 MB]
  dense-pickle a ~50 MB opcode-dense pickle (stdlib pickle, proto 4) [>= 200 MB/s, < 64 MB RSS]
  torch-500mb  a ~500 MB zip checkpoint (stored members)             [< 16 MB RSS]
  torch-200    200 small zip checkpoints in one run                  [< 16 MB RSS]
  jobs-10000   10,000 small files, -j1 vs -j2                         [-j2 >= 1.7x faster]
  shards-200   -r over 200 safetensors shards + index, structure only [< 0.1 s]
  digest-1gib  --digest on a 1 GiB file vs sha256sum (page cache)    [>= 0.9x sha256sum]
  deep-1gib    --deep alone, and --deep --digest in one pass         [>= 2 GB/s per core]
  link-loops   -r over 61 looping links through a 200-deep folder (10.9 s once) [< 1 s, < 64 MB]
  hf-cache     -r over a Hugging Face cache of 2,000 snapshot links to blobs, each checked
               under its link's name (and each blob where it lies)    [< 0.5 s]
  links-60     an index naming 60 links to one 8.4 MB shard (100,000 tensors), and 200 links
               [< 1 s, < 64 MB: each shard file is checked once]
  hostile-*    an index naming 200,000 distinct shards; a tar of 60,000 members (both were
               quadratic once: minutes; must stay linear-log)
CPU time (user + sys) is printed beside wall time: on a shared 2-core machine wall time also
measures the neighbours.

Standard library only. Timings are for people, never asserted by tests.
"""
import json
import os
import pickle
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import gen_safetensors as gen  # noqa: E402


def peak_rss_kib(cmd):
    """Peak RSS (KiB) and CPU seconds of cmd measured by GNU time. Not os.wait4: Linux carries
    the parent's RSS high-water mark across fork+exec, so a child of this (large) Python would
    report it."""
    p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S"] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    rss, user, sys_ = p.stderr.strip().splitlines()[-1].split()
    return int(rss), float(user) + float(sys_)


def run(cmd, repeat):
    """Best wall time in seconds, peak RSS in KiB and the exit code."""
    best, code = None, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dt = time.perf_counter() - t0
        code = p.returncode
        best = dt if best is None else min(best, dt)
    rss, cpu = peak_rss_kib(cmd)
    return best, rss, code, cpu


def small_files(work, n=1000):
    d = os.path.join(work, "small" if n == 1000 else "small%d" % n)
    os.makedirs(d, exist_ok=True)
    hdr = {"__metadata__": {"format": "pt"},
           "w": gen.t("F32", [4, 4], 0, 64), "b": gen.t("F32", [4], 64, 80)}
    data = gen.frame(hdr, 80)
    paths = []
    for i in range(n):
        p = os.path.join(d, "m%04d.safetensors" % i)
        if not os.path.exists(p):
            gen.write(p, data)
        paths.append(p)
    return paths


def big_header(work, tensors=1_400_000):
    p = os.path.join(work, "big-header.safetensors")
    if not os.path.exists(p):  # short names: 1.4 million tensors in about 97 MB
        gen.main(["gen", "big", p, str(tensors), "t"])
    with open(p, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
    return p, n


def sparse(work):
    big = os.path.join(work, "sparse-4gib.safetensors")
    small = os.path.join(work, "small-4kib.safetensors")
    gen.write_sparse(big, 4 << 30)
    gen.write_sparse(small, 4 << 10)
    return big, small


def report(name, result, note=""):
    secs, rss_kib, code, cpu = result
    print("%-14s %9.1f ms wall %9.1f ms cpu  %8.1f MiB peak RSS  exit %d  %s"
          % (name, secs * 1000, cpu * 1000, rss_kib / 1024, code, note))


def dense_pickle(work):
    p = os.path.join(work, "dense.pkl")
    if not os.path.exists(p):
        data = [(i, str(i), {"k": i, "v": [i, i + 1]}) for i in range(1_200_000)]
        with open(p, "wb") as f:
            pickle.dump(data, f, protocol=4)
    return p


def torch_checkpoints(work, corpus):
    """A ~500 MB checkpoint and 200 small ones, derived from the committed real checkpoint:
    its pickle and records, plus one large stored record (as torch.save stores tensors)."""
    import zipfile
    src = os.path.join(corpus, "pytorch", "valid-state-dict.pt")
    with zipfile.ZipFile(src) as z:
        members = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    top = members[0][0].split("/")[0]
    big = os.path.join(work, "torch-500mb.pt")
    if not os.path.exists(big):
        with zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as z:
            for n, d in members:
                z.writestr(n, d)
            with z.open(top + "/data/big", "w", force_zip64=True) as f:
                block = os.urandom(1 << 20)
                for _ in range(500):
                    f.write(block)
    d = os.path.join(work, "torch-small")
    os.makedirs(d, exist_ok=True)
    smalls = []
    for i in range(200):
        p = os.path.join(d, "c%03d.pt" % i)
        if not os.path.exists(p):
            shutil.copy(src, p)
        smalls.append(p)
    return big, smalls


def shard_links(work, n_links):
    """An index naming n_links links to one shard of 100,000 tensors (8.4 MB): a Hugging Face
    cache links every snapshot name to a blob; the shard must be checked once, not per name."""
    d = os.path.join(work, "links-%d" % n_links)
    os.makedirs(d, exist_ok=True)
    blob = os.path.join(d, "blob")
    if not os.path.exists(blob):
        gen.main(["gen", "big", blob, "100000", "model.layers.w"])
    wm = {}
    for i in range(n_links):
        name = "model-%05d-of-%05d.safetensors" % (i + 1, n_links)
        if not os.path.lexists(os.path.join(d, name)):
            os.symlink("blob", os.path.join(d, name))
    for i in range(100000):
        wm["model.layers.w%d" % i] = "model-%05d-of-%05d.safetensors" % (i % n_links + 1, n_links)
    p = os.path.join(d, "model.safetensors.index.json")
    with open(p, "w") as f:
        json.dump({"metadata": {"total_size": 400000}, "weight_map": wm}, f)
    return p


def shards(work, n=200):
    """A folder of n small safetensors shards and their index."""
    d = os.path.join(work, "shards")
    os.makedirs(d, exist_ok=True)
    wm, total = {}, 0
    for i in range(n):
        name = "model-%05d-of-%05d.safetensors" % (i + 1, n)
        hdr = {"layer%d.w" % i: gen.t("F32", [16, 16], 0, 1024),
               "layer%d.b" % i: gen.t("F32", [16], 1024, 1088)}
        p = os.path.join(d, name)
        if not os.path.exists(p):
            gen.write(p, gen.frame(hdr, 1088))
        wm.update({k: name for k in hdr})
        total += 1088
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": wm}, f)
    return d


def big_f32(work):
    """A 1 GiB safetensors file of one F32 tensor (real bytes, so the page cache holds it)."""
    p = os.path.join(work, "f32-1gib.safetensors")
    n = (1 << 30) // 4
    if not os.path.exists(p):
        with open(p, "wb") as f:
            f.write(gen.frame({"w": gen.t("F32", [n], 0, 4 * n)}, 0))
            block = os.urandom(1 << 20)
            for _ in range(1024):
                f.write(block)
    return p


def link_loops(work):
    """61 links, each looping through a 200-deep folder and back: resolving one by hand cost
    ~0.19 s before the per-walk link_steps budget."""
    root = os.path.join(work, "link-loops")
    if not os.path.exists(root):
        deep = "/".join(["a"] * 200)
        os.makedirs(os.path.join(root, deep))
        up = "/".join([".."] * 200)
        for i in range(61):
            os.symlink(deep + "/x%d" % i, os.path.join(root, "l%d" % i))
            os.symlink(up + "/l%d" % i, os.path.join(root, deep, "x%d" % i))
    return root


def hf_cache(work, n=2000):
    """A Hugging Face cache: n small safetensors blobs named by hash, each linked from a
    snapshot; every link is checked under its own name, every blob where it lies."""
    root = os.path.join(work, "hf-cache")
    if not os.path.exists(root):
        blobs = os.path.join(root, "models--o--m", "blobs")
        snap = os.path.join(root, "models--o--m", "snapshots", "r" * 40)
        os.makedirs(blobs)
        os.makedirs(snap)
        data = gen.frame({"w": gen.t("F32", [4], 0, 16)}, 16)
        for i in range(n):
            h = "%064x" % i
            with open(os.path.join(blobs, h), "wb") as f:
                f.write(data)
            os.symlink("../../blobs/" + h, os.path.join(snap, "m%d.safetensors" % i))
    return root


def main():
    st = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build", "stcheck")
    work = sys.argv[2] if len(sys.argv) > 2 else "/tmp/stcheck-bench"
    os.makedirs(work, exist_ok=True)

    paths = small_files(work)
    r = run([st] + paths, 10)
    report("small-1000", r, "(%.1f us/file)" % (r[0] * 1e6 / len(paths)))

    p, n = big_header(work)
    r = run([st, p], 3)
    report("big-header", r, "header %.1f MB, RSS/header %.2fx" % (n / 1e6, r[1] * 1024 / n))

    big, small = sparse(work)
    report("sparse-4gib", run([st, big], 10))
    report("same-4kib", run([st, small], 10))
    os.unlink(big)

    p = dense_pickle(work)
    size = os.path.getsize(p)
    r = run([st, p], 5)
    report("dense-pickle", r, "%.1f MB: %.0f MB/s wall, %.0f MB/s cpu"
           % (size / 1e6, size / 1e6 / r[0], size / 1e6 / r[3]))

    corpus = os.path.join(HERE, "..", "corpus")
    big, smalls = torch_checkpoints(work, corpus)
    report("torch-500mb", run([st, big], 5), "%.0f MB" % (os.path.getsize(big) / 1e6))
    report("torch-200", run([st] + smalls, 5))

    many = small_files(work, 10000)
    listing = os.path.join(work, "many.txt")
    with open(listing, "w") as f:
        f.write("\n".join(many) + "\n")
    r1 = run([st, "-j1", "--files-from", listing], 15)
    r2 = run([st, "-j2", "--files-from", listing], 15)
    report("jobs-10000 -j1", r1)
    report("jobs-10000 -j2", r2, "speed-up %.2fx" % (r1[0] / r2[0]))

    report("shards-200", run([st, "-r", shards(work)], 10))

    p = big_f32(work)
    size = os.path.getsize(p)
    subprocess.run(["cat", p], stdout=subprocess.DEVNULL)  # into the page cache
    ref = run(["sha256sum", p], 3)
    report("sha256sum-1gib", ref, "%.0f MB/s" % (size / 1e6 / ref[0]))
    r = run([st, "--digest", p], 3)
    report("digest-1gib", r, "%.0f MB/s, %.2fx sha256sum" % (size / 1e6 / r[0], ref[0] / r[0]))
    r = run([st, "--deep", p], 3)
    report("deep-1gib", r, "%.0f MB/s" % (size / 1e6 / r[0]))
    r = run([st, "--deep", "--digest", p], 3)
    report("deep+digest-1gib", r, "%.0f MB/s (one read)" % (size / 1e6 / r[0]))

    p = os.path.join(work, "hostile.safetensors.index.json")
    with open(p, "w") as f:
        json.dump({"weight_map": {"t%d" % i: "s%d.safetensors" % i for i in range(200000)}}, f)
    report("hostile-index", run([st, "-q", p], 3), "200,000 distinct shards")
    for n_links in (60, 200):
        p = shard_links(work, n_links)
        report("links-%d" % n_links, run([st, "-q", p], 3), "links to one 8.4 MB shard")
    p = os.path.join(work, "hostile.tar")
    if not os.path.exists(p):
        import tarfile
        with tarfile.open(p, "w") as t:
            for i in range(60000):
                info = tarfile.TarInfo("m%d" % i)
                t.addfile(info)
    report("hostile-tar", run([st, "-q", p], 3), "60,000 members")

    report("link-loops", run([st, "-q", "-r", link_loops(work)], 5), "122 links, 200 deep")
    report("hf-cache", run([st, "-q", "-r", hf_cache(work)], 5), "2,000 links + 2,000 blobs")


if __name__ == "__main__":
    main()
