#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# SigV4 chunked uploads (aws-chunked): an independent oracle and the
# integration test of `awsgatectl sigv4 verify` / `awsgatectl sigv4 resign`.
#
# Run with Debian's /usr/bin/python3 (python3-botocore 1.29, python3-boto3
# 1.26).  Nothing here is computed by awsgate: the seed request (canonical
# request, string to sign, seed signature) is botocore's S3SigV4Auth with its
# clock fixed; the chunk, trailer and checksum parts are the code below, written
# from AWS's documentation and proved by reproducing AWS's published examples.
#
# Usage:
#   sigv4_chunked.py                    self-test, boto3 capture, tool checks
#   sigv4_chunked.py --self-test-only   self-test and boto3 capture only (no tool)
#   sigv4_chunked.py --write-example-data DIR
#                                       (re)write tests/data/sigv4-chunked/aws-s3-example
#
# Environment:
#   AWSGATECTL        path to awsgatectl (default ./awsgatectl)
#   AWSGATE_KEEP_DIR  keep the request files of the tool checks here
#
# Output: one line per check, "ok NAME" or "FAIL NAME: why", then
# "sigv4-chunked: N checks, M failed".  Exit 0 when nothing failed, 1 when
# something did, 77 (automake SKIP) when botocore cannot be imported.
#
# ----------------------------------------------------------------------------
# The wire formats (AWS S3 API Reference, "Signature Calculations for the
# Authorization Header: Transferring Payload in Multiple Chunks (Chunked
# Upload) (AWS Signature Version 4)" and "Signature calculations for trailing
# headers (chunked uploads) (AWS Signature Version 4)"):
#
#  seed request  x-amz-content-sha256 is one of
#                  STREAMING-AWS4-HMAC-SHA256-PAYLOAD           mode "signed"
#                  STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER   mode "signed-trailer"
#                  STREAMING-UNSIGNED-PAYLOAD-TRAILER           mode "unsigned-trailer"
#                and that same literal is the canonical request's payload line;
#                Content-Encoding: aws-chunked; x-amz-decoded-content-length: N;
#                x-amz-trailer: x-amz-checksum-<algo> in the trailer modes.
#                The seed signature is the Authorization header's signature.
#
#  signed chunk  hex(size) ";chunk-signature=" SIG CRLF DATA CRLF
#                SIG = HMAC(kSigning, "AWS4-HMAC-SHA256-PAYLOAD" LF amz-date LF
#                      scope LF previous-signature LF sha256hex("") LF
#                      sha256hex(DATA)), previous = seed for the first chunk.
#                The last chunk has size 0 and signs sha256hex("").
#    "signed":          ... "0;chunk-signature=" SIG CRLF CRLF          (end)
#    "signed-trailer":  ... "0;chunk-signature=" SIG CRLF
#                       name ":" value CRLF                  (each trailer)
#                       "x-amz-trailer-signature:" TSIG CRLF CRLF      (end)
#                TSIG = HMAC(kSigning, "AWS4-HMAC-SHA256-TRAILER" LF amz-date LF
#                       scope LF final-chunk-signature LF
#                       sha256hex(canonical trailers)),
#                canonical trailers = for each trailer, sorted by name:
#                       lower(name) ":" trimmed value LF   (each line ends in LF,
#                       the last one too; CRLF is never hashed).
#    "unsigned-trailer": hex(size) CRLF DATA CRLF ... "0" CRLF
#                       name ":" value CRLF ... CRLF                    (end)
#                (what botocore's AwsChunkedWrapper writes, byte for byte).
#  Checksum trailer values are base64 of the big-endian CRC32 / CRC32C or of
#  the SHA-1 / SHA-256 digest of the decoded data.
#
# See "Ambiguities" at the end of this file for how each unclear point was
# settled and against what.
# ----------------------------------------------------------------------------

import base64
import binascii
import datetime
import hashlib
import hmac
import http.server
import json
import os
import random
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import warnings

try:
    import botocore
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
except Exception as exc:  # pragma: no cover - depends on the host
    print("sigv4-chunked: SKIP: cannot import botocore with %s: %s"
          % (sys.executable, exc))
    sys.exit(77)

NAME = "sigv4-chunked"
TIME_FMT = "%Y%m%dT%H%M%SZ"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
MODES = {
    "signed": STREAMING_SIGNED,
    "signed-trailer": STREAMING_SIGNED_TRAILER,
    "unsigned-trailer": STREAMING_UNSIGNED_TRAILER,
}
MODE_OF_PAYLOAD = {v: k for k, v in MODES.items()}

CHUNK_STS_PREFIX = "AWS4-HMAC-SHA256-PAYLOAD"
TRAILER_STS_PREFIX = "AWS4-HMAC-SHA256-TRAILER"
TRAILER_SIGNATURE_NAME = "x-amz-trailer-signature"

# Reasons, as `awsgatectl sigv4 verify` names them; the oracle's own verifier
# raises the same vocabulary so that each corruption is classified twice.
REASONS = ("malformed", "unknown-key", "expired", "skew", "mismatch",
           "unsupported", "unsigned", "chunk-malformed", "chunk-mismatch",
           "trailer-mismatch", "too-large")

# An oracle-side ceiling for one chunk's size, only so that an absurd size is
# named "too-large" rather than "chunk-malformed (truncated)".  AWS documents
# no maximum; every real chunk here is at most 1 MiB (botocore's default).
ORACLE_MAX_CHUNK = 16 * 1024 * 1024


# --------------------------------------------------------------------------
# botocore with a fixed clock (same technique as sigv4_botocore.py)
# --------------------------------------------------------------------------

class _FrozenClock:
    now = datetime.datetime(2013, 5, 24, 0, 0, 0)


class _FrozenDateTime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return _FrozenClock.now


class _DateTimeModule:
    """Stands in for the datetime module inside botocore.auth (and
    botocore.crt.auth, whose signers a boto3 client uses when awscrt is
    installed, as Debian's python3-awscrt is)."""
    timezone = datetime.timezone
    timedelta = datetime.timedelta
    datetime = _FrozenDateTime


botocore.auth.datetime = _DateTimeModule     # 1.29: datetime.datetime.utcnow()
if hasattr(botocore.auth, "get_current_datetime"):
    botocore.auth.get_current_datetime = \
        lambda *args, **kwargs: _FrozenClock.now
try:
    import botocore.crt.auth
    botocore.crt.auth.datetime = _DateTimeModule
    if hasattr(botocore.crt.auth, "get_current_datetime"):
        botocore.crt.auth.get_current_datetime = \
            lambda *args, **kwargs: _FrozenClock.now
except Exception:   # no awscrt: botocore signs in Python
    pass


def set_clock(amz_date):
    _FrozenClock.now = datetime.datetime.strptime(amz_date, TIME_FMT)


def parse_amz_date(amz_date):
    return datetime.datetime.strptime(amz_date, TIME_FMT).replace(
        tzinfo=datetime.timezone.utc)


def shift_amz_date(amz_date, seconds):
    t = parse_amz_date(amz_date) + datetime.timedelta(seconds=seconds)
    return t.strftime(TIME_FMT)


class _SeedSigner(botocore.auth.S3SigV4Auth):
    """botocore's S3SigV4Auth recording its stages.  For the two signed
    streaming modes (botocore 1.29 has no signer for them) only payload() is
    replaced, so the x-amz-content-sha256 header and the canonical request's
    last line are the streaming literal; everything else is botocore's.  For
    STREAMING-UNSIGNED-PAYLOAD-TRAILER botocore's own payload() is used (the
    request context says "checksum in trailer", as botocore's client sets it)."""

    def __init__(self, credentials, service, region, payload_value):
        super().__init__(credentials, service, region)
        self._payload_value = payload_value

    def payload(self, request):
        if self._payload_value is None:
            return super().payload(request)
        return self._payload_value

    def canonical_request(self, request):
        self.captured_canonical = super().canonical_request(request)
        return self.captured_canonical

    def string_to_sign(self, request, canonical_request):
        self.captured_sts = super().string_to_sign(request, canonical_request)
        return self.captured_sts

    def signature(self, string_to_sign, request):
        self.captured_signature = super().signature(string_to_sign, request)
        return self.captured_signature


def sign_seed(method, url, headers, access_key, secret_key, amz_date,
              region, service="s3", payload=STREAMING_SIGNED, token=None):
    """Header-sign the seed request with botocore at amz_date.
    headers: list of (name, value) -- every one of them is signed (botocore
    signs all but Expect / User-Agent / X-Amzn-Trace-Id); botocore adds Host
    from the URL when absent, X-Amz-Date, X-Amz-Content-SHA256 (= payload),
    X-Amz-Security-Token (when token) and Authorization.
    Returns a dict: signature, canonical_request, string_to_sign,
    authorization, signed_headers, headers (the signed request's headers)."""
    set_clock(amz_date)
    creds = botocore.credentials.Credentials(access_key, secret_key, token)
    if payload == STREAMING_UNSIGNED_TRAILER:
        signer = _SeedSigner(creds, service, region, None)
    else:
        signer = _SeedSigner(creds, service, region, payload)
    req = botocore.awsrequest.AWSRequest(method=method, url=url)
    for name, value in headers:
        req.headers[name] = value
    if payload == STREAMING_UNSIGNED_TRAILER:
        req.context["checksum"] = {"request_algorithm": {
            "algorithm": "crc32", "in": "trailer",
            "name": "x-amz-checksum-crc32"}}
    signer.add_auth(req)
    if ("x-amz-date:%s\n" % amz_date) not in signer.captured_canonical:
        raise RuntimeError("botocore did not sign at the fixed time %s"
                           % amz_date)
    if ("\n%s" % payload) not in signer.captured_canonical:
        raise RuntimeError("botocore did not sign payload %s" % payload)
    auth = req.headers["Authorization"]
    m = re.search(r"SignedHeaders=([^,]+)", auth)
    return {
        "signature": signer.captured_signature,
        "canonical_request": signer.captured_canonical,
        "string_to_sign": signer.captured_sts,
        "authorization": auth,
        "signed_headers": m.group(1) if m else "",
        "headers": list(req.headers.items()),
    }


# --------------------------------------------------------------------------
# The chunk part: our own code
# --------------------------------------------------------------------------

def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8") if isinstance(msg, str) else msg,
                    hashlib.sha256).digest()


def signing_key(secret_key, scope):
    """kSigning from the secret and a scope date/region/service/aws4_request."""
    date, region, service, term = scope.split("/")
    if term != "aws4_request":
        raise ValueError("bad scope %r" % scope)
    k = _hmac(("AWS4" + secret_key).encode("utf-8"), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def _key(key_or_secret, scope):
    if isinstance(key_or_secret, (bytes, bytearray)):
        return bytes(key_or_secret)
    return signing_key(key_or_secret, scope)


def chunk_string_to_sign(amz_date, scope, previous_signature, data):
    return "\n".join([CHUNK_STS_PREFIX, amz_date, scope, previous_signature,
                      EMPTY_SHA256, hashlib.sha256(data).hexdigest()])


def chunk_signature(key, amz_date, scope, previous_signature, data):
    sts = chunk_string_to_sign(amz_date, scope, previous_signature, data)
    return hmac.new(key, sts.encode("ascii"), hashlib.sha256).hexdigest()


def canonical_trailers(trailers):
    """'lower(name):value\\n' for each trailer, sorted by name, every line
    (the last one too) ending in a single LF."""
    lines = sorted((n.strip().lower(), " ".join(v.split()))
                   for n, v in trailers)
    return "".join("%s:%s\n" % nv for nv in lines).encode("utf-8")


def trailer_string_to_sign(amz_date, scope, previous_signature, trailers,
                           prefix=TRAILER_STS_PREFIX):
    return "\n".join([prefix, amz_date, scope, previous_signature,
                      hashlib.sha256(canonical_trailers(trailers)).hexdigest()])


def trailer_signature(key, amz_date, scope, previous_signature, trailers,
                      prefix=TRAILER_STS_PREFIX):
    sts = trailer_string_to_sign(amz_date, scope, previous_signature, trailers,
                                 prefix)
    return hmac.new(key, sts.encode("ascii"), hashlib.sha256).hexdigest()


def _check_sizes(data, chunk_sizes):
    if sum(chunk_sizes) != len(data) or any(s <= 0 for s in chunk_sizes):
        raise ValueError("chunk sizes %r do not cover %d bytes"
                         % (chunk_sizes, len(data)))


def split_sizes(length, chunk_size):
    """Data chunk sizes for length bytes cut every chunk_size bytes."""
    sizes = [chunk_size] * (length // chunk_size)
    if length % chunk_size:
        sizes.append(length % chunk_size)
    return sizes


def encode_signed_chunks(data, chunk_sizes, key, date, scope, seed_sig,
                         trailers=None):
    """The aws-chunked body with chunk signatures chained from seed_sig.
    key: the signing key (bytes) or the secret access key (str); date: the
    request's amz-date; chunk_sizes: the data chunks' sizes (the final 0-size
    chunk is added here); trailers: None (mode "signed") or a list of
    (name, value) (mode "signed-trailer").
    Returns (body, signatures): every chunk signature, the final chunk's last,
    then the trailer signature when there are trailers."""
    _check_sizes(data, chunk_sizes)
    key = _key(key, scope)
    out, sigs, prev, pos = [], [], seed_sig, 0
    for size in list(chunk_sizes) + [0]:
        piece = data[pos:pos + size]
        pos += size
        prev = chunk_signature(key, date, scope, prev, piece)
        sigs.append(prev)
        out.append(b"%x;chunk-signature=%s\r\n" % (size, prev.encode("ascii")))
        if size:
            out.append(piece + b"\r\n")
    if trailers is None:
        out.append(b"\r\n")
    else:
        for name, value in trailers:
            out.append(("%s:%s\r\n" % (name, value)).encode("utf-8"))
        tsig = trailer_signature(key, date, scope, prev, trailers)
        sigs.append(tsig)
        out.append(("%s:%s\r\n\r\n" % (TRAILER_SIGNATURE_NAME, tsig))
                   .encode("ascii"))
    return b"".join(out), sigs


def encode_unsigned_trailer(data, chunk_sizes, trailers):
    """STREAMING-UNSIGNED-PAYLOAD-TRAILER body: plain hex sizes, no chunk
    signatures, trailers after the 0 chunk, then an empty line."""
    _check_sizes(data, chunk_sizes)
    out, pos = [], 0
    for size in chunk_sizes:
        out.append(b"%x\r\n" % size + data[pos:pos + size] + b"\r\n")
        pos += size
    out.append(b"0\r\n")
    for name, value in trailers:
        out.append(("%s:%s\r\n" % (name, value)).encode("utf-8"))
    out.append(b"\r\n")
    return b"".join(out)


# --- checksums -------------------------------------------------------------

def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    t = _CRC32C
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def checksum_b64(algo, data):
    if algo == "crc32":
        raw = (binascii.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")
    elif algo == "crc32c":
        raw = crc32c(data).to_bytes(4, "big")
    elif algo == "sha1":
        raw = hashlib.sha1(data).digest()
    elif algo == "sha256":
        raw = hashlib.sha256(data).digest()
    else:
        raise ValueError("unknown checksum %r" % algo)
    return base64.b64encode(raw).decode("ascii")


def checksum_trailer(algo, data):
    return ("x-amz-checksum-" + algo, checksum_b64(algo, data))


# --- the strict verifier ---------------------------------------------------

class VerifyError(Exception):
    def __init__(self, reason, detail):
        super().__init__("%s: %s" % (reason, detail))
        self.reason = reason
        self.detail = detail


_SIGNED_HEADER = re.compile(rb"([0-9a-fA-F]+);chunk-signature=([0-9a-f]{64})")
_UNSIGNED_HEADER = re.compile(rb"([0-9a-fA-F]+)")
_TRAILER_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*")


def _line(body, pos, what):
    """The bytes from pos to the next CRLF, and the position after it; a line
    must not hold a bare CR or LF."""
    end = body.find(b"\r\n", pos)
    if end < 0:
        raise VerifyError("chunk-malformed",
                          "%s at offset %d has no CRLF" % (what, pos))
    line = body[pos:end]
    if b"\r" in line or b"\n" in line:
        raise VerifyError("chunk-malformed",
                          "%s at offset %d holds a bare CR or LF" % (what, pos))
    return line, end + 2


def _size(hexdigits, pos, max_chunk):
    if len(hexdigits) > 16 or int(hexdigits, 16) > max_chunk:
        raise VerifyError("too-large", "chunk size 0x%s at offset %d is over "
                          "%d bytes" % (hexdigits.decode(), pos, max_chunk))
    return int(hexdigits, 16)


def _trailer_lines(body, pos, stop_at_signature):
    """Parse 'name:value' CRLF lines from pos.  With stop_at_signature the
    x-amz-trailer-signature line ends the list (its value is returned);
    otherwise the empty line does.  Returns (trailers, signature, pos)."""
    trailers = []
    while True:
        line, nxt = _line(body, pos, "trailer line")
        if not line:
            if stop_at_signature:
                raise VerifyError("trailer-mismatch",
                                  "no %s line" % TRAILER_SIGNATURE_NAME)
            return trailers, None, nxt
        m = _TRAILER_LINE.fullmatch(line)
        if not m:
            raise VerifyError("chunk-malformed",
                              "bad trailer line %r at offset %d" % (line, pos))
        name = m.group(1).decode("ascii").lower()
        value = m.group(2).decode("utf-8", "replace")
        pos = nxt
        if name == TRAILER_SIGNATURE_NAME:
            if not stop_at_signature:
                raise VerifyError("chunk-malformed",
                                  "trailer signature in an unsigned trailer")
            return trailers, value, pos
        trailers.append((name, value))


def verify_chunked(body, key, date, scope, seed_sig, mode,
                   max_chunk=ORACLE_MAX_CHUNK):
    """Strictly parse and verify an aws-chunked body.
    key: signing key (bytes) or secret (str); date: amz-date; mode: "signed",
    "signed-trailer" or "unsigned-trailer" (key/date/scope/seed_sig unused).
    Returns (decoded_data, trailers, chunk_sizes) -- trailers a list of
    (lower-case name, value), chunk_sizes the data chunks' sizes; raises
    VerifyError(reason, detail) otherwise.  It does not compare checksum
    values with the data (verify_request does)."""
    if mode not in MODES:
        raise ValueError("unknown mode %r" % mode)
    signed = mode != "unsigned-trailer"
    key = _key(key, scope) if signed else None
    data, sizes, prev, pos = [], [], seed_sig, 0
    while True:
        if pos >= len(body):
            raise VerifyError("chunk-malformed",
                              "body ends at offset %d before the final "
                              "0-size chunk" % pos)
        line, after = _line(body, pos, "chunk header")
        m = (_SIGNED_HEADER if signed else _UNSIGNED_HEADER).fullmatch(line)
        if not m:
            raise VerifyError("chunk-malformed",
                              "bad chunk header %r at offset %d"
                              % (line[:120], pos))
        size = _size(m.group(1), pos, max_chunk)
        if size == 0:
            if signed:
                want = chunk_signature(key, date, scope, prev, b"")
                if m.group(2).decode() != want:
                    raise VerifyError("chunk-mismatch",
                                      "final chunk at offset %d" % pos)
                prev = want
            pos = after
            break
        if after + size + 2 > len(body):
            raise VerifyError("chunk-malformed",
                              "chunk of %d bytes at offset %d runs past the "
                              "end of the body (%d bytes)"
                              % (size, pos, len(body)))
        piece = body[after:after + size]
        if body[after + size:after + size + 2] != b"\r\n":
            raise VerifyError("chunk-malformed",
                              "chunk data at offset %d is not followed by "
                              "CRLF" % after)
        if signed:
            want = chunk_signature(key, date, scope, prev, piece)
            if m.group(2).decode() != want:
                raise VerifyError("chunk-mismatch",
                                  "chunk %d (%d bytes) at offset %d"
                                  % (len(sizes) + 1, size, pos))
            prev = want
        data.append(piece)
        sizes.append(size)
        pos = after + size + 2
    trailers = []
    if mode == "signed":
        if body[pos:] != b"\r\n":
            raise VerifyError("chunk-malformed",
                              "after the final chunk: %r (want CRLF, end)"
                              % body[pos:pos + 40])
        return b"".join(data), trailers, sizes
    if mode == "signed-trailer":
        trailers, tsig, pos = _trailer_lines(body, pos, True)
        want = trailer_signature(key, date, scope, prev, trailers)
        if tsig != want:
            raise VerifyError("trailer-mismatch", "trailer signature %s"
                              % tsig[:80])
    else:
        trailers, _, pos = _trailer_lines(body, pos, False)
        pos -= 2      # the empty line: checked below like the signed case
    if body[pos:] != b"\r\n":
        raise VerifyError("chunk-malformed",
                          "after the trailers: %r (want CRLF, end)"
                          % body[pos:pos + 40])
    return b"".join(data), trailers, sizes


# --- request files -----------------------------------------------------------

def parse_request(raw):
    """request.txt: request line, Name:value lines (CRLF or LF), empty line,
    body byte for byte.  Returns (method, target, headers, body)."""
    m = re.search(rb"\r?\n\r?\n", raw)
    if not m:
        raise VerifyError("malformed", "no end of head")
    head, body = raw[:m.start()], raw[m.end():]
    lines = re.split(rb"\r?\n", head)
    parts = lines[0].decode("latin-1").split(" ")
    if len(parts) != 3:
        raise VerifyError("malformed", "bad request line %r" % lines[0])
    headers = []
    for line in lines[1:]:
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise VerifyError("malformed", "bad header line %r" % line)
        headers.append((name.strip(), value.strip()))
    return parts[0], parts[1], headers, body


def format_request(method, target, headers, body, eol=b"\r\n"):
    head = ["%s %s HTTP/1.1" % (method, target)]
    head += ["%s: %s" % nv for nv in headers]
    return eol.join(h.encode("latin-1") for h in head) + eol + eol + body


def _header(headers, name):
    vals = [v for n, v in headers if n.lower() == name]
    return ",".join(vals) if vals else None


_AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/\s]+)/(\d{8})/([^/]+)/"
                   r"([^/]+)/aws4_request,\s*SignedHeaders=([^,\s]+),\s*"
                   r"Signature=([0-9a-f]{64})")


def verify_request(raw, access_key, secret_key, now=None, max_skew=900,
                   max_chunk=ORACLE_MAX_CHUNK):
    """The oracle's whole verification of a chunked request file: the seed
    (recomputed by botocore from the headers named in SignedHeaders), the
    clock, the chunks, the trailer and the checksum values.  now: amz-date
    (default: the request's own).  Returns a dict (data, trailers,
    chunk_sizes, mode, seed, amz_date, scope, headers, body); raises
    VerifyError."""
    method, target, headers, body = parse_request(raw)
    auth = _header(headers, "authorization")
    if auth is None:
        raise VerifyError("unsigned", "no Authorization header")
    m = _AUTH.fullmatch(auth.strip())
    if not m:
        algorithm = auth.strip().split(" ")[0]
        if algorithm.startswith("AWS4-") and algorithm != "AWS4-HMAC-SHA256":
            raise VerifyError("unsupported", "algorithm %s" % algorithm)
        raise VerifyError("malformed", "Authorization %r" % auth[:120])
    ak, sdate, region, service, signed_names, signature = m.groups()
    if ak != access_key:
        raise VerifyError("unknown-key", ak)
    amz_date = _header(headers, "x-amz-date")
    if amz_date is None or not re.fullmatch(r"\d{8}T\d{6}Z", amz_date):
        raise VerifyError("malformed", "x-amz-date %r" % amz_date)
    if amz_date[:8] != sdate:
        raise VerifyError("malformed", "scope date %s, x-amz-date %s"
                          % (sdate, amz_date))
    skew = abs((parse_amz_date(now or amz_date)
                - parse_amz_date(amz_date)).total_seconds())
    if skew > max_skew:
        raise VerifyError("skew", "%d s" % skew)
    payload = _header(headers, "x-amz-content-sha256")
    mode = MODE_OF_PAYLOAD.get(payload)
    if mode is None:
        raise VerifyError("unsupported", "x-amz-content-sha256 %r" % payload)
    host = _header(headers, "host")
    names = signed_names.split(";")
    token = _header(headers, "x-amz-security-token")
    skip = ("x-amz-date", "x-amz-content-sha256", "x-amz-security-token",
            "authorization")
    to_sign = [(n, v) for n, v in headers
               if n.lower() in names and n.lower() not in skip]
    seed = sign_seed(method, "https://%s%s" % (host, target), to_sign,
                     ak, secret_key, amz_date, region, service, payload,
                     token)
    if seed["signed_headers"] != signed_names:
        raise VerifyError("malformed", "SignedHeaders %s, botocore signs %s"
                          % (signed_names, seed["signed_headers"]))
    if seed["signature"] != signature:
        raise VerifyError("mismatch", "seed signature")
    if "aws-chunked" not in [e.strip().lower() for e in
                             (_header(headers, "content-encoding") or "")
                             .split(",")]:
        raise VerifyError("chunk-malformed", "Content-Encoding lacks "
                          "aws-chunked")
    scope = "%s/%s/%s/aws4_request" % (sdate, region, service)
    data, trailers, sizes = verify_chunked(body, secret_key, amz_date, scope,
                                           signature, mode, max_chunk)
    decoded = _header(headers, "x-amz-decoded-content-length")
    if decoded is None or not decoded.isdigit() or int(decoded) != len(data):
        raise VerifyError("chunk-malformed", "x-amz-decoded-content-length "
                          "%s, decoded %d bytes" % (decoded, len(data)))
    if mode != "signed":
        announced = sorted(t.strip().lower() for t in
                           (_header(headers, "x-amz-trailer") or "")
                           .split(",") if t.strip())
        if announced != sorted(n for n, _ in trailers):
            raise VerifyError("trailer-mismatch", "x-amz-trailer %s, trailers "
                              "%s" % (announced, [n for n, _ in trailers]))
        for name, value in trailers:
            if name.startswith("x-amz-checksum-"):
                want = checksum_b64(name[len("x-amz-checksum-"):], data)
                if value != want:
                    raise VerifyError("trailer-mismatch", "%s %s, data has %s"
                                      % (name, value, want))
    return {"data": data, "trailers": trailers, "chunk_sizes": sizes,
            "mode": mode, "seed": signature, "amz_date": amz_date,
            "scope": scope, "headers": headers, "body": body}


# --- building signed requests ----------------------------------------------

DEFAULT_HOST = "examplebucket.s3.amazonaws.com"


def build_request(mode, data, chunk_sizes, access_key, secret_key, amz_date,
                  region="us-east-1", host=DEFAULT_HOST, path="/chunkObject.bin",
                  algo="crc32", token=None, decoded_length=None,
                  payload=None, eol=b"\r\n", trailers=None):
    """A complete signed chunked PUT as a request file (bytes), plus a dict
    of what went into it.  decoded_length / payload override the
    x-amz-decoded-content-length value / x-amz-content-sha256 literal (to
    build requests that must be refused); trailers overrides the computed
    checksum trailer."""
    payload = payload or MODES[mode]
    if trailers is None and mode != "signed":
        trailers = [checksum_trailer(algo, data)]
    scope = "%s/%s/s3/aws4_request" % (amz_date[:8], region)

    def body_for(seed):
        if mode == "unsigned-trailer":
            return encode_unsigned_trailer(data, chunk_sizes, trailers), []
        return encode_signed_chunks(data, chunk_sizes, secret_key, amz_date,
                                    scope, seed,
                                    trailers if mode == "signed-trailer"
                                    else None)

    length = len(body_for("0" * 64)[0])
    base = [("Host", host),
            ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length",
             str(len(data) if decoded_length is None else decoded_length)),
            ("Content-Length", str(length))]
    if mode != "signed":
        base.append(("x-amz-trailer", ",".join(n for n, _ in trailers)))
    seed = sign_seed("PUT", "https://%s%s" % (host, path), base, access_key,
                     secret_key, amz_date, region, "s3", payload, token)
    body, sigs = body_for(seed["signature"])
    assert len(body) == length
    raw = format_request("PUT", path, seed["headers"], body, eol)
    return raw, {"seed": seed, "signatures": sigs, "scope": scope,
                 "trailers": trailers or [], "body": body}


def sigv4a_request(data, amz_date):
    """A SigV4a chunked PUT (x-amz-content-sha256
    STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD) whose seed is signed by
    awscrt's V4_ASYMMETRIC signer through botocore; the chunk signatures are
    placeholders padded to 144 characters as SigV4a's are.  None without
    awscrt."""
    try:
        import botocore.crt.auth as crt_auth
    except Exception:
        return None
    payload = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"

    class Signer(crt_auth.CrtS3SigV4AsymAuth):
        def _get_existing_sha256(self, request):
            return payload

        def _should_sha256_sign_payload(self, request):
            return True

    pad = "0" * 140 + "****"
    body = (b"%x;chunk-signature=%s\r\n" % (len(data), pad.encode()) + data
            + b"\r\n0;chunk-signature=%s\r\n\r\n" % pad.encode())
    host = DEFAULT_HOST
    req = botocore.awsrequest.AWSRequest(
        method="PUT", url="https://%s/chunkObject.bin" % host)
    for name, value in [("Host", host), ("Content-Encoding", "aws-chunked"),
                        ("x-amz-decoded-content-length", str(len(data))),
                        ("Content-Length", str(len(body)))]:
        req.headers[name] = value
    set_clock(amz_date)
    try:
        Signer(botocore.credentials.Credentials(AK1, SK1), "s3", "*") \
            .add_auth(req)
    except Exception:
        return None
    if payload not in req.headers.get("x-amz-content-sha256", ""):
        return None
    return format_request("PUT", "/chunkObject.bin", list(req.headers.items()),
                          body)


# --------------------------------------------------------------------------
# Check bookkeeping
# --------------------------------------------------------------------------

class Checks:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, name, cond, why=""):
        self.n += 1
        if cond:
            print("ok %s" % name)
        else:
            self.failed += 1
            print("FAIL %s%s" % (name, (": " + why) if why else ""))
        sys.stdout.flush()
        return cond

    def eq(self, name, got, want):
        return self.ok(name, got == want, "got %r, want %r"
                       % (_short(got), _short(want)))


def _short(v):
    if isinstance(v, (bytes, str)) and len(v) > 200:
        return v[:200] + (b"..." if isinstance(v, bytes) else "...")
    return v


# --------------------------------------------------------------------------
# (b) AWS's published examples
# --------------------------------------------------------------------------

EX_AK = "AKIAIOSFODNN7EXAMPLE"
EX_SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
EX_DATE = "20130524T000000Z"
EX_SCOPE = "20130524/us-east-1/s3/aws4_request"
EX_DATA = b"a" * 66560
EX_SIZES = [65536, 1024]

# "Signature Calculations for the Authorization Header: Transferring Payload
# in Multiple Chunks (Chunked Upload) (AWS Signature Version 4)", Example: PUT
# Object.
EX_SEED_CANONICAL = "\n".join([
    "PUT",
    "/examplebucket/chunkObject.txt",
    "",
    "content-encoding:aws-chunked",
    "content-length:66824",
    "host:s3.amazonaws.com",
    "x-amz-content-sha256:STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "x-amz-date:20130524T000000Z",
    "x-amz-decoded-content-length:66560",
    "x-amz-storage-class:REDUCED_REDUNDANCY",
    "",
    "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
    "x-amz-decoded-content-length;x-amz-storage-class",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"])
EX_SEED_CANONICAL_SHA256 = \
    "cee3fed04b70f867d036f722359b0b1f2f0e5dc0efadbc082b76c4c60e316455"
EX_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
EX_CHUNK_DATA_SHA256 = [
    "bf718b6f653bebc184e1479f1935b8da974d701b893afcf49e701f3e2f9f9c5a",
    "2edc986847e209b4016e141a6dc8716d3207350f416969382d431539bf292e4a",
    EMPTY_SHA256]
EX_CHUNK_SIGS = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"]
EX_CONTENT_LENGTH = 66824

# "Signature calculations for trailing headers (chunked uploads) (AWS
# Signature Version 4)", Example: PUT Object (same data, x-amz-trailer:
# x-amz-checksum-crc32c).
EXT_SIGNED_HEADERS = ("content-encoding;host;x-amz-content-sha256;x-amz-date;"
                      "x-amz-decoded-content-length;x-amz-storage-class;"
                      "x-amz-trailer")
EXT_SEED_STS_HASH = \
    "44d48b8c2f70eae815a0198cc73d7a546a73a93359c070abbaa5e6c7de112559"
EXT_SEED = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
EXT_CHUNK_SIGS = [
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"]
EXT_CRC32C = "sOO8/Q=="
EXT_TRAILER_HASH = \
    "1e376db7e1a34a8ef1c4bcee131a2d60a1cb62503747488624e10995f448d774"
EXT_CONTENT_LENGTH = 66946
# The trailer signature.  The value copied from AWS's page by several
# implementations (Apache Ozone's SignedChunksInputStream, versity/versitygw's
# REST test scripts) is 63bddb24...; others (s3s, and the Go and JS servers
# found alongside) use d81f82fc....  The documented string to sign (first
# line AWS4-HMAC-SHA256-TRAILER, as aws-c-auth's
# s_signature_type_sigv4_s3_chunked_trailer_payload) gives d81f82fc...; the
# 63bddb24... value is what the same string gives with the chunk prefix
# AWS4-HMAC-SHA256-PAYLOAD on its first line.  The self-test shows both.
EXT_TRAILER_SIG = \
    "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
EXT_TRAILER_SIG_AS_QUOTED = \
    "63bddb248ad2590c92712055f51b8e78ab024eead08276b24f010b0efd74843f"


def example_request():
    """The published seed request with its full body (our encoder), in the
    page's header order and Authorization spelling; returns (raw, seed)."""
    base = [("Host", "s3.amazonaws.com"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"),
            ("Content-Length", str(EX_CONTENT_LENGTH))]
    seed = sign_seed("PUT", "https://s3.amazonaws.com/examplebucket/"
                     "chunkObject.txt", base, EX_AK, EX_SK, EX_DATE,
                     "us-east-1", "s3", STREAMING_SIGNED)
    body, sigs = encode_signed_chunks(EX_DATA, EX_SIZES, EX_SK, EX_DATE,
                                      EX_SCOPE, seed["signature"])
    auth = ("AWS4-HMAC-SHA256 Credential=%s/%s,SignedHeaders=%s,Signature=%s"
            % (EX_AK, EX_SCOPE, seed["signed_headers"], seed["signature"]))
    headers = [("Host", "s3.amazonaws.com"),
               ("x-amz-date", EX_DATE),
               ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
               ("Authorization", auth),
               ("x-amz-content-sha256", STREAMING_SIGNED),
               ("Content-Encoding", "aws-chunked"),
               ("x-amz-decoded-content-length", "66560"),
               ("Content-Length", str(len(body)))]
    return (format_request("PUT", "/examplebucket/chunkObject.txt", headers,
                           body), seed, sigs)


def trailer_example_request():
    base = [("Host", "s3.amazonaws.com"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"),
            ("x-amz-trailer", "x-amz-checksum-crc32c")]
    seed = sign_seed("PUT", "https://s3.amazonaws.com/examplebucket/"
                     "chunkObject.txt", base, EX_AK, EX_SK, EX_DATE,
                     "us-east-1", "s3", STREAMING_SIGNED_TRAILER)
    trailers = [("x-amz-checksum-crc32c", checksum_b64("crc32c", EX_DATA))]
    body, sigs = encode_signed_chunks(EX_DATA, EX_SIZES, EX_SK, EX_DATE,
                                      EX_SCOPE, seed["signature"], trailers)
    headers = [h for h in seed["headers"]] + [("Content-Length",
                                               str(len(body)))]
    return (format_request("PUT", "/examplebucket/chunkObject.txt", headers,
                           body), seed, sigs)


def example_data_files():
    raw, seed, sigs = example_request()
    context = {
        "credentials": {"access_key_id": EX_AK, "secret_access_key": EX_SK},
        "region": "us-east-1",
        "service": "s3",
        "timestamp": "2013-05-24T00:00:00Z",
        "amz_date": EX_DATE,
        "mode": "signed",
        "x_amz_content_sha256": STREAMING_SIGNED,
        "data": "66560 bytes, every one 'a' (0x61)",
        "chunk_sizes": EX_SIZES + [0],
    }
    expected = {
        "source": "AWS S3 API Reference, \"Signature Calculations for the "
                  "Authorization Header: Transferring Payload in Multiple "
                  "Chunks (Chunked Upload) (AWS Signature Version 4)\", "
                  "Example: PUT Object",
        "canonical_request": EX_SEED_CANONICAL,
        "canonical_request_sha256": EX_SEED_CANONICAL_SHA256,
        "string_to_sign": "\n".join(["AWS4-HMAC-SHA256", EX_DATE, EX_SCOPE,
                                     EX_SEED_CANONICAL_SHA256]),
        "seed_signature": EX_SEED,
        "content_length": EX_CONTENT_LENGTH,
        "decoded_content_length": len(EX_DATA),
        "chunks": [{"size": s, "data_sha256": h, "signature": g}
                   for s, h, g in zip(EX_SIZES + [0], EX_CHUNK_DATA_SHA256,
                                      EX_CHUNK_SIGS)],
    }
    return {
        "request.txt": raw,
        "context.json": (json.dumps(context, indent=4) + "\n").encode(),
        "expected.json": (json.dumps(expected, indent=4) + "\n").encode(),
    }


def example_data_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.environ.get("abs_top_srcdir") or os.path.join(here, "..", "..")
    return os.path.join(top, "tests", "data", "sigv4-chunked",
                        "aws-s3-example")


def self_test(c):
    # --- the chunked-upload example ---
    key = signing_key(EX_SK, EX_SCOPE)
    raw, seed, sigs = example_request()
    c.eq("aws example: botocore canonical request is the published one",
         seed["canonical_request"], EX_SEED_CANONICAL)
    c.eq("aws example: canonical request sha256",
         hashlib.sha256(seed["canonical_request"].encode()).hexdigest(),
         EX_SEED_CANONICAL_SHA256)
    c.eq("aws example: seed signature (botocore)", seed["signature"], EX_SEED)
    for i, (size, h) in enumerate(zip(EX_SIZES + [0], EX_CHUNK_DATA_SHA256)):
        c.eq("aws example: chunk %d data sha256" % (i + 1),
             hashlib.sha256(b"a" * size).hexdigest(), h)
    for i, (got, want) in enumerate(zip(sigs, EX_CHUNK_SIGS)):
        c.eq("aws example: chunk %d signature" % (i + 1), got, want)
    c.eq("aws example: chunk signature count", len(sigs), 3)
    _, _, _, body = parse_request(raw)
    c.eq("aws example: encoded length is the published Content-Length",
         len(body), EX_CONTENT_LENGTH)
    want_body = (b"10000;chunk-signature=%s\r\n" % EX_CHUNK_SIGS[0].encode()
                 + b"a" * 65536 + b"\r\n"
                 + b"400;chunk-signature=%s\r\n" % EX_CHUNK_SIGS[1].encode()
                 + b"a" * 1024 + b"\r\n"
                 + b"0;chunk-signature=%s\r\n\r\n" % EX_CHUNK_SIGS[2].encode())
    c.eq("aws example: body bytes", body, want_body)
    try:
        r = verify_request(raw, EX_AK, EX_SK)
        c.ok("aws example: oracle verifier accepts it",
             r["data"] == EX_DATA and r["chunk_sizes"] == EX_SIZES)
    except VerifyError as e:
        c.ok("aws example: oracle verifier accepts it", False, str(e))
    data_dir = example_data_dir()
    files = example_data_files()
    for name in ("request.txt", "context.json", "expected.json"):
        path = os.path.join(data_dir, name)
        try:
            with open(path, "rb") as f:
                c.eq("aws example: %s is what the oracle writes" % name,
                     f.read(), files[name])
        except OSError as e:
            c.ok("aws example: %s is what the oracle writes" % name, False,
                 str(e))

    # --- the trailing-header example ---
    raw, seed, sigs = trailer_example_request()
    c.eq("aws trailer example: signed headers", seed["signed_headers"],
         EXT_SIGNED_HEADERS)
    c.eq("aws trailer example: canonical request hash",
         seed["string_to_sign"].split("\n")[-1], EXT_SEED_STS_HASH)
    c.eq("aws trailer example: seed signature (botocore)", seed["signature"],
         EXT_SEED)
    c.eq("aws trailer example: CRC32C of the data", checksum_b64(
        "crc32c", EX_DATA), EXT_CRC32C)
    for i, (got, want) in enumerate(zip(sigs, EXT_CHUNK_SIGS)):
        c.eq("aws trailer example: chunk %d signature" % (i + 1), got, want)
    trailers = [("x-amz-checksum-crc32c", EXT_CRC32C)]
    c.eq("aws trailer example: canonical trailer hash",
         hashlib.sha256(canonical_trailers(trailers)).hexdigest(),
         EXT_TRAILER_HASH)
    c.eq("aws trailer example: trailer signature (AWS4-HMAC-SHA256-TRAILER)",
         sigs[3], EXT_TRAILER_SIG)
    c.eq("aws trailer example: the quoted 63bddb24... is the same string "
         "with the PAYLOAD prefix",
         trailer_signature(key, EX_DATE, EX_SCOPE, EXT_CHUNK_SIGS[2],
                           trailers, prefix=CHUNK_STS_PREFIX),
         EXT_TRAILER_SIG_AS_QUOTED)
    _, _, _, body = parse_request(raw)
    c.eq("aws trailer example: encoded length 66946", len(body),
         EXT_CONTENT_LENGTH)
    c.ok("aws trailer example: tail of the body",
         body.endswith(b"\r\n0;chunk-signature=%s\r\nx-amz-checksum-crc32c:"
                       b"sOO8/Q==\r\nx-amz-trailer-signature:%s\r\n\r\n"
                       % (EXT_CHUNK_SIGS[2].encode(),
                          EXT_TRAILER_SIG.encode())))
    try:
        r = verify_request(raw, EX_AK, EX_SK)
        c.ok("aws trailer example: oracle verifier accepts it",
             r["data"] == EX_DATA and r["trailers"] == trailers)
    except VerifyError as e:
        c.ok("aws trailer example: oracle verifier accepts it", False, str(e))

    # --- checksum algorithms against known answers ---
    c.eq("checksum: crc32('123456789')", binascii.crc32(b"123456789"),
         0xCBF43926)
    c.eq("checksum: crc32c('123456789')", crc32c(b"123456789"), 0xE3069283)

    # --- the oracle against itself: round trips and corruptions ---
    for mode in MODES:
        for label, data, sizes in ROUND_TRIP_CASES:
            raw, info = build_request(mode, data, sizes, AK1, SK1, T1,
                                      algo=_algo_for(label))
            try:
                r = verify_request(raw, AK1, SK1)
                c.ok("oracle round trip %s %s" % (mode, label),
                     r["data"] == data and r["chunk_sizes"] == sizes
                     and r["trailers"] == [(n.lower(), v) for n, v
                                           in info["trailers"]])
            except VerifyError as e:
                c.ok("oracle round trip %s %s" % (mode, label), False, str(e))
    for name, raw, args, reasons in negative_cases():
        ak, sk, now = args.get("ak", AK1), args.get("sk", SK1), \
            args.get("time", T1)
        try:
            verify_request(raw, ak, sk, now=now,
                           max_skew=args.get("oracle_skew", 900),
                           max_chunk=args.get("oracle_max_chunk",
                                              ORACLE_MAX_CHUNK))
            c.ok("oracle refuses: %s" % name, False, "accepted")
        except VerifyError as e:
            c.ok("oracle refuses: %s" % name, e.reason in reasons,
                 "reason %s (%s), want %s" % (e.reason, e.detail,
                                              "|".join(reasons)))


# --------------------------------------------------------------------------
# What boto3 really sends for put_object(..., ChecksumAlgorithm='CRC32')
# --------------------------------------------------------------------------

class _CaptureHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    captured = None

    def do_PUT(self):
        wire = b""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                line = self.rfile.readline()
                wire += line
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while True:
                        t = self.rfile.readline()
                        wire += t
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                piece = self.rfile.read(size + 2)
                wire += piece
                body += piece[:-2]
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            wire = body
        self.captured.append({"request_line": self.requestline,
                              "headers": list(self.headers.items()),
                              "wire_body": wire, "body": body})
        self.send_response(200)
        self.send_header("ETag", '"0"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def boto3_put(https, bodies, amz_date, tmp):
    """Start a server on 127.0.0.1, put each body with ChecksumAlgorithm
    CRC32 through boto3, return what arrived.  None when https is asked and
    no certificate can be made."""
    import boto3
    import botocore.config
    captured = []
    handler = type("H", (_CaptureHandler,), {"captured": captured})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    try:
        if https:
            openssl = shutil.which("openssl")
            if not openssl:
                return None
            cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp,
                                                                    "key.pem")
            p = subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048",
                                "-nodes", "-keyout", key, "-out", cert,
                                "-days", "2", "-subj", "/CN=127.0.0.1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if p.returncode != 0:
                return None
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        thread = threading.Thread(target=srv.serve_forever, daemon=True)
        thread.start()
        url = "%s://127.0.0.1:%d" % ("https" if https else "http",
                                     srv.server_address[1])
        set_clock(amz_date)
        client = boto3.client(
            "s3", endpoint_url=url, region_name="us-east-1",
            aws_access_key_id=CAP_AK, aws_secret_access_key=CAP_SK,
            verify=False, config=botocore.config.Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1}))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for key_name, body in bodies:
                client.put_object(Bucket="bucket", Key=key_name, Body=body,
                                  ChecksumAlgorithm="CRC32")
        return captured
    finally:
        srv.shutdown()
        srv.server_close()


CAP_AK = "AKIDCAPTUREEXAMPLE"
CAP_SK = "capture/secret/key/EXAMPLEKEY"
CAP_TIME = "20240229T120000Z"
CAP_SMALL = b"hello, aws-chunked\n"
CAP_LARGE = random.Random(7).randbytes(1024 * 1024 + 1000)


def _capture_request(cap):
    """The captured request as a request file: the headers as sent, the body
    as the HTTP layer hands it over (transfer coding removed)."""
    method, target, _ = cap["request_line"].split(" ")
    return format_request(method, target, cap["headers"], cap["body"])


def boto3_capture(c, tmp):
    """Record what boto3 1.26 / botocore 1.29 sends; returns the request
    files worth giving the tool: [(name, raw, access, secret, time)]."""
    out = []
    import botocore.compat
    print("# boto3 %s / botocore %s, awscrt signers %s"
          % (_boto3_version(), botocore.__version__,
             "in use" if getattr(botocore.compat, "HAS_CRT", False)
             else "not installed"))
    plain = boto3_put(False, [("small.txt", CAP_SMALL)], CAP_TIME, tmp)
    cap = plain[0]
    h = {n.lower(): v for n, v in cap["headers"]}
    print("# over http  : %s" % cap["request_line"])
    for n, v in cap["headers"]:
        print("#   %s: %s" % (n, v))
    print("#   body %r" % cap["wire_body"])
    c.eq("boto3 http: checksum sent as header x-amz-checksum-crc32",
         h.get("x-amz-checksum-crc32"), checksum_b64("crc32", CAP_SMALL))
    c.eq("boto3 http: payload signed (x-amz-content-sha256 = sha256 of body)",
         h.get("x-amz-content-sha256"),
         hashlib.sha256(CAP_SMALL).hexdigest())
    c.ok("boto3 http: no aws-chunked, no Content-MD5, body as is",
         "content-encoding" not in h and "content-md5" not in h
         and cap["wire_body"] == CAP_SMALL)

    tls = boto3_put(True, [("small.txt", CAP_SMALL), ("large.bin", CAP_LARGE)],
                    CAP_TIME, tmp)
    if tls is None:
        print("# over https : not captured (no openssl to make a certificate)")
        return out
    for cap, data in zip(tls, (CAP_SMALL, CAP_LARGE)):
        h = {n.lower(): v for n, v in cap["headers"]}
        label = "boto3 https %d bytes" % len(data)
        print("# over https : %s (%d bytes)" % (cap["request_line"], len(data)))
        for n, v in cap["headers"]:
            print("#   %s: %s" % (n, v))
        print("#   wire body %r%s" % (cap["wire_body"][:160],
                                      "..." if len(cap["wire_body"]) > 160
                                      else ""))
        c.eq(label + ": signed at the fixed time", h.get("x-amz-date"),
             CAP_TIME)
        c.eq(label + ": x-amz-content-sha256",
             h.get("x-amz-content-sha256"), STREAMING_UNSIGNED_TRAILER)
        c.ok(label + ": aws-chunked inside HTTP chunked transfer coding",
             h.get("content-encoding") == "aws-chunked"
             and h.get("transfer-encoding") == "chunked"
             and "content-length" not in h)
        c.eq(label + ": x-amz-trailer", h.get("x-amz-trailer"),
             "x-amz-checksum-crc32")
        c.eq(label + ": x-amz-decoded-content-length",
             h.get("x-amz-decoded-content-length"), str(len(data)))
        sizes = split_sizes(len(data), 1024 * 1024)
        c.eq(label + ": body is our encode_unsigned_trailer byte for byte",
             cap["body"], encode_unsigned_trailer(
                 data, sizes, [checksum_trailer("crc32", data)]))
        raw = _capture_request(cap)
        try:
            r = verify_request(raw, CAP_AK, CAP_SK, now=CAP_TIME)
            c.ok(label + ": oracle verifier accepts it",
                 r["data"] == data and r["mode"] == "unsigned-trailer")
        except VerifyError as e:
            c.ok(label + ": oracle verifier accepts it", False, str(e))
        out.append((label, raw, CAP_AK, CAP_SK, CAP_TIME))
    return out


def _boto3_version():
    try:
        import boto3
        return boto3.__version__
    except Exception:
        return "?"


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------

AK1 = "AKIDCHUNKEDEXAMPLE"
SK1 = "chunked/Secret+Key/EXAMPLEKEY0123456789ab"
AK2 = "AKIDRESIGNEDEXAMPLE"
SK2 = "resigned/Other+Secret/EXAMPLEKEY987654321"
TOKEN1 = "FQoGZXIvYXdzEXAMPLEsessiontokenONE//////////"
TOKEN2 = "FQoGZXIvYXdzEXAMPLEsessiontokenTWO+=+="
T1 = "20240229T235800Z"        # original signing time
T2 = "20240301T000200Z"        # resign time: 4 minutes later, the next day


def _binary_data(n):
    rnd = random.Random(20240229)
    blob = bytearray(rnd.randbytes(n))
    # traps for a parser that searches rather than counts
    trap = b"\r\n0;chunk-signature=" + b"0" * 64 + b"\r\n\r\n\x00\xff"
    for off in (0, 8190, 8192 - len(trap) // 2, n - len(trap)):
        blob[off:off + len(trap)] = trap
    return bytes(blob[:n])


ROUND_TRIP_CASES = [
    ("0 bytes", b"", []),
    ("1 byte", b"x", [1]),
    ("exactly one 64 KiB chunk", bytes(range(256)) * 256, [65536]),
    ("64 KiB chunks + remainder", b"0123456789abcdef" * 8256,
     [65536, 65536, 1024]),
    ("many 8 KiB chunks", b"\x00\x01\x02\xfe\xff" * 21000,
     split_sizes(105000, 8192)),
    ("binary data", _binary_data(20000), [8192, 8192, 3616]),
]


def _algo_for(label):
    return {"exactly one 64 KiB chunk": "crc32c", "many 8 KiB chunks": "sha1",
            "binary data": "sha256"}.get(label, "crc32")


def _replace_body(raw, body):
    m = re.search(rb"\r?\n\r?\n", raw)
    return raw[:m.end()] + body


def _flip_hex(s):
    return s[:10] + ("0" if s[10:11] != "0" else "1") + s[11:]


def negative_cases():
    """(name, request bytes, args, accepted reasons): each must be refused.
    args may carry ak, sk, time, extra (more tool options)."""
    cases = []
    data = ROUND_TRIP_CASES[5][1]
    sizes = ROUND_TRIP_CASES[5][2]
    raw, info = build_request("signed", data, sizes, AK1, SK1, T1)
    body = info["body"]
    sigs = info["signatures"]
    first_data = body.index(b"\r\n") + 2
    second_hdr = first_data + sizes[0] + 2
    second_data = body.index(b"\r\n", second_hdr) + 2

    b = bytearray(body)
    b[second_data + 100] ^= 0x01
    cases.append(("flipped bit in chunk 2 data", _replace_body(raw, bytes(b)),
                  {}, ("chunk-mismatch",)))
    b = body.replace(sigs[0].encode(), _flip_hex(sigs[0]).encode())
    cases.append(("flipped hex digit in chunk 1 signature",
                  _replace_body(raw, b), {}, ("chunk-mismatch",)))
    b = body.replace(sigs[-1].encode(), _flip_hex(sigs[-1]).encode())
    cases.append(("flipped hex digit in the final chunk signature",
                  _replace_body(raw, b), {}, ("chunk-mismatch",)))
    c1 = body[:second_hdr]
    c2 = body[second_hdr:body.index(b"\r\n", second_data + sizes[1]) + 2]
    rest = body[len(c1) + len(c2):]
    cases.append(("chunks 1 and 2 swapped (same sizes)",
                  _replace_body(raw, c2 + c1 + rest), {},
                  ("chunk-mismatch",)))
    cases.append(("body truncated inside chunk 2 data",
                  _replace_body(raw, body[:second_data + 4000]), {},
                  ("chunk-malformed",)))
    last_hdr = body.index(b"e20;chunk-signature")
    b = body[:last_hdr] + b"e21" + body[last_hdr + 3:]
    cases.append(("chunk 3 size one more than its data",
                  _replace_body(raw, b), {}, ("chunk-malformed",)))
    b = body[:second_hdr] + b"2g00" + body[second_hdr + 4:]
    cases.append(("chunk size not hex", _replace_body(raw, b), {},
                  ("chunk-malformed",)))
    b = body[:second_data - 2] + b" \n" + body[second_data:]
    cases.append(("chunk header ends in LF, no CRLF",
                  _replace_body(raw, b), {}, ("chunk-malformed",)))
    cases.append(("body ends inside a chunk header (no CRLF)",
                  _replace_body(raw, body[:second_hdr + 30]), {},
                  ("chunk-malformed",)))
    b = body[:second_hdr] + b"ffffffffffffffff" + body[second_hdr + 4:]
    cases.append(("absurd chunk size ffffffffffffffff",
                  _replace_body(raw, b), {}, ("chunk-malformed", "too-large")))
    b = body[:second_hdr] + b"100000000000000000000" + body[second_hdr + 4:]
    cases.append(("chunk size over 64 bits", _replace_body(raw, b), {},
                  ("chunk-malformed", "too-large")))
    final = body.rindex(b"0;chunk-signature=")
    cases.append(("missing final chunk", _replace_body(raw, body[:final]),
                  {}, ("chunk-malformed",)))
    cases.append(("final chunk without its closing CRLF",
                  _replace_body(raw, body[:-2]), {}, ("chunk-malformed",)))
    cases.append(("bytes after the final chunk",
                  _replace_body(raw, body + b"junk"), {},
                  ("chunk-malformed",)))
    raw_d, _ = build_request("signed", data, sizes, AK1, SK1, T1,
                             decoded_length=len(data) + 1)
    cases.append(("x-amz-decoded-content-length one more (signed)", raw_d, {},
                  ("chunk-malformed",)))
    raw_d, _ = build_request("signed", data, sizes, AK1, SK1, T1,
                             decoded_length=len(data) - 1)
    cases.append(("x-amz-decoded-content-length one less (signed)", raw_d, {},
                  ("chunk-malformed",)))
    cases.append(("wrong secret key", raw, {"sk": SK1 + "x"}, ("mismatch",)))
    cases.append(("unknown access key", raw, {"ak": "AKIDSOMEONEELSE"},
                  ("unknown-key",)))
    auth_sig = info["seed"]["signature"]
    cases.append(("flipped hex digit in the seed signature",
                  raw.replace(auth_sig.encode(), _flip_hex(auth_sig).encode(),
                              1), {}, ("mismatch",)))
    cases.append(("clock 1 hour ahead of the request", raw,
                  {"time": shift_amz_date(T1, 3600)}, ("skew",)))
    cases.append(("clock 1 hour behind the request", raw,
                  {"time": shift_amz_date(T1, -3600)}, ("skew",)))
    cases.append(("clock 1 hour ahead, --max-skew 30m", raw,
                  {"time": shift_amz_date(T1, 3600),
                   "extra": ["--max-skew", "30m"], "oracle_skew": 1800},
                  ("skew",)))
    raw_u = raw.replace(b"Authorization:", b"X-Not-Authorization:")
    cases.append(("no Authorization header", raw_u, {}, ("unsigned",)))
    raw_4a = sigv4a_request(data[:5000], T1)
    if raw_4a is not None:
        cases.append(("SigV4a (AWS4-ECDSA-P256-SHA256) streaming request, "
                      "seed signed by awscrt", raw_4a, {}, ("unsupported",)))
    cases.append(("chunks of 8 KiB over --max-chunk-size 4096",
                  build_request("signed", ROUND_TRIP_CASES[4][1],
                                ROUND_TRIP_CASES[4][2], AK1, SK1, T1)[0],
                  {"extra": ["--max-chunk-size", "4096"],
                   "oracle_max_chunk": 4096}, ("too-large",)))

    # signed trailer
    raw, info = build_request("signed-trailer", data, sizes, AK1, SK1, T1)
    body = info["body"]
    name, value = info["trailers"][0]
    wrong = ("A" if value[0] != "A" else "B") + value[1:]
    b = body.replace(("%s:%s" % (name, value)).encode(),
                     ("%s:%s" % (name, wrong)).encode())
    cases.append(("trailer value changed, old trailer signature",
                  _replace_body(raw, b), {}, ("trailer-mismatch",)))
    raw_w, _ = build_request("signed-trailer", data, sizes, AK1, SK1, T1,
                             trailers=[(name, wrong)])
    cases.append(("wrong checksum value with a valid trailer signature",
                  raw_w, {"checksum": True}, ("trailer-mismatch",)))
    tsig = info["signatures"][-1]
    b = body.replace(tsig.encode(), _flip_hex(tsig).encode())
    cases.append(("flipped hex digit in the trailer signature",
                  _replace_body(raw, b), {}, ("trailer-mismatch",)))
    b = body[:body.index(b"x-amz-trailer-signature:")] + b"\r\n"
    cases.append(("trailer signature line missing", _replace_body(raw, b), {},
                  ("trailer-mismatch", "chunk-malformed")))
    b = bytearray(body)
    b[200] ^= 0x80
    cases.append(("flipped bit in chunk 1 data (signed trailer)",
                  _replace_body(raw, bytes(b)), {}, ("chunk-mismatch",)))
    raw_d, _ = build_request("signed-trailer", data, sizes, AK1, SK1, T1,
                             decoded_length=len(data) + 1)
    cases.append(("x-amz-decoded-content-length one more (signed trailer)",
                  raw_d, {}, ("chunk-malformed",)))

    # unsigned trailer
    raw, info = build_request("unsigned-trailer", data, sizes, AK1, SK1, T1)
    body = info["body"]
    name, value = info["trailers"][0]
    b = body.replace(("%s:%s" % (name, value)).encode(),
                     ("%s:%s" % (name, wrong)).encode())
    cases.append(("unsigned trailer: wrong checksum value",
                  _replace_body(raw, b), {"checksum": True},
                  ("trailer-mismatch",)))
    b = bytearray(body)
    b[300] ^= 0x01
    cases.append(("unsigned trailer: flipped bit in the data",
                  _replace_body(raw, bytes(b)), {"checksum": True},
                  ("trailer-mismatch",)))
    final = body.rindex(b"\r\n0\r\n") + 2
    cases.append(("unsigned trailer: missing final chunk",
                  _replace_body(raw, body[:final]), {}, ("chunk-malformed",)))
    raw_d, _ = build_request("unsigned-trailer", data, sizes, AK1, SK1, T1,
                             decoded_length=len(data) - 1)
    cases.append(("unsigned trailer: x-amz-decoded-content-length one less",
                  raw_d, {}, ("chunk-malformed",)))
    cases.append(("unsigned trailer: wrong secret key", raw,
                  {"sk": SK1 + "x"}, ("mismatch",)))
    assert all(r in REASONS for _, _, _, rs in cases for r in rs)
    return cases


# --------------------------------------------------------------------------
# (c) the tool
# --------------------------------------------------------------------------

_REFUSAL = re.compile(r"^awsgatectl: signature invalid: ([a-z-]+): ")


class Tool:
    def __init__(self, path, workdir):
        self.path = path
        self.dir = workdir
        self.n = 0

    def write(self, raw):
        self.n += 1
        path = os.path.join(self.dir, "req-%03d.txt" % self.n)
        with open(path, "wb") as f:
            f.write(raw)
        return path

    def run(self, args, stdin=None):
        try:
            p = subprocess.run([self.path] + args, input=stdin,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=120)
            return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")
        except OSError as e:
            return 127, b"", "cannot run %s: %s" % (self.path, e)
        except subprocess.TimeoutExpired:
            return 124, b"", "timed out"

    def verify(self, raw, ak, sk, time, extra=()):
        path = self.write(raw)
        return self.run(["sigv4", "verify", "--request", path,
                         "--access-key", ak, "--secret-key", sk,
                         "--time", time] + list(extra))

    def resign(self, raw, ak, sk, ak2, sk2, time, extra=(), stdin=False):
        path = "-" if stdin else self.write(raw)
        return self.run(["sigv4", "resign", "--request", path,
                         "--access-key", ak, "--secret-key", sk,
                         "--new-access-key", ak2, "--new-secret-key", sk2,
                         "--time", time] + list(extra),
                        stdin=raw if stdin else None)


def _why(rc, err):
    err = err.strip().replace("\n", " | ")
    return "exit %d, stderr %r" % (rc, err[:300])


def expect_accept(c, tool, name, raw, ak, sk, time, extra=()):
    rc, _, err = tool.verify(raw, ak, sk, time, extra)
    c.ok(name, rc == 0, _why(rc, err))


def expect_refuse(c, tool, name, raw, ak, sk, time, reasons, extra=()):
    rc, _, err = tool.verify(raw, ak, sk, time, extra)
    lines = [l for l in err.splitlines() if l.strip()]
    m = _REFUSAL.match(lines[0]) if len(lines) == 1 else None
    c.ok(name, rc == 1 and m is not None and m.group(1) in reasons,
         "%s; want exit 1, one line, reason %s" % (_why(rc, err),
                                                  "|".join(reasons)))


def check_resign(c, tool, name, raw, src, ak2, sk2, token2=None,
                 extra=(), stdin=False, src_ak=AK1, src_sk=SK1):
    """Resign raw (built with AK1/SK1 at T1, or src_ak/src_sk) to ak2/sk2 at
    T2 and verify the output with the oracle."""
    opts = list(extra)
    if token2:
        opts += ["--new-session-token", token2]
    rc, out, err = tool.resign(raw, src_ak, src_sk, ak2, sk2, T2, opts, stdin)
    if not c.ok(name + ": exit 0", rc == 0, _why(rc, err)):
        c.ok(name + ": oracle verifies the output with the new key at the "
             "new time", False, "no output to verify")
        return
    try:
        r = verify_request(out, ak2, sk2, now=T2)
    except VerifyError as e:
        c.ok(name + ": oracle verifies the output with the new key at the "
             "new time", False, "%s: %s" % (e.reason, e.detail))
        return
    problems = []
    if r["amz_date"] != T2:
        problems.append("x-amz-date %s, want %s" % (r["amz_date"], T2))
    if r["data"] != src["data"]:
        problems.append("decoded data differs")
    if r["trailers"] != src["trailers"]:
        problems.append("trailers %r, want %r" % (r["trailers"],
                                                  src["trailers"]))
    if r["chunk_sizes"] != src["chunk_sizes"]:
        problems.append("chunk sizes %r, want %r" % (r["chunk_sizes"][:8],
                                                     src["chunk_sizes"][:8]))
    if r["mode"] != src["mode"]:
        problems.append("mode %s, want %s" % (r["mode"], src["mode"]))
    if src["mode"] == "unsigned-trailer" and r["body"] != src["body"]:
        problems.append("unsigned-trailer body not passed through unchanged")
    head = out[:out.find(b"\r\n\r\n")] if b"\r\n\r\n" in out else out
    if b"\n" in head.replace(b"\r\n", b""):
        problems.append("head is not CRLF")
    tok = _header(r["headers"], "x-amz-security-token")
    if tok != token2:
        problems.append("x-amz-security-token %r, want %r" % (tok, token2))
    c.ok(name + ": oracle verifies the output with the new key at the new "
         "time", not problems, "; ".join(problems))


def tool_tests(c, tool, captured):
    # our verify accepts the oracle's bodies
    data_dir = example_data_dir()
    try:
        with open(os.path.join(data_dir, "request.txt"), "rb") as f:
            ex = f.read()
        expect_accept(c, tool, "verify accepts AWS's example "
                      "(tests/data/sigv4-chunked/aws-s3-example)", ex, EX_AK,
                      EX_SK, EX_DATE)
        expect_refuse(c, tool, "verify refuses AWS's example with another "
                      "secret", ex, EX_AK, EX_SK.lower(), EX_DATE,
                      ("mismatch",))
    except OSError as e:
        c.ok("verify accepts AWS's example", False, str(e))
    raw, _, _ = trailer_example_request()
    expect_accept(c, tool, "verify accepts AWS's trailer example", raw, EX_AK,
                  EX_SK, EX_DATE)

    sources = {}
    for mode in MODES:
        for label, data, sizes in ROUND_TRIP_CASES:
            raw, info = build_request(mode, data, sizes, AK1, SK1, T1,
                                      algo=_algo_for(label))
            sources[(mode, label)] = (raw, verify_request(raw, AK1, SK1))
            expect_accept(c, tool, "verify accepts %s %s" % (mode, label),
                          raw, AK1, SK1, T1)
    raw, _ = build_request("signed-trailer", ROUND_TRIP_CASES[3][1],
                           ROUND_TRIP_CASES[3][2], AK1, SK1, T1, eol=b"\n")
    expect_accept(c, tool, "verify accepts a request file with LF line ends",
                  raw, AK1, SK1, T1)
    raw, _ = build_request("signed", b"token", [5], AK1, SK1, T1,
                           token=TOKEN1)
    expect_accept(c, tool, "verify accepts a session-token request", raw,
                  AK1, SK1, T1)
    raw = sources[("signed", "binary data")][0]
    expect_accept(c, tool, "verify accepts 4 minutes of skew", raw, AK1, SK1,
                  shift_amz_date(T1, 240))
    expect_accept(c, tool, "verify accepts 14 minutes of skew with --max-skew "
                  "15m", raw, AK1, SK1, shift_amz_date(T1, 840),
                  ["--max-skew", "15m"])
    expect_accept(c, tool, "verify accepts 1 hour of skew with --max-skew 2h",
                  raw, AK1, SK1, shift_amz_date(T1, 3600),
                  ["--max-skew", "2h"])
    for label, raw, ak, sk, t in captured:
        expect_accept(c, tool, "verify accepts %s (headers as sent, HTTP "
                      "transfer coding removed)" % label, raw, ak, sk, t)

    # refusals
    for name, raw, args, reasons in negative_cases():
        if args.get("checksum"):
            # A checksum value that does not match the data, where every
            # signature holds: outside the verify contract ("exit 0 when the
            # signature holds"); S3 itself answers BadDigest.  Reported, not
            # counted.
            rc, _, err = tool.verify(raw, AK1, SK1, T1)
            print("info verify, checksum value not matching the data: %s: "
                  "%s" % (name, _why(rc, err)))
            continue
        expect_refuse(c, tool, "verify refuses: %s" % name, raw,
                      args.get("ak", AK1), args.get("sk", SK1),
                      args.get("time", T1), reasons, args.get("extra", ()))

    # resign
    for (mode, label), (raw, src) in sources.items():
        check_resign(c, tool, "resign %s %s" % (mode, label), raw, src, AK2,
                     SK2)
    raw, src = sources[("signed-trailer", "binary data")]
    check_resign(c, tool, "resign signed-trailer binary data with a new "
                 "session token", raw, src, AK2, SK2, token2=TOKEN2)
    raw, src = sources[("signed", "many 8 KiB chunks")]
    check_resign(c, tool, "resign signed many 8 KiB chunks from stdin", raw,
                 src, AK2, SK2, stdin=True)
    raw, _ = build_request("signed-trailer", ROUND_TRIP_CASES[3][1],
                           ROUND_TRIP_CASES[3][2], AK1, SK1, T1,
                           token=TOKEN1)
    check_resign(c, tool, "resign a session-token request to plain keys",
                 raw, verify_request(raw, AK1, SK1), AK2, SK2,
                 extra=["--session-token", TOKEN1])
    raw, _ = build_request("signed", ROUND_TRIP_CASES[5][1],
                           ROUND_TRIP_CASES[5][2], AK1, SK1, T1, eol=b"\n")
    check_resign(c, tool, "resign an LF request file (output CRLF)", raw,
                 verify_request(raw, AK1, SK1), AK2, SK2)
    raw, src = sources[("signed", "binary data")]
    rc, out, err = tool.resign(raw, AK1, SK1 + "x", AK2, SK2, T2)
    lines = [l for l in err.splitlines() if l.strip()]
    m = _REFUSAL.match(lines[0]) if len(lines) == 1 else None
    c.ok("resign refuses a request the first keys do not sign (mismatch)",
         rc == 1 and m is not None and m.group(1) == "mismatch" and not out,
         _why(rc, err))
    raw, src = sources[("signed", "many 8 KiB chunks")]
    rc, out, err = tool.resign(raw, AK1, SK1, AK2, SK2, T2,
                               ["--max-chunk-size", "4096"])
    lines = [l for l in err.splitlines() if l.strip()]
    m = _REFUSAL.match(lines[0]) if len(lines) == 1 else None
    c.ok("resign --max-chunk-size 4096 refuses 8 KiB chunks (too-large)",
         rc == 1 and m is not None
         and m.group(1) in ("too-large", "chunk-malformed"), _why(rc, err))
    b = bytearray(raw)
    b[-5000] ^= 0x04
    rc, out, err = tool.resign(bytes(b), AK1, SK1, AK2, SK2, T2)
    lines = [l for l in err.splitlines() if l.strip()]
    m = _REFUSAL.match(lines[0]) if len(lines) == 1 else None
    c.ok("resign refuses a flipped data bit (chunk-mismatch)",
         rc == 1 and m is not None and m.group(1) == "chunk-mismatch",
         _why(rc, err))


# --------------------------------------------------------------------------

def main(argv):
    if "--write-example-data" in argv:
        i = argv.index("--write-example-data")
        out_dir = argv[i + 1] if len(argv) > i + 1 else example_data_dir()
        os.makedirs(out_dir, exist_ok=True)
        for name, content in example_data_files().items():
            with open(os.path.join(out_dir, name), "wb") as f:
                f.write(content)
        print("wrote %s" % out_dir)
        return 0
    only_self = "--self-test-only" in argv
    c = Checks()
    tmp = tempfile.mkdtemp(prefix="sigv4-chunked.")
    keep = os.environ.get("AWSGATE_KEEP_DIR")
    try:
        self_test(c)
        try:
            captured = boto3_capture(c, tmp)
        except Exception as e:   # boto3 missing or a local network problem
            c.ok("boto3 capture", False, "%s: %s" % (type(e).__name__, e))
            captured = []
        if not only_self:
            workdir = keep or os.path.join(tmp, "requests")
            os.makedirs(workdir, exist_ok=True)
            tool = Tool(os.environ.get("AWSGATECTL") or "./awsgatectl",
                        workdir)
            tool_tests(c, tool, captured)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%s: %d checks, %d failed" % (NAME, c.n, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


# ----------------------------------------------------------------------------
# Ambiguities, and how they were settled
#
# 1. The trailer's canonical form.  aws-c-auth (AWS's C signer,
#    source/aws_signing.c, s_build_canonical_request_trailing_headers) hashes
#    the trailers through its canonical-header routine: "name:value\n" per
#    trailer, sorted, the last line also ending in "\n".  With that,
#    sha256 = 1e376db7... for "x-amz-checksum-crc32c:sOO8/Q==\n" and the
#    trailer example's signature is d81f82fc...; without the final "\n" (or
#    with CRLF) nothing published is reproduced.
# 2. The trailer's string to sign starts with AWS4-HMAC-SHA256-TRAILER (the
#    page, and aws-c-auth).  The trailer signature that several projects quote
#    from the page, 63bddb24..., is reproduced only by putting
#    AWS4-HMAC-SHA256-PAYLOAD there instead; the oracle follows the documented
#    prefix and prints both in the self-test.
# 3. No empty line between "0;chunk-signature=SIG\r\n" and the trailers: the
#    trailer example's Content-Length 66946 is exactly
#    66822 + len("x-amz-checksum-crc32c:sOO8/Q==\r\n")
#          + len("x-amz-trailer-signature:" + 64 hex + "\r\n") + len("\r\n").
#    Without trailers the body ends "0;chunk-signature=SIG\r\n\r\n" (66824).
# 4. STREAMING-UNSIGNED-PAYLOAD-TRAILER: "0\r\n", trailers, "\r\n", as
#    botocore's AwsChunkedWrapper writes it (checked byte for byte against a
#    live boto3 capture).  botocore only uses it over https; over http it
#    puts x-amz-checksum-crc32 in a header and signs the body's SHA-256.
#    Over https boto3 also sends Transfer-Encoding: chunked (signed) and no
#    Content-Length, so the aws-chunked body travels inside HTTP chunked
#    framing; the request file given to the tool holds the body as the HTTP
#    layer hands it over.
# 5. Header names in the signed trailer are compared case-insensitively and
#    lower-cased in the canonical form; values are trimmed.  The order of
#    the canonical lines is by name (only one trailer is ever sent here).
# ----------------------------------------------------------------------------
