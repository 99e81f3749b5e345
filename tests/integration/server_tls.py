# SPDX-License-Identifier: Apache-2.0
# server_tls.py: awsgated's TLS front door: versions, ALPN, optional client certificates, identities and their apps, untrusted, expired and revoked certificates, locks.
import calendar
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gate_fixture as gf  # noqa: E402


def json_body(body):
    try:
        return json.loads(body)
    except ValueError:
        return None


def cert_not_after(path):
    out = subprocess.run([gf.OPENSSL, 'x509', '-in', path, '-noout', '-enddate'],
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    return calendar.timegm(time.strptime(out.strip().split('=', 1)[1], '%b %d %H:%M:%S %Y GMT'))


def rfc3339(s):
    try:
        return calendar.timegm(time.strptime(s, '%Y-%m-%dT%H:%M:%SZ'))
    except (TypeError, ValueError):
        return None


def handshake_refused(gate, cert, version):
    """Connects with cert and TLS version, sends a request: (refused, detail).
    Refused means an SSL error (alert) and no HTTP response."""
    ctx = gate.context(cert)
    ctx.minimum_version = version
    ctx.maximum_version = version
    try:
        s = gate.connect(ctx=ctx)
    except ssl.SSLError as e:
        return True, str(e)
    except OSError as e:
        return True, 'connection error: %r' % e
    data = b''
    try:
        s.sendall(b'GET /awsgate/v1/apps HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except ssl.SSLError as e:
        return not data, str(e)
    except OSError as e:
        return not data, 'connection error: %r' % e
    finally:
        s.close()
    return False, 'no TLS alert; got %r' % data[:200]


def check_apps(t, who, doc, user, gate):
    want = gf.EXPECTED_APPS[user]
    if not t.ok('%s: apps is JSON with user, expires, apps' % who,
                isinstance(doc, dict) and {'user', 'expires', 'apps'} <= set(doc), repr(doc)[:300]):
        return
    t.eq('%s: user' % who, doc['user'], user)
    exp = rfc3339(doc['expires'])
    na = cert_not_after(gate.pki.cert(user)[0])
    t.ok('%s: expires is the certificate\'s notAfter (RFC 3339 UTC)' % who,
         exp is not None and abs(exp - na) <= 1, 'got %r, certificate notAfter %s' %
         (doc['expires'], time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(na))))
    names = [a.get('name') for a in doc['apps']]
    t.eq('%s: app names, sorted' % who, names, sorted(want))
    byname = {a['name']: a for a in doc['apps'] if 'name' in a}
    for name, arns in want.items():
        a = byname.get(name)
        if not a:
            continue
        app = [x for x in gf.APPS if x['metadata']['name'] == name][0]
        acct = app['metadata']['labels']['aws_account_id']
        t.eq('%s: %s aws_account_id' % (who, name), a.get('aws_account_id'), acct)
        t.eq('%s: %s labels' % (who, name), a.get('labels'), app['metadata']['labels'])
        t.eq('%s: %s public_addr' % (who, name), a.get('public_addr'), app['spec']['public_addr'])
        t.ok('%s: %s console_url is an https URL' % (who, name),
             isinstance(a.get('console_url'), str) and a['console_url'].startswith('https://'), repr(a.get('console_url')))
        roles = a.get('roles') or []
        t.eq('%s: %s role ARNs (globs and denied ARNs absent)' % (who, name), sorted(r.get('arn') for r in roles), sorted(arns))
        t.ok('%s: %s roles have name and account_id' % (who, name),
             all(r.get('name') == r.get('arn', '').rsplit('/', 1)[-1] and r.get('account_id') == acct for r in roles),
             repr(roles))


def main():
    warnings.simplefilter('ignore', DeprecationWarning)  # TLS 1.1, asked for on purpose
    gf.require_server()
    t = gf.Checks('server-tls: certificates, identities, apps, locks')
    gate = gf.Gate()
    try:
        gate.start()
        run(t, gate)
    except Exception as e:  # a broken fixture is a failure, with the server's logs
        t.ok('fixture', False, '%s\n%s' % (e, gate.logs()))
    finally:
        gate.cleanup()
    t.done()


def run(t, gate):
    print('-- without a client certificate: health routes open, API refused', flush=True)
    st, h, body = gate.get('/healthz')
    t.eq('h1 /healthz status', st, 200)
    t.eq('h1 /healthz body', body.strip(), b'ok')
    t.ok('h1 /healthz has X-Awsgate-Version', gf.hdr(h, 'X-Awsgate-Version'), repr(h))
    st, h, body = gate.get('/readyz')
    t.eq('h1 /readyz status', st, 200)
    st, h, body = gate.get('/awsgate/v1/apps')
    t.eq('h1 apps without certificate: 401', st, 401)
    t.eq('h1 apps without certificate: X-Awsgate-Error', gf.hdr(h, 'X-Awsgate-Error'), 'certificate-required')
    d = json_body(body)
    t.ok('h1 apps without certificate: JSON error', isinstance(d, dict) and d.get('error') == 'certificate-required', repr(body[:200]))
    t.ok('h1 401 has X-Awsgate-Version', gf.hdr(h, 'X-Awsgate-Version'))
    st, h, body = gf.h2_get(gate, '/awsgate/v1/apps')
    t.eq('h2 (python-h2) apps without certificate: 401', st, 401)
    t.eq('h2 apps without certificate: x-awsgate-error', h.get('x-awsgate-error'), 'certificate-required')
    st, h, body = gf.h2_get(gate, '/healthz')
    t.eq('h2 (python-h2) /healthz', (st, body.strip()), (200, b'ok'))
    rc, st, h, body = gate.curl('/healthz', http='--http2')
    t.eq('curl --http2 /healthz', (rc, st, body.strip()), (0, 200, b'ok'))
    rc, st, h, body = gate.curl('/readyz', http='--http1.1')
    t.eq('curl --http1.1 /readyz', (rc, st), (0, 200))
    rc, st, h, body = gate.curl('/awsgate/v1/apps', http='--http2')
    t.eq('curl --http2 apps without certificate', (rc, st, h.get('x-awsgate-error')), (0, 401, 'certificate-required'))
    st, h, body = gate.get('/no/such/path')
    t.eq('unknown path: 404', st, 404)
    t.ok('unknown path: JSON body', isinstance(json_body(body), dict), repr(body[:200]))
    t.ok('404 has X-Awsgate-Version', gf.hdr(h, 'X-Awsgate-Version'))
    st, h, body = gate.get('/no/such/path', cert='alice')
    t.eq('unknown path with a certificate: 404', st, 404)

    print('-- TLS versions and ALPN', flush=True)
    for name, ver in (('1.2', ssl.TLSVersion.TLSv1_2), ('1.3', ssl.TLSVersion.TLSv1_3)):
        ctx = gate.context('alice', alpn=('h2', 'http/1.1'))
        ctx.minimum_version = ctx.maximum_version = ver
        s = gate.connect(ctx=ctx)
        t.eq('TLS %s handshake' % name, s.version(), 'TLSv' + name)
        t.eq('TLS %s ALPN prefers h2' % name, s.selected_alpn_protocol(), 'h2')
        s.close()
    s = gate.connect(alpn=('http/1.1',))
    t.eq('ALPN http/1.1 alone', s.selected_alpn_protocol(), 'http/1.1')
    s.close()
    ctx = gate.context()
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        ctx.set_ciphers('DEFAULT:@SECLEVEL=0')
        s = gate.connect(ctx=ctx)
        t.ok('TLS 1.1 refused', False, 'handshake succeeded with %s' % s.version())
        s.close()
    except (ssl.SSLError, OSError) as e:
        t.ok('TLS 1.1 refused (%s)' % str(e)[:60], True)
    # An expired certificate never makes it to a route, even a health route.
    st, h, body = gate.get('/healthz', cert='alice')
    t.eq('/healthz with a valid certificate', st, 200)

    print('-- apps for several identities (python h1, curl h2, nghttp)', flush=True)
    for user in ('alice', 'bob', 'carol'):
        st, h, body = gate.get('/awsgate/v1/apps', cert=user)
        t.eq('h1 apps as %s: 200' % user, st, 200, repr(body[:200]))
        t.ok('h1 apps as %s: JSON content type' % user, (gf.hdr(h, 'Content-Type') or '').startswith('application/json'), repr(h.get('content-type')))
        check_apps(t, 'h1 ' + user, json_body(body), user, gate)
        rc, st, h, body = gate.curl('/awsgate/v1/apps', cert=user, http='--http2')
        t.eq('curl --http2 apps as %s: 200' % user, (rc, st), (0, 200), repr(body[:200]))
        check_apps(t, 'curl ' + user, json_body(body), user, gate)
    st, h, body = gf.h2_get(gate, '/awsgate/v1/apps', cert='bob')
    t.eq('python-h2 apps as bob: 200', st, 200)
    check_apps(t, 'python-h2 bob', json_body(body), 'bob', gate)
    c, k = gate.pki.cert('alice')
    p = subprocess.run(['nghttp', '--cert=' + c, '--key=' + k, '-t', '10',
                        'https://127.0.0.1:%d/awsgate/v1/apps' % gate.port],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check_apps(t, 'nghttp alice', json_body(p.stdout), 'alice', gate)

    print('-- certificates the gate must refuse at the handshake', flush=True)
    for who, why in (('mallory', 'another CA named "awsgate CA" (openssl)'),
                     ('forged-alice', 'another awsgatectl CA'),
                     ('expired', 'expired yesterday (openssl ca)'),
                     ('erin', 'revoked, in the CRL')):
        for vname, ver in (('1.2', ssl.TLSVersion.TLSv1_2), ('1.3', ssl.TLSVersion.TLSv1_3)):
            refused, detail = handshake_refused(gate, who, ver)
            t.ok('%s (%s) refused with TLS %s: %s' % (who, why, vname, detail[:70]), refused, detail)
        rc, st, h, body = gate.curl('/healthz', cert=who, http='--http2')
        t.ok('curl with %s fails' % who, rc != 0, 'curl exit %d status %r' % (rc, st))
    refused, detail = handshake_refused(gate, 'expired', ssl.TLSVersion.TLSv1_2)
    t.ok('expired: the alert says so (%s)' % detail[:60], 'expired' in detail.lower(), detail)
    refused, detail = handshake_refused(gate, 'erin', ssl.TLSVersion.TLSv1_2)
    t.ok('revoked: the alert says so (%s)' % detail[:60], 'revoked' in detail.lower(), detail)
    st, h, body = gate.get('/healthz')
    t.eq('still healthy after refused handshakes', st, 200)

    print('-- session resumption keeps the identity, and never outlives a revocation', flush=True)
    req = b'GET /awsgate/v1/apps HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
    saved = {}
    for vname, ver in (('1.2', ssl.TLSVersion.TLSv1_2), ('1.3', ssl.TLSVersion.TLSv1_3)):
        ctx = gate.context('frank')
        ctx.minimum_version = ctx.maximum_version = ver
        s = gate.connect(ctx=ctx)
        s.sendall(req)
        data, _ = gf.read_until_close(s, 5)  # the TLS 1.3 ticket comes with the data
        saved[vname] = (ctx, s.session)
        s.close()
        s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', gate.port), timeout=5),
                            server_hostname='localhost', session=saved[vname][1])
        s.sendall(req)
        data, _ = gf.read_until_close(s, 5)
        reused = s.session_reused
        s.close()
        r = gf.parse_h1(data)
        t.ok('TLS %s session resumed' % vname, reused)
        t.ok('TLS %s resumed session is still frank (apps 200 for frank)' % vname,
             r and r[0][0] == 200 and (json_body(r[0][2]) or {}).get('user') == 'frank', repr(data[:200]))
    gf.ctl('certs', 'revoke', '--dir', gate.pki.ca, '--cert', gate.pki.cert('frank')[0])
    gf.ctl('ca', 'crl', '--dir', gate.pki.ca, '--out', gate.pki.crl, '--force')
    gate.signal(signal.SIGHUP)
    refused = False
    for _ in range(50):
        refused, detail = handshake_refused(gate, 'frank', ssl.TLSVersion.TLSv1_3)
        if refused:
            break
        time.sleep(0.2)
    t.ok('frank revoked, CRL reloaded by SIGHUP: a full handshake is refused', refused, detail)
    for vname, (ctx, sess) in saved.items():
        data = b''
        try:
            s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', gate.port), timeout=5),
                                server_hostname='localhost', session=sess)
            s.sendall(req)
            data, _ = gf.read_until_close(s, 5)
            s.close()
        except (ssl.SSLError, OSError):
            pass
        r = gf.parse_h1(data)
        t.ok('TLS %s: the revoked user\'s saved session gets nothing' % vname,
             not r or r[0][0] != 200, repr(data[:300]))

    print('-- a lock file appears: the user is refused within seconds, also on open connections', flush=True)
    st, h, body = gate.get('/awsgate/v1/apps', cert='dave')
    t.eq('dave before the lock: 200', st, 200)
    keep = gate.connect('dave', timeout=10)
    req = b'GET /awsgate/v1/apps HTTP/1.1\r\nHost: localhost\r\n\r\n'
    keep.sendall(req)
    first = b''
    while len(gf.parse_h1(first)) < 1:
        chunk = keep.recv(65536)
        if not chunk:
            break
        first += chunk
    t.eq('dave keep-alive connection: first request 200', [r[0] for r in gf.parse_h1(first)], [200])
    h2c = gf.H2Raw(gate, cert='dave', timeout=10)
    h2c.send(gf.settings_frame(ack=True) + gf.frame(gf.HEADERS, gf.END_STREAM | gf.END_HEADERS, 1,
                                                       gf.request_block('/awsgate/v1/apps')))
    h2c.read_frames(5, lambda f: f[2] == 1 and f[0] in (gf.DATA, gf.HEADERS) and f[1] & gf.END_STREAM)
    t.eq('dave open h2 connection: stream 1 is 200', h2c.status(1), 200)
    gf.ctl('lock', 'add', '--resources', gate.res, '--user', 'dave', '--message', 'incident 7')
    t0 = time.monotonic()
    st = None
    while time.monotonic() - t0 < 10:
        st, h, body = gate.get('/awsgate/v1/apps', cert='dave')
        if st == 403:
            break
        time.sleep(0.2)
    took = time.monotonic() - t0
    t.ok('locked user refused with 403 within 10 s (took %.1f s)' % took, st == 403, 'last status %r' % st)
    t.eq('locked: X-Awsgate-Error', gf.hdr(h, 'X-Awsgate-Error'), 'locked')
    d = json_body(body)
    t.ok('locked: JSON error', isinstance(d, dict) and d.get('error') == 'locked', repr(body[:200]))
    keep.sendall(req)
    data = b''
    end = time.monotonic() + 5
    while len(gf.parse_h1(data)) < 1 and time.monotonic() < end:
        chunk = keep.recv(65536)
        if not chunk:
            break
        data += chunk
    r = gf.parse_h1(data)
    t.ok('locked on the already-open keep-alive connection: 403',
         r and r[0][0] == 403 and gf.hdr(r[0][1], 'X-Awsgate-Error') == 'locked', repr(data[:300]))
    keep.close()
    h2c.send(gf.frame(gf.HEADERS, gf.END_STREAM | gf.END_HEADERS, 3, gf.request_block('/awsgate/v1/apps')))
    h2c.read_frames(5, lambda f: f[2] == 3 and f[0] in (gf.DATA, gf.HEADERS) and f[1] & gf.END_STREAM)
    t.ok('locked on the already-open h2 connection: stream 3 is 403 (got %r)' % h2c.status(3),
         h2c.status(3) == 403 and h2c.responses.get(3, {}).get('x-awsgate-error') == 'locked', repr(h2c.responses))
    h2c.close()
    st, h, body = gf.h2_get(gate, '/awsgate/v1/apps', cert='dave')
    t.eq('locked over h2: 403', (st, h.get('x-awsgate-error')), (403, 'locked'))
    st, h, body = gate.get('/awsgate/v1/apps', cert='alice')
    t.eq('another user is unaffected', st, 200)
    st, h, body = gate.get('/healthz', cert='dave')
    t.eq('locked user still gets /healthz', st, 200)
    gf.ctl('lock', 'rm', '--resources', gate.res, [f[5:-5] for f in os.listdir(gate.res) if f.startswith('lock-')][0])
    t0 = time.monotonic()
    while time.monotonic() - t0 < 10:
        st, h, body = gate.get('/awsgate/v1/apps', cert='dave')
        if st == 200:
            break
        time.sleep(0.2)
    t.eq('lock removed: dave served again within 10 s', st, 200)


if __name__ == '__main__':
    main()
