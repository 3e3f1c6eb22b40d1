"""Guards to put in front of a load: check the file, then load the very bytes that were checked.

Each helper opens the file once, checks that descriptor (st_check_fd), raises
stcheck.UnsafeModelError unless the verdict is "pass", and only then hands the same open file to
the real loader, imported lazily (torch, safetensors and joblib are not dependencies). Replacing
the file at its path after the check changes nothing: the loader never opens the path again.

    import stcheck.guard
    state = stcheck.guard.torch_load("pytorch_model.bin", map_location="cpu")
    tensors = stcheck.guard.safetensors_load("model.safetensors")
    model = stcheck.guard.joblib_load("model.joblib")
    reports = stcheck.guard.check_snapshot(snapshot_download("org/model"))
"""

from __future__ import annotations

import hashlib
import importlib
import os
from typing import Any, BinaryIO, Dict, List, Optional

from . import PolicyArg, Report, UnsafeModelError, _check_tree, _cstr, _context, _L

__all__ = ["checked_open", "torch_load", "safetensors_load", "joblib_load", "check_snapshot"]


def _check_open(f: BinaryIO, name: str, policy: PolicyArg, strict: bool,
                digest: bool = False) -> Report:
    ctx = _context(policy, strict, digest)
    report = ctx.report(_L.st_check_fd(ctx.ptr, f.fileno(), _cstr(name, "name")))
    if report.verdict != "pass":
        raise UnsafeModelError([report])
    f.seek(0)
    return report


def checked_open(path: "os.PathLike[str] | str", *, policy: PolicyArg = None,
                 strict: bool = False) -> BinaryIO:
    """Open a file for reading, check its descriptor and return the open file positioned at its
    start; raises UnsafeModelError (closing the file) unless the verdict is "pass"."""
    f = open(path, "rb")
    try:
        _check_open(f, os.fspath(path), policy, strict)
    except BaseException:
        f.close()
        raise
    return f


def torch_load(path: "os.PathLike[str] | str", *, policy: PolicyArg = None,
               strict: bool = False, **kwargs: Any) -> Any:
    """torch.load(open_file, **kwargs) after the check passes (kwargs go to torch.load)."""
    with checked_open(path, policy=policy, strict=strict) as f:
        torch = importlib.import_module("torch")
        return torch.load(f, **kwargs)


def joblib_load(path: "os.PathLike[str] | str", *, policy: PolicyArg = None,
                strict: bool = False, **kwargs: Any) -> Any:
    """joblib.load(open_file, **kwargs) after the check passes."""
    with checked_open(path, policy=policy, strict=strict) as f:
        joblib = importlib.import_module("joblib")
        return joblib.load(f, **kwargs)


def safetensors_load(path: "os.PathLike[str] | str", framework: str = "pt", *,
                     policy: PolicyArg = None, strict: bool = False) -> Dict[str, Any]:
    """safetensors.<framework>.load(bytes) ("pt", "numpy", "flax", "tensorflow", "paddle") over
    the bytes read from the checked descriptor: the library computed their SHA-256 while checking,
    and the bytes read back are hashed again, so what loads is exactly what was checked."""
    with open(path, "rb") as f:
        report = _check_open(f, os.fspath(path), policy, strict, digest=True)
        data = f.read()
    if hashlib.sha256(data).hexdigest() != report.sha256:
        raise UnsafeModelError([report])  # the file changed between the check and the read
    module = importlib.import_module(f"safetensors.{framework}")
    return module.load(data)


def _hf_snapshot_root(folder: str) -> Optional[str]:
    """For a huggingface_hub cache snapshot (REPO/snapshots/REV, every file a link to
    REPO/blobs/HASH), the repository folder: walked whole so the links resolve inside it."""
    real = os.path.abspath(folder).rstrip(os.sep)
    parent = os.path.dirname(real)
    repo = os.path.dirname(parent)
    if os.path.basename(parent) == "snapshots" and os.path.isdir(os.path.join(repo, "blobs")):
        return repo
    return None


def check_snapshot(folder: "os.PathLike[str] | str", *, policy: PolicyArg = None,
                   strict: bool = False) -> List[Report]:
    """Check every file of a model folder (a huggingface_hub snapshot, or any folder) as
    `stcheck -r` does, and return the reports; raises UnsafeModelError with the reports that are
    not "pass". In a cache snapshot, files are checked under the link names loaders open, with the
    blob bytes as content."""
    path = os.fspath(folder)
    repo = _hf_snapshot_root(path)
    if repo is None:
        reports = _check_tree(path, policy, strict)
    else:
        prefix = os.path.join(repo, "snapshots", os.path.basename(os.path.abspath(path))) + os.sep
        reports = [r for r in _check_tree(repo, policy, strict) if r.path.startswith(prefix)]
    bad = [r for r in reports if r.verdict != "pass"]
    if bad:
        raise UnsafeModelError(bad)
    return reports
