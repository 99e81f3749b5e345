# SPDX-License-Identifier: Apache-2.0
# cli_aws_e2e.py: `awsgate aws` and `awsgate proxy aws` as a user runs them: the real AWS CLI v2 and boto3 through the local proxy, awsgated and the fake AWS; the child's environment, exit status and signals; the exports.
#
# The local proxy's breadth (every protocol, 200 MiB both ways, tunnels,
# refusals) is tests/integration/lproxy.test, through its driver; this test
# is about the commands that start it. Oracles: /usr/bin/aws, boto3, the
# fake AWS's records (botocore verifies every signature the gate makes) and
# the gate's audit log.
import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fakeaws'))
import gate_fixture as gf  # noqa: E402
import gate_endpoints as ge  # noqa: E402
import records  # noqa: E402

AWSGATE = os.environ.get('AWSGATE') or os.path.join(gf.BUILD, 'awsgate')
AWSCLI = '/usr/bin/aws'

BOTO = r'''
import json, sys
import boto3, botocore.config
cfg = botocore.config.Config(retries={'max_attempts': 1})
sts = boto3.client('sts', config=cfg)
s3 = boto3.client('s3', config=cfg)
out = {'arn': sts.get_caller_identity()['Arn']}
s3.put_object(Bucket='gate-bucket', Key=sys.argv[1], Body=b'from boto3')
out['body'] = s3.get_object(Bucket='gate-bucket', Key=sys.argv[1])['Body'].read().decode()
print(json.dumps(out))
'''


def user_env(home, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('AWS_') and k.lower() not in ('https_proxy', 'http_proxy', 'no_proxy')}
    env.update(HOME=home, AWSGATE_AWS_CLI=AWSCLI)
    env.pop('AWSGATE_PROFILE', None)
    env.update(extra)
    return env


def awsgate(home, *args, timeout=300, **extra):
    p = subprocess.run([AWSGATE] + list(args), env=user_env(home, **extra), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode(errors='replace'), p.stderr.decode(errors='replace')


class Proxy:
    """`awsgate proxy aws` running, with the variables it printed."""

    def __init__(self, home, *args, fmt='json'):
        self.err = tempfile.TemporaryFile()
        self.p = subprocess.Popen([AWSGATE, 'proxy', 'aws', '--format', fmt] + list(args), env=user_env(home),
                                  stdout=subprocess.PIPE, stderr=self.err)
        self.text = ''
        end = time.monotonic() + 15
        fd = self.p.stdout.fileno()
        # Unbuffered reads: json is one (indented) object; env ends with the
        # unset lines, the last of them AWS_ENDPOINT_URL's.
        while time.monotonic() < end and not self.complete(fmt):
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                self.text += chunk.decode()
            elif self.p.poll() is not None:
                break

    def complete(self, fmt):
        if fmt == 'env':
            return 'unset AWS_ENDPOINT_URL' in self.text and self.text.endswith('\n')
        try:
            json.loads(self.text)
            return True
        except ValueError:
            return False

    def env(self):
        return json.loads(self.text)

    def stderr(self):
        self.err.seek(0)
        return self.err.read().decode(errors='replace')

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            return self.p.wait(15)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return self.p.wait()


def main():
    gf.require_server()
    if not os.access(AWSGATE, os.X_OK):
        gf.skip('awsgate is not built')
    if not os.access(AWSCLI, os.X_OK):
        gf.skip('no AWS CLI v2 at /usr/bin/aws (apt-get install awscli)')
    t = gf.Checks('awsgate aws and awsgate proxy aws: the AWS CLI and boto3 through the gate')
    tmp = tempfile.mkdtemp(prefix='awsgate-cli-aws-')
    home = os.path.join(tmp, 'alice')
    os.makedirs(home, mode=0o700)
    fake = g = None
    proxies = []
    try:
        fake = ge.Fake(tmp)
        os.environ.update({'AWS_ACCESS_KEY_ID': ge.GATE_KEY, 'AWS_SECRET_ACCESS_KEY': ge.GATE_SECRET,
                           'AWS_EC2_METADATA_DISABLED': 'true', 'HOME': tmp})
        for k in ('AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_STS',
                  'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI'):
            os.environ.pop(k, None)
        g = gf.Gate({'aws': {'region': 'us-east-1', 'ca_file': fake.ca,
                             'connect_to': [{'host': '*.amazonaws.com', 'address': '127.0.0.1:%d' % fake.https}]},
                     'timeouts': {'sts': '5s'}})
        apps = json.loads(json.dumps(gf.APPS))
        for a in apps:
            if a['metadata']['name'] == 'dev':
                a['spec']['aws'] = {'external_id': 'ext-dev'}
        with open(os.path.join(g.res, 'apps.json'), 'w') as f:
            json.dump(apps, f)
        g.start()
        cert, key = g.pki.cert('alice')
        rc, _, err = awsgate(home, 'login', '--gate', '127.0.0.1:%d' % g.port, '--cert', cert, '--key', key,
                             '--ca', g.pki.cacert)
        t.eq('login', rc, 0, err)
        prof = os.path.join(home, '.awsgate', '127.0.0.1')

        # --- before a choice: alice has two apps; the gate says which ------------------
        rc, out, err = awsgate(home, 'aws', 'sts', 'get-caller-identity')
        t.ok('aws before apps login (two apps): the AWS CLI prints the gate\'s choose-app message, exit != 0',
             rc != 0 and 'dev' in err and 'staging' in err, '%d %s' % (rc, err[-600:]))
        t.ok('  the local CA was made on first use, 0600, in the profile',
             os.path.exists(os.path.join(prof, 'local-ca.crt'))
             and gf.os.stat(os.path.join(prof, 'local-ca.key')).st_mode & 0o777 == 0o600)
        ca_before = open(os.path.join(prof, 'local-ca.crt')).read()

        rc, _, err = awsgate(home, 'apps', 'login', 'dev', '--aws-role', 'Dev')
        t.eq('apps login dev --aws-role Dev', rc, 0, err)

        # --- awsgate aws ----------------------------------------------------------------
        rc, out, err = awsgate(home, 'aws', 'sts', 'get-caller-identity')
        ok = rc == 0 and json.loads(out or '{}').get('Arn') == 'arn:aws:sts::%s:assumed-role/Dev/alice' % gf.ACCT_DEV
        t.ok('aws sts get-caller-identity: the assumed Dev role, alice as session name', ok, out + err[-600:])
        t.eq('  the local CA is kept across runs', open(os.path.join(prof, 'local-ca.crt')).read(), ca_before)

        rc, out, err = awsgate(home, 'aws', 's3', 'ls')
        t.ok('aws s3 ls lists the fake\'s bucket', rc == 0 and 'gate-bucket' in out, out + err[-600:])
        data = os.path.join(tmp, 'data.bin')
        with open(data, 'wb') as f:
            blk = hashlib.sha256(b'awsgate').digest() * 32768  # 1 MiB
            for _ in range(24):
                f.write(blk)
        want = hashlib.sha256(open(data, 'rb').read()).hexdigest()
        rc, out, err = awsgate(home, 'aws', 's3', 'cp', data, 's3://gate-bucket/dir/24 MiB+%.bin')
        t.ok('aws s3 cp 24 MiB up (multipart, 100-continue, key with space, + and %%)', rc == 0, err[-800:])
        back = os.path.join(tmp, 'back.bin')
        rc, out, err = awsgate(home, 'aws', 's3', 'cp', 's3://gate-bucket/dir/24 MiB+%.bin', back)
        t.ok('aws s3 cp down: the same SHA-256', rc == 0 and os.path.exists(back)
             and hashlib.sha256(open(back, 'rb').read()).hexdigest() == want, err[-800:])
        parts = [r for r in records.read(fake.records) if r.get('method') == 'PUT' and 'partNumber' in
                 json.dumps(r.get('query')) + (r.get('path') or '')]
        t.ok('  the upload was multipart at the fake, every part signed by the gate', len(parts) >= 3 and
             all(r.get('signature') == 'valid' for r in parts), str(len(parts)))

        rc, out, err = awsgate(home, 'aws', 's3', 'ls', 's3://no-such-bucket')
        t.ok('a failing AWS command: the AWS CLI\'s own exit status and AWS\'s error (NoSuchBucket)',
             rc in (1, 254, 255) and 'NoSuchBucket' in err, '%d %s' % (rc, err[-400:]))

        rc, out, err = awsgate(home, 'aws', '--exec', '/usr/bin/python3', '-c', BOTO, 'boto3 key')
        res = json.loads(out) if rc == 0 and out.strip() else {}
        t.ok('aws --exec python3 (boto3): sts and s3 through the gate',
             res.get('arn', '').endswith('assumed-role/Dev/alice') and res.get('body') == 'from boto3',
             out + err[-600:])

        # The child's environment: routed to the proxy, nothing that goes around it.
        rc, out, err = awsgate(home, 'aws', '--exec', '/usr/bin/env',
                               AWS_PROFILE='other', AWS_SESSION_TOKEN='leftover', AWS_ENDPOINT_URL='https://x.example',
                               AWS_ENDPOINT_URL_S3='https://y.example', NO_PROXY='localhost,.amazonaws.com,10.0.0.1',
                               AWS_REGION='eu-west-1')
        env = dict(line.split('=', 1) for line in out.splitlines() if '=' in line)
        proxy_url = env.get('HTTPS_PROXY', '')
        t.ok('aws --exec env: HTTPS_PROXY/https_proxy name a loopback port, AWS_CA_BUNDLE the profile\'s local CA',
             proxy_url.startswith('http://127.0.0.1:') and env.get('https_proxy') == proxy_url
             and env.get('AWS_CA_BUNDLE') == os.path.join(prof, 'local-ca.crt'), str(env)[:600])
        t.ok('  AWS_PROFILE, AWS_SESSION_TOKEN, AWS_ENDPOINT_URL* removed; AWS hosts out of NO_PROXY',
             not any(k in env for k in ('AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3'))
             and env.get('NO_PROXY') == 'localhost,10.0.0.1', str({k: v for k, v in env.items() if 'AWS' in k or 'PROXY' in k}))
        t.ok('  throw-away keys that are not the gate\'s or any AWS key; the user\'s region kept',
             env.get('AWS_ACCESS_KEY_ID', '').startswith('AKIA') and env.get('AWS_ACCESS_KEY_ID') != ge.GATE_KEY
             and env.get('AWS_REGION') == 'eu-west-1' and env.get('AWS_SHARED_CREDENTIALS_FILE') == '/dev/null',
             str({k: v for k, v in env.items() if k.startswith('AWS_') and 'SECRET' not in k}))
        port = int(proxy_url.rsplit(':', 1)[1]) if proxy_url.startswith('http://127.0.0.1:') else 0
        time.sleep(0.2)
        try:
            import socket
            s = socket.create_connection(('127.0.0.1', port), timeout=1)
            s.close()
            listening = True
        except OSError:
            listening = False
        t.ok('  the proxy lived as long as the child: its port is closed afterwards', port and not listening)

        # The region the user's own AWS config gives their profile reaches the
        # child, which sees neither AWS_PROFILE nor the gate's default.
        os.makedirs(os.path.join(home, '.aws'), exist_ok=True)
        with open(os.path.join(home, '.aws', 'config'), 'w') as f:
            f.write('[default]\nregion = eu-west-3\n[profile other]\nregion = ap-northeast-1\n')
        regions = []
        for extra in ({'AWS_PROFILE': 'other'}, {}, {'AWS_PROFILE': 'other', 'AWS_DEFAULT_REGION': 'us-west-2'}):
            rc, out, err = awsgate(home, 'aws', '--exec', '/usr/bin/env', **extra)
            env = dict(line.split('=', 1) for line in out.splitlines() if '=' in line)
            regions.append(env.get('AWS_DEFAULT_REGION'))
        t.eq('  AWS_DEFAULT_REGION from ~/.aws/config for AWS_PROFILE, then [default]; the variable wins', regions,
             ['ap-northeast-1', 'eu-west-3', 'us-west-2'], err)
        rc, out, err = awsgate(home, 'aws', 's3', 'presign', 's3://gate-bucket/k', AWS_PROFILE='other')
        t.ok('  aws s3 presign takes the profile\'s region from ~/.aws/config too',
             rc == 0 and out.startswith('https://gate-bucket.s3.ap-northeast-1.amazonaws.com/k?'), out + err[-600:])
        os.remove(os.path.join(home, '.aws', 'config'))

        rc, _, err = awsgate(home, 'aws', '--exec', '/bin/sh', '-c', 'exit 7')
        t.eq('aws --exec: the child\'s exit status (7)', rc, 7, err)
        rc, _, err = awsgate(home, 'aws', '--exec', '/no/such/program')
        t.ok('aws --exec a missing program: 125 and says what', rc == 125 and '/no/such/program' in err, err)
        rc, _, err = awsgate(home, 'aws', 's3', 'ls', AWSGATE_AWS_CLI='/no/such/aws')
        t.ok('AWSGATE_AWS_CLI naming nothing: 125 and says what', rc == 125 and '/no/such/aws' in err, err)
        rc, _, err = awsgate(home, 'aws', '--profile', 'x', 'sts', 'get-caller-identity')
        t.ok('aws --profile refused (would route around the gate): exit 2', rc == 2 and '--profile' in err, err)

        # Signals reach the child; its status comes back.
        p = subprocess.Popen([AWSGATE, 'aws', '--exec', '/bin/sh', '-c',
                              'trap "exit 42" TERM; echo ready; while :; do sleep 0.1; done'],
                             env=user_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = p.stdout.readline()
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = 'hung'
        t.ok('SIGTERM to awsgate aws reaches the child (its trap exits 42)', line == b'ready\n' and rc == 42, repr((line, rc)))

        # --- awsgate proxy aws ---------------------------------------------------------
        px = Proxy(home)
        proxies.append(px)
        try:
            penv = px.env()
        except ValueError:
            penv = {}
        t.ok('proxy aws --format json: one object with the variables, removed ones null',
             penv.get('HTTPS_PROXY', '').startswith('http://127.0.0.1:') and 'AWS_SECRET_ACCESS_KEY' in penv
             and 'AWS_PROFILE' in penv and penv['AWS_PROFILE'] is None, px.text + px.stderr())
        t.ok('  it says on stderr where it listens and how to use it',
             'listening' in px.stderr() or '127.0.0.1:' in px.stderr(), px.stderr())
        child = user_env(home)
        child.pop('AWSGATE_AWS_CLI')
        for k, v in penv.items():
            if v is None:
                child.pop(k, None)
            else:
                child[k] = v
        p = subprocess.run(['/usr/bin/python3', '-c', BOTO, 'proxy key'], env=child, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        res = json.loads(p.stdout) if p.returncode == 0 and p.stdout.strip() else {}
        t.ok('boto3 with the exported variables: sts and s3 through the gate',
             res.get('arn', '').endswith('assumed-role/Dev/alice') and res.get('body') == 'from boto3',
             p.stdout.decode() + p.stderr.decode()[-600:])
        p = subprocess.run([AWSCLI, 'sts', 'get-caller-identity'], env=child, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        t.ok('/usr/bin/aws with the exported variables', p.returncode == 0 and b'assumed-role/Dev/alice' in p.stdout,
             p.stderr.decode()[-400:])
        # Another user of the machine, without the throw-away keys.
        n_fake, n_audit = len(records.read(fake.records)), len(ge.audit(g))
        other = dict(child, AWS_ACCESS_KEY_ID='AKIAOTHERLOCALUSER01',
                     AWS_SECRET_ACCESS_KEY='otherLocalUsersSecret/0000000000000000000')
        p = subprocess.run([AWSCLI, 'sts', 'get-caller-identity'], env=other, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        t.ok('someone without the keys (another local user): refused by the proxy, says why',
             p.returncode != 0 and b'awsgate' in p.stderr, p.stderr.decode()[-600:])
        t.eq('  nothing reached the gate or the fake AWS', (len(records.read(fake.records)), len(ge.audit(g))),
             (n_fake, n_audit))
        rc = px.stop()
        t.eq('SIGTERM: proxy aws stops with exit 0', rc, 0, px.stderr()[-400:])

        # A fixed port and the env format, evaluated by a POSIX shell.
        fixed = gf.free_port()
        px = Proxy(home, '-p', str(fixed), fmt='env')
        proxies.append(px)
        script = os.path.join(tmp, 'exports.sh')
        with open(script, 'w') as f:
            f.write(px.text)
        p = subprocess.run(['/bin/sh', '-c', '. "$1" && exec /usr/bin/aws sts get-caller-identity', 'sh', script],
                           env=user_env(home, AWS_PROFILE='leftover'), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        t.ok('proxy aws -p PORT --format env: the exports, evaluated by sh, work for /usr/bin/aws',
             'http://127.0.0.1:%d' % fixed in px.text and 'unset AWS_PROFILE' in px.text
             and p.returncode == 0 and b'assumed-role/Dev/alice' in p.stdout, px.text + p.stderr.decode()[-400:])
        busy = Proxy(home, '-p', str(fixed))
        proxies.append(busy)
        rc = busy.p.wait(10)
        t.ok('a second proxy on a port in use: exit 2 and says so', rc == 2 and str(fixed) in busy.stderr(),
             busy.stderr())
        t.eq('SIGINT: proxy aws stops with exit 0', px.stop(signal.SIGINT), 0, px.stderr()[-400:])

        secret = json.load(open(os.path.join(prof, 'profile.json')))['secret_access_key']
        logs = open(g.audit).read() + ''.join(x.stderr() for x in proxies)
        t.ok('no throw-away secret in the gate\'s audit log or the proxies\' stderr', secret not in logs)
        api = [e for e in ge.audit(g) if e.get('event') == 'api.request']
        t.ok('the gate audited the calls as alice with the Dev role',
             len(api) >= 8 and all(e.get('user') == 'alice' for e in api)
             and any(e.get('role_arn') == ge.DEV for e in api), str(api[-1:])[:400])
    except Exception:
        import traceback
        t.ok('the test ran to its end', False, traceback.format_exc()[-3000:])
    finally:
        for px in proxies:
            px.stop()
        if g is not None:
            g.cleanup()
        if fake is not None:
            fake.stop()
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    t.done()


if __name__ == '__main__':
    main()
