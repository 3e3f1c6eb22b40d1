#!/usr/bin/env python3
"""stcheck benchmarks: prints wall time (best of several runs) and peak RSS per case.

    bench/bench.py [STCHECK] [WORKDIR]      defaults: build/stcheck, /tmp/stcheck-bench

Cases (issue 2 goals in brackets):
  small-1000   1,000 small valid files in one invocation            [<= 50 ms]
  big-header   a 97 MB header with 1.4 million tensors              [< 1.5 s, RSS < 3x header]
  sparse-4gib  a valid 4 GiB file (sparse) vs 4 KiB with one header  [same time, RSS < 8 MB]

Standard library only. Timings are for people, never asserted by tests.
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import gen_safetensors as gen  # noqa: E402


def peak_rss_kib(cmd):
    """Peak RSS of cmd measured by GNU time. Not os.wait4: Linux carries the parent's RSS
    high-water mark across fork+exec, so a child of this (large) Python would report it."""
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    return int(p.stderr.strip().splitlines()[-1])


def run(cmd, repeat):
    """Best wall time in seconds, peak RSS in KiB and the exit code."""
    best, code = None, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dt = time.perf_counter() - t0
        code = p.returncode
        best = dt if best is None else min(best, dt)
    return best, peak_rss_kib(cmd), code


def small_files(work, n=1000):
    d = os.path.join(work, "small")
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


def report(name, secs, rss_kib, code, note=""):
    print("%-14s %9.1f ms  %9.1f MiB peak RSS  exit %d  %s"
          % (name, secs * 1000, rss_kib / 1024, code, note))


def main():
    st = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build", "stcheck")
    work = sys.argv[2] if len(sys.argv) > 2 else "/tmp/stcheck-bench"
    os.makedirs(work, exist_ok=True)

    paths = small_files(work)
    t, r, c = run([st] + paths, 10)
    report("small-1000", t, r, c, "(%.1f us/file)" % (t * 1e6 / len(paths)))

    p, n = big_header(work)
    t, r, c = run([st, p], 3)
    report("big-header", t, r, c, "header %.1f MB, RSS/header %.2fx"
           % (n / 1e6, r * 1024 / n))

    big, small = sparse(work)
    t1, r1, c1 = run([st, big], 10)
    t2, r2, c2 = run([st, small], 10)
    report("sparse-4gib", t1, r1, c1)
    report("same-4kib", t2, r2, c2)
    os.unlink(big)


if __name__ == "__main__":
    main()
