"""Fixtures made at test time with Debian's numpy/torch/joblib (dumped, never loaded from an
untrusted source) and hand-written hostile pickles (never loaded at all)."""

import json
import pickle
import struct

import pytest

# GLOBAL os.system, then REDUCE: what a malicious checkpoint does (never unpickled here).
EVIL_PICKLE = b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03."


def safetensors_bytes(pad: bool = True) -> bytes:
    """One F32 tensor "w" = [1.0]; pad=False leaves the data section misaligned (ST139, info)."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})
    if pad:
        header += " " * (-(8 + len(header)) % 8)
    h = header.encode()
    return struct.pack("<Q", len(h)) + h + struct.pack("<f", 1.0)


@pytest.fixture
def files(tmp_path):
    d = tmp_path / "files"
    d.mkdir()
    (d / "good.pkl").write_bytes(pickle.dumps({"a": [1, 2, 3]}, protocol=2))
    (d / "evil.pkl").write_bytes(EVIL_PICKLE)
    (d / "model.safetensors").write_bytes(safetensors_bytes())
    (d / "odd.safetensors").write_bytes(safetensors_bytes(pad=False))
    (d / "cut.safetensors").write_bytes(b"\x50\x00\x00\x00\x00\x00\x00\x00{")
    return d


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skipped test is a failed one (a missing module is an install bug: ci/test-deps.txt)."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped, which counts as a failure here: {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """A module skipped while collected (pytest.importorskip) fails too."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped, which counts as a failure here: {report.longrepr}"
