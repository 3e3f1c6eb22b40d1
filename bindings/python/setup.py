"""Only the version lives here: it is libstcheck's ST_VERSION_STRING (include/stcheck.h two
folders up, or $STCHECK_VERSION when the package is built outside the repository), so the Python
package and the library it binds carry one version."""

import os
import re

from setuptools import setup


def _version() -> str:
    env = os.environ.get("STCHECK_VERSION")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    header = os.path.join(here, os.pardir, os.pardir, "include", "stcheck.h")
    with open(header, encoding="utf-8") as f:
        m = re.search(r'#define ST_VERSION_STRING "([^"]+)"', f.read())
    if not m:
        raise RuntimeError(f"no ST_VERSION_STRING in {header}")
    return m.group(1)


setup(version=_version())
