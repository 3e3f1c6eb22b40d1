"""stcheck: check machine-learning model files before loading them, without executing them.

A thin binding over libstcheck's public C API (include/stcheck.h): every check, policy decision
and report document is the library's own; this package only converts arguments and results.

    >>> import stcheck
    >>> report = stcheck.check("model.safetensors")
    >>> report.verdict                     # "pass", "fail" or "error" (could not check)
    >>> [f.id for f in report.findings]

Exceptions are raised for usage errors only (a bad argument, an invalid policy, a library that
cannot be loaded): a file that cannot be checked gives a Report whose verdict is "error".
See docs/python.md.
"""

from __future__ import annotations

import ctypes
import json
import os
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

from . import _lib
from ._lib import StcheckLibraryError

__all__ = [
    "check",
    "check_fd",
    "check_many",
    "check_url",
    "check_tree",
    "write_document",
    "Policy",
    "Report",
    "Finding",
    "Import",
    "StcheckError",
    "PolicyError",
    "UnsafeModelError",
    "RemoteUnsupportedError",
    "StcheckLibraryError",
    "library_version",
    "api_version",
    "remote_supported",
    "__version__",
]

_L = _lib.load()

#: The version of the loaded libstcheck (st_version()); the package is versioned with it.
__version__: str = _L.st_version().decode()

PathLike = Union[str, "os.PathLike[str]"]
PolicyArg = Union[None, "Policy", PathLike, Dict[str, Any]]


class StcheckError(Exception):
    """Base class of the errors this package raises (usage errors, unsafe models)."""


class PolicyError(StcheckError, ValueError):
    """A policy could not be loaded: the message names the key path (from the library)."""


class RemoteUnsupportedError(StcheckError):
    """check_url on a libstcheck built without remote checks (CMake STCHECK_REMOTE=OFF)."""


class UnsafeModelError(StcheckError):
    """Raised by stcheck.guard when a file's verdict is not "pass"; .reports holds the reports
    (one for a file, every failing one for a snapshot) and .findings all their findings."""

    def __init__(self, reports: Sequence["Report"]):
        self.reports = list(reports)
        self.findings = [f for r in self.reports for f in r.findings]
        lines = []
        for r in self.reports:
            ids = ", ".join(f"{f.id} {f.message}" for f in r.findings[:5]) or "no findings"
            lines.append(f"{r.path}: {r.verdict} ({ids})")
        super().__init__("refusing to load: " + "; ".join(lines))


def library_version() -> str:
    """st_version(): the loaded library's version string."""
    return __version__


def api_version() -> int:
    """st_api_version(): the loaded library's API version (equal to _lib.API_VERSION)."""
    return int(_L.st_api_version())


def remote_supported() -> bool:
    """Whether the loaded library checks URLs (check_url)."""
    return hasattr(_L, "st_remote_supported") and bool(_L.st_remote_supported())


def _library_file() -> Optional[str]:
    """The file the dynamic loader mapped for libstcheck (to find the policies installed beside
    it)."""
    path = getattr(_L, "_stcheck_path", "")
    if os.sep in path:
        return os.path.realpath(path)
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                if "libstcheck" in line and "/" in line:
                    return line[line.index("/") :].strip()
    except OSError:
        pass
    return None


def _rules_dirs() -> List[str]:
    """Where shipped policies are looked up by name: $STCHECK_RULES_DIR, then the share folder of
    the prefix the library was installed into (cmake --install), then the usual prefixes."""
    dirs = []
    env = os.environ.get("STCHECK_RULES_DIR")
    if env:
        dirs.append(env)
    lib = _library_file()
    if lib:
        libdir = os.path.dirname(lib)
        for up in (os.pardir, os.path.join(os.pardir, os.pardir)):
            dirs.append(os.path.normpath(os.path.join(libdir, up, "share", "stcheck", "rules")))
    dirs += ["/usr/local/share/stcheck/rules", "/usr/share/stcheck/rules"]
    return dirs


def _cstr(s: Union[str, bytes, "os.PathLike[Any]"], what: str) -> bytes:
    b = os.fsencode(s)
    if b"\0" in b:
        raise ValueError(f"{what} contains a NUL byte")
    return b


class _Ctx:
    """An st_ctx configured once (policy, strict), then shared by threads (checks only read
    it)."""

    def __init__(self, policy: "Optional[Policy]", strict: bool, digest: bool = False):
        self.ptr = _L.st_ctx_new()
        if not self.ptr:
            raise MemoryError("st_ctx_new")
        self._fin = weakref.finalize(self, _L.st_ctx_free, self.ptr)
        if policy is not None:
            policy._apply(self.ptr)
        _L.st_ctx_set_strict(self.ptr, 1 if strict else 0)
        _L.st_ctx_set_digest(self.ptr, 1 if digest else 0)

    def report(self, p: Optional[int]) -> "Report":
        if not p:
            raise MemoryError("libstcheck could not allocate a report")
        return Report(p)


@dataclass(frozen=True)
class Finding:
    """One finding: evidence with a stable id (docs/rules.md), its effective severity
    ("error", "warning", "info"), the byte range it concerns and the rule's name."""

    id: str
    severity: str
    message: str
    offset: int
    length: int
    rule: str


@dataclass(frozen=True)
class Import:
    """A pickle import (module.name) as the library judged it: "allowed", "suspicious" or
    "malicious"; member is the container member ("" for the file itself)."""

    module: str
    name: str
    member: str
    judgement: str
    offset: int
    count: int


_VERDICTS = {_lib.VERDICT_PASS: "pass", _lib.VERDICT_FAIL: "fail", _lib.VERDICT_ERROR: "error"}


class Report:
    """The result of checking one file. verdict is "pass", "fail" or "error" (the JSON report's
    "could not check": fail closed). Findings and imports are copied out of the C report; the C
    report itself is kept for to_json(), to_sarif() and to_junit()."""

    path: str
    verdict: str
    error: Optional[str]
    format: str
    kind: Optional[str]
    wrapper: Optional[str]
    file_size: int
    sha256: Optional[str]
    findings: List[Finding]
    imports: List[Import]

    def __init__(self, ptr: int):
        self._ptr = ptr
        self._fin = weakref.finalize(self, _L.st_report_free, ptr)
        t = _lib.text
        self.path = t(_L.st_report_path(ptr)) or ""
        self.verdict = _VERDICTS.get(_L.st_report_verdict(ptr), "error")
        err = _L.st_report_error(ptr)
        self.error = None if err == _lib.OK else t(_L.st_error_name(err))
        self.format = t(_L.st_report_format(ptr)) or "unknown"
        self.kind = t(_L.st_report_kind(ptr))
        self.wrapper = t(_L.st_report_wrapper(ptr))
        self.file_size = int(_L.st_report_file_size(ptr))
        self.sha256 = t(_L.st_report_sha256(ptr)) or None
        self.findings = [self._finding(i) for i in range(_L.st_report_finding_count(ptr))]
        self.imports = []
        for i in range(_L.st_report_import_count(ptr)):
            im = _L.st_report_import(ptr, i).contents
            self.imports.append(
                Import(
                    t(im.module) or "",
                    t(im.name) or "",
                    t(im.member) or "",
                    t(im.judgement) or "",
                    int(im.offset),
                    int(im.count),
                )
            )

    def _finding(self, i: int) -> Finding:
        f = _L.st_report_finding(self._ptr, i).contents
        rule = _L.st_rule_find(f.id)
        return Finding(
            id=_lib.text(f.id) or "",
            severity=_lib.text(_L.st_severity_name(f.severity)) or "",
            message=_lib.text(f.message) or "",
            offset=int(f.offset),
            length=int(f.length),
            rule=_lib.text(rule.contents.title) if rule else "",
        )

    @property
    def passed(self) -> bool:
        """True only for the verdict "pass"."""
        return self.verdict == "pass"

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        ids = ",".join(f.id for f in self.findings)
        return f"<stcheck.Report {self.path!r} {self.verdict} [{ids}]>"

    def _document(self, fmt: int) -> str:
        return _document([self], fmt)

    def to_json(self) -> str:
        """The JSON report (docs/report-json.md) of this file, as the CLI's --json writes it."""
        return self._document(_lib.DOC_JSON)

    def to_dict(self) -> Dict[str, Any]:
        """to_json(), parsed."""
        return json.loads(self.to_json())

    def to_sarif(self) -> str:
        """SARIF 2.1.0 (docs/report-sarif.md); artifact URIs relative to the working folder."""
        return self._document(_lib.DOC_SARIF)

    def to_junit(self) -> str:
        """JUnit XML (docs/report-junit.md)."""
        return self._document(_lib.DOC_JUNIT)


def _document(reports: Sequence[Report], fmt: int) -> str:
    d = _L.st_doc_new(fmt)
    if not d:
        raise MemoryError("st_doc_new")
    try:
        for r in reports:
            if _L.st_doc_add(d, r._ptr) != 0:
                raise MemoryError("st_doc_add")
        s = _lib.take_string(_L, _L.st_doc_write_string(d))
    finally:
        _L.st_doc_free(d)
    if s is None:
        raise MemoryError("st_doc_write_string")
    return s


def write_document(reports: Iterable[Report], fmt: str = "json") -> str:
    """One document over many reports: fmt "json", "sarif" or "junit"."""
    formats = {"json": _lib.DOC_JSON, "sarif": _lib.DOC_SARIF, "junit": _lib.DOC_JUNIT}
    if fmt not in formats:
        raise ValueError(f"unknown document format {fmt!r}: json, sarif or junit")
    return _document(list(reports), formats[fmt])


class Policy:
    """A policy (docs/policy.md) layered over the built-in default, validated by the library when
    created. Load one with Policy.load(path or shipped name) or Policy.from_dict(mapping)."""

    def __init__(self, *, _path: Optional[bytes] = None, _text: Optional[bytes] = None,
                 _base_dir: Optional[bytes] = None):
        self._path = _path
        self._text = _text
        self._base_dir = _base_dir
        _Ctx(self, False)  # validates: raises PolicyError

    @classmethod
    def load(cls, path_or_name: PathLike) -> "Policy":
        """A policy file, or a shipped policy by name ("strict", "registry", "permissive",
        "default", with or without ".json"), found where `cmake --install` put them (or
        $STCHECK_RULES_DIR). A name without a separator is a shipped policy first, as in the
        CLI: a file called "strict" in the working folder (which a checkout under review can
        add) is used only when no shipped policy has that name; pass "./strict" or a Path to
        mean the file."""
        p = os.fspath(path_or_name)
        if not isinstance(path_or_name, str) or os.sep in p or (os.altsep and os.altsep in p):
            return cls(_path=_cstr(p, "policy path"))
        if p != "default":
            name = p if p.endswith(".json") else p + ".json"
            for d in _rules_dirs():
                cand = os.path.join(d, name)
                if os.path.isfile(cand):
                    return cls(_path=_cstr(cand, "policy path"))
        if p == "default" or os.path.exists(p):
            return cls(_path=_cstr(p, "policy path"))
        raise PolicyError(f"no policy file {p!r} and no shipped policy of that name "
                          f"(looked in {', '.join(_rules_dirs())})")

    @classmethod
    def from_dict(cls, policy: Dict[str, Any], base_dir: Optional[PathLike] = None) -> "Policy":
        """A policy from a mapping (the JSON document's object). "extends" names files relative
        to base_dir (default: the working folder)."""
        if not isinstance(policy, dict):
            raise TypeError("Policy.from_dict takes a dict")
        text = json.dumps(policy).encode()
        base = _cstr(base_dir if base_dir is not None else os.getcwd(), "base_dir")
        return cls(_text=text, _base_dir=base)

    def _apply(self, ctx: int) -> None:
        err = ctypes.create_string_buffer(512)
        if self._path is not None:
            rc = _L.st_ctx_load_policy(ctx, self._path, err, len(err))
        else:
            rc = _L.st_ctx_load_policy_text(ctx, self._text, self._base_dir, err, len(err))
        if rc != _lib.OK:
            raise PolicyError(err.value.decode("utf-8", "replace") or "invalid policy")

    def to_dict(self) -> Dict[str, Any]:
        """The effective policy (the default with this one layered over it)."""
        c = _Ctx(self, False)
        s = _lib.take_string(_L, _L.st_ctx_policy_json(c.ptr))
        if s is None:
            raise MemoryError("st_ctx_policy_json")
        return json.loads(s)


def _policy(policy: PolicyArg) -> Optional[Policy]:
    if policy is None or isinstance(policy, Policy):
        return policy
    if isinstance(policy, dict):
        return Policy.from_dict(policy)
    if isinstance(policy, (str, os.PathLike)):
        return Policy.load(policy)
    raise TypeError("policy must be a Policy, a path or name, a dict or None")


def _context(policy: PolicyArg, strict: bool, digest: bool = False) -> _Ctx:
    return _Ctx(_policy(policy), bool(strict), digest)


def _check_one(ctx: _Ctx, target: Any, name: Optional[str]) -> Report:
    if isinstance(target, (bytes, bytearray, memoryview)):
        data = bytes(target)
        shown = _cstr(name if name is not None else "<bytes>", "name")
        return ctx.report(_L.st_check_buffer(ctx.ptr, data, len(data), shown))
    if isinstance(target, (str, os.PathLike)):
        return ctx.report(_L.st_check_path(ctx.ptr, _cstr(target, "path")))
    if hasattr(target, "fileno"):
        shown = name if name is not None else str(getattr(target, "name", "<file>"))
        return ctx.report(_L.st_check_fd(ctx.ptr, target.fileno(), _cstr(shown, "name")))
    raise TypeError(
        "check takes a path (str or os.PathLike), bytes (the file's content) or an open file; "
        f"got {type(target).__name__}"
    )


def check(path_or_bytes: Union[PathLike, bytes, bytearray, memoryview, Any],
          policy: PolicyArg = None, strict: bool = False, *, digest: bool = False,
          name: Optional[str] = None) -> Report:
    """Check one file: a path, its bytes, or an open binary file (its descriptor is checked from
    the start, whatever its position). A path is never fetched: URLs go to check_url.

    policy: a Policy, a policy file or shipped name, a dict, or None (the built-in default).
    strict: warnings fail the file too (stcheck --strict). digest: compute report.sha256 over
    the bytes checked. name: the display name of bytes or a file object.
    """
    return _check_one(_context(policy, strict, digest), path_or_bytes, name)


def check_fd(fd: int, name: str = "<fd>", policy: PolicyArg = None, strict: bool = False, *,
             digest: bool = False) -> Report:
    """Check an open descriptor (st_check_fd): what the library reads is what a loader reading
    that descriptor gets."""
    if not isinstance(fd, int) or isinstance(fd, bool):
        raise TypeError("fd must be an int")
    ctx = _context(policy, strict, digest)
    return ctx.report(_L.st_check_fd(ctx.ptr, fd, _cstr(name, "name")))


def check_url(url: str, policy: PolicyArg = None, strict: bool = False) -> Report:
    """Check an http://, https:// or hf://OWNER/REPO[@REV]/PATH URL with range requests
    (docs/remote.md). Raises RemoteUnsupportedError when the library has no remote checks."""
    if not hasattr(_L, "st_check_url"):
        raise RemoteUnsupportedError("this libstcheck has no st_check_url (too old)")
    if not _L.st_remote_supported():
        raise RemoteUnsupportedError("this libstcheck was built without remote checks "
                                     "(STCHECK_REMOTE=OFF)")
    if not isinstance(url, str):
        raise TypeError("url must be a str")
    ctx = _context(policy, strict)
    return ctx.report(_L.st_check_url(ctx.ptr, _cstr(url, "url")))


def check_many(paths: Iterable[Union[PathLike, bytes]], jobs: Optional[int] = None,
               policy: PolicyArg = None, strict: bool = False, *,
               digest: bool = False) -> List[Report]:
    """Check many files with `jobs` threads (default: the CPU count), returning the reports in
    the order given. One configured context is shared; each check runs in the library with the
    GIL released, so threads check in parallel."""
    items = list(paths)
    if jobs is None:
        jobs = os.cpu_count() or 1
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError("jobs must be a positive int")
    ctx = _context(policy, strict, digest)
    if jobs == 1 or len(items) <= 1:
        return [_check_one(ctx, p, None) for p in items]
    with ThreadPoolExecutor(max_workers=min(jobs, len(items))) as pool:
        return list(pool.map(lambda p: _check_one(ctx, p, None), items))


def _check_tree(folder: PathLike, policy: PolicyArg, strict: bool) -> List[Report]:
    """Every entry of a folder walk (stcheck -r): st_tree_open / st_tree_check."""
    ctx = _context(policy, strict)
    tree = _L.st_tree_open(ctx.ptr, _cstr(folder, "folder"))
    if not tree:
        raise MemoryError("st_tree_open")
    try:
        return [ctx.report(_L.st_tree_check(ctx.ptr, tree, i))
                for i in range(_L.st_tree_count(tree))]
    finally:
        _L.st_tree_free(tree)


def check_tree(folder: PathLike, policy: PolicyArg = None, strict: bool = False) -> List[Report]:
    """Walk a folder as `stcheck -r` does (links resolved by hand, never followed outside it) and
    return one report per entry."""
    return _check_tree(folder, policy, strict)


from . import guard  # noqa: E402  (guard uses the names above)
