# SPDX-License-Identifier: Apache-2.0
# The fake AWS's SigV4 check: botocore recomputes the signature of every
# request (header and presigned forms) from the parts the client says it
# signed; aws-chunked bodies go through the chunk verifier of
# tests/integration/sigv4_chunked.py (written from AWS's specification,
# botocore 1.29 has none).  Nothing here comes from awsgate's own signer.

import base64
import binascii
import calendar
import hashlib
import hmac
import os
import re
import sys
import time
from urllib.parse import quote, unquote

import botocore.auth
import botocore.awsrequest
import botocore.credentials

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import sigv4_chunked  # noqa: E402  (the chunk verifier, reused, not copied)

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING = sigv4_chunked.MODE_OF_PAYLOAD     # literal -> mode name

# AWS accepts a request whose X-Amz-Date is within 15 minutes of its clock.
MAX_SKEW = 15 * 60
# A presigned URL lives at most 7 days (X-Amz-Expires 1..604800).
MAX_PRESIGN_EXPIRES = 604800

_AUTH = re.compile(r"AWS4-HMAC-SHA256\s+Credential=([^,\s]+)\s*,\s*"
                   r"SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-fA-F]+)\s*")
_DATE = re.compile(r"\d{8}T\d{6}Z")


class Verdict:
    """What the check found.  verdict is one of: valid, unsigned, malformed,
    unknown-key, bad-token, expired-token, skew, expired, mismatch,
    payload-mismatch, chunk-malformed, chunk-mismatch, checksum-mismatch."""

    def __init__(self, verdict, message="", access_key=None, caller=None,
                 service=None, region=None, presigned=False):
        self.verdict = verdict
        self.message = message
        self.access_key = access_key
        self.caller = caller
        self.service = service
        self.region = region
        self.presigned = presigned
        self.body = None        # the decoded body (aws-chunked bodies decoded)
        self.trailers = []
        self.amz_date = None

    @property
    def ok(self):
        return self.verdict == "valid"


class _Signer(botocore.auth.SigV4Auth):
    """botocore's SigV4 canonical request and signature, with the payload
    line and the signed header list given by the request being checked
    (botocore would leave out User-Agent and friends; a client may sign
    them)."""

    def __init__(self, creds, service, region, payload, s3):
        super().__init__(creds, service, region)
        self._payload = payload
        self._s3 = s3

    def headers_to_sign(self, request):
        out = botocore.awsrequest.HTTPHeaders()
        for name, value in request.headers.items():
            out[name.lower()] = value
        return out

    def payload(self, request):
        return self._payload

    def _normalize_url_path(self, path):
        if self._s3:           # S3 signs the path as sent
            return path
        return super()._normalize_url_path(path)


def _canonical_query(pairs):
    """The query re-encoded the SigV4 way (RFC 3986 unreserved kept), so a
    client that spelled an escape differently still verifies."""
    out = []
    for k, v in pairs:
        out.append("%s=%s" % (quote(k, safe="-_.~"), quote(v, safe="-_.~")))
    return "&".join(out)


def query_pairs(raw_query):
    pairs = []
    if raw_query:
        for part in raw_query.split("&"):
            if part == "":
                continue
            k, _, v = part.partition("=")
            pairs.append((unquote(k), unquote(v)))
    return pairs


def amz_to_epoch(amz_date):
    return calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))


def _header(headers, name):
    vals = [v for n, v in headers if n.lower() == name]
    return ",".join(vals) if vals else None


def verify(method, host, raw_path, raw_query, headers, body, lookup, now):
    """Check one request.  headers: list of (name, value) as received; body:
    bytes after HTTP framing; lookup(access_key) -> (secret, token or None,
    expires epoch or None, caller) or None; now: epoch seconds."""
    auth = _header(headers, "authorization")
    qpairs = query_pairs(raw_query)
    qdict = {}
    for k, v in qpairs:
        qdict.setdefault(k, v)
    presigned = "X-Amz-Algorithm" in qdict or "X-Amz-Signature" in qdict
    if auth is not None:
        m = _AUTH.fullmatch(auth.strip())
        if not m:
            return Verdict("malformed", "Authorization header is malformed "
                           "or uses an algorithm other than AWS4-HMAC-SHA256")
        cred, signed_names, signature = m.groups()
        amz_date = _header(headers, "x-amz-date")
        token = _header(headers, "x-amz-security-token")
        expires = None
    elif presigned:
        if qdict.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
            return Verdict("malformed", "X-Amz-Algorithm must be "
                           "AWS4-HMAC-SHA256", presigned=True)
        for p in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                  "X-Amz-SignedHeaders", "X-Amz-Signature"):
            if p not in qdict:
                return Verdict("malformed", "presigned URL lacks %s" % p,
                               presigned=True)
        cred = qdict["X-Amz-Credential"]
        signed_names = qdict["X-Amz-SignedHeaders"]
        signature = qdict["X-Amz-Signature"]
        amz_date = qdict["X-Amz-Date"]
        token = qdict.get("X-Amz-Security-Token")
        expires = qdict["X-Amz-Expires"]
    else:
        return Verdict("unsigned", "Request is missing Authentication Token")
    parts = cred.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        return Verdict("malformed", "Credential %r is not KEY/DATE/REGION/"
                       "SERVICE/aws4_request" % cred, presigned=presigned)
    access_key, sdate, region, service, _ = parts
    v = Verdict("malformed", "", access_key, None, service, region, presigned)
    if amz_date is None or not _DATE.fullmatch(amz_date):
        v.message = "X-Amz-Date is missing or not YYYYMMDDTHHMMSSZ"
        return v
    v.amz_date = amz_date
    if amz_date[:8] != sdate:
        v.message = ("Credential should be scoped to a valid date: %s is "
                     "not the date of X-Amz-Date %s" % (sdate, amz_date))
        return v
    names = signed_names.split(";")
    if "host" not in names:
        v.message = "SignedHeaders must include host"
        return v
    found = lookup(access_key)
    if found is None:
        v.verdict = "unknown-key"
        v.message = "The security token included in the request is invalid."
        return v
    secret, want_token, cred_expires, caller = found
    v.caller = caller
    if want_token is None and token:
        v.verdict = "bad-token"
        v.message = "The security token included in the request is invalid."
        return v
    if want_token is not None and not hmac.compare_digest(
            (token or "").encode(), want_token.encode()):
        v.verdict = "bad-token"
        v.message = "The security token included in the request is invalid."
        return v
    if cred_expires is not None and now >= cred_expires:
        v.verdict = "expired-token"
        v.message = "The security token included in the request is expired"
        return v
    t = amz_to_epoch(amz_date)
    if presigned:
        if not expires.isdigit() or not 1 <= int(expires) <= MAX_PRESIGN_EXPIRES:
            v.message = ("X-Amz-Expires must be 1..%d seconds"
                         % MAX_PRESIGN_EXPIRES)
            return v
        if now > t + int(expires):
            v.verdict = "expired"
            v.message = "Request has expired"
            return v
        if t - now > MAX_SKEW:
            v.verdict = "skew"
            v.message = "Request is not valid yet (X-Amz-Date is ahead)"
            return v
    elif abs(now - t) > MAX_SKEW:
        v.verdict = "skew"
        v.message = ("Signature expired: %s is now earlier than %s (%s - 15 "
                     "min.)" % (amz_date, time.strftime(
                         "%Y%m%dT%H%M%SZ", time.gmtime(now - MAX_SKEW)),
                         time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now)))
                     if t < now else
                     "Signature not yet current: %s is still later than %s"
                     % (amz_date, time.strftime("%Y%m%dT%H%M%SZ",
                                                time.gmtime(now + MAX_SKEW))))
        return v

    s3 = service == "s3"
    content_sha = _header(headers, "x-amz-content-sha256")
    if presigned:
        payload = content_sha or (UNSIGNED if s3 else
                                  hashlib.sha256(body).hexdigest())
    elif content_sha is not None:
        payload = content_sha
    else:
        if s3:
            v.message = "S3 requests must carry x-amz-content-sha256"
            return v
        payload = hashlib.sha256(body).hexdigest()

    signed = []
    for n in names:
        vals = [val for hn, val in headers if hn.lower() == n]
        if not vals:
            v.message = "signed header %s is not in the request" % n
            return v
        for val in vals:
            signed.append((n, val))
    if presigned:
        qpairs = [(k, val) for k, val in qpairs if k != "X-Amz-Signature"]
    url = "https://fakeaws.invalid" + raw_path
    cq = _canonical_query(qpairs)
    if cq:
        url += "?" + cq
    req = botocore.awsrequest.AWSRequest(method=method, url=url)
    for n, val in signed:
        req.headers[n] = val
    req.context["timestamp"] = amz_date
    signer = _Signer(botocore.credentials.Credentials(access_key, secret),
                     service, region, payload, s3)
    want = signer.signature(signer.string_to_sign(
        req, signer.canonical_request(req)), req)
    if not hmac.compare_digest(want, signature.lower()):
        v.verdict = "mismatch"
        v.message = ("The request signature we calculated does not match the "
                     "signature you provided. Check your AWS Secret Access "
                     "Key and signing method. Consult the service "
                     "documentation for details.")
        return v

    # The payload itself.
    v.body = body
    if payload in STREAMING:
        mode = STREAMING[payload]
        scope = "%s/%s/%s/aws4_request" % (sdate, region, service)
        try:
            data, trailers, _ = sigv4_chunked.verify_chunked(
                body, secret, amz_date, scope, signature.lower(), mode)
        except sigv4_chunked.VerifyError as exc:
            v.verdict = ("chunk-malformed" if exc.reason in
                         ("chunk-malformed", "too-large") else
                         "chunk-mismatch")
            v.message = "aws-chunked body: %s" % exc
            return v
        declared = _header(headers, "x-amz-decoded-content-length")
        if declared is None or not declared.isdigit() or \
                int(declared) != len(data):
            v.verdict = "chunk-malformed"
            v.message = ("x-amz-decoded-content-length %s but the chunks "
                         "hold %d bytes" % (declared, len(data)))
            return v
        v.body = data
        v.trailers = trailers
    elif re.fullmatch(r"[0-9a-f]{64}", payload):
        if hashlib.sha256(body).hexdigest() != payload:
            v.verdict = "payload-mismatch"
            v.message = ("The provided 'x-amz-content-sha256' header does "
                         "not match what was computed.")
            return v
    elif payload != UNSIGNED:
        v.message = "x-amz-content-sha256 %r is not supported" % payload
        return v
    v.verdict = "valid"
    v.message = ""
    return v


def checksum_b64(algo, data):
    """base64 of a flexible checksum (crc32, crc32c, sha1, sha256)."""
    return sigv4_chunked.checksum_b64(algo, data)


def content_md5_ok(value, data):
    """None when Content-MD5 is well formed and right, else 'invalid' (not a
    base64 MD5) or 'bad' (another digest)."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return "invalid"
    if len(raw) != 16:
        return "invalid"
    return None if raw == hashlib.md5(data).digest() else "bad"
