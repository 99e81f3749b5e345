# SPDX-License-Identifier: Apache-2.0
# lproxy_slowdns.py: `awsgate proxy aws` while the gate's name resolves slowly (an LD_PRELOAD getaddrinfo): tunnels keep working, the gated request waits and succeeds; a lookup over the connect timeout and a name that does not resolve, as the AWS CLI reports them.
#
# Oracles: curl (the tunnel through the proxy, its CONNECT status and the
# TLS server's answer), boto3 and /usr/bin/aws (the gated calls and the
# errors they print), the fake AWS behind awsgated. The shim
# (tests/integration/slowdns_shim.c) makes *.slow.test take
# AWSGATE_TEST_SLOW_DNS_MS and answer 127.0.0.1, and *.nxdomain.test fail.
import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fakeaws'))
import gate_fixture as gf  # noqa: E402
import gate_endpoints as ge  # noqa: E402

AWSGATE = os.environ.get('AWSGATE') or os.path.join(gf.BUILD, 'awsgate')
AWSGATECTL = os.environ.get('AWSGATECTL') or os.path.join(gf.BUILD, 'awsgatectl')
SHIM = os.path.join(gf.BUILD, 'tests', 'integration', 'slowdns_shim.so')
AWSCLI = '/usr/bin/aws'
CURL = '/usr/bin/curl'
SLOW_MS = 3000

BOTO = r'''
import json, sys
import boto3, botocore.config
cfg = botocore.config.Config(retries={'max_attempts': 1}, connect_timeout=30, read_timeout=30)
print(json.dumps({'arn': boto3.client('sts', config=cfg).get_caller_identity()['Arn']}))
'''


def user_env(home, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('AWS_') and k.lower() not in ('https_proxy', 'http_proxy', 'no_proxy', 'all_proxy')
           and k != 'LD_PRELOAD'}
    env.update(HOME=home)
    env.pop('AWSGATE_PROFILE', None)
    env.update(extra)
    return env


def awsgate(home, *args, **extra):
    p = subprocess.run([AWSGATE] + list(args), env=user_env(home, **extra), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    return p.returncode, p.stdout.decode(errors='replace'), p.stderr.decode(errors='replace')


class Proxy:
    """`awsgate proxy aws --format json` with the shim preloaded: its exports."""

    def __init__(self, home, **extra):
        self.err = tempfile.TemporaryFile()
        env = user_env(home, LD_PRELOAD=SHIM, **extra)
        self.p = subprocess.Popen([AWSGATE, 'proxy', 'aws', '--format', 'json'], env=env, stdout=subprocess.PIPE,
                                  stderr=self.err)
        self.text = ''
        self.vars = None
        end = time.monotonic() + 15
        fd = self.p.stdout.fileno()
        while time.monotonic() < end and self.vars is None:
            r, _, _ = select.select([fd], [], [], 0.5)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                self.text += chunk.decode()
                try:
                    self.vars = json.loads(self.text)
                except ValueError:
                    pass
            elif self.p.poll() is not None:
                break

    def child_env(self, home, **extra):
        env = user_env(home)
        for k, v in (self.vars or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        env.update(extra)
        return env

    def port(self):
        return int((self.vars or {}).get('HTTPS_PROXY', ':0').rsplit(':', 1)[1])

    def stderr(self):
        self.err.seek(0)
        return self.err.read().decode(errors='replace')

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return self.p.wait()


class TlsServer:
    """A non-AWS HTTPS server on loopback (the gate's server certificate,
    which names localhost): answers every request with a fixed body."""

    BODY = b'hello from the tunnelled server\n'

    def __init__(self, cert, key):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stopped:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            try:
                raw.settimeout(5)
                s = self.ctx.wrap_socket(raw, server_side=True)
                data = b''
                while b'\r\n\r\n' not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                s.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' % len(self.BODY)
                          + self.BODY)
                s.close()
            except (OSError, ssl.SSLError):
                raw.close()

    def stop(self):
        self.stopped = True
        self.sock.close()


def marks(path):
    """The shim's record: ['start gate.slow.test', 'end gate.slow.test', ...]."""
    try:
        with open(path) as f:
            return f.read().splitlines()
    except OSError:
        return []


def set_gate(prof, gate):
    path = os.path.join(prof, 'profile.json')
    with open(path) as f:
        p = json.load(f)
    p['gate'] = gate
    with open(path + '.new', 'w') as f:
        json.dump(p, f)
    os.chmod(path + '.new', os.stat(path).st_mode & 0o777)
    os.rename(path + '.new', path)


def main():
    gf.require_server()
    for what, path in (('awsgate', AWSGATE), ('the AWS CLI v2', AWSCLI), ('curl', CURL),
                       ('the slow-DNS shim', SHIM)):
        if not os.access(path, os.R_OK):
            gf.skip('%s is not there (%s)' % (what, path))
    t = gf.Checks('the local proxy while the gate\'s name resolves slowly')
    tmp = tempfile.mkdtemp(prefix='awsgate-slowdns-')
    home = os.path.join(tmp, 'alice')
    os.makedirs(home, mode=0o700)
    fake = g = srv = None
    proxies = []
    try:
        fake = ge.Fake(tmp)
        os.environ.update({'AWS_ACCESS_KEY_ID': ge.GATE_KEY, 'AWS_SECRET_ACCESS_KEY': ge.GATE_SECRET,
                           'AWS_EC2_METADATA_DISABLED': 'true', 'HOME': tmp})
        for k in ('AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_STS'):
            os.environ.pop(k, None)
        g = gf.Gate({'aws': {'region': 'us-east-1', 'ca_file': fake.ca,
                             'connect_to': [{'host': '*.amazonaws.com', 'address': '127.0.0.1:%d' % fake.https}]},
                     'timeouts': {'sts': '5s'}})
        # The gate's certificate also names gate.slow.test, the name the
        # profile will give it.
        server = os.path.join(g.pki.dir, 'server-slow')
        gf.ctl('certs', 'server', '--dir', g.pki.ca, '--dns', 'localhost', '--dns', 'gate.slow.test', '--ip',
               '127.0.0.1', '--ttl', '48h', '--out', server)
        g.conf['tls']['cert_file'] = server + '.crt'
        g.conf['tls']['key_file'] = server + '.key'
        g.write_conf()
        apps = json.loads(json.dumps(gf.APPS))
        for a in apps:
            if a['metadata']['name'] == 'dev':
                a['spec']['aws'] = {'external_id': 'ext-dev'}  # the fake's Dev role trusts the gate with it
        with open(os.path.join(g.res, 'apps.json'), 'w') as f:
            json.dump(apps, f)
        g.start()
        cert, key = g.pki.cert('alice')
        rc, _, err = awsgate(home, 'login', '--gate', '127.0.0.1:%d' % g.port, '--cert', cert, '--key', key,
                             '--ca', g.pki.cacert)
        t.eq('login', rc, 0, err)
        rc, _, err = awsgate(home, 'apps', 'login', 'dev', '--aws-role', 'Dev')
        t.eq('apps login dev --aws-role Dev', rc, 0, err)
        prof = os.path.join(home, '.awsgate', '127.0.0.1')
        set_gate(prof, 'gate.slow.test:%d' % g.port)
        srv = TlsServer(server + '.crt', server + '.key')

        # --- a slow lookup: the tunnel does not wait for it ------------------------------
        mark = os.path.join(tmp, 'lookups')
        px = Proxy(home, AWSGATE_TEST_SLOW_DNS_MS=str(SLOW_MS), AWSGATE_TEST_SLOW_DNS_MARK=mark)
        proxies.append(px)
        t.ok('proxy aws started with the slow-DNS shim', px.vars is not None, px.text + px.stderr())
        t0 = time.monotonic()
        boto = subprocess.Popen(['/usr/bin/python3', '-c', BOTO], env=px.child_env(home), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        end = time.monotonic() + 20
        while time.monotonic() < end and 'start gate.slow.test' not in marks(mark):
            time.sleep(0.02)
        started = 'start gate.slow.test' in marks(mark)
        t.ok('the gated request (boto3) started the lookup of gate.slow.test', started, px.stderr())
        c0 = time.monotonic()
        p = subprocess.run([CURL, '-sS', '--noproxy', '', '-x', 'http://127.0.0.1:%d' % px.port(), '--cacert',
                            g.pki.cacert, '-w', '\n%{http_connect}', '--max-time', '10',
                            'https://localhost:%d/' % srv.port], env=user_env(home), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        took = time.monotonic() - c0
        lookup_running = boto.poll() is None and 'end gate.slow.test' not in marks(mark)
        out = p.stdout.decode(errors='replace')
        t.ok('a CONNECT tunnel (curl) to a local HTTPS server completes meanwhile: 200, the server\'s body',
             p.returncode == 0 and out == TlsServer.BODY.decode() + '\n200', '%r %s' % (out, p.stderr.decode()))
        t.ok('  in well under the lookup\'s %d ms (< 1 s): %.0f ms' % (SLOW_MS, took * 1000), took < 1.0,
             '%.3f s' % took)
        t.ok('  while the gate\'s lookup was still under way', lookup_running, str(marks(mark)))
        try:
            bout, berr = boto.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            boto.kill()
            bout, berr = boto.communicate()
        waited = time.monotonic() - t0
        res = json.loads(bout) if boto.returncode == 0 and bout.strip() else {}
        t.ok('then the gated request succeeds: boto3 sts get-caller-identity as alice with the Dev role',
             res.get('arn', '').endswith('assumed-role/Dev/alice'), bout.decode() + berr.decode()[-800:])
        t.ok('  after the slow lookup (>= %d ms): %.0f ms' % (SLOW_MS - 200, waited * 1000),
             waited >= (SLOW_MS - 200) / 1000.0, '%.3f' % waited)
        # A second call within the resolver cache's 30 s: no new lookup.
        c0 = time.monotonic()
        p = subprocess.run([AWSCLI, 'sts', 'get-caller-identity'], env=px.child_env(home, AWS_MAX_ATTEMPTS='1'),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        t.ok('/usr/bin/aws through the same proxy: the same identity', p.returncode == 0
             and b'assumed-role/Dev/alice' in p.stdout, p.stderr.decode()[-600:])
        t.eq('  one lookup of the gate\'s name in all', marks(mark).count('start gate.slow.test'), 1)
        t.eq('proxy aws stops on SIGTERM with exit 0', px.stop(), 0, px.stderr()[-600:])

        # --- a lookup longer than the connect timeout ------------------------------------
        rc, out, err = awsgate(home, 'proxy', 'aws', AWSGATE_GATE_CONNECT_TIMEOUT='soon')
        t.ok('AWSGATE_GATE_CONNECT_TIMEOUT=soon: exit 2, says what is wrong',
             rc == 2 and 'AWSGATE_GATE_CONNECT_TIMEOUT' in err and 'soon' in err, '%d %s' % (rc, err))
        rc, out, err = awsgate(home, 'proxy', 'aws', AWSGATE_GATE_CONNECT_TIMEOUT='301s')
        t.ok('AWSGATE_GATE_CONNECT_TIMEOUT=301s (over 300 s): exit 2', rc == 2 and '301s' in err, '%d %s' % (rc, err))
        # The message proves the timer fired during the lookup; the shim's
        # record, that the CLI had its answer before the lookup ended.
        mark2 = os.path.join(tmp, 'lookups2')
        px = Proxy(home, AWSGATE_TEST_SLOW_DNS_MS='6000', AWSGATE_GATE_CONNECT_TIMEOUT='1s',
                   AWSGATE_TEST_SLOW_DNS_MARK=mark2)
        proxies.append(px)
        p = subprocess.run([AWSCLI, 'sts', 'get-caller-identity'], env=px.child_env(home, AWS_MAX_ATTEMPTS='1'),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        seen = marks(mark2)
        err = p.stderr.decode(errors='replace')
        t.ok('a lookup over the connect timeout (1 s against 6 s): the AWS CLI fails with a message that names '
             'gate.slow.test and says the lookup timed out',
             p.returncode != 0 and 'gate.slow.test' in err and 'lookup timed out' in err, '%d %s' % (p.returncode, err))
        t.ok('  before the 6 s lookup ended', seen == ['start gate.slow.test'], str(seen))
        t.ok('  the proxy said it on stderr too', 'lookup timed out' in px.stderr(), px.stderr())
        px.stop()

        # --- a name that does not resolve ------------------------------------------------
        set_gate(prof, 'gate.nxdomain.test:%d' % g.port)
        px = Proxy(home)
        proxies.append(px)
        p = subprocess.run([AWSCLI, 'sts', 'get-caller-identity'], env=px.child_env(home, AWS_MAX_ATTEMPTS='1'),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        err = p.stderr.decode(errors='replace')
        t.ok('a gate name that does not resolve: the AWS CLI fails with "the gate\'s name gate.nxdomain.test: '
             'Name or service not known" (dns)',
             p.returncode != 0 and "the gate's name gate.nxdomain.test: Name or service not known" in err
             and 'dns' in err, '%d %s' % (p.returncode, err))
        t.eq('proxy aws stops on SIGTERM with exit 0', px.stop(), 0, px.stderr()[-600:])
    except Exception:
        import traceback
        t.ok('the test ran to its end', False, traceback.format_exc()[-3000:])
    finally:
        for px in proxies:
            px.stop()
        if srv is not None:
            srv.stop()
        if g is not None:
            g.cleanup()
        if fake is not None:
            fake.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    t.done()


if __name__ == '__main__':
    main()
