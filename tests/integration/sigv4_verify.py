#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Cross-check `awsgatectl sigv4 verify` against requests signed by botocore.
# Run with Debian's /usr/bin/python3 (python3-botocore).
#
# The requests come from the generator of sigv4_botocore.py (imported from
# this directory, unchanged): the same random and adversarial cases, case N
# here is case N there.  Its normalize-off cases (non-S3 requests signed
# without remove_dot_segments) are skipped: a verifier cannot know whether the
# client normalised and always verifies non-S3 paths normalised, as AWS
# services do.  Botocore signs each case at a fixed clock (SigV4Auth,
# S3SigV4Auth, SigV4QueryAuth, S3SigV4QueryAuth); the request file holds the
# request as botocore sends it: the case's headers plus the X-Amz-Date,
# X-Amz-Security-Token, X-Amz-Content-SHA256 and Authorization headers
# botocore added (placed at random among them), or, presigned, the presigned
# URL's path and query.  Header-mode cases whose query is "re-spelled" (as
# another client may encode it, see sigv4_botocore.py) keep that spelling on
# the wire; botocore signed the decoded pairs.
#
# Checks on each case (each a separate `awsgatectl sigv4 verify` run, the
# request on standard input), every negative one asserting the exact reason:
#   valid         verifies at now = signing time + a little
#   flip-*        one bit flipped in the signature, a signed header's value,
#                 the path, a query value (mismatch), the body (mismatch; or
#                 payload-mismatch with a SHA-256 x-amz-content-sha256; an S3
#                 UNSIGNED-PAYLOAD body flip must still verify).  A flip is
#                 only drawn where it changes what botocore signs (it keeps
#                 %-escapes, header lines and the request line intact, and
#                 non-S3 path flips are checked against botocore's
#                 normalisation); X-Amz-Date is flipped in its seconds only.
#   wrong-secret  mismatch; other-key: a different --access-key -> unknown-key
#   other-region, drop-signed-header (from the request and the list),
#   flip-presign-date (seconds), presign-expires (+1): mismatch
#   unsigned-extra-header  an unsigned non-x-amz header added -> still valid
#   skew-*        header mode: now = signing time +/- 6 minutes -> skew, both
#                 valid with --max-skew 10m; presigned: now 6 minutes before
#                 X-Amz-Date -> skew, valid with --max-skew 10m
#   expired       presigned: now = X-Amz-Date + X-Amz-Expires + 1 -> expired,
#                 edge: exactly X-Amz-Date + X-Amz-Expires -> valid
#   bad-*         malformed / unsupported / unsigned inputs made from the
#                 signed request (see malformed_checks()), on every case
#                 where they apply
# A failing check prints one line (case number, check, expected vs got) and
# its request file and command are saved under the kept directory.
#
# Environment:
#   AWSGATECTL            path to awsgatectl (default ./awsgatectl)
#   AWSGATE_SEED          generator seed (default 20150830, as sigv4_botocore)
#   AWSGATE_VERIFY_CASES  how many (normalize-on) cases to run (default 520;
#                         generator cases 1, 2, ... are taken in order)
#   AWSGATE_SIGV4_ONLY    comma-separated generator case numbers (default all)
#   AWSGATE_KEEP_DIR      where failing checks are saved (default: a new temp
#                         dir, kept and printed)
#   AWSGATE_JOBS          parallel tool invocations (default 2)
#
# Exit status: 0 every check passed, 1 any failed, 77 botocore unavailable
# (automake SKIP), 99 the tool cannot be run at all (automake ERROR).

import calendar
import datetime
import os
import random
import re
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, unquote

PROG = "sigv4-verify"

try:
    import botocore
    import botocore.auth
except Exception as exc:  # pragma: no cover - depends on the host
    print("%s: SKIP: cannot import botocore with %s: %s"
          % (PROG, sys.executable, exc))
    sys.exit(77)

sys.dont_write_bytecode = True        # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sigv4_botocore as gen  # noqa: E402  (the generator and botocore setup)

TIME_FMT = gen.TIME_FMT
SEED = gen.SEED
HEX = "0123456789abcdef"
SAFE = gen.ALNUM + "-._~"          # a flipped byte always becomes one of these
PRESIGN_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
                  "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature")
# headers a proxy or client may add without signing them (none is x-amz-*)
UNSIGNED_EXTRA = [("X-Forwarded-For", "203.0.113.7"),
                  ("User-Agent", "curl/8.5.0"), ("Via", "1.1 proxy.example"),
                  ("Accept-Encoding", "gzip"),
                  ("X-Amzn-Trace-Id",
                   "Root=1-5759e988-bd862e3fe1be46a994272793")]
AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^,]*), "
                     r"SignedHeaders=([^,]*), Signature=([0-9a-f]{64})$")


# --------------------------------------------------------------------------
# signing with botocore, the signed request
# --------------------------------------------------------------------------

def botocore_signed(case):
    """Signs `case` with botocore, as the sign cross-check does (only
    normalize-on cases come here); returns (signer, AWSRequest after
    add_auth)."""
    return gen.botocore_add_auth(case)


class Req:
    """A request file: request line, headers [name, value, sep, fold], body.
    `fold` is an index into value where the line is folded (obs-fold)."""

    def __init__(self, method, path, query, headers, body, eol):
        self.method, self.path, self.query = method, path, query
        self.headers, self.body, self.eol = headers, body, eol

    def copy(self):
        return Req(self.method, self.path, self.query,
                   [list(h) for h in self.headers], self.body, self.eol)

    def render(self):
        target = self.path + ("?" + self.query if self.query is not None
                              else "")
        lines = ["%s %s HTTP/1.1" % (self.method, target)]
        for name, value, sep, fold in self.headers:
            if fold is not None:
                lines.append("%s%s%s" % (name, sep, value[:fold]))
                lines.append(value[fold:])
            else:
                lines.append("%s%s%s" % (name, sep, value))
        head = self.eol.join(lines) + self.eol + self.eol
        return head.encode("utf-8") + (self.body or b"")

    def find(self, lname):
        return [i for i, h in enumerate(self.headers)
                if h[0].lower() == lname]

    def header(self, lname):
        idx = self.find(lname)
        return self.headers[idx[0]][1] if idx else None

    # raw query entries ("name=value" as on the wire)
    def entries(self):
        return self.query.split("&") if self.query else []

    def set_entries(self, entries):
        self.query = "&".join(entries)

    def entry_index(self, name):
        for i, e in enumerate(self.entries()):
            if e.split("=", 1)[0] == name:
                return i
        return None

    def param(self, name):
        i = self.entry_index(name)
        return None if i is None else \
            unquote(self.entries()[i].split("=", 1)[1])

    def set_param(self, name, value, raw=False):
        ents = self.entries()
        i = self.entry_index(name)
        ents[i] = name + "=" + (value if raw else quote(value, safe="-_.~"))
        self.set_entries(ents)

    def drop_param(self, name):
        ents = self.entries()
        del ents[self.entry_index(name)]
        self.set_entries(ents)


def signed_request(case, request, rng):
    """The request file of `case` as botocore sends it after signing."""
    seps = case.get("header_seps", {})
    folds = case.get("folds", {})
    headers = [[case.get("host_header_name", "Host"),
                gen.host_header_value(case), ":", None]]
    for i, (name, value) in enumerate(case["headers"]):
        headers.append([name, value, seps.get(i, ":"), folds.get(i)])
    prefix = "https://" + case["netloc"]
    if case["presign"]:
        if not request.url.startswith(prefix):
            raise RuntimeError("presigned URL %r does not start with %r"
                               % (request.url, prefix))
        path, _, query = request.url[len(prefix):].partition("?")
        if path != case["path"]:
            raise RuntimeError("botocore changed the path: %r" % path)
        body = b""
        added = []
    else:
        path, query, body = case["path"], case["query"], case["body"]
        lnames = {n.lower() for n, _ in case["headers"]}
        added = [(n, request.headers[n]) for n in
                 ("X-Amz-Date", "X-Amz-Security-Token",
                  "X-Amz-Content-SHA256", "Authorization")
                 if n in request.headers and n.lower() not in lnames]
    # sanity: the file holds exactly the headers botocore has (plus Host)
    want = sorted((n.lower(), v) for n, v in request.headers.items())
    have = sorted((n.lower(), v) for n, v in
                  list(case["headers"]) + added)
    if want != have:
        raise RuntimeError("unexpected headers after signing: %r vs %r"
                           % (want, have))
    for name, value in added:
        headers.insert(rng.randint(1, len(headers)),
                       [name, value, rng.choice([":", ": "]), None])
    return Req(case["method"], path, query, headers, body,
               case.get("eol", "\n"))


# --------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------

class Check:
    def __init__(self, name, req, expect, now, access_key=None,
                 secret_key=None, extra=()):
        self.name, self.req, self.expect, self.now = name, req, expect, now
        self.access_key, self.secret_key = access_key, secret_key
        self.extra = list(extra)


def fmt_time(epoch):
    return datetime.datetime.utcfromtimestamp(epoch).strftime(TIME_FMT)


def flip_char(rng, ch, allowed):
    """A character one bit away from `ch` (ASCII) within `allowed`."""
    outs = [chr(ord(ch) ^ (1 << b)) for b in range(7)]
    outs = [c for c in outs if c in allowed]
    return rng.choice(outs) if outs else None


def escape_positions(s):
    """Indexes of s that are part of a %XX escape (or a stray '%')."""
    out = set()
    for i, ch in enumerate(s):
        if ch == "%":
            out.update((i, i + 1, i + 2))
    return out


def flip_signature(rng, req, presign):
    r = req.copy()
    if presign:
        sig = r.param("X-Amz-Signature")
    else:
        idx = r.find("authorization")[0]
        m = AUTH_RE.match(r.headers[idx][1])
        sig = m.group(3)
    p = rng.randrange(64)
    new = sig[:p] + HEX[int(sig[p], 16) ^ (1 << rng.randrange(4))] + \
        sig[p + 1:]
    if presign:
        r.set_param("X-Amz-Signature", new, raw=True)
    else:
        r.headers[idx][1] = r.headers[idx][1].replace(sig, new)
    return r, "signature[%d]" % p


def signed_list(req, presign):
    if presign:
        return req.param("X-Amz-SignedHeaders").split(";")
    return AUTH_RE.match(req.header("authorization")).group(2).split(";")


def flip_header(rng, req, presign):
    signed = set(signed_list(req, presign))
    choices = []
    for i, (name, value, sep, fold) in enumerate(req.headers):
        lname = name.lower()
        if lname not in signed or lname == "x-amz-content-sha256":
            continue
        if lname == "x-amz-date":
            # seconds' last digit, bit 0: still a valid time, same day
            flips = [(14, chr(ord(value[14]) ^ 1))]
        else:
            allowed = (gen.ALNUM + "-") if lname == "host" else \
                [chr(c) for c in range(0x21, 0x7f)]
            flips = []
            for k, ch in enumerate(value):
                if ord(ch) >= 0x80 or k == fold:
                    continue
                c2 = flip_char(rng, ch, allowed)
                if c2 is not None:
                    flips.append((k, c2))
        if flips:
            choices.append((i, flips))
    if not choices:
        return None, None
    i, flips = rng.choice(choices)
    k, c2 = rng.choice(flips)
    r = req.copy()
    v = r.headers[i][1]
    r.headers[i][1] = v[:k] + c2 + v[k + 1:]
    return r, "header %s[%d] %r->%r" % (r.headers[i][0], k, v[k], c2)


def flip_path(rng, req, signer):
    path = req.path
    esc = escape_positions(path)
    base = signer._normalize_url_path(path)
    flips = []
    for k in range(1, len(path)):
        if k in esc or ord(path[k]) >= 0x80:
            continue
        for b in range(7):
            c2 = chr(ord(path[k]) ^ (1 << b))
            if c2 not in SAFE:
                continue
            p2 = path[:k] + c2 + path[k + 1:]
            if signer._normalize_url_path(p2) != base:
                flips.append((k, c2, p2))
    if not flips:
        return None, None
    k, c2, p2 = rng.choice(flips)
    r = req.copy()
    r.path = p2
    return r, "path[%d] %r->%r" % (k, path[k], c2)


def flip_query(rng, req, presign):
    ents = req.entries()
    choices = []
    for i, e in enumerate(ents):
        name, eq, value = e.partition("=")
        if not eq or (presign and name in PRESIGN_PARAMS):
            continue
        esc = escape_positions(value)
        flips = []
        for k, ch in enumerate(value):
            if k in esc or ord(ch) >= 0x80 or ch == "+":
                continue
            c2 = flip_char(rng, ch, SAFE)
            if c2 is not None:
                flips.append((k, c2))
        if flips:
            choices.append((i, name, value, flips))
    if not choices:
        return None, None
    i, name, value, flips = rng.choice(choices)
    k, c2 = rng.choice(flips)
    ents[i] = name + "=" + value[:k] + c2 + value[k + 1:]
    r = req.copy()
    r.set_entries(ents)
    return r, "query %s value[%d] %r->%r" % (name[:40], k, value[k], c2)


def flip_body(rng, req):
    k = rng.randrange(len(req.body))
    b = rng.randrange(8)
    body = bytearray(req.body)
    body[k] ^= 1 << b
    r = req.copy()
    r.body = bytes(body)
    return r, "body[%d] bit %d" % (k, b)


def drop_signed_header(rng, req, presign):
    """Removes a signed header (not host, not x-amz-date) from the request
    and from the signed list."""
    names = signed_list(req, presign)
    cand = [n for n in names if n not in ("host", "x-amz-date")]
    if not cand:
        return None, None
    victim = rng.choice(cand)
    rest = ";".join(n for n in names if n != victim)
    r = req.copy()
    r.headers = [h for h in r.headers if h[0].lower() != victim]
    if presign:
        r.set_param("X-Amz-SignedHeaders", rest)
    else:
        ai = r.find("authorization")[0]
        r.headers[ai][1] = r.headers[ai][1].replace(
            "SignedHeaders=" + ";".join(names), "SignedHeaders=" + rest)
    return r, victim


def malformed_checks(rng, case, req, now):
    """(name, request, expected reason) for broken signatures."""
    out = []
    ak = case["access_key"]
    presign = case["presign"]

    def add(name, r, reason):
        out.append((name, r, reason))

    def shift_day(d, days):
        t = datetime.datetime.strptime(d, "%Y%m%d") + \
            datetime.timedelta(days=days)
        return t.strftime("%Y%m%d")

    def cred_variants(cred):
        parts = cred.split("/")
        four = list(parts)
        del four[rng.choice([1, 2, 3, 4])]
        other = list(parts)
        other[1] = shift_day(parts[1], rng.choice([-1, 1]))
        return "/".join(four), "/".join(other)

    def unsorted(names):
        i = rng.randrange(len(names) - 1)
        names = list(names)
        names[i], names[i + 1] = names[i + 1], names[i]
        return ";".join(names)

    ecdsa_sig = "".join(rng.choice(HEX) for _ in range(rng.choice(
        [140, 142, 144])))
    sigv2 = "AWS %s:%s" % (ak, "".join(rng.choice(gen.ALNUM + "+/")
                                       for _ in range(27)) + "=")
    if not presign:
        ai = req.find("authorization")[0]
        auth = req.headers[ai][1]
        cred, names, sig = AUTH_RE.match(auth).groups()
        names = names.split(";")

        def with_auth(value):
            r = req.copy()
            r.headers[ai][1] = value
            return r

        def auth_of(c, n, s):
            return "AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, " \
                   "Signature=%s" % (c, n, s)
        four, otherday = cred_variants(cred)
        add("bad-no-signedheaders", with_auth(
            "AWS4-HMAC-SHA256 Credential=%s, Signature=%s" % (cred, sig)),
            "malformed")
        add("bad-unsorted-signedheaders",
            with_auth(auth_of(cred, unsorted(names), sig)), "malformed")
        add("bad-no-host-signed", with_auth(
            auth_of(cred, ";".join(n for n in names if n != "host"), sig)),
            "malformed")
        add("bad-credential-4-parts", with_auth(auth_of(four, ";".join(names),
                                                        sig)), "malformed")
        add("bad-signature-63", with_auth(auth_of(cred, ";".join(names),
                                                  sig[:-1])), "malformed")
        r = req.copy()
        del r.headers[r.find("x-amz-date")[0]]
        add("bad-no-x-amz-date", r, "malformed")
        add("bad-scope-date", with_auth(auth_of(otherday, ";".join(names),
                                                sig)), "malformed")
        r = req.copy()
        r.headers.insert(rng.randint(1, len(r.headers)),
                         [rng.choice(["Authorization", "authorization"]),
                          auth, ":", None])
        add("bad-two-authorization", r, "malformed")
        r = req.copy()
        alg = "X-Amz-Algorithm=AWS4-HMAC-SHA256"
        r.query = alg if not r.query else r.query + "&" + alg
        add("bad-authorization-and-query", r, "malformed")
        c = cred.split("/")
        add("bad-sigv4a", with_auth(
            "AWS4-ECDSA-P256-SHA256 Credential=%s, SignedHeaders=%s, "
            "Signature=%s" % ("/".join(c[:2] + c[3:]), ";".join(names),
                              ecdsa_sig)), "unsupported")
        add("bad-sigv2", with_auth(sigv2), "unsupported")
        r = req.copy()
        del r.headers[ai]
        add("bad-unsigned", r, "unsigned")
    else:
        cred = req.param("X-Amz-Credential")
        names = req.param("X-Amz-SignedHeaders").split(";")
        sig = req.param("X-Amz-Signature")
        four, otherday = cred_variants(cred)

        def with_param(name, value):
            r = req.copy()
            r.set_param(name, value)
            return r

        def without(name):
            r = req.copy()
            r.drop_param(name)
            return r
        add("bad-no-signedheaders", without("X-Amz-SignedHeaders"),
            "malformed")
        if len(names) > 1:
            add("bad-unsorted-signedheaders",
                with_param("X-Amz-SignedHeaders", unsorted(names)),
                "malformed")
        add("bad-no-host-signed", with_param(
            "X-Amz-SignedHeaders", ";".join(n for n in names if n != "host")),
            "malformed")
        add("bad-credential-4-parts", with_param("X-Amz-Credential", four),
            "malformed")
        add("bad-signature-63", with_param("X-Amz-Signature", sig[:-1]),
            "malformed")
        add("bad-no-x-amz-date", without("X-Amz-Date"), "malformed")
        add("bad-scope-date", with_param("X-Amz-Credential", otherday),
            "malformed")
        for dup in ("X-Amz-Algorithm", "X-Amz-Signature"):
            r = req.copy()
            ents = r.entries()
            ents.insert(rng.randint(0, len(ents)),
                        ents[r.entry_index(dup)])
            r.set_entries(ents)
            add("bad-two-" + dup[6:].lower(), r, "malformed")
        r = req.copy()
        r.headers.insert(rng.randint(1, len(r.headers)), [
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, Signature=%s"
            % (cred, ";".join(names), sig), ":", None])
        add("bad-authorization-and-query", r, "malformed")
        add("bad-expires-0", with_param("X-Amz-Expires", "0"), "malformed")
        add("bad-expires-604801", with_param("X-Amz-Expires", "604801"),
            "malformed")
        add("bad-sigv4a", with_param("X-Amz-Algorithm",
                                     "AWS4-ECDSA-P256-SHA256"), "unsupported")
        r = req.copy()
        r.set_entries([e for e in r.entries()
                       if not e.startswith("X-Amz-")])
        add("bad-unsigned", r, "unsigned")
    return out


def make_checks(case, signer, req):
    rng = random.Random("%s/verify/%d" % (SEED, case["index"]))
    t = calendar.timegm(time.strptime(case["time"], TIME_FMT))
    presign = case["presign"]
    if presign:
        now = t + rng.randint(0, min(60, case["expires"]))
    else:
        now = t + rng.randint(-60, 60)
    checks = [Check("valid", req, "valid", now)]

    def add(name, r, expect, when=now, **kw):
        if r is not None:
            checks.append(Check(name, r, expect, when, **kw))

    r, what = flip_signature(rng, req, presign)
    add("flip-signature " + what, r, "mismatch")
    r, what = flip_header(rng, req, presign)
    add("flip-header %s" % what, r, "mismatch")
    r, what = flip_path(rng, req, signer)
    add("flip-path %s" % what, r, "mismatch")
    r, what = flip_query(rng, req, presign)
    add("flip-query %s" % what, r, "mismatch")
    if not presign and req.body:
        sha = req.header("x-amz-content-sha256")
        r, what = flip_body(rng, req)
        if sha is None:
            add("flip-body %s" % what, r, "mismatch")
        elif len(sha) == 64:
            add("flip-body %s (hash header)" % what, r, "payload-mismatch")
        else:
            add("flip-body %s (%s)" % (what, sha), r, "valid")

    sk = case["secret_key"]
    k = rng.randrange(len(sk))
    wrong = sk[:k] + rng.choice([c for c in gen.SECRET_CHARS
                                 if c != sk[k]]) + sk[k + 1:]
    add("wrong-secret", req, "mismatch", secret_key=wrong)
    ak = case["access_key"]
    k = rng.randrange(len(ak))
    other = ak[:k] + rng.choice([c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
                                 if c != ak[k]]) + ak[k + 1:]
    add("other-key", req, "unknown-key", access_key=other)

    if not presign:
        add("skew-late", req, "skew", t + 360)
        add("skew-early", req, "skew", t - 360)
        add("skew-late --max-skew 10m", req, "valid", t + 360,
            extra=["--max-skew", "10m"])
        add("skew-early --max-skew 10m", req, "valid", t - 360,
            extra=["--max-skew", "10m"])
    else:
        add("skew-early", req, "skew", t - 360)
        add("skew-early --max-skew 10m", req, "valid", t - 360,
            extra=["--max-skew", "10m"])
        add("expired", req, "expired", t + case["expires"] + 1)
        add("expiry-edge", req, "valid", t + case["expires"])

    # more ways to tamper with what is signed
    r = req.copy()
    if presign:
        cred = r.param("X-Amz-Credential")
    else:
        ai = r.find("authorization")[0]
        cred = AUTH_RE.match(r.headers[ai][1]).group(1)
    parts = cred.split("/")
    parts[2] = rng.choice([x for x in gen.REGIONS if x != parts[2]])
    if presign:
        r.set_param("X-Amz-Credential", "/".join(parts))
    else:
        r.headers[ai][1] = r.headers[ai][1].replace(
            "Credential=" + cred, "Credential=" + "/".join(parts))
    add("other-region %s" % parts[2], r, "mismatch")
    r, what = drop_signed_header(rng, req, presign)
    add("drop-signed-header %s" % what, r, "mismatch")
    if presign:
        r = req.copy()
        d = r.param("X-Amz-Date")
        r.set_param("X-Amz-Date", d[:14] + chr(ord(d[14]) ^ 1) + d[15:])
        add("flip-presign-date", r, "mismatch")
        r = req.copy()
        e = case["expires"]
        e2 = e + 1 if e < 604800 else e - 1
        r.set_param("X-Amz-Expires", str(e2))
        add("presign-expires %d->%d" % (e, e2), r, "mismatch")
    signed = set(signed_list(req, presign))
    r = req.copy()
    extra = rng.choice([h for h in UNSIGNED_EXTRA
                        if h[0].lower() not in signed])
    r.headers.insert(rng.randint(1, len(r.headers)),
                     list(extra) + [":", None])
    add("unsigned-extra-header", r, "valid")

    for name, r, reason in malformed_checks(rng, case, req, now):
        add(name, r, reason)
    return checks


# --------------------------------------------------------------------------
# running the tool
# --------------------------------------------------------------------------

def tool_args(tool, case, check, reqfile):
    return [tool, "sigv4", "verify", "--request", reqfile,
            "--access-key", check.access_key or case["access_key"],
            "--secret-key", check.secret_key or case["secret_key"],
            "--time", fmt_time(check.now)] + check.extra


REASONS = ("valid", "malformed", "unsigned", "unsupported", "unknown-key",
           "skew", "expired", "mismatch", "payload-mismatch", "too-large")
REASON_RE = re.compile(rb"^awsgatectl: signature invalid: ([a-z-]+): .+$")


def run_check(tool, case, check):
    data = check.req.render()
    args = tool_args(tool, case, check, "-")
    try:
        p = subprocess.run(args, input=data, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        rc, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        return "timeout", b"", data
    except OSError as exc:
        return "error: %s" % exc, b"", data
    lines = err.splitlines()
    if rc == 0 and len(lines) == 1 and b"signature valid" in lines[0]:
        got = "valid"
    elif rc == 1 and len(lines) == 1 and REASON_RE.match(lines[0]):
        got = REASON_RE.match(lines[0]).group(1).decode()
    else:
        got = "exit %d" % rc
    return got, err, data


def save_failure(keep_dir, tool, case, check, got, err, data, seq):
    d = os.path.join(keep_dir, "case-%04d" % case["index"])
    os.makedirs(d, exist_ok=True)
    fname = "check-%02d.txt" % seq
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)
    cmd = os.path.join(d, "command.sh")
    new = not os.path.exists(cmd)
    with open(cmd, "a") as f:
        if new:
            f.write('#!/bin/sh\n# %s\n# seed %s, case %d\n'
                    'AWSGATECTL="${AWSGATECTL:-./awsgatectl}"\n'
                    % (gen.describe(case), SEED, case["index"]))
        a = ["$AWSGATECTL"] + [shlex.quote(x) for x in
                               tool_args(tool, case, check, "X")[1:]]
        a[a.index("X")] = '"$(dirname "$0")/%s"' % fname
        f.write("# %s: expected %s, got %s\n# %s\n%s; echo \"exit $?\"\n"
                % (check.name, check.expect, got,
                   err.decode("utf-8", "replace").strip()[:300],
                   " ".join(a)))


def main():
    t0 = time.time()
    tool = os.environ.get("AWSGATECTL") or "./awsgatectl"
    if not (os.path.isfile(tool) and os.access(tool, os.X_OK)):
        print("%s: ERROR: %s is not an executable file (set AWSGATECTL)"
              % (PROG, tool))
        return 99
    tool = os.path.abspath(tool)
    if not gen.clock_is_frozen():
        print("%s: ERROR: cannot fix the signing time of botocore %s (%s); "
              "use Debian's /usr/bin/python3"
              % (PROG, botocore.__version__, botocore.__file__))
        return 99
    want = int(os.environ.get("AWSGATE_VERIFY_CASES", "520"))
    only = os.environ.get("AWSGATE_SIGV4_ONLY")
    jobs = max(1, int(os.environ.get("AWSGATE_JOBS", "2")))
    print("%s: botocore %s, python %s, seed %s, tool %s"
          % (PROG, botocore.__version__, sys.version.split()[0], SEED, tool))

    cases, skipped = [], 0
    if only:
        for i in [int(x) for x in only.split(",") if x.strip()]:
            c = gen.make_case(SEED, i)
            if c["normalize"]:
                cases.append(c)
            else:
                skipped += 1
    else:
        i = 0
        while len(cases) < want:
            i += 1
            c = gen.make_case(SEED, i)
            if c["normalize"]:
                cases.append(c)
            else:
                skipped += 1
    print("%s: %d cases (generator cases 1..%d; %d normalize-off cases "
          "skipped: a verifier always normalises non-S3 paths)"
          % (PROG, len(cases), cases[-1]["index"] if cases else 0, skipped))

    keep_dir = os.environ.get("AWSGATE_KEEP_DIR")
    nchecks = nfailed = 0
    failed_cases = set()
    kinds = {}
    harness_errors = tool_errors = 0
    work = []
    # botocore signs in this thread (its clock patch is global); only the
    # tool invocations run in parallel.
    for case in cases:
        try:
            signer, request = botocore_signed(case)
            rng = random.Random("%s/verify-layout/%d" % (SEED, case["index"]))
            req = signed_request(case, request, rng)
            checks = make_checks(case, signer, req)
        except Exception as exc:
            harness_errors += 1
            print("FAIL case %d: cannot build the checks: %r [%s]"
                  % (case["index"], exc, gen.describe(case)))
            continue
        work.append((case, checks))

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [(case, seq, check, pool.submit(run_check, tool, case,
                                                  check))
                   for case, checks in work
                   for seq, check in enumerate(checks)]
        for case, seq, check, fut in futures:
            got, err, data = fut.result()
            nchecks += 1
            if got.startswith("error: "):
                # the tool could not be started (e.g. relinked meanwhile)
                tool_errors += 1
                if tool_errors <= 3:
                    print("ERROR case %d %s: %s" % (case["index"],
                                                    check.name, got))
                continue
            kind = check.name.split()[0]
            kinds[kind] = kinds.get(kind, 0) + 1
            if got == check.expect:
                continue
            nfailed += 1
            failed_cases.add(case["index"])
            if keep_dir is None:
                keep_dir = tempfile.mkdtemp(prefix="awsgate-sigv4-verify-")
            os.makedirs(keep_dir, exist_ok=True)
            save_failure(keep_dir, tool, case, check, got, err, data, seq)
            detail = " ".join(err.decode("utf-8", "replace").split())
            print("FAIL case %d %s: expected %s, got %s [%s]%s"
                  % (case["index"], check.name, check.expect, got,
                     gen.describe(case),
                     " (%s)" % detail[:200] if detail and got not in
                     REASONS else ""))
    if nfailed:
        print("%s: %d failing checks in %d cases saved under %s "
              "(case-N/command.sh)" % (PROG, nfailed, len(failed_cases),
                                        keep_dir))
    print("%s: checks run: %s" % (PROG, ", ".join(
        "%s %d" % kv for kv in sorted(kinds.items()))))
    print("%s: finished in %.1fs" % (PROG, time.time() - t0))
    if tool_errors:
        print("%s: ERROR: %d checks could not run %s at all"
              % (PROG, tool_errors, tool))
    print("%s: %d cases, %d checks, %d failed"
          % (PROG, len(work), nchecks, nfailed + harness_errors))
    if tool_errors:
        return 99
    return 1 if nfailed or harness_errors else 0


if __name__ == "__main__":
    sys.exit(main())
