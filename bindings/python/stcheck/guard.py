"""Guards to put in front of a load: check the file, then load the very bytes that were checked.

Each helper opens the file once and never opens its path again. torch_load, joblib_load and
checked_open copy the open file's bytes into a private, sealed memory file (Linux memfd with the
write, grow and shrink seals: nobody, this process included, can change it any more), check that
descriptor (st_check_fd), raise stcheck.UnsafeModelError unless the verdict is "pass", and only
then hand that same open file, rewound, to the real loader, imported lazily (torch, safetensors
and joblib are not dependencies). Neither a swap of the path (rename, symlink) nor a write into
the file itself after the copy reaches the loader. safetensors_load reads the bytes into memory
once, checks that buffer (st_check_buffer) and hands the same bytes object to safetensors.

    import stcheck.guard
    state = stcheck.guard.torch_load("pytorch_model.bin", map_location="cpu")
    tensors = stcheck.guard.safetensors_load("model.safetensors")
    model = stcheck.guard.joblib_load("model.joblib")
    reports = stcheck.guard.check_snapshot(snapshot_download("org/model"))
"""

from __future__ import annotations

import importlib
import os
import stat
import tempfile
from typing import Any, BinaryIO, Dict, List, Optional, Tuple, Union

from . import PolicyArg, Report, UnsafeModelError, _check_tree, _cstr, _context, _L

__all__ = ["checked_open", "torch_load", "safetensors_load", "joblib_load", "check_snapshot"]

PathArg = Union[str, "os.PathLike[str]"]

try:  # Linux, Python >= 3.8
    import fcntl

    _SEALS: Optional[int] = (fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW
                             | fcntl.F_SEAL_WRITE)
except (ImportError, AttributeError):  # pragma: no cover (not Linux)
    _SEALS = None


def _open_once(path: PathArg, name: str, policy: PolicyArg,
               strict: bool) -> Tuple[BinaryIO, int]:
    """The one open of path (links followed, as a loader would), and the size of what it opened.
    Never blocks: O_NONBLOCK, so a FIFO put at the path cannot hang the open. Anything but a
    regular file (a FIFO, /dev/zero, a folder: no end to copy, or nothing to load) is refused
    with the library's verdict on that descriptor ("not a regular file", ST601), unread."""
    nonblock = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
                 | nonblock)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            ctx = _context(policy, strict)
            report = ctx.report(_L.st_check_fd(ctx.ptr, fd, _cstr(name, "name")))
            raise UnsafeModelError([report])
        if nonblock:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), st.st_size
    except BaseException:
        os.close(fd)
        raise


def _copy_fd(src: int, dst: int, size: int) -> None:
    """src's bytes from offset 0 onto dst, at most size (the size when it was opened: a file
    that keeps growing cannot make the copy endless), fewer if it shrank meanwhile. What is
    copied is what is checked."""
    offset = 0
    try:
        while offset < size:
            n = os.sendfile(dst, src, offset, min(size - offset, 1 << 30))
            if n == 0:
                return
            offset += n
        return
    except OSError:
        if offset:
            raise
    # sendfile refused this pair of descriptors (nothing copied yet): pread and write.
    while offset < size:
        chunk = os.pread(src, min(size - offset, 1 << 20), offset)
        if not chunk:
            return
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst, view):]
        offset += len(chunk)


def _private_copy(f: BinaryIO, size: int) -> BinaryIO:
    """A copy of f's bytes in a file no one else holds and no one can change: a memfd sealed
    against writes, growth and shrinking (F_ADD_SEALS); where memfds are missing, an unlinked
    temporary file only this process has open."""
    if _SEALS is not None and hasattr(os, "memfd_create"):
        fd = os.memfd_create("stcheck-guard", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            _copy_fd(f.fileno(), fd, size)
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
            copy = os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise
    else:  # pragma: no cover (not Linux)
        copy = tempfile.TemporaryFile()
        try:
            _copy_fd(f.fileno(), copy.fileno(), size)
        except BaseException:
            copy.close()
            raise
    copy.seek(0)
    return copy


def _check_open(f: BinaryIO, name: str, policy: PolicyArg, strict: bool) -> Report:
    """st_check_fd over f's descriptor (read from offset 0, whatever f's position); raises
    UnsafeModelError unless "pass", else leaves f rewound for the loader."""
    ctx = _context(policy, strict)
    report = ctx.report(_L.st_check_fd(ctx.ptr, f.fileno(), _cstr(name, "name")))
    if report.verdict != "pass":
        raise UnsafeModelError([report])
    f.seek(0)
    return report


def checked_open(path: PathArg, *, policy: PolicyArg = None, strict: bool = False,
                 private_copy: bool = True) -> BinaryIO:
    """Open a file once, check it and return an open binary file positioned at its start, for
    any loader that takes a file object; raises UnsafeModelError unless the verdict is "pass".

    private_copy=True (the default): the file returned is a sealed in-memory copy of the bytes
    read through that one open, and the copy is what was checked, so neither a path swap nor a
    write into the original file can change what the loader reads (it costs the file's size in
    memory until the returned file is closed). private_copy=False returns the original open
    file itself: safe against path swaps (renames, symlinks), not against a process that can
    write into that file while it loads."""
    name = os.fspath(path)
    f, size = _open_once(path, name, policy, strict)
    if private_copy:
        with f:
            f = _private_copy(f, size)
    try:
        _check_open(f, name, policy, strict)
    except BaseException:
        f.close()
        raise
    return f


def torch_load(path: PathArg, *, policy: PolicyArg = None, strict: bool = False,
               private_copy: bool = True, **kwargs: Any) -> Any:
    """torch.load(checked_file, **kwargs) once the check passes (kwargs go to torch.load);
    the file is checked_open's."""
    with checked_open(path, policy=policy, strict=strict, private_copy=private_copy) as f:
        torch = importlib.import_module("torch")
        return torch.load(f, **kwargs)


def joblib_load(path: PathArg, *, policy: PolicyArg = None, strict: bool = False,
                private_copy: bool = True, **kwargs: Any) -> Any:
    """joblib.load(checked_file, **kwargs) once the check passes; the file is checked_open's."""
    with checked_open(path, policy=policy, strict=strict, private_copy=private_copy) as f:
        joblib = importlib.import_module("joblib")
        return joblib.load(f, **kwargs)


#: framework argument -> module of the safetensors package holding its load(bytes).
_SAFETENSORS_MODULES = {"pt": "torch", "torch": "torch", "np": "numpy", "numpy": "numpy",
                        "flax": "flax", "tf": "tensorflow", "tensorflow": "tensorflow",
                        "paddle": "paddle", "mlx": "mlx"}


def safetensors_load(path: PathArg, framework: str = "pt", *, policy: PolicyArg = None,
                     strict: bool = False) -> Dict[str, Any]:
    """safetensors.<module>.load(data) once the check passes, framework "pt" (torch), "numpy",
    "flax", "tensorflow", "paddle" or "mlx". The file is opened once and read into memory once;
    that bytes object is what the library checks (st_check_buffer) and the very object given to
    safetensors, so the bytes loaded are the bytes checked whatever happens to the file."""
    if framework not in _SAFETENSORS_MODULES:
        raise ValueError(f"unknown framework {framework!r}: one of "
                         + ", ".join(sorted(_SAFETENSORS_MODULES)))
    name = os.fspath(path)
    f, size = _open_once(path, name, policy, strict)
    with f:
        data = f.read(size)  # at most the size opened: a growing file cannot make it endless
    ctx = _context(policy, strict)
    report = ctx.report(_L.st_check_buffer(ctx.ptr, data, len(data), _cstr(name, "name")))
    if report.verdict != "pass":
        raise UnsafeModelError([report])
    try:
        module = importlib.import_module("safetensors." + _SAFETENSORS_MODULES[framework])
    except ImportError as e:
        raise ImportError(f"stcheck.guard.safetensors_load needs the safetensors package "
                          f"(pip install safetensors): {e}") from e
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


def check_snapshot(folder: PathArg, *, policy: PolicyArg = None,
                   strict: bool = False) -> List[Report]:
    """Check every file of a model folder (a huggingface_hub snapshot, or any folder) as
    `stcheck -r` does, and return the reports; raises UnsafeModelError with the reports that are
    not "pass". In a cache snapshot, files are checked under the link names loaders open, with the
    blob bytes as content. This vets a download; load its files through the guards above, which
    check again the bytes they load."""
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
