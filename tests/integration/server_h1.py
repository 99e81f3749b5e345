# SPDX-License-Identifier: Apache-2.0
# server_h1.py: hostile HTTP/1.1 bytes against awsgated: request smuggling, CR/LF and control bytes, folded lines, bad chunks, header and request-line limits, slow clients.
#
# Every hostile request is followed, on the same connection, by a valid
# request for /smuggled: the gate must answer the first with 400 (or the
# limit's status) and close, so the second never gets a response.
import os
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gate_fixture as gf  # noqa: E402

SMUG = b'GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n'
GET = b'GET /healthz HTTP/1.1\r\nHost: localhost\r\n'
POST = b'POST /healthz HTTP/1.1\r\nHost: localhost\r\n'
CHUNKED_BODY = b'0\r\n\r\n'


def te_cl(te_lines, cl=b'Content-Length: 5\r\n', body=b'0\r\n\r\n'):
    return POST + cl + te_lines + b'\r\n' + body


# (name, bytes): each must get 400 and a closed connection, and nothing for what follows.
BAD_400 = [
    # folded header lines (obs-fold)
    ('obs-fold with a space', GET + b'X-A: a\r\n b\r\n\r\n'),
    ('obs-fold with a tab', GET + b'X-A: a\r\n\tb\r\n\r\n'),
    ('obs-fold of Transfer-Encoding', POST + b'Content-Length: 5\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n'),
    ('obs-fold right after the request line', b'GET /healthz HTTP/1.1\r\n Host: localhost\r\n\r\n'),
    # bare CR, bare LF, NUL and control bytes
    ('bare LF ends every line', b'GET /healthz HTTP/1.1\nHost: localhost\n\n'),
    ('bare LF ends one header line', GET + b'X-A: a\n\r\n'),
    ('bare LF ends the request line', b'GET /healthz HTTP/1.1\nHost: localhost\r\n\r\n'),
    ('bare LF inside a value', GET + b'X-A: a\nX-Injected: 1\r\n\r\n'),
    ('bare CR inside a value', GET + b'X-A: a\rb\r\n\r\n'),
    ('bare CR ends a header line', GET + b'X-A: a\rX-B: b\r\n\r\n'),
    ('CR CR LF', GET + b'X-A: a\r\r\n\r\n'),
    ('bare CR ends the header block', GET + b'X-A: a\r\n\r\r\n'),
    ('NUL in a value', GET + b'X-A: a\x00b\r\n\r\n'),
    ('0x01 in a value', GET + b'X-A: a\x01b\r\n\r\n'),
    ('0x1f in a value', GET + b'X-A: a\x1fb\r\n\r\n'),
    ('DEL in a value', GET + b'X-A: a\x7fb\r\n\r\n'),
    ('NUL in a header name', GET + b'X-\x00A: b\r\n\r\n'),
    ('NUL in the target', b'GET /healthz\x00 HTTP/1.1\r\nHost: localhost\r\n\r\n'),
    # header names
    ('space before the colon', GET + b'X-A : b\r\n\r\n'),
    ('space before the colon of Host', b'GET /healthz HTTP/1.1\r\nHost : localhost\r\n\r\n'),
    ('tab before the colon', GET + b'X-A\t: b\r\n\r\n'),
    ('space inside a header name', GET + b'X A: b\r\n\r\n'),
    ('empty header name', GET + b': b\r\n\r\n'),
    ('header line without a colon', GET + b'X-A b\r\n\r\n'),
    ('non-token byte in a header name', GET + b'X-A(: b\r\n\r\n'),
    # CL and TE together: every shape
    ('CL.TE', te_cl(b'Transfer-Encoding: chunked\r\n')),
    ('TE.CL', POST + b'Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n'),
    ('CL.TE with a body that hides a request',
     POST + b'Content-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled2 HTTP/1.1\r\nHost: localhost\r\n\r\n'),
    ('TE.TE xchunked + CL', te_cl(b'Transfer-Encoding: xchunked\r\n')),
    ('TE " chunked" + CL', te_cl(b'Transfer-Encoding:  chunked\r\n')),
    ('TE "chunked " + CL', te_cl(b'Transfer-Encoding: chunked \r\n')),
    ('TE tab chunked + CL', te_cl(b'Transfer-Encoding:\tchunked\r\n')),
    ('TE "chunked, identity" + CL', te_cl(b'Transfer-Encoding: chunked, identity\r\n')),
    ('TE "identity, chunked" + CL', te_cl(b'Transfer-Encoding: identity, chunked\r\n')),
    ('TE "Chunked" + CL', te_cl(b'Transfer-Encoding: Chunked\r\n')),
    ('TE "chunked;q=1" + CL', te_cl(b'Transfer-Encoding: chunked;q=1\r\n')),
    ('TE twice (chunked, identity) + CL', te_cl(b'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n')),
    ('TE twice (identity, chunked) + CL', te_cl(b'Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n')),
    ('TE twice (chunked, chunked)', POST + b'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'),
    ('TE "chunked, chunked"', POST + b'Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n'),
    ('TE with a vertical tab + CL', te_cl(b'Transfer-Encoding:\x0bchunked\r\n')),
    ('TE name with a trailing space + CL', te_cl(b'Transfer-Encoding : chunked\r\n')),
    ('TE with a NUL + CL', te_cl(b'Transfer-Encoding: chunked\x00\r\n')),
    ('CL.TE with the CL after a folded TE', POST + b'Transfer-Encoding: identity\r\n , chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n'),
]

# Transfer codings the gate does not know, without a Content-Length: 400 or
# 501 (RFC 9112 6.1), and closed either way.
BAD_400_501 = [
    ('TE "xchunked" alone', POST + b'Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n'),
    ('TE "chunked, identity" alone', POST + b'Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n'),
    ('TE "identity" alone', POST + b'Transfer-Encoding: identity\r\n\r\n0\r\n\r\n'),
]

BAD_400_MORE = [
    ('TE in an HTTP/1.0 request', b'POST /healthz HTTP/1.0\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'),
    # Content-Length shapes
    ('two different Content-Lengths', POST + b'Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'),
    ('Content-Length "5, 6"', POST + b'Content-Length: 5, 6\r\n\r\nhello!'),
    ('Content-Length +5', POST + b'Content-Length: +5\r\n\r\nhello'),
    ('Content-Length 0x5', POST + b'Content-Length: 0x5\r\n\r\nhello'),
    ('Content-Length -1', POST + b'Content-Length: -1\r\n\r\n'),
    ('Content-Length 2^63', POST + b'Content-Length: 9223372036854775808\r\n\r\nhello'),
    ('Content-Length 2^64+5', POST + b'Content-Length: 18446744073709551621\r\n\r\nhello'),
    ('Content-Length 20 nines', POST + b'Content-Length: 99999999999999999999\r\n\r\nhello'),
    ('Content-Length "5 5"', POST + b'Content-Length: 5 5\r\n\r\nhello'),
    ('Content-Length "5a"', POST + b'Content-Length: 5a\r\n\r\nhello'),
    ('Content-Length empty', POST + b'Content-Length: \r\n\r\nhello'),
    ('Content-Length 1e1', POST + b'Content-Length: 1e1\r\n\r\nhellohello'),
    # chunk sizes and framing
    ('chunk size not hex', POST + b'Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'),
    ('chunk size 0x5', POST + b'Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n'),
    ('chunk size negative', POST + b'Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n'),
    ('chunk size +5', POST + b'Transfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n'),
    ('chunk size overflows 64 bits', POST + b'Transfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n'),
    ('chunk size with leading space', POST + b'Transfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n'),
    ('chunk size empty', POST + b'Transfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n'),
    ('chunk data without its CRLF', POST + b'Transfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n'),
    ('chunk data longer than its size', POST + b'Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n'),
    ('chunk size ended by a bare LF', POST + b'Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n'),
    ('chunk data ended by a bare LF', POST + b'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n'),
    ('chunk extension with a bare LF', POST + b'Transfer-Encoding: chunked\r\n\r\n5;a\nb\r\nhello\r\n0\r\n\r\n'),
    ('chunk extension with a bare CR', POST + b'Transfer-Encoding: chunked\r\n\r\n5;a\rb\r\nhello\r\n0\r\n\r\n'),
    ('chunk extension with a NUL', POST + b'Transfer-Encoding: chunked\r\n\r\n5;a\x00\r\nhello\r\n0\r\n\r\n'),
    ('chunk extension of 64 KiB', POST + b'Transfer-Encoding: chunked\r\n\r\n5;' + b'e' * 65536 + b'\r\nhello\r\n0\r\n\r\n'),
    ('chunk extension with a quoted CRLF', POST + b'Transfer-Encoding: chunked\r\n\r\n5;a="\r\n"\r\nhello\r\n0\r\n\r\n'),
    ('last chunk with a bare LF trailer end', POST + b'Transfer-Encoding: chunked\r\n\r\n0\r\n\n'),
    ('trailer with obs-fold', POST + b'Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: a\r\n b\r\n\r\n'),
    # request line
    ('control byte in the method', b'G\x01T /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'),
    ('method with a slash', b'GE/T /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'),
    ('tab between method and target', b'GET\t/healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'),
    ('space inside the target', b'GET /heal thz HTTP/1.1\r\nHost: localhost\r\n\r\n'),
    ('DEL in the target', b'GET /healthz\x7f HTTP/1.1\r\nHost: localhost\r\n\r\n'),
    ('bare CR in the target', b'GET /healthz\r HTTP/1.1\r\nHost: localhost\r\n\r\n'),
    ('target without a slash', b'GET healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'),
    ('no version', b'GET /healthz\r\nHost: localhost\r\n\r\n'),
    ('garbage version', b'GET /healthz HTTX/1.1\r\nHost: localhost\r\n\r\n'),
    ('trailing word after the version', b'GET /healthz HTTP/1.1 x\r\nHost: localhost\r\n\r\n'),
    ('binary garbage', b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + bytes(range(40)) + b'\r\n\r\n'),
]


def exchange_checks(t, gate, name, payload, want, cert=None):
    """Sends payload + a request to smuggle; want: the allowed statuses of the only response."""
    resps, closed, raw = gf.raw_exchange(gate, payload + SMUG, cert=cert, timeout=4)
    statuses = [r[0] for r in resps]
    detail = 'sent %r; got %r' % (payload[:160], raw[:300])
    good = (len(resps) >= 1 and resps[0][0] in want and len(resps) == 1 and closed
            and gf.hdr(resps[0][1], 'X-Awsgate-Version') is not None)
    why = []
    if not resps:
        why.append('no response')
    elif resps[0][0] not in want:
        why.append('status %d, want %s' % (resps[0][0], '/'.join(map(str, sorted(want)))))
    if len(resps) > 1:
        why.append('%d responses: the request after it was answered (%s)' % (len(resps), statuses))
    if not closed:
        why.append('connection left open')
    if resps and gf.hdr(resps[0][1], 'X-Awsgate-Version') is None:
        why.append('no X-Awsgate-Version')
    t.ok('%s -> %s, closed, nothing smuggled' % (name, '/'.join(map(str, sorted(want)))), good,
         '; '.join(why) + ': ' + detail)


def slowloris(gate, interval, limit):
    """Sends a header line every interval seconds: (status or None, seconds until the close)."""
    s = gate.connect(timeout=limit)
    t0 = time.monotonic()
    data = b''
    closed = False
    try:
        s.sendall(GET)
        i = 0
        while time.monotonic() - t0 < limit:
            try:
                s.sendall(b'X-Slow-%d: 1\r\n' % i)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                pass
            i += 1
            s.settimeout(interval)
            try:
                chunk = s.recv(65536)
                if not chunk:
                    closed = True
                    break
                data += chunk
            except socket.timeout:
                continue
            except (ssl.SSLError, ConnectionResetError, OSError):
                closed = True
                break
    finally:
        s.close()
    r = gf.parse_h1(data)
    return (r[0][0] if r else None), time.monotonic() - t0, closed


def main():
    gf.require_server()
    t = gf.Checks('server-h1: hostile HTTP/1.1')
    gate = gf.Gate()
    try:
        gate.start()
        run(t, gate)
    except Exception as e:
        t.ok('fixture', False, '%s\n%s' % (e, gate.logs()))
    finally:
        gate.cleanup()
    t.done()


def run(t, gate):
    print('-- positive controls: what the hostile cases are measured against', flush=True)
    resps, closed, raw = gf.raw_exchange(gate, GET + b'\r\n' + SMUG, timeout=2)
    t.eq('two pipelined valid requests get two responses', [r[0] for r in resps], [200, 404], repr(raw[:300]))
    t.ok('keep-alive: the connection stays open', not closed)
    resps, closed, raw = gf.raw_exchange(gate, GET + b'X-A:  spaced value \t\r\n\r\n', timeout=2)
    t.eq('OWS around a value is fine', [r[0] for r in resps], [200], repr(raw[:200]))
    resps, closed, raw = gf.raw_exchange(gate, GET + b'X-A:\r\n\r\n', timeout=2)
    t.eq('an empty value is fine', [r[0] for r in resps], [200], repr(raw[:200]))
    resps, closed, raw = gf.raw_exchange(gate, GET + b'X-A: caf\xc3\xa9 \x80\xff\r\n\r\n', timeout=2)
    t.eq('obs-text (bytes >= 0x80) in a value is fine', [r[0] for r in resps], [200], repr(raw[:200]))
    # Valid bodies are not refused as framing errors: the 400s below are
    # about the framing, not about bodies as such.
    for name, payload in (('a Content-Length body', POST + b'Content-Length: 5\r\n\r\nhello'),
                          ('a chunked body', POST + b'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'),
                          ('a chunked body with an extension and a trailer',
                           POST + b'Transfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n'),
                          ('an upper-case hex chunk size', POST + b'Transfer-Encoding: chunked\r\n\r\nA\r\nhellohello\r\n0\r\n\r\n')):
        resps, closed, raw = gf.raw_exchange(gate, payload + SMUG, timeout=2)
        t.ok('%s is framed correctly: one answer (not 400), then the next request\'s 404' % name,
             len(resps) == 2 and resps[0][0] != 400 and resps[0][0] < 500 and resps[1][0] == 404, repr(raw[:300]))
    resps, closed, raw = gf.raw_exchange(gate, b'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', timeout=3)
    t.ok('Connection: close is honoured', [r[0] for r in resps] == [200] and closed, repr(raw[:200]))

    print('-- smuggling, CR/LF, control bytes, folded lines, bad chunks, bad request lines: 400 and close', flush=True)
    for name, payload in BAD_400 + BAD_400_MORE:
        exchange_checks(t, gate, name, payload, {400})
    for name, payload in BAD_400_501:
        exchange_checks(t, gate, name, payload, {400, 501})
    # The same smuggling shapes on an API route with a certificate.
    exchange_checks(t, gate, 'CL.TE on the API route with a certificate',
                    b'POST /awsgate/v1/apps HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n'
                    b'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n', {400}, cert='alice')
    exchange_checks(t, gate, 'obs-fold on the API route with a certificate',
                    b'GET /awsgate/v1/apps HTTP/1.1\r\nHost: localhost\r\nX-A: a\r\n b\r\n\r\n', {400}, cert='alice')
    # After a valid request, a hostile one on the same connection.
    resps, closed, raw = gf.raw_exchange(gate, GET + b'\r\n' + GET + b'X-A: a\r\n b\r\n\r\n' + SMUG, timeout=4)
    t.ok('valid, then folded, then smuggled: 200, 400, close', [r[0] for r in resps] == [200, 400] and closed,
         'got %r' % raw[:400])

    print('-- limits: header bytes, header count, request line', flush=True)
    lim = gate.conf['limits']
    big = 8 * 1024
    exchange_checks(t, gate, 'header block over max_header_bytes (one %d-byte value)' % (big + 100),
                    GET + b'X-Big: ' + b'a' * (big + 100) + b'\r\n\r\n', {431})
    exchange_checks(t, gate, 'header block over max_header_bytes (many 1000-byte fields)',
                    GET + b''.join(b'X-F%d: %s\r\n' % (i, b'b' * 1000) for i in range(10)) + b'\r\n', {431})
    n = lim['max_headers']
    exchange_checks(t, gate, 'max_headers + 1 fields (%d)' % (n + 1),
                    GET + b''.join(b'X-H%d: v\r\n' % i for i in range(n)) + b'\r\n', {431})
    exchange_checks(t, gate, '1000 tiny fields',
                    GET + b'X: 1\r\n' * 1000 + b'\r\n', {431})
    resps, closed, raw = gf.raw_exchange(gate, GET + b''.join(b'X-H%d: v\r\n' % i for i in range(n - 1)) + b'\r\n', timeout=2)
    t.eq('exactly max_headers fields (%d, Host included) are fine' % n, [r[0] for r in resps], [200], repr(raw[:200]))
    resps, closed, raw = gf.raw_exchange(gate, GET + b'X-Big: ' + b'a' * (big - 200) + b'\r\n\r\n', timeout=2)
    t.eq('a header block just under max_header_bytes is fine', [r[0] for r in resps], [200], repr(raw[:200]))
    line = lim['max_request_line']
    exchange_checks(t, gate, 'request line over max_request_line (%d bytes)' % (line + 100),
                    b'GET /healthz?' + b'q' * (line + 100) + b' HTTP/1.1\r\nHost: localhost\r\n\r\n', {414})
    exchange_checks(t, gate, 'request line of 1 MiB', b'GET /' + b'p' * (1 << 20) + b' HTTP/1.1\r\nHost: localhost\r\n\r\n', {414})
    exchange_checks(t, gate, 'endless method without a space', b'G' * (line + 100), {400, 414})
    resps, closed, raw = gf.raw_exchange(gate, b'GET /healthz?' + b'q' * (line - 200) + b' HTTP/1.1\r\nHost: localhost\r\n\r\n', timeout=2)
    t.ok('a request line just under max_request_line is not 414', resps and resps[0][0] != 414 and resps[0][0] < 500, repr(raw[:200]))
    resps, closed, raw = gf.raw_exchange(gate, POST + b'Transfer-Encoding: chunked\r\n\r\n0\r\n' + b''.join(
        b'X-T%d: %s\r\n' % (i, b't' * 1000) for i in range(64)) + b'\r\n' + SMUG, timeout=4)
    t.ok('trailers of 64 kB (over max_header_bytes): 400 or 431, closed, nothing smuggled',
         len(resps) == 1 and resps[0][0] in (400, 431) and closed, repr(raw[:300]))
    exchange_checks(t, gate, 'a header line of 1 MiB', GET + b'X-Huge: ' + b'h' * (1 << 20) + b'\r\n\r\n', {431})

    print('-- bodies to the gate\'s own routes are bounded', flush=True)
    pid = gate.proc.pid
    for name, head, unit in (('Content-Length', b'Content-Length: 100000000\r\n', b'x' * 65536),
                             ('chunked', b'Transfer-Encoding: chunked\r\n', b'10000\r\n' + b'x' * 65536 + b'\r\n')):
        rss0 = gf.rss_kib(pid)
        s = gate.connect('alice', timeout=10)
        got, closed = gf.send_reading(s, b'POST /awsgate/v1/apps HTTP/1.1\r\nHost: localhost\r\n' + head + b'\r\n'
                                      + unit * 512, 20)
        early = closed  # cut while we were still sending
        if not closed:
            more, closed = gf.read_until_close(s, 3)
            got += more
        s.close()
        r = gf.parse_h1(got)
        grew = gf.rss_kib(pid) - rss0
        t.ok('32 MiB %s body to /awsgate/v1/apps: refused (4xx) and closed before the end (status %r)'
             % (name, r[0][0] if r else None), r and 400 <= r[0][0] < 500 and early, 'closed while sending: %s; %r' % (early, got[:200]))
        t.ok_memory('... RSS grew %d KiB (< 8 MiB)' % grew, grew < 8192)

    print('-- slow clients: header_read', flush=True)
    hr = 3.0
    st, took, closed = slowloris(gate, 0.5, hr + 6)
    t.ok('slowloris (a header line every 0.5 s) gets 408 (got %r)' % st, st == 408, 'status %r' % st)
    t.ok('slowloris closed within header_read + 2 s (%.1f s)' % took, closed and took <= hr + 2,
         'closed=%s after %.1f s' % (closed, took))
    s = gate.connect(timeout=hr + 6)
    t0 = time.monotonic()
    data, closed = gf.read_until_close(s, hr + 6)
    took = time.monotonic() - t0
    s.close()
    r = gf.parse_h1(data)
    t.ok('a silent connection is closed within header_read + 2 s (%.1f s)' % took, closed and took <= hr + 2,
         'closed=%s' % closed)
    t.ok('a silent connection gets 408 or nothing', not r or r[0][0] == 408, repr(data[:200]))
    s = gate.connect(timeout=hr + 6)
    s.sendall(GET)
    t0 = time.monotonic()
    data, closed = gf.read_until_close(s, hr + 6)
    took = time.monotonic() - t0
    s.close()
    r = gf.parse_h1(data)
    t.ok('half a header block, then silence: 408 and close (%.1f s)' % took,
         r and r[0][0] == 408 and closed and took <= hr + 2, repr(data[:200]))

    # Many slow clients at once, and the gate keeps serving the others.
    results = []

    def slow():
        try:
            results.append(slowloris(gate, 0.3, hr + 6))
        except Exception as e:
            results.append((None, 0, repr(e)))
    threads = [threading.Thread(target=slow) for _ in range(30)]
    for th in threads:
        th.start()
    time.sleep(1.0)
    lat = []
    ok = 0
    for _ in range(10):
        t0 = time.monotonic()
        try:
            st, _, _ = gate.get('/healthz', timeout=2)
            ok += st == 200
        except (OSError, ValueError):
            pass
        lat.append(time.monotonic() - t0)
        time.sleep(0.1)
    try:
        st, _, _ = gf.h2_get(gate, '/healthz', timeout=2)
        ok += st == 200
    except (OSError, RuntimeError):
        pass
    for th in threads:
        th.join()
    # A gate blocked by the slow clients would answer only when they are cut
    # (header_read, 3 s): the median says it is not; the maximum allows for
    # a busy machine.
    med = sorted(lat)[len(lat) // 2]
    t.ok('30 slow clients: others are served (%d/11, median %.2f s, slowest %.2f s)' % (ok, med, max(lat)),
         ok == 11 and med < 1.0 and max(lat) < 2.5, 'latencies %s' % ['%.2f' % x for x in lat])
    t.ok('30 slow clients: all got 408 and were closed', all(r[0] == 408 and r[2] is True for r in results),
         repr(results))

    st, _, _ = gate.get('/healthz')
    t.eq('still healthy at the end', st, 200)
    t.ok('still running', gate.proc.poll() is None)


if __name__ == '__main__':
    main()
