"""stcheck.check and friends over the library built in the same build folder (tests/python_test.sh)."""

import importlib.metadata
import json
import os
import pickle
import re
import threading
import time
import xml.etree.ElementTree as ET

import pytest

import stcheck
from conftest import EVIL_PICKLE

HEADER = os.path.join(os.path.dirname(__file__), "..", "..", "..", "include", "stcheck.h")


def ids(report):
    return [f.id for f in report.findings]


def test_versions_come_from_the_library():
    assert stcheck.api_version() == 1
    assert stcheck._lib.API_VERSION == 1
    assert stcheck.__version__ == stcheck.library_version()
    assert importlib.metadata.version("stcheck") == stcheck.__version__
    if os.path.exists(HEADER):  # the source tree beside the installed copy
        with open(HEADER) as f:
            assert re.search(r'ST_VERSION_STRING "([^"]+)"', f.read()).group(1) == stcheck.__version__


def test_pass_fail_error(files):
    good = stcheck.check(files / "good.pkl")
    assert (good.verdict, good.passed, ids(good), good.error) == ("pass", True, [], None)
    assert good.format == "pickle" and good.imports == []
    evil = stcheck.check(str(files / "evil.pkl"))
    assert (evil.verdict, evil.passed, ids(evil)) == ("fail", False, ["ST201"])
    f = evil.findings[0]
    assert (f.severity, f.offset, f.length, f.rule) == ("error", 2, 1, "pickle-malicious-global")
    assert f.message == "GLOBAL imports os.system (known dangerous)"
    assert evil.imports == [stcheck.Import("os", "system", "", "malicious", 2, 1)]
    cut = stcheck.check(files / "cut.safetensors")
    assert (cut.verdict, ids(cut)) == ("fail", ["ST104"])
    missing = stcheck.check(files / "absent.bin")
    assert (missing.verdict, missing.passed, ids(missing)) == ("error", False, ["ST902"])
    assert missing.error == "i/o error"


def test_bytes_and_open_files(files):
    r = stcheck.check(EVIL_PICKLE, name="upload.pkl")
    assert (r.path, r.verdict, ids(r)) == ("upload.pkl", "fail", ["ST201"])
    assert stcheck.check(bytearray(pickle.dumps([1]))).verdict == "pass"
    assert stcheck.check(memoryview(EVIL_PICKLE)).verdict == "fail"
    with open(files / "evil.pkl", "rb") as f:
        f.read(3)  # the descriptor is checked from its start, whatever the position
        r = stcheck.check(f)
    assert (r.verdict, ids(r)) == ("fail", ["ST201"])
    with open(files / "model.safetensors", "rb") as f:
        r = stcheck.check_fd(f.fileno(), "m.safetensors", digest=True)
    assert (r.path, r.verdict, r.format, r.file_size) == ("m.safetensors", "pass", "safetensors", 76)
    assert re.fullmatch("[0-9a-f]{64}", r.sha256)


def test_a_path_is_never_fetched():
    r = stcheck.check("http://127.0.0.1:9/model.safetensors")
    assert (r.verdict, ids(r)) == ("error", ["ST902"])


def test_check_url():
    if not stcheck.remote_supported():  # a library built with STCHECK_REMOTE=OFF
        with pytest.raises(stcheck.RemoteUnsupportedError, match="without remote checks"):
            stcheck.check_url("http://127.0.0.1:1/model.safetensors")
        return
    r = stcheck.check_url("http://127.0.0.1:1/model.safetensors")  # nothing listens on port 1
    assert (r.verdict, ids(r)) == ("error", ["ST640"])
    with pytest.raises(TypeError):
        stcheck.check_url(b"http://x/")


def test_documents(files):
    evil = stcheck.check(files / "evil.pkl")
    doc = json.loads(evil.to_json())
    assert doc == evil.to_dict()
    [entry] = doc["files"]
    assert entry["verdict"] == "fail"
    assert [f["id"] for f in entry["findings"]] == ["ST201"]
    sarif = json.loads(evil.to_sarif())
    assert sarif["version"] == "2.1.0"
    assert [res["ruleId"] for res in sarif["runs"][0]["results"]] == ["ST201"]
    junit = ET.fromstring(evil.to_junit())
    assert len(junit.findall(".//failure")) == 1
    both = json.loads(stcheck.write_document([evil, stcheck.check(files / "good.pkl")]))
    assert [f["verdict"] for f in both["files"]] == ["fail", "pass"]
    with pytest.raises(ValueError):
        stcheck.write_document([evil], "yaml")


def test_policies(files, tmp_path):
    odd = files / "odd.safetensors"
    r = stcheck.check(odd)
    assert (r.verdict, ids(r)) == ("pass", ["ST139"])
    assert r.findings[0].severity == "info"
    warn = stcheck.Policy.from_dict({"severity": {"ST139": "warning"}})
    assert stcheck.check(odd, policy=warn).verdict == "pass"
    r = stcheck.check(odd, policy=warn, strict=True)
    assert (r.verdict, ids(r), r.findings[0].severity) == ("fail", ["ST139"], "warning")
    # the same policy as a dict and as a file
    assert stcheck.check(odd, policy={"severity": {"ST139": "error"}}).verdict == "fail"
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"severity": {"ST139": "error"}}))
    assert stcheck.check(odd, policy=str(p)).verdict == "fail"
    assert stcheck.Policy.load(p).to_dict()["severity"]["ST139"] == "error"
    # shipped policies by name, found beside the installed library
    strict = stcheck.Policy.load("strict")
    assert strict.to_dict()["fail_on"] == "warning"
    with pytest.raises(stcheck.PolicyError, match=r"^nope: unknown key"):
        stcheck.Policy.from_dict({"nope": 1})
    with pytest.raises(stcheck.PolicyError, match="no shipped policy"):
        stcheck.Policy.load("no-such-policy")
    with pytest.raises(TypeError):
        stcheck.check(odd, policy=3)


def test_usage_errors_raise(files):
    with pytest.raises(TypeError):
        stcheck.check(42)
    with pytest.raises(ValueError, match="NUL"):
        stcheck.check("a\0b")
    with pytest.raises(ValueError):
        stcheck.check_many([files / "good.pkl"], jobs=0)
    with pytest.raises(TypeError):
        stcheck.check_fd("3")


def test_check_many_keeps_order(files):
    paths = [files / n for n in ("good.pkl", "evil.pkl", "cut.safetensors", "absent", "model.safetensors")] * 4
    reports = stcheck.check_many(paths, jobs=3)
    assert [r.verdict for r in reports] == ["pass", "fail", "fail", "error", "pass"] * 4
    assert [r.path for r in reports] == [str(p) for p in paths]
    assert [r.verdict for r in stcheck.check_many(paths[:2], jobs=1)] == ["pass", "fail"]


def test_check_many_releases_the_gil(tmp_path):
    """While a long check runs in the library, Python threads keep running: the longest pause
    the main thread sees is a small part of the check's duration (with the GIL held it would be
    all of it)."""
    big = tmp_path / "big.pkl"
    # a pickle of many small opcodes: seconds of work in the pickle walker, no allocation
    big.write_bytes(b"\x80\x02" + b"N0" * 8_000_000 + b"N.")
    done = threading.Event()
    result = {}

    def work():
        t0 = time.monotonic()
        result["reports"] = stcheck.check_many([big, big], jobs=2)
        result["seconds"] = time.monotonic() - t0
        done.set()

    t = threading.Thread(target=work)
    t.start()
    gap, last = 0.0, time.monotonic()
    while not done.is_set():
        now = time.monotonic()
        gap, last = max(gap, now - last), now
        time.sleep(0.001)
    t.join()
    assert [r.verdict for r in result["reports"]] == ["pass", "pass"]
    assert result["seconds"] > 0.2, result
    assert gap < result["seconds"] / 2, (gap, result)


def test_check_tree(files):
    reports = stcheck.check_tree(files)
    assert {os.path.basename(r.path): r.verdict for r in reports} == {
        "cut.safetensors": "fail", "evil.pkl": "fail", "good.pkl": "pass",
        "model.safetensors": "pass", "odd.safetensors": "pass"}
