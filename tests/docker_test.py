#!/usr/bin/python3
"""The Dockerfile's instructions: multi-stage, a pinned base, a final stage with runtime
libraries only (every library the stcheck built here links, mapped to its Debian package, and no
build tools), a non-root USER, the binary and the policies, stcheck as entrypoint; .dockerignore
keeps build trees out. Where Docker works, the image is also built and run on fixtures.
    docker_test.py STCHECK SOURCE_DIR WORK_DIR
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys

ST, SRC, WORK = (os.path.abspath(a) for a in sys.argv[1:4])
with open(ST, "rb") as _f:
    if _f.read(4) != b"\x7fELF" and os.path.exists(ST + ".real"):
        ST += ".real"  # ci/valgrind.sh replaced the binary by a wrapper script
EVIL = b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03."
BUILD_TOOLS = re.compile(r"\b(build-essential|gcc|g\+\+|clang|cmake|make|pkg-config|[\w.+-]+-dev)\b")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def instructions(text):
    """(KEYWORD, arguments) per instruction: continuations joined, comments dropped."""
    out, cur = [], ""
    for line in text.splitlines():
        s = line.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if s.startswith("#"):
            continue
        cur += " " + s[:-1] if s.endswith("\\") else " " + s
        if not s.endswith("\\"):
            kw, _, args = cur.strip().partition(" ")
            out.append((kw.upper(), " ".join(args.split())))
            cur = ""
    return out


def stages(ins):
    args = {}
    result = []
    for kw, a in ins:
        if kw == "ARG" and not result:
            name, _, default = a.partition("=")
            args[name] = default
        elif kw == "FROM":
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), ""), a.split()[0])
            alias = a.split()[2] if len(a.split()) == 3 and a.split()[1].upper() == "AS" else None
            result.append({"image": image, "alias": alias, "ins": []})
        else:
            result[-1]["ins"].append((kw, a))
    return result


def runtime_packages():
    """The Debian packages providing every library the stcheck built here links."""
    ldd = subprocess.run(["ldd", ST], capture_output=True, text=True, check=True).stdout
    where = dict(re.findall(r"^\s*(\S+) => (/\S+)", ldd, re.M))
    dyn = subprocess.run(["readelf", "-d", ST], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]", dyn)
    check(len(needed) >= 5, f"NEEDED of {ST}: {needed}")
    pkgs = set()
    for soname in needed:
        path = where.get(soname, "/lib64/" + soname)
        if re.match(r"lib(c|m|pthread|dl|rt|gcc_s)\.so|ld-linux", soname):
            continue  # libc6, in every Debian base
        real = os.path.realpath(path)
        for p in (path, real, "/usr" + path if not path.startswith("/usr") else path):
            r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
            if r.returncode == 0:
                pkgs.add(r.stdout.split(":")[0])
                break
        else:
            check(False, f"no Debian package owns {path}")
    return pkgs


def static_checks():
    with open(os.path.join(SRC, "Dockerfile")) as f:
        st = stages(instructions(f.read()))
    check(len(st) >= 2, "multi-stage: a build stage and a final stage")
    for s in st:
        img = s["image"]
        check(re.fullmatch(r"[\w./-]+:[\w.-]*\d[\w.-]*@sha256:[0-9a-f]{64}", img),
              f"base {img!r} is pinned (a versioned tag and its digest)")
    final = st[-1]
    kws = [kw for kw, _ in final["ins"]]
    users = [a for kw, a in final["ins"] if kw == "USER"]
    check(users and users[-1].split(":")[0] not in ("0", "root"), f"final USER non-root: {users}")
    check(kws.index("USER") > max(i for i, k in enumerate(kws) if k == "RUN"),
          "USER comes after the last RUN of the final stage")
    ep = [a for kw, a in final["ins"] if kw == "ENTRYPOINT"]
    check(ep and json.loads(ep[-1])[0].endswith("/stcheck") and len(json.loads(ep[-1])) == 1,
          f"ENTRYPOINT is stcheck (exec form): {ep}")
    runs = " ".join(a for kw, a in final["ins"] if kw == "RUN")
    tools = BUILD_TOOLS.findall(runs)
    check(not tools, f"final stage installs build tools: {tools}")
    installed = set(re.findall(r"[\w.+-]+", runs.split("--no-install-recommends", 1)[-1].split("&&")[0]))
    missing = runtime_packages() - installed
    check(not missing, f"final stage lacks runtime packages of libraries stcheck links: {missing}")
    check("libssl3" in installed, "libssl3 (libcrypto, loaded for --digest)")
    copies = [a for kw, a in final["ins"] if kw == "COPY"]
    check(all(a.startswith(f"--from={st[0]['alias']} ") for a in copies),
          f"the final stage copies only from the build stage: {copies}")
    srcs = sorted(a.split()[1] for a in copies)
    check(srcs == ["/usr/local/bin/stcheck", "/usr/local/share/stcheck/rules/"],
          f"the final stage holds the binary and the policies only: {srcs}")
    check(not any(kw == "ADD" for s in st for kw, _ in s["ins"]), "no ADD (COPY only)")
    with open(os.path.join(SRC, ".dockerignore")) as f:
        ignore = f.read().split()
    for pat in (".git", "build*/", "out/"):
        check(pat in ignore, f".dockerignore lacks {pat}")
    # every folder the build stage copies exists (a rename would break the image)
    for kw, a in st[0]["ins"]:
        if kw == "COPY" and not a.startswith("--"):
            for p in a.split()[:-1]:
                check(os.path.exists(os.path.join(SRC, p)), f"COPY {p}: missing in the tree")


def docker_works():
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def docker_run():
    data = os.path.join(WORK, "data")
    os.makedirs(data)
    h = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    with open(os.path.join(data, "a.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"\0" * 4)
    with open(os.path.join(data, "evil.pt"), "wb") as f:
        f.write(EVIL)
    tag = "stcheck-test:local"
    r = subprocess.run(["docker", "build", "-t", tag, SRC], capture_output=True, text=True)
    check(r.returncode == 0, f"docker build: {r.stderr[-2000:]}")
    if r.returncode:
        return
    r = subprocess.run(["docker", "run", "--rm", "-v", f"{data}:/data:ro", tag, "-r", "."],
                       capture_output=True, text=True)
    check(r.returncode == 1 and "evil.pt: error ST201" in r.stdout, f"docker run: {r.stdout}")
    r = subprocess.run(["docker", "run", "--rm", "--entrypoint", "id", tag, "-u"],
                       capture_output=True, text=True)
    check(r.stdout.strip() == "10001", f"runs as uid {r.stdout}")


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
static_checks()
if docker_works():
    docker_run()
else:
    print("docker: no usable daemon here; the image is built where Docker works")
if failures:
    print(f"docker: {len(failures)} failure(s)")
    sys.exit(1)
print("docker: ok")
