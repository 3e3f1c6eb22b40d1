"""stcheck.guard with Debian's torch, numpy and joblib: a passing file loads through the real
loader from the descriptor that was checked; anything else raises before the loader is called."""

import os
import sys
import types

import joblib
import numpy as np
import pytest
import torch

import stcheck
import stcheck.guard as guard
from conftest import EVIL_PICKLE, safetensors_bytes


def ids(report):
    return [f.id for f in report.findings]


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}, path)
    return path


def test_torch_load_passes_through(checkpoint):
    state = guard.torch_load(checkpoint, map_location="cpu")
    assert list(state) == ["w"]
    assert torch.equal(state["w"], torch.arange(6, dtype=torch.float32).reshape(2, 3))


def test_torch_load_refuses_before_loading(tmp_path, monkeypatch):
    evil = tmp_path / "evil.pt"
    evil.write_bytes(EVIL_PICKLE)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was called"))
    with pytest.raises(stcheck.UnsafeModelError) as e:
        guard.torch_load(evil)
    assert [r.verdict for r in e.value.reports] == ["fail"]
    assert [f.id for f in e.value.findings] == ["ST201"]
    assert "ST201" in str(e.value)


def test_torch_load_gets_the_checked_descriptor(checkpoint, tmp_path, monkeypatch):
    """The path is swapped for a malicious file after the check: the loader still reads the
    checked file, because it is handed the open file, never the path."""
    real_load = torch.load
    seen = {}

    def swapping_load(f, **kw):
        seen["pos"] = f.tell()
        seen["ino"] = os.fstat(f.fileno()).st_ino
        evil = tmp_path / "swap"
        evil.write_bytes(EVIL_PICKLE)
        os.replace(evil, checkpoint)  # the attacker's swap, after the check
        return real_load(f, **kw)

    ino = os.stat(checkpoint).st_ino
    monkeypatch.setattr(torch, "load", swapping_load)
    state = guard.torch_load(checkpoint, map_location="cpu")
    assert seen == {"pos": 0, "ino": ino}
    assert torch.equal(state["w"], torch.arange(6, dtype=torch.float32).reshape(2, 3))
    assert stcheck.check(checkpoint).verdict == "fail"  # the path now holds the swapped file


def test_fail_and_error_verdicts_refuse(tmp_path, checkpoint):
    cut = tmp_path / "cut.pt"
    cut.write_bytes(b"PK\x03\x04")
    with pytest.raises(stcheck.UnsafeModelError) as e:
        guard.torch_load(cut)
    assert [(r.verdict, ids(r)) for r in e.value.reports] == [("fail", ["ST310"])]
    # "could not check" (a limit reached) refuses too: fail closed
    tight = {"limits": {"pickle_opcodes": 3}}
    with pytest.raises(stcheck.UnsafeModelError) as e:
        guard.torch_load(checkpoint, policy=tight)
    [r] = e.value.reports
    assert (r.verdict, r.error, ids(r)) == ("error", "limit reached", ["ST901"])
    with pytest.raises(FileNotFoundError):
        guard.torch_load(tmp_path / "absent.pt")


def test_joblib_load(tmp_path, monkeypatch):
    path = tmp_path / "model.joblib"
    joblib.dump({"coef": np.arange(4.0)}, path)
    obj = guard.joblib_load(path)
    assert np.array_equal(obj["coef"], np.arange(4.0))
    evil = tmp_path / "evil.joblib"
    evil.write_bytes(EVIL_PICKLE)
    monkeypatch.setattr(joblib, "load", lambda *a, **k: pytest.fail("joblib.load was called"))
    with pytest.raises(stcheck.UnsafeModelError) as e:
        guard.joblib_load(evil)
    assert [f.id for f in e.value.findings] == ["ST201"]


def test_safetensors_load_hands_over_the_checked_bytes(tmp_path, monkeypatch):
    """Debian has no python3-safetensors: a stand-in module records what it is given (the real
    package's safetensors.torch.load takes the same bytes)."""
    got = []
    pkg = types.ModuleType("safetensors")
    mod = types.ModuleType("safetensors.torch")
    mod.load = lambda data: got.append(data) or {"w": "loaded"}
    monkeypatch.setitem(sys.modules, "safetensors", pkg)
    monkeypatch.setitem(sys.modules, "safetensors.torch", mod)
    path = tmp_path / "model.safetensors"
    path.write_bytes(safetensors_bytes())
    assert guard.safetensors_load(path, "torch") == {"w": "loaded"}
    assert got == [safetensors_bytes()]
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(b"\x50\x00\x00\x00\x00\x00\x00\x00{")
    with pytest.raises(stcheck.UnsafeModelError) as e:
        guard.safetensors_load(cut, "torch")
    assert [f.id for f in e.value.findings] == ["ST104"]
    assert len(got) == 1
    monkeypatch.setitem(sys.modules, "safetensors.torch", None)
    with pytest.raises(ImportError):
        guard.safetensors_load(path, "torch")


def _hf_cache(root, blobs):
    """A huggingface_hub cache repository: snapshots/REV/NAME -> ../../blobs/HASH."""
    repo = root / "models--org--model"
    (repo / "blobs").mkdir(parents=True)
    snap = repo / "snapshots" / "0123abcd"
    snap.mkdir(parents=True)
    for i, (name, data) in enumerate(blobs.items()):
        (repo / "blobs" / f"blob{i}").write_bytes(data)
        os.symlink(f"../../blobs/blob{i}", snap / name)
    return snap


def test_check_snapshot(tmp_path):
    snap = _hf_cache(tmp_path, {"model.safetensors": safetensors_bytes(),
                                "config.json": b'{"model_type": "x"}'})
    reports = guard.check_snapshot(snap)
    assert [(os.path.basename(r.path), r.verdict, ids(r)) for r in reports] == [
        ("config.json", "pass", ["ST605", "ST608"]),
        ("model.safetensors", "pass", ["ST605"]),
    ]
    bad = _hf_cache(tmp_path / "b", {"model.safetensors": safetensors_bytes(),
                                     "pytorch_model.bin": EVIL_PICKLE})
    with pytest.raises(stcheck.UnsafeModelError) as e:
        guard.check_snapshot(bad)
    assert [(os.path.basename(r.path), ids(r)) for r in e.value.reports] == [
        ("pytorch_model.bin", ["ST605", "ST201"])]
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "model.safetensors").write_bytes(safetensors_bytes())
    assert [r.verdict for r in guard.check_snapshot(plain)] == ["pass"]
    (plain / "evil.pkl").write_bytes(EVIL_PICKLE)
    with pytest.raises(stcheck.UnsafeModelError):
        guard.check_snapshot(plain)


def test_checked_open(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(safetensors_bytes())
    with guard.checked_open(path) as f:
        assert f.read() == safetensors_bytes()
