"""stcheck.check and friends over the library built in the same build folder (tests/python_test.sh)."""

import ctypes
import importlib.metadata
import importlib.resources
import inspect
import json
import os
import pickle
import re
import select
import socket
import threading
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


def test_public_api_is_typed_and_documented():
    """py.typed is installed; every public function and class has a docstring, and every
    function annotates its parameters and its return."""
    import stcheck.guard

    assert importlib.resources.files("stcheck").joinpath("py.typed").is_file()
    names = [(stcheck, n) for n in stcheck.__all__ if n != "__version__"]
    names += [(stcheck.guard, n) for n in stcheck.guard.__all__]
    assert len(names) > 20
    for mod, n in names:
        obj = getattr(mod, n)
        assert inspect.getdoc(obj), n
        if inspect.isfunction(obj):
            sig = inspect.signature(obj)
            assert sig.return_annotation is not inspect.Signature.empty, n
            for p in sig.parameters.values():
                if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                    assert p.annotation is not inspect.Parameter.empty, (n, p.name)


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
    # no exception for a file that cannot be checked: content of no known format, a folder
    unknown = stcheck.check(bytes(range(256)) * 2, name="blob")
    assert (unknown.verdict, unknown.error, ids(unknown)) == ("error", "unsupported format", ["ST903"])
    folder = stcheck.check(files)
    assert (folder.verdict, folder.passed, folder.error, ids(folder)) == (
        "error", False, "not a regular file", ["ST601"])
    assert folder.to_dict()["files"][0]["verdict"] == "could not check"


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


def test_a_path_is_never_fetched(tmp_path, monkeypatch):
    """check() given URLs of a local server (hf:// resolved there through HF_ENDPOINT) reads
    them as file names: "could not check" (ST902), and the server is never connected to. The
    same hf:// URL through check_url does reach it (the counter works)."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    base = "http://127.0.0.1:%d" % srv.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", base)
    monkeypatch.chdir(tmp_path)
    urls = [base + "/model.safetensors", "hf://org/model/model.safetensors",
            "https://127.0.0.1:%d/x.pt" % srv.getsockname()[1]]
    reports = [stcheck.check(u) for u in urls] + stcheck.check_many(urls, jobs=2)
    assert [(r.verdict, ids(r)) for r in reports] == [("error", ["ST902"])] * 6
    assert [r.path for r in reports] == urls * 2
    assert select.select([srv], [], [], 0.5)[0] == []  # no connection is waiting
    srv.settimeout(0)
    with pytest.raises(BlockingIOError):
        srv.accept()
    if stcheck.remote_supported():
        t = threading.Thread(target=lambda: stcheck.check_url(urls[1]))
        t.start()
        srv.settimeout(30)
        conn, _ = srv.accept()
        request = conn.recv(4096)
        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        conn.close()
        t.join()
        assert request.startswith(b"GET /org/model/resolve/") or request.startswith(b"HEAD /")
    srv.close()


def test_calls_go_through_cdll_not_pydll():
    """ctypes releases the GIL around calls of a CDLL's functions; a PyDLL's keep it."""
    lib = stcheck._L
    assert isinstance(lib, ctypes.CDLL) and not isinstance(lib, ctypes.PyDLL)
    assert lib._func_flags_ & ctypes._FUNCFLAG_PYTHONAPI == 0
    for name in ("st_check_path", "st_check_fd", "st_check_buffer", "st_tree_check"):
        assert type(getattr(lib, name))._flags_ & ctypes._FUNCFLAG_PYTHONAPI == 0, name


def test_findings_are_the_library_report(files):
    """Every field of Report, Finding and Import is the C report's: the JSON document the
    library writes for the same report says the same."""
    for name in ("evil.pkl", "odd.safetensors", "cut.safetensors", "absent"):
        r = stcheck.check(files / name)
        [doc] = r.to_dict()["files"]
        assert doc["verdict"] == {"pass": "pass", "fail": "fail", "error": "could not check"}[r.verdict]
        assert [(f["id"], f["severity"], f["message"], f["offset"], f["length"])
                for f in doc["findings"]] == [(f.id, f.severity, f.message, f.offset, f.length)
                                              for f in r.findings]
        assert [f.rule for f in r.findings] == [
            stcheck._L.st_rule_find(f.id.encode()).contents.title.decode() for f in r.findings]
        assert [(i["module"], i["name"], i["member"], i["judgement"], i["offset"], i["count"])
                for i in doc.get("imports", [])] == [
            (i.module, i.name, i.member, i.judgement, i.offset, i.count) for i in r.imports]
    assert stcheck.check(files / "evil.pkl").imports  # the comparison above is not vacuous


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
    assert stcheck.Policy.load("default").to_dict() == stcheck.Policy.from_dict({}).to_dict()
    with pytest.raises(stcheck.PolicyError, match=r"^nope: unknown key"):
        stcheck.Policy.from_dict({"nope": 1})
    with pytest.raises(stcheck.PolicyError, match="no shipped policy"):
        stcheck.Policy.load("no-such-policy")
    with pytest.raises(TypeError):
        stcheck.check(odd, policy=3)


def test_shipped_names_beat_files_in_the_working_folder(files, tmp_path, monkeypatch):
    # A checkout under review can add a file called "strict" or "registry.json"; the name still
    # means the shipped policy, and only a path ("./strict") means the file.
    (tmp_path / "strict").write_text('{"fail_on": "none"}')
    (tmp_path / "registry.json").write_text('{"fail_on": "none"}')
    (tmp_path / "mine").write_text('{"fail_on": "none"}')
    monkeypatch.chdir(tmp_path)
    assert stcheck.Policy.load("strict").to_dict()["fail_on"] == "warning"
    assert stcheck.Policy.load("registry.json").to_dict()["fail_on"] == "warning"
    assert stcheck.Policy.load("./strict").to_dict()["fail_on"] == "none"
    assert stcheck.Policy.load("mine").to_dict()["fail_on"] == "none"
    from pathlib import Path
    assert stcheck.Policy.load(Path("strict")).to_dict()["fail_on"] == "none"  # a path object


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
    # threads change nothing: the same documents as one at a time, and as check()
    one = [r.to_json() for r in stcheck.check_many(paths, jobs=1)]
    assert [r.to_json() for r in reports] == one
    assert [stcheck.check(p).to_json() for p in paths] == one
    assert [r.verdict for r in stcheck.check_many(paths[:2], jobs=1)] == ["pass", "fail"]


def test_checks_release_the_gil():
    """A check runs in the library with the GIL released (ctypes.CDLL), shown without timing:
    the worker's check of a URL waits inside the library for an answer that only this thread
    sends. This thread gets past accept() (back into Python, holding the GIL) while the worker
    is still inside that call, so the check is unfinished when this thread looks. Were the GIL
    held during library calls, this thread could not run again until the worker's call had
    given up on the server (its timeouts: with ctypes.PyDLL this test fails after them, checked
    by hand)."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    url = "http://127.0.0.1:%d/model.safetensors" % srv.getsockname()[1]
    state = {}

    def work():
        state["report"] = stcheck.check_url(url)

    t = threading.Thread(target=work)
    t.start()
    conn, _ = srv.accept()
    unfinished = "report" not in state
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = conn.recv(4096)
        if not chunk:
            break
        request += chunk
    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    conn.close()
    t.join()
    srv.close()
    assert unfinished
    assert request.startswith(b"GET /model.safetensors ")
    # the answer this thread sent is the one the check got (not a timeout of its own)
    r = state["report"]
    assert r.verdict == "error"
    assert [(f.id, f.message.endswith("HTTP status 404")) for f in r.findings] == [("ST640", True)]


def test_check_many_in_threads(tmp_path):
    """check_many with several threads gives each file its own report, in the order given."""
    good = tmp_path / "good.pkl"
    good.write_bytes(b"\x80\x02N.")
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(EVIL_PICKLE)
    reports = stcheck.check_many([good, evil, good, evil], jobs=3)
    assert [r.verdict for r in reports] == ["pass", "fail", "pass", "fail"]
    assert [os.path.basename(r.path) for r in reports] == ["good.pkl", "evil.pkl"] * 2


def test_check_tree(files):
    reports = stcheck.check_tree(files)
    assert {os.path.basename(r.path): r.verdict for r in reports} == {
        "cut.safetensors": "fail", "evil.pkl": "fail", "good.pkl": "pass",
        "model.safetensors": "pass", "odd.safetensors": "pass"}
