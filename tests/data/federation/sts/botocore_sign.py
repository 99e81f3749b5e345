#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# botocore_sign.py: prints botocore's Authorization headers for the STS requests sts_test.c checks byte for byte.
#
# The bodies are what fed_sts_start() sends for sts_test.c's parameters;
# botocore's SigV4Auth signs them at 2025-12-01T00:00:00Z (the fake clock's
# start) as the independent oracle.
import datetime
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ASSUME = ("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2FDev%20Ops%2B1"
          "&RoleSessionName=alice%40example.com&DurationSeconds=3600&Policy=%7B%22Version%22%3A%222012-10-17%22%7D"
          "&ExternalId=ext%20id%2F%C3%A9%26%3D&SourceIdentity=alice%40example.com&Tags.member.1.Key=team"
          "&Tags.member.1.Value=a%20b%2Fc&Tags.member.2.Key=k~2&Tags.member.2.Value=")
CASES = [
    ("https://sts.eu-west-1.amazonaws.com/", ASSUME, "eu-west-1", None),
    ("https://sts.cn-north-1.amazonaws.com.cn/", "Action=GetCallerIdentity&Version=2011-06-15", "cn-north-1",
     "FQoGZXIvYXdzEXAMPLE"),
]
for url, body, region, token in CASES:
    req = AWSRequest(method="POST", url=url, data=body.encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    with mock.patch("botocore.auth.datetime") as d:
        d.datetime.utcnow.return_value = datetime.datetime(2025, 12, 1, 0, 0, 0)
        SigV4Auth(creds, "sts", region).add_auth(req)
    print(req.headers["Authorization"])
