# SPDX-License-Identifier: Apache-2.0
# gate_endpoints.py: POST /awsgate/v1/console and /awsgate/v1/presign against a real awsgated and the fake AWS over TLS.
#
# The fake AWS (tests/fakeaws/) plays STS, sign-in, S3 and any query API with
# its own CA and checks every signature with botocore; the gate reaches it by
# aws.connect_to and trusts it by aws.ca_file. Assertions read the fake's
# records and what curl fetches with the URLs, never only the gate's output.
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fakeaws'))
import gate_fixture as gf  # noqa: E402

try:
    import botocore  # noqa: F401
except ImportError:
    gf.skip('%s has no botocore (apt-get install python3-botocore)' % sys.executable)
import records  # noqa: E402

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fakeaws', 'fakeaws.py')
GATE_KEY = 'AKIAFAKEGATE00000001'
GATE_SECRET = 'fakeGateSecretKey/0000000000000000000000'
GATE_USER = 'arn:aws:iam::111111111111:user/gate'
DEV = gf.arn(gf.ACCT_DEV, 'Dev')
STAGING = gf.arn(gf.ACCT_STAGING, 'StagingDev')
OPS = gf.arn(gf.ACCT_DEV, 'Ops')

FAKE_CONFIG = {
    'users': [{'name': 'gate', 'account': '111111111111', 'access_key_id': GATE_KEY,
               'secret_access_key': GATE_SECRET}],
    'roles': [
        # The dev app names external id ext-dev; the role's trust demands it.
        {'arn': DEV, 'max_session_duration': 7200,
         'trust': {'principals': [GATE_USER], 'external_id': 'ext-dev', 'set_source_identity': True}},
        {'arn': STAGING, 'trust': {'principals': [GATE_USER], 'set_source_identity': True}},
        # Ops does not let the gate set a source identity: AccessDenied.
        {'arn': OPS, 'trust': {'principals': [GATE_USER]}},
    ],
    'buckets': ['gate-bucket'],
}


class Fake:
    def __init__(self, tmp):
        self.dir = os.path.join(tmp, 'fake')
        os.makedirs(self.dir)
        cfg = os.path.join(tmp, 'fake.json')
        with open(cfg, 'w') as f:
            json.dump(FAKE_CONFIG, f)
        ready = os.path.join(tmp, 'ready')
        os.mkfifo(ready)
        ports = os.path.join(tmp, 'ports.json')
        self.proc = subprocess.Popen(['/usr/bin/python3', FAKE, '--config', cfg, '--state-dir', self.dir,
                                      '--ports-file', ports, '--ready', ready, '--lifetime', '600'],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, 'fake.err'), 'w'))
        with open(ready) as f:
            f.read()
        with open(ports) as f:
            p = json.load(f)
        self.https, self.admin, self.ca, self.records = p['https'], p['admin'], p['ca'], p['records']

    def count(self, **where):
        return len(records.select(records.read(self.records), **where))

    def fault(self, rule):
        c = http.client.HTTPConnection('127.0.0.1', self.admin, timeout=5)
        c.request('POST', '/faults', json.dumps(rule))
        c.getresponse().read()
        c.close()

    def clear_faults(self):
        c = http.client.HTTPConnection('127.0.0.1', self.admin, timeout=5)
        c.request('DELETE', '/faults')
        c.getresponse().read()
        c.close()

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def post(g, path, body, cert, headers=None):
    """(status, headers, JSON or text) of POST |path| with |body| as JSON."""
    c = http.client.HTTPSConnection('127.0.0.1', g.port, context=g.context(cert), timeout=30)
    try:
        h = {'Content-Type': 'application/json'}
        h.update(headers or {})
        c.request('POST', path, json.dumps(body) if not isinstance(body, bytes) else body, h)
        r = c.getresponse()
        data = r.read()
        try:
            data = json.loads(data)
        except ValueError:
            pass
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def fetch(fake, url, headers=(), method='GET', data=None):
    """curl the URL at the fake (connect-to its port, its CA): (status, body)."""
    u = urllib.parse.urlsplit(url)
    port = u.port or 443
    argv = [gf.CURL, '-sS', '--max-time', '10', '--cacert', fake.ca, '-o', '-', '-w', '\n%{http_code}',
            '--connect-to', '%s:%d:127.0.0.1:%d' % (u.hostname, port, fake.https), '-X', method]
    for k, v in headers:
        argv += ['-H', '%s: %s' % (k, v)]
    if data is not None:
        argv += ['--data-binary', data]
    p = subprocess.run(argv + [url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.decode(errors='replace')
    body, _, code = out.rpartition('\n')
    return int(code or 0), body


def audit(g):
    out = []
    if os.path.exists(g.audit):
        with open(g.audit) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    return out


def main():
    gf.require_server()
    t = gf.Checks('gate endpoints: console and presign')
    tmp = tempfile.mkdtemp(prefix='awsgate-ep-')
    fake = g = None
    try:
        fake = Fake(tmp)
        os.environ.update({'AWS_ACCESS_KEY_ID': GATE_KEY, 'AWS_SECRET_ACCESS_KEY': GATE_SECRET,
                           'AWS_EC2_METADATA_DISABLED': 'true', 'HOME': tmp})
        for k in ('AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_STS',
                  'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI'):
            os.environ.pop(k, None)
        g = gf.Gate({'aws': {'region': 'us-east-1', 'ca_file': fake.ca,
                             'connect_to': [{'host': '*.amazonaws.com', 'address': '127.0.0.1:%d' % fake.https},
                                            {'host': '*.aws.amazon.com', 'address': '127.0.0.1:%d' % fake.https}]},
                     'timeouts': {'sts': '5s'}})
        apps = json.loads(json.dumps(gf.APPS))
        for a in apps:
            if a['metadata']['name'] == 'dev':
                a['spec']['aws'] = {'external_id': 'ext-dev'}
        with open(os.path.join(g.res, 'apps.json'), 'w') as f:
            json.dump(apps, f)

        for user, ttl in (('henry', '10m'), ('ivan', '30m')):
            gf.ctl('certs', 'user', '--dir', g.pki.ca, '--user', user, '--roles', 'dev', '--ttl', ttl,
                   '--out', os.path.join(g.pki.dir, user))

        g.start()

        # --- console -------------------------------------------------------
        st, h, j = post(g, '/awsgate/v1/console', {'app': 'dev', 'role': 'Dev'}, 'alice')
        t.eq('console: alice gets 200', st, 200, str(j))
        ok = st == 200
        t.ok('  with the role, account, a session duration and an expiry',
             ok and j['role_arn'] == DEV and j['account_id'] == gf.ACCT_DEV and j['chaining_capped'] is False
             and j['session_duration'] == 3600 and j['expires'].endswith('Z'), str(j))
        if ok:
            code, page = fetch(fake, j['url'])
            t.ok('  the URL signs alice in as Dev on the fake console',
                 code == 200 and DEV in page and '>alice<' in page, '%d %s' % (code, page[:300]))
        t.eq('  the external id of the app reached STS (the trust demands ext-dev)',
             fake.count(action='AssumeRole', status=200, **{'minted.role_arn': DEV,
                                                             'minted.session_name': 'alice'}), 1)
        t.eq('  source identity is the user',
             fake.count(action='AssumeRole', status=200, **{'minted.source_identity': 'alice'}), 1)
        ev = [e for e in audit(g) if e.get('event') == 'console.url']
        t.ok('  audited with user, app, role and duration, without the URL',
             ev and ev[-1].get('user') == 'alice' and ev[-1].get('app') == 'dev' and ev[-1].get('role_arn') == DEV
             and 'url' not in ev[-1] and 'SigninToken' not in json.dumps(ev[-1]), str(ev[-1:]))

        st, h, j = post(g, '/awsgate/v1/console', {'role': DEV}, 'alice')
        t.eq('console: the role as an ARN, no app named: the only app with it is chosen', (st, j.get('role_arn')),
             (200, DEV))
        t.eq('  the cached credentials were used: still one AssumeRole for alice',
             fake.count(action='AssumeRole', **{'minted.session_name': 'alice'}), 1)

        st, h, j = post(g, '/awsgate/v1/console', {}, 'alice')
        t.ok('console: nothing named and two apps: 400 listing them',
             st == 400 and h.get('x-awsgate-error') == 'choose-app' and 'dev' in j['message']
             and 'staging' in j['message'], '%d %s' % (st, j))

        before = fake.count(action='AssumeRole')
        st, h, j = post(g, '/awsgate/v1/console', {'app': 'dev', 'role': 'Dev'}, 'carol')
        t.ok('console: carol without the role: 403', st == 403 and j.get('error'), '%d %s' % (st, j))
        t.ok('  audited as a denial', any(e.get('event') == 'request.denied' and e.get('user') == 'carol'
                                          for e in audit(g)))
        st, h, j = post(g, '/awsgate/v1/console', {'app': 'prod', 'role': 'Ops'}, 'alice')
        t.eq('console: alice asking for prod/Ops: 403', st, 403, str(j))
        t.eq('  and no AssumeRole reached the fake', fake.count(action='AssumeRole'), before)

        st, h, j = post(g, '/awsgate/v1/console', {'app': 'dev', 'role': 'Dev'}, 'henry')
        t.ok('console: a certificate with 10 minutes left: refused, "log in again"',
             st in (401, 403) and 'log in again' in j.get('message', ''), '%d %s' % (st, j))
        t.eq('  no AssumeRole for henry', fake.count(action='AssumeRole', **{'minted.session_name': 'henry'}), 0)

        # Two at once for one role: one AssumeRole (single flight).
        fake.fault({'host': 'sts.*', 'action': 'AssumeRole', 'kind': 'slow', 'delay': 1.0, 'count': 1})
        res = []
        ths = [threading.Thread(target=lambda: res.append(post(g, '/awsgate/v1/console',
                                                               {'app': 'dev', 'role': 'Dev'}, 'frank')))
               for _ in range(2)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        t.eq('console: two concurrent requests for frank: both 200', sorted(r[0] for r in res), [200, 200])
        t.eq('  one AssumeRole', fake.count(action='AssumeRole', **{'identity.arn': GATE_USER,
                                                                     'minted.session_name': 'frank'}), 1)

        fake.fault({'host': 'sts.*', 'action': 'AssumeRole', 'kind': 'throttle', 'count': 2})
        n0 = fake.count(action='AssumeRole')
        st, h, j = post(g, '/awsgate/v1/console', {'app': 'dev', 'role': 'Dev'}, 'dave')
        t.eq('console: STS throttles twice then answers: 200 after three calls',
             (st, fake.count(action='AssumeRole') - n0), (200, 3), str(j))

        fake.fault({'host': 'sts.*', 'action': 'AssumeRole', 'kind': 'throttle', 'count': 10})
        st, h, j = post(g, '/awsgate/v1/console', {'app': 'staging'}, 'dave')
        fake.clear_faults()
        t.ok('console: STS throttling past the retries: 503 sts-unavailable',
             st == 503 and h.get('x-awsgate-error') == 'sts-unavailable', '%d %s' % (st, j))

        st, h, j = post(g, '/awsgate/v1/console', {'app': 'dev', 'role': 'Ops'}, 'bob')
        t.ok('console: AccessDenied from STS: 403 that names the missing permission',
             st == 403 and h.get('x-awsgate-error') == 'assume-role-denied'
             and 'AccessDenied' in j['message'] and 'sts:SetSourceIdentity' in j['message'], '%d %s' % (st, j))

        # HTTP/2 (curl): the answer comes after the asynchronous wait.
        c, k = g.pki.cert('alice')
        p = subprocess.run([gf.CURL, '-sS', '--http2', '--max-time', '20', '--cacert', g.pki.cacert,
                            '--cert', c, '--key', k, '--resolve', 'localhost:%d:127.0.0.1' % g.port,
                            '-H', 'Content-Type: application/json', '-H', 'X-Awsgate-App: staging',
                            '--data', '{}', '-w', '\n%{http_version} %{http_code}',
                            'https://localhost:%d/awsgate/v1/console' % g.port], stdout=subprocess.PIPE)
        body, _, tail = p.stdout.decode().rpartition('\n')
        t.ok('console over HTTP/2 with the app in X-Awsgate-App: 200 with the staging role',
             tail == '2 200' and STAGING in body, '%s %s' % (tail, body[:200]))

        # HTTP/1.1 with Expect: 100-continue: the gate asks for the body itself.
        p = subprocess.run([gf.CURL, '-sS', '--http1.1', '--max-time', '20', '--cacert', g.pki.cacert,
                            '--cert', c, '--key', k, '--resolve', 'localhost:%d:127.0.0.1' % g.port,
                            '-H', 'Content-Type: application/json', '-H', 'Expect: 100-continue',
                            '--expect100-timeout', '6',
                            '--data', json.dumps({'app': 'staging', 'pad': 'x' * 4000}),
                            '-w', '\n%{time_total} %{http_code}',
                            'https://localhost:%d/awsgate/v1/console' % g.port], stdout=subprocess.PIPE)
        body, _, tail = p.stdout.decode().rpartition('\n')
        secs, _, code = tail.partition(' ')
        # Without the gate's 100 Continue curl would wait its 6 s before sending.
        t.ok('console over HTTP/1.1 with Expect: 100-continue and a 4 KB body: 200, without curl\'s 6 s wait',
             code == '200' and STAGING in body and float(secs or 99) < 4.0, '%s %s' % (tail, body[:200]))

        # A client that goes away while STS is slow: the wait is cancelled, the
        # call finishes for the cache, and the gate goes on serving.
        fake.fault({'host': 'sts.*', 'action': 'AssumeRole', 'kind': 'slow', 'delay': 1.5, 'count': 1})
        s = g.connect('frank', alpn=('http/1.1',))
        body = json.dumps({'app': 'staging'}).encode()
        s.sendall(b'POST /awsgate/v1/console HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n'
                  b'Content-Length: %d\r\n\r\n%s' % (len(body), body))
        time.sleep(0.3)
        s.close()
        time.sleep(2.0)
        t.eq('a client gone during the wait: the gate still answers /healthz', g.get('/healthz')[0], 200)
        st, h, j = post(g, '/awsgate/v1/console', {'app': 'staging'}, 'frank')
        t.eq('  and the credentials fetched for it are cached: 200 with no second AssumeRole',
             (st, fake.count(action='AssumeRole', **{'minted.session_name': 'frank',
                                                      'minted.role_arn': STAGING})), (200, 1), str(j))

        st, h, j = post(g, '/awsgate/v1/console', b'{"app": ', 'alice')
        t.eq('console: a body that is not JSON: 400', (st, h.get('x-awsgate-error')), (400, 'bad-json'))
        st, h, j = post(g, '/awsgate/v1/console', b'{"app": "' + b'x' * 70000 + b'"}', 'alice')
        t.eq('console: a body over 64 KiB: 413', st, 413)
        st, h, j = post(g, '/awsgate/v1/console', {'app': 'dev'}, None)
        t.eq('console: no client certificate: 401', st, 401)
        st, h, j = post(g, '/awsgate/v1/console', {'app': 'dev', 'role': 'Dev', 'destination': 'https://evil.example.com/'},
                        'alice')
        t.eq('console: a destination off the console: 400', st, 400, str(j))
        rc, st, h, body = g.curl('/awsgate/v1/console', 'alice')
        t.eq('console: GET is 405 with Allow: POST', (st, h.get('allow')), (405, 'POST'))

        # SIGHUP: the gate's credentials are resolved again and roles assumed afresh.
        n_alice = fake.count(action='AssumeRole', **{'minted.session_name': 'alice'})
        g.signal(signal.SIGHUP)
        time.sleep(1.0)
        st, h, j = post(g, '/awsgate/v1/console', {'app': 'dev', 'role': 'Dev'}, 'alice')
        t.eq('after SIGHUP the cache is cleared: a new AssumeRole for alice',
             (st, fake.count(action='AssumeRole', **{'minted.session_name': 'alice'}) - n_alice), (200, 1))

        # --- presign -----------------------------------------------------------
        sts_url = 'https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15'
        st, h, j = post(g, '/awsgate/v1/presign', {'app': 'dev', 'role': 'Dev', 'url': sts_url, 'expires': 60,
                                                    'headers': {'x-k8s-aws-id': 'my-cluster'}}, 'alice')
        t.eq('presign: an EKS token (GetCallerIdentity with x-k8s-aws-id): 200', st, 200, str(j))
        if st == 200:
            q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(j['url']).query))
            t.ok('  signed for sts/us-east-1 with x-k8s-aws-id, 60 s, the session token in the query',
                 '/us-east-1/sts/aws4_request' in q['X-Amz-Credential'] and q['X-Amz-Expires'] == '60'
                 and 'x-k8s-aws-id' in q['X-Amz-SignedHeaders'].split(';') and 'X-Amz-Security-Token' in q, str(q))
            code, body = fetch(fake, j['url'], headers=[('x-k8s-aws-id', 'my-cluster')])
            t.ok('  the fake (botocore) accepts it and answers with the role session',
                 code == 200 and 'assumed-role/Dev/alice' in body, '%d %s' % (code, body[:300]))
            code, body = fetch(fake, j['url'])
            t.ok('  without the signed header the fake refuses it', code in (400, 403), str(code))

        s3put = 'https://s3.us-east-1.amazonaws.com/gate-bucket/hello.txt'
        st, h, j = post(g, '/awsgate/v1/presign', {'app': 'dev', 'role': 'Dev', 'url': s3put, 'method': 'PUT'},
                        'alice')
        t.eq('presign: S3 PutObject: 200', st, 200, str(j))
        if st == 200:
            code, body = fetch(fake, j['url'], method='PUT', data='hello from the gate')
            t.eq('  the upload is accepted', code, 200, body[:300])
        st, h, j = post(g, '/awsgate/v1/presign', {'url': s3put, 'role': 'Dev'}, 'alice')
        t.eq('presign: S3 GetObject (method defaults to GET, expires to 15m)',
             (st, j.get('method'), j.get('expires_in'), j.get('service'), j.get('region')),
             (200, 'GET', 900, 's3', 'us-east-1'), str(j))
        if st == 200:
            code, body = fetch(fake, j['url'])
            t.eq('  the download returns the object', (code, body), (200, 'hello from the gate'))
            t.ok('  the fake verified it as presigned by the role session',
                 fake.count(action='GetObject', signature='valid', presigned=True,
                            **{'identity.role_arn': DEV}) >= 1)

        rds = 'https://mydb.c0ffee.us-east-1.rds.amazonaws.com:5432/?Action=connect&DBUser=alice'
        st, h, j = post(g, '/awsgate/v1/presign', {'app': 'dev', 'role': 'Dev', 'url': rds, 'service': 'rds-db',
                                                    'region': 'us-east-1'}, 'alice')
        t.eq('presign: an RDS IAM auth token: 200', st, 200, str(j))
        if st == 200:
            q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(j['url']).query))
            t.ok('  host:port kept, scope rds-db', j['url'].startswith('https://mydb.c0ffee.us-east-1.rds.amazonaws.com:5432/?')
                 and '/us-east-1/rds-db/aws4_request' in q['X-Amz-Credential'], j['url'][:120])
            code, body = fetch(fake, j['url'])
            t.ok('  the fake verifies its signature', fake.count(signature='valid', presigned=True,
                                                                  host='mydb.c0ffee.us-east-1.rds.amazonaws.com') >= 1,
                 '%d %s' % (code, body[:200]))

        st, h, j = post(g, '/awsgate/v1/presign', {'app': 'dev', 'role': 'Dev', 'url': sts_url,
                                                    'expires': '168h'}, 'ivan')
        t.ok('presign: 7 days asked with a 30-minute certificate: capped to the certificate',
             st == 200 and j['capped'] is True and 0 < j['expires_in'] <= 1800, '%d %s' % (st, j))
        st, h, j = post(g, '/awsgate/v1/presign', {'app': 'dev', 'role': 'Dev', 'url': sts_url,
                                                    'expires': 8 * 86400}, 'alice')
        t.eq('presign: over 7 days: 400', (st, h.get('x-awsgate-error')), (400, 'bad-expires'))
        for url, want, why in (
                ('https://example.com/x', 'not-aws-endpoint', 'a host that is not AWS'),
                ('https://s3.amazonaws.com.evil.example/x', 'not-aws-endpoint', 'an AWS name under another domain'),
                ('https://ec2-1-2-3-4.compute-1.amazonaws.com/', 'customer-endpoint', 'a customer EC2 name'),
                ('https://127.0.0.1/', 'bad-host', 'an IP literal'),
                ('https://user@s3.amazonaws.com/b/k', 'bad-url', 'userinfo'),
                ('https://s3.amazonaws.com:8443/b/k', 'bad-port', 'another port'),
                ('http://s3.amazonaws.com/b/k', 'bad-url', 'plain http'),
                ('https://s3.cn-north-1.amazonaws.com.cn/b/k', 'partition-mismatch', 'another partition')):
            st, h, j = post(g, '/awsgate/v1/presign', {'app': 'dev', 'role': 'Dev', 'url': url}, 'alice')
            t.eq('presign refuses %s' % why, (st // 100, h.get('x-awsgate-error')), (4, want), str(j))

        ev = [e for e in audit(g) if e.get('event') == 'presign']
        t.ok('presign is audited without the URL or signature',
             ev and ev[0].get('role_arn') == DEV and 'X-Amz-Signature' not in json.dumps(ev), str(ev[:1]))
        _, sums = g.metrics()
        series, _ = g.metrics()
        t.ok('metrics: the cache counts hits, misses and STS calls',
             series.get('awsgate_credential_cache_total{event="hit"}', 0) >= 1
             and series.get('awsgate_credential_cache_total{event="miss"}', 0) >= 1
             and sums.get('awsgate_sts_calls_total', 0) >= 3, str({k: v for k, v in series.items() if 'cache' in k or 'sts' in k}))
        t.eq('metrics: every finished AssumeRole is in the STS latency histogram',
             sums.get('awsgate_sts_duration_seconds_count'), sums.get('awsgate_sts_calls_total'))
        with open(g.errlog) as f:
            logtext = f.read()
        t.ok('no secret key in the error log', GATE_SECRET not in logtext)
    finally:
        if g is not None:
            g.cleanup()
        if fake is not None:
            fake.stop()
        if not os.environ.get('AWSGATE_KEEP_TMP'):
            subprocess.run(['rm', '-rf', tmp])
    t.done()


if __name__ == '__main__':
    main()
