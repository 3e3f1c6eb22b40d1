#!/usr/bin/python3
"""action.yml (the GitHub Action): its structure, validated with python3-yaml, and its check
script ci/action/run.sh run locally on fixtures with the stcheck built here, as the runner runs it.
    action_test.py STCHECK SOURCE_DIR WORK_DIR
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import yaml

ST, SRC, WORK = (os.path.abspath(a) for a in sys.argv[1:4])
EVIL = b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03."
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def structure():
    with open(os.path.join(SRC, "action.yml")) as f:
        text = f.read()
    action = yaml.safe_load(text)
    check(action.get("name") == "stcheck" and action.get("description"), "name/description")
    runs = action["runs"]
    check(runs.get("using") == "composite", "runs.using must be composite")
    inputs = action["inputs"]
    check(set(inputs) == {"paths", "policy", "strict", "sarif", "junit", "fail"},
          f"inputs: {sorted(inputs)}")
    for name, spec in inputs.items():
        check(spec.get("description") and isinstance(spec.get("default"), str),
              f"input {name}: description and a string default")
    used = set(re.findall(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", text))
    check(used == set(inputs), f"inputs used {sorted(used)} != declared {sorted(inputs)}")
    steps = runs["steps"]
    ids = {s.get("id") for s in steps}
    with open(os.path.join(SRC, "ci/action/run.sh")) as f:
        written = set(re.findall(r"^\s*out ([\w-]+) ", f.read(), re.M))
    for name, spec in action["outputs"].items():
        m = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", spec["value"])
        check(m and m.group(1) in ids and spec.get("description"), f"output {name}: {spec}")
        check(m and m.group(2) in written, f"output {name}: run.sh never writes {m and m.group(2)}")
    for s in steps:
        check(s.get("name"), f"step without a name: {s}")
        if "run" in s:
            check(s.get("shell") == "bash", f"step {s['name']}: shell bash")
            # inputs reach scripts through env only: an expression in run: would be pasted into
            # the script's text (script injection by a crafted input)
            check("${{" not in s["run"], f"step {s['name']}: an expression inside run:")
            for script in re.findall(r'"\$GITHUB_ACTION_PATH/([^"]+)"', s["run"]):
                path = os.path.join(SRC, script)
                check(os.path.isfile(path), f"step {s['name']}: {script} missing")
                check(os.access(path, os.X_OK), f"{script} not executable")
                r = subprocess.run(["bash", "-n", path], capture_output=True, text=True)
                check(r.returncode == 0, f"bash -n {script}: {r.stderr}")
        else:
            check(re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+|[0-9a-f]{40})", s.get("uses", "")),
                  f"step {s['name']}: 'uses' pinned to a major tag or a commit")
    byid = {s.get("id"): s for s in steps}
    cache_path = byid["cache"]["with"]["path"]
    check(byid["run"]["env"]["STCHECK"] == cache_path + "/bin/stcheck",
          "the check runs the stcheck of the cached prefix")
    builds = [s for s in steps if "build.sh" in s.get("run", "")]
    check(len(builds) == 1 and builds[0]["run"].rstrip().endswith('"$RUNNER_TEMP/stcheck-prefix"')
          and cache_path == "${{ runner.temp }}/stcheck-prefix",
          "build.sh installs into the cached prefix")
    check(any("cache-hit != 'true'" in str(s.get("if", "")) and "build.sh" in s.get("run", "")
              for s in steps), "the build is skipped on a cache hit")
    # the README documents every input and output
    with open(os.path.join(SRC, "README.md")) as f:
        readme = f.read()
    for name in list(inputs) + list(action["outputs"]):
        check(f"| `{name}` |" in readme, f"README: no row for `{name}`")


def build_script():
    """ci/action/build.sh (the step a cache miss runs) with cmake and pkg-config replaced by
    recorders: the options it passes exist in CMakeLists.txt, remote checks follow libcurl's
    version, and the stcheck it installs into the cached prefix is the one the check step runs."""
    fake = os.path.join(WORK, "fakebin")
    os.makedirs(fake)
    log = os.path.join(WORK, "cmake.log")
    with open(os.path.join(fake, "cmake"), "w") as f:
        f.write(f"""#!/bin/sh
echo "cmake $*" >>"{log}"
case $1 in
-S) for a; do case $a in -DCMAKE_INSTALL_PREFIX=*) echo "${{a#*=}}" >"{log}.prefix" ;; esac; done ;;
--install) p=$(cat "{log}.prefix"); mkdir -p "$p/bin"; cp "{ST}" "$p/bin/stcheck" ;;
esac
""")
    with open(os.path.join(fake, "pkg-config"), "w") as f:
        f.write('#!/bin/sh\n[ "$*" = "--atleast-version=7.85 libcurl" ] && exit "$FAKE_CURL_OLD"\nexit 9\n')
    for name in ("cmake", "pkg-config"):
        os.chmod(os.path.join(fake, name), 0o755)
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        options = set(re.findall(r"^option\((\w+)", f.read(), re.M))
    for old, remote in (("0", "ON"), ("1", "OFF")):
        build, prefix = os.path.join(WORK, "b" + old), os.path.join(WORK, "prefix" + old)
        env = dict(os.environ, PATH=fake + os.pathsep + os.environ["PATH"], FAKE_CURL_OLD=old)
        open(log, "w").close()
        r = subprocess.run(["bash", os.path.join(SRC, "ci/action/build.sh"), SRC, build, prefix],
                           env=env, capture_output=True, text=True)
        with open(log) as f:
            calls = f.read().splitlines()
        check(r.returncode == 0 and r.stdout.startswith("stcheck "), f"build.sh: {r}")
        check(len(calls) == 3 and calls[0] == f"cmake -S {SRC} -B {build} -DCMAKE_BUILD_TYPE=Release "
              f"-DSTCHECK_BUILD_TESTS=OFF -DSTCHECK_REMOTE={remote} -DCMAKE_INSTALL_PREFIX={prefix}"
              and re.fullmatch(f"cmake --build {re.escape(build)} -j \\d+", calls[1])
              and calls[2] == f"cmake --install {build}", f"build.sh calls: {calls}")
        used = set(re.findall(r"-D(STCHECK_\w+)=", calls[0] if calls else ""))
        check(used and used <= options, f"build.sh options {used} not all in CMakeLists.txt")
    rc, o, log_ = run("built", fixtures_dir(), paths="models/evil.pt", sarif="", junit="",
                      STCHECK=os.path.join(WORK, "prefix0", "bin", "stcheck"))
    check(rc == 1 and "models/evil.pt: error ST201" in log_, f"check with the built stcheck: {log_}")


def run(tag, cwd, **inputs):
    out = os.path.join(WORK, f"{tag}.out")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INPUT_")}
    env.update({"STCHECK": inputs.pop("STCHECK", ST), "GITHUB_OUTPUT": out})
    env.update({"INPUT_" + k.upper(): v for k, v in inputs.items()})
    open(out, "w").close()
    r = subprocess.run(["bash", os.path.join(SRC, "ci/action/run.sh")], cwd=cwd, env=env,
                       capture_output=True, text=True)
    with open(out) as f:
        outputs = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    return r.returncode, outputs, r.stdout + r.stderr


def fixtures_dir():
    repo = os.path.join(WORK, "repo")
    return repo if os.path.isdir(repo) else fixtures()


def fixtures():
    repo = os.path.join(WORK, "repo")
    os.makedirs(os.path.join(repo, "models/sub"))
    os.makedirs(os.path.join(repo, "-odd dir"))
    h = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    st = struct.pack("<Q", len(h)) + h + b"\0" * 4  # passes with ST139 (info)
    for name, data in {"models/a.safetensors": st, "models/sub/b.safetensors": st,
                       "models/evil.pt": EVIL, "-odd dir/x y.safetensors": st,
                       "warn.json": b'{"severity": {"ST139": "warning"}}'}.items():
        with open(os.path.join(repo, name), "wb") as f:
            f.write(data)
    return repo


def local_runs():
    repo = fixtures()
    # a folder: walked; the malicious checkpoint fails; SARIF and JUnit written
    rc, o, log = run("folder", repo, paths="models", sarif="out.sarif", junit="out.xml")
    check(rc == 1 and o.get("exit-code") == "1" and o.get("verdict") == "fail", f"folder: {rc} {o} {log}")
    check(o.get("sarif") == "out.sarif" and o.get("junit") == "out.xml", f"folder outputs {o}")
    check("models/evil.pt: error ST201" in log and "::error::stcheck: fail" in log, f"log: {log}")
    with open(os.path.join(repo, "out.sarif")) as f:
        sarif = json.load(f)
    results = [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
               for r in sarif["runs"][0]["results"] if r["level"] == "error"]
    check(results == [("ST201", "models/evil.pt")], f"SARIF results {results}")
    suite = ET.parse(os.path.join(repo, "out.xml")).getroot()
    cases = suite.findall(".//testcase")
    check(len(cases) == 3 and len(suite.findall(".//failure")) == 1, f"JUnit: {len(cases)} cases")
    # globs (globstar), several per line and over lines; names with spaces and a leading dash
    rc, o, log = run("glob", repo, paths="**/*.safetensors\n-odd*/*.safetensors", sarif="", junit="")
    check(rc == 0 and o.get("verdict") == "pass" and o.get("files") == "4", f"glob: {rc} {o} {log}")
    check(not os.path.exists(os.path.join(repo, "stcheck.sarif")), "sarif='' writes nothing")
    # policy + strict: ST139 as a warning fails only with strict
    rc, o, _ = run("policy", repo, paths="models/a.safetensors", policy="warn.json")
    check(rc == 0 and o.get("verdict") == "pass", f"policy: {rc} {o}")
    rc, o, log = run("strict", repo, paths="models/a.safetensors", policy="warn.json", strict="true")
    check(rc == 1 and "warning ST139" in log, f"strict: {rc} {o} {log}")
    # a shipped policy by name
    rc, o, log = run("named", repo, paths="models/a.safetensors", policy="strict")
    check(rc == 0, f"policy strict by name: {rc} {log}")
    # fail: false lets the step pass, the outputs still tell
    rc, o, _ = run("nofail", repo, paths="models/evil.pt", fail="false")
    check(rc == 0 and o.get("exit-code") == "1" and o.get("verdict") == "fail", f"nofail: {rc} {o}")
    # a missing file: could not check (2); a glob that matches nothing at all: usage error (3)
    rc, o, _ = run("missing", repo, paths="models/absent.bin")
    check(rc == 2 and o.get("verdict") == "could not check", f"missing: {rc} {o}")
    rc, o, log = run("nomatch", repo, paths="**/*.gguf", fail="false")
    check(rc == 3 and o.get("verdict") == "usage error" and "matched nothing" in log,
          f"nomatch: {rc} {o} {log}")
    # default input: the whole working folder
    rc, o, log = run("default", repo)
    check(rc == 1 and o.get("files") == "1" and "models/evil.pt: error ST201" in log,
          f"default paths: {rc} {o} {log}")


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
structure()
local_runs()
build_script()
if failures:
    print(f"action: {len(failures)} failure(s)")
    sys.exit(1)
print("action: ok")
