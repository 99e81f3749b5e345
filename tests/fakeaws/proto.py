# SPDX-License-Identifier: Apache-2.0
# Responses of the fake AWS and errors in each protocol's shape (query/XML,
# JSON 1.0/1.1, REST-JSON, S3's REST-XML, plain).

import json
from xml.sax.saxutils import escape

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


class Response:
    def __init__(self, status, headers=None, body=b"", error_code=None):
        self.status = status
        self.headers = list(headers or [])
        self.body = body if isinstance(body, bytes) else body.encode("utf-8")
        self.error_code = error_code
        self.head_length = None     # HEAD: the length a GET would have

    def length(self):
        if self.head_length is not None:
            return self.head_length
        return len(self.body)


def x(s):
    """XML text escape."""
    return escape(str(s))


def xml_response(status, body, request_id, extra_headers=()):
    headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    headers += list(extra_headers)
    return Response(status, headers, '<?xml version="1.0" encoding="UTF-8"?>\n'
                    + body)


def query_result(action, inner, request_id, ns=STS_NS):
    """<ActionResponse><ActionResult>inner</ActionResult><ResponseMetadata>"""
    return xml_response(200, (
        '<%sResponse xmlns="%s">\n  <%sResult>\n%s  </%sResult>\n'
        '  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n'
        '  </ResponseMetadata>\n</%sResponse>\n'
        % (action, ns, action, inner, action, request_id, action)),
        request_id)


def error_response(protocol, status, code, message, request_id,
                   sender=None, ns=STS_NS, extra_headers=()):
    if sender is None:
        sender = status < 500
    if protocol == "query":
        body = ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n'
                '    <Code>%s</Code>\n    <Message>%s</Message>\n  </Error>\n'
                '  <RequestId>%s</RequestId>\n</ErrorResponse>\n'
                % (ns, "Sender" if sender else "Receiver", x(code), x(message),
                   request_id))
        r = xml_response(status, body, request_id, extra_headers)
    elif protocol == "s3":
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
                '<Message>%s</Message><RequestId>%s</RequestId>'
                '<HostId>fakeaws</HostId></Error>'
                % (x(code), x(message), request_id))
        r = Response(status, [("Content-Type", "application/xml"),
                              ("x-amz-request-id", request_id)]
                     + list(extra_headers), body)
    elif protocol == "json":
        body = json.dumps({"__type": "com.amazonaws.fakeaws#" + code,
                           "message": message})
        r = Response(status, [("Content-Type", "application/x-amz-json-1.0"),
                              ("x-amzn-RequestId", request_id)]
                     + list(extra_headers), body)
    elif protocol == "rest-json":
        body = json.dumps({"Type": "User" if sender else "Service",
                           "message": message})
        r = Response(status, [("Content-Type", "application/json"),
                              ("x-amzn-ErrorType", code),
                              ("x-amzn-RequestId", request_id)]
                     + list(extra_headers), body)
    else:
        r = Response(status, [("Content-Type", "text/plain; charset=utf-8")]
                     + list(extra_headers), "%s: %s\n" % (code, message))
    r.error_code = code
    return r


def json_response(obj, request_id, status=200,
                  ctype="application/x-amz-json-1.0", extra_headers=()):
    return Response(status, [("Content-Type", ctype),
                             ("x-amzn-RequestId", request_id)]
                    + list(extra_headers), json.dumps(obj))
