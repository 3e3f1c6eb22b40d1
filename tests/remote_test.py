"""Remote checks over HTTP range requests (issue 14), against real local servers only.

usage: remote_test.py STCHECK WORKDIR

Every case asserts the exact finding ids, the verdict and the exit code. nginx (Debian package)
serves fixtures with range support over HTTP and HTTPS (a CA made here by openssl) and imitates
the Hub's resolve redirect to a CDN host; a Python fault server does what nginx will not; a Hub
imitation answers the tree API for -r hf://. Tokens given by HF_TOKEN or --header must appear in
no output format, no message and no request to another host.
"""
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import remote_util as ru  # noqa: E402

STCHECK, WORK = sys.argv[1], sys.argv[2]
TOKEN = "hf_SECRETtoken1234567890"
FAILS = []
TIMES = []


def check(name, cond, detail=""):
    if not cond:
        FAILS.append(name)
        print("FAIL %s %s" % (name, detail))


def run(args, env=None, timeout=60):
    t0 = time.time()
    p = subprocess.run([STCHECK, *args], capture_output=True, env=env or ru.clean_env(),
                       timeout=timeout)
    TIMES.append((time.time() - t0, " ".join(args)[-90:]))
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode(
        "utf-8", "replace"), time.time() - t0


def jcheck(args, env=None):
    code, out, err, secs = run(["--format", "json", *args], env)
    doc = json.loads(out)
    return code, doc["files"], err, secs


def ids(f):
    return sorted(x["id"] for x in f["findings"])


def case(name, args, want_ids, want_code, env=None, want_verdict=None):
    code, files, err, _ = jcheck(args, env)
    got = ids(files[0])
    check(name, got == sorted(want_ids) and code == want_code and
          (want_verdict is None or files[0]["verdict"] == want_verdict),
          "ids %s exit %d verdict %s stderr %s" % (got, code, files[0]["verdict"], err[-300:]))
    return files[0]


def safetensors(tensors, pad=0):
    hdr, off, blobs = {}, 0, []
    for name, n in tensors:
        hdr[name] = {"dtype": "F32", "shape": [n], "data_offsets": [off, off + 4 * n]}
        blobs.append(b"\0" * (4 * n))
        off += 4 * n
    h = json.dumps(hdr).encode()
    h += b" " * ((8 - len(h) % 8) % 8 + pad)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def evil_pickle():
    return b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."


def torch_zip(nbytes):
    import torch
    sd = {"layer%d.weight" % i: torch.zeros(nbytes // 4 // 8) for i in range(8)}
    buf = io.BytesIO()
    torch.save(sd, buf)
    return buf.getvalue()


def gguf_files():
    """A GGUF file with small metadata and a 8 MiB tensor, and one with 650 KB of metadata (a
    30,000-token vocabulary) and a 16 MiB tensor; the second's metadata length."""
    import gen_gguf as gg
    small = gg.valid()
    small.tensor("big.weight", [2 << 20], 0)
    big = gg.base(n_tokens=30000)
    meta = len(big.build())
    big.tensor("token_embd.weight", [8, 4], 0)
    big.tensor("big.weight", [4 << 20], 0)
    return small.build(), big.build(), meta


def torch_legacy():
    """torch.save's legacy format (pickles, then raw storages): 4 storages of 1 MiB."""
    import torch
    buf = io.BytesIO()
    torch.save({"layer%d.weight" % i: torch.zeros(1 << 18) for i in range(4)}, buf,
               _use_new_zipfile_serialization=False)
    return buf.getvalue()


def setup_files(root):
    global GGUF_META
    small_gguf, big_gguf, GGUF_META = gguf_files()
    files = {
        "model.gguf": small_gguf,
        "vocab.gguf": big_gguf,
        "m.safetensors": safetensors([("a", 4), ("b", 300000)]),
        "small.safetensors": safetensors([("w", 2)]),
        "evil.pkl": evil_pickle(),
        "model.pt": torch_zip(3 << 20),
        "legacy.pt": torch_legacy(),
        "big.bin": b"\x80\x02" + b"N" * (1 << 20) + b".",
    }
    os.makedirs(root, exist_ok=True)
    for n, d in files.items():
        with open(os.path.join(root, n), "wb") as f:
            f.write(d)
    # the README's 4 GiB safetensors row (bench/remote_bench.py), as a sparse file: 291
    # tensors, a 30 KB header
    hdr, off = {}, 0
    per = (4 << 30) // 291 // 4 * 4
    for i in range(291):
        hdr["model.layers.%d.weight" % i] = {"dtype": "F32", "shape": [per // 4],
                                             "data_offsets": [off, off + per]}
        off += per
    h = json.dumps(hdr).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(os.path.join(root, "4gib.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        f.truncate(8 + len(h) + off)
    global ST4G_HEADER
    ST4G_HEADER = 8 + len(h)
    return files


def local_ids(path):
    code, files, _, _ = jcheck([path])
    return ids(files[0]), code, files[0]["verdict"]


def test_nginx(ng, root, files):
    u = ng.url
    f = case("nginx-safetensors", [u + "/m.safetensors"], ["ST139"] if False else
             local_ids(os.path.join(root, "m.safetensors"))[0], 0, want_verdict="pass")
    # docs/remote.md: the first 64 KiB (with the header) and the last 4 KiB, in 2 requests
    check("nginx-safetensors-cost", f["requests"] == 2 and f["bytes_fetched"] == 65536 + 4096
          and f["size"] == len(files["m.safetensors"]), str((f["requests"], f["bytes_fetched"])))
    f = case("nginx-4gib-safetensors", [u + "/4gib.safetensors"], [], 0, want_verdict="pass")
    check("nginx-4gib-safetensors-cost", f["requests"] <= 2 and
          f["bytes_fetched"] <= ST4G_HEADER + 65536 and f["size"] > 4 << 30,
          str((f["requests"], f["bytes_fetched"], f["size"])))
    code, out, err, _ = run(["--format", "jsonl", u + "/m.safetensors"])
    line = json.loads(out.splitlines()[0])
    check("nginx-jsonl-counts", line["requests"] == 2 and line["bytes_fetched"] == 69632, out)
    for name in ("evil.pkl", "model.pt", "legacy.pt", "model.gguf", "vocab.gguf"):
        want, code, verdict = local_ids(os.path.join(root, name))
        f = case("nginx-same-verdict-" + name, [u + "/" + name], want, code,
                 want_verdict=verdict)
        cost = (f["requests"], f["bytes_fetched"], len(files[name]))
        if name == "model.pt":
            # end records, central directory, local headers and data.pkl: no storage (each is
            # 393,216 bytes) is fetched, nor a sixteenth of the file
            check("nginx-torch-zip-partial", f["bytes_fetched"] < 393216 and
                  f["bytes_fetched"] < len(files[name]) // 16 and f["requests"] <= 20, str(cost))
        if name == "legacy.pt":  # the pickles and headers; raw storages skipped by size
            check("nginx-torch-legacy-partial", f["bytes_fetched"] < (1 << 20) and
                  f["bytes_fetched"] < len(files[name]) // 16, str(cost))
        if name == "model.gguf":  # metadata and tensor infos in the first 64 KiB
            check("nginx-gguf-cost", f["requests"] == 2 and f["bytes_fetched"] == 65536 + 4096,
                  str(cost))
        if name == "vocab.gguf":  # 650 KB of metadata read in order (doubling read-ahead)
            check("nginx-gguf-metadata-cost", f["requests"] <= 8 and
                  GGUF_META < f["bytes_fetched"] < 2 * GGUF_META + 65536 + 4096, str(cost))
    case("nginx-404", [u + "/missing.safetensors"], ["ST640"], 2)
    # --no-private-addresses (ST650): loopback nginx is refused before any connection, whatever
    # the spelling; nginx logs no request. By default the same URLs are checked (above).
    before = ng.log("access.log").count("\n")
    code, fs, err, _ = jcheck(["--no-private-addresses", u + "/m.safetensors",
                               "http://localhost:%d/m.safetensors" % ng.port,
                               "http://[::ffff:127.0.0.1]:%d/m.safetensors" % ng.port,
                               ng.tls_url + "/m.safetensors"] +
                              ["http://%s:%d/m.safetensors" % (h, ng.port)
                               for h in ("2130706433", "0x7f.1", "127.1", "[::127.0.0.1]")])
    got = [(ids(f), f["verdict"], f["requests"], f["bytes_fetched"]) for f in fs]
    check("no-private-addresses-nginx", code == 2 and
          got == [(["ST650"], "could not check", 0, 0)] * 8, str(got) + err[-300:])
    check("no-private-addresses-message", "its address 127.0.0.1 is loopback, not public "
          "(--no-private-addresses)" in fs[0]["findings"][0]["message"], str(fs[0]))
    check("no-private-addresses-nginx-untouched",
          ng.log("access.log").count("\n") == before, ng.log("access.log")[-300:])
    # URLs mixed with local paths, in order, one exit code
    code, out, err, _ = run([os.path.join(root, "small.safetensors"), u + "/evil.pkl",
                             u + "/small.safetensors"])
    lines = [l for l in out.splitlines() if ": PASS" in l or ": FAIL" in l]
    check("mixed-paths-urls", code == 1 and len(lines) == 3 and "evil.pkl: FAIL" in lines[1],
          out + err)
    # --digest over HTTP: the same SHA-256 as the local file
    code, fs, _, _ = jcheck(["--digest", u + "/big.bin", os.path.join(root, "big.bin")])
    check("digest-remote", fs[0]["sha256"] == fs[1]["sha256"] and
          fs[0]["sha256"] is not None and fs[0]["bytes_fetched"] >= len(files["big.bin"]),
          str([(x["sha256"], x.get("bytes_fetched")) for x in fs]))
    # --max-fetch: past it, could not check (never a pass)
    # the pickle walk stops at the budget, then the digest cannot read the rest either
    case("max-fetch", ["--digest", "--max-fetch", "512K", u + "/big.bin"],
         ["ST643", "ST902", "ST902"], 2)
    case("max-fetch-small-file-ok", ["--max-fetch", "1K", u + "/evil.pkl"],
         local_ids(os.path.join(root, "evil.pkl"))[0], 1)


def shard_set(variant):
    """A two-shard safetensors set with its index: good, a shard missing, or a bad header."""
    s1 = safetensors([("a", 4), ("b", 8)])
    s2 = safetensors([("c", 16)])
    if variant == "bad":
        s2 = struct.pack("<Q", 1 << 40) + s2[8:]
    wm = {"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
          "c": "model-00002-of-00002.safetensors"}
    out = {"model.safetensors.index.json": json.dumps(
        {"metadata": {"total_size": 4 * 28}, "weight_map": wm}).encode(),
        "model-00001-of-00002.safetensors": s1}
    if variant != "missing":
        out["model-00002-of-00002.safetensors"] = s2
    return out


def write_shard_sets(root):
    sets = {}
    for v in ("good", "missing", "bad"):
        sets[v] = shard_set(v)
        d = os.path.join(root, "shards-" + v)
        os.makedirs(d, exist_ok=True)
        for n, data in sets[v].items():
            with open(os.path.join(d, n), "wb") as f:
                f.write(data)
    # a shard name no URL of this length can hold
    d = os.path.join(root, "shards-long")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"weight_map": {"a": "x" * 4100 + ".safetensors"}}, f)
    return sets


def test_shards(ng, root, sets):
    """A shard index over a URL: its shards are fetched from the index's folder."""
    idx = "/model.safetensors.index.json"
    for v, code, verdict in (("good", 0, "pass"), ("missing", 1, "fail"), ("bad", 1, "fail")):
        want, lcode, lverdict = local_ids(os.path.join(root, "shards-" + v) + idx)
        check("shards-local-" + v, lcode == code and lverdict == verdict and "ST617" not in want,
              str((want, lcode, lverdict)))
        f = case("shards-remote-" + v, [ng.url + "/shards-" + v + idx], want, code,
                 want_verdict=verdict)
        if v == "good":
            total = sum(len(d) for d in sets[v].values())
            check("shards-remote-counted", f["requests"] == 3 and f["bytes_fetched"] == total,
                  str((f["requests"], f["bytes_fetched"], total)))
    # --max-fetch bounds the index and its shards together: past it, never a pass
    size = len(sets["good"]["model.safetensors.index.json"])
    case("shards-max-fetch", ["--max-fetch", str(size + 10), ng.url + "/shards-good" + idx],
         ["ST618", "ST618"], 1, want_verdict="fail")
    case("shards-name-too-long", [ng.url + "/shards-long" + idx], ["ST618"], 1,
         want_verdict="fail")


def test_tls(ng, ca):
    f = case("https-unverified", [ng.tls_url + "/small.safetensors"], ["ST640"], 2)
    check("https-unverified-not-retried", f["requests"] == 1, str(f["requests"]))
    case("https-cacert", ["--cacert", ca, ng.tls_url + "/small.safetensors"], [], 0,
         want_verdict="pass")
    # the host name is verified too: a certificate the CA signed for another name fails
    f = case("https-wrong-host", ["--cacert", ca, ng.tls_other_url + "/small.safetensors"],
             ["ST640"], 2)
    check("https-wrong-host-not-retried", f["requests"] == 1 and
          "certificate" in f["findings"][0]["message"].lower(), str(f))
    # a --cacert that is no certificate: not retried either
    f = case("https-cacert-not-pem", ["--cacert", os.path.join(WORK, "ext.cnf"),
                                      ng.tls_url + "/small.safetensors"], ["ST640"], 2)
    check("https-cacert-not-pem-not-retried", f["requests"] == 1, str(f["requests"]))
    code, out, err, _ = run(["--cacert", "/nonexistent/ca.pem", ng.tls_url + "/x"])
    check("cacert-missing-usage", code == 3, err)


def test_hub_redirect(root):
    """nginx as the Hub: resolve answers 302 to a CDN on another port; the token goes to the
    Hub only."""
    repo = os.path.join(root, "_repos", "org", "model")
    os.makedirs(repo, exist_ok=True)
    shutil.copy(os.path.join(root, "m.safetensors"), repo)
    ng = ru.Nginx(WORK, root, token=TOKEN)
    try:
        env = ru.clean_env(HF_ENDPOINT=ng.url, HF_TOKEN=TOKEN)
        f = case("hub-redirect", ["hf://org/model/m.safetensors"], ["ST139"] if False else
                 local_ids(os.path.join(root, "m.safetensors"))[0], 0, env=env,
                 want_verdict="pass")
        check("hub-redirect-cost", f["requests"] <= 3, str(f["requests"]))
        access, cdn = ng.log("access.log"), ng.log("cdn.log")
        check("token-sent-to-hub", ("auth=[Bearer %s]" % TOKEN) in access, access)
        check("token-not-sent-to-cdn", TOKEN not in cdn and "auth=[-]" in cdn, cdn)
        case("hub-no-token", ["hf://org/model/m.safetensors"], ["ST640"], 2,
             env=ru.clean_env(HF_ENDPOINT=ng.url))
        # --header goes to the URL's origin only, too
        code, fs, err, _ = jcheck(["--header", "Authorization: Bearer " + TOKEN,
                                   ng.url + "/org/model/resolve/main/m.safetensors"])
        check("header-origin-only", code == 0 and TOKEN not in ng.log("cdn.log"), err)
        # a signed URL's query is a credential too: reports and messages drop it
        token_nowhere(env, ["hf://org/model/m.safetensors", "hf://org/model/missing.bin",
                            "hf://org/model/../x", ng.url + "/org/model/resolve/main/nope",
                            ng.cdn_url + "/cdn/org/model/m.safetensors?X-Sig=" + TOKEN,
                            ng.cdn_url + "/cdn/org/model/none.bin?X-Sig=" + TOKEN])
    finally:
        ng.stop()


def token_nowhere(env, targets):
    """Every output format, stderr and written documents: the token never appears."""
    out_dir = os.path.join(WORK, "outs")
    os.makedirs(out_dir, exist_ok=True)
    for fmt in ("text", "json", "jsonl", "sarif", "junit"):
        extra = ["--json-output", os.path.join(out_dir, "a.json"), "--sarif-output",
                 os.path.join(out_dir, "a.sarif"), "--junit-output",
                 os.path.join(out_dir, "a.xml")]
        code, out, err, _ = run(["--format", fmt, "--header", "X-Api-Key: " + TOKEN, *extra,
                                 *targets], env)
        written = "".join(open(os.path.join(out_dir, n)).read()
                          for n in ("a.json", "a.sarif", "a.xml"))
        check("token-nowhere-" + fmt, TOKEN not in out + err + written and code == 2,
              "exit %d" % code)


def test_faults(files):
    srv = ru.fault_server(files)
    u = srv.url
    srv.httpd.connections = 0

    def count_connection(request, address):
        srv.httpd.connections += 1
        return True
    srv.httpd.verify_request = count_connection
    try:
        # --no-private-addresses: not one connection reaches the server (ST650), a redirect
        # loop included; without it the same URL is fetched
        f = case("no-private-addresses-fault", ["--no-private-addresses", u + "/ok/m.safetensors"],
                 ["ST650"], 2, want_verdict="could not check")
        case("no-private-addresses-fault-loop", ["--no-private-addresses", u + "/loop/x"],
             ["ST650"], 2)
        check("no-private-addresses-no-connection", srv.httpd.connections == 0 and
              not srv.httpd.hits and f["requests"] == 0,
              str((srv.httpd.connections, srv.httpd.hits)))
        case("private-addresses-default", [u + "/ok/m.safetensors"], ids_local_m, 0,
             want_verdict="pass")
        check("private-addresses-default-connects", srv.httpd.connections >= 1 and
              srv.httpd.hits.get("/ok/m.safetensors", 0) >= 1, str(srv.httpd.hits))
        f = case("fault-ignores-range", [u + "/norange/m.safetensors"],
                 ["ST139", "ST645"] if "ST139" in ids_local_m else ["ST645"], 0,
                 want_verdict="pass")
        # read from the start as far as needed: the first 64 KiB, then to the end for the
        # last bytes (identification reads them)
        check("fault-ignores-range-bounded",
              f["bytes_fetched"] <= 2 * len(files["m.safetensors"]), str(f["bytes_fetched"]))
        case("fault-ignores-range-max-fetch", ["--max-fetch", "256K", u + "/norange/m.safetensors"],
             ["ST643", "ST645", "ST902"], 2)
        case("fault-wrong-content-range", [u + "/badrange/m.safetensors"], ["ST641"], 2)
        case("fault-size-changes", [u + "/changing/m.safetensors"],
             ["ST642", "ST902"], 2)
        t0 = time.time()
        f = case("fault-drop-mid-body", [u + "/drop/m.safetensors"], ["ST640"], 2)
        # retried 3 times after 250, 500 and 1,000 ms
        check("fault-drop-retried-with-backoff",
              f["requests"] == 4 and time.time() - t0 >= 1.7, "%d requests, %.2f s" % (
                  f["requests"], time.time() - t0))
        f = case("fault-500-then-200", [u + "/flaky/small.safetensors"], [], 0,
                 want_verdict="pass")
        check("fault-500-retried", f["requests"] == 2, str(f["requests"]))
        f = case("fault-redirect-loop", [u + "/loop/x"], ["ST644"], 2)
        check("fault-redirect-bounded", f["requests"] == 11, str(f["requests"]))
        case("fault-redirect-file", [u + "/tofile/x"], ["ST644"], 2)
        case("fault-redirect-ftp", [u + "/toftp/x"], ["ST644"], 2)
        t0 = time.time()
        case("fault-slow-loris", ["--timeout", "1", u + "/slow/m.safetensors"],
             ["ST640"], 2)
        check("fault-slow-loris-time", time.time() - t0 < 15, str(time.time() - t0))
        # a trickle of 8 KiB/s passes the stall guard: --fetch-timeout bounds the whole check
        t0 = time.time()
        case("fault-trickle-fetch-timeout", ["--timeout", "1", "--fetch-timeout", "2",
                                             u + "/trickle/m.safetensors"], ["ST649"], 2,
             want_verdict="could not check")
        check("fault-trickle-time", time.time() - t0 < 6, str(time.time() - t0))
        for bad in ("0", "86401", "x", ""):
            code, out, err, _ = run(["--fetch-timeout", bad, u + "/ok/m.safetensors"])
            check("fetch-timeout-bad-usage-" + bad, code == 3 and "--fetch-timeout" in err, err)
        case("url-credentials", ["http://user:pw@127.0.0.1:%d/ok/x" % srv.port],
             ["ST646"], 2)
        code, out, err, _ = run(["--max-fetch", "0", u + "/ok/m.safetensors"])
        check("max-fetch-zero-usage", code == 3, err)
        code, out, err, _ = run(["--header", "no colon", u + "/ok/m.safetensors"])
        check("header-bad-usage", code == 3, err)
        code, out, err, _ = run(["--timeout", "0", u + "/ok/m.safetensors"])
        check("timeout-bad-usage", code == 3, err)
    finally:
        srv.stop()


def test_other_host(files):
    """Credentials never follow a redirect to another host: 127.0.0.1 redirects to localhost
    (another name, another port); what the second server received is inspected."""
    b = ru.fault_server(files)
    a = ru.fault_server(files, other="http://localhost:%d" % b.port)
    try:
        env = ru.clean_env(HF_ENDPOINT=a.url, HF_TOKEN=TOKEN)
        case("redirect-other-host-header", ["--header", "X-Api-Key: " + TOKEN,
                                            a.url + "/toother/r/small.safetensors"], [], 0,
             want_verdict="pass")
        case("redirect-other-host-hf-token", ["hf://toother/r/small.safetensors"], [], 0,
             env=env, want_verdict="pass")
        got_a = [h.get("X-Api-Key") or h.get("Authorization") for h in a.httpd.seen]
        check("credentials-sent-to-origin",
              got_a == [TOKEN, "Bearer " + TOKEN], str(got_a))
        leaked = [h for h in b.httpd.auth if any(TOKEN in v for v in h.values()) or
                  "Authorization" in h or "X-Api-Key" in h]
        hosts = sorted(set(h.get("Host") for h in b.httpd.auth))
        check("credentials-not-sent-to-other-host",
              len(b.httpd.auth) == 2 and not leaked and hosts == ["localhost:%d" % b.port],
              "%d requests, leaked %s, hosts %s" % (len(b.httpd.auth), leaked, hosts))
    finally:
        a.stop()
        b.stop()


def test_hub_walk(files):
    st = files["small.safetensors"]
    good = {
        "o/r/model.safetensors": files["m.safetensors"],
        "o/r/sub/evil.pkl": files["evil.pkl"],
        "o/r/README.md": b"# a model\n",
    }
    pages = [[{"type": "directory", "oid": "1", "size": 0, "path": "sub"},
              ru.tree_entry("README.md", 10), ru.tree_entry("model.safetensors", 1)],
             [ru.tree_entry("sub/evil.pkl", len(files["evil.pkl"]))]]
    bad = [ru.tree_entry(p, 1) for p in
           ("../escape.bin", "/etc/passwd", "a//b", "a\\b", "ok\u0001.bin", "./x", "dup.bin",
            "dup.bin")]
    listings = {"o/r": pages, "o/bad": [bad], "o/html": b"<html>nope</html>",
                "o/huge": b"[" + b" " * (64 << 20) + b"]", "o/empty": 204, "o/endless": "endless",
                "o/long": [[ru.tree_entry("d" * 1000 + "/model.safetensors", 1)]],
                "o/obj": b'{"path": "x"}', "o/dupkey": b'[{"type":"file","type":"file"}]',
                "o/slow": "trickle",
                "o/big": [[ru.tree_entry("f%03d/%s.safetensors" % (p, "x" * 80), 1)
                           for _ in range(1) for p in range(k * 50, k * 50 + 50)]
                          for k in range(3)]}
    good["o/bad/dup.bin"] = st
    sharded = shard_set("good")
    listings["o/s"] = [[ru.tree_entry(n, len(d)) for n, d in sorted(sharded.items())]]
    for n, d in sharded.items():
        good["o/s/" + n] = d
    srv = ru.hub_server(good, listings, token=TOKEN)
    env = ru.clean_env(HF_ENDPOINT=srv.url, HF_TOKEN=TOKEN)
    try:
        code, fs, err, _ = jcheck(["-r", "hf://o/r"], env)
        got = [(f["path"], f["verdict"], ids(f), f["repository"]) for f in fs]
        want = [("hf://o/r/README.md", "pass", ["ST608"], "hf://o/r"),
                ("hf://o/r/model.safetensors", "pass", ids_local_m, "hf://o/r"),
                ("hf://o/r/sub/evil.pkl", "fail", ids_local_evil, "hf://o/r")]
        check("hub-walk", code == 1 and got == want, str(got) + err)
        # --no-private-addresses: the listing's request is refused (ST650), the listing is one
        # item that could not be checked (ST648), the Hub imitation sees no request
        before = srv.httpd.requests
        code, fs, err, _ = jcheck(["--no-private-addresses", "-r", "hf://o/r"], env)
        got = [(f["verdict"], ids(f), f["requests"]) for f in fs]
        check("hub-walk-no-private-addresses", code == 2 and srv.httpd.requests == before and
              got == [("could not check", ["ST648", "ST650"], 0)], str(got) + err)
        # @REV reaches the tree API and every resolve
        del srv.httpd.paths[:]
        code, fs, err, _ = jcheck(["-r", "hf://o/r@v2.0"], env)
        got = [(f["path"], f["verdict"], ids(f)) for f in fs]
        tree = [p for p in srv.httpd.paths if "/tree/" in p]
        resolve = sorted(set(p for p in srv.httpd.paths if "/resolve/" in p))
        check("hub-walk-revision", code == 1 and [g[0] for g in got] == [
              "hf://o/r@v2.0/README.md", "hf://o/r@v2.0/model.safetensors",
              "hf://o/r@v2.0/sub/evil.pkl"] and
              tree == ["/api/models/o/r/tree/v2.0?recursive=True&expand=False",
                       "/api/models/o/r/tree/v2.0?cursor=1"] and
              resolve == ["/o/r/resolve/v2.0/README.md", "/o/r/resolve/v2.0/model.safetensors",
                          "/o/r/resolve/v2.0/sub/evil.pkl"], "%s %s %s" % (got, tree, resolve))
        # a sharded repository: the index's shards are fetched (with the token) and it passes
        code, fs, err, _ = jcheck(["-r", "hf://o/s"], env)
        got = [(f["path"], f["verdict"], ids(f), f["format"]) for f in fs]
        check("hub-walk-sharded", code == 0 and len(fs) == 3 and
              got[2] == ("hf://o/s/model.safetensors.index.json", "pass", ids_local_index,
                         "shard-index") and fs[2]["requests"] == 3, str(got) + err)
        code, out, err, _ = run(["-r", "hf://o/r"], env)
        check("hub-walk-text", "hf://o/r: REPOSITORY FAIL (3 files" in out, out)
        code, fs, err, _ = jcheck(["-r", "hf://o/bad"], env)
        got = sorted((f["path"], ids(f)) for f in fs)
        check("hub-walk-refused-paths", code == 1 and len(fs) == 8 and
              sum(1 for f in fs if ids(f) == ["ST647"]) == 7 and
              [f["verdict"] for f in fs].count("pass") == 1, str(got))
        for repo in ("html", "obj", "dupkey", "huge", "empty", "endless"):
            case("hub-listing-" + repo, ["-r", "hf://o/" + repo], ["ST648"], 2, env=env)
        case("hub-listing-404", ["-r", "hf://o/none"], ["ST640", "ST648"], 2, env=env)
        # the listing's pages count toward --max-fetch, its files toward tree_entries: a cut
        # listing is one item that could not be checked, never a walk of the part read
        before = srv.httpd.requests
        code, fs, err, _ = jcheck(["--max-fetch", "10K", "-r", "hf://o/big"], env)
        check("hub-listing-max-fetch", code == 2 and len(fs) == 1 and
              ids(fs[0]) == ["ST643", "ST648"] and fs[0]["verdict"] == "could not check" and
              fs[0]["bytes_fetched"] <= 10240 and srv.httpd.requests - before == 2,
              "%s %s" % ([(f["path"], ids(f)) for f in fs], srv.httpd.requests - before))
        t0 = time.time()
        code, fs, err, _ = jcheck(["--timeout", "1", "--fetch-timeout", "1", "-r", "hf://o/slow"],
                                  env)
        check("hub-listing-fetch-timeout", code == 2 and len(fs) == 1 and
              ids(fs[0]) == ["ST648", "ST649"] and time.time() - t0 < 5,
              "%s %.1f s" % ([(f["path"], ids(f)) for f in fs], time.time() - t0))
        pol = os.path.join(WORK, "entries.json")
        with open(pol, "w") as fh:
            json.dump({"limits": {"tree_entries": 2}}, fh)
        before = srv.httpd.requests
        code, fs, err, _ = jcheck(["--policy", pol, "-r", "hf://o/r"], env)
        check("hub-listing-tree-entries", code == 2 and len(fs) == 1 and
              ids(fs[0]) == ["ST648"] and "tree_entries" in fs[0]["findings"][0]["message"] and
              srv.httpd.requests - before == 2,
              "%s %s" % ([(f["path"], ids(f)) for f in fs], srv.httpd.requests - before))
        case("hub-listing-no-token", ["-r", "hf://o/r"], ["ST640", "ST648"], 2,
             env=ru.clean_env(HF_ENDPOINT=srv.url))
        srv.httpd.next_base = "http://localhost:%d" % srv.port  # another origin
        case("hub-listing-next-other-host", ["-r", "hf://o/r"], ["ST648"], 2, env=env)
        srv.httpd.next_base = None
        case("hf-bad-ref", ["hf://o/../x"], ["ST646"], 2, env=env)
        # an endpoint with a long path: the listing's URL fits, a file's does not
        srv.httpd.prefix = "/" + "p" * 3100
        case("hub-url-too-long", ["-r", "hf://o/long"], ["ST646"], 2,
             env=ru.clean_env(HF_ENDPOINT=srv.url + srv.httpd.prefix, HF_TOKEN=TOKEN))
        srv.httpd.prefix = ""
        case("hf-repo-without-r", ["hf://o/r"], ["ST646"], 2, env=env)
        # a file reference under -r is checked as that file (here: not found)
        case("hf-walk-file-ref", ["-r", "hf://o/r/x/y"], ["ST640"], 2, env=env)
        case("hf-bad-walk-ref", ["-r", "hf://o/r@bad..rev"], ["ST646"], 2, env=env)
        token_nowhere(env, ["hf://o/r/model.safetensors", "hf://o/none/x", "-r", "hf://o/bad"])
    finally:
        srv.stop()


def test_documented_defaults():
    """The defaults (test_fetch checks the library's: 256 MiB, 30 s, 300 s) as --help, the man
    page and docs/remote.md state them."""
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    helptext = run(["--help"])[1]
    man = open(os.path.join(src, "docs", "stcheck.1")).read().replace("\\", "")
    doc = open(os.path.join(src, "docs", "remote.md")).read()
    for name, text, needles in (
            ("help", " ".join(helptext.split()), ["default 256M", "(default 30)", "(default 300)"]),
            ("man", " ".join(man.split()), ["default 256M", "(default 30)", "(default 300,"]),
            ("remote.md", doc, ["| 256 MiB | ST643", "| 30 s, 1 KiB/s |", "| 300 s | ST649"])):
        missing = [n for n in needles if n not in text]
        check("documented-defaults-" + name, not missing, str(missing))


def main():
    global ids_local_m, ids_local_evil, ids_local_index
    test_documented_defaults()
    shutil.rmtree(WORK, ignore_errors=True)
    root = os.path.join(WORK, "www")
    files = setup_files(root)
    sets = write_shard_sets(root)
    ids_local_m = local_ids(os.path.join(root, "m.safetensors"))[0]
    ids_local_evil = local_ids(os.path.join(root, "evil.pkl"))[0]
    ids_local_index = local_ids(os.path.join(root, "shards-good",
                                             "model.safetensors.index.json"))[0]
    ca, cert, key = ru.make_certs(WORK)
    ng = ru.Nginx(WORK, root, tls=(cert, key))
    try:
        test_nginx(ng, root, files)
        test_shards(ng, root, sets)
        test_tls(ng, ca)
    finally:
        ng.stop()
    test_hub_redirect(root)
    test_faults(files)
    test_other_host(files)
    test_hub_walk(files)
    if os.environ.get("REMOTE_TEST_TIMES"):
        for t, a in sorted(TIMES, reverse=True)[:12]:
            print("%.2f s  %s" % (t, a))
    print("%d failure(s)" % len(FAILS))
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
