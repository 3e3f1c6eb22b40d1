"""Loading libstcheck and declaring the C functions the binding calls (include/stcheck.h).

Nothing here checks anything: every check is a call into the library. The structs below mirror
the public header; the library's st_api_version() must equal API_VERSION or the import fails,
so a library whose structs differ is refused rather than misread.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from ctypes import POINTER, c_char_p, c_int, c_size_t, c_uint64, c_void_p
from typing import List, Optional

#: The ST_API_VERSION of include/stcheck.h this binding mirrors.
API_VERSION = 1

VERDICT_PASS, VERDICT_FAIL, VERDICT_ERROR = 0, 1, 2
DOC_JSON, DOC_SARIF, DOC_JUNIT = 0, 1, 2
OK = 0


class StcheckLibraryError(ImportError):
    """libstcheck could not be found or loaded, or its API version differs from the binding's."""


class Finding(ctypes.Structure):
    _fields_ = [
        ("id", c_char_p),
        ("severity", c_int),
        ("offset", c_uint64),
        ("length", c_uint64),
        ("message", c_char_p),
    ]


class Import(ctypes.Structure):
    _fields_ = [
        ("module", c_char_p),
        ("name", c_char_p),
        ("member", c_char_p),
        ("judgement", c_char_p),
        ("offset", c_uint64),
        ("count", c_uint64),
        ("written_module", c_char_p),
        ("written_name", c_char_p),
    ]


class Rule(ctypes.Structure):
    _fields_ = [
        ("id", c_char_p),
        ("severity", c_int),
        ("title", c_char_p),
        ("summary", c_char_p),
    ]


def _candidates() -> List[str]:
    """Where to look, in order: $STCHECK_LIBRARY, then the dynamic loader's own search (ldconfig's
    cache, LD_LIBRARY_PATH: a `cmake --install` to /usr/local after ldconfig), then the lib
    folders of the Python environment's prefix (`cmake --install --prefix "$VIRTUAL_ENV"`) and of
    the usual prefixes (an install that ldconfig has not seen yet)."""
    env = os.environ.get("STCHECK_LIBRARY")
    if env:
        return [env]  # explicit: no fallback that could load another copy
    names = ["libstcheck.so.0", "libstcheck.so"]
    found = ctypes.util.find_library("stcheck")
    if found:
        names.append(found)
    for prefix in (sys.prefix, "/usr/local", "/usr", "/opt/stcheck"):
        for libdir in ("lib", "lib64", "lib/x86_64-linux-gnu", "lib/aarch64-linux-gnu"):
            names.append(os.path.join(prefix, libdir, "libstcheck.so.0"))
    return names


def _declare(lib: ctypes.CDLL) -> None:
    def fn(name: str, restype, *argtypes) -> None:
        f = getattr(lib, name)
        f.restype = restype
        f.argtypes = list(argtypes)

    fn("st_version", c_char_p)
    fn("st_api_version", c_int)
    fn("st_free", None, c_void_p)
    fn("st_ctx_new", c_void_p)
    fn("st_ctx_free", None, c_void_p)
    fn("st_ctx_set_strict", None, c_void_p, c_int)
    fn("st_ctx_set_digest", None, c_void_p, c_int)
    fn("st_ctx_load_policy", c_int, c_void_p, c_char_p, c_char_p, c_size_t)
    fn("st_ctx_load_policy_text", c_int, c_void_p, c_char_p, c_char_p, c_char_p, c_size_t)
    fn("st_ctx_policy_json", c_void_p, c_void_p)
    fn("st_check_path", c_void_p, c_void_p, c_char_p)
    fn("st_check_fd", c_void_p, c_void_p, c_int, c_char_p)
    fn("st_check_buffer", c_void_p, c_void_p, c_char_p, c_size_t, c_char_p)
    fn("st_tree_open", c_void_p, c_void_p, c_char_p)
    fn("st_tree_count", c_size_t, c_void_p)
    fn("st_tree_check", c_void_p, c_void_p, c_void_p, c_size_t)
    fn("st_tree_free", None, c_void_p)
    fn("st_report_free", None, c_void_p)
    fn("st_report_verdict", c_int, c_void_p)
    fn("st_report_error", c_int, c_void_p)
    fn("st_report_path", c_char_p, c_void_p)
    fn("st_report_format", c_char_p, c_void_p)
    fn("st_report_kind", c_char_p, c_void_p)
    fn("st_report_wrapper", c_char_p, c_void_p)
    fn("st_report_file_size", c_uint64, c_void_p)
    fn("st_report_sha256", c_char_p, c_void_p)
    fn("st_report_finding_count", c_size_t, c_void_p)
    fn("st_report_finding", POINTER(Finding), c_void_p, c_size_t)
    fn("st_report_import_count", c_size_t, c_void_p)
    fn("st_report_import", POINTER(Import), c_void_p, c_size_t)
    fn("st_rule_find", POINTER(Rule), c_char_p)
    fn("st_severity_name", c_char_p, c_int)
    fn("st_error_name", c_char_p, c_int)
    fn("st_doc_new", c_void_p, c_int)
    fn("st_doc_add", c_int, c_void_p, c_void_p)
    fn("st_doc_write_string", c_void_p, c_void_p)
    fn("st_doc_free", None, c_void_p)
    # Remote checks: bound when the library has them (docs/remote.md).
    if hasattr(lib, "st_check_url"):
        fn("st_check_url", c_void_p, c_void_p, c_char_p)
        fn("st_remote_supported", c_int)


def load() -> ctypes.CDLL:
    """Load libstcheck (ctypes.CDLL: the GIL is released during every call) and check its API
    version. Raises StcheckLibraryError naming what was tried."""
    tried = []
    for cand in _candidates():
        try:
            lib = ctypes.CDLL(cand)
        except OSError as e:
            tried.append(f"{cand}: {e}")
            continue
        if not hasattr(lib, "st_api_version"):
            raise StcheckLibraryError(
                f"{cand} has no st_api_version(): libstcheck older than this binding "
                f"(API version {API_VERSION}) was loaded"
            )
        lib.st_api_version.restype = c_int
        lib.st_api_version.argtypes = []
        got = lib.st_api_version()
        if got != API_VERSION:
            raise StcheckLibraryError(
                f"{cand}: libstcheck API version {got}, this binding needs {API_VERSION}"
            )
        try:
            _declare(lib)
        except AttributeError as e:
            raise StcheckLibraryError(f"{cand}: {e}") from None
        lib._stcheck_path = cand  # type: ignore[attr-defined]
        return lib
    raise StcheckLibraryError(
        "libstcheck not found; install it (cmake --install) or set STCHECK_LIBRARY to its path. "
        "Tried: " + "; ".join(tried)
    )


def text(b: Optional[bytes]) -> Optional[str]:
    """A C string from the library (UTF-8: hostile bytes arrive escaped) as str."""
    return None if b is None else b.decode("utf-8", "replace")


def take_string(lib: ctypes.CDLL, p: Optional[int]) -> Optional[str]:
    """A malloc'd C string: copied, then freed with st_free."""
    if not p:
        return None
    try:
        return ctypes.string_at(p).decode("utf-8", "replace")
    finally:
        lib.st_free(p)
