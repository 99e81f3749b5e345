# SPDX-License-Identifier: Apache-2.0
# web_ui.py: the console web UI of a real awsgated driven in headless Chromium over the DevTools protocol, down to the fake AWS console page.
#
# The browser is Debian's chromium, driven with python3-websocket (no
# playwright, nothing downloaded). It trusts exactly two certificates by
# their SPKI hashes (the gate's and the fake's leaf), and reaches the AWS
# sign-in name through --host-resolver-rules. The gate reaches the fake by
# aws.connect_to. Assertions read what the browser shows, the cookies it
# holds, the fake's records and the gate's audit log; the security headers
# and the cookie-on-API checks use Python's http.client.
import base64
import hashlib
import html
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'fakeaws'))
import gate_fixture as gf  # noqa: E402

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
if not os.access(CHROMIUM, os.X_OK):
    gf.skip('no chromium (apt-get install chromium)')
try:
    import websocket  # python3-websocket
except ImportError:
    gf.skip('%s has no websocket module (apt-get install python3-websocket)' % sys.executable)
try:
    import botocore  # noqa: F401
except ImportError:
    gf.skip('%s has no botocore (apt-get install python3-botocore)' % sys.executable)
import gate_endpoints as ge  # noqa: E402

DEV = ge.DEV
STAGING = ge.STAGING
GATE_BASE = 'arn:aws:iam::111111111111:role/GateBase'
# A role the gate itself can assume, so that a second gate runs on temporary
# base credentials (role chaining) and Dev trusts that role too.
ge.FAKE_CONFIG['roles'].append({'arn': GATE_BASE, 'trust': {'principals': [ge.GATE_USER]}})
for _r in ge.FAKE_CONFIG['roles']:
    if _r['arn'] == DEV:
        _r['trust']['principals'].append(GATE_BASE)
LINK_TTL = 6  # web.link_ttl for this test: an expired link is seen after a short wait
ARTIFACTS = os.path.join(gf.BUILD, 'tests', 'integration', 'web-ui-artifacts')


def spki_b64(der):
    """base64 of the SHA-256 of a certificate's SubjectPublicKeyInfo, by the openssl command line."""
    pem = ssl.DER_cert_to_PEM_cert(der).encode()
    pub = subprocess.run([gf.OPENSSL, 'x509', '-noout', '-pubkey'], input=pem, stdout=subprocess.PIPE,
                         check=True).stdout
    spki = subprocess.run([gf.OPENSSL, 'pkey', '-pubin', '-outform', 'der'], input=pub, stdout=subprocess.PIPE,
                          check=True).stdout
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def leaf_der(port, name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(('127.0.0.1', port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as s:
            return s.getpeercert(binary_form=True)


class Browser:
    """One headless Chromium and a CDP session on its first page."""

    def __init__(self, tmp, spkis, resolver_rules):
        self.dir = os.path.join(tmp, 'chromium')
        os.makedirs(self.dir)
        self.log = open(os.path.join(tmp, 'chromium.log'), 'wb')
        self.proc = subprocess.Popen(
            [CHROMIUM, '--headless=new', '--no-sandbox', '--disable-background-networking',
             '--disable-component-update', '--disable-sync', '--disable-gpu', '--disable-dev-shm-usage',
             '--no-first-run', '--user-data-dir=' + self.dir, '--remote-debugging-port=0',
             '--window-size=1100,900',
             '--ignore-certificate-errors-spki-list=' + ','.join(spkis),
             '--host-resolver-rules=' + resolver_rules, 'about:blank'],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        port_file = os.path.join(self.dir, 'DevToolsActivePort')
        end = time.monotonic() + 30
        port = None
        while time.monotonic() < end:
            if os.path.exists(port_file):
                lines = open(port_file).read().split('\n')
                if lines and lines[0].strip().isdigit():
                    port = int(lines[0])
                    break
            if self.proc.poll() is not None:
                raise RuntimeError('chromium exited with %d' % self.proc.returncode)
            time.sleep(0.1)
        if port is None:
            raise RuntimeError('chromium wrote no DevToolsActivePort')
        self.port = port
        ws_url = None
        while time.monotonic() < end and ws_url is None:
            c = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
            c.request('GET', '/json/list')
            for t in json.loads(c.getresponse().read()):
                if t.get('type') == 'page':
                    ws_url = t['webSocketDebuggerUrl']
            c.close()
            time.sleep(0.1)
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events = []
        self.docs = []
        self.call('Page.enable')
        self.call('Network.enable')

    def call(self, method, **params):
        self.next_id += 1
        my = self.next_id
        self.ws.send(json.dumps({'id': my, 'method': method, 'params': params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get('id') == my:
                if 'error' in m:
                    raise RuntimeError('%s: %s' % (method, m['error']))
                return m.get('result', {})
            if 'method' in m:
                self.got(m)

    def got(self, m):
        self.events.append(m)
        if m['method'] == 'Network.responseReceived' and m['params'].get('type') == 'Document':
            r = m['params']['response']
            self.docs.append((r['url'], r['status']))
        if m['method'] == 'Network.requestWillBeSent' and m['params'].get('type') == 'Document':
            self.docs.append((m['params']['request']['url'], 0))

    def wait_event(self, name, timeout=20.0):
        end = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e['method'] == name:
                    del self.events[:i + 1]
                    return e
            left = end - time.monotonic()
            if left <= 0:
                raise RuntimeError('no %s within %.0fs' % (name, timeout))
            self.ws.settimeout(left)
            try:
                m = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                raise RuntimeError('no %s within %.0fs' % (name, timeout))
            finally:
                self.ws.settimeout(30)
            if 'method' in m:
                self.got(m)

    def statuses(self):
        """Document responses seen since the last call: [(url, status)]."""
        return list(self.docs)

    def reset(self):
        self.events = []
        self.docs = []

    def goto(self, url):
        self.reset()
        self.call('Page.navigate', url=url)
        self.wait_event('Page.loadEventFired')

    def click(self, selector):
        """Clicks and waits for the page that follows."""
        self.reset()
        self.eval('document.querySelector(%s).click()' % json.dumps(selector))
        self.wait_event('Page.loadEventFired')

    def eval(self, expr):
        r = self.call('Runtime.evaluate', expression=expr, returnByValue=True)
        if 'exceptionDetails' in r:
            raise RuntimeError('%s: %s' % (expr, r['exceptionDetails']))
        return r['result'].get('value')

    def url(self):
        return self.eval('location.href')

    def text(self, selector):
        return self.eval('(function(e){return e ? e.textContent : null})(document.querySelector(%s))'
                         % json.dumps(selector))

    def cookies(self):
        return self.call('Network.getAllCookies')['cookies']

    def screenshot(self, name):
        os.makedirs(ARTIFACTS, exist_ok=True)
        data = self.call('Page.captureScreenshot', format='png')['data']
        with open(os.path.join(ARTIFACTS, name + '.png'), 'wb') as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def web_link(g, cert):
    st, h, body = raw(g, 'POST', '/awsgate/v1/web-link', {'Content-Type': 'application/json'}, '{}', cert=cert)
    try:
        return st, json.loads(body)
    except ValueError:
        return st, body


def raw(g, method, path, headers=None, body=None, cert=None):
    c = http.client.HTTPSConnection('127.0.0.1', g.port, context=g.context(cert), timeout=15)
    try:
        h = {'Host': 'localhost:%d' % g.port}
        h.update(headers or {})
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode(errors='replace')
    finally:
        c.close()


def temporary_creds(fake):
    """Role credentials for GateBase from the fake STS, by boto3 with the gate's keys."""
    import boto3
    orig = socket.getaddrinfo

    def to_fake(host, port, *a, **kw):
        if isinstance(host, str) and host.endswith('.amazonaws.com'):
            return orig('127.0.0.1', fake.https, *a, **kw)
        return orig(host, port, *a, **kw)
    socket.getaddrinfo = to_fake
    try:
        sts = boto3.client('sts', region_name='us-east-1', aws_access_key_id=ge.GATE_KEY,
                           aws_secret_access_key=ge.GATE_SECRET, verify=fake.ca,
                           endpoint_url='https://sts.us-east-1.amazonaws.com')
        return sts.assume_role(RoleArn=GATE_BASE, RoleSessionName='gate', DurationSeconds=3600)['Credentials']
    finally:
        socket.getaddrinfo = orig


def web_session(g, user):
    """Signs in with a link over http.client: (cookie, csrf)."""
    st, j = web_link(g, user)
    tok = j['url'].split('t=')[1]
    st, h, body = raw(g, 'POST', '/awsgate/web/link', {'Sec-Fetch-Site': 'same-origin',
                                                        'Content-Type': 'application/x-www-form-urlencoded'},
                      't=' + tok)
    cookie = h.get('set-cookie', '').split(';')[0]
    st, h, body = raw(g, 'GET', '/awsgate/web/', {'Cookie': cookie})
    m = re.search(r'name="csrf" value="([A-Za-z0-9_-]+)"', body)
    return cookie, m.group(1) if m else ''


def chained_case(t, fake, tmp):
    """A gate whose own credentials are temporary: the launch says the console session lasts an hour."""
    creds = temporary_creds(fake)
    saved = {k: os.environ.get(k) for k in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN')}
    os.environ.update({'AWS_ACCESS_KEY_ID': creds['AccessKeyId'], 'AWS_SECRET_ACCESS_KEY': creds['SecretAccessKey'],
                       'AWS_SESSION_TOKEN': creds['SessionToken']})
    g2 = None
    try:
        g2 = gf.Gate({'aws': {'region': 'us-east-1', 'ca_file': fake.ca,
                              'connect_to': [{'host': '*.amazonaws.com', 'address': '127.0.0.1:%d' % fake.https},
                                             {'host': '*.aws.amazon.com', 'address': '127.0.0.1:%d' % fake.https}]},
                      'timeouts': {'sts': '5s'}})
        write_apps(g2)
        g2.start()
        cookie, csrf = web_session(g2, 'alice')
        st, h, body = raw(g2, 'POST', '/awsgate/web/launch', {
            'Cookie': cookie, 'Sec-Fetch-Site': 'same-origin', 'Content-Type': 'application/x-www-form-urlencoded'},
            urllib.parse.urlencode({'csrf': csrf, 'app': 'dev', 'role': DEV}))
        m = re.search(r'id="go" href="([^"]+)"', body)
        t.ok('role chaining: the launch shows the one-hour cap before going on',
             st == 200 and 'id="chaining-capped"' in body and m and re.search(r'at (5\d|60) minutes', body),
             '%d %s' % (st, body[:300]))
        if m:
            code, page = ge.fetch(fake, html.unescape(m.group(1)))
            t.ok('  and its link signs alice in as Dev', code == 200 and DEV in page, '%d %s' % (code, page[:200]))
        ev = [e for e in ge.audit(g2) if e.get('event') == 'web.launch']
        t.ok('  audited with chaining_capped', ev and ev[-1].get('chaining_capped') is True, str(ev[-1:]))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if g2 is not None:
            g2.cleanup()


def write_apps(g):
    apps = json.loads(json.dumps(gf.APPS))
    for a in apps:
        if a['metadata']['name'] == 'dev':
            a['spec']['aws'] = {'external_id': 'ext-dev'}
    with open(os.path.join(g.res, 'apps.json'), 'w') as f:
        json.dump(apps, f)


def denied(g, user, reason):
    return [e for e in ge.audit(g) if e.get('event') == 'request.denied' and e.get('user') == user
            and e.get('reason') == reason]


def main():
    gf.require_server()
    t = gf.Checks('web UI in headless Chromium')
    tmp = tempfile.mkdtemp(prefix='awsgate-web-')
    fake = g = br = None
    try:
        fake = ge.Fake(tmp)
        os.environ.update({'AWS_ACCESS_KEY_ID': ge.GATE_KEY, 'AWS_SECRET_ACCESS_KEY': ge.GATE_SECRET,
                           'AWS_EC2_METADATA_DISABLED': 'true', 'HOME': tmp})
        for k in ('AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_STS',
                  'AWS_ENDPOINT_URL_SIGNIN', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI'):
            os.environ.pop(k, None)
        g = gf.Gate({'aws': {'region': 'us-east-1', 'ca_file': fake.ca,
                             'connect_to': [{'host': '*.amazonaws.com', 'address': '127.0.0.1:%d' % fake.https},
                                            {'host': '*.aws.amazon.com', 'address': '127.0.0.1:%d' % fake.https}]},
                     'timeouts': {'sts': '5s'}, 'web': {'link_ttl': '%ds' % LINK_TTL}})
        write_apps(g)
        g.start()
        gate_origin = 'https://localhost:%d' % g.port

        spkis = [spki_b64(leaf_der(g.port, 'localhost')), spki_b64(leaf_der(fake.https, 'signin.aws.amazon.com'))]
        rules = 'MAP signin.aws.amazon.com 127.0.0.1:%d, MAP *.signin.aws.amazon.com 127.0.0.1:%d' % (
            fake.https, fake.https)
        br = Browser(tmp, spkis, rules)

        # --- the one-time link ---------------------------------------------
        st, j = web_link(g, 'alice')
        t.ok('web-link: alice gets a URL on the gate with an expiry',
             st == 200 and j['url'].startswith(gate_origin + '/awsgate/web/link?t=') and j['expires'].endswith('Z')
             and 0 < j['expires_in'] <= LINK_TTL, '%d %s' % (st, j))
        link = j['url']
        # The user's way in: `awsgate web` asks for the link and opens it
        # with $BROWSER (here a script that keeps the URL for this browser).
        awsgate = os.path.join(gf.BUILD, 'awsgate')
        if os.access(awsgate, os.X_OK):
            home = os.path.join(tmp, 'home')
            os.makedirs(home, mode=0o700)
            env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_')}
            env['HOME'] = home
            cert, key = g.pki.cert('alice')
            p = subprocess.run([awsgate, 'login', '--gate', 'localhost:%d' % g.port, '--cert', cert, '--key', key,
                                '--ca', g.pki.cacert], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            t.eq('awsgate login (for awsgate web)', p.returncode, 0, p.stderr.decode())
            opened = os.path.join(tmp, 'opened')
            opener = os.path.join(tmp, 'opener.sh')
            with open(opener, 'w') as f:
                f.write('#!/bin/sh\nprintf %s "$1" > "%s"\n' % ('%s', opened))
            os.chmod(opener, 0o755)
            p = subprocess.run([awsgate, 'web'], env=dict(env, BROWSER=opener), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            got = open(opened).read() if os.path.exists(opened) else ''
            t.ok('awsgate web: opens a one-time link on the gate with $BROWSER, prints nothing',
                 p.returncode == 0 and got.startswith(gate_origin + '/awsgate/web/link?t=') and got != link
                 and p.stdout == b'', '%d %r %s' % (p.returncode, got[:80], p.stderr.decode()))
            p = subprocess.run([awsgate, 'console', '--web', '--print'], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            out = p.stdout.decode().strip()
            t.ok('awsgate console --web --print: another link, printed',
                 p.returncode == 0 and out.startswith(gate_origin + '/awsgate/web/link?t=') and out not in (got, link),
                 p.stderr.decode())
            p = subprocess.run([awsgate, 'console', '--web', 'dev'], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            t.ok('awsgate console --web with an app: exit 2, says to choose in the web UI',
                 p.returncode == 2 and b'web UI' in p.stderr, p.stderr.decode())
            if got:
                link = got
        ev = [e for e in ge.audit(g) if e.get('event') == 'web.link']
        t.ok('  audited as web.link for alice, without the token',
             ev and ev[-1].get('user') == 'alice' and link.split('t=')[1] not in json.dumps(ev),
             str(ev[-1:]))
        st, h, j = ge.post(g, '/awsgate/v1/web-link', {}, None)
        t.eq('web-link: no client certificate: 401', st, 401, str(j))

        br.goto(link)
        t.ok('the link page shows a Continue form (a GET does not use the link)',
             br.text('#continue') == 'Continue' and '/awsgate/web/link' in br.url(), br.url())
        br.screenshot('1-link')
        br.click('#continue')
        t.ok('Continue signs alice in and shows her apps', br.url() == gate_origin + '/awsgate/web/'
             and br.text('#user') == 'alice', '%s %s' % (br.url(), br.text('#user')))
        apps_shown = br.eval('Array.from(document.querySelectorAll("section.app")).map(s => s.dataset.app)')
        roles_shown = br.eval('Array.from(document.querySelectorAll("li.role")).map(l => l.dataset.arn)')
        t.eq('  the apps are dev and staging (as GET /awsgate/v1/apps)', sorted(apps_shown or []), ['dev', 'staging'])
        t.eq('  with the roles Dev and StagingDev', sorted(roles_shown or []), sorted([DEV, STAGING]))
        page = br.eval('document.body.innerText')
        t.ok('  account IDs and role paths are shown', gf.ACCT_DEV in page and gf.ACCT_STAGING in page
             and 'path /' in page, page[:300])
        ck = [c for c in br.cookies() if c['name'] == 'awsgate_web']
        t.ok('  the session cookie is Secure, HttpOnly, SameSite=Strict, Path=/awsgate/web',
             len(ck) == 1 and ck[0]['secure'] and ck[0]['httpOnly'] and ck[0]['sameSite'] == 'Strict'
             and ck[0]['path'] == '/awsgate/web', str(ck))
        t.ok('  and expires with the certificate (8 h), not before', ck and 7.5 * 3600 < ck[0]['expires'] - time.time()
             <= 8 * 3600 + 60, str(ck))
        cookie = ck[0]['value'] if ck else ''
        ev = [e for e in ge.audit(g) if e.get('event') == 'web.signin']
        t.ok('  audited as web.signin, method link, without the session id',
             ev and ev[-1].get('user') == 'alice' and ev[-1].get('method') == 'link'
             and (not cookie or cookie not in json.dumps(ev)), str(ev[-1:]))
        br.screenshot('2-apps')

        # The filter (app.js under the CSP).
        br.eval('(function(b){b.value="staging";b.dispatchEvent(new Event("input"))})(document.getElementById("filter"))')
        vis = br.eval('Array.from(document.querySelectorAll("section.app")).filter(s => !s.hidden).map(s => s.dataset.app)')
        t.eq('the search box filters the list (app.js runs under the CSP)', vis, ['staging'])
        br.eval('(function(b){b.value="";b.dispatchEvent(new Event("input"))})(document.getElementById("filter"))')

        # --- reused link ----------------------------------------------------
        br.goto(link)
        br.click('#continue')
        t.ok('the same link again is refused: used once', br.text('.notice h2') is not None
             and br.eval('!!document.getElementById("web-link-invalid")'), br.eval('document.body.innerText')[:300])
        t.ok('  with 403', (gate_origin + '/awsgate/web/link', 403) in br.statuses(), str(br.statuses()))
        br.screenshot('3-link-used')
        t.ok('  and audited (request.denied web-link-invalid)', denied(g, None, 'web-link-invalid') or
             [e for e in ge.audit(g) if e.get('reason') == 'web-link-invalid'])

        # --- launch -----------------------------------------------------------
        br.goto(gate_origin + '/awsgate/web/')
        n_before = fake.count(action='AssumeRole', status=200)
        br.eval('(function(){var f=document.querySelector("li.role[data-arn=\'%s\'] form");'
                'f.region.value="eu-west-1";})()' % DEV)
        br.click('li.role[data-arn="%s"] button.launch' % DEV)
        u = urllib.parse.urlsplit(br.url())
        t.ok('Launch lands on the AWS sign-in page (the fake console)', u.hostname == 'signin.aws.amazon.com'
             and u.path == '/federation', br.url()[:120])
        t.eq('  signed in as role Dev', br.text('#role-arn'), DEV)
        t.eq('  with the session named after alice', br.text('#session-name'), 'alice')
        t.eq('  and alice as the source identity', br.text('#source-identity'), 'alice')
        t.ok('  the destination is the eu-west-1 console', 'region=eu-west-1' in (br.text('#destination') or ''),
             str(br.text('#destination')))
        t.eq('  the Issuer is the web UI', br.text('#issuer'), gate_origin + '/awsgate/web/')
        t.eq("  one AssumeRole (the role's trust demands the app's external id)",
             fake.count(action='AssumeRole', status=200) - n_before, 1)
        br.screenshot('4-console')
        ev = [e for e in ge.audit(g) if e.get('event') == 'web.launch']
        t.ok('  audited as web.launch with user, app, role and duration, without the URL',
             ev and ev[-1].get('user') == 'alice' and ev[-1].get('app') == 'dev' and ev[-1].get('role_arn') == DEV
             and ev[-1].get('session_duration', 0) > 0 and 'SigninToken' not in json.dumps(ev[-1]), str(ev[-1:]))

        # The sign-out wrapper.
        br.goto(gate_origin + '/awsgate/web/')
        br.eval('document.querySelector("li.role[data-arn=\'%s\'] input[name=logout]").checked=true' % STAGING)
        br.click('li.role[data-arn="%s"] button.launch' % STAGING)
        docs = br.statuses()
        t.ok('the sign-out option goes through the console sign-out, then signs in as StagingDev',
             any('Action=logout' in d[0] for d in docs) and br.text('#role-arn') == STAGING, str(docs)[:300])

        # --- forged launches ---------------------------------------------------
        br.goto(gate_origin + '/awsgate/web/')
        csrf = br.eval('document.querySelector("input[name=csrf]").value')
        forge = ('(function(fields){var f=document.createElement("form");f.method="post";'
                 'f.action="/awsgate/web/launch";for(var k in fields){var i=document.createElement("input");'
                 'i.type="hidden";i.name=k;i.value=fields[k];f.appendChild(i);}document.body.appendChild(f);'
                 'f.submit();})(%s)')
        n_ar = fake.count(action='AssumeRole')
        br.reset()
        br.eval(forge % json.dumps({'app': 'dev', 'role': DEV}))
        br.wait_event('Page.loadEventFired')
        t.ok('a launch without the CSRF token is refused', br.eval('!!document.getElementById("csrf-failed")'),
             br.eval('document.body.innerText')[:200])
        br.screenshot('5-forged')
        br.goto(gate_origin + '/awsgate/web/')
        br.reset()
        br.eval(forge % json.dumps({'csrf': 'A' * 43, 'app': 'dev', 'role': DEV}))
        br.wait_event('Page.loadEventFired')
        t.ok('a launch with a wrong CSRF token is refused', br.eval('!!document.getElementById("csrf-failed")'))
        t.ok('  both audited as request.denied csrf-failed for alice', len(denied(g, 'alice', 'csrf-failed')) >= 2,
             str(denied(g, 'alice', 'csrf-failed')))
        br.goto(gate_origin + '/awsgate/web/')
        prod_ops = gf.arn(gf.ACCT_PROD, 'Ops')
        br.reset()
        br.eval(forge % json.dumps({'csrf': csrf, 'app': 'prod', 'role': prod_ops}))
        br.wait_event('Page.loadEventFired')
        t.ok('an edited form for a role alice may not use (prod/Ops) is refused with 403',
             (gate_origin + '/awsgate/web/launch', 403) in br.statuses(), str(br.statuses()))
        ev = [e for e in ge.audit(g) if e.get('event') == 'request.denied' and e.get('user') == 'alice'
              and e.get('path') == '/awsgate/web/launch' and e.get('status') == 403
              and e.get('reason') not in ('csrf-failed',)]
        t.ok('  and audited as request.denied with the reason', ev, str(ev[-1:]))
        br.goto(gate_origin + '/awsgate/web/')
        br.reset()
        br.eval(forge % json.dumps({'csrf': csrf, 'app': 'dev', 'role': DEV, 'region': 'x" onmouseover="y'}))
        br.wait_event('Page.loadEventFired')
        t.ok('a hostile region is refused and shown escaped',
             (gate_origin + '/awsgate/web/launch', 400) in br.statuses()
             and br.eval('document.querySelectorAll("[onmouseover]").length') == 0, str(br.statuses()))
        t.eq('  no forged launch reached STS', fake.count(action='AssumeRole') - n_ar, 0)

        # --- the cookie never authorises an API request -------------------------
        jar = {'Cookie': 'awsgate_web=' + cookie}
        st, h, body = raw(g, 'GET', '/awsgate/v1/apps', jar)
        t.eq('cookie on GET /awsgate/v1/apps without a certificate: 401', (st, h.get('x-awsgate-error')),
             (401, 'certificate-required'))
        st, h, body = raw(g, 'POST', '/awsgate/v1/console', dict(jar, **{'Content-Type': 'application/json'}),
                          json.dumps({'app': 'dev', 'role': 'Dev'}))
        t.eq('cookie on POST /awsgate/v1/console: 401', st, 401, body)
        st, h, body = raw(g, 'POST', '/awsgate/v1/web-link', jar, '{}')
        t.eq('cookie on POST /awsgate/v1/web-link: 401', st, 401, body)
        st, h, body = raw(g, 'GET', '/?list-type=2', dict(jar, **{'X-Forwarded-Host': 's3.us-east-1.amazonaws.com'}))
        t.ok('cookie on an AWS API request (X-Forwarded-Host): refused', st in (401, 403), '%d %s' % (st, body[:200]))
        st, h, body = raw(g, 'GET', '/awsgate/web/', jar)
        t.ok('the same cookie does work on the web UI (the checks above are meaningful)', st == 200 and 'alice' in body,
             str(st))

        # --- sign-in by client certificate ---------------------------------------------
        st, h, body = raw(g, 'GET', '/awsgate/web/', cert='bob')
        sc = h.get('set-cookie', '')
        t.ok('a browser presenting bob\'s certificate gets his apps and a session cookie',
             st == 200 and '>bob<' in body and sc.startswith('awsgate_web=') and 'HttpOnly' in sc
             and 'SameSite=Strict' in sc and 'Secure' in sc and 'Path=/awsgate/web' in sc, '%d %s' % (st, sc))
        ev = [e for e in ge.audit(g) if e.get('event') == 'web.signin' and e.get('user') == 'bob']
        t.ok('  audited as web.signin, method cert', ev and ev[-1].get('method') == 'cert', str(ev[-1:]))
        st, h, body = raw(g, 'GET', '/awsgate/web/', {'Cookie': 'awsgate_web=' + cookie}, cert='bob')
        t.ok('  alice\'s cookie with bob\'s certificate: the certificate wins (bob, a new session)',
             st == 200 and '>bob<' in body and h.get('set-cookie', '').startswith('awsgate_web='), str(st))
        try:
            st, h, body = raw(g, 'GET', '/awsgate/web/', cert='expired')
            refused = st != 200 and 'set-cookie' not in h
        except (ssl.SSLError, ConnectionError):
            refused = True  # the handshake refuses it
        t.ok('  an expired certificate does not sign in', refused)

        # --- security headers ------------------------------------------------------
        for path in ('/awsgate/web/', '/awsgate/web/app.js', '/awsgate/web/link?t=x'):
            st, h, body = raw(g, 'GET', path)
            csp = h.get('content-security-policy', '')
            t.ok('%s: CSP, nosniff, no-referrer, DENY, no-store, HSTS' % path,
                 "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
                 and "base-uri 'none'" in csp and 'https://signin.aws.amazon.com' in csp
                 and h.get('x-content-type-options') == 'nosniff' and h.get('referrer-policy') == 'no-referrer'
                 and h.get('x-frame-options') == 'DENY' and h.get('cache-control') == 'no-store'
                 and h.get('strict-transport-security', '').startswith('max-age='), str(h))
        st, h, body = raw(g, 'POST', '/awsgate/web/link', {'Origin': 'https://evil.example.com',
                                                            'Content-Type': 'application/x-www-form-urlencoded'},
                          't=' + 'A' * 43)
        t.eq('a sign-in form posted from another origin: 403, reason in X-Awsgate-Error',
             (st, h.get('x-awsgate-error')), (403, 'web-cross-origin'))
        st, h, body = raw(g, 'POST', '/awsgate/web/launch', dict(jar, **{
            'Sec-Fetch-Site': 'cross-site', 'Content-Type': 'application/x-www-form-urlencoded'}),
            urllib.parse.urlencode({'csrf': csrf, 'app': 'dev', 'role': DEV}))
        t.eq('a launch with the right token but Sec-Fetch-Site: cross-site: 403', st, 403, body[:200])
        st, h, body = raw(g, 'POST', '/awsgate/web/launch', dict(jar, **{
            'Content-Type': 'application/x-www-form-urlencoded'}), 'csrf=' + 'x' * 9000)
        t.eq('a form over 8 KiB: 413', st, 413)

        # --- sign-out ------------------------------------------------------------------
        br.goto(gate_origin + '/awsgate/web/')
        br.click('#signout')
        t.ok('Sign out shows the signed-out page', br.eval('!!document.getElementById("signed-out")'))
        br.screenshot('6-signed-out')
        t.eq('  and drops the cookie', [c for c in br.cookies() if c['name'] == 'awsgate_web'], [])
        t.ok('  audited as web.signout', [e for e in ge.audit(g) if e.get('event') == 'web.signout'
                                          and e.get('user') == 'alice'])
        st, h, body = raw(g, 'GET', '/awsgate/web/', jar)
        t.ok('  the old cookie no longer works (the session is deleted on the server)',
             st == 401 and 'web-session-expired' in body, str(st))

        # --- a user without roles ----------------------------------------------------------
        st, j = web_link(g, 'carol')
        br.goto(j['url'])
        br.click('#continue')
        t.ok('carol (no roles) signs in and sees nothing to launch',
             br.text('#user') == 'carol' and br.eval('!!document.getElementById("no-apps")')
             and br.eval('document.querySelectorAll("button.launch").length') == 0, br.eval('document.body.innerText')[:200])
        br.screenshot('7-no-apps')
        csrf = br.eval('document.querySelector("input[name=csrf]").value')
        br.reset()
        br.eval(forge % json.dumps({'csrf': csrf, 'app': 'dev', 'role': DEV}))
        br.wait_event('Page.loadEventFired')
        t.ok('carol forging a launch of Dev with her own valid token: 403',
             (gate_origin + '/awsgate/web/launch', 403) in br.statuses(), str(br.statuses()))
        ev = [e for e in ge.audit(g) if e.get('event') == 'request.denied' and e.get('user') == 'carol'
              and e.get('path') == '/awsgate/web/launch']
        t.ok('  audited as request.denied for carol', ev, str(ev))
        br.screenshot('8-denied')

        # --- an expired link ------------------------------------------------------------
        st, j = web_link(g, 'alice')
        time.sleep(LINK_TTL + 1)
        br.goto(j['url'])
        br.click('#continue')
        t.ok('a link used after web.link_ttl is refused as expired',
             br.eval('!!document.getElementById("web-link-expired")'), br.eval('document.body.innerText')[:200])
        t.ok('  with 401', (gate_origin + '/awsgate/web/link', 401) in br.statuses(), str(br.statuses()))
        br.screenshot('9-link-expired')
        t.ok('  and audited', denied(g, 'alice', 'web-link-expired') or
             [e for e in ge.audit(g) if e.get('reason') == 'web-link-expired'])

        # --- a lock ends what a web session may do, at once ---------------------------------
        dcookie, dcsrf = web_session(g, 'dave')
        st, h, body = raw(g, 'GET', '/awsgate/web/', {'Cookie': dcookie})
        t.ok('dave signed in by link over HTTP/1.1 sees his apps', st == 200 and '>dave<' in body, str(st))
        gf.ctl('lock', 'add', '--resources', g.res, '--user', 'dave', '--message', 'incident 9', '--name', 'webtest')
        t1 = time.monotonic()
        while time.monotonic() - t1 < 10:
            st, h, body = raw(g, 'GET', '/awsgate/web/', {'Cookie': dcookie})
            if st != 200:
                break
            time.sleep(0.2)
        t.ok('a lock on dave: his session\'s page is refused (403 locked, naming the lock)',
             st == 403 and h.get('x-awsgate-error') == 'locked' and 'webtest' in body and 'incident 9' in body,
             '%d %s' % (st, body[:200]))
        st, h, body = raw(g, 'POST', '/awsgate/web/launch', {
            'Cookie': dcookie, 'Sec-Fetch-Site': 'same-origin', 'Content-Type': 'application/x-www-form-urlencoded'},
            urllib.parse.urlencode({'csrf': dcsrf, 'app': 'dev', 'role': DEV}))
        t.eq('  and so is his launch', (st, h.get('x-awsgate-error')), (403, 'locked'))
        gf.ctl('lock', 'rm', '--resources', g.res, 'webtest')

        chained_case(t, fake, tmp)

        # --- nothing secret in the logs ---------------------------------------------------
        logs = open(g.audit).read() + open(g.errlog).read()
        t.ok('no session cookie or link token in the audit or error log',
             cookie and cookie not in logs and link.split('t=')[1] not in logs)
    except Exception:
        import traceback
        traceback.print_exc()
        t.ok('the test ran to its end', False)
        if g is not None:
            print(g.logs())
    finally:
        if br is not None:
            br.close()
        if g is not None:
            g.cleanup()
        if fake is not None:
            fake.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    t.done()


if __name__ == '__main__':
    main()
