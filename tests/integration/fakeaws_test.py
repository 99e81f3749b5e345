#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Tests of the fake AWS itself (tests/fakeaws/) with independent clients:
# boto3/botocore (the AWS host names resolved to the fake in this process
# only, so Host and SNI keep the AWS names; verify= the fake's CA), urllib for
# the federation, IMDS and ECS endpoints and presigned URLs, and the chunked
# encoder of sigv4_chunked.py for signed aws-chunked uploads.  Started by
# fakeaws.test, which also drives curl and /usr/bin/aws.
#
# Usage: fakeaws_test.py PORTS_FILE     (written by fakeaws.py --ports-file)
# Output: "ok NAME" or "FAIL NAME: why" per check; exit 0, 1 (a check
# failed) or 77 (no botocore).

import datetime
import hashlib
import json
import os
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fakeaws"))
sys.path.insert(0, HERE)

try:
    import boto3
    import botocore
    import botocore.auth
    import botocore.config
    import botocore.exceptions
    from boto3.s3.transfer import TransferConfig
except Exception as exc:  # pragma: no cover - depends on the host
    print("fakeaws: SKIP: cannot import boto3/botocore with %s: %s"
          % (sys.executable, exc))
    sys.exit(77)

import records  # noqa: E402

# sigv4_chunked freezes botocore's clock when imported (it signs seeds at
# fixed times, in botocore.auth and botocore.crt.auth); keep the real clock
# for every other client here and lend the frozen one only while building a
# chunked request.
_CLOCK_MODULES = [botocore.auth]
try:
    import botocore.crt.auth
    _CLOCK_MODULES.append(botocore.crt.auth)
except Exception:   # no awscrt
    pass


def _clock_state():
    return [(m, m.__dict__.get("datetime"),
             m.__dict__.get("get_current_datetime")) for m in _CLOCK_MODULES]


_real = _clock_state()
import sigv4_chunked  # noqa: E402
_frozen = _clock_state()


def _clock(which):
    for m, dt, gcd in which:
        m.datetime = dt
        if gcd is not None:
            m.get_current_datetime = gcd


_clock(_real)

GATE = ("AKIAFAKEGATE00000001", "fakeGateSecretKey/0000000000000000000000")
STRANGER = ("AKIAFAKESTRANGER0001", "fakeStrangerSecret/000000000000000000000")
APP_ROLE = "arn:aws:iam::222222222222:role/app-admin"
CHAINED_ROLE = "arn:aws:iam::222222222222:role/chained"
NO_SOURCE_ROLE = "arn:aws:iam::222222222222:role/no-source"
WEB_ROLE = "arn:aws:iam::111111111111:role/gate-web"
WEB_TOKEN = "eyJfake.web-identity.token"
REGION = "us-east-1"

FAILED = []


def check(name, cond, why=""):
    if cond:
        print("ok %s" % name)
    else:
        FAILED.append(name)
        print("FAIL %s: %s" % (name, why))


def eq(name, got, want):
    check(name, got == want, "got %r, want %r" % (got, want))


class Fake:
    def __init__(self, ports_file):
        with open(ports_file, encoding="utf-8") as f:
            self.info = json.load(f)
        self.https = self.info["https"]
        self.ca = self.info["ca"]
        self.records = self.info["records"]
        self.admin = "http://127.0.0.1:%d" % self.info["admin"]

    def admin_call(self, method, path, obj=None):
        data = None if obj is None else json.dumps(obj).encode()
        req = urllib.request.Request(self.admin + path, data=data,
                                     method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def fault(self, **rule):
        return self.admin_call("POST", "/faults", rule)

    def clock(self, offset):
        self.admin_call("POST", "/clock", {"offset": offset})


FAKE = None
_orig_getaddrinfo = socket.getaddrinfo


def _fake_getaddrinfo(host, port, *args, **kw):
    # Connect-to semantics in this process only: every AWS name goes to the
    # fake's HTTPS port; the URL, Host and SNI keep the name.
    if isinstance(host, str) and (host.endswith(".amazonaws.com") or
                                  host.endswith(".amazon.com")):
        return _orig_getaddrinfo("127.0.0.1", FAKE.https, *args, **kw)
    return _orig_getaddrinfo(host, port, *args, **kw)


def session(ak, sk, token=None):
    return boto3.Session(aws_access_key_id=ak, aws_secret_access_key=sk,
                         aws_session_token=token, region_name=REGION)


def config(**kw):
    base = {"retries": {"total_max_attempts": 1}, "connect_timeout": 5,
            "read_timeout": 10, "parameter_validation": False}
    base.update(kw)
    return botocore.config.Config(**base)


def client(sess, service, **kw):
    extra = {}
    if service == "sts":
        extra["endpoint_url"] = "https://sts.%s.amazonaws.com" % REGION
    return sess.client(service, verify=FAKE.ca, config=config(**kw), **extra)


def creds_session(c):
    return session(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])


def error_of(fn, *a, **kw):
    """(code, HTTP status, message) of the ClientError fn raises, or None."""
    try:
        fn(*a, **kw)
    except botocore.exceptions.ClientError as e:
        return (e.response["Error"].get("Code"),
                e.response["ResponseMetadata"].get("HTTPStatusCode"),
                e.response["Error"].get("Message", ""))
    return None


def https_get(url, headers=None, method="GET", data=None):
    ctx = ssl.create_default_context(cafile=FAKE.ca)
    req = urllib.request.Request(url, headers=headers or {}, method=method,
                                 data=data)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **kw):
            return None
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=ctx), NoRedirect)
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def http_call(url, headers=None, method="GET"):
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# --------------------------------------------------------------------------

def test_sts():
    gate = session(*GATE)
    sts = client(gate, "sts")
    me = sts.get_caller_identity()
    eq("sts.caller.user", me["Arn"], "arn:aws:iam::111111111111:user/gate")
    eq("sts.caller.account", me["Account"], "111111111111")

    t0 = time.time()
    r = sts.assume_role(RoleArn=APP_ROLE, RoleSessionName="alice",
                        ExternalId="ext-app-1", SourceIdentity="alice",
                        DurationSeconds=7200,
                        Tags=[{"Key": "team", "Value": "blue"}])
    eq("sts.assume.arn", r["AssumedRoleUser"]["Arn"],
       "arn:aws:sts::222222222222:assumed-role/app-admin/alice")
    eq("sts.assume.source-identity", r.get("SourceIdentity"), "alice")
    c = r["Credentials"]
    life = c["Expiration"].timestamp() - t0
    check("sts.assume.duration", 7100 < life < 7300, "lifetime %d" % life)
    check("sts.assume.key-shape", c["AccessKeyId"].startswith("ASIA") and
          len(c["AccessKeyId"]) == 20, c["AccessKeyId"])
    role = creds_session(c)
    rsts = client(role, "sts")
    eq("sts.caller.minted", rsts.get_caller_identity()["Arn"],
       "arn:aws:sts::222222222222:assumed-role/app-admin/alice")

    def denied(name, fn, code, status, text=None, **kw):
        e = error_of(fn, **kw)
        check(name, e is not None and e[0] == code and e[1] == status and
              (text is None or text in e[2]),
              "got %r, want %s %d %s" % (e, code, status, text or ""))
    base = dict(RoleArn=APP_ROLE, RoleSessionName="alice")
    denied("sts.refuse.no-external-id", sts.assume_role, "AccessDenied", 403,
           "sts:AssumeRole", **base)
    denied("sts.refuse.wrong-external-id", sts.assume_role, "AccessDenied",
           403, "sts:AssumeRole", ExternalId="ext-app-2", **base)
    stranger = client(session(*STRANGER), "sts")
    denied("sts.refuse.untrusted-principal", stranger.assume_role,
           "AccessDenied", 403, "user/stranger is not authorized",
           ExternalId="ext-app-1", **base)
    denied("sts.refuse.over-role-max", sts.assume_role, "ValidationError",
           400, "MaxSessionDuration", ExternalId="ext-app-1",
           DurationSeconds=7201, **base)
    denied("sts.refuse.under-900", sts.assume_role, "ValidationError", 400,
           "greater than or equal to 900", ExternalId="ext-app-1",
           DurationSeconds=899, **base)
    denied("sts.refuse.over-43200", sts.assume_role, "ValidationError", 400,
           "less than or equal to 43200", RoleArn=CHAINED_ROLE,
           RoleSessionName="alice", DurationSeconds=43201)
    denied("sts.refuse.session-name", sts.assume_role, "ValidationError", 400,
           "roleSessionName", RoleArn=APP_ROLE, RoleSessionName="al ice",
           ExternalId="ext-app-1")
    denied("sts.refuse.session-name-short", sts.assume_role,
           "ValidationError", 400, "length greater than or equal to 2",
           RoleArn=APP_ROLE, RoleSessionName="a", ExternalId="ext-app-1")
    denied("sts.refuse.source-identity", sts.assume_role, "AccessDenied", 403,
           "sts:SetSourceIdentity", RoleArn=NO_SOURCE_ROLE,
           RoleSessionName="alice", SourceIdentity="alice")
    denied("sts.refuse.tags", sts.assume_role, "AccessDenied", 403,
           "sts:TagSession", RoleArn=NO_SOURCE_ROLE, RoleSessionName="alice",
           Tags=[{"Key": "a", "Value": "b"}])
    ok = sts.assume_role(RoleArn=NO_SOURCE_ROLE, RoleSessionName="bob")
    eq("sts.assume.root-trust", ok["AssumedRoleUser"]["Arn"],
       "arn:aws:sts::222222222222:assumed-role/no-source/bob")
    denied("sts.refuse.unknown-role", sts.assume_role, "AccessDenied", 403,
           None, RoleArn="arn:aws:iam::222222222222:role/nope",
           RoleSessionName="alice")

    # Role chaining: one-hour cap, source identity sticky.
    denied("sts.refuse.chained-1h-cap", rsts.assume_role, "ValidationError",
           400, "1 hour session limit", RoleArn=CHAINED_ROLE,
           RoleSessionName="alice2", DurationSeconds=3601)
    ch = rsts.assume_role(RoleArn=CHAINED_ROLE, RoleSessionName="alice2",
                          DurationSeconds=3600)
    eq("sts.chained.source-identity-sticky", ch.get("SourceIdentity"),
       "alice")
    denied("sts.refuse.chained-source-change", rsts.assume_role,
           "AccessDenied", 403, "sts:SetSourceIdentity",
           RoleArn=CHAINED_ROLE, RoleSessionName="alice2",
           SourceIdentity="mallory")
    direct = sts.assume_role(RoleArn=CHAINED_ROLE, RoleSessionName="carol",
                             DurationSeconds=43200)
    check("sts.direct.12h", "Credentials" in direct)

    # Federation token: IAM user keys only.
    f = sts.get_federation_token(Name="fed-alice", DurationSeconds=3600)
    eq("sts.federation.arn", f["FederatedUser"]["Arn"],
       "arn:aws:sts::111111111111:federated-user/fed-alice")
    fed = creds_session(f["Credentials"])
    eq("sts.federation.caller", client(fed, "sts").get_caller_identity()
       ["Arn"], "arn:aws:sts::111111111111:federated-user/fed-alice")
    denied("sts.refuse.federation-with-session", rsts.get_federation_token,
           "AccessDenied", 403, None, Name="fed-bob")

    # Web identity (unsigned).
    anon = boto3.client("sts", region_name=REGION, verify=FAKE.ca,
                        endpoint_url="https://sts.%s.amazonaws.com" % REGION,
                        config=config(signature_version=botocore.UNSIGNED))
    w = anon.assume_role_with_web_identity(RoleArn=WEB_ROLE,
                                           RoleSessionName="gate-pod",
                                           WebIdentityToken=WEB_TOKEN)
    eq("sts.web-identity.arn", w["AssumedRoleUser"]["Arn"],
       "arn:aws:sts::111111111111:assumed-role/gate-web/gate-pod")
    eq("sts.web-identity.subject", w["SubjectFromWebIdentityToken"],
       "system:serviceaccount:awsgate:gate")
    denied("sts.refuse.web-identity-token", anon.assume_role_with_web_identity,
           "InvalidIdentityToken", 400, None, RoleArn=WEB_ROLE,
           RoleSessionName="gate-pod", WebIdentityToken="eyJnot.known.token")
    denied("sts.refuse.web-identity-role", anon.assume_role_with_web_identity,
           "AccessDenied", 403, None, RoleArn=APP_ROLE,
           RoleSessionName="gate-pod", WebIdentityToken=WEB_TOKEN)
    return c, ch["Credentials"], f["Credentials"]


def test_signatures(role_creds):
    gate = session(*GATE)
    sts = client(gate, "sts")

    def tamper(request, **kw):
        auth = request.headers["Authorization"]
        if isinstance(auth, bytes):
            auth = auth.decode()
        i = auth.index("Signature=") + len("Signature=")
        flip = "0" if auth[i] != "0" else "1"
        request.headers["Authorization"] = auth[:i] + flip + auth[i + 1:]
    bad = client(gate, "sts")
    bad.meta.events.register("before-send.sts.GetCallerIdentity", tamper)
    e = error_of(bad.get_caller_identity)
    check("sig.tampered", e and e[:2] == ("SignatureDoesNotMatch", 403),
          repr(e))
    e = error_of(client(session(GATE[0], "wrong" + GATE[1][5:]), "sts")
                 .get_caller_identity)
    check("sig.wrong-secret", e and e[:2] == ("SignatureDoesNotMatch", 403),
          repr(e))
    e = error_of(client(session("AKIAUNKNOWN000000000", GATE[1]), "sts")
                 .get_caller_identity)
    check("sig.unknown-key", e and e[:2] == ("InvalidClientTokenId", 403),
          repr(e))
    e = error_of(client(session(role_creds["AccessKeyId"],
                                role_creds["SecretAccessKey"],
                                role_creds["SessionToken"][:-4] + "AAAA"),
                        "sts").get_caller_identity)
    check("sig.wrong-token", e and e[:2] == ("InvalidClientTokenId", 403),
          repr(e))
    e = error_of(client(session(role_creds["AccessKeyId"],
                                role_creds["SecretAccessKey"]),
                        "sts").get_caller_identity)
    check("sig.missing-token", e and e[:2] == ("InvalidClientTokenId", 403),
          repr(e))
    s3 = client(gate, "s3")
    bad3 = client(gate, "s3")
    bad3.meta.events.register("before-send.s3.ListBuckets", tamper)
    e = error_of(bad3.list_buckets)
    check("sig.s3-tampered", e and e[:2] == ("SignatureDoesNotMatch", 403),
          repr(e))
    s3.list_buckets()
    # Clock: skew (long-term key) and expiry (minted credentials).
    FAKE.clock(20 * 60)
    try:
        e = error_of(sts.get_caller_identity)
        check("sig.skew", e and e[0] == "SignatureDoesNotMatch" and
              "Signature expired" in e[2], repr(e))
        e = error_of(client(session(*GATE), "s3").list_buckets)
        check("sig.s3-skew", e and e[:2] == ("RequestTimeTooSkewed", 403),
              repr(e))
    finally:
        FAKE.clock(0)
    FAKE.clock(2 * 3600 + 60)
    try:
        # A client whose clock agrees with the fake's moved clock: the only
        # fault left is the credentials' expiry.
        now = datetime.datetime.utcnow() + datetime.timedelta(
            seconds=2 * 3600 + 60)
        sigv4_chunked.set_clock(now.strftime(sigv4_chunked.TIME_FMT))
        _clock(_frozen)
        try:
            e = error_of(client(creds_session(role_creds), "sts")
                         .get_caller_identity)
        finally:
            _clock(_real)
        check("sig.expired-token", e and e[:2] == ("ExpiredToken", 400),
              repr(e))
    finally:
        FAKE.clock(0)
    recs = records.select(records.read(FAKE.records),
                          signature="mismatch", service="sts")
    check("records.mismatch-recorded", len(recs) >= 2, "%d" % len(recs))


def test_presigned():
    # boto3 1.26 presigns S3 with SigV2 unless told s3v4.
    s3 = client(session(*GATE), "s3", signature_version="s3v4")
    s3.create_bucket(Bucket="presign-bkt")
    s3.put_object(Bucket="presign-bkt", Key="p.txt", Body=b"presigned body")
    url = s3.generate_presigned_url("get_object", Params={
        "Bucket": "presign-bkt", "Key": "p.txt"}, ExpiresIn=60)
    st, _, body = https_get(url)
    check("presign.get", st == 200 and body == b"presigned body",
          "%d %r" % (st, body[:200]))
    i = url.index("X-Amz-Signature=") + len("X-Amz-Signature=")
    bad = url[:i] + ("0" if url[i] != "0" else "1") + url[i + 1:]
    st, _, body = https_get(bad)
    check("presign.tampered", st == 403 and b"SignatureDoesNotMatch" in body,
          "%d %r" % (st, body[:200]))
    FAKE.clock(120)
    try:
        st, _, body = https_get(url)
        check("presign.expired", st == 403 and b"Request has expired" in body,
              "%d %r" % (st, body[:200]))
    finally:
        FAKE.clock(0)
    sts = client(session(*GATE), "sts")
    u = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60,
                                   HttpMethod="GET")
    st, _, body = https_get(u)
    check("presign.sts", st == 200 and b"user/gate" in body,
          "%d %r" % (st, body[:300]))


def _raw_tls(host, raw):
    ctx = ssl.create_default_context(cafile=FAKE.ca)
    with socket.create_connection(("127.0.0.1", FAKE.https), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname=host) as t:
            t.sendall(raw)
            data = b""
            while True:
                chunk = t.recv(65536)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    head, _, rest = data.partition(b"\r\n\r\n")
                    n = 0
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            n = int(line.split(b":")[1])
                    if len(rest) >= n:
                        break
    status = int(data.split(b" ", 2)[1])
    return status, data


def test_chunked():
    s3 = client(session(*GATE), "s3")
    s3.create_bucket(Bucket="chunky")
    host = "chunky.s3.amazonaws.com"
    data = bytes(range(256)) * 300
    amz = datetime.datetime.utcnow().strftime(sigv4_chunked.TIME_FMT)
    for mode in ("signed", "signed-trailer"):
        _clock(_frozen)
        try:
            raw, info = sigv4_chunked.build_request(
                mode, data, [65536, len(data) - 65536], GATE[0], GATE[1],
                amz, host=host, path="/c-%s.bin" % mode)
            badraw, _ = sigv4_chunked.build_request(
                mode, data, [65536, len(data) - 65536], GATE[0], GATE[1],
                amz, host=host, path="/bad-%s.bin" % mode)
        finally:
            _clock(_real)
        st, resp = _raw_tls(host, raw)
        check("chunked.%s.accepted" % mode, st == 200, resp[:300])
        got = s3.get_object(Bucket="chunky", Key="c-%s.bin" % mode)
        eq("chunked.%s.stored" % mode, got["Body"].read(), data)
        # Flip one byte of the second chunk's data: its signature fails.
        first = badraw.index(b";chunk-signature=")
        i = badraw.index(b";chunk-signature=", first + 1) + 100
        badraw = badraw[:i] + bytes([badraw[i] ^ 1]) + badraw[i + 1:]
        st, resp = _raw_tls(host, badraw)
        check("chunked.%s.tampered" % mode,
              st == 403 and b"SignatureDoesNotMatch" in resp, resp[:300])
    rec = records.last(FAKE.records, path="/bad-signed.bin")
    eq("chunked.record-verdict", rec and rec["signature"], "chunk-mismatch")
    # Unsigned trailer with a CRC32 that is not the data's.
    _clock(_frozen)
    try:
        raw, _ = sigv4_chunked.build_request(
            "unsigned-trailer", data, [len(data)], GATE[0], GATE[1], amz,
            host=host, path="/u-bad.bin",
            trailers=[("x-amz-checksum-crc32", "AAAAAA==")])
        good, _ = sigv4_chunked.build_request(
            "unsigned-trailer", data, [len(data)], GATE[0], GATE[1], amz,
            host=host, path="/u-good.bin")
    finally:
        _clock(_real)
    st, resp = _raw_tls(host, raw)
    check("chunked.unsigned-trailer.bad-crc32",
          st == 400 and b"BadDigest" in resp, resp[:300])
    st, resp = _raw_tls(host, good)
    check("chunked.unsigned-trailer.good", st == 200, resp[:300])


def test_s3():
    s3 = client(session(*GATE), "s3")
    s3.create_bucket(Bucket="bkt-one")
    body = b"hello, fake s3\n" * 10
    r = s3.put_object(Bucket="bkt-one", Key="dir/a.txt", Body=body,
                      ContentType="text/plain", Metadata={"who": "test"})
    eq("s3.put.etag", r["ETag"], '"%s"' % hashlib.md5(body).hexdigest())
    g = s3.get_object(Bucket="bkt-one", Key="dir/a.txt")
    eq("s3.get.body", g["Body"].read(), body)
    eq("s3.get.meta", g["Metadata"], {"who": "test"})
    g = s3.get_object(Bucket="bkt-one", Key="dir/a.txt", Range="bytes=7-10")
    eq("s3.get.range", (g["ResponseMetadata"]["HTTPStatusCode"],
                        g["Body"].read(), g["ContentRange"]),
       (206, body[7:11], "bytes 7-10/%d" % len(body)))
    e = error_of(s3.get_object, Bucket="bkt-one", Key="dir/a.txt",
                 Range="bytes=5000-")
    check("s3.get.range-416", e and e[:2] == ("InvalidRange", 416), repr(e))
    h = s3.head_object(Bucket="bkt-one", Key="dir/a.txt")
    eq("s3.head", (h["ContentLength"], h["ContentType"]),
       (len(body), "text/plain"))
    e = error_of(s3.head_object, Bucket="bkt-one", Key="nope")
    check("s3.head-404", e and e[1] == 404, repr(e))
    e = error_of(s3.get_object, Bucket="bkt-one", Key="nope")
    check("s3.get-nosuchkey", e and e[:2] == ("NoSuchKey", 404), repr(e))
    e = error_of(s3.get_object, Bucket="no-such-bkt", Key="a")
    check("s3.get-nosuchbucket", e and e[:2] == ("NoSuchBucket", 404),
          repr(e))
    for k in ("dir/b.txt", "dir/sub/c.txt", "top.txt"):
        s3.put_object(Bucket="bkt-one", Key=k, Body=k.encode())
    ls = s3.list_objects_v2(Bucket="bkt-one", Prefix="dir/", Delimiter="/")
    eq("s3.list.keys", [o["Key"] for o in ls["Contents"]],
       ["dir/a.txt", "dir/b.txt"])
    eq("s3.list.prefixes", [p["Prefix"] for p in ls["CommonPrefixes"]],
       ["dir/sub/"])
    pages = [p["KeyCount"] for p in s3.get_paginator("list_objects_v2")
             .paginate(Bucket="bkt-one", PaginationConfig={"PageSize": 2})]
    eq("s3.list.paginated", pages, [2, 2])
    e = error_of(s3.put_object, Bucket="bkt-one", Key="md5.txt", Body=b"abc",
                 ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")
    check("s3.content-md5-bad", e and e[:2] == ("BadDigest", 400), repr(e))
    s3.delete_object(Bucket="bkt-one", Key="top.txt")
    e = error_of(s3.head_object, Bucket="bkt-one", Key="top.txt")
    check("s3.delete", e and e[1] == 404, repr(e))

    # Flexible checksum: boto3 sends STREAMING-UNSIGNED-PAYLOAD-TRAILER.
    data = os.urandom(200000)
    s3.put_object(Bucket="bkt-one", Key="crc.bin", Body=data,
                  ChecksumAlgorithm="CRC32")
    rec = records.last(FAKE.records, path="/crc.bin", action="PutObject")
    eq("s3.crc32.unsigned-trailer",
       rec and records.header(rec, "x-amz-content-sha256"),
       "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    eq("s3.crc32.stored", s3.get_object(Bucket="bkt-one",
                                        Key="crc.bin")["Body"].read(), data)
    # A wrong CRC32 in a header (the wrong trailer is in test_chunked).
    e = error_of(s3.put_object, Bucket="bkt-one", Key="crc-bad.bin",
                 Body=b"abc", ChecksumCRC32="AAAAAA==")
    check("s3.crc32.bad", e and e[:2] == ("BadDigest", 400), repr(e))

    # Multipart: 3 parts (5 MiB, 5 MiB, 1 MiB), ETag md5-of-md5s "-3".
    big = os.urandom(11 * 1024 * 1024)
    cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024,
                         multipart_chunksize=5 * 1024 * 1024, max_concurrency=2)
    import io
    s3.upload_fileobj(io.BytesIO(big), "bkt-one", "big.bin", Config=cfg)
    parts = [big[i:i + 5 * 1024 * 1024] for i in
             range(0, len(big), 5 * 1024 * 1024)]
    want = '"%s-%d"' % (hashlib.md5(b"".join(hashlib.md5(p).digest()
                                            for p in parts)).hexdigest(),
                        len(parts))
    h = s3.head_object(Bucket="bkt-one", Key="big.bin")
    eq("s3.multipart.etag", h["ETag"], want)
    g = s3.get_object(Bucket="bkt-one", Key="big.bin")
    check("s3.multipart.body", g["Body"].read() == big, "body differs")
    n = len(records.select(records.read(FAKE.records), action="UploadPart",
                           status=200))
    check("s3.multipart.parts-recorded", n >= 3, "%d" % n)
    # Explicit multipart with CRC32 trailers per part, then abort.
    up = s3.create_multipart_upload(Bucket="bkt-one", Key="aborted.bin",
                                    ChecksumAlgorithm="CRC32")
    s3.upload_part(Bucket="bkt-one", Key="aborted.bin", PartNumber=1,
                   UploadId=up["UploadId"], Body=b"x" * 1000,
                   ChecksumAlgorithm="CRC32")
    e = error_of(s3.complete_multipart_upload, Bucket="bkt-one",
                 Key="aborted.bin", UploadId=up["UploadId"],
                 MultipartUpload={"Parts": [{"PartNumber": 1,
                                             "ETag": '"00"'}]})
    check("s3.multipart.invalid-part", e and e[:2] == ("InvalidPart", 400),
          repr(e))
    s3.abort_multipart_upload(Bucket="bkt-one", Key="aborted.bin",
                              UploadId=up["UploadId"])
    e = error_of(s3.upload_part, Bucket="bkt-one", Key="aborted.bin",
                 PartNumber=2, UploadId=up["UploadId"], Body=b"y")
    check("s3.multipart.aborted", e and e[:2] == ("NoSuchUpload", 404),
          repr(e))
    # Path-style addressing reaches the same bucket.
    ps = session(*GATE).client("s3", verify=FAKE.ca, config=config(
        s3={"addressing_style": "path"}))
    eq("s3.path-style", ps.get_object(Bucket="bkt-one",
                                      Key="dir/b.txt")["Body"].read(),
       b"dir/b.txt")
    rec = records.last(FAKE.records, path="/bkt-one/dir/b.txt")
    eq("s3.path-style.host", rec and rec["host"], "s3.amazonaws.com")


def test_dynamodb_lambda(role_creds):
    ddb = client(creds_session(role_creds), "dynamodb")
    check("ddb.list", "fake-table" in ddb.list_tables()["TableNames"])
    ddb.put_item(TableName="fake-table", Item={"pk": {"S": "k1"},
                                               "n": {"N": "42"}})
    eq("ddb.get", ddb.get_item(TableName="fake-table",
                               Key={"pk": {"S": "k1"}}).get("Item"),
       {"pk": {"S": "k1"}, "n": {"N": "42"}})
    eq("ddb.get-missing", ddb.get_item(TableName="fake-table",
                                       Key={"pk": {"S": "zz"}}).get("Item"),
       None)
    e = error_of(ddb.get_item, TableName="nope-table", Key={"pk": {"S": "a"}})
    check("ddb.no-table", e and e[:2] == ("ResourceNotFoundException", 400),
          repr(e))
    lam = client(creds_session(role_creds), "lambda")
    r = lam.invoke(FunctionName="echo", Payload=json.dumps({"x": 1}))
    out = json.loads(r["Payload"].read())
    eq("lambda.invoke", (out["function"], out["payload"], out["caller"]),
       ("echo", {"x": 1},
        "arn:aws:sts::222222222222:assumed-role/app-admin/alice"))
    eq("lambda.list", [f["FunctionName"] for f in
                       lam.list_functions()["Functions"]], ["echo"])
    e = error_of(lam.get_function, FunctionName="nope")
    check("lambda.not-found", e and e[:2] == ("ResourceNotFoundException",
                                               404), repr(e))
    bad = client(session(role_creds["AccessKeyId"], "x" * 40,
                         role_creds["SessionToken"]), "lambda")
    e = error_of(bad.list_functions)
    check("lambda.bad-signature", e and e[:2] == ("InvalidSignatureException",
                                                   403), repr(e))
    badd = client(session(role_creds["AccessKeyId"], "x" * 40,
                          role_creds["SessionToken"]), "dynamodb")
    e = error_of(badd.list_tables)
    check("ddb.bad-signature", e and e[0] == "InvalidSignatureException",
          repr(e))


def signin_get(params, host="signin.aws.amazon.com", path="/federation"):
    return https_get("https://%s%s?%s" % (host, path, urlencode(params)))


def session_json(c):
    return json.dumps({"sessionId": c["AccessKeyId"],
                       "sessionKey": c["SecretAccessKey"],
                       "sessionToken": c["SessionToken"]})


def test_signin(role_creds, chained_creds, fed_creds):
    st, _, body = signin_get({"Action": "getSigninToken",
                              "SessionDuration": "3600",
                              "Session": session_json(role_creds)})
    check("signin.token", st == 200 and b"SigninToken" in body,
          "%d %r" % (st, body[:200]))
    token = json.loads(body)["SigninToken"] if st == 200 else ""
    dest = "https://console.aws.amazon.com/ec2/home?region=eu-west-1"
    login = {"Action": "login", "Issuer": "https://gate.example.test",
             "Destination": dest, "SigninToken": token}
    st, _, page = signin_get(login)
    page = page.decode("utf-8", "replace")
    check("signin.login.role", st == 200 and
          'id="role-arn">arn:aws:iam::222222222222:role/app-admin<' in page,
          page[:400])
    check("signin.login.session", 'id="session-name">alice<' in page,
          page[:400])
    check("signin.login.destination", "eu-west-1" in page, page[:400])
    st, _, page = signin_get(login)
    check("signin.login.single-use", st == 400 and b"already used" in page,
          "%d %r" % (st, page[:200]))
    st, _, body = signin_get({"Action": "getSigninToken",
                              "SessionDuration": "3600",
                              "Session": session_json(chained_creds)})
    check("signin.refuse.chained-duration", st == 400 and
          b"role chaining" in body, "%d %r" % (st, body[:200]))
    st, _, body = signin_get({"Action": "getSigninToken",
                              "Session": session_json(chained_creds)})
    check("signin.chained-no-duration", st == 200, "%d %r" % (st, body[:200]))
    st, _, body = signin_get({"Action": "getSigninToken",
                              "SessionDuration": "899",
                              "Session": session_json(role_creds)})
    check("signin.refuse.duration-range", st == 400, "%d" % st)
    bad = dict(role_creds, SecretAccessKey="x" * 40)
    st, _, body = signin_get({"Action": "getSigninToken",
                              "Session": session_json(bad)})
    check("signin.refuse.bad-key", st == 400, "%d" % st)
    longterm = {"AccessKeyId": GATE[0], "SecretAccessKey": GATE[1],
                "SessionToken": ""}
    st, _, body = signin_get({"Action": "getSigninToken",
                              "Session": session_json(longterm)})
    check("signin.refuse.long-term", st == 400, "%d" % st)
    st, _, body = signin_get({"Action": "getSigninToken",
                              "Session": session_json(fed_creds)},
                             host="us-west-2.signin.aws.amazon.com")
    check("signin.regional.federated", st == 200, "%d %r" % (st, body[:200]))
    FAKE.clock(4000)
    try:
        st, _, body = signin_get({"Action": "getSigninToken",
                                  "Session": session_json(chained_creds)})
        check("signin.refuse.expired", st == 400 and b"expired" in body,
              "%d %r" % (st, body[:200]))
    finally:
        FAKE.clock(0)
    st, hdrs, page = signin_get({"Action": "logout", "redirect_uri": dest},
                                path="/oauth")
    check("signin.logout.redirect", st == 302 and hdrs.get("Location") == dest,
          "%d %r" % (st, hdrs))
    st, _, _ = signin_get({"Action": "logout",
                           "redirect_uri": "https://evil.example/"},
                          path="/oauth")
    check("signin.logout.refuse-foreign", st == 400, "%d" % st)
    rec = records.last(FAKE.records, service="signin", action="login",
                       status=200)
    eq("signin.record", rec and (rec["signin"]["role_arn"],
                                 rec["signin"]["session_name"]),
       (APP_ROLE, "alice"))
    check("signin.record.redacted", rec and all(
        v == "REDACTED" for k, v in rec["query"] if k == "SigninToken"),
        repr(rec and rec["query"]))


def test_imds_ecs():
    imds = "http://127.0.0.1:%d" % FAKE.info["imds"]
    st, _ = http_call(imds + "/latest/meta-data/iam/security-credentials/")
    eq("imds.no-token-401", st, 401)
    st, _ = http_call(imds + "/latest/api/token", method="PUT")
    eq("imds.token-needs-ttl", st, 400)
    st, tok = http_call(imds + "/latest/api/token", method="PUT", headers={
        "X-aws-ec2-metadata-token-ttl-seconds": "60"})
    eq("imds.token", st, 200)
    h = {"X-aws-ec2-metadata-token": tok.decode()}
    st, name = http_call(imds + "/latest/meta-data/iam/security-credentials/",
                         headers=h)
    eq("imds.role-name", (st, name), (200, b"gate-instance"))
    st, body = http_call(imds + "/latest/meta-data/iam/security-credentials/"
                         "gate-instance", headers=h)
    c = json.loads(body)
    eq("imds.creds", (st, c["Code"], c["Type"]), (200, "Success", "AWS-HMAC"))
    st, _ = http_call(imds + "/latest/meta-data/iam/security-credentials/"
                      "gate-instance", headers={
                          "X-aws-ec2-metadata-token": "bogus"})
    eq("imds.bad-token-401", st, 401)
    FAKE.clock(61)
    try:
        st, _ = http_call(imds + "/latest/meta-data/iam/security-credentials/",
                          headers=h)
        eq("imds.token-expired-401", st, 401)
    finally:
        FAKE.clock(0)
    who = client(session(c["AccessKeyId"], c["SecretAccessKey"], c["Token"]),
                 "sts").get_caller_identity()["Arn"]
    check("imds.creds-work", "assumed-role/gate-instance/" in who, who)

    ecs = "http://127.0.0.1:%d/v2/credentials/fake-task-1" % FAKE.info["ecs"]
    st, _ = http_call(ecs)
    eq("ecs.no-auth-401", st, 401)
    st, _ = http_call(ecs, headers={"Authorization": "wrong"})
    eq("ecs.bad-auth-403", st, 403)
    st, body = http_call(ecs, headers={"Authorization": "fake-ecs-auth-token"})
    c = json.loads(body) if st == 200 else {}
    eq("ecs.creds", (st, c.get("RoleArn")),
       (200, "arn:aws:iam::111111111111:role/gate-task"))
    st, _ = http_call(ecs + "-other", headers={
        "Authorization": "fake-ecs-auth-token"})
    eq("ecs.wrong-path-404", st, 404)


def test_faults():
    gate = session(*GATE)
    sts = client(gate, "sts")
    FAKE.fault(host="sts.*", action="GetCallerIdentity", kind="throttle")
    e = error_of(sts.get_caller_identity)
    check("fault.throttle.query", e and e[:2] == ("Throttling", 400), repr(e))
    check("fault.count-used-up", "Arn" in sts.get_caller_identity())
    ddb = client(gate, "dynamodb")
    FAKE.fault(host="dynamodb.*", kind="throttle")
    e = error_of(ddb.list_tables)
    check("fault.throttle.json", e and e[:2] == ("ThrottlingException", 400),
          repr(e))
    s3 = client(gate, "s3")
    FAKE.fault(action="ListBuckets", kind="throttle")
    e = error_of(s3.list_buckets)
    check("fault.throttle.s3", e and e[:2] == ("SlowDown", 503), repr(e))
    FAKE.fault(action="ListTables", kind="error", count=2)
    e = error_of(ddb.list_tables)
    check("fault.500.json", e and e[1] == 500, repr(e))
    e = error_of(ddb.list_tables)
    check("fault.500.count-2", e and e[1] == 500, repr(e))
    check("fault.500.over", "TableNames" in ddb.list_tables())
    # botocore retries a 500 on its own: the fault is used up on a retry.
    retrying = gate.client("dynamodb", verify=FAKE.ca, config=config(
        retries={"total_max_attempts": 3, "mode": "standard"}))
    FAKE.fault(action="ListTables", kind="error")
    r = retrying.list_tables()
    eq("fault.500.retried", r["ResponseMetadata"]["RetryAttempts"], 1)

    FAKE.fault(action="GetCallerIdentity", kind="slow", delay=1.5)
    quick = client(gate, "sts", read_timeout=0.5)
    try:
        quick.get_caller_identity()
        check("fault.slow.timeout", False, "no timeout")
    except botocore.exceptions.ReadTimeoutError:
        check("fault.slow.timeout", True)
    t = time.time()
    FAKE.fault(action="GetCallerIdentity", kind="slow-body", delay=1.0)
    ok = sts.get_caller_identity()
    took = time.time() - t
    check("fault.slow-body", "Arn" in ok and took >= 0.9, "%.2fs" % took)
    FAKE.fault(action="GetCallerIdentity", kind="drop")
    try:
        sts.get_caller_identity()
        check("fault.drop", False, "answered")
    except (botocore.exceptions.ConnectionClosedError,
            botocore.exceptions.EndpointConnectionError) as exc:
        check("fault.drop", True, repr(exc))
    eq("fault.drained", FAKE.admin_call("GET", "/faults")["faults"], [])
    kinds = {r["fault"] for r in records.read(FAKE.records) if r["fault"]}
    eq("fault.recorded", kinds, {"throttle", "error", "slow", "slow-body",
                                 "drop"})


def _raw_head(host, head):
    """Send a request head (no body) and return (status, answer)."""
    return _raw_tls(host, head.encode("latin-1"))


def test_limits():
    sts_host = "sts.us-east-1.amazonaws.com"
    st, resp = _raw_head(sts_host, "POST / HTTP/1.1\r\nHost: %s\r\n"
                         "Content-Length: %d\r\nConnection: close\r\n\r\n"
                         % (sts_host, 64 * 1024 * 1024 + 1))
    eq("limit.body-413", st, 413)
    body = "Action=GetCallerIdentity&Version=2011-06-15"
    st, resp = _raw_head(sts_host, "POST / HTTP/1.1\r\nHost: %s\r\n"
                         "Content-Type: application/x-www-form-urlencoded\r\n"
                         "Authorization: AWS4-HMAC-SHA256 Credential=x\r\n"
                         "Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                         % (sts_host, len(body), body))
    check("limit.malformed-auth", st == 400 and b"IncompleteSignature" in resp,
          resp[:300])
    st, resp = _raw_head(sts_host, "POST / HTTP/1.1\r\nHost: %s\r\n"
                         "Content-Type: application/x-www-form-urlencoded\r\n"
                         "Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                         % (sts_host, len(body), body))
    check("limit.unsigned-sts", st == 403 and
          b"MissingAuthenticationToken" in resp, resp[:300])
    st, resp = _raw_head("bkt-one.s3.amazonaws.com",
                         "GET /dir/a.txt HTTP/1.1\r\nHost: bkt-one.s3."
                         "amazonaws.com\r\nConnection: close\r\n\r\n")
    check("limit.unsigned-s3", st == 403 and b"<Code>AccessDenied" in resp,
          resp[:300])
    e = error_of(client(session(*GATE), "sts")._make_api_call,
                 "GetCallerIdentity", {})
    check("limit.sts-ok-baseline", e is None, repr(e))
    s3 = client(session(*GATE), "s3", signature_version="s3v4")
    url = s3.generate_presigned_url("get_object", Params={
        "Bucket": "bkt-one", "Key": "dir/a.txt"}, ExpiresIn=604801)
    st, _, body = https_get(url)
    check("limit.presign-over-7-days", st == 400 and
          b"AuthorizationHeaderMalformed" in body, "%d %r" % (st, body[:200]))
    imds = "http://127.0.0.1:%d/latest/api/token" % FAKE.info["imds"]
    st, _ = http_call(imds, method="PUT", headers={
        "X-aws-ec2-metadata-token-ttl-seconds": "21601"})
    eq("limit.imds-ttl", st, 400)
    st, _ = http_call(imds, method="PUT", headers={
        "X-aws-ec2-metadata-token-ttl-seconds": "60",
        "X-Forwarded-For": "10.0.0.1"})
    eq("limit.imds-forwarded", st, 403)
    for rule, why in (({"kind": "explode"}, "kind"),
                      ({"kind": "drop", "count": 0}, "count"),
                      ({"kind": "slow", "delay": 301}, "delay"),
                      ({"kind": "error", "status": 404}, "status"),
                      ({"kind": "drop", "hots": "x"}, "unknown")):
        req = urllib.request.Request(FAKE.admin + "/faults", method="POST",
                                     data=json.dumps(rule).encode())
        try:
            urllib.request.urlopen(req, timeout=5)
            check("limit.admin-%s" % why, False, "accepted %r" % rule)
        except urllib.error.HTTPError as exc:
            msg = exc.read()
            check("limit.admin-%s" % why, exc.code == 400 and
                  why.encode() in msg, "%d %r" % (exc.code, msg))
    e = error_of(client(session(*GATE), "sts")._make_api_call,
                 "DecodeAuthorizationMessage", {"EncodedMessage": "x"})
    check("limit.sts-unknown-action", e and e[0] == "InvalidAction", repr(e))


def test_concurrency():
    """Threads on one botocore client (its pool keeps connections alive)."""
    from concurrent.futures import ThreadPoolExecutor
    sts = client(session(*GATE), "sts")
    before = len(records.read(FAKE.records))
    with ThreadPoolExecutor(8) as pool:
        arns = list(pool.map(lambda _: sts.get_caller_identity()["Arn"],
                             range(40)))
    eq("concurrent.answers", set(arns), {"arn:aws:iam::111111111111:user/gate"})
    recs = records.read(FAKE.records)[before:]
    peers = [r["peer"] for r in recs if r["action"] == "GetCallerIdentity"]
    eq("concurrent.recorded", len(peers), 40)
    check("concurrent.keep-alive", len(set(peers)) < len(peers),
          "%d connections for %d requests" % (len(set(peers)), len(peers)))


def test_records():
    recs = records.read(FAKE.records)
    check("records.written", len(recs) > 50, "%d" % len(recs))
    with open(FAKE.records, encoding="utf-8") as f:
        text = f.read()
    check("records.no-secret", GATE[1] not in text and "fakeGateSecret"
          not in text, "a secret key is in the records")
    check("records.no-token", "FwoGZXIvYXdzEFAKE" not in text,
          "a session token is in the records")
    need = {"time", "host", "method", "path", "query", "headers", "signature",
            "access_key_id", "identity", "action", "status",
            "request_body_size"}
    missing = [r for r in recs if not need <= set(r)]
    check("records.fields", not missing, repr(missing[:1]))
    r = records.last(FAKE.records, action="AssumeRole", status=200)
    check("records.minted", r and r["minted"]["arn"].startswith(
        "arn:aws:sts::"), repr(r and r.get("minted")))
    r = records.last(FAKE.records, action="GetCallerIdentity",
                     **{"identity.type": "assumed-role"})
    check("records.identity", r is not None and r["signature"] == "valid",
          repr(r))


def main(argv):
    global FAKE
    if len(argv) != 1:
        print("usage: fakeaws_test.py PORTS_FILE", file=sys.stderr)
        return 2
    FAKE = Fake(argv[0])
    socket.getaddrinfo = _fake_getaddrinfo
    t = time.time()
    role, chained, fed = test_sts()
    test_signatures(role)
    test_presigned()
    test_chunked()
    test_s3()
    test_dynamodb_lambda(role)
    test_signin(role, chained, fed)
    test_imds_ecs()
    test_faults()
    test_limits()
    test_concurrency()
    test_records()
    print("fakeaws_test: %d failed (%.1fs)" % (len(FAILED), time.time() - t))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
