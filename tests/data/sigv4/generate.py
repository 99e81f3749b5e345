#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Writes awsgate's own SigV4 vectors (tests/data/sigv4/<case>/) in the AWS
# suite's per-directory format.  Every expected value is computed by botocore
# (Debian python3-botocore, run with /usr/bin/python3) through the oracle in
# tests/integration/sigv4_botocore.py -- never by awsgate's signer.
# Deterministic: running it again rewrites the same bytes.
#
#   /usr/bin/python3 tests/data/sigv4/generate.py
#
# See README.md next to this file.

import base64
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
import sigv4_botocore as oracle  # noqa: E402

quote = oracle.quote
pct = oracle.botocore.utils.percent_encode
pct_seq = oracle.botocore.utils.percent_encode_sequence

AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
T0 = "20150830T123600Z"
SHORT_TOKEN = ("AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwd"
               "QWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMc"
               "GdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75Y"
               "U9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz"
               "+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==")
# ~800 characters containing '/', '+' and '=', deterministic
LONG_TOKEN = ("FwoGZXIvYXdzE" + "".join(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+"[
        (i * 37 + 11) % 64] for i in range(780)) + "==")


def case(name, service, method, path, query=None, headers=(), body=b"",
         netloc="example.amazonaws.com", region="us-east-1", token=None,
         time=T0, expires=3600, normalize=True, streaming=False,
         signer_params=None, presign=True, eol="\n", folds=None,
         note=""):
    return {
        "name": name, "service": service, "region": region,
        "method": method, "netloc": netloc, "path": path, "query": query,
        "headers": list(headers), "body": body, "access_key": AK,
        "secret_key": SK, "token": token, "time": time, "expires": expires,
        "normalize": normalize, "streaming": streaming,
        "signer_params": signer_params, "want_presign": presign,
        "eol": eol, "folds": folds or {}, "note": note,
    }


UPLOAD = b"\x00\x01binary\r\n\r\ndata\xff\xfe"


def content_md5(body):
    """Request input (the Content-MD5 header), not an expected value."""
    return base64.b64encode(hashlib.md5(body).digest()).decode("ascii")


S3_HOST = "s3.us-east-1.amazonaws.com"
VHOST = "examplebucket.s3.us-east-1.amazonaws.com"

CASES = [
    # ---- S3 family: path used as sent ----------------------------------
    case("s3-get-key-with-space-and-plus", "s3", "GET",
         "/examplebucket/" + quote("photos/my photo+1 (copy).jpg", safe="/~"),
         netloc=S3_HOST),
    case("s3-get-key-percent-2f-kept", "s3", "GET",
         "/" + quote("reports/2024/q1.csv", safe="~"), netloc=VHOST,
         note="key slashes sent as %2F stay %2F in the canonical URI"),
    case("s3-path-dot-segments-not-normalized", "s3", "GET",
         "/examplebucket/a/./b/../c//d/", netloc=S3_HOST),
    case("s3-key-utf8-and-reserved-characters", "s3", "GET",
         "/" + quote("r\u00e9sum\u00e9/\u1234 $:@=&;,!*'()[]~.txt",
                     safe="/~"), netloc=VHOST),
    case("s3-put-unsigned-payload-content-md5", "s3", "PUT",
         "/examplebucket/upload.bin",
         headers=[("Content-Type", "application/octet-stream"),
                  ("Content-MD5", content_md5(UPLOAD)),
                  ("Content-Length", str(len(UPLOAD)))],
         body=UPLOAD, netloc=S3_HOST,
         streaming=True,
         note="https + Content-MD5 + streaming upload: UNSIGNED-PAYLOAD"),
    case("s3-put-signed-payload-binary-body", "s3", "PUT",
         "/examplebucket/blob",
         headers=[("Content-Type", "application/octet-stream")],
         body=bytes(range(256)), netloc=S3_HOST),
    case("s3-list-objects-v2-query", "s3", "GET", "/examplebucket",
         query=pct_seq([("list-type", "2"), ("prefix", "photos/2006/"),
                        ("delimiter", "/"), ("max-keys", "3"),
                        ("start-after", "a b+c")]),
         netloc=S3_HOST),
    case("s3-get-acl-subresource-bare-name", "s3", "GET",
         "/examplebucket/key", query="acl", netloc=S3_HOST,
         note="?acl without '=' signs as acl="),
    case("s3-object-lambda-get-double-slash-key", "s3-object-lambda", "GET",
         "/a//b/", netloc="ap-123456789012.s3-object-lambda.us-west-2."
         "amazonaws.com", region="us-west-2"),
    case("s3express-put-with-session-token", "s3express", "PUT",
         "/" + quote("dir/obj ect.txt", safe="/~"),
         headers=[("Content-Type", "text/plain")], body=b"hello world\n",
         netloc="bucket--use1-az4--x-s3.s3express-use1-az4.us-east-1."
         "amazonaws.com", token=SHORT_TOKEN),
    case("presign-s3-get-long-session-token", "s3", "GET",
         "/examplebucket/" + quote("test file.txt", safe="/~"),
         query=pct_seq([("response-content-disposition",
                         'attachment; filename="test file.txt"')]),
         netloc=S3_HOST, token=LONG_TOKEN, expires=604800,
         time="20240229T235959Z"),
    case("s3-outposts-host-with-port", "s3-outposts", "HEAD",
         "/" + quote("k", safe="/~"),
         netloc="localhost.localstack.cloud:4566", region="eu-west-1"),

    # ---- non-S3: normalised, double-encoded path -----------------------
    case("lambda-arn-path-double-encoded", "lambda", "POST",
         "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A"
         "123456789012%3Afunction%3Amy-fn/invocations",
         headers=[("Content-Type", "application/json"),
                  ("X-Amz-Invocation-Type", "RequestResponse")],
         body=b'{"key":"value"}',
         netloc="lambda.us-east-1.amazonaws.com"),
    case("lambda-get-function-arn-path-presignable", "lambda", "GET",
         "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A"
         "123456789012%3Afunction%3Amy-fn",
         query=pct_seq([("Qualifier", "$LATEST")]),
         netloc="lambda.us-east-1.amazonaws.com"),
    case("path-encoded-slash-double-encoded", "execute-api", "GET",
         "/prod/items/a%2Fb/c%20d", netloc="abc123.execute-api.eu-west-1."
         "amazonaws.com", region="eu-west-1"),
    case("path-repeated-slashes-normalized", "service", "GET",
         "//a//b///c/"),
    case("path-dot-dot-above-root", "service", "GET", "/../../a/./b/.."),
    case("path-dot-segments-unnormalized", "service", "GET",
         "/a/./b/../c//d", normalize=False),
    case("path-raw-reserved-characters-encoded", "execute-api", "GET",
         "/prod/a:b@c$d=e;f,g!h*i'j(k)l&m+n",
         netloc="abc123.execute-api.us-east-1.amazonaws.com"),
    case("empty-path-becomes-slash", "iam", "GET", "",
         query=pct_seq([("Action", "ListUsers"), ("Version", "2010-05-08")]),
         netloc="iam.amazonaws.com",
         note="request target has no path at all"),

    # ---- query ---------------------------------------------------------
    case("query-repeated-names-and-empty-values", "service", "GET", "/",
         query="a&a=&=b&a=2&b=1&a=1&c", presign=False,
         note="botocore's presigner keeps one value per name: header only"),
    case("query-utf8-and-reserved-characters", "service", "GET", "/",
         query=pct_seq([("\u1234", "caf\u00e9"),
                        ("k $:@=&;,/?+~", "v $:@=&;,/?+~%"),
                        ("plus+", "a+b"), ("sp ace", "x  y"),
                        ("%2F", "%2F"), ("emoji", "\U0001f600")])),
    case("query-lowercase-hex-and-encoded-unreserved", "service", "GET",
         "/", query="%7euser=%41b%2dc&s%3a=a%3ab&x=%e2%82%ac&raw=$:@,;/?",
         signer_params=[("~user", "Ab-c"), ("s:", "a:b"),
                        ("x", "\u20ac"), ("raw", "$:@,;/?")],
         note="decode, then RFC 3986 encode"),

    # ---- headers -------------------------------------------------------
    case("header-repeated-and-multispace-values", "service", "GET", "/",
         headers=[("My-Header1", "  value2  "),
                  ("my-header1", "a   b \t c"),
                  ("MY-HEADER1", ""),
                  ("X-Quoted", '"a   b   c"'),
                  ("X-Only-Spaces", "     ")]),
    case("header-utf8-value", "service", "GET", "/",
         headers=[("X-Amz-Meta-Name", " Zo\u00eb  \u1234 \U0001f600 ")]),
    case("header-skipped-user-agent-expect-trace-id", "service", "PUT",
         "/", headers=[("User-Agent", "aws-cli/2.15.0 md/x"),
                       ("Expect", "100-continue"),
                       ("X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3f"),
                       ("X-Keep", "kept")],
         body=b"x", note="botocore never signs these three"),
    case("request-crlf-line-endings-and-folded-header", "service", "GET",
         "/", headers=[("X-Folded", "first   second\tthird"),
                       ("X-Plain", "v")],
         eol="\r\n", folds={0: 5}),
    case("host-with-port", "service", "GET", "/p",
         netloc="example.amazonaws.com:8443"),

    # ---- whole requests ------------------------------------------------
    case("sts-get-caller-identity-form-post", "sts", "POST", "/",
         headers=[("Content-Type",
                   "application/x-www-form-urlencoded; charset=utf-8")],
         body=b"Action=GetCallerIdentity&Version=2011-06-15",
         netloc="sts.amazonaws.com"),
    case("sts-presign-get-caller-identity-signed-header", "sts", "GET", "/",
         query=pct_seq([("Action", "GetCallerIdentity"),
                        ("Version", "2011-06-15")]),
         headers=[("x-k8s-aws-id", "my-cluster")],
         netloc="sts.us-west-2.amazonaws.com", region="us-west-2",
         token=SHORT_TOKEN, expires=60),
    case("dynamodb-json-post-with-session-token", "dynamodb", "POST", "/",
         headers=[("X-Amz-Target", "DynamoDB_20120810.GetItem"),
                  ("Content-Type", "application/x-amz-json-1.0")],
         body=b'{"TableName":"t","Key":{"id":{"S":"\xc3\xa9 1"}}}',
         netloc="dynamodb.eu-central-1.amazonaws.com",
         region="eu-central-1", token=SHORT_TOKEN),
]


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def context(c, payload_hash):
    creds = {"access_key_id": c["access_key"],
             "secret_access_key": c["secret_key"]}
    if c["token"]:
        creds["token"] = c["token"]
    t = c["time"]
    ctx = {
        "credentials": creds,
        "expiration_in_seconds": c["expires"],
        "normalize": c["normalize"],
        "region": c["region"],
        "service": c["service"],
        "sign_body": oracle.is_s3(c["service"]),
        "timestamp": "%s-%s-%sT%s:%s:%sZ" % (t[0:4], t[4:6], t[6:8],
                                             t[9:11], t[11:13], t[13:15]),
    }
    if payload_hash:
        ctx["payload_hash"] = payload_hash
    return json.dumps(ctx, indent=4, sort_keys=True,
                      ensure_ascii=False).encode("utf-8")


def can_presign(c):
    if not c["want_presign"]:
        return False
    if c["body"] and not oracle.is_s3(c["service"]):
        return False        # botocore's presigner moves a body to the query
    if c["query"]:
        names = [p.partition("=")[0] for p in c["query"].split("&")]
        if len(names) != len(set(names)):
            return False    # botocore's presigner keeps one value per name
    for n, v in c["headers"]:
        if n.lower() == "content-type" and \
                v == "application/x-www-form-urlencoded; charset=utf-8":
            return False    # botocore's presigner drops this header
    return True


def main():
    names = set()
    for c in CASES:
        assert c["name"] not in names, c["name"]
        names.add(c["name"])
        d = os.path.join(HERE, c["name"])
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.startswith(("header-", "query-")):
                os.unlink(os.path.join(d, f))
        c["presign"] = False
        h = oracle.botocore_sign(c)
        write(os.path.join(d, "request.txt"), oracle.request_bytes(c))
        write(os.path.join(d, "context.json"), context(c, h["payload_hash"]))
        write(os.path.join(d, "header-canonical-request.txt"), h["canonical"])
        write(os.path.join(d, "header-string-to-sign.txt"),
              h["string-to-sign"])
        write(os.path.join(d, "header-signature.txt"), h["signature"])
        if can_presign(c):
            q = dict(c, presign=True)
            # S3 presigning signs UNSIGNED-PAYLOAD and never reads the body;
            # botocore's presigner would try to move a body into the query.
            q["body"] = b""
            qs = oracle.botocore_sign(q)
            write(os.path.join(d, "query-canonical-request.txt"),
                  qs["canonical"])
            write(os.path.join(d, "query-string-to-sign.txt"),
                  qs["string-to-sign"])
            write(os.path.join(d, "query-signature.txt"), qs["signature"])
        print("%-50s header%s" % (c["name"],
                                  " + query" if can_presign(c) else ""))
    # remove case directories this script no longer writes
    for entry in sorted(os.listdir(HERE)):
        p = os.path.join(HERE, entry)
        if os.path.isdir(p) and entry not in names and \
                os.path.exists(os.path.join(p, "request.txt")):
            for f in os.listdir(p):
                os.unlink(os.path.join(p, f))
            os.rmdir(p)
            print("removed stale %s" % entry)
    print("%d cases (botocore %s)" % (len(CASES), oracle.botocore.__version__))


if __name__ == "__main__":
    main()
