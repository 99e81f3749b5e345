# SPDX-License-Identifier: Apache-2.0
# cli_awsgate.py: the awsgate CLI against a real awsgated and the fake AWS: login, status, apps, console, presign, the aws special cases (compared with /usr/bin/aws), logout.
#
# Oracles: the fake AWS (botocore verifies every signature it is sent), curl
# fetching the URLs awsgate prints, the real AWS CLI v2 for the output shapes,
# and the file system for modes. HOME is a temporary directory.
import base64
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gate_fixture as gf  # noqa: E402
import gate_endpoints as ge  # noqa: E402  (the fake AWS and curl helpers)

AWSGATE = os.environ.get('AWSGATE') or os.path.join(gf.BUILD, 'awsgate')
AWSCLI = '/usr/bin/aws'
STATIC_KEY = 'AKIAIOSFODNN7EXAMPLE'
STATIC_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
OUTPUTS = []  # every stdout/stderr that must not hold a secret


def clean_env(home, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_') and k not in ('BROWSER',)}
    env['HOME'] = home
    env.pop('AWSGATE_PROFILE', None)
    env.update(extra)
    return env


def awsgate(home, *args, record=True, **extra):
    p = subprocess.run([AWSGATE] + list(args), env=clean_env(home, **extra), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    out, err = p.stdout.decode(errors='replace'), p.stderr.decode(errors='replace')
    if record:
        OUTPUTS.append((' '.join(args), out + err))
    return p.returncode, out, err


def real_aws(home, *args, **extra):
    """The AWS CLI v2 with static keys and no network (presigning is local)."""
    env = clean_env(home, AWS_ACCESS_KEY_ID=STATIC_KEY, AWS_SECRET_ACCESS_KEY=STATIC_SECRET,
                    AWS_EC2_METADATA_DISABLED='true', AWS_CONFIG_FILE='/dev/null',
                    AWS_SHARED_CREDENTIALS_FILE='/dev/null', **extra)
    p = subprocess.run([AWSCLI] + list(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def shape(url):
    """A presigned URL without what differs by credentials and time."""
    if '://' not in url:
        url = 'https://' + url
    u = urllib.parse.urlsplit(url)
    q = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
    names = [k for k, _ in q if k != 'X-Amz-Security-Token']
    vals = {k: v for k, v in q}
    scope = vals.get('X-Amz-Credential', '').split('/', 2)[-1] if 'X-Amz-Credential' in vals else ''
    fixed = {k: v for k, v in q if k in ('Action', 'DBUser', 'Version', 'X-Amz-Algorithm')}
    # The gate caps a lifetime by the role credentials' (a few seconds under
    # the hour that the AWS CLI's default asks): compared in minutes.
    fixed['X-Amz-Expires(min)'] = (int(vals.get('X-Amz-Expires', '0')) + 59) // 60
    return {'scheme': u.scheme, 'netloc': u.netloc, 'path': u.path, 'names': names, 'scope': scope,
            'fixed': fixed, 'signed': vals.get('X-Amz-SignedHeaders')}


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def main():
    gf.require_server()
    if not os.access(AWSGATE, os.X_OK):
        gf.skip('awsgate is not built')
    have_aws = os.access(AWSCLI, os.X_OK)
    t = gf.Checks('awsgate CLI: login, status, apps, console, presign, aws special cases, logout')
    tmp = tempfile.mkdtemp(prefix='awsgate-cli-')
    home = os.path.join(tmp, 'home')
    os.makedirs(home)
    fake = g = None
    try:
        fake = ge.Fake(tmp)
        os.environ.update({'AWS_ACCESS_KEY_ID': ge.GATE_KEY, 'AWS_SECRET_ACCESS_KEY': ge.GATE_SECRET,
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
        # zed has two roles in app dev (Dev from role dev, Ops from role ops).
        gf.ctl('certs', 'user', '--dir', g.pki.ca, '--user', 'zed', '--roles', 'dev,ops', '--ttl', '8h',
               '--out', os.path.join(g.pki.dir, 'zed'))
        g.start()
        gate = '127.0.0.1:%d' % g.port
        cert, key = g.pki.cert('alice')
        ca = g.pki.cacert

        # --- help and version --------------------------------------------------
        rc, out, _ = awsgate(home, '--version')
        t.ok('--version prints the version', rc == 0 and re.match(r'awsgate \d+\.\d+\.\d+', out), out)
        for cmd in (['login'], ['logout'], ['status'], ['apps'], ['apps', 'ls'], ['apps', 'login'],
                    ['apps', 'logout'], ['console'], ['presign'], ['aws'], ['proxy', 'aws']):
            rc, out, _ = awsgate(home, *(cmd + ['--help']))
            t.ok('%s --help: exit 0 with a usage' % ' '.join(cmd), rc == 0 and 'Usage: awsgate' in out, out[:80])
        rc, _, err = awsgate(home, 'frobnicate')
        t.ok('an unknown command: exit 2 with the usage', rc == 2 and 'unknown command' in err, err[:200])
        rc, _, err = awsgate(home, 'status')
        t.ok('status before any login: exit 2, says to log in', rc == 2 and 'log in' in err, err)

        # --- login failures write nothing ----------------------------------------
        bob_cert, bob_key = g.pki.cert('bob')
        rc, _, err = awsgate(home, 'login', '--gate', gate, '--cert', cert, '--key', bob_key, '--ca', ca,
                             '--profile', 'bad')
        t.ok('login with a key of another certificate: exit 2, "does not belong"',
             rc == 2 and 'does not belong' in err, err)
        exp_cert, exp_key = g.pki.cert('expired')
        rc, _, err = awsgate(home, 'login', '--gate', gate, '--cert', exp_cert, '--key', exp_key, '--ca', ca,
                             '--profile', 'bad')
        t.ok('login with an expired certificate: exit 2, says it expired', rc == 2 and 'expired' in err, err)
        rc, _, err = awsgate(home, 'login', '--gate', gate, '--cert', cert, '--key', key, '--ca',
                             os.path.join(g.pki.dir, 'other', 'ca.crt'), '--profile', 'bad')
        t.ok('login with a CA that did not sign the gate: exit 2, "not trusted"', rc == 2 and 'not trusted' in err,
             err)
        rc, _, err = awsgate(home, 'login', '--gate', '127.0.0.1:%d' % gf.free_port(), '--cert', cert, '--key', key,
                             '--ca', ca, '--profile', 'bad')
        t.ok('login to a port where nothing listens: exit 2, "cannot reach"', rc == 2 and 'cannot reach' in err, err)
        rc, _, err = awsgate(home, 'login', '--gate', gate, '--cert', cert, '--key', key, '--profile', 'bad')
        t.ok('login without --ca: exit 2', rc == 2 and '--ca' in err, err)
        t.ok('  no profile was written by the failures',
             not os.path.exists(os.path.join(home, '.awsgate', 'bad')), str(os.listdir(home)))

        # --- login ---------------------------------------------------------------------
        rc, out, err = awsgate(home, 'login', '--gate', gate, '--cert', cert, '--key', key, '--ca', ca)
        t.ok('login as alice: exit 0, names the user, the time left and the apps',
             rc == 0 and 'alice' in out and 'left' in out and gf.arn(gf.ACCT_DEV, 'Dev') in out
             and 'staging' in out, out + err)
        top = os.path.join(home, '.awsgate')
        prof = os.path.join(top, '127.0.0.1')
        t.eq('  ~/.awsgate is 0700', oct(mode(top)), oct(0o700))
        t.eq('  the profile directory (named after the gate host) is 0700', oct(mode(prof)) if os.path.isdir(prof)
             else None, oct(0o700))
        for f in ('profile.json', 'client.crt', 'client.key', 'gate-ca.crt'):
            p = os.path.join(prof, f)
            t.eq('  %s is 0600' % f, oct(mode(p)) if os.path.exists(p) else None, oct(0o600))
        with open(os.path.join(top, 'current')) as f:
            t.eq('  current names it', f.read().strip(), '127.0.0.1')
        with open(os.path.join(prof, 'profile.json')) as f:
            pj = json.load(f)
        t.ok('  throw-away keys: AKIA + 16 of [A-Z0-9], and a 40-character secret',
             re.fullmatch(r'AKIA[A-Z0-9]{16}', pj['access_key_id'])
             and re.fullmatch(r'[A-Za-z0-9+/]{40}', pj['secret_access_key']), str(pj.get('access_key_id')))
        secret = pj['secret_access_key']
        with open(key) as f:
            keytext = f.read()

        rc, out, err = awsgate(home, 'login', '--gate', gate, '--cert', cert, '--key', key, '--ca', ca)
        with open(os.path.join(prof, 'profile.json')) as f:
            t.eq('a second login to the same gate keeps the keys', json.load(f)['secret_access_key'], secret)

        # --- status ----------------------------------------------------------------------
        rc, out, err = awsgate(home, 'status')
        t.ok('status: exit 0, user, gate version, expiry', rc == 0 and 'alice' in out and '0.' in out
             and 'left' in out, out + err)
        rc, out, err = awsgate(home, 'status', '--json')
        try:
            st = json.loads(out)
        except ValueError:
            st = {}
        t.ok('status --json: user, gate, reachable and compatible, seconds left',
             st.get('user') == 'alice' and st.get('gate') == gate and st.get('gate_reachable') is True
             and st.get('compatible') is True and 0 < st.get('seconds_left', 0) <= 8 * 3600, out)

        # --- apps --------------------------------------------------------------------------
        rc, out, err = awsgate(home, 'apps', 'ls')
        t.ok('apps ls: both apps with account IDs and role ARNs',
             rc == 0 and gf.ACCT_DEV in out and gf.ACCT_STAGING in out and gf.arn(gf.ACCT_STAGING, 'StagingDev') in out,
             out + err)
        rc, out, err = awsgate(home, 'apps', 'ls', '--json')
        try:
            aj = json.loads(out)
        except ValueError:
            aj = {}
        t.ok('apps ls --json: the gate\'s document with "chosen" flags',
             [a['name'] for a in aj.get('apps', [])] == ['dev', 'staging']
             and all(a['chosen'] is False for a in aj['apps']), out[:300])
        rc, out, err = awsgate(home, 'apps', 'login', 'prod')
        t.ok('apps login of an app that is not yours: exit 1, lists yours', rc == 1 and 'dev' in err, err)
        rc, out, err = awsgate(home, 'apps', 'login', 'dev')
        t.ok('apps login dev (one role): exit 0, chose Dev', rc == 0 and gf.arn(gf.ACCT_DEV, 'Dev') in out, out + err)
        rc, out, err = awsgate(home, 'apps', 'ls', '--json')
        aj = json.loads(out) if rc == 0 else {}
        dev = [a for a in aj.get('apps', []) if a['name'] == 'dev']
        t.ok('  apps ls --json marks dev/Dev chosen', dev and dev[0]['chosen'] and dev[0]['roles'][0]['chosen'],
             out[:400])
        rc, out, err = awsgate(home, 'apps', 'ls')
        t.ok('  apps ls marks it with *', re.search(r'\* Dev\s', out) is not None, out)

        zc, zk = g.pki.cert('zed')
        rc, out, err = awsgate(home, 'login', '--gate', gate, '--cert', zc, '--key', zk, '--ca', ca,
                               '--profile', 'zed')
        t.eq('login of zed as profile zed', rc, 0, err)
        t.ok('  login made zed the active profile', open(os.path.join(top, 'current')).read().strip() == 'zed')
        rc, out, err = awsgate(home, 'apps', 'login', 'dev')
        t.ok('apps login dev with two roles: exit 1, lists both', rc == 1 and gf.arn(gf.ACCT_DEV, 'Dev') in err
             and gf.arn(gf.ACCT_DEV, 'Ops') in err and '--aws-role' in err, err)
        rc, out, err = awsgate(home, 'apps', 'login', 'dev', '--aws-role', 'Nope')
        t.ok('apps login dev --aws-role Nope: exit 1, lists the candidates', rc == 1 and 'Nope' in err
             and gf.arn(gf.ACCT_DEV, 'Ops') in err, err)
        rc, out, err = awsgate(home, 'apps', 'login', 'dev', '--aws-role', 'Ops')
        t.ok('apps login dev --aws-role Ops: exit 0', rc == 0 and gf.arn(gf.ACCT_DEV, 'Ops') in out, out + err)
        rc, out, err = awsgate(home, 'apps', 'login', 'dev', '--aws-role', gf.arn(gf.ACCT_DEV, 'Dev'))
        t.ok('apps login dev --aws-role ARN: exit 0', rc == 0 and gf.arn(gf.ACCT_DEV, 'Dev') in out, out + err)
        rc, out, err = awsgate(home, 'status', '--json')
        st = json.loads(out) if out.startswith('{') else {}
        t.eq('  status shows the choice', (st.get('app'), st.get('role')), ('dev', gf.arn(gf.ACCT_DEV, 'Dev')))
        rc, out, err = awsgate(home, 'apps', 'logout', 'staging')
        t.eq('apps logout of an app that is not chosen: exit 1', rc, 1, err)
        rc, out, err = awsgate(home, 'apps', 'logout')
        st = json.loads(awsgate(home, 'status', '--json')[1] or '{}')
        t.ok('apps logout: exit 0 and the choice is gone', rc == 0 and st.get('app') is None, str(st))
        rc, out, err = awsgate(home, '--profile', '127.0.0.1', 'status', '--json')
        st = json.loads(out) if out.startswith('{') else {}
        t.eq('--profile picks the other profile', st.get('user'), 'alice')
        rc, out, err = awsgate(home, 'status', '--json', AWSGATE_PROFILE='127.0.0.1')
        st = json.loads(out) if out.startswith('{') else {}
        t.eq('AWSGATE_PROFILE picks it too', st.get('user'), 'alice')
        rc, out, err = awsgate(home, '--profile', '../x', 'status')
        t.ok('--profile with a path: exit 2', rc == 2 and 'not a profile name' in err, err)
        # From here on alice's profile is the active one.
        with open(os.path.join(top, 'current'), 'w') as f:
            f.write('127.0.0.1\n')

        # --- console -------------------------------------------------------------------------
        rc, out, err = awsgate(home, 'console', '--print', record=False)
        url = out.strip()
        t.ok('console --print: exit 0 and a sign-in URL', rc == 0 and url.startswith('https://') and
             'SigninToken=' in url, err)
        if rc == 0:
            code, page = ge.fetch(fake, url)
            t.ok('  the URL signs alice in as Dev at the fake console',
                 code == 200 and gf.arn(gf.ACCT_DEV, 'Dev') in page and '>alice<' in page, '%d %s' % (code, page[:200]))
        t.ok('  nothing of the URL on stderr', 'SigninToken' not in err, err)
        opened = os.path.join(tmp, 'opened')
        browser = os.path.join(tmp, 'browser.sh')
        with open(browser, 'w') as f:
            f.write('#!/bin/sh\nprintf "%%s\\n" "$@" > %s\n' % opened)
        os.chmod(browser, 0o755)
        rc, out, err = awsgate(home, 'console', 'staging', BROWSER=browser)
        import time
        for _ in range(50):
            if os.path.exists(opened) and os.path.getsize(opened) > 0:
                break
            time.sleep(0.1)
        got = open(opened).read().strip() if os.path.exists(opened) else ''
        t.ok('console staging: $BROWSER is given the URL, nothing printed on stdout',
             rc == 0 and got.startswith('https://') and 'SigninToken=' in got and out == '', '%d %r %s' % (rc, got[:80], err))
        t.ok('  and it names the staging role on stderr', gf.arn(gf.ACCT_STAGING, 'StagingDev') in err, err)
        rc, out, err = awsgate(home, 'console', 'prod')
        t.ok('console for an app that is not yours: exit 1 with the gate\'s message', rc == 1 and 'refused' in err, err)

        # --- presign -----------------------------------------------------------------------------
        s3obj = 'https://s3.us-east-1.amazonaws.com/gate-bucket/hello.txt'
        rc, out, err = awsgate(home, 'presign', s3obj, 'dev', '--method', 'PUT', '--expires', '5m')
        put_url = out.strip()
        t.ok('presign PUT: exit 0 and a URL for 300 s', rc == 0 and 'X-Amz-Expires=300' in put_url, out + err)
        if rc == 0:
            code, body = ge.fetch(fake, put_url, method='PUT', data='hello from awsgate')
            t.eq('  the fake S3 accepts the upload', code, 200, body[:200])
        rc, out, err = awsgate(home, 'presign', s3obj, '--aws-role', 'Dev')
        get_url = out.strip()
        if rc == 0:
            code, body = ge.fetch(fake, get_url)
            t.eq('presign GET (role named, app from the gate): the object comes back', (code, body),
                 (200, 'hello from awsgate'))
            sig = re.search(r'X-Amz-Signature=([0-9a-f]+)', get_url).group(1)
            bad = get_url.replace(sig, sig[:-1] + ('0' if sig[-1] != '0' else '1'))
            code, body = ge.fetch(fake, bad)
            t.eq('  a tampered signature is refused', code, 403, body[:200])
            code, body = ge.fetch(fake, get_url.replace('hello.txt', 'other.txt'))
            t.eq('  another key with the same signature is refused', code, 403, body[:200])
        else:
            t.ok('presign GET', False, err)
        rc, out, err = awsgate(home, 'presign', 'https://example.com/x', 'dev')
        t.ok('presign of a host that is not AWS: exit 1 with the gate\'s reason', rc == 1 and 'not-aws-endpoint' in err,
             err)
        rc, out, err = awsgate(home, 'presign', s3obj, 'dev', '--expires', 'soon')
        t.eq('presign --expires soon: exit 2', rc, 2, err)

        # --- aws special cases ----------------------------------------------------------------------
        rc, out, err = awsgate(home, 'aws', '--profile', 'x', 's3', 'ls')
        t.ok('aws --profile: refused, exit 2', rc == 2 and '--profile' in err, err)
        rc, out, err = awsgate(home, 'aws', 's3', 'ls', '--endpoint-url=https://evil.example')
        t.ok('aws --endpoint-url: refused, exit 2', rc == 2 and '--endpoint-url' in err, err)
        rc, out, err = awsgate(home, 'apps', 'login', 'dev')
        cases = [
            ('s3 presign, region given', ['s3', 'presign', 's3://gate-bucket/hello.txt', '--region', 'us-east-1'], {}),
            ('s3 presign, region from AWS_DEFAULT_REGION, --expires-in', ['s3', 'presign', 's3://gate-bucket/hello.txt',
                                                                           '--expires-in', '120'],
             {'AWS_DEFAULT_REGION': 'us-east-1'}),
            ('s3 presign, no region (global endpoint)', ['s3', 'presign', 's3://gate-bucket/hello.txt'], {}),
            ('s3 presign, a key with spaces, +, % and UTF-8', ['--region', 'us-east-1', 's3', 'presign',
                                                                 's3://gate-bucket/a b+c%d/\u00e9.txt'], {}),
            ('s3 presign, a bucket with dots (path style)', ['s3', 'presign', 's3://my.bucket/k', '--region',
                                                              'eu-west-1'], {}),
        ]
        for title, args, extra in cases:
            rc, out, err = awsgate(home, 'aws', *args, **extra)
            ours = out.strip()
            t.ok('aws %s: exit 0, one line' % title, rc == 0 and ours.count('\n') == 0 and ours.startswith('https://'),
                 out + err)
            if have_aws:
                arc, aout, aerr = real_aws(home, *args, **extra)
                t.eq('  same shape as /usr/bin/aws prints', shape(ours), shape(aout.strip()), aerr)
            if rc == 0 and 'gate-bucket/hello.txt' in ours or 'gate-bucket.s3' in ours and 'hello.txt' in ours:
                code, body = ge.fetch(fake, ours)
                t.eq('  the fake S3 returns the object with it', (code, body), (200, 'hello from awsgate'))
        rc, out, err = awsgate(home, 'aws', 's3', 'presign', 's3://gate-bucket/k', '--expires-in', '604801')
        t.eq('aws s3 presign --expires-in over 7 days: exit 2', rc, 2, err)
        rc, out, err = awsgate(home, 'aws', 's3', 'presign', 's3://gate-bucket')
        t.ok('aws s3 presign without a key: exit 2 with the AWS CLI\'s message', rc == 2 and 'Key' in err, err)

        rds = ['rds', 'generate-db-auth-token', '--hostname', 'mydb.c0ffee.us-east-1.rds.amazonaws.com', '--port',
               '5432', '--username', 'alice', '--region', 'us-east-1']
        rc, out, err = awsgate(home, 'aws', *rds)
        tok = out.strip()
        t.ok('aws rds generate-db-auth-token: exit 0, host:port/?Action=connect...', rc == 0 and
             tok.startswith('mydb.c0ffee.us-east-1.rds.amazonaws.com:5432/?Action=connect&DBUser=alice&'), out + err)
        if have_aws:
            arc, aout, aerr = real_aws(home, *rds)
            t.eq('  same shape as /usr/bin/aws prints', shape(tok), shape(aout.strip()), aerr)
        if rc == 0:
            n0 = fake.count(signature='valid', presigned=True, host='mydb.c0ffee.us-east-1.rds.amazonaws.com')
            ge.fetch(fake, 'https://' + tok)
            t.eq('  the fake verifies its signature (rds-db scope, the role\'s credentials)',
                 fake.count(signature='valid', presigned=True, host='mydb.c0ffee.us-east-1.rds.amazonaws.com') - n0, 1)
        rc, out, err = awsgate(home, 'aws', *rds[:-2])
        t.ok('aws rds generate-db-auth-token without a region: exit 2, "You must specify a region"',
             rc == 2 and 'You must specify a region' in err, err)

        for title, args in (('region given', ['eks', 'get-token', '--cluster-name', 'my-cluster', '--region',
                                              'us-east-1']),
                            ('no region (global STS)', ['eks', 'get-token', '--cluster-name', 'my-cluster'])):
            rc, out, err = awsgate(home, 'aws', *args)
            try:
                ec = json.loads(out)
            except ValueError:
                ec = {}
            t.ok('aws eks get-token, %s: ExecCredential JSON' % title,
                 rc == 0 and ec.get('kind') == 'ExecCredential' and ec['status']['token'].startswith('k8s-aws-v1.'),
                 out + err)
            if rc != 0 or not ec:
                continue
            if have_aws:
                arc, aout, aerr = real_aws(home, *args)
                aec = json.loads(aout)
                t.eq('  same keys, order and apiVersion as /usr/bin/aws', (list(ec), list(ec['status']), ec['apiVersion'],
                                                                         ec['spec']),
                     (list(aec), list(aec['status']), aec['apiVersion'], aec['spec']))
                t.eq('  the same bytes but for the token and the timestamp',
                     re.sub(r'"(k8s-aws-v1\.[^"]*|\d{4}-\d\d-\d\dT[^"]*)"', '""', out),
                     re.sub(r'"(k8s-aws-v1\.[^"]*|\d{4}-\d\d-\d\dT[^"]*)"', '""', aout))
                b = ec['status']['token'][len('k8s-aws-v1.'):]
                ab = aec['status']['token'][len('k8s-aws-v1.'):]
                url = base64.urlsafe_b64decode(b + '=' * (-len(b) % 4)).decode()
                aurl = base64.urlsafe_b64decode(ab + '=' * (-len(ab) % 4)).decode()
                t.ok('  the token is unpadded base64url', '=' not in b)
                t.eq('  its URL has the same shape as the AWS CLI\'s', shape(url), shape(aurl))
            else:
                b = ec['status']['token'][len('k8s-aws-v1.'):]
                url = base64.urlsafe_b64decode(b + '=' * (-len(b) % 4)).decode()
            code, body = ge.fetch(fake, url, headers=[('x-k8s-aws-id', 'my-cluster')])
            t.ok('  the fake STS answers GetCallerIdentity as the role with alice as session',
                 code == 200 and 'assumed-role/Dev/alice' in body, '%d %s' % (code, body[:200]))
            code, body = ge.fetch(fake, url, headers=[('x-k8s-aws-id', 'other-cluster')])
            t.ok('  for another cluster name it is refused', code in (400, 403), str(code))

        rc, out, err = awsgate(home, 'aws', 'sts', 'get-caller-identity', AWSGATE_AWS_CLI=AWSCLI)
        t.ok('aws sts get-caller-identity through the local proxy (cli-aws.test has the rest): Dev/alice',
             rc == 0 and 'assumed-role/Dev/alice' in out, out + err[-600:])

        # --- secrets ------------------------------------------------------------------------------------
        leaked = [c for c, text in OUTPUTS if secret in text or 'PRIVATE KEY' in text or keytext[40:80] in text
                  or 'SigninToken' in text]
        t.ok('no throw-away secret, private key or sign-in token in any output that did not ask for one',
             not leaked, str(leaked))

        # --- logout -------------------------------------------------------------------------------------
        with open(os.path.join(prof, 'local-ca.key'), 'w') as f:
            f.write('stand-in for the local CA key')
        rc, out, err = awsgate(home, 'logout')
        t.ok('logout: exit 0, names what it removed', rc == 0 and 'client.key' in out and 'local-ca.key' in out
             and 'profile.json' in out, out + err)
        t.ok('  the profile directory is gone', not os.path.exists(prof), str(os.listdir(top)))
        t.ok('  current is gone (it named this profile)', not os.path.exists(os.path.join(top, 'current')))
        t.ok('  the other profile stays', os.path.exists(os.path.join(top, 'zed', 'profile.json')))
        rc, out, err = awsgate(home, 'status')
        t.eq('status after logout: exit 2', rc, 2, err)
        rc, out, err = awsgate(home, '--profile', 'zed', 'status')
        t.eq('the other profile still works', rc, 0, err)
        # The gate goes away: status prints the local facts, warns, exits 2.
        g.stop()
        rc, out, err = awsgate(home, '--profile', 'zed', 'status')
        t.ok('status with the gate down: local facts, a warning, exit 2',
             rc == 2 and 'zed' in out and 'warning' in err, out + err)
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
