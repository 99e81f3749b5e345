# SPDX-License-Identifier: Apache-2.0
# Generic AWS services of the fake: S3-shaped REST-XML (buckets, objects,
# ranges, multipart uploads, Content-MD5 and flexible checksums, kept in
# memory), DynamoDB-shaped JSON (X-Amz-Target), Lambda-shaped REST-JSON and a
# generic query/XML answer; and the signature errors in each protocol's shape.

import base64
import email.utils
import hashlib
import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote, unquote

import sigcheck
from proto import (Response, error_response, json_response, x,
                   xml_response)

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
S3_HOST = re.compile(r"(?:(?P<bucket>.+)\.)?(?P<ep>s3(?:-(?!website)"
                     r"[a-z0-9-]+)?)(?:\.dualstack)?(?:\.(?P<region>[a-z]{2}"
                     r"(?:-[a-z]+)+-\d))?\.amazonaws\.com(?:\.cn)?")
# AWS's rule for multipart uploads: every part but the last at least 5 MiB.
MIN_PART = 5 * 1024 * 1024
MAX_PARTS = 10000
CHECKSUM_ALGOS = ("crc32", "crc32c", "sha1", "sha256")


def is_s3_host(host):
    return bool(S3_HOST.fullmatch(host))


def _bucket_key(req):
    m = S3_HOST.fullmatch(req.host)
    path = unquote(req.raw_path)
    if m and m.group("bucket"):
        return m.group("bucket"), path[1:] or None
    parts = path[1:].split("/", 1)
    bucket = parts[0] or None
    key = parts[1] if len(parts) == 2 and parts[1] != "" else None
    return bucket, key


def s3_action(req):
    bucket, key = _bucket_key(req)
    q = dict(req.query)
    m = req.method
    if bucket is None:
        return "ListBuckets" if m == "GET" else "Unknown"
    if key is None:
        if m == "PUT":
            return "CreateBucket"
        if m == "DELETE":
            return "DeleteBucket"
        if m == "HEAD":
            return "HeadBucket"
        if m == "GET":
            if "location" in q:
                return "GetBucketLocation"
            return "ListObjectsV2" if q.get("list-type") == "2" \
                else "ListObjects"
        return "Unknown"
    if m == "PUT":
        if "uploadId" in q and "partNumber" in q:
            return "UploadPart"
        return "PutObject"
    if m == "GET":
        return "GetObject"
    if m == "HEAD":
        return "HeadObject"
    if m == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in q else "DeleteObject"
    if m == "POST":
        if "uploads" in q:
            return "CreateMultipartUpload"
        if "uploadId" in q:
            return "CompleteMultipartUpload"
    return "Unknown"


LAMBDA_PATH = re.compile(r"/2015-03-31/functions/(?:([^/]+)(/invocations)?)?/?")


def lambda_action(req):
    m = LAMBDA_PATH.fullmatch(req.raw_path)
    if not m:
        return "Unknown"
    if m.group(1) is None:
        return "ListFunctions" if req.method == "GET" else "Unknown"
    if m.group(2):
        return "Invoke" if req.method == "POST" else "Unknown"
    return "GetFunction" if req.method == "GET" else "Unknown"


# --------------------------------------------------------------------------
# Signature errors, per protocol
# --------------------------------------------------------------------------

# verdict -> (query/json code, status) as AWS's services answer.
_QUERY = {
    "unsigned": ("MissingAuthenticationToken", 403),
    "malformed": ("IncompleteSignature", 400),
    "unknown-key": ("InvalidClientTokenId", 403),
    "bad-token": ("InvalidClientTokenId", 403),
    "expired-token": ("ExpiredToken", 400),
    "skew": ("SignatureDoesNotMatch", 403),
    "expired": ("SignatureDoesNotMatch", 403),
    "mismatch": ("SignatureDoesNotMatch", 403),
    "payload-mismatch": ("SignatureDoesNotMatch", 403),
    "chunk-mismatch": ("SignatureDoesNotMatch", 403),
    "chunk-malformed": ("IncompleteSignature", 400),
}
_JSON = {
    "unsigned": ("MissingAuthenticationTokenException", 400),
    "malformed": ("IncompleteSignatureException", 400),
    "unknown-key": ("UnrecognizedClientException", 400),
    "bad-token": ("UnrecognizedClientException", 400),
    "expired-token": ("ExpiredTokenException", 400),
    "skew": ("InvalidSignatureException", 400),
    "expired": ("InvalidSignatureException", 400),
    "mismatch": ("InvalidSignatureException", 400),
    "payload-mismatch": ("InvalidSignatureException", 400),
    "chunk-mismatch": ("InvalidSignatureException", 400),
    "chunk-malformed": ("SerializationException", 400),
}
_S3 = {
    "unsigned": ("AccessDenied", 403),
    "malformed": ("AuthorizationHeaderMalformed", 400),
    "unknown-key": ("InvalidAccessKeyId", 403),
    "bad-token": ("InvalidToken", 400),
    "expired-token": ("ExpiredToken", 400),
    "skew": ("RequestTimeTooSkewed", 403),
    "expired": ("AccessDenied", 403),
    "mismatch": ("SignatureDoesNotMatch", 403),
    "payload-mismatch": ("XAmzContentSHA256Mismatch", 400),
    "chunk-mismatch": ("SignatureDoesNotMatch", 403),
    "chunk-malformed": ("IncompleteBody", 400),
}


def auth_error(req, v):
    proto = req.protocol
    if proto == "s3":
        code, status = _S3[v.verdict]
        msg = v.message
        if v.verdict == "unknown-key":
            msg = ("The AWS Access Key Id you provided does not exist in our "
                   "records.")
        elif v.verdict == "bad-token":
            msg = "The provided token is malformed or otherwise invalid."
        elif v.verdict == "expired-token":
            msg = "The provided token has expired."
    elif proto in ("json", "rest-json"):
        code, status = _JSON[v.verdict]
        if proto == "rest-json" and code == "InvalidSignatureException":
            status = 403
        msg = v.message
    else:
        code, status = _QUERY[v.verdict]
        msg = v.message
    return error_response(proto if proto != "plain" else "query", status,
                          code, msg, req.request_id)


# --------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------

class Store:
    def __init__(self, config):
        self.lock = threading.Lock()
        self.buckets = {}
        for b in config.get("buckets", []):
            self.buckets[b] = {"created": time.time(), "objects": {},
                               "uploads": {}}
        self.tables = {}
        for t in config.get("dynamodb_tables", []):
            self.tables[t["name"]] = {"key": list(t["key"]), "items": {},
                                      "created": time.time()}
        self.functions = list(config.get("lambda_functions", []))
        self.upload_seq = 0


def dispatch(app, req):
    if req.protocol == "s3":
        return s3(app, req)
    if req.protocol == "json":
        return json_service(app, req)
    if req.protocol == "rest-json":
        return lambda_service(app, req)
    return query_service(app, req)


# --------------------------------------------------------------------------
# S3
# --------------------------------------------------------------------------

class S3Error(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _http_date(t):
    return email.utils.formatdate(t, usegmt=True)


def _iso_ms(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


def _xml(status, body, req, headers=()):
    return Response(status, [("Content-Type", "application/xml"),
                             ("x-amz-request-id", req.request_id)]
                    + list(headers),
                    '<?xml version="1.0" encoding="UTF-8"?>\n' + body)


def _empty(status, req, headers=()):
    return Response(status, [("x-amz-request-id", req.request_id)]
                    + list(headers), b"")


def _check_payload(req, data):
    """Content-MD5 and flexible checksums (header or trailer).  Returns the
    checksums to keep {algo: b64}."""
    md5 = req.header("content-md5")
    if md5 is not None:
        bad = sigcheck.content_md5_ok(md5, data)
        if bad == "invalid":
            raise S3Error(400, "InvalidDigest", "The Content-MD5 you "
                          "specified was invalid.")
        if bad == "bad":
            raise S3Error(400, "BadDigest", "The Content-MD5 you specified "
                          "did not match what we received.")
    given = {}
    for n, v in req.headers:
        ln = n.lower()
        if ln.startswith("x-amz-checksum-") and ln != "x-amz-checksum-mode" \
                and ln != "x-amz-checksum-algorithm":
            given[ln[len("x-amz-checksum-"):]] = v
    announced = [t.strip().lower() for t in
                 (req.header("x-amz-trailer") or "").split(",") if t.strip()]
    trailers = dict(req.verdict.trailers)
    for name in announced:
        if name not in trailers:
            raise S3Error(400, "IncompleteBody", "The trailer %s announced "
                          "in x-amz-trailer was not sent" % name)
    for name, v in trailers.items():
        if name.startswith("x-amz-checksum-"):
            given[name[len("x-amz-checksum-"):]] = v
    kept = {}
    for algo, value in given.items():
        if algo not in CHECKSUM_ALGOS:
            raise S3Error(400, "InvalidRequest", "x-amz-checksum-%s is not a "
                          "supported checksum" % algo)
        if sigcheck.checksum_b64(algo, data) != value.strip():
            raise S3Error(400, "BadDigest", "The %s you specified did not "
                          "match the calculated checksum." % algo.upper())
        kept[algo] = value.strip()
    return kept


def _meta_headers(obj):
    h = [("Content-Type", obj["content_type"]), ("ETag", obj["etag"]),
         ("Last-Modified", _http_date(obj["modified"])),
         ("Accept-Ranges", "bytes")]
    h += [("x-amz-meta-" + k, v) for k, v in obj["meta"].items()]
    return h


def _range(spec, size):
    m = re.fullmatch(r"bytes=(\d*)-(\d*)", spec.strip())
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None          # ignored, as S3 ignores a range it cannot parse
    a, b = m.group(1), m.group(2)
    if a == "":
        n = int(b)
        if n == 0:
            raise S3Error(416, "InvalidRange", "The requested range is not "
                          "satisfiable")
        return max(0, size - n), size - 1
    start = int(a)
    end = min(int(b), size - 1) if b else size - 1
    if start >= size or (b and int(b) < start):
        raise S3Error(416, "InvalidRange", "The requested range is not "
                      "satisfiable")
    return start, end


def _list(req, bucket, name, v2):
    q = dict(req.query)
    prefix = q.get("prefix", "")
    delim = q.get("delimiter", "")
    try:
        max_keys = int(q.get("max-keys", "1000"))
    except ValueError:
        raise S3Error(400, "InvalidArgument", "max-keys must be an integer")
    max_keys = max(0, min(max_keys, 1000))
    enc = q.get("encoding-type") == "url"
    start = ""
    if v2:
        if "continuation-token" in q:
            try:
                start = base64.urlsafe_b64decode(
                    q["continuation-token"].encode()).decode()
            except (ValueError, UnicodeDecodeError):
                raise S3Error(400, "InvalidArgument", "The continuation token "
                              "provided is incorrect")
        elif "start-after" in q:
            start = q["start-after"]
    else:
        start = q.get("marker", "")
    contents, prefixes, last, truncated = [], [], None, False
    for key in sorted(bucket["objects"]):
        if not key.startswith(prefix) or (start and key <= start):
            continue
        if delim:
            i = key.find(delim, len(prefix))
            if i >= 0:
                cp = key[:i + len(delim)]
                if cp in prefixes or (start and cp <= start):
                    continue
                if len(contents) + len(prefixes) >= max_keys:
                    truncated = True
                    break
                prefixes.append(cp)
                last = cp
                continue
        if len(contents) + len(prefixes) >= max_keys:
            truncated = True
            break
        contents.append((key, bucket["objects"][key]))
        last = key

    def k(s):
        return x(quote(s, safe="/") if enc else s)
    out = ['<ListBucketResult xmlns="%s">' % S3_NS, "<Name>%s</Name>" % x(name),
           "<Prefix>%s</Prefix>" % k(prefix),
           "<MaxKeys>%d</MaxKeys>" % max_keys]
    if delim:
        out.append("<Delimiter>%s</Delimiter>" % k(delim))
    if enc:
        out.append("<EncodingType>url</EncodingType>")
    out.append("<IsTruncated>%s</IsTruncated>" % str(truncated).lower())
    if v2:
        out.append("<KeyCount>%d</KeyCount>" % (len(contents) + len(prefixes)))
        if "continuation-token" in q:
            out.append("<ContinuationToken>%s</ContinuationToken>"
                       % x(q["continuation-token"]))
        if "start-after" in q:
            out.append("<StartAfter>%s</StartAfter>" % k(q["start-after"]))
        if truncated:
            out.append("<NextContinuationToken>%s</NextContinuationToken>"
                       % base64.urlsafe_b64encode(last.encode()).decode())
    else:
        out.append("<Marker>%s</Marker>" % k(q.get("marker", "")))
        if truncated:
            out.append("<NextMarker>%s</NextMarker>" % k(last))
    for key, obj in contents:
        out.append("<Contents><Key>%s</Key><LastModified>%s</LastModified>"
                   "<ETag>%s</ETag><Size>%d</Size><StorageClass>STANDARD"
                   "</StorageClass></Contents>"
                   % (k(key), _iso_ms(obj["modified"]), x(obj["etag"]),
                      len(obj["data"])))
    for cp in prefixes:
        out.append("<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>"
                   % k(cp))
    out.append("</ListBucketResult>")
    return _xml(200, "".join(out), req)


def _complete(req, bucket, key, upload_id):
    up = bucket["uploads"].get(upload_id)
    if up is None or up["key"] != key:
        raise S3Error(404, "NoSuchUpload", "The specified upload does not "
                      "exist. The upload ID may be invalid, or the upload "
                      "may have been aborted or completed.")
    try:
        root = ET.fromstring(req.verdict.body)
    except ET.ParseError:
        raise S3Error(400, "MalformedXML", "The XML you provided was not "
                      "well-formed or did not validate against our published "
                      "schema")
    parts = []
    for el in root.iter():
        if el.tag.split("}")[-1] != "Part":
            continue
        fields = {c.tag.split("}")[-1]: (c.text or "") for c in el}
        try:
            parts.append((int(fields.get("PartNumber", "")),
                          fields.get("ETag", "").strip()))
        except ValueError:
            raise S3Error(400, "MalformedXML", "PartNumber is not a number")
    if not parts:
        raise S3Error(400, "MalformedXML", "The XML you provided was not "
                      "well-formed or did not validate against our published "
                      "schema")
    nums = [n for n, _ in parts]
    if nums != sorted(set(nums)):
        raise S3Error(400, "InvalidPartOrder", "The list of parts was not in "
                      "ascending order. The parts list must be specified in "
                      "order by part number.")
    data, digests = [], []
    for i, (n, etag) in enumerate(parts):
        have = up["parts"].get(n)
        if have is None or have["etag"].strip('"') != etag.strip('"'):
            raise S3Error(400, "InvalidPart", "One or more of the specified "
                          "parts could not be found. The part may not have "
                          "been uploaded, or the specified entity tag may not "
                          "match the part's entity tag.")
        if i < len(parts) - 1 and len(have["data"]) < MIN_PART:
            raise S3Error(400, "EntityTooSmall", "Your proposed upload is "
                          "smaller than the minimum allowed size")
        data.append(have["data"])
        digests.append(hashlib.md5(have["data"]).digest())
    etag = '"%s-%d"' % (hashlib.md5(b"".join(digests)).hexdigest(),
                        len(parts))
    bucket["objects"][key] = {"data": b"".join(data), "etag": etag,
                              "content_type": up["content_type"],
                              "meta": up["meta"], "modified": time.time(),
                              "checksums": {}}
    del bucket["uploads"][upload_id]
    return _xml(200, '<CompleteMultipartUploadResult xmlns="%s">'
                "<Location>https://%s/%s</Location><Bucket>%s</Bucket>"
                "<Key>%s</Key><ETag>%s</ETag></CompleteMultipartUploadResult>"
                % (S3_NS, x(req.host), x(quote(key)), x(req_bucket(req)),
                   x(key), x(etag)), req)


def req_bucket(req):
    return _bucket_key(req)[0]


def s3(app, req):
    try:
        return _s3(app, req)
    except S3Error as e:
        return error_response("s3", e.status, e.code, e.message,
                              req.request_id)


def _s3(app, req):
    store = app.store
    name, key = _bucket_key(req)
    action = req.action
    q = dict(req.query)
    data = req.verdict.body
    with store.lock:
        if action == "ListBuckets":
            rows = "".join("<Bucket><Name>%s</Name><CreationDate>%s"
                           "</CreationDate></Bucket>"
                           % (x(n), _iso_ms(b["created"]))
                           for n, b in sorted(store.buckets.items()))
            return _xml(200, '<ListAllMyBucketsResult xmlns="%s"><Owner><ID>'
                        'fakeaws</ID><DisplayName>fakeaws</DisplayName>'
                        '</Owner><Buckets>%s</Buckets>'
                        '</ListAllMyBucketsResult>' % (S3_NS, rows), req)
        if action == "CreateBucket":
            if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", name):
                raise S3Error(400, "InvalidBucketName", "The specified bucket "
                              "is not valid.")
            # us-east-1 answers 200 to its owner re-creating a bucket.
            if name in store.buckets and req.verdict.region == "us-east-1":
                return _empty(200, req, [("Location", "/" + name)])
            if name in store.buckets:
                raise S3Error(409, "BucketAlreadyOwnedByYou", "Your previous "
                              "request to create the named bucket succeeded "
                              "and you already own it.")
            store.buckets[name] = {"created": time.time(), "objects": {},
                                   "uploads": {}}
            return _empty(200, req, [("Location", "/" + name)])
        bucket = store.buckets.get(name)
        if bucket is None:
            if req.method == "HEAD":
                return _empty(404, req)
            raise S3Error(404, "NoSuchBucket", "The specified bucket does not "
                          "exist")
        if action == "HeadBucket":
            return _empty(200, req, [("x-amz-bucket-region",
                                      req.verdict.region or "us-east-1")])
        if action == "DeleteBucket":
            if bucket["objects"]:
                raise S3Error(409, "BucketNotEmpty", "The bucket you tried to "
                              "delete is not empty")
            del store.buckets[name]
            return _empty(204, req)
        if action == "GetBucketLocation":
            region = req.verdict.region or "us-east-1"
            return _xml(200, '<LocationConstraint xmlns="%s">%s'
                        '</LocationConstraint>'
                        % (S3_NS, "" if region == "us-east-1" else x(region)),
                        req)
        if action in ("ListObjectsV2", "ListObjects"):
            return _list(req, bucket, name, action == "ListObjectsV2")
        if action == "PutObject":
            if req.header("x-amz-copy-source"):
                raise S3Error(501, "NotImplemented", "CopyObject is not "
                              "played by this fake")
            sums = _check_payload(req, data)
            meta = {n.lower()[len("x-amz-meta-"):]: v for n, v in req.headers
                    if n.lower().startswith("x-amz-meta-")}
            obj = {"data": data, "etag": '"%s"' % hashlib.md5(data)
                   .hexdigest(), "content_type": req.header("content-type") or
                   "binary/octet-stream", "meta": meta,
                   "modified": time.time(), "checksums": sums}
            bucket["objects"][key] = obj
            h = [("ETag", obj["etag"])]
            h += [("x-amz-checksum-" + a, v) for a, v in sums.items()]
            return _empty(200, req, h)
        if action in ("GetObject", "HeadObject"):
            obj = bucket["objects"].get(key)
            if obj is None:
                if action == "HeadObject":
                    return _empty(404, req)
                raise S3Error(404, "NoSuchKey", "The specified key does not "
                              "exist.")
            body, status = obj["data"], 200
            h = _meta_headers(obj)
            rng = req.header("range")
            span = _range(rng, len(body)) if rng else None
            if span is not None:
                a, b = span
                body = body[a:b + 1]
                status = 206
                h.append(("Content-Range", "bytes %d-%d/%d"
                          % (a, b, len(obj["data"]))))
            elif (req.header("x-amz-checksum-mode") or "").upper() == \
                    "ENABLED":
                h += [("x-amz-checksum-" + a, v)
                      for a, v in obj["checksums"].items()]
            h.append(("x-amz-request-id", req.request_id))
            if action == "HeadObject":
                r = Response(status, h + [("Content-Length", str(len(body)))])
                r.head_length = 0
                return r
            return Response(status, h, body)
        if action == "DeleteObject":
            bucket["objects"].pop(key, None)
            return _empty(204, req)
        if action == "CreateMultipartUpload":
            store.upload_seq += 1
            uid = base64.urlsafe_b64encode(hashlib.sha256(
                ("%s/%s/%d/%f" % (name, key, store.upload_seq, time.time()))
                .encode()).digest()).decode().rstrip("=")
            meta = {n.lower()[len("x-amz-meta-"):]: v for n, v in req.headers
                    if n.lower().startswith("x-amz-meta-")}
            bucket["uploads"][uid] = {
                "key": key, "parts": {}, "meta": meta,
                "content_type": req.header("content-type") or
                "binary/octet-stream"}
            return _xml(200, '<InitiateMultipartUploadResult xmlns="%s">'
                        "<Bucket>%s</Bucket><Key>%s</Key><UploadId>%s"
                        "</UploadId></InitiateMultipartUploadResult>"
                        % (S3_NS, x(name), x(key), uid), req)
        if action == "UploadPart":
            up = bucket["uploads"].get(q["uploadId"])
            if up is None or up["key"] != key:
                raise S3Error(404, "NoSuchUpload", "The specified upload does "
                              "not exist.")
            if not q["partNumber"].isdigit() or \
                    not 1 <= int(q["partNumber"]) <= MAX_PARTS:
                raise S3Error(400, "InvalidArgument", "Part number must be an "
                              "integer between 1 and 10000, inclusive")
            sums = _check_payload(req, data)
            etag = '"%s"' % hashlib.md5(data).hexdigest()
            up["parts"][int(q["partNumber"])] = {"data": data, "etag": etag}
            h = [("ETag", etag)]
            h += [("x-amz-checksum-" + a, v) for a, v in sums.items()]
            return _empty(200, req, h)
        if action == "CompleteMultipartUpload":
            return _complete(req, bucket, key, q["uploadId"])
        if action == "AbortMultipartUpload":
            if bucket["uploads"].pop(q["uploadId"], None) is None:
                raise S3Error(404, "NoSuchUpload", "The specified upload does "
                              "not exist.")
            return _empty(204, req)
    raise S3Error(501, "NotImplemented", "%s %s is not played by this fake"
                  % (req.method, req.raw_path))


# --------------------------------------------------------------------------
# JSON (X-Amz-Target): DynamoDB-shaped
# --------------------------------------------------------------------------

class JsonError(Exception):
    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _table_desc(name, t, account, region):
    return {"TableName": name, "TableStatus": "ACTIVE",
            "KeySchema": [{"AttributeName": k, "KeyType":
                           "HASH" if i == 0 else "RANGE"}
                          for i, k in enumerate(t["key"])],
            "ItemCount": len(t["items"]),
            "CreationDateTime": t["created"],
            "TableArn": "arn:aws:dynamodb:%s:%s:table/%s" % (region, account,
                                                            name)}


def _item_key(t, attrs, what):
    try:
        return json.dumps([attrs[k] for k in t["key"]], sort_keys=True)
    except (KeyError, TypeError):
        raise JsonError("ValidationException", "The provided key element "
                        "does not match the schema" if what == "Key" else
                        "One or more parameter values were invalid: Missing "
                        "the key %s in the item" % ", ".join(t["key"]))


def dynamodb(app, req, action, body):
    store = app.store
    account = req.verdict.caller.account
    region = req.verdict.region
    with store.lock:
        if action == "ListTables":
            return {"TableNames": sorted(store.tables)}
        name = body.get("TableName")
        if not isinstance(name, str) or not 3 <= len(name) <= 255:
            raise JsonError("ValidationException", "1 validation error "
                            "detected: Value at 'tableName' failed to satisfy "
                            "constraint: Member must have length 3..255")
        if action == "CreateTable":
            if name in store.tables:
                raise JsonError("ResourceInUseException", "Table already "
                                "exists: %s" % name)
            ks = body.get("KeySchema") or []
            store.tables[name] = {"key": [k["AttributeName"] for k in ks],
                                  "items": {}, "created": time.time()}
            return {"TableDescription": _table_desc(
                name, store.tables[name], account, region)}
        t = store.tables.get(name)
        if t is None:
            raise JsonError("ResourceNotFoundException", "Requested resource "
                            "not found")
        if action == "DescribeTable":
            return {"Table": _table_desc(name, t, account, region)}
        if action == "PutItem":
            item = body.get("Item")
            if not isinstance(item, dict):
                raise JsonError("ValidationException", "Item is required")
            k = _item_key(t, item, "Item")
            old = t["items"].get(k)
            t["items"][k] = item
            if body.get("ReturnValues") == "ALL_OLD" and old:
                return {"Attributes": old}
            return {}
        if action in ("GetItem", "DeleteItem"):
            k = _item_key(t, body.get("Key") or {}, "Key")
            item = t["items"].get(k)
            if action == "DeleteItem":
                t["items"].pop(k, None)
                return {"Attributes": item} if item and body.get(
                    "ReturnValues") == "ALL_OLD" else {}
            return {"Item": item} if item else {}
    raise JsonError("UnknownOperationException", "Unknown operation %s"
                    % action)


def json_service(app, req):
    ctype = (req.header("content-type") or "").split(";")[0].strip()
    target = req.header("x-amz-target")
    prefix = target.rpartition(".")[0]
    rtype = ctype if ctype in ("application/x-amz-json-1.0",
                               "application/x-amz-json-1.1") \
        else "application/x-amz-json-1.0"
    try:
        if ctype not in ("application/x-amz-json-1.0",
                         "application/x-amz-json-1.1"):
            raise JsonError("SerializationException", "Content-Type must be "
                            "application/x-amz-json-1.0 or 1.1, not %r"
                            % ctype)
        try:
            body = json.loads(req.verdict.body or b"{}")
        except ValueError:
            raise JsonError("SerializationException", "the body is not JSON")
        if not isinstance(body, dict):
            raise JsonError("SerializationException", "the body is not a "
                            "JSON object")
        if prefix.startswith("DynamoDB_"):
            out = dynamodb(app, req, req.action, body)
        else:
            out = {}
        return json_response(out, req.request_id, ctype=rtype)
    except JsonError as e:
        r = error_response("json", e.status, e.code, e.message,
                           req.request_id)
        r.headers[0] = ("Content-Type", rtype)
        return r


# --------------------------------------------------------------------------
# REST-JSON: Lambda-shaped
# --------------------------------------------------------------------------

def lambda_service(app, req):
    account = req.verdict.caller.account
    region = req.verdict.region

    def conf(name):
        return {"FunctionName": name,
                "FunctionArn": "arn:aws:lambda:%s:%s:function:%s"
                % (region, account, name),
                "Runtime": "provided.al2", "Handler": "fakeaws",
                "Version": "$LATEST", "State": "Active"}

    def err(status, code, message):
        return error_response("rest-json", status, code, message,
                              req.request_id)
    m = LAMBDA_PATH.fullmatch(req.raw_path)
    action = req.action
    if action == "ListFunctions":
        return json_response({"Functions": [conf(f) for f in
                                            app.store.functions]},
                             req.request_id, ctype="application/json")
    if action in ("GetFunction", "Invoke"):
        name = unquote(m.group(1))
        # Lambda takes a function's ARN wherever it takes its name.
        arn = re.fullmatch(r"arn:aws[a-z-]*:lambda:%s:%s:function:([A-Za-z0-9_-]+)"
                           % (re.escape(region), re.escape(account)), name)
        if arn:
            name = arn.group(1)
        if name not in app.store.functions:
            return err(404, "ResourceNotFoundException", "Function not found: "
                       "arn:aws:lambda:%s:%s:function:%s"
                       % (region, account, name))
        if action == "GetFunction":
            return json_response({"Configuration": conf(name), "Code": {
                "RepositoryType": "S3", "Location": "https://fakeaws.invalid/"
            }}, req.request_id, ctype="application/json")
        if req.header("x-amz-invocation-type") == "Event":
            return Response(202, [("x-amzn-RequestId", req.request_id)], b"")
        try:
            payload = json.loads(req.verdict.body or b"null")
        except ValueError:
            return err(400, "InvalidRequestContentException", "Could not "
                       "parse request body into json")
        return json_response({"function": name, "payload": payload,
                              "caller": req.verdict.caller.arn},
                             req.request_id, ctype="application/json",
                             extra_headers=[("X-Amz-Executed-Version",
                                             "$LATEST")])
    return err(404, "UnknownOperationException", "%s %s is not played by "
               "this fake" % (req.method, req.raw_path))


# --------------------------------------------------------------------------
# Generic query/XML
# --------------------------------------------------------------------------

def query_service(app, req):
    action = req.params.get("Action")
    ns = "https://%s.amazonaws.com/doc/fakeaws/" % (req.service or "service")
    if not action:
        return error_response("query", 400, "MissingAction", "Missing "
                              "Action", req.request_id, ns=ns)
    return xml_response(200, '<%sResponse xmlns="%s">\n  <%sResult/>\n'
                        '  <ResponseMetadata>\n    <RequestId>%s</RequestId>'
                        '\n  </ResponseMetadata>\n</%sResponse>\n'
                        % (action, ns, action, req.request_id, action),
                        req.request_id)
