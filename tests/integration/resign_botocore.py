#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""resign_botocore.py: the gate's re-signed requests checked with botocore, from requests botocore made.

Usage: resign_botocore.py RESIGN_RUN WORKDIR

botocore clients (with a user's throw-away keys, with and without a session
token) make real requests to sts (query), s3 (rest-xml, header-signed and
presigned), dynamodb (json) and lambda (rest-json); the requests are
captured before they are sent, hostile extra headers are added, and
resign_run (the pipeline's target, scope and re-signing stages) re-signs
them with a role's credentials. botocore's own signers then recompute the
signature of the outgoing request for the role's credentials and must agree,
and nothing the gate must drop may survive: hop-by-hop headers and those
Connection names, X-Forwarded-*, X-Awsgate-*, Expect, the user's key,
token, date and signature.
"""
import datetime
import os
import subprocess
import sys
import time
from urllib.parse import parse_qsl, urlsplit

import botocore.auth
import botocore.session
from botocore.awsrequest import AWSRequest, HeadersDict
from botocore.config import Config
from botocore.credentials import Credentials

RUN, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)

USER_AK, USER_SK, USER_TOKEN = "AKIDUSERLOCALPROXY01", "user-secret-key-local", "user-session-token-local-XYZ"
ROLE_AK, ROLE_SK = "ASIAROLEROLEROLE0001", "role/secret+key/0123456789abcdefghijkl"
ROLE_TOKEN = "FwoGZXIvYXdzEROLE//token+with/slashes=="


class _Clock:
    now = datetime.datetime(2015, 8, 30, 12, 36, 0)


class _Frozen(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return _Clock.now


class _DateTimeModule:
    datetime = _Frozen


_real_datetime = botocore.auth.datetime


class Captured(Exception):
    def __init__(self, req):
        Exception.__init__(self)
        self.req = req


def capture(request, **kwargs):
    raise Captured(request)


def client(service, region, token, sigv2=False):
    s = botocore.session.get_session()
    s.set_credentials(USER_AK, USER_SK, token)
    cfg = Config(retries={"max_attempts": 0}, signature_version=None if sigv2 or service != "s3" else "s3v4")
    c = s.create_client(service, region_name=region, config=cfg)
    c.meta.events.register("before-send", capture)
    return c


def call(c, op, **kw):
    try:
        getattr(c, op)(**kw)
    except Captured as e:
        r = e.req
        body = r.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        return r.method, r.url, list(r.headers.items()), body
    raise RuntimeError("request was not captured")


def presigned(c, op, params, expires, extra=()):
    url = c.generate_presigned_url(op, Params=params, ExpiresIn=expires)
    return "GET", url, list(extra), b""


HOSTILE = [
    ("Connection", "close, X-Secret-Hop"),
    ("X-Secret-Hop", "drop-me"),
    ("Keep-Alive", "timeout=5"),
    ("Proxy-Authorization", "Basic Zm9vOmJhcg=="),
    ("Proxy-Connection", "keep-alive"),
    ("TE", "trailers"),
    ("Trailer", "X-Foo"),
    ("Upgrade", "h2c"),
    ("Expect", "100-continue"),
    ("X-Forwarded-For", "10.0.0.1"),
    ("X-Forwarded-Proto", "http"),
    ("X-Awsgate-Role", "admin"),
    ("X-Awsgate-App", "prod"),
    ("Forwarded", "for=1.2.3.4"),
    ("X-Custom-Keep", "yes"),
]
DROPPED = {"connection", "x-secret-hop", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer",
           "upgrade", "expect", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-awsgate-role",
           "x-awsgate-app", "forwarded", "transfer-encoding"}
AUTH_PARAMS = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
               "X-Amz-Signature", "X-Amz-Security-Token"}


def cases():
    out = []
    for utok in (None, USER_TOKEN):
        tag = "token" if utok else "keys"
        sts = client("sts", "us-east-1", utok)
        s3 = client("s3", "us-west-2", utok)
        ddb = client("dynamodb", "eu-west-1", utok)
        lam = client("lambda", "us-east-1", utok)
        out += [
            ("sts-get-caller-identity-" + tag, "buffer", call(sts, "get_caller_identity")),
            ("sts-assume-role-" + tag, "buffer",
             call(sts, "assume_role", RoleArn="arn:aws:iam::123456789012:role/x", RoleSessionName="sess")),
            ("s3-get-object-" + tag, "stream", call(s3, "get_object", Bucket="my-bucket", Key="a b/c+d%e~f.txt")),
            ("s3-put-object-" + tag, "stream",
             call(s3, "put_object", Bucket="my-bucket", Key="k", Body=b"hello world")),
            ("s3-list-buckets-" + tag, "stream", call(s3, "list_buckets")),
            ("dynamodb-get-item-" + tag, "buffer",
             call(ddb, "get_item", TableName="table", Key={"k": {"S": "v"}})),
            ("lambda-invoke-" + tag, "buffer", call(lam, "invoke", FunctionName="f", Payload=b'{"a":1}')),
            ("lambda-list-" + tag, "none", call(lam, "list_functions")),
            ("s3-presigned-get-" + tag, "none",
             presigned(s3, "get_object", {"Bucket": "my-bucket", "Key": "k"}, 900)),
            ("sts-presigned-eks-" + tag, "none",
             presigned(sts, "get_caller_identity", {}, 60, [("x-k8s-aws-id", "my-cluster")])),
        ]
    return out


def write_request(path, method, url, headers, body, hostile):
    u = urlsplit(url)
    target = u.path or "/"
    if u.query:
        target += "?" + u.query
    lines = ["%s %s HTTP/1.1" % (method, target), "Host:gate.example.com:8443", "X-Forwarded-Host:%s" % u.hostname]
    for n, v in headers:
        if n.lower() == "host":
            continue
        if isinstance(v, bytes):
            v = v.decode()
        lines.append("%s:%s" % (n, v))
    if hostile:
        for n, v in HOSTILE:
            lines.append("%s:%s" % (n, v))
    with open(path, "wb") as f:
        f.write(("\n".join(lines) + "\n\n").encode() + body)
    return u.hostname


def run(path, now, end, role_token, sts_user=None):
    args = [RUN, path, str(now), str(end), ROLE_AK, ROLE_SK, role_token or "-"] + ([sts_user] if sts_user else [])
    p = subprocess.run(args, capture_output=True)
    if p.returncode == 2:
        raise RuntimeError(p.stderr.decode())
    return p.returncode, p.stdout


META = {}


def parse_output(out):
    first, _, rest = out.partition(b"\n")
    META.clear()
    while rest.startswith(b"sts ") or rest.startswith(b"action "):
        line, _, rest = rest.partition(b"\n")
        key, _, value = line.decode().partition(" ")
        META[key] = value
    head, _, body = rest.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    method, _, target = lines[0].partition(" ")
    target = target.rsplit(" ", 1)[0]
    headers = []
    for line in lines[1:]:
        n, _, v = line.partition(":")
        headers.append((n, v))
    return first.decode().split(" "), method, target, headers, body


def verify(scope, method, target, headers, body, role_token):
    """Returns the problems found (empty: the signature is botocore's)."""
    _, kind, payload, region, service = scope
    s3 = service == "s3"
    creds = Credentials(ROLE_AK, ROLE_SK, role_token)
    h = dict((n.lower(), v) for n, v in headers)
    path, _, query = target.partition("?")
    url = "https://%s%s" % (h["host"], path)
    problems = []
    if kind == "presigned":
        q = parse_qsl(query, keep_blank_values=True)
        ours = dict(q)
        rest = [(k, v) for k, v in q if k not in AUTH_PARAMS]
        _Clock.now = datetime.datetime.strptime(ours["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        botocore.auth.datetime = _DateTimeModule
        try:
            req = AWSRequest(method=method, url=url, params=dict(rest), data=body,
                             headers=HeadersDict((n, v) for n, v in headers if n.lower() != "host"))
            cls = botocore.auth.S3SigV4QueryAuth if s3 else botocore.auth.SigV4QueryAuth
            cls(creds, service, region, expires=int(ours["X-Amz-Expires"])).add_auth(req)
        finally:
            botocore.auth.datetime = _real_datetime
        theirs = dict(parse_qsl(urlsplit(req.url).query))
        for k in ("X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Credential"):
            if theirs.get(k) != ours.get(k):
                problems.append("%s: ours %r, botocore %r" % (k, ours.get(k), theirs.get(k)))
        if (ours.get("X-Amz-Security-Token") or None) != role_token:
            problems.append("X-Amz-Security-Token in the query is %r" % ours.get("X-Amz-Security-Token"))
        return problems
    auth = h.get("authorization", "")
    req = AWSRequest(method=method, url=url + ("?" + query if query else ""), data=body,
                     headers=HeadersDict((n, v) for n, v in headers if n.lower() != "authorization"))
    cls = botocore.auth.S3SigV4Auth if s3 else botocore.auth.SigV4Auth
    signer = cls(creds, service, region)
    req.context["timestamp"] = h["x-amz-date"]
    canonical = signer.canonical_request(req)
    sig = signer.signature(signer.string_to_sign(req, canonical), req)
    signed = signer.signed_headers(signer.headers_to_sign(req))
    want = "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s" % (
        ROLE_AK, h["x-amz-date"][:8], region, service, signed, sig)
    if auth != want:
        problems.append("Authorization:\n#     ours     %s\n#     botocore %s\n#   canonical:\n%s" % (
            auth, want, "\n".join("#     " + line for line in canonical.split("\n"))))
    if h.get("x-amz-security-token") != role_token:
        problems.append("X-Amz-Security-Token is %r" % h.get("x-amz-security-token"))
    return problems


failures = 0
n = 0
now = int(time.time())
for name, payload, (method, url, headers, body) in cases():
    for role_token in (None, ROLE_TOKEN):
        for hostile in (False, True):
            n += 1
            label = "%s%s%s" % (name, "-role-token" if role_token else "", "-hostile" if hostile else "")
            path = os.path.join(WORK, label + ".req")
            host = write_request(path, method, url, headers, body, hostile)
            rc, out = run(path, now, now + 1800, role_token)
            problems = []
            if rc != 0:
                problems.append("refused: " + out.decode(errors="replace").strip())
            else:
                scope, m, target, oh, ob = parse_output(out)
                names = [x.lower() for x, _ in oh]
                text = out.decode(errors="replace")
                if scope[2] != payload:
                    problems.append("payload mode %s, expected %s" % (scope[2], payload))
                for d in DROPPED:
                    if d in names:
                        problems.append("%s survived" % d)
                for secret in (USER_AK, USER_SK, USER_TOKEN, "gate.example.com"):
                    if secret in text:
                        problems.append("%s survived" % secret)
                if hostile and "x-custom-keep" not in names:
                    problems.append("an ordinary header was dropped")
                if names.count("host") != 1 or dict((a.lower(), b) for a, b in oh)["host"] != host:
                    problems.append("Host is not exactly the target")
                if ob != body:
                    problems.append("the body changed")
                if scope[1] == "presigned":
                    ex = int(dict(parse_qsl(target.partition("?")[2]))["X-Amz-Expires"])
                    want = 60 if "eks" in name else 900
                    if ex != want:
                        problems.append("X-Amz-Expires %d, expected %d" % (ex, want))
                problems += verify(scope, m, target, oh, ob, role_token)
            print("%s %d - %s" % ("not ok" if problems else "ok", n, label))
            for p in problems:
                print("#   " + p)
            failures += bool(problems)

# A presigned URL is capped by the user's session, and refused once expired.
s3 = client("s3", "us-west-2", None)
m, url, hd, b = presigned(s3, "get_object", {"Bucket": "my-bucket", "Key": "k"}, 3600)
path = os.path.join(WORK, "presign-capped.req")
write_request(path, m, url, hd, b, False)
rc, out = run(path, now, now + 120, None)
n += 1
ok = rc == 0 and dict(parse_qsl(parse_output(out)[2].partition("?")[2]))["X-Amz-Expires"] == "120"
print("%s %d - presign-capped-by-session" % ("ok" if ok else "not ok", n))
failures += not ok
later = int(time.time()) + 3602
rc, out = run(path, later, later + 7200, None)
n += 1
ok = rc == 1 and out.startswith(b"refused presign-expired ")
print("%s %d - presign-expired" % ("ok" if ok else "not ok", n))
failures += not ok

# A user's own AssumeRole: DurationSeconds capped to the session, SourceIdentity
# set, or refused when it names someone else; the new body is what is signed.
sts = client("sts", "us-east-1", USER_TOKEN)
ARN = "arn:aws:iam::123456789012:role/x"
STS_CASES = [
    ("assume-role-capped", dict(DurationSeconds=43200), 1800, "alice+ops@example.com",
     {"DurationSeconds": "1800", "SourceIdentity": "alice+ops@example.com"}, None),
    ("assume-role-default-capped", {}, 1200, "alice", {"DurationSeconds": "1200", "SourceIdentity": "alice"}, None),
    ("assume-role-unchanged", dict(DurationSeconds=900, SourceIdentity="alice"), 7200, "alice",
     {"DurationSeconds": "900", "SourceIdentity": "alice"}, None),
    ("assume-role-other-identity", dict(SourceIdentity="bob"), 7200, "alice", None, "source-identity-mismatch"),
    ("assume-role-session-too-short", {}, 600, "alice", None, "session-too-short"),
]
for name, extra, left, user, want, refusal in STS_CASES:
    m, url, hd, b = call(sts, "assume_role", RoleArn=ARN, RoleSessionName="sess", **extra)
    path = os.path.join(WORK, name + ".req")
    write_request(path, m, url, hd, b, True)
    rc, out = run(path, now, now + left, ROLE_TOKEN, user)
    n += 1
    problems = []
    if refusal is not None:
        if rc != 1 or ("\nrefused %s " % refusal).encode() not in out:
            problems.append("not refused with %s: %r" % (refusal, out[:200]))
    elif rc != 0:
        problems.append("refused: %r" % out[:300])
    else:
        scope, m2, target, oh, ob = parse_output(out)
        form = dict(parse_qsl(ob.decode(), keep_blank_values=True))
        for k, v in want.items():
            if form.get(k) != v:
                problems.append("%s is %r, expected %r" % (k, form.get(k), v))
        if form.get("RoleArn") != ARN or form.get("Action") != "AssumeRole":
            problems.append("the other parameters changed: %r" % form)
        if dict((a.lower(), v) for a, v in oh).get("content-length") != str(len(ob)):
            problems.append("Content-Length is not the new body's")
        if META.get("action") != "AssumeRole":
            problems.append("action %r" % META.get("action"))
        problems += verify(scope, m2, target, oh, ob, ROLE_TOKEN)
    print("%s %d - %s" % ("not ok" if problems else "ok", n, name))
    for p in problems:
        print("#   " + p)
    failures += bool(problems)

# aws-chunked uploads: no oracle in botocore 1.29, so sigv4_chunked.py's
# verifier (written from AWS's specification and proved on AWS's published
# examples) checks every re-signed chunk and trailer for the role's key.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sigv4_chunked  # noqa: E402

CHUNK_HOST = "examplebucket.s3.us-east-1.amazonaws.com"
amz = datetime.datetime.utcfromtimestamp(now).strftime("%Y%m%dT%H%M%SZ")
data = bytes((i * 7 + 3) & 0xFF for i in range(200000))
for mode in ("signed", "signed-trailer", "unsigned-trailer"):
    for role_token in (None, ROLE_TOKEN):
        for sizes in ([65536, 65536, 65536, 3392], [200000]):
            n += 1
            label = "chunked-%s-%d-chunks%s" % (mode, len(sizes), "-role-token" if role_token else "")
            raw, info = sigv4_chunked.build_request(mode, data, sizes, USER_AK, USER_SK, amz, region="us-east-1",
                                                    host=CHUNK_HOST, token=USER_TOKEN)
            head, sep, body = raw.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            extra = [b"X-Forwarded-Host: " + CHUNK_HOST.encode(), b"Expect: 100-continue", b"Connection: close"]
            path = os.path.join(WORK, label + ".req")
            with open(path, "wb") as f:
                f.write(b"\r\n".join(lines[:1] + extra + lines[1:]) + sep + body)
            rc, out = run(path, now, now + 3600, role_token)
            problems = []
            if rc != 0:
                problems.append("refused: %r" % out[:300])
            else:
                scope, m2, target, oh, ob = parse_output(out)
                want_payload = "unsigned-trailer" if mode == "unsigned-trailer" else "chunked"
                if scope[2] != want_payload:
                    problems.append("payload mode %s" % scope[2])
                if len(ob) != len(body):
                    problems.append("the encoded length changed: %d, was %d" % (len(ob), len(body)))
                if mode == "unsigned-trailer" and ob != body:
                    problems.append("an unsigned-trailer body changed")
                if mode != "unsigned-trailer" and ob == body:
                    problems.append("the chunks were not re-signed")
                outraw = sigv4_chunked.format_request(m2, target, oh, ob)
                try:
                    res = sigv4_chunked.verify_request(outraw, ROLE_AK, ROLE_SK, now=amz)
                    if res["data"] != data:
                        problems.append("the decoded data changed")
                except sigv4_chunked.VerifyError as e:
                    problems.append("the oracle refused the re-signed request: %s" % e)
                for secret in (USER_AK.encode(), USER_TOKEN.encode()):
                    if secret in out:
                        problems.append("%r survived" % secret)
            print("%s %d - %s" % ("not ok" if problems else "ok", n, label))
            for p in problems:
                print("#   " + p)
            failures += bool(problems)

# SigV2 presigned URLs (botocore's default for S3 before s3v4) are refused.
m, url, hd, b = presigned(client("s3", "us-east-1", None, sigv2=True), "get_object", {"Bucket": "b", "Key": "k"}, 60)
path = os.path.join(WORK, "presign-sigv2.req")
write_request(path, m, url, hd, b, False)
rc, out = run(path, now, now + 120, None)
n += 1
ok = "AWSAccessKeyId=" in url and rc == 1 and out.startswith(b"refused signature-unsupported ")
print("%s %d - presign-sigv2-refused" % ("ok" if ok else "not ok", n))
failures += not ok

print("1..%d" % n)
sys.exit(1 if failures else 0)
