#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# A fake AWS for the tests: one HTTPS port playing STS, the console sign-in
# federation endpoint and generic AWS services under their real names (its own
# test CA, a certificate per SNI name), plain-HTTP ports for IMDSv2 and the ECS
# credentials endpoint, and a loopback admin port for faults and the clock.
# Every request is checked (SigV4 by botocore) and recorded as a JSON line.
# See tests/fakeaws/README.md.  Run with /usr/bin/python3 (python3-botocore).

import argparse
import fnmatch
import hashlib
import http.server
import json
import os
import re
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import traceback
import uuid
from urllib.parse import parse_qsl

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import sigcheck  # noqa: E402
except Exception as exc:   # pragma: no cover - depends on the host
    print("fakeaws: cannot import botocore with %s: %s" % (sys.executable, exc),
          file=sys.stderr)
    sys.exit(77)
import identity  # noqa: E402
import services  # noqa: E402
from proto import Response, error_response  # noqa: E402

# Bodies above this are refused with 413 (the tests upload a few MiB).
MAX_BODY = 64 * 1024 * 1024
# The streaming bucket: bodies of any size, never held (README, "The null bucket").
NULL_BUCKET = "awsgate-null"
NULL_MAX_GET = 1 << 40
NULL_BLOCK = bytes(range(251)) * 4096  # byte i of a GET is i % 251
# Request heads: lines and count, as a server would bound them.
MAX_HEADERS = 200
# Socket timeout of an idle keep-alive connection.
IDLE_TIMEOUT = 30

# The names whose certificates the fake mints on demand (label boundary).
AWS_SUFFIXES = ("amazonaws.com", "amazonaws.com.cn", "aws.amazon.com",
                "amazonaws-us-gov.com", "amazonaws.cn", "api.aws",
                "c2s.ic.gov", "sc2s.sgov.gov", "amazon.com")
_HOSTNAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,62})(\.[a-z0-9]([a-z0-9-]{0,62}))*")

SECRET_HEADERS = ("authorization", "x-amz-security-token",
                  "x-aws-ec2-metadata-token", "cookie")
SECRET_QUERY = ("X-Amz-Signature", "X-Amz-Security-Token", "SigninToken",
                "Session", "WebIdentityToken")


class Clock:
    """Real time plus an offset the admin endpoint can move (expiry and skew
    tests without sleeping)."""

    def __init__(self):
        self.offset = 0.0

    def now(self):
        return time.time() + self.offset


# --------------------------------------------------------------------------
# TLS: the test CA and a certificate per name
# --------------------------------------------------------------------------

def _openssl(args, what):
    r = subprocess.run(["openssl"] + args, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (what, r.stderr.decode(
            "utf-8", "replace").strip()))


class Certs:
    """The CA (made in the state dir unless given) and leaf certificates
    minted per SNI name with the openssl CLI, cached for the run."""

    def __init__(self, state_dir, ca_cert=None, ca_key=None):
        self.dir = os.path.join(state_dir, "certs")
        os.makedirs(self.dir, exist_ok=True)
        if ca_cert:
            self.ca_cert, self.ca_key = ca_cert, ca_key
        else:
            self.ca_cert = os.path.join(state_dir, "ca.crt")
            self.ca_key = os.path.join(state_dir, "ca.key")
            if not os.path.exists(self.ca_cert):
                _openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                          self.ca_key, "-out", self.ca_cert, "-days", "7",
                          "-subj", "/O=awsgate tests/CN=fakeaws test CA",
                          "-addext", "basicConstraints=critical,CA:TRUE",
                          "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                         "CA")
        self.leaf_key = os.path.join(self.dir, "leaf.key")
        _openssl(["genpkey", "-algorithm", "EC", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-out", self.leaf_key], "key")
        self.lock = threading.Lock()
        self.contexts = {}
        self.serial = int(time.time() * 1000)
        self.default = self.context("localhost")

    def _mint(self, name):
        path = os.path.join(self.dir, name + ".crt")
        if name == "localhost":
            san = "DNS:localhost,IP:127.0.0.1,IP:::1"
        else:
            san = "DNS:" + name
        self.serial += 1
        _openssl(["req", "-x509", "-new", "-key", self.leaf_key, "-CA",
                  self.ca_cert, "-CAkey", self.ca_key, "-subj", "/CN=" + name,
                  "-set_serial", str(self.serial), "-days", "2",
                  "-addext", "subjectAltName=" + san,
                  "-addext", "basicConstraints=critical,CA:FALSE",
                  "-addext", "keyUsage=critical,digitalSignature",
                  "-addext", "extendedKeyUsage=serverAuth",
                  "-out", path], "leaf " + name)
        return path

    def context(self, name):
        with self.lock:
            ctx = self.contexts.get(name)
            if ctx is None:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                ctx.set_alpn_protocols(["http/1.1"])
                ctx.load_cert_chain(self._mint(name), self.leaf_key)
                self.contexts[name] = ctx
            return ctx

    @staticmethod
    def plays(name):
        if name in ("localhost", "127.0.0.1"):
            return True
        if len(name) > 253 or not _HOSTNAME.fullmatch(name):
            return False
        return any(name == s or name.endswith("." + s) for s in AWS_SUFFIXES)

    def sni_callback(self, sslsock, server_name, _ctx):
        name = (server_name or "").lower().rstrip(".")
        sslsock.fakeaws_sni = name
        if name and self.plays(name) and name != "127.0.0.1":
            try:
                sslsock.context = self.context(name)
            except Exception as exc:
                sys.stderr.write("fakeaws: certificate for %s: %s\n"
                                 % (name, exc))
                return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        # Any other name gets the localhost certificate: a client checking
        # names refuses it, as it would refuse a host that is not AWS.
        return None

    def server_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_alpn_protocols(["http/1.1"])
        ctx.load_cert_chain(os.path.join(self.dir, "localhost.crt"),
                            self.leaf_key)
        ctx.sni_callback = self.sni_callback
        return ctx


# --------------------------------------------------------------------------
# Faults and records
# --------------------------------------------------------------------------

FAULT_KINDS = ("throttle", "error", "slow", "slow-body", "drop")


class Faults:
    """Rules {host, action, listener, kind, count, delay, status}, first
    match wins, each used for its next `count` matching requests (null:
    every one)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    @staticmethod
    def check(rule):
        if not isinstance(rule, dict):
            raise ValueError("a fault is an object")
        unknown = set(rule) - {"host", "action", "listener", "kind", "count",
                               "delay", "status"}
        if unknown:
            raise ValueError("unknown fault fields: %s" % ", ".join(
                sorted(unknown)))
        if rule.get("kind") not in FAULT_KINDS:
            raise ValueError("fault kind must be one of %s, not %r"
                             % ("/".join(FAULT_KINDS), rule.get("kind")))
        count = rule.get("count", 1)
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ValueError("fault count must be a positive integer or null")
        delay = rule.get("delay", 1.0)
        if not isinstance(delay, (int, float)) or not 0 <= delay <= 300:
            raise ValueError("fault delay must be 0..300 seconds")
        status = rule.get("status", 500)
        if not isinstance(status, int) or not 500 <= status <= 599:
            raise ValueError("fault status must be 500..599")
        return {"host": str(rule.get("host", "*")).lower(),
                "action": str(rule.get("action", "*")),
                "listener": str(rule.get("listener", "*")),
                "kind": rule["kind"], "count": count, "delay": float(delay),
                "status": status}

    def add(self, rules):
        checked = [self.check(r) for r in rules]
        with self.lock:
            self.rules.extend(checked)
        return len(checked)

    def clear(self):
        with self.lock:
            self.rules = []

    def list(self):
        with self.lock:
            return [dict(r) for r in self.rules]

    def take(self, listener, host, action):
        with self.lock:
            for r in self.rules:
                if (fnmatch.fnmatchcase(listener, r["listener"]) and
                        fnmatch.fnmatchcase(host, r["host"]) and
                        fnmatch.fnmatchcase(action or "", r["action"])):
                    if r["count"] is not None:
                        r["count"] -= 1
                        if r["count"] == 0:
                            self.rules.remove(r)
                    return dict(r)
        return None


class Recorder:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.f = open(path, "a", encoding="utf-8")

    def write(self, rec):
        line = json.dumps(rec, sort_keys=True, ensure_ascii=True)
        with self.lock:
            self.f.write(line + "\n")
            self.f.flush()


def redact_headers(headers):
    out = []
    for n, v in headers:
        ln = n.lower()
        if ln == "authorization":
            v = re.sub(r"Signature=[0-9a-fA-F]+", "Signature=REDACTED", v)
            if "Signature=REDACTED" not in v:
                v = "REDACTED"
        elif ln in SECRET_HEADERS:
            v = "REDACTED"
        out.append([n, v])
    return out


def redact_query(pairs):
    return [[k, "REDACTED" if k in SECRET_QUERY else v] for k, v in pairs]


# --------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------

class Request:
    """One parsed request handed to the protocol code."""

    def __init__(self, listener, method, target, headers, body, sni, client):
        self.listener = listener
        self.method = method
        self.target = target
        path, _, query = target.partition("?")
        self.raw_path = path
        self.raw_query = query
        self.headers = headers
        self.body = body
        self.sni = sni
        self.client = client
        host = self.header("host") or ""
        self.host_header = host
        h = host.lower()
        if h.startswith("["):
            h = h[:h.find("]") + 1]
        elif h.count(":") == 1:
            h = h.split(":")[0]
        self.host = h.rstrip(".")
        self.query = sigcheck.query_pairs(query)
        self.params = {}
        for k, v in parse_qsl(query, keep_blank_values=True):
            self.params.setdefault(k, v)
        ctype = (self.header("content-type") or "").lower()
        if method == "POST" and ctype.startswith(
                "application/x-www-form-urlencoded"):
            try:
                for k, v in parse_qsl(body.decode("utf-8"),
                                      keep_blank_values=True):
                    self.params.setdefault(k, v)
            except UnicodeDecodeError:
                pass
        self.request_id = str(uuid.uuid4())
        self.verdict = None        # sigcheck.Verdict once checked
        self.action = None
        self.protocol = "plain"
        self.service = None

    def header(self, name):
        name = name.lower()
        vals = [v for n, v in self.headers if n.lower() == name]
        return ",".join(vals) if vals else None


def _utf8(text):
    raw = text.encode("latin-1", "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return text


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # The head and the body go out as separate writes: without this,
        # Nagle holds the body until the client's delayed ACK (40 ms on
        # Linux), and every keep-alive request would take that long.
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def version_string(self):
        return "fakeaws"

    def log_message(self, fmt, *args):
        if self.server.app.verbose:
            sys.stderr.write("fakeaws: %s %s\n" % (self.address_string(),
                                                    fmt % args))

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(1024)
                if not line.endswith(b"\n"):
                    raise ValueError("truncated chunk header")
                size = int(line.split(b";")[0].strip() or b"x", 16)
                if size == 0:
                    while True:      # HTTP trailers: read and dropped
                        t = self.rfile.readline(8192)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    return bytes(out)
                if len(out) + size > MAX_BODY:
                    raise OverflowError()
                out += self.rfile.read(size)
                self.rfile.readline(8)
        n = self.headers.get("Content-Length")
        if n is None:
            return b""
        if not n.isdigit():
            raise ValueError("bad Content-Length")
        if int(n) > MAX_BODY:
            raise OverflowError()
        data = self.rfile.read(int(n))
        if len(data) != int(n):
            raise ValueError("body shorter than Content-Length")
        return data

    def _drain_body(self):
        """Reads the request body in pieces: (bytes, MD5 hex)."""
        md5 = hashlib.md5()
        total = 0
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            while True:
                line = self.rfile.readline(1024)
                if not line.endswith(b"\n"):
                    raise ValueError("truncated chunk header")
                size = int(line.split(b";")[0].strip() or b"x", 16)
                if size == 0:
                    while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                        pass
                    return total, md5.hexdigest()
                while size > 0:
                    piece = self.rfile.read(min(size, 1 << 20))
                    if not piece:
                        raise ValueError("body shorter than its chunks")
                    md5.update(piece)
                    total += len(piece)
                    size -= len(piece)
                self.rfile.readline(8)
        n = self.headers.get("Content-Length") or "0"
        if not n.isdigit():
            raise ValueError("bad Content-Length")
        left = int(n)
        while left > 0:
            piece = self.rfile.read(min(left, 1 << 20))
            if not piece:
                raise ValueError("body shorter than Content-Length")
            md5.update(piece)
            total += len(piece)
            left -= len(piece)
        return total, md5.hexdigest()

    def _null_bucket(self):
        """PUT /awsgate-null/KEY: the body is read in pieces and dropped, the
        answer says its size and MD5; GET /awsgate-null/N: N generated bytes
        (byte i is i % 251). S3 hosts, UNSIGNED-PAYLOAD only, signature and
        faults as for any request. Returns False for any other request."""
        path = self.path.split("?")[0]
        if (self.server.listener != "https" or self.command not in ("PUT", "GET")
                or not path.startswith("/%s/" % NULL_BUCKET)):
            return False
        app = self.server.app
        req = Request("https", self.command, _utf8(self.path),
                      [(n, _utf8(v)) for n, v in self.headers.items()], b"",
                      getattr(self.connection, "fakeaws_sni", None),
                      "%s:%d" % self.client_address[:2])
        app.classify(req)
        if req.protocol != "s3":
            return False
        started = app.clock.now()
        fault = app.faults.take("https", req.host, req.action or "")
        if fault and fault["kind"] == "drop":
            app.record(req, None, started, fault)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        if fault and fault["kind"] == "slow":
            time.sleep(fault["delay"])
        resp = None
        if fault and fault["kind"] in ("throttle", "error"):
            resp = app.fault_response(req, fault)
        elif (req.header("x-amz-content-sha256") or "") != "UNSIGNED-PAYLOAD":
            resp = error_response("s3", 400, "InvalidRequest",
                                  "the %s bucket takes UNSIGNED-PAYLOAD only"
                                  % NULL_BUCKET, req.request_id)
        else:
            v = app.check_signature(req)
            if not v.ok:
                resp = services.auth_error(req, v)
        if resp is not None:
            if self.command == "PUT":  # the body was not read
                self.close_connection = True
            app.record(req, resp, started, fault)
            self._send(resp)
            return True
        if self.command == "PUT":
            try:
                n, md5 = self._drain_body()
            except ValueError as exc:
                self.close_connection = True
                resp = Response(400, [("Content-Type", "text/plain")],
                                ("bad request body: %s\n" % exc).encode())
                app.record(req, resp, started, fault)
                self._send(resp)
                return True
            resp = Response(200, [("ETag", '"%s"' % md5),
                                  ("x-amz-request-id", req.request_id),
                                  ("x-fakeaws-received", str(n))])
            req.extra_record = {"request_body_size": n}
            app.record(req, resp, started, fault)
            self._send(resp)
            return True
        key = path[len(NULL_BUCKET) + 2:]
        if not key.isdigit() or int(key) > NULL_MAX_GET:
            resp = error_response("s3", 404, "NoSuchKey",
                                  "GET /%s/N with N bytes, at most %d"
                                  % (NULL_BUCKET, NULL_MAX_GET), req.request_id)
            app.record(req, resp, started, fault)
            self._send(resp)
            return True
        total = int(key)
        resp = Response(200, [("Content-Type", "application/octet-stream"),
                              ("x-amz-request-id", req.request_id)])
        resp.head_length = total
        app.record(req, resp, started, fault)
        self.send_response(200)
        for n, v in resp.headers:
            self.send_header(n, v)
        self.send_header("Content-Length", str(total))
        self.end_headers()
        sent = 0
        half = total // 2
        block = memoryview(NULL_BLOCK)
        while sent < total:
            o = sent % 251
            k = min(len(block) - o, total - sent)
            slow = fault and fault["kind"] == "slow-body" and sent < half < sent + k
            if slow:
                k = half - sent
            self.wfile.write(block[o:o + k])
            sent += k
            if slow:
                self.wfile.flush()
                time.sleep(fault["delay"])
        return True

    def _handle(self):
        if self._null_bucket():
            return
        app = self.server.app
        listener = self.server.listener
        try:
            body = self._read_body()
        except OverflowError:
            self._send(Response(413, [("Content-Type", "text/plain")],
                                b"request body over %d bytes\n" % MAX_BODY))
            self.close_connection = True
            return
        except ValueError as exc:
            self._send(Response(400, [("Content-Type", "text/plain")],
                                ("bad request body: %s\n" % exc).encode()))
            self.close_connection = True
            return
        if len(self.headers) > MAX_HEADERS:
            self._send(Response(431, [], b""))
            self.close_connection = True
            return
        sni = getattr(self.connection, "fakeaws_sni", None)
        # http.server decodes the head as Latin-1; signatures cover the
        # bytes, which clients write as UTF-8.
        req = Request(listener, self.command, _utf8(self.path),
                      [(n, _utf8(v)) for n, v in self.headers.items()], body,
                      sni, "%s:%d" % self.client_address[:2])
        started = app.clock.now()
        fault = None
        try:
            app.classify(req)
            fault = app.faults.take(listener, req.host, req.action or "")
            if fault and fault["kind"] == "drop":
                app.record(req, None, started, fault)
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if fault and fault["kind"] == "slow":
                time.sleep(fault["delay"])
            if fault and fault["kind"] in ("throttle", "error"):
                resp = app.fault_response(req, fault)
            else:
                resp = app.handle(req)
        except Exception:
            traceback.print_exc()
            resp = error_response(req.protocol, 500, "InternalFailure",
                                  "fakeaws crashed handling this request "
                                  "(see its standard error)", req.request_id)
        app.record(req, resp, started, fault)
        slow = fault["delay"] if fault and fault["kind"] == "slow-body" else 0
        self._send(resp, slow, head=self.command == "HEAD")

    def _send(self, resp, slow=0.0, head=False):
        self.send_response(resp.status)
        names = set()
        for n, v in resp.headers:
            names.add(n.lower())
            self.send_header(n, v)
        if "content-length" not in names:
            self.send_header("Content-Length", str(resp.length()))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if head:
            return
        if slow and resp.body:
            half = len(resp.body) // 2 or 1
            self.wfile.write(resp.body[:half])
            self.wfile.flush()
            time.sleep(slow)
            self.wfile.write(resp.body[half:])
        else:
            self.wfile.write(resp.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, app, listener, port, tls=None):
        self.app = app
        self.listener = listener
        self.tls = tls
        handler = AdminHandler if listener == "admin" else Handler
        super().__init__(("127.0.0.1", port), handler)

    def process_request_thread(self, request, client_address):
        # The TLS handshake runs in the connection's thread, not the accept
        # loop, so one slow client cannot stall the others.
        try:
            request.settimeout(IDLE_TIMEOUT)
            if self.tls is not None:
                request = self.tls.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            if self.app.verbose:
                sys.stderr.write("fakeaws: TLS handshake: %s\n" % exc)
            try:
                request.close()
            except OSError:
                pass
            return
        super().process_request_thread(request, client_address)

    def handle_error(self, request, client_address):
        if self.app.verbose:
            traceback.print_exc()


# --------------------------------------------------------------------------
# The admin endpoint (plain HTTP on loopback)
# --------------------------------------------------------------------------

class AdminHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _reply(self, status, obj):
        body = (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 1024 * 1024:
            raise ValueError("admin request too large")
        return json.loads(self.rfile.read(n) or b"null")

    def do_GET(self):
        app = self.server.app
        if self.path == "/health":
            self._reply(200, {"ok": True})
        elif self.path == "/faults":
            self._reply(200, {"faults": app.faults.list()})
        elif self.path == "/clock":
            self._reply(200, {"offset": app.clock.offset,
                              "now": app.clock.now()})
        elif self.path == "/sessions":
            self._reply(200, {"sessions": app.ids.sessions_public()})
        else:
            self._reply(404, {"error": "no such admin path; try /health, "
                              "/faults, /clock, /sessions"})

    def do_POST(self):
        app = self.server.app
        try:
            obj = self._json()
            if self.path == "/faults":
                n = app.faults.add(obj if isinstance(obj, list) else [obj])
                self._reply(200, {"added": n})
            elif self.path == "/clock":
                if not isinstance(obj, dict) or not isinstance(
                        obj.get("offset"), (int, float)):
                    raise ValueError('want {"offset": seconds}')
                app.clock.offset = float(obj["offset"])
                self._reply(200, {"offset": app.clock.offset})
            else:
                self._reply(404, {"error": "POST /faults or /clock"})
        except ValueError as exc:
            self._reply(400, {"error": str(exc)})

    def do_DELETE(self):
        if self.path == "/faults":
            self.server.app.faults.clear()
            self._reply(200, {"cleared": True})
        else:
            self._reply(404, {"error": "DELETE /faults"})


# --------------------------------------------------------------------------
# The application: classify, check, dispatch, record
# --------------------------------------------------------------------------

SIGNIN_HOST = re.compile(r"(?:[a-z0-9-]+\.)?signin\.aws\.amazon\.com|"
                         r"signin\.amazonaws-us-gov\.com|signin\.amazonaws\.cn")


class App:
    def __init__(self, config, state_dir, records_path, verbose=False):
        self.verbose = verbose
        self.clock = Clock()
        self.faults = Faults()
        self.faults.add(config.get("faults", []))
        self.ids = identity.Identities(config, self.clock)
        self.store = services.Store(config)
        self.recorder = Recorder(records_path)
        self.state_dir = state_dir

    def _is_local(self, req):
        return req.host in ("localhost", "127.0.0.1", "[::1]", "")

    def classify(self, req):
        """Protocol, service and action from the request's shape (before any
        check: faults match on them)."""
        if req.listener == "imds":
            req.protocol, req.service = "plain", "imds"
            req.action = identity.imds_action(req)
            return
        if req.listener == "ecs":
            req.protocol, req.service, req.action = "plain", "ecs", \
                "GetCredentials"
            return
        path = req.raw_path
        if SIGNIN_HOST.fullmatch(req.host) or (
                self._is_local(req) and path in ("/federation", "/oauth")):
            req.protocol, req.service = "plain", "signin"
            req.action = req.params.get("Action", "")
            return
        scope_service = None
        auth = req.header("authorization") or ""
        m = re.search(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/", auth)
        if m:
            scope_service = m.group(1)
        elif "X-Amz-Credential" in req.params:
            parts = req.params["X-Amz-Credential"].split("/")
            if len(parts) == 5:
                scope_service = parts[3]
        target = req.header("x-amz-target")
        if req.host.startswith("sts.") or scope_service == "sts" or (
                not auth and req.params.get("Action") ==
                "AssumeRoleWithWebIdentity"):
            req.protocol, req.service = "query", "sts"
            req.action = req.params.get("Action", "")
        elif target:
            req.protocol = "json"
            req.service = scope_service or req.host.split(".")[0]
            req.action = target.rpartition(".")[2]
        elif services.is_s3_host(req.host) or scope_service == "s3":
            req.protocol, req.service = "s3", "s3"
            req.action = services.s3_action(req)
        elif path.startswith("/2015-03-31/functions"):
            req.protocol, req.service = "rest-json", "lambda"
            req.action = services.lambda_action(req)
        else:
            req.protocol = "query"
            req.service = scope_service or req.host.split(".")[0]
            req.action = req.params.get("Action", "")

    def fault_response(self, req, fault):
        if fault["kind"] == "throttle":
            if req.protocol == "s3":
                return error_response("s3", 503, "SlowDown",
                                      "Please reduce your request rate.",
                                      req.request_id)
            if req.protocol == "json":
                return error_response("json", 400, "ThrottlingException",
                                      "Rate exceeded", req.request_id)
            if req.protocol == "rest-json":
                return error_response("rest-json", 429,
                                      "TooManyRequestsException",
                                      "Rate exceeded", req.request_id)
            if req.protocol == "plain":
                return Response(429, [("Content-Type", "text/plain")],
                                b"Rate exceeded\n")
            return error_response("query", 400, "Throttling", "Rate exceeded",
                                  req.request_id)
        status = fault["status"]
        if req.protocol == "plain":
            return Response(status, [("Content-Type", "text/plain")],
                            b"Internal error (injected)\n")
        code = {"s3": "InternalError"}.get(req.protocol, "InternalFailure")
        if status == 503:
            code = "ServiceUnavailable"
        return error_response(req.protocol, status, code,
                              "We encountered an internal error. Please try "
                              "again. (injected)", req.request_id)

    def check_signature(self, req):
        req.verdict = sigcheck.verify(req.method, req.host, req.raw_path,
                                      req.raw_query, req.headers, req.body,
                                      self.ids.lookup, self.clock.now())
        return req.verdict

    def handle(self, req):
        if req.service == "imds":
            return identity.imds(self, req)
        if req.service == "ecs":
            return identity.ecs(self, req)
        if req.service == "signin":
            return identity.signin(self, req)
        if req.service == "sts":
            return identity.sts(self, req)
        v = self.check_signature(req)
        if not v.ok:
            return services.auth_error(req, v)
        return services.dispatch(self, req)

    def record(self, req, resp, started, fault):
        v = req.verdict
        caller = v.caller if v is not None else None
        rec = {
            "time": round(started, 3),
            "listener": req.listener,
            "peer": req.client,
            "sni": req.sni,
            "host": req.host,
            "method": req.method,
            "path": req.raw_path,
            "query": redact_query(req.query),
            "headers": redact_headers(req.headers),
            "protocol": req.protocol,
            "service": req.service,
            "action": req.action,
            "signature": v.verdict if v is not None else None,
            "signature_message": v.message if v is not None and not v.ok
            else None,
            "presigned": v.presigned if v is not None else False,
            "access_key_id": v.access_key if v is not None else None,
            "identity": identity.describe(caller),
            "status": resp.status if resp is not None else None,
            "error_code": resp.error_code if resp is not None else None,
            "request_body_size": len(req.body),
            "response_body_size": resp.length() if resp is not None else 0,
            "fault": fault["kind"] if fault else None,
            "request_id": req.request_id,
        }
        if req.extra_record:
            rec.update(req.extra_record)
        self.recorder.write(rec)


Request.extra_record = None


def load_config(path):
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError) as exc:
        raise SystemExit("fakeaws: config %s: %s" % (path, exc))
    if not isinstance(config, dict):
        raise SystemExit("fakeaws: config %s: the top level must be an object"
                         % path)
    try:
        identity.check_config(config)
        Faults().add(config.get("faults", []))
    except ValueError as exc:
        raise SystemExit("fakeaws: config %s: %s" % (path, exc))
    return config


def main(argv):
    ap = argparse.ArgumentParser(description="A fake AWS for the tests "
                                 "(see tests/fakeaws/README.md).")
    ap.add_argument("--config", required=True, help="JSON configuration")
    ap.add_argument("--state-dir", required=True,
                    help="directory for the CA, certificates and records")
    ap.add_argument("--port", type=int, default=0,
                    help="HTTPS port (0: a free one)")
    ap.add_argument("--imds-port", type=int, default=0)
    ap.add_argument("--ecs-port", type=int, default=0)
    ap.add_argument("--admin-port", type=int, default=0)
    ap.add_argument("--ports-file", help="write the chosen ports here (JSON)")
    ap.add_argument("--ready", help="write 'ready' here once listening (a "
                    "FIFO lets a shell wait without polling)")
    ap.add_argument("--records", help="request records (JSON lines; default "
                    "STATE_DIR/records.jsonl)")
    ap.add_argument("--ca-cert", help="use this CA instead of making one")
    ap.add_argument("--ca-key")
    ap.add_argument("--lifetime", type=float, default=3600,
                    help="exit after this many seconds (default 3600; 0: "
                    "never), so a fake leaked by a killed test run ends")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    if bool(args.ca_cert) != bool(args.ca_key):
        ap.error("--ca-cert and --ca-key go together")
    config = load_config(args.config)
    os.makedirs(args.state_dir, exist_ok=True)
    records = args.records or os.path.join(args.state_dir, "records.jsonl")
    certs = Certs(args.state_dir, args.ca_cert, args.ca_key)
    app = App(config, args.state_dir, records, args.verbose)
    servers = {}
    for name, port, tls in (("https", args.port, certs.server_context()),
                            ("imds", args.imds_port, None),
                            ("ecs", args.ecs_port, None),
                            ("admin", args.admin_port, None)):
        try:
            servers[name] = Server(app, name, port, tls)
        except OSError as exc:
            raise SystemExit("fakeaws: cannot listen on 127.0.0.1:%d for %s: "
                             "%s (give another port, or 0 for a free one)"
                             % (port, name, exc.strerror or exc))
    # Signals end the process at once (records are flushed line by line),
    # also while the main thread waits for a reader to open the --ready FIFO.
    def on_signal(_sig, _frame):
        os._exit(0)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.lifetime > 0:
        # A fake leaked by a killed test run does not live forever.
        t = threading.Timer(args.lifetime, os._exit, (0,))
        t.daemon = True
        t.start()
    info = {name: s.server_address[1] for name, s in servers.items()}
    info.update({"ca": certs.ca_cert, "records": records, "pid": os.getpid(),
                 "state_dir": args.state_dir})
    for s in servers.values():
        threading.Thread(target=s.serve_forever, daemon=True).start()
    if args.ports_file:
        tmp = args.ports_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(info, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, args.ports_file)
    print("fakeaws: ready " + json.dumps(info, sort_keys=True), flush=True)
    if args.ready:
        with open(args.ready, "w", encoding="utf-8") as f:
            f.write("ready\n")
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
