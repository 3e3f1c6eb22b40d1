"""Local servers for the remote-check tests (issue 14). Nothing here reaches beyond the machine:
every server listens on 127.0.0.1 on a free port, and stcheck runs with proxies unset.

- Nginx: the real nginx (Debian package), unprivileged, with a generated config in a temp dir:
  plain HTTP, HTTPS with a certificate made at test time by openssl (a private CA), and a
  Hub-like layout (/OWNER/REPO/resolve/REV/PATH answered by a 302 to a second "CDN" server; the
  tree API as static JSON). Access logs record the Authorization header each server received.
- FaultServer: Python's http.server, for what nginx will not do (ignores Range, lies in
  Content-Range, changes size, drops the connection, 500 then 200, redirect loops, file://,
  slow-loris).
- HubServer: an imitation of the Hub (tree API with Link pagination, resolve with ranges,
  a bearer token required) for -r hf://.
"""
import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy",
                                "hf_token", "hf_endpoint")}
    # an hf:// reference never reaches the real Hub: without an endpoint of the test's own,
    # the Hub is a closed port on loopback
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"
    env.update(extra)
    return env


def make_certs(d):
    """A CA and a server certificate for 127.0.0.1 signed by it; returns (ca, cert, key)."""
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    key, csr, cert = (os.path.join(d, n) for n in ("srv.key", "srv.csr", "srv.pem"))
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
        "-days", "2", "-subj", "/CN=stcheck test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", ext)
    return ca, cert, key


class Nginx:
    """nginx serving root on a free port (and https, and a Hub-like pair of servers)."""

    def __init__(self, workdir, root, tls=None, token=None):
        self.dir = os.path.join(workdir, "nginx")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(os.path.join(self.dir, "tmp"))
        self.root = root
        self.port, self.tls_port, self.cdn_port = free_port(), free_port(), free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.tls_url = "https://127.0.0.1:%d" % self.tls_port
        # the same server under an address its certificate does not name
        self.tls_other_url = "https://127.0.0.2:%d" % self.tls_port
        self.cdn_url = "http://127.0.0.1:%d" % self.cdn_port
        d = self.dir
        tmp = "".join("%s_temp_path %s/tmp;\n" % (k, d)
                      for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        tls_server = ""
        if tls:
            cert, key = tls
            tls_server = """
  server { listen 127.0.0.1:%d ssl; listen 127.0.0.2:%d ssl;
           ssl_certificate %s; ssl_certificate_key %s;
           root %s; access_log %s/tls.log auth; }""" % (self.tls_port, self.tls_port, cert, key,
                                                         root, d)
        # The Hub: /OWNER/REPO/resolve/REV/PATH redirects to the CDN host (another origin);
        # the tree API is a static file; a token, when set, is required at the origin.
        need = ""
        if token:
            need = 'if ($http_authorization != "Bearer %s") { return 401; }' % token
        conf = """worker_processes 1;
events { worker_connections 256; }
http {
  log_format auth '$request_method $uri $status auth=[$http_authorization] range=[$http_range]';
  default_type application/octet-stream;
  %s
  server { listen 127.0.0.1:%d; root %s; access_log %s/access.log auth;
    location ~ ^/api/models/([^/]+)/([^/]+)/tree/([^/]+)$ {
      %s
      default_type application/json; try_files /_tree/$1/$2/$3.json =404; }
    location ~ ^/([^/]+)/([^/]+)/resolve/([^/]+)/(.*)$ {
      %s
      return 302 %s/cdn/$1/$2/$4; }
  }
  server { listen 127.0.0.1:%d; access_log %s/cdn.log auth;
    location /cdn/ { alias %s/_repos/; } }
  %s
}
""" % (tmp, self.port, root, d, need, need, self.cdn_url, self.cdn_port, d, root, tls_server)
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen(
            ["nginx", "-p", d, "-c", os.path.join(d, "nginx.conf"), "-g",
             "daemon off; pid %s/pid; error_log %s/err;" % (d, d)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait([self.port, self.cdn_port] + ([self.tls_port] if tls else []))

    def _wait(self, ports):
        deadline = time.time() + 10
        for p in ports:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", p), 0.2).close()
                    break
                except OSError:
                    if time.time() > deadline or self.proc.poll() is not None:
                        raise RuntimeError("nginx did not start: %s" % self.log("err"))
                    time.sleep(0.05)

    def log(self, name):
        try:
            with open(os.path.join(self.dir, name if "." in name else name), "r",
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body in two writes: no 40 ms delayed-ACK stall

    def log_message(self, *a):
        pass

    def send(self, status, body, headers=(), length=None):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def trickle(self, status, body, headers):
        """Sends body 2 KiB every 0.25 s (above the stall guard's 1 KiB/s), then closes."""
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for i in range(0, len(body), 2048):
                self.wfile.write(body[i:i + 2048])
                self.wfile.flush()
                time.sleep(0.25)
        except OSError:
            pass
        self.close_connection = True

    def parse_range(self, size):
        r = self.headers.get("Range")
        if not r or not r.startswith("bytes="):
            return None
        a, b = r[6:].split("-")
        a, b = int(a), min(int(b), size - 1)
        return a, b

    def serve(self, data, status=None, cr=None, total=None):
        rng = self.parse_range(len(data))
        if rng is None or status == 200:
            return self.send(200, data)
        a, b = rng
        total = len(data) if total is None else total
        self.send(206, data[a:b + 1],
                  [("Content-Range", cr or "bytes %d-%d/%d" % (a, b, total))])


class FaultHandler(_Handler):
    def do_GET(self):
        srv = self.server
        path = self.path
        srv.hits[path] = srv.hits.get(path, 0) + 1
        n = srv.hits[path]
        data = srv.files.get(path.rsplit("/", 1)[-1], b"")
        kind = path.split("/")[1]
        if kind == "ok":
            return self.serve(data)
        if kind == "norange":
            return self.serve(data, status=200)
        if kind == "badrange":
            a, b = self.parse_range(len(data))
            return self.serve(data, cr="bytes %d-%d/%d" % (a + 1, b + 1, len(data)))
        if kind == "changing":
            return self.serve(data, total=len(data) + n - 1)
        if kind == "drop":
            a, b = self.parse_range(len(data))
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (a, b, len(data)))
            self.send_header("Content-Length", str(b - a + 1))
            self.end_headers()
            self.wfile.write(data[a:a + (b - a + 1) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if kind == "flaky":
            if n == 1:
                return self.send(500, b"try again")
            return self.serve(data)
        if kind == "loop":
            return self.send(302, b"", [("Location", path)])
        if kind == "tofile":
            return self.send(302, b"", [("Location", "file:///etc/passwd")])
        if kind == "toftp":
            return self.send(301, b"", [("Location", "ftp://127.0.0.1/x")])
        if kind == "trickle":  # 2 KiB every 0.25 s: above the stall guard's 1 KiB/s
            a, b = self.parse_range(len(data))
            return self.trickle(206, data[a:b + 1],
                                [("Content-Range", "bytes %d-%d/%d" % (a, b, len(data)))])
        if kind == "toother":  # records what it got, redirects to another host (srv.other)
            srv.seen.append(dict(self.headers))
            rest = path.split("/", 2)[2]
            return self.send(302, b"", [("Location", "%s/auth/%s" % (srv.other, rest))])
        if kind == "slow":
            self.send_response(206)
            self.send_header("Content-Range", "bytes 0-65535/%d" % len(data))
            self.send_header("Content-Length", "65536")
            self.end_headers()
            try:
                for i in range(200):
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
            self.close_connection = True
            return
        if kind == "notfound":
            return self.send(404, b"no such file")
        if kind == "auth":  # echoes nothing, records the headers it got
            srv.auth.append(dict(self.headers))
            return self.serve(data)
        return self.send(404, b"")


class HubHandler(_Handler):
    """/api/models/O/R/tree/REV[?cursor=N] and /O/R/resolve/REV/PATH."""

    def do_GET(self):
        srv = self.server
        srv.requests += 1
        srv.paths.append(self.path)
        if srv.token and self.headers.get("Authorization") != "Bearer " + srv.token:
            return self.send(401, b'{"error":"unauthorized"}')
        path, _, query = self.path.partition("?")
        if srv.prefix and path.startswith(srv.prefix):  # an endpoint with a path
            path = path[len(srv.prefix):]
        parts = path.split("/")
        if path.startswith("/api/models/") and len(parts) == 7 and parts[5] == "tree":
            repo = "%s/%s" % (parts[3], parts[4])
            pages = srv.listings.get(repo)
            if pages is None:
                return self.send(404, b'{"error":"not found"}')
            if isinstance(pages, bytes):
                return self.send(200, pages, [("Content-Type", "application/json")])
            if isinstance(pages, int):
                return self.send(pages, b"")
            if pages == "trickle":  # a 1 MB listing sent 2 KiB every 0.25 s
                body = b"[" + b" " * (1 << 20) + b"]"
                return self.trickle(200, body, [("Content-Type", "application/json")])
            if pages == "endless":  # every page names a next one
                nxt = "http://127.0.0.1:%d%s?cursor=%d" % (srv.server_address[1], path,
                                                          srv.requests)
                return self.send(200, b"[]", [("Link", '<%s>; rel="next"' % nxt)])
            page = 0
            if query.startswith("cursor="):
                page = int(query.split("&")[0][7:])
            hdrs = [("Content-Type", "application/json")]
            if page + 1 < len(pages):
                nxt = srv.next_base or ("http://127.0.0.1:%d" % srv.server_address[1])
                hdrs.append(("Link", '<%s%s?cursor=%d>; rel="next"' % (nxt, path, page + 1)))
            return self.send(200, json.dumps(pages[page]).encode(), hdrs)
        if len(parts) >= 6 and parts[3] == "resolve":
            name = "/".join(parts[5:])
            data = srv.files.get("%s/%s/%s" % (parts[1], parts[2], name))
            if data is None:
                return self.send(404, b"")
            return self.serve(data)
        return self.send(404, b"")


class _Server:
    def __init__(self, handler, **attrs):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda *a: None  # clients that hang up (timeouts) are expected
        for k, v in attrs.items():
            setattr(self.httpd, k, v)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def fault_server(files, other=None):
    return _Server(FaultHandler, files=files, hits={}, auth=[], seen=[], other=other)


def hub_server(files, listings, token=None):
    return _Server(HubHandler, files=files, listings=listings, token=token, requests=0,
                   next_base=None, prefix="", paths=[])


def tree_entry(path, size):
    return {"type": "file", "oid": "0" * 40, "size": size, "path": path}
