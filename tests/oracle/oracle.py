#!/usr/bin/python3
"""Loader-differential oracle (issue #9): run the real loaders with recording unpicklers and
assert that every global a loader resolves is in stcheck's JSON import list for that file, or
that stcheck does not pass the file.

  oracle.py ci STCHECK ROOT WORKDIR          corpus + fixed-seed mutations + self-test (ctest)
  oracle.py check STCHECK FILE...            one-off: report every unlisted global
  oracle.py campaign STCHECK ROOT OUT --seconds N --seed S   random mutations until time is up
  oracle.py selftest STCHECK WORKDIR         the oracle catches known-bad cases

Each load runs in a child forked from this process after torch, numpy and joblib are imported
(so a load costs a fork, not an import), under RLIMIT_AS / RLIMIT_CPU / RLIMIT_FSIZE, with a
fresh temporary folder as cwd and TMPDIR, and a wall-clock timeout. Records stream back through a
pipe line by line, so a child that crashes or is killed still reports what it resolved.
"""
import argparse
import json
import os
import random
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
import warnings  # noqa: E402

warnings.simplefilter("ignore")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import recorder  # noqa: E402

import joblib  # noqa: E402,F401
import numpy  # noqa: E402,F401
import torch  # noqa: E402,F401
import torch.jit  # noqa: E402,F401

recorder.prepare()

MODES = ["torch", "numpy", "joblib", "joblib-mmap", "pickle", "pickle-py"]
CPU_SECONDS = 10
WALL_SECONDS = 30
EXTRA_AS = 2 << 30
FSIZE = 256 << 20

# torch/serialization.py _load: UnpicklerWrapper.find_class maps these module names first.
TORCH_MODULE_MAPPING = {"torch.tensor": "torch._tensor"}


# ---------------------------------------------------------------------------------------------
# Running loads in children

def _vmsize():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(path, modes, wfd, tmproot):
    try:
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(null, 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        cpu = CPU_SECONDS * len(modes)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE, FSIZE))
        limit = _vmsize() + EXTRA_AS
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        recorder.install(wfd)
        for mode in modes:
            tmp = tempfile.mkdtemp(dir=tmproot)
            os.chdir(tmp)
            os.environ["TMPDIR"] = tmp
            tempfile.tempdir = tmp
            recorder.begin(mode)
            try:
                recorder.LOADERS[mode](path)
                recorder._emit({"kind": "end", "mode": mode, "outcome": "ok"})
            except BaseException as e:  # noqa: B902 - every outcome is data here
                recorder._emit({"kind": "end", "mode": mode, "outcome": type(e).__name__,
                                "message": str(e)[:200]})
    finally:
        os._exit(0)


def run_loads(jobs, parallel=2, tmproot=None):
    """jobs: list of (path, mode). Returns {(path, mode): {"globals": [...], "outcome": str}}.
    The modes of one path run one after another in one child (a fork costs more than most
    loads); a child that dies or times out is replaced by a new one for the modes left."""
    own_tmp = tmproot is None
    if own_tmp:
        tmproot = tempfile.mkdtemp(prefix="oracle-")
    bypath = {}
    for path, mode in jobs:
        bypath.setdefault(path, []).append(mode)
    pending = list(bypath.items())
    results = {}
    running = {}  # fd -> [pid, (path, modes), deadline, buffer]
    try:
        while pending or running:
            while pending and len(running) < parallel:
                path, modes = pending.pop(0)
                r, w = os.pipe()
                pid = os.fork()
                if pid == 0:
                    os.close(r)
                    _child(os.path.abspath(path), modes, w, tmproot)
                os.close(w)
                running[r] = [pid, (path, modes), time.monotonic() + WALL_SECONDS * len(modes),
                              b""]
            now = time.monotonic()
            wait = max(0.0, min(v[2] for v in running.values()) - now)
            ready, _, _ = select.select(list(running), [], [], wait)
            for fd in ready:
                chunk = os.read(fd, 65536)
                if chunk:
                    running[fd][3] += chunk
                    continue
                pending.extend(_finish(fd, running.pop(fd), results, killed=False))
            now = time.monotonic()
            for fd in [fd for fd, v in running.items() if v[2] <= now]:
                pending.extend(_finish(fd, running.pop(fd), results, killed=True))
    finally:
        for fd, v in running.items():
            _finish(fd, v, results, killed=True)
        if own_tmp:
            shutil.rmtree(tmproot, ignore_errors=True)
    return results


def _finish(fd, entry, results, killed):
    """Collect one child's records; returns the job for the modes it never started."""
    pid, (path, modes), _, buf = entry
    if killed:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    current = None
    for line in buf.decode("utf-8", "replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec["kind"] == "begin":
            current = rec["mode"]
            results[(path, current)] = {"globals": [], "outcome": None}
        elif rec["kind"] == "global" and current is not None:
            results[(path, current)]["globals"].append(rec)
        elif rec["kind"] == "end":
            results[(path, rec["mode"])]["outcome"] = rec["outcome"]
            current = None
    if current is not None:
        if killed:
            outcome = "timeout"
        elif os.WIFSIGNALED(status):
            outcome = "signal %d" % os.WTERMSIG(status)
        else:
            outcome = "died"
        results[(path, current)]["outcome"] = outcome
    left = [m for m in modes if (path, m) not in results]
    if left and (current is not None or killed or os.WIFSIGNALED(status)):
        return [(path, left)]
    for m in left:  # exited cleanly without starting them: should not happen
        results[(path, m)] = {"globals": [], "outcome": "not run"}
    return []


# ---------------------------------------------------------------------------------------------
# stcheck's view

def run_stcheck(stcheck, paths, batch=64):
    """{path: file entry of stcheck --format json} (None when stcheck gave no document)."""
    out = {}
    for i in range(0, len(paths), batch):
        part = paths[i:i + batch]
        try:
            proc = subprocess.run([stcheck, "--format", "json", "--"] + part,
                                  capture_output=True, timeout=60 + 5 * len(part))
            doc = json.loads(proc.stdout)
            files = doc["files"]
        except (subprocess.TimeoutExpired, ValueError, KeyError):
            files = None
        if files is None or len(files) != len(part):
            if len(part) == 1:
                out[part[0]] = None
            else:
                out.update(run_stcheck(stcheck, part, batch=1))
            continue
        for path, entry in zip(part, files):
            out[path] = entry
    return out


def _escaped_cp(cp):
    """src/core/escape.c st_is_invisible_cp and the characters escaped with it."""
    return (cp < 0x20 or 0x7F <= cp <= 0x9F or cp == 0xAD or 0x200B <= cp <= 0x200F or
            0x202A <= cp <= 0x202E or 0x2060 <= cp <= 0x206F or cp == 0xFEFF or cp == 0x061C or
            cp == 0x180E or cp in (0x2028, 0x2029) or 0xFFF9 <= cp <= 0xFFFB or
            0xE0000 <= cp <= 0xE007F or 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE)


def escaped(name):
    """The escaped form stcheck reports a name in (docs/report-text.md): each byte of invalid
    UTF-8 (lone surrogates included) and of the escaped characters as \\xNN."""
    if not isinstance(name, str):
        return name
    data = name.encode("utf-8", "surrogatepass")
    out, i = [], 0
    while i < len(data):
        for n in (1, 2, 3, 4):
            try:
                ch = data[i:i + n].decode("utf-8")
                break
            except UnicodeDecodeError:
                ch = None
        if ch is None:
            out.append("\\x%02x" % data[i])
            i += 1
            continue
        if _escaped_cp(ord(ch)):
            out.extend("\\x%02x" % b for b in data[i:i + n])
        else:
            out.append(ch)
        i += n
    return "".join(out)


def listed_names(entry):
    """Every spelling under which a loader may resolve what stcheck lists."""
    names = set()
    for imp in entry.get("imports", []):
        pair = (imp.get("module"), imp.get("name"))
        for m, n in {pair, recorder.py2_map(*pair)}:
            names.add((m, n))
            names.add((TORCH_MODULE_MAPPING.get(m, m), n))
    return names


def unlisted(entry, loads):
    """The globals the loaders resolved that stcheck neither lists nor fails the file for.
    loads: {mode: result}. Returns [(mode, module, name)]."""
    if entry is not None and entry.get("verdict") != "pass":
        return []
    names = listed_names(entry) if entry is not None else set()
    missing = []
    for mode, res in sorted(loads.items()):
        for g in res["globals"]:
            cands = [(escaped(m), escaped(n)) for m, n in g["candidates"]]
            if not any(c in names for c in cands):
                missing.append((mode, cands[-1][0], cands[-1][1]))
    return missing


def differential(stcheck, paths, modes=MODES, parallel=2):
    """{path: (stcheck entry, {mode: load result}, [unlisted])}."""
    loads = run_loads([(p, m) for p in paths for m in modes], parallel=parallel)
    entries = run_stcheck(stcheck, paths)
    out = {}
    for p in paths:
        per = {m: loads[(p, m)] for m in modes}
        out[p] = (entries.get(p), per, unlisted(entries.get(p), per))
    return out


def describe(path, entry, missing):
    verdict = "no report (stcheck crashed?)" if entry is None else entry.get("verdict")
    lines = ["%s: stcheck verdict %s, imports listed: %s" % (
        path, verdict, sorted({"%s.%s" % (i["module"], i["name"])
                               for i in (entry or {}).get("imports", [])}))]
    for mode, m, n in missing:
        lines.append("    %s resolved %s %s (not listed)" % (mode, m, n))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Expected failures (tests/oracle/expected_failures.txt)

def load_expected():
    """{key: reason}: key is a corpus path relative to the project root or a mutation id."""
    exp = {}
    with open(os.path.join(HERE, "expected_failures.txt")) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _, reason = line.partition("#")
            if not reason.strip():
                raise SystemExit("expected_failures.txt: %s names no reason" % key.strip())
            exp[key.strip()] = reason.strip()
    return exp


# ---------------------------------------------------------------------------------------------
# Self-test: the oracle must catch known-bad cases, and the stubs must stay inert

def selftest(workdir, root=None):
    os.makedirs(workdir, exist_ok=True)
    flag = os.path.join(workdir, "selftest-ran")
    if os.path.exists(flag):
        os.unlink(flag)
    cases = {}
    # GLOBAL os.system + REDUCE: the stub must be called, never the real os.system.
    cases["system"] = b"cos\nsystem\n(V" + ("touch " + flag).encode() + b"\ntR."
    # Protocol 2, Python-2 name: the unpickler maps __builtin__.eval to builtins.eval.
    cases["py2"] = b"\x80\x02c__builtin__\neval\nX\x01\x00\x00\x001\x85R."
    # EXT2 code 0x4242 then REDUCE; a BUILD and SETITEM on the stub too.
    cases["ext"] = b"\x80\x02\x83\x42\x42)R}bK\x01K\x02s."
    # Protocol 4, STACK_GLOBAL with a dotted name, the stub's attributes walked by BUILD.
    cases["dotted"] = (b"\x80\x04\x8c\x0boracle_test\x94\x8c\x0bouter.inner\x94\x93)\x81"
                       b"\x8c\x01x\x85b.")
    paths = {}
    for k, v in cases.items():
        p = os.path.join(workdir, "selftest-%s.pkl" % k)
        with open(p, "wb") as f:
            f.write(v)
        paths[k] = p
    loads = run_loads([(p, m) for p in paths.values() for m in MODES])
    errors = []

    def got(k, mode, pair):
        return any(pair in [tuple(c) for c in g["candidates"]]
                   for g in loads[(paths[k], mode)]["globals"])

    for mode in ("pickle", "pickle-py", "numpy", "torch", "joblib"):
        if not got("system", mode, ("os", "system")):
            errors.append("%s: os.system not recorded: %s" % (mode, loads[(paths["system"], mode)]))
        if not got("py2", mode, ("builtins", "eval")):
            errors.append("%s: __builtin__.eval not mapped to builtins.eval" % mode)
        if not got("ext", mode, ("<ext>", str(0x4242))):
            errors.append("%s: EXT2 code not recorded: %s" % (mode, loads[(paths["ext"], mode)]))
        if not got("dotted", mode, ("oracle_test", "outer.inner")):
            errors.append("%s: dotted STACK_GLOBAL not recorded" % mode)
    if os.path.exists(flag):
        errors.append("the os.system stub ran the command")
    # The trusted reconstructors are real: valid files load completely, as they would.
    if root is not None:
        # (file, loader, resolves globals)
        valid = [("corpus/pytorch/valid-state-dict.pt", "torch", True),
                 ("corpus/pytorch/valid-legacy-state-dict.pt", "torch", True),
                 ("corpus/pickle/valid-joblib-arrays.joblib", "joblib", True),
                 ("corpus/pickle/valid-joblib-object-array.joblib", "joblib", True),
                 ("corpus/pickle/valid-numpy-proto2.pkl", "pickle", True),
                 ("corpus/numpy/valid-structured.npy", "numpy", False),
                 ("corpus/numpy/valid-arrays.npz", "numpy", False)]
        vl = run_loads([(os.path.join(root, p), m) for p, m, _ in valid])
        for p, m, g in valid:
            r = vl[(os.path.join(root, p), m)]
            if r["outcome"] != "ok" or bool(r["globals"]) != g:
                errors.append("%s did not load with %s: %s" % (p, m, r))
    # The comparison: a report that omits the import must be caught, one that lists it (under
    # its Python-2 name) or fails the file must not.
    per = {m: loads[(paths["py2"], m)] for m in MODES}
    fake_pass = {"verdict": "pass", "imports": []}
    fake_listed = {"verdict": "pass", "imports": [{"module": "__builtin__", "name": "eval"}]}
    fake_fail = {"verdict": "fail", "imports": []}
    if not unlisted(fake_pass, per):
        errors.append("a passing report without the import was not caught")
    if unlisted(fake_listed, per):
        errors.append("a report listing __builtin__.eval was flagged: %s" % unlisted(fake_listed, per))
    if unlisted(fake_fail, per):
        errors.append("a failing report was flagged")
    # Names are compared in the escaped form the report uses (DEL, zero-width space).
    odd = {"pickle": {"globals": [{"candidates": [["or\x7fcle", "x\u200b"]]}], "outcome": "ok"}}
    if unlisted({"verdict": "pass", "imports": [
            {"module": "or\\x7fcle", "name": "x\\xe2\\x80\\x8b"}]}, odd):
        errors.append("an escaped name in the report did not match the loader's name")
    if not unlisted({"verdict": "pass", "imports": [{"module": "orcle", "name": "x"}]}, odd):
        errors.append("a name differing by an escaped character was matched")
    return errors


# ---------------------------------------------------------------------------------------------
# Commands

def corpus_files(root):
    out = []
    for d, _, files in os.walk(os.path.join(root, "corpus")):
        for f in files:
            out.append(os.path.join(d, f))
    return sorted(out)


def cmd_check(args):
    res = differential(args.stcheck, args.files, parallel=args.jobs)
    bad = 0
    for p, (e, per, miss) in res.items():
        if args.verbose:
            for m, r in per.items():
                print("  %s %s: %s %s" % (p, m, r["outcome"],
                                          [c["candidates"][-1] for c in r["globals"]]))
        if miss:
            bad += 1
            print(describe(p, e, miss))
    return 1 if bad else 0


def cmd_selftest(args):
    errors = selftest(args.workdir, os.path.abspath(args.root))
    for e in errors:
        print("SELFTEST FAIL: " + e)
    print("selftest: %s" % ("FAIL" if errors else "ok"))
    return 1 if errors else 0


def cmd_ci(args):
    import mutators
    start = time.monotonic()
    root = os.path.abspath(args.root)
    errors = selftest(os.path.join(args.workdir, "selftest"), root)
    for e in errors:
        print("SELFTEST FAIL: " + e)
    files = corpus_files(root)
    mutdir = os.path.join(args.workdir, "mutated")
    shutil.rmtree(mutdir, ignore_errors=True)
    os.makedirs(mutdir)
    mut = mutators.generate(root, mutdir, random.Random(args.seed), args.mutations)
    keys = {p: os.path.relpath(p, root) for p in files}
    keys.update({p: "mut:" + os.path.basename(p) for p in mut})
    res = differential(args.stcheck, files + mut, parallel=args.jobs)
    expected = load_expected()
    unexpected, xfail, xpass = [], [], []
    for p, (e, per, miss) in res.items():
        key = keys[p]
        if miss and key in expected:
            xfail.append((key, expected[key]))
        elif miss:
            unexpected.append(describe(key, e, miss))
        elif key in expected:
            xpass.append(key)
    outcomes = {}
    for p, (e, per, miss) in res.items():
        for m, r in per.items():
            o = r["outcome"].split(" ")[0] if r["outcome"] != "ok" else "ok"
            outcomes[o] = outcomes.get(o, 0) + 1
    print("oracle: %d corpus files + %d mutated, %d loads (%s), %.0f s" % (
        len(files), len(mut), sum(outcomes.values()),
        ", ".join("%s %d" % kv for kv in sorted(outcomes.items())), time.monotonic() - start))
    for key, reason in xfail:
        print("XFAIL %s  # %s" % (key, reason))
    for key in xpass:
        print("XPASS %s: no longer fails; remove it from tests/oracle/expected_failures.txt" % key)
    for u in unexpected:
        print("UNLISTED " + u)
    if errors or unexpected:
        print("oracle: FAIL")
        return 1
    print("oracle: ok")
    return 0


def cmd_campaign(args):
    import mutators
    root = os.path.abspath(args.root)
    os.makedirs(args.out, exist_ok=True)
    finddir = os.path.join(args.out, "findings")
    os.makedirs(finddir, exist_ok=True)
    rng = random.Random(args.seed)
    end = time.monotonic() + args.seconds
    stats = {"seed": args.seed, "stcheck": args.stcheck, "files": 0, "loads": 0, "findings": 0,
             "rounds": 0, "signatures": {}}
    t0 = resource.getrusage(resource.RUSAGE_SELF)
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    log = open(os.path.join(args.out, "campaign.log"), "a")
    while time.monotonic() < end:
        mutdir = os.path.join(args.out, "round")
        shutil.rmtree(mutdir, ignore_errors=True)
        os.makedirs(mutdir)
        mut = mutators.generate(root, mutdir, rng, args.batch)
        res = differential(args.stcheck, mut, parallel=args.jobs)
        stats["rounds"] += 1
        stats["files"] += len(mut)
        stats["loads"] += len(mut) * len(MODES)
        for p, (e, per, miss) in res.items():
            if not miss:
                continue
            stats["findings"] += 1
            # one signature per mutator, verdict and set of unlisted globals: keep 3 files each
            sig = "%s %s %s" % (os.path.basename(p).split("-", 1)[1].rsplit(".", 1)[0],
                                (e or {}).get("format"),
                                " ".join(sorted({"%s.%s" % (m, n) for _, m, n in miss})))
            seen = stats["signatures"].setdefault(sig, 0)
            stats["signatures"][sig] = seen + 1
            if seen >= 3:
                continue
            dest = os.path.join(finddir, "r%d-%s" % (stats["rounds"], os.path.basename(p)))
            shutil.copy(p, dest)
            for sib in mutators.siblings(p):
                shutil.copy(sib, os.path.join(finddir, os.path.basename(sib)))
            log.write(describe(dest, e, miss) + "\n")
            log.flush()
        t1 = resource.getrusage(resource.RUSAGE_SELF)
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        stats["cpu_seconds"] = round(sum(getattr(b, f) - getattr(a, f)
                                         for a, b in ((t0, t1), (c0, c1))
                                         for f in ("ru_utime", "ru_stime")), 1)
        with open(os.path.join(args.out, "stats.json"), "w") as f:
            json.dump(stats, f)
    print(json.dumps(stats))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("stcheck")
    c.add_argument("files", nargs="+")
    c.add_argument("-j", "--jobs", type=int, default=2)
    c.add_argument("-v", "--verbose", action="store_true")
    s = sub.add_parser("selftest")
    s.add_argument("stcheck")
    s.add_argument("workdir")
    s.add_argument("--root", default=os.path.dirname(os.path.dirname(HERE)))
    ci = sub.add_parser("ci")
    ci.add_argument("stcheck")
    ci.add_argument("root")
    ci.add_argument("workdir")
    ci.add_argument("--seed", type=int, default=9)
    ci.add_argument("--mutations", type=int, default=300)
    ci.add_argument("-j", "--jobs", type=int, default=2)
    cp = sub.add_parser("campaign")
    cp.add_argument("stcheck")
    cp.add_argument("root")
    cp.add_argument("out")
    cp.add_argument("--seconds", type=float, required=True)
    cp.add_argument("--seed", type=int, required=True)
    cp.add_argument("--batch", type=int, default=100)
    cp.add_argument("-j", "--jobs", type=int, default=1)
    args = ap.parse_args()
    args.stcheck = os.path.abspath(args.stcheck)
    return {"check": cmd_check, "selftest": cmd_selftest, "ci": cmd_ci,
            "campaign": cmd_campaign}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
