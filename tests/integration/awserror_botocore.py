#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""awserror_botocore.py: botocore's own response parsers read each gate error as the code and message we meant.

Usage: awserror_botocore.py RENDER   (RENDER: the awserror_render program)

For each case the C renderer writes the status, headers and body; botocore
loads the service's model (sts query, ec2, s3 rest-xml, dynamodb json,
lambda rest-json), parses the bytes with the parser its protocol names,
and must find our code, message, request id and status. Its standard retry
conditions must not retry the 4xx and must retry the 5xx.
"""
import subprocess
import sys

import botocore.session
from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.model import ServiceModel
from botocore.parsers import create_parser
from botocore.retries import standard

RENDER = sys.argv[1]
loader = botocore.session.get_session().get_component("data_loader")
models = {}


def model(name):
    if name not in models:
        models[name] = ServiceModel(loader.load_service_model(name, "service-2"), name)
    return models[name]


HOSTILE = "say <hi> & \"bye\" 'now' \\ back\tslash\r\n\x01 \xe9 ]]> --> </Message>"


def expected_message(m):
    return "".join(c if 0x20 <= ord(c) < 0x7F else "?" for c in m.encode("utf-8").decode("latin-1"))


# (name, service model, operation, protocol, renderer args, reason, status, code, message)
CASES = [
    ("sts-form-denied", "sts", "AssumeRole", "query",
     ["service=sts", "method=POST", "content-type=application/x-www-form-urlencoded", "form-action"],
     "role-denied", 403, "AccessDenied", "You may not use this role: ask the admin."),
    ("sts-query-unavailable", "sts", "GetCallerIdentity", "query",
     ["service=sts", "method=GET", "query=Action=GetCallerIdentity&Version=2011-06-15"],
     "sts-unavailable", 503, "ServiceUnavailable", "STS is unavailable; try again later."),
    ("sts-hostile-message", "sts", "AssumeRole", "query", ["service=sts", "form-action"],
     "endpoint-customer", 403, "AccessDenied", HOSTILE),
    ("sts-too-large", "sts", "AssumeRole", "query", ["service=sts", "form-action"],
     "payload-too-large", 413, "RequestEntityTooLarge", "The body is over 16 MiB."),
    ("ec2-denied", "ec2", "DescribeInstances", "ec2",
     ["service=ec2", "method=POST", "content-type=application/x-www-form-urlencoded", "form-action"],
     "locked", 403, "AccessDenied", "You are locked out."),
    ("ec2-timeout", "ec2", "DescribeInstances", "ec2", ["service=ec2", "query=Action=DescribeInstances"],
     "upstream-timeout", 504, "GatewayTimeout", "AWS did not answer in time."),
    ("s3-denied", "s3", "GetObject", "rest-xml-s3", ["service=s3", "method=GET"],
     "endpoint-not-aws", 403, "AccessDenied", "Not an AWS endpoint."),
    ("s3-hostile", "s3", "PutObject", "rest-xml-s3", ["service=s3", "method=PUT"],
     "address-private", 403, "AccessDenied", HOSTILE),
    ("s3-bad-gateway", "s3", "GetObject", "rest-xml-s3", ["service=s3", "method=GET"],
     "upstream-connect", 502, "BadGateway", "Could not connect."),
    ("s3-too-large", "s3", "PutObject", "rest-xml-s3", ["service=s3", "method=PUT"],
     "payload-too-large", 413, "RequestEntityTooLarge", "Too large."),
    ("s3-malformed-host", "s3", "ListBuckets", "rest-xml-s3", ["service=s3", "method=GET"],
     "forwarded-host-malformed", 400, "InvalidRequest", "Bad X-Forwarded-Host."),
    ("dynamodb-denied", "dynamodb", "GetItem", "json",
     ["service=dynamodb", "method=POST", "target=DynamoDB_20120810.GetItem",
      "content-type=application/x-amz-json-1.0"],
     "role-denied", 403, "AccessDeniedException", "No."),
    ("dynamodb-hostile", "dynamodb", "PutItem", "json",
     ["service=dynamodb", "target=DynamoDB_20120810.PutItem"],
     "source-identity-mismatch", 403, "AccessDeniedException", HOSTILE),
    ("dynamodb-ambiguous", "dynamodb", "Query", "json",
     ["target=DynamoDB_20120810.Query", "content-type=application/x-amz-json-1.0"],
     "app-ambiguous", 400, "ValidationException", "Role r is in apps a, b: send X-Awsgate-App."),
    ("dynamodb-unavailable", "dynamodb", "GetItem", "json", ["target=DynamoDB_20120810.GetItem"],
     "sts-unavailable", 503, "ServiceUnavailableException", "Try again."),
    ("lambda-denied", "lambda", "Invoke", "rest-json", ["service=lambda", "method=POST"],
     "role-denied", 403, "AccessDeniedException", "Not allowed."),
    ("lambda-hostile", "lambda", "ListFunctions", "rest-json", ["service=lambda", "method=GET"],
     "presign-expired", 403, "AccessDeniedException", HOSTILE),
    ("lambda-timeout", "lambda", "Invoke", "rest-json", ["service=lambda"],
     "upstream-timeout", 504, "GatewayTimeoutException", "Slow."),
    ("unknown-service", "lambda", "Invoke", "rest-json", [],
     "forwarded-host-missing", 400, "ValidationException", "Send X-Forwarded-Host."),
]


def render(args, reason, message, rid):
    out = subprocess.run([RENDER, reason, message, rid] + args, check=True, capture_output=True).stdout
    head, _, body = out.partition(b"\n\n")
    lines = head.decode("ascii").split("\n")
    status, proto = lines[0].split(" ")
    headers = HeadersDict()
    for line in lines[1:]:
        name, _, value = line.partition(": ")
        headers[name] = value
    return int(status), proto, headers, body


def retryable(op, parsed, status, headers, body):
    ctx = standard.RetryContext(attempt_number=1, operation_model=op, parsed_response=parsed,
                                http_response=AWSResponse("https://x", status, headers, None),
                                caught_exception=None)
    return standard.StandardRetryConditions().is_retryable(ctx)


failures = 0
n = 0
for name, svc, opname, proto, args, reason, status, code, message in CASES:
    n += 1
    rid = "req-%02d-0123456789abcdef" % n
    st, pr, headers, body = render(args, reason, message, rid)
    sm = model(svc)
    op = sm.operation_model(opname)
    parser = create_parser(sm.metadata["protocol"])
    parsed = parser.parse({"status_code": st, "headers": headers, "body": body}, op.output_shape)
    err = parsed.get("Error", {})
    meta = parsed.get("ResponseMetadata", {})
    problems = []
    if pr != proto:
        problems.append("protocol %s, expected %s" % (pr, proto))
    if st != status:
        problems.append("status %d, expected %d" % (st, status))
    if err.get("Code") != code:
        problems.append("botocore read code %r, expected %r" % (err.get("Code"), code))
    if err.get("Message") != expected_message(message):
        problems.append("botocore read message %r, expected %r" % (err.get("Message"), expected_message(message)))
    if meta.get("RequestId") != rid:
        problems.append("botocore read request id %r, expected %r" % (meta.get("RequestId"), rid))
    if meta.get("HTTPStatusCode") != status:
        problems.append("botocore read status %r" % meta.get("HTTPStatusCode"))
    if headers.get("x-awsgate-error") != reason:
        problems.append("X-Awsgate-Error %r" % headers.get("x-awsgate-error"))
    want_retry = status >= 500
    if retryable(op, parsed, st, headers, body) != want_retry:
        problems.append("botocore's standard retry says retryable=%s" % (not want_retry))
    print("%s %d - %s" % ("not ok" if problems else "ok", n, name))
    for p in problems:
        print("#   " + p)
    failures += bool(problems)

# HEAD has no body: botocore reads the status as the code.
n += 1
st, pr, headers, body = render(["service=s3", "method=HEAD"], "role-denied", "No.", "rid-head")
sm = model("s3")
op = sm.operation_model("HeadObject")
parsed = create_parser("rest-xml").parse({"status_code": st, "headers": headers, "body": body}, op.output_shape)
ok = body == b"" and parsed["Error"]["Code"] == "403" and parsed["ResponseMetadata"]["RequestId"] == "rid-head"
print("%s %d - s3-head-no-body" % ("ok" if ok else "not ok", n))
failures += not ok

print("1..%d" % n)
sys.exit(1 if failures else 0)
