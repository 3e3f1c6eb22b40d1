"""stcheck.guard with Debian's torch, numpy and joblib: a passing file loads through the real
loader from the descriptor that was checked; anything else raises before the loader is called."""

import fcntl
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


def _stand_in_safetensors(monkeypatch, got):
    """Debian has no python3-safetensors: stand-in modules safetensors.torch and
    safetensors.numpy record the object they are given (the real package's load(data) takes the
    same bytes)."""
    pkg = types.ModuleType("safetensors")
    for sub in ("torch", "numpy"):
        mod = types.ModuleType("safetensors." + sub)
        mod.load = lambda data, sub=sub: got.append((sub, data)) or {"w": sub}
        monkeypatch.setitem(sys.modules, "safetensors." + sub, mod)
    monkeypatch.setitem(sys.modules, "safetensors", pkg)


class _RecordingLib:
    """stcheck's CDLL, recording the buffers given to st_check_buffer."""

    def __init__(self, lib, seen):
        self._lib, self._seen = lib, seen

    def __getattr__(self, name):
        return getattr(self._lib, name)

    def st_check_buffer(self, ctx, data, size, name):
        self._seen.append(data)
        return self._lib.st_check_buffer(ctx, data, size, name)


def test_safetensors_load_hands_over_the_checked_bytes(tmp_path, monkeypatch):
    got, checked = [], []
    _stand_in_safetensors(monkeypatch, got)
    monkeypatch.setattr(guard, "_L", _RecordingLib(guard._L, checked))
    path = tmp_path / "model.safetensors"
    path.write_bytes(safetensors_bytes())
    assert guard.safetensors_load(path) == {"w": "torch"}  # framework "pt": safetensors.torch
    assert guard.safetensors_load(path, "numpy") == {"w": "numpy"}
    assert [sub for sub, _ in got] == ["torch", "numpy"]
    # the object checked by the library is the very object handed to safetensors
    assert [d for _, d in got] == [safetensors_bytes()] * 2
    assert [id(d) for _, d in got] == [id(d) for d in checked]
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(b"\x50\x00\x00\x00\x00\x00\x00\x00{")
    with pytest.raises(stcheck.UnsafeModelError) as e:
        guard.safetensors_load(cut)
    assert [(r.verdict, ids(r)) for r in e.value.reports] == [("fail", ["ST104"])]
    assert len(got) == 2
    with pytest.raises(ValueError, match="unknown framework"):
        guard.safetensors_load(path, "pytorch")
    monkeypatch.setitem(sys.modules, "safetensors.torch", None)
    with pytest.raises(ImportError, match="needs the safetensors package"):
        guard.safetensors_load(path)


def test_safetensors_load_ignores_writes_after_the_read(tmp_path, monkeypatch):
    """The file is rewritten in place (same inode) between the read and the check: the check
    and the load both see the bytes read, never the file's new content."""
    got = []
    _stand_in_safetensors(monkeypatch, got)
    path = tmp_path / "model.safetensors"
    path.write_bytes(safetensors_bytes())
    real_context = guard._context

    def context_then_write(*a, **k):  # called after the read, before the check
        with open(path, "r+b") as w:
            w.write(b"\x50\x00\x00\x00\x00\x00\x00\x00{")
            w.truncate()
        return real_context(*a, **k)

    monkeypatch.setattr(guard, "_context", context_then_write)
    assert guard.safetensors_load(path) == {"w": "torch"}
    assert got == [("torch", safetensors_bytes())]
    assert stcheck.check(path).verdict == "fail"  # the file now holds the cut header


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
    # a link out of the cache repository, and one whose blob is missing: refused
    outside = tmp_path / "outside.safetensors"
    outside.write_bytes(safetensors_bytes())
    odd = _hf_cache(tmp_path / "c", {"model.safetensors": safetensors_bytes()})
    os.symlink(outside, odd / "escape.safetensors")
    os.symlink("../../blobs/missing", odd / "partial.safetensors")
    with pytest.raises(stcheck.UnsafeModelError) as e:
        guard.check_snapshot(odd)
    assert sorted((os.path.basename(r.path), ids(r)) for r in e.value.reports) == [
        ("escape.safetensors", ["ST604"]), ("partial.safetensors", ["ST602"])]
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
        assert os.fstat(f.fileno()).st_ino != os.stat(path).st_ino  # the private copy
        assert fcntl.fcntl(f.fileno(), fcntl.F_GET_SEALS) & fcntl.F_SEAL_WRITE
    with guard.checked_open(path, private_copy=False) as f:
        assert f.read() == safetensors_bytes()
        assert os.fstat(f.fileno()).st_ino == os.stat(path).st_ino  # the file opened
    path.write_bytes(EVIL_PICKLE)
    for private_copy in (True, False):
        with pytest.raises(stcheck.UnsafeModelError):
            guard.checked_open(path, private_copy=private_copy)


def _swap(how, path, data, tmp_path):
    """The attacker's move: path now names other bytes (a rename over it, a symlink re-pointed,
    or the same file rewritten in place)."""
    if how == "write":
        with open(path, "r+b") as w:
            w.write(data)
            w.truncate()
        return
    other = tmp_path / ("other-" + os.urandom(4).hex())
    other.write_bytes(data)
    if how == "rename":
        os.replace(other, path)
    else:
        link = tmp_path / "link-tmp"
        os.symlink(other, link)
        os.replace(link, path)


@pytest.fixture
def linked_checkpoint(checkpoint, tmp_path):
    """model-link.pt -> model.pt (a symlink, as in a huggingface_hub snapshot)."""
    link = tmp_path / "model-link.pt"
    os.symlink(checkpoint, link)
    return link


WANT = torch.arange(6, dtype=torch.float32).reshape(2, 3)


@pytest.mark.parametrize("how", ["rename", "symlink", "write"])
def test_swap_after_the_check_never_reaches_torch_load(how, linked_checkpoint, tmp_path,
                                                        monkeypatch):
    """After the check, before the loader reads, the path (or the file itself) is changed to
    other bytes (another checkpoint: were they ever loaded, nothing would run): torch.load reads
    the checked bytes, from a sealed copy."""
    real_load = torch.load
    seen = {}
    other = tmp_path / "other.pt"
    torch.save({"w": torch.zeros(1)}, other)
    swapped = other.read_bytes()

    def swapping_load(f, **kw):
        seen["pos"] = f.tell()
        seals = fcntl.fcntl(f.fileno(), fcntl.F_GET_SEALS)
        seen["sealed"] = seals & (fcntl.F_SEAL_WRITE | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK)
        _swap(how, linked_checkpoint if how == "symlink" else linked_checkpoint.resolve(),
              swapped, tmp_path)
        w = os.open(f"/proc/self/fd/{f.fileno()}", os.O_WRONLY)
        try:
            with pytest.raises(PermissionError):  # not even this process can change the copy
                os.write(w, b"x")
        finally:
            os.close(w)
        return real_load(f, **kw)

    monkeypatch.setattr(torch, "load", swapping_load)
    state = guard.torch_load(linked_checkpoint, map_location="cpu")
    assert seen == {"pos": 0, "sealed": fcntl.F_SEAL_WRITE | fcntl.F_SEAL_GROW
                    | fcntl.F_SEAL_SHRINK}
    assert torch.equal(state["w"], WANT)
    with open(linked_checkpoint, "rb") as f:
        assert f.read() == swapped  # the path now gives the other bytes


@pytest.mark.parametrize("how", ["rename", "symlink", "write"])
def test_without_a_private_copy(how, linked_checkpoint, tmp_path, monkeypatch):
    """private_copy=False hands over the original open file: path swaps still miss it, a write
    into the file itself does not (what the default copy is for). The swapped-in pickle is
    only read back here, never unpickled."""
    seen = {}

    def reading_load(f, **kw):
        seen["ino"] = os.fstat(f.fileno()).st_ino
        _swap(how, linked_checkpoint if how == "symlink" else linked_checkpoint.resolve(),
              EVIL_PICKLE, tmp_path)
        seen["evil"] = f.read() == EVIL_PICKLE
        return "loaded"

    ino = os.stat(linked_checkpoint).st_ino
    monkeypatch.setattr(torch, "load", reading_load)
    assert guard.torch_load(linked_checkpoint, private_copy=False) == "loaded"
    assert seen == {"ino": ino, "evil": how == "write"}


@pytest.mark.parametrize("private_copy", [True, False])
def test_the_check_reads_the_opened_file_not_the_path(private_copy, checkpoint, tmp_path,
                                                      monkeypatch):
    """The path is swapped after the open and before the check (the check's context is made
    after the open): the check sees the opened bytes both ways round. A failing file (a cut
    zip: a loader given it raises, nothing runs) opened, then replaced by a good one, is
    refused; a good one replaced by a failing one loads."""
    evil = tmp_path / "cut.pt"
    evil.write_bytes(b"PK\x03\x04")
    real_context = guard._context
    swaps = []

    def context_after_swap(*a, **k):
        src, data = swaps.pop()
        _swap("rename", src, data, tmp_path)
        return real_context(*a, **k)

    monkeypatch.setattr(guard, "_context", context_after_swap)
    swaps.append((evil, checkpoint.read_bytes()))
    with pytest.raises(stcheck.UnsafeModelError) as e:
        guard.torch_load(evil, private_copy=private_copy)
    assert [(r.verdict, ids(r)) for r in e.value.reports] == [("fail", ["ST310"])]
    assert stcheck.check(evil).verdict == "pass"  # the path now holds the good checkpoint
    swaps.append((checkpoint, b"PK\x03\x04"))
    state = guard.torch_load(checkpoint, private_copy=private_copy, map_location="cpu")
    assert torch.equal(state["w"], WANT)
    assert stcheck.check(checkpoint).verdict == "fail"


def test_joblib_load_from_the_sealed_copy(tmp_path, monkeypatch):
    path = tmp_path / "model.joblib"
    joblib.dump({"coef": np.arange(4.0)}, path)
    real_load = joblib.load

    other = tmp_path / "other.joblib"
    joblib.dump({"coef": np.zeros(1)}, other)

    def swapping_load(f, **kw):
        _swap("write", path, other.read_bytes(), tmp_path)
        return real_load(f, **kw)

    monkeypatch.setattr(joblib, "load", swapping_load)
    obj = guard.joblib_load(path)
    assert np.array_equal(obj["coef"], np.arange(4.0))
    assert path.read_bytes() == other.read_bytes()


def test_only_regular_files_are_opened_and_copied(tmp_path):
    """A FIFO (its open would block), /dev/zero (a copy without end) and a folder at the path:
    refused with the library's ST601 on the opened descriptor, without hanging or reading."""
    fifo = tmp_path / "model.pt"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.pt"
    os.symlink("/dev/zero", zero)
    for path in (fifo, zero, tmp_path):
        for load in (guard.torch_load, guard.joblib_load, guard.safetensors_load,
                     guard.checked_open):
            with pytest.raises(stcheck.UnsafeModelError) as e:
                load(path)
            assert [(r.verdict, r.error, ids(r)) for r in e.value.reports] == [
                ("error", "not a regular file", ["ST601"])], (path, load)


def test_a_growing_file_is_read_to_its_size_when_opened(tmp_path, monkeypatch):
    """Bytes appended after the open (an endless writer could append forever) are not copied:
    what is checked and loaded is the file as it was opened."""
    path = tmp_path / "model.pt"
    torch.save({"w": WANT}, path)
    real_copy = guard._copy_fd

    def append_then_copy(src, dst, size):
        with open(path, "ab") as w:
            w.write(b"\0" * 4096)
        return real_copy(src, dst, size)

    monkeypatch.setattr(guard, "_copy_fd", append_then_copy)
    with guard.checked_open(path) as f:
        assert os.fstat(f.fileno()).st_size == os.stat(path).st_size - 4096
    torch.save({"w": WANT}, path)
    state = guard.torch_load(path)
    assert torch.equal(state["w"], WANT)


def test_legacy_checkpoint_from_the_sealed_copy(tmp_path):
    """torch's legacy (pre-zip) format reads storages straight from the descriptor
    (_should_read_directly): that descriptor is the sealed copy's, and the tensors come out."""
    path = tmp_path / "legacy.pt"
    torch.save({"w": WANT}, path, _use_new_zipfile_serialization=False)
    assert stcheck.check(path).format == "pytorch-legacy"
    state = guard.torch_load(path, map_location="cpu")
    assert torch.equal(state["w"], WANT)
