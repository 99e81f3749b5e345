#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Cross-check `awsgatectl sigv4 sign` against botocore, used as an independent
# oracle.  Run with Debian's /usr/bin/python3 (python3-botocore); the expected
# values are computed by botocore's own signers (SigV4Auth, S3SigV4Auth,
# SigV4QueryAuth, S3SigV4QueryAuth) and by nothing else.
#
# Environment:
#   AWSGATECTL          path to awsgatectl (default ./awsgatectl)
#   AWSGATE_SEED        generator seed (default 20150830)
#   AWSGATE_SIGV4_CASES number of random requests (default 600)
#   AWSGATE_SIGV4_ONLY  comma-separated case numbers to run (default all)
#   AWSGATE_KEEP_DIR    where failing cases are saved (default: a new temp dir)
#   AWSGATE_JOBS        parallel tool invocations (default 2)
#
# Exit status: 0 all stages match, 1 any mismatch, 77 botocore unavailable
# (automake SKIP), 99 the tool cannot be run at all (automake ERROR).
#
# How a case is built.  Each case is a request as botocore would put it on the
# wire: the URL path is percent-encoded the way botocore's serializers do it
# (S3 keys with quote(key, safe='/~'), other services' labels with
# percent_encode), the query string is percent_encode_sequence() of a list of
# (name, value) pairs -- exactly what botocore.awsrequest.prepare_request_dict
# appends to the URL.  (AWSRequest(params=...).prepare() is NOT used for the
# wire: its preparer uses urlencode(), i.e. '+' for space, while the signer
# canonicalises params with quote(); the two disagree and botocore itself never
# sends params that way.)  A minority of cases then re-spell the same request
# the way other clients may send it (lower-case hex escapes, escaped unreserved
# characters, raw sub-delimiters in the query, raw reserved characters in a
# non-S3 path, a raw space / raw UTF-8 in a non-S3 path as in the AWS suite's
# get-space and get-utf8 cases).  For those the expected canonical query is
# botocore's params canonicalisation of the decoded pairs (quote(safe='-_.~')
# on name and value, sorted), i.e. "decode, then RFC 3986 encode".
#
# Botocore's limits that shape the generator:
#   * presign: SigV4QueryAuth parses the query with parse_qs and keeps only the
#     first value of a repeated name, and moves any body into the query, so
#     presign cases have unique query names and no body; its Content-Type
#     'application/x-www-form-urlencoded; charset=utf-8' is dropped, so
#     presign cases never use that value.
#   * header values are trimmed with ' '.join(value.split()), which also
#     splits on Unicode whitespace: header values only contain space and tab
#     as whitespace (tabs never inside URLs: urlsplit strips them).
#   * botocore never signs Expect, User-Agent, X-Amzn-Trace-Id; a Date header
#     would replace X-Amz-Date, so no case has a Date header.
#   * S3 header signing: S3SigV4Auth adds X-Amz-Content-SHA256; it is
#     UNSIGNED-PAYLOAD when the request is https, has Content-MD5 and is a
#     streaming upload (context has_streaming_input), else the body's SHA-256.
#     The tool gets --payload-hash UNSIGNED-PAYLOAD exactly in the first case.
#   * normalize-path off: botocore has no such option.  For non-S3 cases run
#     with --no-normalize-path the oracle is a SigV4Auth/SigV4QueryAuth
#     subclass whose _normalize_url_path only quotes the path
#     (quote(path, safe='/~')) without remove_dot_segments.  Every other line
#     of the canonical request is botocore's.  The subclass reproduces the
#     seven *-unnormalized cases of the aws-c-auth suite.  S3-family cases
#     never pass --no-normalize-path (S3 paths are never normalised anyway).

import base64
import datetime
import difflib
import hashlib
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, unquote_to_bytes, urlsplit

try:
    import botocore
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    import botocore.utils
except Exception as exc:  # pragma: no cover - depends on the host
    print("sigv4-botocore: SKIP: cannot import botocore with %s: %s"
          % (sys.executable, exc))
    sys.exit(77)

S3_FAMILY = ("s3", "s3-object-lambda", "s3-outposts", "s3express")
TIME_FMT = "%Y%m%dT%H%M%SZ"


# --------------------------------------------------------------------------
# botocore oracle
# --------------------------------------------------------------------------

class _FrozenClock:
    now = datetime.datetime(2015, 8, 30, 12, 36, 0)


class _FrozenDateTime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return _FrozenClock.now


class _DateTimeModule:
    """Stands in for the datetime module inside botocore.auth."""
    datetime = _FrozenDateTime


botocore.auth.datetime = _DateTimeModule     # 1.29: datetime.datetime.utcnow()
if hasattr(botocore.auth, "get_current_datetime"):
    # later botocore releases read the clock through this helper instead
    botocore.auth.get_current_datetime = \
        lambda *args, **kwargs: _FrozenClock.now


def clock_is_frozen():
    """True when botocore signs with the time we set."""
    for t in ("20150830T123600Z", "20380119T031408Z"):
        case = {"service": "service", "region": "us-east-1",
                "presign": False, "normalize": True, "access_key": "AK",
                "secret_key": "SK", "token": None, "time": t,
                "netloc": "example.amazonaws.com", "path": "/",
                "query": None, "signer_params": None, "method": "GET",
                "headers": [], "body": b""}
        if ("x-amz-date:%s\n" % t).encode() not in \
                botocore_sign(case)["canonical"]:
            return False
    return True


class _Capture:
    """Mixin recording each stage botocore computes inside add_auth()."""

    def canonical_request(self, request):
        self.captured_canonical = super().canonical_request(request)
        return self.captured_canonical

    def string_to_sign(self, request, canonical_request):
        self.captured_sts = super().string_to_sign(request, canonical_request)
        return self.captured_sts

    def signature(self, string_to_sign, request):
        self.captured_signature = super().signature(string_to_sign, request)
        return self.captured_signature


class _QuoteOnlyPath:
    """normalize-path off for non-S3 services: botocore has no option for it.
    Same as SigV4Auth._normalize_url_path (quote(..., safe='/~')) minus the
    remove_dot_segments step; used only for --no-normalize-path cases."""

    def _normalize_url_path(self, path):
        return quote(path, safe="/~")


class HeaderSigner(_Capture, botocore.auth.SigV4Auth):
    pass


class S3HeaderSigner(_Capture, botocore.auth.S3SigV4Auth):
    pass


class QuerySigner(_Capture, botocore.auth.SigV4QueryAuth):
    pass


class S3QuerySigner(_Capture, botocore.auth.S3SigV4QueryAuth):
    pass


class UnnormalizedHeaderSigner(_QuoteOnlyPath, HeaderSigner):
    pass


class UnnormalizedQuerySigner(_QuoteOnlyPath, QuerySigner):
    pass


class _HeaderList:
    """Ordered, possibly repeated headers for AWSRequest(headers=...):
    AWSRequest copies headers.items() into an HTTPMessage, which keeps
    repeats."""

    def __init__(self, pairs):
        self._pairs = list(pairs)

    def items(self):
        return list(self._pairs)


def is_s3(service):
    return service in S3_FAMILY


def botocore_add_auth(case):
    """Sign `case` (a dict, see make_case) with botocore at its fixed time.
    Returns (signer, AWSRequest after add_auth)."""
    s3 = is_s3(case["service"])
    presign = case["presign"]
    if s3:
        cls = S3QuerySigner if presign else S3HeaderSigner
    elif case["normalize"]:
        cls = QuerySigner if presign else HeaderSigner
    else:
        cls = UnnormalizedQuerySigner if presign else UnnormalizedHeaderSigner

    creds = botocore.credentials.Credentials(
        case["access_key"], case["secret_key"], case["token"])
    if presign:
        signer = cls(creds, case["service"], case["region"],
                     expires=case["expires"])
    else:
        signer = cls(creds, case["service"], case["region"])

    url = "https://" + case["netloc"] + case["path"]
    params = {}
    if case["query"] is not None:
        if case["signer_params"] is not None and not presign:
            # re-spelled query: botocore canonicalises the decoded pairs
            params = list(case["signer_params"])
        else:
            url += "?" + case["query"]
    request = botocore.awsrequest.AWSRequest(
        method=case["method"], url=url,
        headers=_HeaderList(case["headers"]),
        data=case["body"] if case["body"] else None,
        params=params)
    if case.get("streaming"):
        request.context["has_streaming_input"] = True

    _FrozenClock.now = datetime.datetime.strptime(case["time"], TIME_FMT)
    signer.add_auth(request)
    return signer, request


def botocore_sign(case):
    """Sign `case` with botocore.  Returns a dict of expected stage outputs as
    UTF-8 bytes, plus 'payload_hash' (the value to pass as --payload-hash, or
    None)."""
    s3 = is_s3(case["service"])
    presign = case["presign"]
    signer, request = botocore_add_auth(case)
    out = {
        "canonical": signer.captured_canonical.encode("utf-8"),
        "string-to-sign": signer.captured_sts.encode("utf-8"),
        "signature": signer.captured_signature.encode("utf-8"),
        "payload_hash": None,
    }
    if presign:
        out["url"] = request.url.encode("utf-8")
    else:
        out["authorization"] = request.headers["Authorization"].encode("utf-8")
        if s3 and request.headers.get("X-Amz-Content-SHA256") == \
                botocore.auth.UNSIGNED_PAYLOAD:
            out["payload_hash"] = botocore.auth.UNSIGNED_PAYLOAD
    return out


# --------------------------------------------------------------------------
# request file (the AWS suite's request.txt format)
# --------------------------------------------------------------------------

def request_bytes(case):
    eol = case.get("eol", "\n")
    target = case["path"]
    if case["query"] is not None:
        target += "?" + case["query"]
    lines = ["%s %s HTTP/1.1" % (case["method"], target)]
    host_name = case.get("host_header_name", "Host")
    lines.append("%s:%s" % (host_name, host_header_value(case)))
    for i, (name, value) in enumerate(case["headers"]):
        sep = case.get("header_seps", {}).get(i, ":")
        fold = case.get("folds", {}).get(i)
        if fold is not None:
            lines.append("%s%s%s" % (name, sep, value[:fold]))
            lines.append(value[fold:])
        else:
            lines.append("%s%s%s" % (name, sep, value))
    head = eol.join(lines) + eol + eol
    return head.encode("utf-8") + (case["body"] or b"")


def host_header_value(case):
    return botocore.auth._host_from_url("https://" + case["netloc"] + "/")


# --------------------------------------------------------------------------
# random and adversarial requests
# --------------------------------------------------------------------------

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
UNRESERVED = "-_.~"
SPECIAL = " +%$:@=&;,!*'()[]{}|\\^`<>\"#?/"
UTF8 = ["\u00e9", "\u00fc", "\u00df", "\u03a9", "\u4e2d", "\u6587",
        "\u1234", "\U0001f600", "\u20ac", "\u00f1", "\u00c5"]
# no whitespace other than space/tab: see header trimming note above
HEADER_UTF8 = UTF8

REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-2",
           "ap-southeast-1", "ap-northeast-3", "sa-east-1", "me-central-1",
           "af-south-1", "us-gov-west-1", "cn-north-1", "il-central-1"]
NON_S3 = ["sts", "dynamodb", "execute-api", "lambda", "service", "iam",
          "sqs", "ec2", "es", "kms", "monitoring", "logs", "glacier",
          "sso", "apigateway", "secretsmanager"]
TOKEN_CHARS = ALNUM + "/+="
SECRET_CHARS = ALNUM + "/+"


def rtext(rng, lo, hi, specials=0.15, utf8=0.1, space=0.05, pct2f=0.03):
    n = rng.randint(lo, hi)
    out = []
    for _ in range(n):
        r = rng.random()
        if r < specials:
            out.append(rng.choice(SPECIAL))
        elif r < specials + utf8:
            out.append(rng.choice(UTF8))
        elif r < specials + utf8 + space:
            out.append(" " * rng.randint(1, 3))
        elif r < specials + utf8 + space + pct2f:
            out.append(rng.choice(["%2F", "%2f", "%20", "%25", "%3A", "%"]))
        elif r < specials + utf8 + space + pct2f + 0.08:
            out.append(rng.choice(UNRESERVED))
        else:
            out.append(rng.choice(ALNUM))
    return "".join(out)


def header_value(rng):
    kind = rng.random()
    if kind < 0.1:
        return ""
    if kind < 0.15:
        return rng.choice([" ", "\t", " \t "]) * rng.randint(1, 4)
    if kind < 0.17:
        return "v" + "  x" * rng.randint(1000, 3000)      # long value
    parts = []
    for _ in range(rng.randint(1, 5)):
        word = []
        for _ in range(rng.randint(1, 10)):
            r = rng.random()
            if r < 0.12:
                word.append(rng.choice(HEADER_UTF8))
            elif r < 0.3:
                word.append(rng.choice("\"'(),;:=/?@[]{}+%&*!$#<>\\|^`~-_."))
            else:
                word.append(rng.choice(ALNUM))
        parts.append("".join(word))
    seps = []
    for _ in range(len(parts) - 1):
        r = rng.random()
        if r < 0.5:
            seps.append(" ")
        elif r < 0.9:
            seps.append(" " * rng.randint(2, 6))
        else:
            seps.append(rng.choice(["\t", " \t ", "\t\t"]))
    value = parts[0]
    for sep, part in zip(seps, parts[1:]):
        value += sep + part
    if rng.random() < 0.3:
        value = " " * rng.randint(1, 4) + value
    if rng.random() < 0.3:
        value = value + " " * rng.randint(1, 4)
    return value


HEADER_NAMES = [
    "X-Amz-Meta-Color", "x-amz-meta-empty", "X-Custom", "My-Header1",
    "My-Header2", "Content-Type", "Content-Encoding", "Cache-Control",
    "Accept", "If-Match", "Range", "X-Amz-Acl", "X-Amz-Tagging",
    "X-Amz-Storage-Class", "X-Amz-Server-Side-Encryption", "A-First",
    "ZZ-Last", "x-amz-meta-a_b", "X-Amz-Date-Extra", "X-User-Agent",
    "Expected-Size", "X-Amz-Security-Token-Hint", "Accept-Language",
    "X-Amz-Request-Payer", "X-0", "x-amz-meta-UPPER",
    # names that sort differently by byte value: '-' < '.' < '_' < 'a' < '~'
    "a-b", "a.b", "a_b", "ab", "a~b", "A-B", "X-Tchar!#$%&'*+.^_`|~",
]
SKIPPED_BY_BOTOCORE = ["User-Agent", "X-Amzn-Trace-Id", "Expect"]


def case_name_variants(rng, name):
    r = rng.random()
    if r < 0.15:
        return name.upper()
    if r < 0.3:
        return name.lower()
    return name


def percent_variant(rng, text, keep_raw, raw_eq=False):
    """Spell `text` (decoded) as another client might: escape every byte,
    in random hex case, except unreserved (sometimes escaped too) and the
    characters in keep_raw (sometimes left raw)."""
    out = []
    for ch in text:
        raw = ch.encode("utf-8")
        if len(raw) == 1 and (ch.isalnum() and ch.isascii() or ch in UNRESERVED):
            if rng.random() < 0.15:
                out.append(escape(rng, raw))
            else:
                out.append(ch)
        elif ch in keep_raw or (raw_eq and ch == "="):
            out.append(ch if rng.random() < 0.7 else escape(rng, raw))
        else:
            out.append(escape(rng, raw))
    return "".join(out)


def escape(rng, raw):
    s = "".join("%%%02X" % b for b in raw)
    return s.lower() if rng.random() < 0.4 else s


QUERY_RAW_OK = "$:@;,/?!*'()"   # never '&', '=', '+', '#', '%' raw
PATH_RAW_OK = "$:@=;,!*'()&+"   # pchar sub-delims: never '/', '?', '#', '%'


def make_query(rng, presign):
    """Returns (list of decoded (name, value) pairs, wire string, bare_names)."""
    pairs = []
    n = rng.choice([0, 0, 1, 2, 3, 4, 6, 9])
    used = set()
    for _ in range(n):
        r = rng.random()
        if r < 0.08:
            name = ""
        elif r < 0.6:
            name = rtext(rng, 1, 8, specials=0.05, utf8=0.03, space=0.0,
                         pct2f=0.0)
        else:
            name = rtext(rng, 1, 10)
        if rng.random() < 0.15:
            value = ""
        else:
            value = rtext(rng, 1, 25)
        if presign:
            if name in used or name.startswith("X-Amz-"):
                continue
        used.add(name)
        pairs.append((name, value))
    if rng.random() < 0.06:
        # names whose order differs between decoded and encoded forms:
        # '%' < '-' < '.' < '0' < 'A' < '_' < 'a' < '~'
        trap = ["a b", "a-b", "a.b", "a_b", "a~b", "a\u00e9", "A", "aB",
                "a+b", "a%b", "a", "a0", "~", "_", ".", "-", " "]
        rng.shuffle(trap)
        pairs = [(k, rtext(rng, 0, 3)) for k in trap[:rng.randint(3, 12)]]
    elif rng.random() < 0.02:
        pairs = [("p%d" % rng.randint(0, 999), rtext(rng, 0, 5))
                 for _ in range(rng.randint(100, 400))]
        if presign:
            pairs = list(dict(pairs).items())
    if not presign and pairs and rng.random() < 0.35:
        # repeated names, same or different values, empty ones
        for _ in range(rng.randint(1, 4)):
            name = rng.choice(pairs)[0]
            value = rng.choice(["", "2", "a", rng.choice(pairs)[1],
                                rtext(rng, 1, 6)])
            pairs.insert(rng.randint(0, len(pairs)), (name, value))
    # never a name that looks like a signing parameter
    pairs = [(k, v) for (k, v) in pairs if not k.lower().startswith("x-amz-")]
    return pairs


def make_non_s3_path(rng, allow_raw):
    segs = []
    nseg = rng.randint(0, 6)
    for _ in range(nseg):
        r = rng.random()
        if r < 0.12:
            segs.append(".")
        elif r < 0.24:
            segs.append("..")
        elif r < 0.34:
            segs.append(None)            # empty segment: repeated slash
        else:
            segs.append(rtext(rng, 1, 12))
    wire = []
    raw_style = allow_raw and rng.random() < 0.2
    for seg in segs:
        if seg is None:
            wire.append("")
        elif seg in (".", ".."):
            if rng.random() < 0.1:
                # escaped dots are not dot segments on the wire
                wire.append("".join(rng.choice(["%2E", "%2e", "."])
                                    for _ in seg).replace("..", "%2E."))
            else:
                wire.append(seg)
        elif raw_style:
            # raw space / raw UTF-8 / raw sub-delims, as the suite's
            # get-space-* and get-utf8 cases
            w = []
            for ch in seg:
                if ch.isascii() and (ch.isalnum() or ch in UNRESERVED or ch in PATH_RAW_OK):
                    w.append(ch)
                elif ch == " " or not ch.isascii():
                    w.append(ch)
                else:
                    w.append(quote(ch, safe=""))
            wire.append("".join(w).rstrip(" ") or "x")
        elif rng.random() < 0.15:
            wire.append(percent_variant(rng, seg, PATH_RAW_OK))
        else:
            wire.append(botocore.utils.percent_encode(seg, safe="~"))
    path = "/" + "/".join(wire)
    if segs and rng.random() < 0.3:
        path += "/"
    if rng.random() < 0.05:
        path = "/" + path                # leading double slash
    return path, raw_style


def make_s3_path(rng):
    bucket = rng.choice(["examplebucket", "my.dotted.bucket", "b-1",
                         "awsgate-test-0123"])
    virtual = rng.random() < 0.5
    r = rng.random()
    if r < 0.08:
        key = ""
    elif r < 0.2:
        key = rng.choice(["a/./b/../c", "../x", "./", "a//b", "a/b/", "/lead",
                          "..", ".", "dir/.hidden", "x/../../y"])
    else:
        parts = [rtext(rng, 1, 14) for _ in range(rng.randint(1, 4))]
        key = "/".join(parts)
        if rng.random() < 0.15:
            key += "/"
    if rng.random() < 0.1:
        enc = quote(key, safe="~")       # slashes sent as %2F: kept as sent
    else:
        enc = quote(key, safe="/~")      # botocore's S3 key encoding
    if virtual:
        netloc = "%s.s3.%s.amazonaws.com" % (bucket, "REGION")
        path = "/" + enc
    else:
        netloc = "s3.REGION.amazonaws.com"
        path = "/" + bucket + ("/" + enc if key or rng.random() < 0.5 else "")
    return netloc, path


def rand_time(rng):
    start = datetime.datetime(2012, 1, 1)
    t = start + datetime.timedelta(seconds=rng.randint(0, 24 * 365 * 86400))
    if rng.random() < 0.1:
        t = rng.choice([datetime.datetime(2015, 8, 30, 12, 36, 0),
                        datetime.datetime(2016, 2, 29, 23, 59, 59),
                        datetime.datetime(2020, 12, 31, 23, 59, 59),
                        datetime.datetime(2038, 1, 19, 3, 14, 8)])
    return t.strftime(TIME_FMT)


def rand_credentials(rng):
    ak = rng.choice(["AKIA", "ASIA", "AKID"]) + "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    sk = "".join(rng.choice(SECRET_CHARS) for _ in range(40))
    token = None
    r = rng.random()
    if r < 0.25:
        token = "".join(rng.choice(TOKEN_CHARS)
                        for _ in range(rng.randint(700, 900)))
    elif r < 0.45:
        token = "".join(rng.choice(TOKEN_CHARS)
                        for _ in range(rng.randint(8, 120)))
    return ak, sk, token


def make_case(seed, index):
    rng = random.Random("%s/%d" % (seed, index))
    s3 = rng.random() < 0.45
    service = rng.choice(S3_FAMILY) if s3 else rng.choice(NON_S3)
    region = rng.choice(REGIONS)
    presign = rng.random() < 0.35
    normalize = True if s3 else rng.random() < 0.7
    ak, sk, token = rand_credentials(rng)
    case = {
        "index": index, "service": service, "region": region,
        "presign": presign, "normalize": normalize,
        "access_key": ak, "secret_key": sk, "token": token,
        "time": rand_time(rng),
        "expires": rng.choice([1, 60, 900, 3600, 86400, 604800,
                               rng.randint(1, 604800)]),
        "eol": "\r\n" if rng.random() < 0.3 else "\n",
        "signer_params": None, "streaming": False, "variant": [],
    }

    # host and path
    if s3:
        netloc, path = make_s3_path(rng)
        netloc = netloc.replace("REGION", region)
        raw_path = False
    else:
        host = rng.choice(["%s.%s.amazonaws.com" % (service, region),
                           "example.amazonaws.com",
                           "abc123.execute-api.%s.amazonaws.com" % region,
                           "%s.amazonaws.com" % service])
        netloc = host
        path, raw_path = make_non_s3_path(rng, allow_raw=not presign)
        if rng.random() < 0.1:
            path = rng.choice([
                "/2015-03-31/functions/arn%3Aaws%3Alambda%3A" + region +
                "%3A123456789012%3Afunction%3Amy-fn/invocations",
                "/prod/items/a%2Fb/c%20d",
                "/restapis/abc/stages/%24default"])
        if raw_path:
            case["variant"].append("raw-path")
    if rng.random() < 0.08:
        netloc += ":" + str(rng.choice([8443, 4566, 9000, 80]))
    elif rng.random() < 0.03 and not s3:
        netloc = "[2001:db8::1]:8443"
    case["netloc"] = netloc
    case["path"] = path

    # method and body
    method = rng.choice(["GET", "GET", "PUT", "POST", "DELETE", "HEAD",
                         "PATCH"])
    if presign:
        method = rng.choice(["GET", "GET", "PUT", "HEAD", "DELETE", "POST"])
    body = b""
    headers = []
    if not presign and method in ("PUT", "POST", "PATCH") and rng.random() < 0.85:
        r = rng.random()
        if r < 0.3:
            body = json.dumps({"TableName": rtext(rng, 1, 12),
                               "Key": {"k": {"S": rtext(rng, 0, 20)}}},
                              ensure_ascii=rng.random() < 0.5).encode("utf-8")
        elif r < 0.5:
            body = ("Action=GetCallerIdentity&Version=2011-06-15&X=" +
                    quote(rtext(rng, 0, 20), safe="")).encode("ascii")
        elif r < 0.8:
            body = bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))
            if rng.random() < 0.05:
                body = body * rng.randint(100, 1000)        # up to ~300 kB
        else:
            body = rtext(rng, 1, 200).encode("utf-8")
        if rng.random() < 0.2:
            body += b"\r\n\r\n"
    case["method"] = method
    case["body"] = body

    # headers
    nh = rng.choice([0, 0, 1, 2, 3, 5, 8])
    for _ in range(nh):
        name = case_name_variants(rng, rng.choice(HEADER_NAMES))
        if presign and name.lower() == "content-type":
            continue
        headers.append((name, header_value(rng)))
    if headers and rng.random() < 0.3:
        # repeated header, possibly in another letter case
        for _ in range(rng.randint(1, 3)):
            name = case_name_variants(rng, rng.choice(headers)[0])
            headers.insert(rng.randint(0, len(headers)),
                           (name, header_value(rng)))
    if rng.random() < 0.08:
        headers.append((rng.choice(SKIPPED_BY_BOTOCORE),
                        rng.choice(["100-continue", "aws-cli/2.15 md/x",
                                    "Root=1-5759e988-bd862e3fe1be46a994272793"])))
    if body and rng.random() < 0.3:
        headers.append(("Content-Length", str(len(body))))
    if body and not s3 and rng.random() < 0.15:
        # explicit payload hash header, the body's own SHA-256
        headers.append(("X-Amz-Content-SHA256",
                        hashlib.sha256(body).hexdigest()))
    if s3 and not presign and method in ("PUT", "POST") and rng.random() < 0.7:
        headers.append(("Content-MD5", base64.b64encode(
            hashlib.md5(body).digest()).decode("ascii")))
        if rng.random() < 0.7:
            case["streaming"] = True      # -> UNSIGNED-PAYLOAD
    if not s3 and not presign and service in ("dynamodb", "kms", "logs") \
            and rng.random() < 0.7:
        headers.append(("X-Amz-Target", "DynamoDB_20120810.GetItem"))
        headers.append(("Content-Type", "application/x-amz-json-1.0"))
    rng.shuffle(headers)
    case["headers"] = headers

    # request file cosmetics (do not change the request's meaning)
    case["host_header_name"] = rng.choice(["Host", "Host", "host", "HOST"])
    case["header_seps"] = {i: ": " for i in range(len(headers))
                           if rng.random() < 0.5}
    folds = {}
    for i, (_, value) in enumerate(headers):
        if rng.random() < 0.05:
            spots = [k for k in range(1, len(value))
                     if value[k] == " " and value[k:].strip()
                     and value[:k].strip()]
            if spots:
                folds[i] = rng.choice(spots)
    case["folds"] = folds
    if folds:
        case["variant"].append("folded-header")

    # query
    pairs = make_query(rng, presign)
    query = None
    if pairs:
        r = rng.random()
        if r < 0.2:
            # another client's spelling of the same pairs
            query = "&".join(
                percent_variant(rng, k, QUERY_RAW_OK) +
                ("=" + percent_variant(rng, v, QUERY_RAW_OK, raw_eq=True)
                 if (k == "" or v or rng.random() < 0.5) else "")
                for k, v in pairs)
            case["signer_params"] = pairs
            case["variant"].append("respelled-query")
        elif r < 0.35:
            # botocore's encoding, but bare names for empty values (?a&b=)
            query = "&".join(
                botocore.utils.percent_encode(k) +
                ("=" + botocore.utils.percent_encode(v)
                 if k == "" or v or rng.random() < 0.5 else "")
                for k, v in pairs)
            case["variant"].append("bare-names")
        else:
            query = botocore.utils.percent_encode_sequence(pairs)
    elif rng.random() < 0.03:
        query = ""                           # "path?" with an empty query
    if s3 and rng.random() < 0.15 and not presign:
        # subresource without a value, e.g. ?acl or ?uploads
        sub = rng.choice(["acl", "uploads", "tagging", "versioning"])
        query = sub if not query else query + "&" + sub
        if case["signer_params"] is not None:
            case["signer_params"] = case["signer_params"] + [(sub, "")]
    case["query"] = query
    case["pairs"] = pairs
    return case


def describe(case):
    bits = [case["service"], case["region"],
            "presign(expires=%d)" % case["expires"] if case["presign"]
            else "header",
            "normalize" if case["normalize"] else "no-normalize",
            "token" if case["token"] else "no-token",
            case["method"], "body=%d" % len(case["body"])]
    if case["streaming"]:
        bits.append("unsigned-payload")
    bits.extend(case["variant"])
    return " ".join(bits)


# --------------------------------------------------------------------------
# running the tool
# --------------------------------------------------------------------------

def tool_args(tool, case, reqfile, stage, payload_hash):
    args = [tool, "sigv4", "sign", "--request", reqfile,
            "--region", case["region"], "--service", case["service"],
            "--access-key", case["access_key"],
            "--secret-key", case["secret_key"]]
    if case["token"]:
        args += ["--session-token", case["token"]]
    args += ["--time", case["time"]]
    if case["presign"]:
        args += ["--presign", "--expires", str(case["expires"])]
    if payload_hash:
        args += ["--payload-hash", payload_hash]
    if not case["normalize"]:
        args += ["--no-normalize-path"]
    args += ["--print", stage]
    return args


def strip_one_newline(b):
    return b[:-1] if b.endswith(b"\n") else b


def query_multiset(query):
    items = []
    if query:
        for part in query.split("&"):
            name, _, value = part.partition("=")
            items.append((unquote_to_bytes(name), unquote_to_bytes(value)))
    return sorted(items)


def compare_url(expected, actual):
    """Presigned URLs: same scheme/host, same path, same multiset of decoded
    query parameters (botocore re-orders and re-encodes existing ones)."""
    try:
        a = urlsplit(actual.decode("utf-8"))
    except Exception:
        return False
    e = urlsplit(expected.decode("utf-8"))
    return (e.scheme, e.netloc, e.path) == (a.scheme, a.netloc, a.path) and \
        query_multiset(e.query) == query_multiset(a.query) and not a.fragment


def udiff(expected, actual, stage):
    el = expected.decode("utf-8", "backslashreplace").split("\n")
    al = actual.decode("utf-8", "backslashreplace").split("\n")
    if stage == "url":
        el = split_url(el[0])
        al = split_url(al[0]) if al else al
    return "\n".join(difflib.unified_diff(el, al, "botocore", "awsgatectl",
                                          lineterm=""))


def split_url(u):
    base, _, q = u.partition("?")
    return [base] + sorted(q.split("&")) if q else [base]


def run_case(tool, workdir, case, expected):
    reqfile = os.path.join(workdir, "case-%04d.txt" % case["index"])
    with open(reqfile, "wb") as f:
        f.write(request_bytes(case))
    stages = ["canonical", "string-to-sign", "signature",
              "url" if case["presign"] else "authorization"]
    results = []
    for stage in stages:
        args = tool_args(tool, case, reqfile, stage, expected["payload_hash"])
        try:
            p = subprocess.run(args, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30)
            actual = strip_one_newline(p.stdout)
            rc, err = p.returncode, p.stderr
        except subprocess.TimeoutExpired:
            actual, rc, err = b"", -1, b"timeout"
        except OSError as exc:
            actual, rc, err = b"", -1, str(exc).encode("utf-8")
        want = expected[stage]
        if rc != 0:
            ok = False
        elif stage == "url":
            ok = compare_url(want, actual)
        else:
            ok = actual == want
        results.append((stage, ok, want, actual, rc, err, args))
    return case, expected, reqfile, results


def save_failure(keep_dir, case, expected, reqfile, results):
    d = os.path.join(keep_dir, "case-%04d" % case["index"])
    os.makedirs(d, exist_ok=True)
    shutil.copyfile(reqfile, os.path.join(d, "request.txt"))
    with open(os.path.join(d, "command.sh"), "w") as f:
        f.write("#!/bin/sh\n# %s\n# seed %s, case %d\n"
                % (describe(case), SEED, case["index"]))
        f.write('AWSGATECTL="${AWSGATECTL:-./awsgatectl}"\n')
        for stage, ok, want, actual, rc, err, args in results:
            a = ["$AWSGATECTL"] + [shlex.quote(x) for x in args[1:]]
            a[a.index(shlex.quote(reqfile))] = '"$(dirname "$0")/request.txt"'
            f.write(" ".join(a) + "; echo\n")
    for stage, ok, want, actual, rc, err, args in results:
        with open(os.path.join(d, "expected-%s.txt" % stage), "wb") as f:
            f.write(want)
        with open(os.path.join(d, "actual-%s.txt" % stage), "wb") as f:
            f.write(actual)
        if err:
            with open(os.path.join(d, "stderr-%s.txt" % stage), "wb") as f:
                f.write(err)
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump({k: v for k, v in case.items() if k != "body"}, f,
                  indent=1, ensure_ascii=False, default=str)


SEED = os.environ.get("AWSGATE_SEED", "20150830")


def main():
    t0 = time.time()
    tool = os.environ.get("AWSGATECTL") or "./awsgatectl"
    if not (os.path.isfile(tool) and os.access(tool, os.X_OK)):
        print("sigv4-botocore: ERROR: %s is not an executable file "
              "(set AWSGATECTL)" % tool)
        return 99
    tool = os.path.abspath(tool)
    if not clock_is_frozen():
        print("sigv4-botocore: ERROR: cannot fix the signing time of "
              "botocore %s (%s); use Debian's /usr/bin/python3"
              % (botocore.__version__, botocore.__file__))
        return 99
    count = int(os.environ.get("AWSGATE_SIGV4_CASES", "600"))
    only = os.environ.get("AWSGATE_SIGV4_ONLY")
    indexes = range(1, count + 1)
    if only:
        indexes = [int(x) for x in only.split(",") if x.strip()]
    jobs = max(1, int(os.environ.get("AWSGATE_JOBS", "2")))
    print("sigv4-botocore: botocore %s, python %s, seed %s, tool %s"
          % (botocore.__version__, sys.version.split()[0], SEED, tool))

    cases = [make_case(SEED, i) for i in indexes]
    workdir = tempfile.mkdtemp(prefix="awsgate-sigv4-")
    keep_dir = os.environ.get("AWSGATE_KEEP_DIR")
    stages_compared = mismatches = failed_cases = 0
    try:
        # botocore signs in this thread (its clock patch is global); only the
        # tool invocations run in parallel.
        prepared = [(c, botocore_sign(c)) for c in cases]
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(run_case, tool, workdir, c, e)
                       for c, e in prepared]
            for fut in futures:
                case, expected, reqfile, results = fut.result()
                bad = [r for r in results if not r[1]]
                stages_compared += len(results)
                if not bad:
                    continue
                failed_cases += 1
                mismatches += len(bad)
                if keep_dir is None:
                    keep_dir = tempfile.mkdtemp(prefix="awsgate-sigv4-fail-")
                os.makedirs(keep_dir, exist_ok=True)
                save_failure(keep_dir, case, expected, reqfile, results)
                print("FAIL case %d: %s [%s]"
                      % (case["index"], ",".join(r[0] for r in bad),
                         describe(case)))
                derived_hidden = False
                for stage, ok, want, actual, rc, err, args in bad:
                    if rc != 0:
                        print("  %s: exit %d: %s" % (
                            stage, rc,
                            err.decode("utf-8", "replace").strip()[:500]))
                    elif stage in ("string-to-sign", "signature") and \
                            derived_hidden:
                        continue    # follows from the canonical request
                    else:
                        print(udiff(want, actual, stage))
                    if stage == "canonical":
                        derived_hidden = True
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if failed_cases:
        print("sigv4-botocore: %d failing cases saved under %s"
              % (failed_cases, keep_dir))
    print("sigv4-botocore: finished in %.1fs" % (time.time() - t0))
    print("sigv4-botocore: %d cases, %d stages compared, %d mismatches"
          % (len(cases), stages_compared, mismatches))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
