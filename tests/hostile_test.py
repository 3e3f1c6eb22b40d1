#!/usr/bin/env python3
"""Hostile names through every writer: no report can be forged or broken (issue #10).

    hostile_test.py STCHECK WORKDIR SARIF_SCHEMA

Builds a folder whose own name, file names, tensor names, dtype strings, pickle global names and
zip member names carry C0 and C1 controls, ESC sequences, CR/LF with a forged verdict line
after them, invalid UTF-8, U+FFFE/U+FFFF and other noncharacters, line separators, bidi
overrides, XML and JSON metacharacters and SARIF link/placeholder syntax; adds a missing file
whose 600-byte name is all two-byte characters. Checks it with -r in every format (text, json,
jsonl, sarif, junit) and asserts for each output:
- it decodes as strict UTF-8 and holds no raw control, C1, separator, bidi or noncharacter
  (JSON/SARIF: tabs of cJSON's indentation aside), on stdout and stderr;
- no line starts with the forged text, and the REPOSITORY line says FAIL;
- every path shown is exactly the escaped form computed here (escape() below mirrors
  src/core/escape.c), so nothing is escaped twice or left raw;
- JSON and JSON Lines parse with python's json (strict); SARIF validates against the SARIF
  2.1.0 schema (tests/sarif/fetch_schema.py) and no message string holds an unescaped "[",
  "]" or a single brace (SARIF 3.11.5, 3.11.6); the could-not-check notification carries the
  whole long path; JUnit parses with xml.dom.minidom and xml.etree (expat: strict XML 1.0).
Then regression tests: --deep on tensors with an unknown and with a missing dtype (exact ids
and verdict; under UBSan the old code indexed past the dtype table), and escaping of the
text report's REPOSITORY line for a root given with a trailing slash.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import xml.dom.minidom
import xml.etree.ElementTree as ET
import zipfile

try:
    import jsonschema
except ImportError:
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    sys.exit("hostile_test: python3-jsonschema is required")

FORGED = "FORGED"
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


# ---- the escaped form, as src/core/escape.c computes it -------------------------------------

def unsafe_cp(cp):
    return (cp < 0x20 or 0x7F <= cp <= 0x9F or cp == 0xAD or 0x200B <= cp <= 0x200F or
            0x202A <= cp <= 0x202E or 0x2060 <= cp <= 0x206F or cp == 0xFEFF or
            cp in (0x061C, 0x180E, 0x2028, 0x2029) or 0xFFF9 <= cp <= 0xFFFB or
            0xE0000 <= cp <= 0xE007F or 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE)


def seq_len(b, i):
    """Unicode Table 3-7: the length of a well-formed sequence at b[i], or 0."""
    c = b[i]
    if c < 0x80:
        return 1
    lo, hi = 0x80, 0xBF
    if 0xC2 <= c <= 0xDF:
        n = 2
    elif 0xE0 <= c <= 0xEF:
        n = 3
        lo, hi = (0xA0, 0xBF) if c == 0xE0 else (0x80, 0x9F) if c == 0xED else (lo, hi)
    elif 0xF0 <= c <= 0xF4:
        n = 4
        lo, hi = (0x90, 0xBF) if c == 0xF0 else (0x80, 0x8F) if c == 0xF4 else (lo, hi)
    else:
        return 0
    if len(b) - i < n or not lo <= b[i + 1] <= hi:
        return 0
    return n if all(0x80 <= x <= 0xBF for x in b[i + 2:i + n]) else 0


def escape(b):
    out, i = [], 0
    while i < len(b):
        n = seq_len(b, i)
        if n and not unsafe_cp(ord(b[i:i + n].decode("utf-8"))):
            out.append(b[i:i + n].decode("utf-8"))
            i += n
        else:
            out.append("\\x%02x" % b[i])
            i += 1
    return "".join(out)


def bad_chars(s, allow_tab):
    """Characters no output may hold raw."""
    return sorted({hex(ord(c)) for c in s
                   if (c != "\n" and not (allow_tab and c == "\t") and unsafe_cp(ord(c)))})


# ---- fixtures -----------------------------------------------------------------------------

# Every hostile piece: forged lines after CR/LF, terminal escapes, C0/C1, invalid UTF-8,
# noncharacters, separators, bidi, XML/JSON metacharacters, SARIF links and placeholders.
FORGE_TAIL = b"\r\n" + FORGED.encode() + b": REPOSITORY PASS (1 file: 1 passed, 0 failed)\n"
ROOT = b"repo\x1b[2K\x1b]0;t\x07" + FORGE_TAIL
NAMES = [
    b"c0-\x01\x02\x07\x08\t\x0b\x0c\r\x1f\x7f.safetensors",
    b"esc-\x1b[31mRED\x1b[0m\x1bP.safetensors",
    b"nl-\n" + FORGED.encode() + b": PASS (safetensors: 0 errors, 0 warnings, 0 info)\n.safetensors",
    b"c1-\xc2\x85\xc2\x9b-raw\x85\x9b.safetensors",
    b"utf8-\xff\xfe\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82.safetensors",
    b"nonchar-\xef\xbf\xbe\xef\xbf\xbf\xef\xb7\x90\xf0\x9f\xbf\xbf.safetensors",
    b"sep-\xe2\x80\xa8\xe2\x80\xa9-bidi\xe2\x80\xae\xe2\x81\xa6-zw\xe2\x80\x8b.safetensors",
    b"xml-<a b=\"c\">&amp;'<!-- -->]]>.safetensors",
    b"json-\"\\u0000\\\"}{.safetensors",
    b"sarif-[click](https:evil.example)-{0}-\\[x\\](1).safetensors",
    b"ok-\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80.safetensors",
]
# A tensor name and a dtype string with the same pieces, as JSON escapes in the header.
TENSOR = ("t\u001b[2K\r\n" + FORGED + ": PASS\u0085\u009b\u2028\u2029\u202e\ufffe\uffff\ufdd0"
          "<a>&amp;\"'{0}[link](https://evil.example)\\[x\\]")
DTYPE = "X\u001b]0;t\u0007\n" + FORGED + "\ufffe[d](1){1}"


def safetensors_bytes(name, dtype):
    h = json.dumps({name: {"dtype": dtype, "shape": [1], "data_offsets": [0, 1]}}).encode()
    return struct.pack("<Q", len(h)) + h + b"\0"


def pickle_bytes():
    """PROTO 4, STACK_GLOBAL of a hostile module and name, called: an import and a call."""
    def s(b):
        return b"\x8c" + bytes([len(b)]) + b
    mod = b"os\x1b[0m\r\n" + FORGED.encode() + b"<&>\xef\xbf\xbe[m](1){0}"
    name = b"system\xc2\x85\xe2\x80\xa8\xff"
    return b"\x80\x04" + s(mod) + s(name) + b"\x93" + s(b"id") + b"\x85R."


def build(work):
    base = os.path.join(work, "h")
    shutil.rmtree(base, ignore_errors=True)
    root = os.path.join(base.encode(), ROOT)
    os.makedirs(root)
    for n in NAMES:
        with open(os.path.join(root, n), "wb") as f:
            f.write(safetensors_bytes(TENSOR, DTYPE))
    pkl = b"pickle-\x1b[1m\xef\xbf\xbf.pkl"
    with open(os.path.join(root, pkl), "wb") as f:
        f.write(pickle_bytes())
    zname = b"zip-\x1b\xc2\x9b\xef\xbf\xbe.zip"
    with open(os.path.join(root, zname), "wb") as fh, zipfile.ZipFile(fh, "w") as z:
        z.writestr("m\u001b[31m\n" + FORGED + "<&>\ufffe[z](1){0}.pkl", pickle_bytes())
    names = NAMES + [pkl, zname]
    missing = "\u00e9" * 300 + ".safetensors"  # 600 bytes: ENAMETOOLONG, could not check
    return base, ROOT, names, missing


def run(stcheck, cwd, args):
    p = subprocess.run([stcheck, "--color", "never"] + args, cwd=cwd, capture_output=True)
    return p.returncode, p.stdout, p.stderr


def decode(label, data, allow_tab):
    try:
        s = data.decode("utf-8")  # strict: invalid UTF-8 raises
    except UnicodeDecodeError as e:
        fail(f"{label}: not valid UTF-8: {e}")
        return data.decode("utf-8", "replace")
    bad = bad_chars(s, allow_tab)
    if bad:
        fail(f"{label}: raw control/invisible/noncharacters {bad[:10]}")
    return s


def no_forged_lines(label, text):
    for line in text.splitlines():
        if line.lstrip().startswith(FORGED):
            fail(f"{label}: forged line {line[:120]!r}")


def strings_in(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from strings_in(x)
    elif isinstance(v, list):
        for x in v:
            yield from strings_in(x)


def check_strings(label, doc):
    for s in strings_in(doc):
        bad = bad_chars(s, False)
        if bad or "\n" in s and FORGED in s:
            fail(f"{label}: string with {bad[:5]} or a line break: {s[:80]!r}")
            return


# ---- per format ---------------------------------------------------------------------------

def check_text(out, err, paths, root):
    text = decode("text stdout", out, False)
    decode("text stderr", err, False)
    no_forged_lines("text", text)
    no_forged_lines("text stderr", err.decode("utf-8", "replace"))
    # the pickle files may pass or fail (their severities are policy); the safetensors fail
    repo = [ln for ln in text.splitlines() if ln.startswith(root + ": REPOSITORY ")]
    if len(repo) != 1 or not repo[0].startswith(f"{root}: REPOSITORY FAIL (13 files: "):
        fail(f"text: REPOSITORY lines {repo!r}")
    for line in text.splitlines():
        if not any(line.startswith(p + ": ") for p in paths + [root]):
            fail(f"text: line names no checked path: {line[:120]!r}")
            break
    for p in paths:
        if not any(ln.startswith(p + ": ") for ln in text.splitlines()):
            fail(f"text: no line for {p[:80]!r}")


def check_json_doc(label, doc, paths, root):
    check_strings(label, doc)
    files = doc["files"] if "files" in doc else [doc]
    got = {f["path"] for f in files}
    if label == "json" and got != set(paths):
        fail(f"json: paths {sorted(got - set(paths))[:3]} are not the escaped names "
             f"(missing {sorted(set(paths) - got)[:3]})")
    if label == "json" and [r["root"] for r in doc["repositories"]] != [root]:
        fail(f"json: repositories {doc['repositories']!r}")
    return got


def check_jsonl(out, paths):
    text = decode("jsonl", out, False)
    got = set()
    for line in text.rstrip("\n").split("\n"):  # not splitlines: U+2028 is no line end here
        doc = json.loads(line)  # strict: raw controls in strings raise
        got |= check_json_doc("jsonl", doc, paths, None)
    if got != set(paths):
        fail(f"jsonl: paths differ from the escaped names: {sorted(got ^ set(paths))[:3]}")


def link_safe(s):
    """SARIF 3.11.6: a backslash escapes \\ [ ]; an unescaped [ or ] may start a link.
    3.11.5: braces come in pairs. Returns what is wrong, or None."""
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if i + 1 >= len(s) or s[i + 1] not in "\\[]":
                return f"lone backslash at {i}"
            i += 2
            continue
        if c in "[]":
            return f"unescaped {c!r} at {i}"
        if c in "{}":
            if i + 1 >= len(s) or s[i + 1] != c:
                return f"single {c!r} at {i}"
            i += 2
            continue
        i += 1
    return None


def check_sarif(out, schema_path, missing):
    text = decode("sarif", out, True)
    doc = json.loads(text)
    with open(schema_path) as f:
        schema = json.load(f)
    v = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    for e in list(v.iter_errors(doc))[:5]:
        fail(f"sarif schema: {e.message[:200]} at {list(e.absolute_path)}")
    check_strings("sarif", doc)
    run0 = doc["runs"][0]
    msgs = [r["message"]["text"] for r in run0["results"]]
    notes = run0["invocations"][0]["toolExecutionNotifications"]
    msgs += [n["message"]["text"] for n in notes]
    for r in run0["results"]:
        msgs += [loc["message"]["text"] for loc in r.get("relatedLocations", [])]
    if not any("\\[m\\](1){{0}}" in m for m in msgs):
        fail("sarif: no message carries the hostile tensor name (fixture broken?)")
    for m in msgs:
        why = link_safe(m)
        if why:
            fail(f"sarif message.text {why}: {m[:100]!r}")
            break
    want = f"could not check {missing}: "
    if not any(n["message"]["text"].startswith(want) for n in notes):
        fail(f"sarif: no notification carries the whole {len(missing.encode())}-byte path")


def check_junit(out, paths):
    decode("junit", out, False)
    try:
        xml.dom.minidom.parseString(out)
        root = ET.fromstring(out)
    except Exception as e:  # expat: not well-formed
        fail(f"junit: not XML: {e}")
        return
    got = {c.get("classname") for c in root.iter("testcase")}
    if got != set(paths):
        fail(f"junit: classnames differ from the escaped names: {sorted(got ^ set(paths))[:3]}")
    msgs = [f.get("message", "") for f in root.iter("failure")]
    if not any("X\\x1b]0;t\\x07\\x0a" + FORGED in m for m in msgs):
        fail("junit: no failure message carries the hostile tensor name (fixture broken?)")


# ---- regressions --------------------------------------------------------------------------

def finding_ids(stcheck, cwd, args):
    code, out, _ = run(stcheck, cwd, ["-f", "json"] + args)
    doc = json.loads(out)
    return code, {f["path"]: ([x["id"] for x in f["findings"]], f["verdict"])
                  for f in doc["files"]}


def check_deep(stcheck, work):
    """--deep on a tensor with an unknown and with a missing dtype: their own findings, no
    out-of-bounds read (UBSan in the sanitizer build), and a float tensor next to them still
    scanned."""
    d = os.path.join(work, "deep")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    nan = b"\x00\x00\xc0\x7f"
    cases = {
        "unknown.safetensors": {"a": {"dtype": "X99", "shape": [1], "data_offsets": [0, 4]},
                                "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}},
        "missing.safetensors": {"a": {"shape": [1], "data_offsets": [0, 4]},
                                "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}},
    }
    for name, hdr in cases.items():
        h = json.dumps(hdr).encode()
        h += b" " * (-len(h) % 8)
        with open(os.path.join(d, name), "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + nan + nan)
    code, got = finding_ids(stcheck, d, ["--deep", "unknown.safetensors",
                                         "missing.safetensors"])
    want = {"unknown.safetensors": (["ST119", "ST141"], "fail"),
            "missing.safetensors": (["ST116", "ST141"], "fail")}
    if code != 1 or got != want:
        fail(f"--deep with unknown/missing dtype: exit {code}, {got}, expected 1, {want}")


def check_root_forms(stcheck, base):
    """The REPOSITORY line of a root given as ./ROOT/ is escaped like the rest."""
    code, out, _ = run(stcheck, base, ["-q", "-r", "./" + ROOT.decode("utf-8", "surrogateescape")
                                       + "/"])
    text = decode("text -q", out, False)
    no_forged_lines("text -q", text)
    if code != 1 or f": REPOSITORY FAIL (13 files" not in text:
        fail(f"-q -r ./ROOT/: exit {code}, {text[-200:]!r}")


def main():
    stcheck, work, schema = (os.path.abspath(a) for a in sys.argv[1:4])
    base, root, names, missing = build(work)
    root_shown = escape(root)
    paths = [escape(root + b"/" + n) for n in names]
    all_paths = paths + [missing]
    args = ["-j2", "-r", root.decode("utf-8", "surrogateescape"), missing]
    outs = {}
    for fmt in ("text", "json", "jsonl", "sarif", "junit"):
        code, out, err = run(stcheck, base, ["-f", fmt] + args)
        if code != 2:  # the missing file: could not check wins
            fail(f"-f {fmt}: exit {code}, expected 2: {err[-300:]!r}")
        decode(f"{fmt} stderr", err, False)
        no_forged_lines(f"{fmt} stderr", err.decode("utf-8", "replace"))
        outs[fmt] = (out, err)
    checks = [
        ("text", lambda: check_text(outs["text"][0], outs["text"][1], all_paths, root_shown)),
        ("json", lambda: check_json_doc("json", json.loads(decode("json", outs["json"][0], True)),
                                        all_paths, root_shown)),
        ("jsonl", lambda: check_jsonl(outs["jsonl"][0], all_paths)),
        ("sarif", lambda: check_sarif(outs["sarif"][0], schema, missing)),
        ("junit", lambda: check_junit(outs["junit"][0], all_paths)),
        ("deep", lambda: check_deep(stcheck, work)),
        ("root forms", lambda: check_root_forms(stcheck, base)),
    ]
    for name, check in checks:
        try:
            check()
        except Exception as e:  # a parser's refusal is a finding of this test, not a crash
            fail(f"{name}: {type(e).__name__}: {str(e)[:200]}")
    print(f"hostile: {len(all_paths)} hostile paths x 5 formats, deep, root forms: "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
