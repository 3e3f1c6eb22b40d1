#!/bin/sh
# The Python package (bindings/python) as a user gets it: the library installed by cmake --install
# into a scratch prefix, the package installed by pip into a virtual environment (no network,
# Debian's setuptools: --no-build-isolation --no-index), then its pytest suite against that
# library (the guard tests load with Debian's torch, numpy and joblib: --system-site-packages).
#   python_test.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -eu
B=$1
S=$2
W=$3
rm -rf "$W"
mkdir -p "$W/src/include" "$W/src/bindings"
P="$W/prefix"
cmake --install "$B" --prefix "$P" >/dev/null
# A copy of the package (pip builds in the tree it is given: concurrent builds must not share
# one) beside the header its version is read from.
cp -R "$S/bindings/python" "$W/src/bindings/python"
rm -rf "$W/src/bindings/python/build" "$W/src/bindings/python"/*.egg-info
cp "$S/include/stcheck.h" "$W/src/include/"
# --without-pip: Debian's pip (python3-pip), seen through --system-site-packages, installs into
# the venv (sys.prefix); ensurepip's copy would cost ~10 s per run.
/usr/bin/python3 -m venv --without-pip --system-site-packages "$W/venv"
PY="$W/venv/bin/python"
"$PY" -m pip install --no-build-isolation --no-index --no-cache-dir --quiet \
    --disable-pip-version-check "$W/src/bindings/python"
LIB=$(find "$P" -name 'libstcheck.so.0' | head -n 1)
[ -n "$LIB" ] || { echo "FAIL: no libstcheck.so.0 installed under $P"; exit 1; }
unset STCHECK_LIBRARY STCHECK_RULES_DIR

# Found through the dynamic loader's path, policies found beside the installed library.
out=$(cd "$W" && VIRTUAL_ENV_DIR="$W/venv" LD_LIBRARY_PATH=$(dirname "$LIB") "$PY" -c '
import os, stcheck
print(stcheck.__file__.startswith(os.path.join(os.environ["VIRTUAL_ENV_DIR"], "lib")),
      stcheck.__version__, stcheck.Policy.load("strict").to_dict()["fail_on"])' 2>&1) ||
    { echo "FAIL: import through LD_LIBRARY_PATH: $out"; exit 1; }
ver=$(sed -n 's/^#define ST_VERSION_STRING "\(.*\)"$/\1/p' "$S/include/stcheck.h")
[ "$out" = "True $ver warning" ] || { echo "FAIL: installed import gave '$out'"; exit 1; }

# Found in the Python environment's own prefix (cmake --install --prefix "$VIRTUAL_ENV"), with
# no variable set and the policies installed beside it.
cmake --install "$B" --prefix "$W/venv" >/dev/null
out=$(cd "$W" && env -u LD_LIBRARY_PATH "$PY" -c '
import stcheck
print(stcheck._L._stcheck_path, stcheck.Policy.load("registry")._path.decode())' 2>&1) ||
    { echo "FAIL: import from the venv prefix: $out"; exit 1; }
[ "$out" = "$W/venv/lib/libstcheck.so.0 $W/venv/share/stcheck/rules/registry.json" ] ||
    { echo "FAIL: venv prefix import gave '$out'"; exit 1; }
rm -f "$W/venv/lib/libstcheck.so"*

# Refused at import: no library, and a library of another API version.
out=$(cd "$W" && STCHECK_LIBRARY="$W/none.so" "$PY" -c 'import stcheck' 2>&1) &&
    { echo "FAIL: import without a library succeeded"; exit 1; }
case $out in *"StcheckLibraryError: libstcheck not found"*"$W/none.so"*) ;;
*) echo "FAIL: missing library: $out"; exit 1 ;; esac
printf 'int st_api_version(void) { return 99; }\n' >"$W/v99.c"
cc -shared -fPIC -o "$W/libv99.so" "$W/v99.c"
out=$(cd "$W" && STCHECK_LIBRARY="$W/libv99.so" "$PY" -c 'import stcheck' 2>&1) &&
    { echo "FAIL: import of an API-99 library succeeded"; exit 1; }
case $out in *"libstcheck API version 99, this binding needs 1"*) ;;
*) echo "FAIL: API version mismatch: $out"; exit 1 ;; esac
printf 'const char *st_version(void) { return "0.0.1"; }\n' >"$W/v0.c"
cc -shared -fPIC -o "$W/libv0.so" "$W/v0.c"
out=$(cd "$W" && STCHECK_LIBRARY="$W/libv0.so" "$PY" -c 'import stcheck' 2>&1) &&
    { echo "FAIL: import of a library without st_api_version succeeded"; exit 1; }
case $out in *"StcheckLibraryError: $W/libv0.so has no st_api_version()"*) ;;
*) echo "FAIL: library without st_api_version: $out"; exit 1 ;; esac

# The structs the binding mirrors have the header's layout (a change without an API version bump
# would be misread silently).
cat >"$W/layout.c" <<'C'
#include <stddef.h>
#include <stdio.h>
#include <stcheck.h>
#define F(T, m) printf(" %zu", offsetof(T, m))
int main(void)
{
    printf("%zu", sizeof(st_finding));
    F(st_finding, id), F(st_finding, severity), F(st_finding, offset), F(st_finding, length);
    F(st_finding, message);
    printf(" %zu", sizeof(st_import));
    F(st_import, module), F(st_import, name), F(st_import, member), F(st_import, judgement);
    F(st_import, offset), F(st_import, count), F(st_import, written_module);
    F(st_import, written_name);
    printf(" %zu", sizeof(st_rule));
    F(st_rule, id), F(st_rule, severity), F(st_rule, title), F(st_rule, summary);
    printf(" %d\n", ST_API_VERSION);
    return 0;
}
C
cc -I"$P/include" -o "$W/layout" "$W/layout.c"
want=$("$W/layout")
got=$(STCHECK_LIBRARY=$LIB "$PY" -c '
from stcheck import _lib
out = []
for t in (_lib.Finding, _lib.Import, _lib.Rule):
    out.append(str(__import__("ctypes").sizeof(t)))
    out += [str(getattr(t, n).offset) for n, _ in t._fields_]
print(" ".join(out + [str(_lib.API_VERSION)]))')
[ "$got" = "$want" ] || { echo "FAIL: ctypes layout '$got', header '$want'"; exit 1; }

# docs/python.md names every public function, class and exception of the package.
STCHECK_LIBRARY=$LIB "$PY" - "$S/docs/python.md" <<'PY' || { echo "FAIL: docs/python.md"; exit 1; }
import re, sys, stcheck, stcheck.guard
doc = open(sys.argv[1], encoding="utf-8").read()
missing = [n for n in stcheck.__all__ + stcheck.guard.__all__
           if not re.search(r"`[^`]*\b" + re.escape(n) + r"\b[^`]*`", doc)]
if missing:
    sys.exit("docs/python.md does not name " + ", ".join(missing))
PY

# The suite, from its own folder (conftest.py), against the installed package and library.
cd "$W/src/bindings/python/tests"
STCHECK_LIBRARY=$LIB "$PY" -B -m pytest -q -p no:cacheprovider -W error::pytest.PytestUnraisableExceptionWarning .
