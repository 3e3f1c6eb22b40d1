#!/usr/bin/env python3
"""Every report format against golden files, SARIF against the official 2.1.0 schema.

    reports_test.py STCHECK SOURCE_DIR SARIF_SCHEMA [--update]

Runs stcheck from SOURCE_DIR over a fixed mixed set of files (pass, fail, could not check) in
every --format, and once more with --json-output/--sarif-output/--junit-output so one run feeds
every document; each output must equal tests/golden/<format>. Then:
- SARIF validates against the SARIF 2.1.0 schema (Draft 7, with format checks), installed from
  npm at test time by tests/sarif/fetch_schema.py (the CTest fixture sarif_schema), and meets what GitHub code scanning needs (rules, line-1 regions, byte ranges, relative URIs);
- JUnit parses as XML and its counters match its test cases;
- -j4 output is byte-identical to -j1 in every format.
--update rewrites the golden files (review the diff before committing).
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET


def need_jsonschema():
    """jsonschema may live only in Debian's interpreter (python3-jsonschema): re-run there."""
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
            os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
        sys.exit("reports_test: python3-jsonschema is required (ci/install-deps.sh --test installs it)")


need_jsonschema()
import jsonschema  # noqa: E402

FILES = [
    "corpus/safetensors/valid-basic.safetensors",
    "corpus/safetensors/ST114-duplicate-tensor.safetensors",
    "corpus/pickle/ST201-os-system-proto0.pkl",
    "corpus/pickle/ST202-unknown-class.pkl",
    "corpus/pickle/ST502-7z-archive.7z",
    "corpus/pytorch/valid-tar-checkpoint.tar",
    "corpus/pytorch/valid-state-dict.pt",
    "corpus/zip/zip-duplicate-name.zip",
    "corpus/numpy/ST404-object-benign.npy",
    "corpus/does-not-exist.safetensors",
]
FORMATS = ["text", "json", "jsonl", "sarif", "junit"]
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def run(stcheck, src, args):
    p = subprocess.run([stcheck, "--color", "never"] + args + FILES, cwd=src,
                       capture_output=True)
    if p.returncode != 2:  # the missing file: could not check wins over findings
        fail(f"{' '.join(args)}: exit {p.returncode}, expected 2: {p.stderr[-300:]!r}")
    return p.stdout


def golden(src, fmt, got, update):
    path = os.path.join(src, "tests", "golden", fmt)
    if update:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(got)
        return
    with open(path, "rb") as f:
        want = f.read()
    if got != want:
        fail(f"--format {fmt} differs from tests/golden/{fmt} (run with --update, review diff)")


def check_sarif(schema_path, text):
    with open(schema_path) as f:
        schema = json.load(f)
    doc = json.loads(text)
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    for e in list(validator.iter_errors(doc))[:10]:
        fail(f"SARIF schema: {e.message[:200]} at {list(e.absolute_path)}")
    run0 = doc["runs"][0]
    driver = run0["tool"]["driver"]
    for key in ("name", "version", "informationUri", "rules"):
        if key not in driver:
            fail(f"SARIF tool.driver lacks {key}")
    ids = [r["id"] for r in driver["rules"]]
    for r in driver["rules"]:
        for key in ("shortDescription", "fullDescription", "help", "defaultConfiguration"):
            if key not in r:
                fail(f"SARIF rule {r['id']} lacks {key}")
    if not run0["results"]:
        fail("SARIF: no results")
    for res in run0["results"]:
        if ids[res["ruleIndex"]] != res["ruleId"]:
            fail(f"SARIF ruleIndex does not name {res['ruleId']}")
        loc = res["locations"][0]["physicalLocation"]
        uri = loc["artifactLocation"]["uri"]
        if not uri.startswith("corpus/"):
            fail(f"SARIF uri {uri} is not relative to the working directory")
        if loc["region"] != {"startLine": 1}:
            fail(f"SARIF primary region {loc['region']} is not line 1")
        rel = res["relatedLocations"][0]["physicalLocation"]["region"]
        props = res["properties"]
        if rel["byteOffset"] != props["byteOffset"] or rel["byteLength"] != props["byteLength"]:
            fail("SARIF byte range differs between relatedLocations and properties")
        if not res.get("partialFingerprints"):
            fail("SARIF result without partialFingerprints")
    inv = run0["invocations"][0]
    if inv["executionSuccessful"] or not inv["toolExecutionNotifications"]:
        fail("SARIF: the unreadable file is not a tool execution notification")


def check_junit(text):
    root = ET.fromstring(text)
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    nfail = sum(1 for c in cases if c.find("failure") is not None)
    nerr = sum(1 for c in cases if c.find("error") is not None)
    for el in (root, suite):
        if (int(el.get("tests")), int(el.get("failures")), int(el.get("errors"))) != \
                (len(cases), nfail, nerr):
            fail(f"JUnit <{el.tag}> counters do not match its test cases")
    pairs = [(c.get("classname"), c.get("name")) for c in cases]
    if len(pairs) != len(set(pairs)):
        fail("JUnit: duplicate classname/name pairs (GitLab would drop them)")
    classnames = {c.get("classname") for c in cases}
    if classnames != set(FILES):
        fail(f"JUnit: classnames {sorted(classnames)} are not the checked files")
    missing = [c for c in cases if c.get("classname").endswith("does-not-exist.safetensors")]
    if not missing or missing[0].find("error") is None:
        fail("JUnit: the file that could not be checked is not an <error>")


def main():
    stcheck, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    schema = os.path.abspath(sys.argv[3])
    update = "--update" in sys.argv[4:]
    outs = {}
    for fmt in FORMATS:
        outs[fmt] = run(stcheck, src, ["-j1", "-f", fmt])
        golden(src, fmt, outs[fmt], update)
        if run(stcheck, src, ["-j4", "-f", fmt]) != outs[fmt]:
            fail(f"--format {fmt}: -j4 output differs from -j1")
    with tempfile.TemporaryDirectory() as tmp:
        docs = {k: os.path.join(tmp, k) for k in ("json", "sarif", "junit")}
        text = run(stcheck, src, ["-j2", "--json-output", docs["json"], "--sarif-output",
                                  docs["sarif"], "--junit-output", docs["junit"]])
        if text != outs["text"]:
            fail("text output changes when documents are also written to files")
        for k, path in docs.items():
            with open(path, "rb") as f:
                if f.read() != outs[k]:
                    fail(f"--{k}-output differs from --format {k}")
    check_sarif(schema, outs["sarif"])
    check_junit(outs["junit"])
    for line in outs["jsonl"].splitlines():
        json.loads(line)
    print(f"reports: {len(FORMATS)} formats over {len(FILES)} files, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
