# SPDX-License-Identifier: Apache-2.0
# gate_api.py: AWS API requests through a real awsgated to the fake AWS: protocols, payload modes, denials, hostile X-Forwarded-Host, STS, upstream failures, HTTP/2 and the audit.
#
# The client side signs with botocore (throw-away keys: the gate re-signs) and
# speaks raw HTTP/1.1 over Python's ssl module, curl, or python3-h2; the fake
# AWS (tests/fakeaws/) checks the gate's signatures with botocore and its own
# aws-chunked verifier, and its records are what most checks assert on. The
# fake is started through this file (--fake-with-secrets) so that every
# credential it mints is also written to a file: the audit and error logs are
# then searched for those secrets.
import contextlib
import hashlib
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
FAKEDIR = os.path.join(HERE, '..', 'fakeaws')
sys.path.insert(0, HERE)
sys.path.insert(0, FAKEDIR)


def fake_with_secrets(argv):
    """Runs the fake AWS with Identities.mint also appending each minted
    credential (key id, secret, token, ARN) to argv[0] as a JSON line."""
    out = argv[0]
    import identity
    orig = identity.Identities.mint
    lock = threading.Lock()

    def mint(self, kind, arn, account, duration, **kw):
        p = orig(self, kind, arn, account, duration, **kw)
        with lock, open(out, 'a') as f:
            f.write(json.dumps({'access_key_id': p.access_key_id, 'secret': p.secret, 'token': p.token,
                                'arn': arn}) + '\n')
        return p
    identity.Identities.mint = mint
    import fakeaws
    sys.exit(fakeaws.main(argv[1:]))


if __name__ == '__main__' and len(sys.argv) > 1 and sys.argv[1] == '--fake-with-secrets':
    fake_with_secrets(sys.argv[2:])

import gate_fixture as gf  # noqa: E402

try:
    import botocore  # noqa: F401
    from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    gf.skip('%s has no botocore (apt-get install python3-botocore)' % sys.executable)
import records  # noqa: E402
import gate_endpoints as ge  # noqa: E402
import sigv4_chunked as sc  # noqa: E402  (freezes botocore's clock: sign() sets it to now)

DEV = ge.DEV
STAGING = ge.STAGING
OPS = ge.OPS
TARGET = gf.arn(gf.ACCT_DEV, 'Target')
REGION = 'us-east-1'
BUCKET = 'gate-bucket'
VHOST = BUCKET + '.s3.us-east-1.amazonaws.com'
S3HOST = 's3.us-east-1.amazonaws.com'
STSHOST = 'sts.us-east-1.amazonaws.com'
DDBHOST = 'dynamodb.us-east-1.amazonaws.com'
LAMBDAHOST = 'lambda.us-east-1.amazonaws.com'
LOCAL = Credentials('AKIDLOCALTHROWAWAY01', 'localThrowAwaySecret/000000000000000000000')
MAX_BUFFER = 64 * 1024

FAKE_CONFIG = json.loads(json.dumps(ge.FAKE_CONFIG))
FAKE_CONFIG['roles'].append({'arn': TARGET, 'max_session_duration': 3600,
                             'trust': {'principals': [DEV], 'set_source_identity': True}})
FAKE_CONFIG['dynamodb_tables'] = [{'name': 'fake-table', 'key': ['pk']}]
FAKE_CONFIG['lambda_functions'] = ['echo']

# Every client signature sent: none may appear in the gate's logs.
SENT_SIGNATURES = []


class Fake(ge.Fake):
    """gate_endpoints' fake, started through fake_with_secrets()."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, 'fake')
        os.makedirs(self.dir)
        cfg = os.path.join(tmp, 'fake.json')
        with open(cfg, 'w') as f:
            json.dump(FAKE_CONFIG, f)
        ready = os.path.join(tmp, 'ready')
        os.mkfifo(ready)
        ports = os.path.join(tmp, 'ports.json')
        self.secrets = os.path.join(tmp, 'minted.jsonl')
        self.proc = subprocess.Popen(['/usr/bin/python3', os.path.abspath(__file__), '--fake-with-secrets',
                                      self.secrets, '--config', cfg, '--state-dir', self.dir,
                                      '--ports-file', ports, '--ready', ready, '--lifetime', '600'],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, 'fake.err'), 'w'))
        with open(ready) as f:
            f.read()
        with open(ports) as f:
            p = json.load(f)
        self.https, self.admin, self.ca, self.records = p['https'], p['admin'], p['ca'], p['records']

    def recs(self, **where):
        return records.select(records.read(self.records), **where)

    def n(self):
        return len(records.read(self.records))

    def minted(self):
        out = []
        if os.path.exists(self.secrets):
            with open(self.secrets) as f:
                out = [json.loads(line) for line in f if line.strip()]
        return out


# ---------------------------------------------------------------- clients

class NoSignPayloadConfig:
    s3 = {'payload_signing_enabled': False}


def now_amz():
    return time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())


def sign(method, host, path, body=b'', headers=None, mode='v4', service=None, region=REGION, expires=300):
    """Signs with botocore: (request target, [(name, value)]). mode: v4
    (SigV4Auth: no payload hash header), s3 (S3SigV4Auth: hex hash),
    s3-unsigned (UNSIGNED-PAYLOAD), presign (S3SigV4QueryAuth), none."""
    sc.set_clock(now_amz())
    service = service or ('s3' if mode.startswith('s3') or mode == 'presign' else 'sts')
    req = AWSRequest(method=method, url='https://%s%s' % (host, path), data=body, headers=dict(headers or {}))
    if mode == 'v4':
        SigV4Auth(LOCAL, service, region).add_auth(req)
    elif mode == 's3':
        S3SigV4Auth(LOCAL, service, region).add_auth(req)
    elif mode == 's3-unsigned':
        req.context['client_config'] = NoSignPayloadConfig()
        S3SigV4Auth(LOCAL, service, region).add_auth(req)
    elif mode == 'presign':
        S3SigV4QueryAuth(LOCAL, service, region, expires=expires).add_auth(req)
    p = req.prepare()
    u = urllib.parse.urlsplit(p.url)
    target = (u.path or '/') + ('?' + u.query if u.query else '')
    hdrs = [(k, v) for k, v in p.headers.items() if k.lower() not in ('content-length', 'host')]
    for k, v in hdrs:
        if k.lower() == 'authorization':
            SENT_SIGNATURES.append(v.rsplit('Signature=', 1)[-1])
    q = dict(urllib.parse.parse_qsl(u.query))
    if 'X-Amz-Signature' in q:
        SENT_SIGNATURES.append(q['X-Amz-Signature'])
    return target, hdrs


def raw_request(method, target, host, headers, body=b'', app='dev', role='Dev', xfh=None, length=True):
    """An HTTP/1.1 request as bytes; xfh: the X-Forwarded-Host values (None: [host])."""
    lines = ['%s %s HTTP/1.1' % (method, target), 'Host: %s' % host]
    for k, v in headers:
        lines.append('%s: %s' % (k, v))
    for v in ([host] if xfh is None else xfh):
        lines.append('X-Forwarded-Host: %s' % v)
    if app is not None:
        lines.append('X-Awsgate-App: %s' % app)
    if role is not None:
        lines.append('X-Awsgate-Role: %s' % role)
    if length and (body or method in ('PUT', 'POST')):
        lines.append('Content-Length: %d' % len(body))
    lines.append('Connection: close')
    return ('\r\n'.join(lines) + '\r\n\r\n').encode() + body


class Resp:
    def __init__(self, status, headers, body, raw=b''):
        self.status, self.headers, self.body, self.raw = status, headers, body, raw

    def h(self, name):
        return self.headers.get(name.lower())

    @property
    def reason(self):
        return self.h('x-awsgate-error')

    def __repr__(self):
        return '<%s %s %r>' % (self.status, self.reason, self.body[:300])


def exchange(g, raw, user='alice', timeout=15.0):
    resps, closed, data = gf.raw_exchange(g, raw, cert=user, timeout=timeout)
    final = [r for r in resps if r[0] >= 200]
    if not final:
        return Resp(None, {}, b'', data)
    st, hd, body = final[0]
    return Resp(st, {k: v[0] for k, v in hd.items()}, body, data)


def call(g, method, host, path, body=b'', headers=None, mode='v4', service=None, user='alice', app='dev',
         role='Dev', xfh=None, extra=(), timeout=15.0, region=REGION):
    target, hdrs = sign(method, host, path, body, headers, mode, service, region)
    return exchange(g, raw_request(method, target, host, hdrs + list(extra), body, app, role, xfh),
                    user, timeout)


def sts_form(g, params, user='alice', app='dev', role='Dev', method='POST'):
    body = urllib.parse.urlencode(params).encode()
    if method == 'POST':
        return call(g, 'POST', STSHOST, '/', body, {'Content-Type': 'application/x-www-form-urlencoded'},
                    user=user, app=app, role=role)
    return call(g, 'GET', STSHOST, '/?' + body.decode(), user=user, app=app, role=role)


def gci(g, user='alice', app='dev', role='Dev', **kw):
    return sts_form(g, {'Action': 'GetCallerIdentity', 'Version': '2011-06-15'}, user, app, role, **kw)


def chunked_put(g, mode, data, sizes, host, path, user='alice'):
    """A PUT of data in aws-chunked framing built (and seed-signed) by
    sigv4_chunked.py, sent through the gate."""
    amz = now_amz()
    raw, info = sc.build_request(mode, data, sizes, LOCAL.access_key, LOCAL.secret_key, amz, region=REGION,
                                 host=host, path=path)
    SENT_SIGNATURES.extend(info['signatures'])
    SENT_SIGNATURES.append(info['seed']['signature'])
    head, _, body = raw.partition(b'\r\n\r\n')
    head += ('\r\nX-Forwarded-Host: %s\r\nX-Awsgate-App: dev\r\nX-Awsgate-Role: Dev\r\nConnection: close'
             % host).encode()
    return exchange(g, head + b'\r\n\r\n' + body, user)


def h2_request(g, method, host, target, headers, body=b'', user='alice', timeout=15.0):
    """One request with python3-h2: (status, headers, body)."""
    return h2_requests(g, [(method, host, target, headers, body)], user, timeout)[0]


def h2_requests(g, reqs, user='alice', timeout=15.0, after=None):
    """Requests (method, host, target, headers, body) one after another on
    one HTTP/2 connection (python3-h2): [(status, headers, body)]; once the
    connection is gone the rest are (None, {}, b''). |after|(i, stream id),
    if given, runs as each response ends, with the connection still open."""
    import h2.config
    import h2.connection
    import h2.events
    import h2.exceptions
    s = g.connect(user, alpn=('h2',), timeout=timeout)
    out = []
    try:
        if s.selected_alpn_protocol() != 'h2':
            raise RuntimeError('ALPN h2 not selected')
        c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding='utf-8'))
        c.initiate_connection()
        s.sendall(c.data_to_send())
        gone = False
        for method, host, target, headers, body in reqs:
            if gone:
                out.append((None, {}, b''))
                continue
            sid = c.get_next_available_stream_id()
            hl = [(':method', method), (':scheme', 'https'), (':authority', 'localhost'), (':path', target)]
            hl += [(k.lower(), v) for k, v in headers]
            hl += [('x-forwarded-host', host), ('x-awsgate-app', 'dev'), ('x-awsgate-role', 'Dev')]
            if body:
                hl.append(('content-length', str(len(body))))
            c.send_headers(sid, hl, end_stream=not body)
            off = 0
            status, hdrs, rbody = None, {}, b''
            end = time.monotonic() + timeout
            done = False
            while not done and time.monotonic() < end:
                while off < len(body):
                    n = min(len(body) - off, c.local_flow_control_window(sid), c.max_outbound_frame_size)
                    if n <= 0:
                        break
                    c.send_data(sid, body[off:off + n], end_stream=off + n == len(body))
                    off += n
                data = c.data_to_send()
                try:
                    if data:
                        s.sendall(data)
                    data = s.recv(65536)
                except (OSError, ssl.SSLError):
                    data = b''
                if not data:
                    gone = True
                    break
                for ev in c.receive_data(data):
                    if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                        for k, v in ev.headers:
                            if k == ':status':
                                status = int(v)
                            else:
                                hdrs[k] = v
                    elif isinstance(ev, h2.events.DataReceived):
                        if ev.stream_id == sid:
                            rbody += ev.data
                        try:
                            c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                        except h2.exceptions.StreamClosedError:
                            pass
                    elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)) and ev.stream_id == sid:
                        done = True
                    elif isinstance(ev, h2.events.ConnectionTerminated):
                        done = gone = True
            out.append((status, hdrs, rbody))
            if after is not None and done:
                after(len(out) - 1, sid)
        return out
    finally:
        s.close()


# ---------------------------------------------------------------- helpers for checks

def audit(g):
    return ge.audit(g)


def denials(g):
    return [e for e in audit(g) if e.get('event') == 'request.denied']


class Silent:
    """A TCP listener that never accepts: the connection is made by the
    kernel, and nothing is ever answered."""

    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.bind(('127.0.0.1', 0))
        self.s.listen(16)
        self.port = self.s.getsockname()[1]

    def close(self):
        self.s.close()


class OtherCaTls:
    """A TLS server whose certificate is from a CA the gate does not trust
    for AWS (the gate's own client CA)."""

    def __init__(self, cert, key):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.bind(('127.0.0.1', 0))
        self.s.listen(16)
        self.s.settimeout(0.5)
        self.port = self.s.getsockname()[1]
        self.stop = False
        self.handshakes = 0
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        while not self.stop:
            try:
                c, _ = self.s.accept()
            except (socket.timeout, OSError):
                continue
            c.settimeout(3)
            try:
                t = self.ctx.wrap_socket(c, server_side=True)
                self.handshakes += 1
                t.close()
            except (ssl.SSLError, OSError):
                c.close()

    def close(self):
        self.stop = True
        self.th.join()
        self.s.close()


@contextlib.contextmanager
def guard(t, section):
    """Runs a section of checks; an exception (a gate that hangs up, say)
    is one failed check with its traceback, and the next section runs."""
    try:
        yield
    except Exception:
        t.ok('section "%s" ran to its end' % section, False, traceback.format_exc()[-1500:])


def main():
    gf.require_server()
    t = gf.Checks('gate API: AWS requests through awsgated')
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix='awsgate-api-')
    fake = g = g2 = silent = badtls = None
    try:
        fake = Fake(tmp)
        os.environ.update({'AWS_ACCESS_KEY_ID': ge.GATE_KEY, 'AWS_SECRET_ACCESS_KEY': ge.GATE_SECRET,
                           'AWS_EC2_METADATA_DISABLED': 'true', 'HOME': tmp})
        for k in ('AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_STS',
                  'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI'):
            os.environ.pop(k, None)
        silent = Silent()
        closed_port = gf.free_port()
        fakeaddr = '127.0.0.1:%d' % fake.https
        conf = {'aws': {'region': REGION, 'ca_file': fake.ca,
                        'connect_to': [
                            {'host': 'closed-bucket.s3.us-east-1.amazonaws.com', 'address': '127.0.0.1:%d' % closed_port},
                            {'host': 'silent-bucket.s3.us-east-1.amazonaws.com', 'address': '127.0.0.1:%d' % silent.port},
                            {'host': 'badtls-bucket.s3.us-east-1.amazonaws.com', 'address': '127.0.0.1:1'},
                            {'host': '*.amazonaws.com', 'address': fakeaddr}]},
                'limits': {'max_body_buffer': '64KiB'},
                'timeouts': {'sts': '5s', 'upstream_first_byte': '1s', 'upstream_connect': '2s'}}
        g = gf.Gate(conf)
        # The bad-TLS server uses the gate's own server certificate: a CA
        # the gate trusts for clients, not for AWS (aws.ca_file).
        badtls = OtherCaTls(g.pki.server + '.crt', g.pki.server + '.key')
        g.conf['aws']['connect_to'][2]['address'] = '127.0.0.1:%d' % badtls.port
        g.write_conf()
        apps = json.loads(json.dumps(gf.APPS))
        for a in apps:
            if a['metadata']['name'] == 'dev':
                a['spec']['aws'] = {'external_id': 'ext-dev'}
        with open(os.path.join(g.res, 'apps.json'), 'w') as f:
            json.dump(apps, f)
        # Users with fresh credential-cache entries, one per check that needs one.
        for user, ttl in (('ivan', '30m'), ('judy', '8h'), ('kate', '8h'), ('leo', '8h'), ('mia', '8h')):
            gf.ctl('certs', 'user', '--dir', g.pki.ca, '--user', user, '--roles', 'dev', '--ttl', ttl,
                   '--out', os.path.join(g.pki.dir, user))
        g.start()

        # --- 5c. concurrent first requests: one AssumeRole ---------------------
        with guard(t, '5c. concurrent first requests: one AssumeRole'):
            fake.fault({'host': 'sts.*', 'action': 'AssumeRole', 'kind': 'slow', 'delay': 1.0, 'count': 1})
            res = []
            ths = [threading.Thread(target=lambda: res.append(gci(g, user='judy'))) for _ in range(20)]
            for th in ths:
                th.start()
            for th in ths:
                th.join()
            t.eq('sts: 20 concurrent first requests of judy for Dev all answered 200',
                 sorted(r.status for r in res), [200] * 20, str([r for r in res if r.status != 200][:2]))
            t.eq('  exactly one AssumeRole at the fake for them',
                 len(fake.recs(action='AssumeRole', **{'minted.session_name': 'judy'})), 1)
            ar = [e for e in audit(g) if e.get('event') == 'sts.assume_role' and e.get('session_name') == 'judy']
            rec = records.last(fake.records, action='AssumeRole', **{'minted.session_name': 'judy'})
            t.ok('  audited once as sts.assume_role: role, session, source identity, external id, expiry, outcome ok',
                 len(ar) == 1 and ar[0].get('role_arn') == DEV and ar[0].get('source_identity') == 'judy'
                 and ar[0].get('external_id') == 'set' and ar[0].get('outcome') == 'ok'
                 and ar[0].get('trigger') == 'request' and ar[0].get('expires', '').endswith('Z')
                 and ar[0].get('assumed_role_arn') == 'arn:aws:sts::%s:assumed-role/Dev/judy' % gf.ACCT_DEV
                 and rec is not None and ar[0].get('aws_request_id') == rec.get('request_id')
                 and ar[0].get('duration_ms', 0) >= 900, str(ar)[:600])
            fake.clear_faults()

        # --- 1. protocols ----------------------------------------------------------
        with guard(t, '1. protocols'):
            r = gci(g)
            t.ok('query: sts GetCallerIdentity is answered as assumed-role/Dev/alice',
                 r.status == 200 and b'assumed-role/Dev/alice' in r.body, repr(r))
            rec = records.last(fake.records, action='GetCallerIdentity', **{'identity.session_name': 'alice'})
            alice_keys = {m['access_key_id'] for m in fake.minted()
                          if m['arn'] == 'arn:aws:sts::%s:assumed-role/Dev/alice' % gf.ACCT_DEV}
            dev_alice = fake.recs(action='AssumeRole', status=200, **{'minted.arn': 'arn:aws:sts::%s:assumed-role/Dev/alice' % gf.ACCT_DEV})
            t.ok('  the fake verified the gate\'s signature with the role session\'s key',
                 rec is not None and rec['signature'] == 'valid' and rec['access_key_id'] in alice_keys
                 and rec['access_key_id'] != ge.GATE_KEY and len(dev_alice) == 1,
                 str(rec and (rec['signature'], rec['access_key_id'], rec['signature_message'])))
            t.ok('  the client\'s throw-away key never reached the fake',
                 not any(LOCAL.access_key in json.dumps(x) for x in records.read(fake.records)))

            r = call(g, 'POST', DDBHOST, '/', json.dumps({'TableName': 'fake-table', 'Item': {'pk': {'S': 'k1'},
                                                                                           'v': {'S': 'hello'}}}).encode(),
                     {'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'DynamoDB_20120810.PutItem'},
                     service='dynamodb')
            t.eq('json: DynamoDB PutItem (X-Amz-Target): 200', r.status, 200, repr(r))
            r = call(g, 'POST', DDBHOST, '/', json.dumps({'TableName': 'fake-table', 'Key': {'pk': {'S': 'k1'}}}).encode(),
                     {'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'DynamoDB_20120810.GetItem'},
                     service='dynamodb')
            t.ok('json: DynamoDB GetItem returns the item', r.status == 200 and b'hello' in r.body, repr(r))
            t.eq('  both verified by the fake as signed by the role session',
                 len(fake.recs(service='dynamodb', signature='valid', status=200, **{'identity.role_arn': DEV})), 2)

            r = call(g, 'GET', LAMBDAHOST, '/2015-03-31/functions/', service='lambda')
            t.ok('rest-json: Lambda ListFunctions lists echo', r.status == 200 and b'echo' in r.body, repr(r))
            r = call(g, 'POST', LAMBDAHOST, '/2015-03-31/functions/echo/invocations', b'{"x": 1}', service='lambda')
            t.ok('rest-json: Lambda Invoke answers as the role session',
                 r.status == 200 and b'assumed-role/Dev/alice' in r.body, repr(r))
            t.eq('  both verified by the fake',
                 len(fake.recs(service='lambda', signature='valid', status=200, **{'identity.role_arn': DEV})), 2)

            for style, host, base in (('virtual-host', VHOST, ''), ('path', S3HOST, '/' + BUCKET)):
                body = ('object via %s style\n' % style).encode() * 10
                r = call(g, 'PUT', host, base + '/obj-%s' % style, body, mode='s3')
                t.eq('rest-xml: S3 PutObject, %s style: 200' % style, r.status, 200, repr(r))
                r = call(g, 'GET', host, base + '/obj-%s' % style, mode='s3')
                t.eq('  GetObject returns the bytes', (r.status, r.body), (200, body))
                r = call(g, 'HEAD', host, base + '/obj-%s' % style, mode='s3')
                t.eq('  HeadObject: 200 with the Content-Length', (r.status, r.h('content-length')),
                     (200, str(len(body))))
                r = call(g, 'DELETE', host, base + '/obj-%s' % style, mode='s3')
                t.eq('  DeleteObject: 204', r.status, 204, repr(r))
                r = call(g, 'GET', host, base + '/obj-%s' % style, mode='s3')
                t.ok('  then GetObject: 404 NoSuchKey from the fake (no gate error)',
                     r.status == 404 and b'NoSuchKey' in r.body and r.reason is None, repr(r))
                recs = fake.recs(host=host, **{'identity.role_arn': DEV})
                t.ok('  all five verified by the fake, signed with the role session\'s key',
                     len(recs) == 5 and all(x['signature'] == 'valid' and x['access_key_id'] in alice_keys for x in recs),
                     str([(x['action'], x['signature'], x['signature_message']) for x in recs]))

        # --- 2. payload modes ---------------------------------------------------------
        with guard(t, '2. payload modes'):
            def put_then_get(name, r, key, body, payload_rule):
                t.eq('payload %s: PUT 200' % name, r.status, 200, repr(r))
                rec = records.last(fake.records, action='PutObject', path='/' + key)
                hv = rec and records.header(rec, 'x-amz-content-sha256')
                t.ok('  verified by the fake (%s)' % payload_rule,
                     rec is not None and rec['signature'] == 'valid' and rec['access_key_id'] in alice_keys
                     and payload_checks[name](hv), str(rec and (rec['signature'], rec['signature_message'], hv)))
                # Read back over HTTP/2: an HTTP/1.1 answer over 64 KiB is
                # checked on its own below.
                target, hdrs = sign('GET', VHOST, '/' + key, mode='s3')
                st, _, rb = h2_request(g, 'GET', VHOST, target, hdrs, timeout=5)
                t.eq('  and the object reads back byte for byte', (st, len(rb), rb == body), (200, len(body), True))

            payload_checks = {
                'hex hash': lambda v: v == hashlib.sha256(b'hex-hash body\n' * 100).hexdigest(),
                'UNSIGNED-PAYLOAD': lambda v: v == 'UNSIGNED-PAYLOAD',
                'none (buffered)': lambda v: v == hashlib.sha256(b'buffered body\n' * 200).hexdigest(),
                'STREAMING-AWS4-HMAC-SHA256-PAYLOAD': lambda v: v == sc.STREAMING_SIGNED,
                'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER': lambda v: v == sc.STREAMING_SIGNED_TRAILER,
                'STREAMING-UNSIGNED-PAYLOAD-TRAILER': lambda v: v == sc.STREAMING_UNSIGNED_TRAILER,
            }
            body = b'hex-hash body\n' * 100
            put_then_get('hex hash', call(g, 'PUT', VHOST, '/p-hex', body, mode='s3'), 'p-hex', body,
                         'the body\'s SHA-256')
            body = b'unsigned body\n' * 100
            put_then_get('UNSIGNED-PAYLOAD', call(g, 'PUT', VHOST, '/p-unsigned', body, mode='s3-unsigned'),
                         'p-unsigned', body, 'UNSIGNED-PAYLOAD kept')
            body = b'buffered body\n' * 200
            put_then_get('none (buffered)', call(g, 'PUT', VHOST, '/p-buffered', body, mode='v4', service='s3'),
                         'p-buffered', body, 'the gate hashed the buffered body')
            n0 = fake.n()
            big = b'B' * (MAX_BUFFER + 1)
            r = call(g, 'PUT', VHOST, '/p-toolarge', big, mode='v4', service='s3')
            t.ok('payload none, a body over limits.max_body_buffer (64 KiB): 413 payload-too-large in S3\'s XML',
                 r.status == 413 and r.reason == 'payload-too-large' and b'<Error><Code>RequestEntityTooLarge</Code>' in r.body,
                 repr(r))
            t.eq('  nothing reached the fake', fake.n(), n0)
            data = bytes(range(256)) * 300  # 76800 bytes, three chunks
            for mode, name in (('signed', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'),
                               ('signed-trailer', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'),
                               ('unsigned-trailer', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER')):
                key = 'p-' + mode
                r = chunked_put(g, mode, data, [32768, 32768, len(data) - 65536], VHOST, '/' + key)
                put_then_get(name, r, key, data, 'chunk signatures re-signed and chained' if mode != 'unsigned-trailer'
                             else 'trailer passed')

            # Expect: 100-continue over HTTP/1.1 with curl -T.
            upfile = os.path.join(tmp, 'upload.bin')
            updata = os.urandom(300 * 1024)
            with open(upfile, 'wb') as f:
                f.write(updata)
            target, hdrs = sign('PUT', VHOST, '/p-curl', updata, mode='s3')
            c, k = g.pki.cert('alice')
            argv = [gf.CURL, '-sS', '--http1.1', '--max-time', '20', '--cacert', g.pki.cacert, '--cert', c, '--key', k,
                    '--resolve', 'localhost:%d:127.0.0.1' % g.port, '-T', upfile, '-H', 'Expect: 100-continue',
                    '--expect100-timeout', '6', '-H', 'X-Forwarded-Host: ' + VHOST, '-H', 'X-Awsgate-App: dev',
                    '-H', 'X-Awsgate-Role: Dev', '-o', '/dev/null', '-w', '%{time_total} %{http_code}']
            for hk, hv in hdrs:
                argv += ['-H', '%s: %s' % (hk, hv)]
            p = subprocess.run(argv + ['https://localhost:%d/p-curl' % g.port], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            secs, _, code = p.stdout.decode().partition(' ')
            t.ok('Expect: 100-continue, curl --http1.1 -T 300 KiB: 200 without curl\'s 6 s wait',
                 code == '200' and float(secs or 99) < 4.0, '%s %s' % (p.stdout, p.stderr[-300:]))
            # The same upload by carol (no roles): the refusal comes instead of
            # 100 Continue, and curl sends no body.
            n0 = fake.n()
            cc, ck = g.pki.cert('carol')
            argv2 = [x for x in argv]
            argv2[argv2.index(c)] = cc
            argv2[argv2.index(k)] = ck
            argv2[argv2.index('%{time_total} %{http_code}')] = '%{time_total} %{http_code} %{size_upload}'
            p = subprocess.run(argv2 + ['https://localhost:%d/p-curl-carol' % g.port], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            secs, code, up = (p.stdout.decode().split(' ') + ['', '', ''])[:3]
            t.ok('Expect: 100-continue refused (carol): 403 at once and the 300 KiB body not sent',
                 code == '403' and float(secs or 99) < 4.0 and int(up or 0) < len(updata), p.stdout.decode())
            t.eq('  nothing reached the fake', fake.n(), n0)
            target, hdrs = sign('GET', VHOST, '/p-curl', mode='s3')
            st, _, rb = h2_request(g, 'GET', VHOST, target, hdrs, timeout=5)
            t.eq('  the object reads back byte for byte (HTTP/2)', (st, len(rb), rb == updata), (200, len(updata), True))
            # An HTTP/1.1 answer larger than 64 KiB, with curl and with Python.
            target, hdrs = sign('GET', VHOST, '/p-curl', mode='s3')
            argv = [gf.CURL, '-sS', '--http1.1', '--max-time', '5', '--cacert', g.pki.cacert, '--cert', c, '--key', k,
                    '--resolve', 'localhost:%d:127.0.0.1' % g.port, '-H', 'X-Forwarded-Host: ' + VHOST,
                    '-H', 'X-Awsgate-App: dev', '-H', 'X-Awsgate-Role: Dev', '-o', os.path.join(tmp, 'h1.out'),
                    '-w', '%{http_code} %{size_download}']
            for hk, hv in hdrs:
                argv += ['-H', '%s: %s' % (hk, hv)]
            p = subprocess.run(argv + ['https://localhost:%d/p-curl' % g.port], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            t.eq('HTTP/1.1 GET of a 300 KiB object (curl --http1.1): every byte within 5 s',
                 p.stdout.decode(), '200 %d' % len(updata), p.stderr.decode()[-200:])
            r = call(g, 'GET', VHOST, '/p-curl', mode='s3', timeout=5)
            t.eq('HTTP/1.1 GET of a 300 KiB object (Python ssl): every byte within 5 s', (r.status, len(r.body)),
                 (200, len(updata)))

            target, hdrs = sign('GET', VHOST, '/p-hex', mode='presign')
            r = exchange(g, raw_request('GET', target, VHOST, hdrs))
            rec = records.last(fake.records, action='GetObject', presigned=True)
            t.ok('presigned query GET (S3SigV4QueryAuth): 200 with the object', r.status == 200
                 and r.body == b'hex-hash body\n' * 100, repr(r))
            t.ok('  re-presigned: the fake verified a presigned URL of the role session',
                 rec is not None and rec['signature'] == 'valid' and rec['access_key_id'] in alice_keys,
                 str(rec and (rec['signature'], rec['signature_message'])))
            q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit('https://x' + target).query))
            t.ok('  the client\'s X-Amz-* query parameters were replaced, not passed along',
                 rec is not None and dict((k, v) for k, v in rec['query']).get('X-Amz-Credential', '').startswith('ASIA')
                 and q['X-Amz-Credential'].startswith(LOCAL.access_key), str(rec and rec['query']))
            # A presigned URL past its expiry, and signatures the gate does not take.
            n0 = fake.n()
            past = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(time.time() - 3600))
            sc.set_clock(past)
            req = AWSRequest(method='GET', url='https://%s/p-hex' % VHOST)
            S3SigV4QueryAuth(LOCAL, 's3', REGION, expires=60).add_auth(req)
            u = urllib.parse.urlsplit(req.prepare().url)
            SENT_SIGNATURES.append(dict(urllib.parse.parse_qsl(u.query))['X-Amz-Signature'])
            r = exchange(g, raw_request('GET', u.path + '?' + u.query, VHOST, []))
            t.ok('presigned URL that expired an hour ago (60 s at T-1h): 403 presign-expired in S3\'s XML',
                 r.status == 403 and r.reason == 'presign-expired' and b'<Code>AccessDenied</Code>' in r.body, repr(r))
            r = exchange(g, raw_request('GET', '/p-hex', VHOST, [('Authorization', 'AWS AKIDLOCALTHROWAWAY01:c2lnbmF0dXJl'),
                                                                 ('Date', 'Fri, 04 Dec 2026 12:00:00 GMT')]))
            t.eq('SigV2 Authorization: 400 signature-unsupported', (r.status, r.reason), (400, 'signature-unsupported'))
            target, hdrs = sign('GET', VHOST, '/p-hex', mode='s3')
            hdrs = [(k, v.replace('AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256') if k.lower() == 'authorization' else v)
                    for k, v in hdrs] + [('X-Amz-Region-Set', 'us-east-1')]
            r = exchange(g, raw_request('GET', target, VHOST, hdrs))
            t.eq('SigV4a Authorization: 400 signature-unsupported', (r.status, r.reason), (400, 'signature-unsupported'))
            target, hdrs = sign('GET', VHOST, '/p-hex', mode='s3')
            hdrs = [(k, v) for k, v in hdrs] + [('Authorization', 'AWS4-HMAC-SHA256 Credential=x')]
            r = exchange(g, raw_request('GET', target, VHOST, hdrs))
            t.eq('two Authorization headers: 400 signature-malformed', (r.status, r.reason), (400, 'signature-malformed'))
            t.eq('  none of these reached the fake', fake.n(), n0)

        # --- 3. denials -------------------------------------------------------------------
        with guard(t, '3. denials'):
            def denied(name, r, status, reasons, user, check_audit=True):
                t.ok(name, r.status == status and r.reason in reasons, 'got %r, want %d %s' % (r, status, reasons))
                if check_audit:
                    ev = [e for e in denials(g) if e.get('user') == user]
                    t.ok('  audited as request.denied with reason %s' % r.reason,
                         ev and ev[-1].get('reason') == r.reason and ev[-1].get('status') is not None, str(ev[-1:]))

            n0 = fake.n()
            r = gci(g, user='carol', app='dev', role='Dev')
            denied('denial: carol (no roles) asking for dev/Dev: 403', r, 403, ('no-apps', 'role-not-allowed',
                                                                                'role-denied'), 'carol')
            t.ok('  in the query protocol\'s shape', b'<ErrorResponse>' in r.body and b'<Code>AccessDenied</Code>' in r.body,
                 repr(r))
            r = gci(g, user='alice', app='prod', role='Ops')
            denied('denial: alice asking for prod/Ops (not her role): 403', r, 403, ('role-not-allowed', 'role-denied',
                                                                                    'unknown-app'), 'alice')
            r = gci(g, user='bob', app='prod', role='Admin')
            denied('denial: bob (ops) asking for prod/Admin, allowed then denied by a deny rule: 403', r, 403,
                   ('deny-rule-arn', 'role-denied'), 'bob')
            t.ok('  the message names the deny', b'den' in r.body.lower(), repr(r))
            r = gci(g, user='alice', app=None, role=None)
            denied('denial: alice naming no app (two apps): 400', r, 400, ('choose-app', 'app-ambiguous'), 'alice')
            r = call(g, 'PUT', VHOST, '/nocert', b'x', mode='s3', user=None)
            t.ok('denial: no client certificate: 403 in S3\'s XML',
                 r.status in (401, 403) and r.reason is not None and b'<Error><Code>AccessDenied</Code>' in r.body, repr(r))
            ev = denials(g)
            t.ok('  audited as request.denied with reason %s' % r.reason,
                 ev and ev[-1].get('reason') == r.reason and not ev[-1].get('user'), str(ev[-1:]))
            t.eq('  none of these reached the fake', fake.n(), n0)

            # A lock: refused within seconds, audited, nothing at the fake.
            r = gci(g, user='dave')
            t.eq('lock: dave before the lock: 200', r.status, 200, repr(r))
            gf.ctl('lock', 'add', '--resources', g.res, '--user', 'dave', '--message', 'incident 42',
                   '--name', 'apitest')
            n0 = fake.n()
            t1 = time.monotonic()
            while time.monotonic() - t1 < 10:
                r = gci(g, user='dave')
                if r.status != 200:
                    break
                time.sleep(0.2)
            took = time.monotonic() - t1
            n1 = fake.n()
            denied('lock: dave refused 403 locked within %.1f s of awsgatectl lock add' % took, r, 403, ('locked',), 'dave')
            t.ok('  the message names the lock', b'apitest' in r.body and b'incident 42' in r.body, repr(r))
            r2 = call(g, 'GET', VHOST, '/p-hex', mode='s3', user='dave')
            t.eq('  also for S3 (the lock is per user)', (r2.status, r2.reason), (403, 'locked'))
            t.ok('  nothing reached the fake once locked (before it: only forwarded GetCallerIdentity)',
                 fake.n() == n1 and all(x['action'] == 'GetCallerIdentity' for x in records.read(fake.records)[n0:n1]))
            gf.ctl('lock', 'rm', '--resources', g.res, 'apitest')

        # --- 4. hostile X-Forwarded-Host ---------------------------------------------
        with guard(t, '4. hostile X-Forwarded-Host'):
            n0 = fake.n()
            hostile = [
                ('userinfo', ['user@s3.amazonaws.com'], 400, ('forwarded-host-malformed',)),
                ('port 8443', ['s3.amazonaws.com:8443'], 400, ('forwarded-host-port',)),
                ('port 0443', ['s3.amazonaws.com:0443'], 400, ('forwarded-host-port',)),
                ('a scheme inside', ['a.example.com://s3.amazonaws.com'], 400, ('forwarded-host-malformed',)),
                ('an AWS name under another domain', ['amazonaws.com.evil.example'], 403, ('endpoint-not-aws',)),
                ('s3.amazonaws.com.evil.example', ['s3.amazonaws.com.evil.example'], 403, ('endpoint-not-aws',)),
                ('IPv4 literal', ['127.0.0.1'], 400, ('forwarded-host-ip-literal',)),
                ('IPv4 literal 169.254.169.254', ['169.254.169.254'], 400, ('forwarded-host-ip-literal',)),
                ('IPv4 short form 127.1', ['127.1'], 400, ('forwarded-host-ip-literal',)),
                ('IPv6 literal in brackets', ['[::1]'], 400, ('forwarded-host-ip-literal',)),
                ('IPv6 literal bare', ['fd00:ec2::254'], 400, ('forwarded-host-ip-literal',)),
                ('trailing dot', ['s3.amazonaws.com.'], 400, ('forwarded-host-malformed',)),
                ('two headers', [VHOST, 'sts.amazonaws.com'], 400, ('forwarded-host-duplicate',)),
                ('two equal headers', [VHOST, VHOST], 400, ('forwarded-host-duplicate',)),
                ('a list', [VHOST + ', evil.example.com'], 400, ('forwarded-host-duplicate',)),
                ('punycode', ['xn--s3-8ka.amazonaws.com'], 400, ('forwarded-host-idn',)),
                ('a customer EC2 name', ['ec2-1-2-3-4.compute-1.amazonaws.com'], 403, ('endpoint-customer',)),
                ('a wildcard', ['*.s3.amazonaws.com'], 400, ('forwarded-host-malformed',)),
            ]
            for name, xfh, status, reasons in hostile:
                r = call(g, 'GET', VHOST, '/p-hex', mode='s3', xfh=xfh)
                t.ok('X-Forwarded-Host %s (%s): %d %s' % (name, ' | '.join(xfh), status, reasons[0]),
                     r.status == status and r.reason in reasons, repr(r))
            # Non-ASCII bytes (raw UTF-8 in the header).
            target, hdrs = sign('GET', VHOST, '/p-hex', mode='s3')
            raw = raw_request('GET', target, VHOST, hdrs, xfh=[]).replace(
                b'Connection: close', 'X-Forwarded-Host: s3.ämazonaws.com\r\nConnection: close'.encode('utf-8'))
            r = exchange(g, raw)
            t.ok('X-Forwarded-Host with raw UTF-8 bytes: 400 forwarded-host-idn (or refused by the HTTP parser)',
                 r.status == 400 and r.reason in ('forwarded-host-idn', 'bad-request', None), repr(r))
            t.eq('  none of the hostile hosts reached the fake', fake.n(), n0)
            ev = [e for e in denials(g) if e.get('reason', '').startswith(('forwarded-host', 'endpoint-'))]
            t.ok('  each audited as request.denied with its reason', len(ev) >= len(hostile), '%d events' % len(ev))
            r = call(g, 'GET', VHOST.upper(), '/p-hex', mode='s3', xfh=[VHOST.upper()])
            rec = records.last(fake.records, action='GetObject')
            t.ok('X-Forwarded-Host in upper case: accepted, lower-cased at the fake',
                 r.status == 200 and rec['host'] == VHOST and rec['sni'] == VHOST and rec['signature'] == 'valid',
                 '%r %s' % (r, rec and (rec['host'], rec['sni'], rec['signature'])))

        # --- 5. STS ----------------------------------------------------------------------
        with guard(t, '5. STS'):
            n0 = len(fake.recs(action='AssumeRole'))
            r = gci(g, user='bob', app='dev', role='Ops')
            t.ok('sts: the gate\'s AssumeRole on Ops refused by STS (AccessDenied): 403 in the query shape',
                 r.status == 403 and r.reason in ('assume-role-denied', 'sts-denied') and b'AccessDenied' in r.body,
                 repr(r))
            t.eq('  one AssumeRole reached the fake and nothing else for bob',
                 (len(fake.recs(action='AssumeRole')) - n0, len(fake.recs(**{'identity.session_name': 'bob'}))), (1, 0))
            ar = [e for e in audit(g) if e.get('event') == 'sts.assume_role' and e.get('role_arn') == OPS]
            t.ok('  the refused AssumeRole is audited: outcome, AWS\'s code and message, no expiry',
                 len(ar) == 1 and ar[0].get('session_name') == 'bob' and ar[0].get('outcome') != 'ok'
                 and ar[0].get('aws_code') == 'AccessDenied' and 'not authorized' in (ar[0].get('message') or '')
                 and 'expires' not in ar[0], str(ar)[:600])
            fake.fault({'host': 'sts.*', 'action': 'AssumeRole', 'kind': 'throttle', 'count': 20})
            r = call(g, 'POST', DDBHOST, '/', b'{}', {'Content-Type': 'application/x-amz-json-1.0',
                                                       'X-Amz-Target': 'DynamoDB_20120810.ListTables'},
                     service='dynamodb', user='kate')
            fake.clear_faults()
            t.ok('sts: STS throttling past the retries: 503 sts-unavailable, ServiceUnavailableException (retryable)',
                 r.status == 503 and r.reason == 'sts-unavailable' and b'ServiceUnavailable' in r.body, repr(r))
            t.eq('  no DynamoDB request reached the fake for kate', len(fake.recs(service='dynamodb',
                                                                                  **{'identity.session_name': 'kate'})), 0)
            fake.fault({'host': 'sts.*', 'action': 'AssumeRole', 'kind': 'error', 'status': 503, 'count': 20})
            r = call(g, 'GET', VHOST, '/p-hex', mode='s3', user='leo')
            fake.clear_faults()
            t.ok('sts: STS down (503 ServiceUnavailable): 503 sts-unavailable, ServiceUnavailable in S3\'s XML',
                 r.status == 503 and r.reason == 'sts-unavailable' and b'<Code>ServiceUnavailable</Code>' in r.body,
                 repr(r))
            n0 = len(fake.recs(action='AssumeRole'))
            r = gci(g, user='kate')
            t.ok('  the failure is cached for a few seconds (CREDENTIALS.md): kate again at once: 503, no AssumeRole',
                 r.status == 503 and r.reason == 'sts-unavailable' and len(fake.recs(action='AssumeRole')) == n0, repr(r))
            r = gci(g, user='mia')
            t.eq('  STS answers again: mia\'s first request succeeds', r.status, 200, repr(r))

        # --- 6. the user's own sts:AssumeRole ---------------------------------------------
        with guard(t, "6. the user's own sts:AssumeRole"):
            for method in ('POST', 'GET'):
                sess = 'ivan-%s' % method.lower()
                r = sts_form(g, {'Action': 'AssumeRole', 'Version': '2011-06-15', 'RoleArn': TARGET,
                                 'RoleSessionName': sess, 'DurationSeconds': '3600'}, user='ivan', method=method)
                rec = records.last(fake.records, action='AssumeRole', **{'minted.session_name': sess})
                t.ok('user AssumeRole (%s) with DurationSeconds 3600 and a 30-minute certificate: 200' % method,
                     r.status == 200 and b'<SecretAccessKey>' in r.body, repr(r))
                life = rec and rec['minted']['expires'] - rec['time']
                t.ok('  capped at the fake: the session lasts at most 1800 s', rec is not None and 0 < life <= 1800,
                     str(life))
                t.ok('  SourceIdentity set to the user', rec is not None and rec['minted'].get('source_identity') == 'ivan',
                     str(rec and rec['minted']))
                t.ok('  signed by the gate with ivan\'s Dev session', rec is not None and rec['signature'] == 'valid'
                     and rec['identity'].get('arn', '').endswith('assumed-role/Dev/ivan'), str(rec and rec['identity']))
            n0 = fake.n()
            r = sts_form(g, {'Action': 'AssumeRole', 'Version': '2011-06-15', 'RoleArn': TARGET,
                             'RoleSessionName': 'ivan-x', 'SourceIdentity': 'mallory'}, user='ivan')
            denied('user AssumeRole naming SourceIdentity=mallory: 403 source-identity-mismatch', r, 403,
                   ('source-identity-mismatch',), 'ivan')
            t.eq('  nothing reached the fake', fake.n(), n0)
            r = sts_form(g, {'Action': 'AssumeRole', 'Version': '2011-06-15', 'RoleArn': TARGET,
                             'RoleSessionName': 'ivan-y', 'SourceIdentity': 'ivan'}, user='ivan', method='GET')
            t.eq('user AssumeRole naming SourceIdentity=ivan (GET): 200', r.status, 200, repr(r))

        # --- 7. upstream failures ---------------------------------------------------------
        with guard(t, '7. upstream failures'):
            host = 'closed-bucket.s3.us-east-1.amazonaws.com'
            r = call(g, 'GET', host, '/k', mode='s3')
            t.ok('upstream: connect_to a closed port: 502 upstream-connect in S3\'s XML',
                 r.status == 502 and r.reason == 'upstream-connect' and b'<Error>' in r.body, repr(r))
            ev = [e for e in audit(g) if e.get('event') == 'api.request' and e.get('host') == host]
            t.ok('  audited as api.request, status 502, error the gate\'s reason upstream-connect (API.md)',
                 ev and ev[-1].get('status') == 502 and ev[-1].get('error') == 'upstream-connect', str(ev[-1:]))
            tt = time.monotonic()
            r = call(g, 'GET', 'silent-bucket.s3.us-east-1.amazonaws.com', '/k', mode='s3')
            took = time.monotonic() - tt
            t.ok('upstream: a listener that never answers the TLS handshake: 504 upstream-timeout within ~2 s '
                 '(timeouts.upstream_connect)', r.status == 504 and r.reason == 'upstream-timeout' and took < 6,
                 '%r in %.1f s' % (r, took))
            fake.fault({'host': BUCKET + '.*', 'action': 'GetObject', 'kind': 'slow', 'delay': 3.0, 'count': 1})
            tt = time.monotonic()
            r = call(g, 'GET', VHOST, '/p-hex', mode='s3')
            took = time.monotonic() - tt
            t.ok('upstream: AWS accepts and does not answer within timeouts.upstream_first_byte (1 s): 504 upstream-timeout',
                 r.status == 504 and r.reason == 'upstream-timeout' and took < 2.9, '%r in %.1f s' % (r, took))
            fake.clear_faults()
            fake.fault({'host': BUCKET + '.*', 'action': 'GetObject', 'kind': 'error', 'status': 500, 'count': 1})
            r = call(g, 'GET', VHOST, '/p-hex', mode='s3')
            rec = records.last(fake.records, action='GetObject')
            t.ok('upstream: a 500 InternalError from AWS passes through unchanged (no gate error header)',
                 r.status == 500 and r.reason is None and b'InternalError' in r.body
                 and r.h('x-amz-request-id') == rec['request_id'], '%r %s' % (r, rec and rec['request_id']))
            fake.clear_faults()
            r = call(g, 'GET', 'badtls-bucket.s3.us-east-1.amazonaws.com', '/k', mode='s3')
            t.ok('upstream: a server with a certificate of another CA: 502 upstream-tls',
                 r.status == 502 and r.reason == 'upstream-tls', repr(r))

        # --- 8. HTTP/2 ----------------------------------------------------------------------
        with guard(t, '8. HTTP/2'):
            h2body = b'over HTTP/2\n' * 500
            target, hdrs = sign('PUT', VHOST, '/p-h2', h2body, mode='s3')
            st, hh, rb = h2_request(g, 'PUT', VHOST, target, hdrs, h2body)
            t.eq('http/2 (python h2): S3 PutObject: 200', st, 200, '%r %r' % (hh, rb[:200]))
            target, hdrs = sign('GET', VHOST, '/p-h2', mode='s3')
            st, hh, rb = h2_request(g, 'GET', VHOST, target, hdrs)
            t.eq('http/2: GetObject returns the bytes', (st, rb == h2body), (200, True))
            # The audit is written in batches (log.c), but an answer never
            # leaves before its line: read it as each response ends.
            seen = []

            def audited(i, sid):
                seen.append(any(e.get('event') == 'api.request' and e.get('path') == '/p-h2'
                                and e.get('stream') == sid for e in audit(g)))
            reqs = []
            for _ in range(4):
                target, hdrs = sign('GET', VHOST, '/p-h2', mode='s3')
                reqs.append(('GET', VHOST, target, hdrs, b''))
            res = h2_requests(g, reqs, after=audited)
            t.ok('http/2: 4 requests on one connection, each one\'s api.request line in the audit as its answer ends',
                 [r[0] for r in res] == [200] * 4 and seen == [True] * 4, '%r %r' % ([r[0] for r in res], seen))
            target, hdrs = sign('GET', VHOST, '/p-h2', mode='s3')
            c, k = g.pki.cert('alice')
            argv = [gf.CURL, '-sS', '--http2', '--max-time', '20', '--cacert', g.pki.cacert, '--cert', c, '--key', k,
                    '--resolve', 'localhost:%d:127.0.0.1' % g.port, '-H', 'X-Forwarded-Host: ' + VHOST,
                    '-H', 'X-Awsgate-App: dev', '-H', 'X-Awsgate-Role: Dev', '-o', os.path.join(tmp, 'h2.out'),
                    '-w', '%{http_version} %{http_code}']
            for hk, hv in hdrs:
                argv += ['-H', '%s: %s' % (hk, hv)]
            p = subprocess.run(argv + ['https://localhost:%d%s' % (g.port, target)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            with open(os.path.join(tmp, 'h2.out'), 'rb') as f:
                got = f.read()
            t.ok('http/2 (curl --http2): GetObject 200 with the bytes', p.stdout == b'2 200' and got == h2body,
                 '%r %r' % (p.stdout, p.stderr[-200:]))
            # One connection, three streams in turn: an upstream failure is
            # that stream's answer, and the connection goes on.
            reqs = []
            for host in ('badtls-bucket.s3.us-east-1.amazonaws.com', 'closed-bucket.s3.us-east-1.amazonaws.com', VHOST):
                target, hdrs = sign('GET', host, '/p-h2', mode='s3')
                reqs.append(('GET', host, target, hdrs, b''))
            res = h2_requests(g, reqs, timeout=8)
            got = [(st, hh.get('x-awsgate-error')) for st, hh, _ in res]
            t.eq('http/2: one connection, an untrusted upstream, a refused one, then a GET: each stream its answer',
                 got, [(502, 'upstream-tls'), (502, 'upstream-connect'), (200, None)])

        # --- 4b. a name that resolves to a private address (aws.hosts_file) -----------------
        with guard(t, '4b. a name that resolves to a private address (aws.hosts_file)'):
            opts = gf.ctl('config', 'options').stdout.decode()
            if 'aws.hosts_file' not in opts:
                print('ok aws.hosts_file # SKIP: awsgatectl config options does not list aws.hosts_file in this build;'
                      ' the private-address checks need it (merge main once it lands)', flush=True)
            else:
                hosts = os.path.join(tmp, 'hosts')
                with open(hosts, 'w') as f:
                    f.write('127.0.0.1 loop-bucket.s3.us-west-2.amazonaws.com\n'
                            '169.254.169.254 meta-bucket.s3.us-west-2.amazonaws.com\n')
                for allow in (False, True):
                    c2 = json.loads(json.dumps(conf))
                    c2['aws']['connect_to'] = [{'host': '*.us-east-1.amazonaws.com', 'address': fakeaddr}]
                    c2['aws']['hosts_file'] = hosts
                    c2['aws']['allow_private_addresses'] = allow
                    g2 = gf.Gate(c2)
                    with open(os.path.join(g2.res, 'apps.json'), 'w') as f:
                        json.dump(apps, f)
                    g2.start()
                    for name in ('loop-bucket', 'meta-bucket'):
                        # The second gate's own AssumeRole reaches the fake: count the name's requests only.
                        n0 = len(fake.recs(host=name + '.s3.us-west-2.amazonaws.com'))
                        r = call(g2, 'GET', name + '.s3.us-west-2.amazonaws.com', '/k', mode='s3', region='us-west-2')
                        if not allow:
                            t.ok('hosts_file: %s resolves to a private address: 403 address-private' % name,
                                 r.status == 403 and r.reason == 'address-private', repr(r))
                        else:
                            t.ok('hosts_file + allow_private_addresses: %s: the connection is tried (502/504 upstream-*)'
                                 % name, r.status in (502, 504) and (r.reason or '').startswith('upstream-'), repr(r))
                        t.eq('  nothing reached the fake', len(fake.recs(host=name + '.s3.us-west-2.amazonaws.com')), n0)
                        ev = [e for e in audit(g2) if e.get('event') in ('request.denied', 'api.request')]
                        want = ('request.denied', 'address-private') if not allow else ('api.request', r.status)
                        t.ok('  audited as %s %s' % want, ev and (ev[-1].get('event'), ev[-1].get('reason') if not allow
                                                                 else ev[-1].get('status')) == want, str(ev[-1:]))
                    g2.cleanup()
                    g2 = None

        # --- 9. audit -------------------------------------------------------------------------
        with guard(t, '9. audit'):
            ev = [e for e in audit(g) if e.get('event') == 'api.request']
            fwd = [x for x in records.read(fake.records)
                   if x['access_key_id'] not in (None, ge.GATE_KEY) and x.get('fault') is None
                   and x.get('status') is not None]
            missing, dup = [], []
            for x in fwd:
                m = [e for e in ev if e.get('aws_request_id') == x['request_id']]
                if not m:
                    missing.append((x['action'], x['request_id']))
                elif len(m) > 1:
                    dup.append(x['request_id'])
            t.ok('audit: one api.request per forwarded request (%d at the fake), matched by aws_request_id' % len(fwd),
                 fwd and not missing and not dup, 'missing %s dup %s' % (missing[:5], dup[:5]))
            fields = ('user', 'app', 'role_arn', 'account_id', 'service', 'region', 'host', 'method', 'path', 'action',
                      'status', 'bytes_in', 'bytes_out', 'duration_ms', 'aws_request_id', 'client', 'conn', 'stream')
            byid = {e.get('aws_request_id'): e for e in ev}
            bad = []
            for x in fwd:
                e = byid.get(x['request_id'])
                if e is None:
                    continue
                # action: null for REST protocols other than S3's (the gate
                # has no service models), named for query and JSON ones and
                # for S3 (px_s3_action(); the fake names fewer S3 operations).
                named = x['protocol'] in ('query', 'json') or (x['service'] == 's3' and x['action'] != 'Unknown')
                lack = [f for f in fields if f not in e or (e[f] is None and (f != 'action' or named))]
                if e.get('action') is not None and x['action'] != 'Unknown' and e['action'] != x['action']:
                    lack.append('action %s != %s' % (e['action'], x['action']))
                if lack or e['status'] != x['status'] or e['host'] != x['host'] or e['method'] != x['method']:
                    bad.append((x['action'], lack, e.get('status'), x['status']))
            t.ok('  each with every field, and the status, host and method the fake saw', not bad, str(bad[:4]))
            put = [e for e in ev if e.get('path') == '/p-curl' and e.get('method') == 'PUT']
            get = [e for e in ev if e.get('path') == '/p-curl' and e.get('method') == 'GET'][:1]
            t.ok('  bytes: the 300 KiB curl PUT has bytes_in %d, its GET bytes_out >= %d' % (len(updata), len(updata)),
                 put and get and put[0]['bytes_in'] == len(updata) and get[0]['bytes_out'] >= len(updata),
                 str([(e.get('bytes_in'), e.get('bytes_out')) for e in put + get]))
            x = [e for e in ev if e.get('path') == '/p-hex' and e.get('status') == 504]
            t.ok('  a request that timed out upstream is audited with status 504 and its error',
                 x and x[-1].get('error') is not None, str(x[-1:]))
            t.eq('  the denials are not api.request lines',
                 [e for e in ev if e.get('user') in ('carol',)], [])
            series, sums = g.metrics()
            nden = len(denials(g))
            t.eq('metrics: awsgate_api_requests_total counts every API request (api.request + request.denied lines)',
                 int(sums.get('awsgate_api_requests_total', -1)), len(ev) + nden,
                 str({k: v for k, v in series.items() if k.startswith('awsgate_api_requests_total')}))
            whole = [e for e in ev if e.get('aws_request_id') and not e.get('error')]
            t.ok('  and awsgate_upstream_requests_total{result="ok"} at least the exchanges that ended whole (%d)'
                 % len(whole), series.get('awsgate_upstream_requests_total{result="ok"}', 0) >= len(whole),
                 str({k: v for k, v in series.items() if k.startswith('awsgate_upstream')}))
            with open(g.audit, 'rb') as f:
                auditlog = f.read()
            with open(g.errlog, 'rb') as f:
                errlog = f.read()
            minted = fake.minted()
            secrets = [('gate secret', ge.GATE_SECRET)]
            for m in minted:
                secrets += [('minted secret of %s' % m['arn'], m['secret']), ('session token of %s' % m['arn'], m['token'])]
            secrets += [('client signature', s) for s in SENT_SIGNATURES if s]
            # The gate's own signatures: the fake redacts them in its records,
            # so they cannot be listed; the Authorization values the client sent
            # are in SENT_SIGNATURES.
            leaks = []
            for what, s in secrets:
                for where, text in (('audit', auditlog), ('error log', errlog)):
                    if s.encode() in text:
                        line = [ln for ln in text.split(b'\n') if s.encode() in ln][0]
                        leaks.append('%s in the %s: %s' % (what, where, line.decode(errors='replace')[:300]))
            t.ok('no secret in the audit or error log: %d minted credentials, %d client signatures checked'
                 % (len(minted), len(SENT_SIGNATURES)), minted and not leaks, str(leaks[:5]))
            t.ok('  and no Authorization value', b'AWS4-HMAC-SHA256 Credential' not in auditlog
                 and b'X-Amz-Signature=' not in auditlog, '')
        print('# wall time %.1f s' % (time.monotonic() - t0), flush=True)
    finally:
        for x in (g2, g):
            if x is not None:
                x.cleanup()
        if fake is not None:
            fake.stop()
        for x in (silent, badtls):
            if x is not None:
                x.close()
        if not os.environ.get('AWSGATE_KEEP_TMP'):
            subprocess.run(['rm', '-rf', tmp])
    t.done()


if __name__ == '__main__':
    main()
