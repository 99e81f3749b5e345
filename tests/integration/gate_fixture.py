# SPDX-License-Identifier: Apache-2.0
# gate_fixture.py: a CA, certificates, resources and a daemon file on free loopback ports, awsgated started and stopped, and raw TLS/HTTP clients for the server-*.test scripts.
#
# The clients here are Python's ssl module (for byte-exact HTTP/1.1), python3-h2
# and hand-built HTTP/2 frames: independent of awsgated's code. Certificates
# come from awsgatectl (the CA the gate trusts) and from the openssl command
# line (an expired one, and another CA), never from the server under test.
import json
import os
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

SKIP = 77
BUILD = os.environ.get('abs_top_builddir') or os.getcwd()
CTL = os.environ.get('AWSGATECTL') or os.path.join(BUILD, 'awsgatectl')
AWSGATED = os.environ.get('AWSGATED') or os.path.join(BUILD, 'awsgated')
OPENSSL = shutil.which('openssl')
CURL = shutil.which('curl')

ACCT_DEV = '123456789012'
ACCT_PROD = '210987654321'
ACCT_STAGING = '333333333333'


def arn(acct, name):
    return 'arn:aws:iam::%s:role/%s' % (acct, name)


# Roles: dev sees apps labelled env dev or staging, ops sees every app.
ROLES = [
    {'kind': 'role', 'version': 'v7', 'metadata': {'name': 'dev'},
     'spec': {'allow': {'app_labels': {'env': ['dev', 'staging']},
                        'aws_role_arns': [arn(ACCT_DEV, 'Dev'), arn(ACCT_STAGING, 'StagingDev'),
                                          arn(ACCT_DEV, 'ci-*')]}}},
    {'kind': 'role', 'version': 'v7', 'metadata': {'name': 'ops'},
     'spec': {'allow': {'app_labels': {'*': '*'},
                        'aws_role_arns': [arn(ACCT_DEV, 'Ops'), arn(ACCT_PROD, 'Ops'),
                                          arn(ACCT_STAGING, 'Ops'), arn(ACCT_PROD, 'Admin')]},
              'deny': {'aws_role_arns': [arn(ACCT_PROD, 'Admin')]}}},
]
APPS = [
    {'kind': 'app', 'version': 'v3',
     'metadata': {'name': 'staging', 'labels': {'env': 'staging', 'aws_account_id': ACCT_STAGING}},
     'spec': {'uri': 'https://console.aws.amazon.com/', 'public_addr': 'staging.gate.example.com'}},
    {'kind': 'app', 'version': 'v3',
     'metadata': {'name': 'dev', 'labels': {'env': 'dev', 'aws_account_id': ACCT_DEV}},
     'spec': {'uri': 'https://console.aws.amazon.com/', 'public_addr': 'dev.gate.example.com'}},
    {'kind': 'app', 'version': 'v3',
     'metadata': {'name': 'prod', 'labels': {'env': 'prod', 'aws_account_id': ACCT_PROD}},
     'spec': {'uri': 'https://console.aws.amazon.com/', 'public_addr': 'prod.gate.example.com'}},
]

# Users, their roles (the identity extension) and what /awsgate/v1/apps must
# list for them: {app: [role ARNs]}, apps sorted by name.
USERS = {
    'alice': ['dev'],
    'bob': ['ops'],
    'carol': [],
    'dave': ['dev'],
    'erin': ['ops'],
    'frank': ['dev'],
}
EXPECTED_APPS = {
    'alice': {'dev': [arn(ACCT_DEV, 'Dev')], 'staging': [arn(ACCT_STAGING, 'StagingDev')]},
    'bob': {'dev': [arn(ACCT_DEV, 'Ops')], 'prod': [arn(ACCT_PROD, 'Ops')],
            'staging': [arn(ACCT_STAGING, 'Ops')]},
    'carol': {},
}


# ---------------------------------------------------------------- checks

class Checks:
    """Counts checks, prints "ok NAME" or "FAIL NAME: why", exits 0 or 1."""

    def __init__(self, title):
        self.title = title
        self.n = 0
        self.failed = 0
        print('== %s' % title, flush=True)

    def ok(self, name, cond, detail=''):
        self.n += 1
        if cond:
            print('ok %s' % name, flush=True)
        else:
            self.failed += 1
            print('FAIL %s%s' % (name, (': ' + detail) if detail else ''), flush=True)
        return bool(cond)

    def ok_memory(self, name, cond, detail=''):
        """A bound on RSS: meaningless under AddressSanitizer, whose quarantine
        keeps freed memory resident (CI's sanitizer stage sets
        AWSGATE_SANITIZER); the gcc stage checks it."""
        if os.environ.get('AWSGATE_SANITIZER'):
            self.n += 1
            print('ok %s # not measured under %s' % (name, os.environ['AWSGATE_SANITIZER']), flush=True)
            return True
        return self.ok(name, cond, detail)

    def eq(self, name, got, want, extra=''):
        return self.ok(name, got == want, 'got %r, want %r%s' % (got, want, (' ' + extra) if extra else ''))

    def done(self):
        print('%s: %d checks, %d failed' % (self.title, self.n, self.failed), flush=True)
        sys.exit(0 if self.failed == 0 else 1)


def skip(reason):
    print('SKIP: %s' % reason, flush=True)
    sys.exit(SKIP)


def require_server():
    """Exits 77 with the reason when awsgated (or a tool) is missing."""
    if not os.access(AWSGATED, os.X_OK):
        skip('%s is not built (make awsgated; or set AWSGATED)' % AWSGATED)
    if not os.access(CTL, os.X_OK):
        skip('%s is not built' % CTL)
    if not OPENSSL:
        skip('no openssl command (apt-get install openssl)')
    if not CURL or not shutil.which('nghttp'):
        skip('curl or nghttp missing (apt-get install curl nghttp2-client)')
    try:
        import h2  # noqa: F401
        import hpack  # noqa: F401
    except ImportError:
        skip('%s has no h2 module (apt-get install python3-h2)' % sys.executable)


# ---------------------------------------------------------------- processes

def run(argv, check=True, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
    if check and p.returncode != 0:
        raise RuntimeError('%s: exit %d: %s' % (' '.join(argv), p.returncode,
                                                 p.stdout.decode(errors='replace')))
    return p


def ctl(*args, check=True):
    return run([CTL] + list(args), check=check)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    return len(os.listdir('/proc/%d/fd' % pid))


# ---------------------------------------------------------------- PKI

def openssl_expired_cert(ca_dir, out, cn):
    """A client certificate of the gate's CA that expired yesterday, made by openssl ca."""
    work = out + '.openssl'
    os.makedirs(work, exist_ok=True)
    open(os.path.join(work, 'index.txt'), 'w').close()
    with open(os.path.join(work, 'serial'), 'w') as f:
        f.write('1000\n')
    conf = os.path.join(work, 'ca.cnf')
    with open(conf, 'w') as f:
        f.write('[ca]\ndefault_ca = gate\n[gate]\ndir = %s\ndatabase = $dir/index.txt\n'
                'serial = $dir/serial\nnew_certs_dir = $dir\ndefault_md = sha256\n'
                'policy = anything\nunique_subject = no\ncopy_extensions = none\n'
                'x509_extensions = client\n'
                '[anything]\ncommonName = supplied\n'
                '[client]\nbasicConstraints = critical,CA:FALSE\n'
                'keyUsage = critical,digitalSignature\nextendedKeyUsage = clientAuth\n' % work)
    run([OPENSSL, 'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
         '-keyout', out + '.key', '-subj', '/CN=' + cn, '-out', work + '/req.csr'])
    now = time.time()
    fmt = '%Y%m%d%H%M%SZ'
    start = time.strftime(fmt, time.gmtime(now - 3 * 86400))
    end = time.strftime(fmt, time.gmtime(now - 86400))
    run([OPENSSL, 'ca', '-batch', '-config', conf, '-cert', ca_dir + '/ca.crt', '-keyfile',
         ca_dir + '/ca.key', '-in', work + '/req.csr', '-out', out + '.crt', '-notext',
         '-startdate', start, '-enddate', end])


def openssl_other_ca(d, cn):
    """A CA of its own with the gate CA's name, and a client certificate for cn."""
    run([OPENSSL, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
         '-keyout', d + '/evil-ca.key', '-out', d + '/evil-ca.crt', '-subj', '/CN=awsgate CA',
         '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE',
         '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
    run([OPENSSL, 'req', '-new', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
         '-nodes', '-keyout', d + '/' + cn + '.key', '-out', d + '/' + cn + '.crt', '-subj',
         '/CN=' + cn, '-days', '1', '-CA', d + '/evil-ca.crt', '-CAkey', d + '/evil-ca.key',
         '-addext', 'extendedKeyUsage=clientAuth'])


class Pki:
    """The gate's CA (awsgatectl), its server certificate, users, an expired,
    a revoked and a foreign certificate, and the CRL."""

    def __init__(self, d):
        self.dir = d
        os.makedirs(d, mode=0o700, exist_ok=True)
        self.ca = os.path.join(d, 'ca')
        ctl('ca', 'init', '--dir', self.ca)
        self.cacert = self.ca + '/ca.crt'
        self.server = os.path.join(d, 'server')
        ctl('certs', 'server', '--dir', self.ca, '--dns', 'localhost', '--ip', '127.0.0.1',
            '--ttl', '48h', '--out', self.server)
        for user, roles in USERS.items():
            args = ['certs', 'user', '--dir', self.ca, '--user', user, '--ttl', '8h',
                    '--out', os.path.join(d, user)]
            if roles:
                args += ['--roles', ','.join(roles)]
            ctl(*args)
        # erin is revoked; the CRL lists her.
        ctl('certs', 'revoke', '--dir', self.ca, '--cert', os.path.join(d, 'erin.crt'))
        self.crl = os.path.join(d, 'crl.pem')
        ctl('ca', 'crl', '--dir', self.ca, '--out', self.crl)
        # A certificate of the right CA that expired yesterday (openssl ca).
        openssl_expired_cert(self.ca, os.path.join(d, 'expired'), 'gina')
        # A CA of its own called "awsgate CA" and a certificate for mallory.
        openssl_other_ca(d, 'mallory')
        # Another awsgatectl CA: same tool, different key.
        ctl('ca', 'init', '--dir', os.path.join(d, 'other'))
        ctl('certs', 'user', '--dir', os.path.join(d, 'other'), '--user', 'alice', '--roles', 'ops',
            '--ttl', '8h', '--out', os.path.join(d, 'forged-alice'))

    def cert(self, name):
        """(cert, key) paths of a user: alice ... frank, expired, mallory, forged-alice."""
        return (os.path.join(self.dir, name + '.crt'), os.path.join(self.dir, name + '.key'))


# ---------------------------------------------------------------- the gate

def deep_merge(a, b):
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(a.get(k), dict):
            deep_merge(a[k], v)
        else:
            a[k] = v
    return a


class Gate:
    """One awsgated on free loopback ports, with its own files in a temporary directory."""

    def __init__(self, overrides=None, workers=2):
        self.tmp = tempfile.mkdtemp(prefix='awsgate-srv-')
        self.proc = None
        try:
            self.pki = Pki(os.path.join(self.tmp, 'pki'))
        except Exception:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        self.res = os.path.join(self.tmp, 'res')
        os.makedirs(self.res)
        with open(os.path.join(self.res, 'roles.json'), 'w') as f:
            json.dump(ROLES, f, indent=1)
        with open(os.path.join(self.res, 'apps.json'), 'w') as f:
            json.dump(APPS, f, indent=1)
        self.data = os.path.join(self.tmp, 'data')
        os.makedirs(self.data, mode=0o700)
        self.port = free_port()
        self.mport = free_port()
        self.audit = os.path.join(self.tmp, 'audit.log')
        self.errlog = os.path.join(self.tmp, 'error.log')
        self.conf = {
            'listen': ['127.0.0.1:%d' % self.port],
            'workers': workers,
            'tls': {'cert_file': self.pki.server + '.crt', 'key_file': self.pki.server + '.key',
                    'identity_ca_file': self.pki.cacert, 'crl_file': self.pki.crl},
            'resources_dir': self.res,
            'data_dir': self.data,
            'audit': {'file': self.audit},
            'log': {'file': self.errlog, 'level': 'debug'},
            'metrics': {'listen': '127.0.0.1:%d' % self.mport},
            'limits': {'max_header_bytes': '8KiB', 'max_headers': 50, 'max_request_line': 4096,
                       'h2_max_concurrent_streams': 10, 'h2_max_header_list_size': '8KiB'},
            'timeouts': {'header_read': '3s', 'idle': '60s', 'shutdown_grace': '5s'},
        }
        if overrides:
            deep_merge(self.conf, overrides)
        self.conffile = os.path.join(self.tmp, 'awsgated.json')
        self.write_conf()
        self.proc = None
        self.stdout = None

    def write_conf(self, text=None):
        tmp = self.conffile + '.new'
        with open(tmp, 'w') as f:
            f.write(text if text is not None else json.dumps(self.conf, indent=1))
        os.rename(tmp, self.conffile)

    def start(self, deadline=15.0):
        self.stdout = open(os.path.join(self.tmp, 'stdout.log'), 'ab')
        self.proc = subprocess.Popen([AWSGATED, '--config', self.conffile], stdout=self.stdout,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        end = time.monotonic() + deadline
        last = None
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError('awsgated exited with %d before it was ready:\n%s'
                                   % (self.proc.returncode, self.logs()))
            try:
                st, _, body = self.get('/healthz', timeout=2)
                if st == 200:
                    return self
                last = 'status %d' % st
            except (OSError, ValueError) as e:
                last = repr(e)
            time.sleep(0.1)
        raise RuntimeError('awsgated not ready within %.0fs (last: %s):\n%s' % (deadline, last, self.logs()))

    def logs(self):
        out = []
        for name in ('stdout.log', 'error.log'):
            p = os.path.join(self.tmp, name)
            if os.path.exists(p):
                with open(p, 'rb') as f:
                    data = f.read()[-4000:]
                out.append('--- %s (tail)\n%s' % (name, data.decode(errors='replace')))
        return '\n'.join(out)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10):
        """SIGTERM and wait; returns the exit status (None if it had to be killed)."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = None
        self.proc = None
        return rc

    def cleanup(self):
        try:
            self.stop(timeout=5)
        finally:
            if os.environ.get('AWSGATE_KEEP_TMP'):
                print('kept %s' % self.tmp)
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)

    # --- clients

    def context(self, cert=None, alpn=('http/1.1',), verify=True):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if verify:
            ctx.load_verify_locations(self.pki.cacert)
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if cert:
            c, k = self.pki.cert(cert) if isinstance(cert, str) else cert
            ctx.load_cert_chain(c, k)
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        return ctx

    def connect(self, cert=None, alpn=('http/1.1',), timeout=5.0, ctx=None):
        raw = socket.create_connection(('127.0.0.1', self.port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            s = (ctx or self.context(cert, alpn)).wrap_socket(raw, server_hostname='localhost')
        except Exception:
            raw.close()
            raise
        return s

    def get(self, path, cert=None, timeout=5.0, headers=()):
        s = self.connect(cert, timeout=timeout)
        try:
            req = 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n' % path
            for k, v in headers:
                req += '%s: %s\r\n' % (k, v)
            s.sendall((req + '\r\n').encode())
            data, _ = read_until_close(s, timeout)
        finally:
            s.close()
        resp = parse_h1(data)
        if not resp:
            raise ValueError('no HTTP response to GET %s: %r' % (path, data[:200]))
        return resp[0]

    def metrics(self):
        s = socket.create_connection(('127.0.0.1', self.mport), timeout=5)
        try:
            path = self.conf.get('metrics', {}).get('path', '/metrics')
            s.sendall(('GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' % path).encode())
            data, _ = read_until_close(s, 5)
        finally:
            s.close()
        r = parse_h1(data)
        if not r or r[0][0] != 200:
            raise ValueError('metrics: no 200 response: %r' % data[:300])
        return parse_metrics(r[0][2].decode())

    def curl(self, path, cert=None, http='--http1.1', extra=()):
        """curl's view: (exit status, status, headers dict lower-case, body bytes)."""
        argv = [CURL, '-sS', http, '--max-time', '10', '--cacert', self.pki.cacert,
                '-D', '-', '-o', '-', '--resolve', 'localhost:%d:127.0.0.1' % self.port]
        if cert:
            c, k = self.pki.cert(cert)
            argv += ['--cert', c, '--key', k]
        argv += list(extra) + ['https://localhost:%d%s' % (self.port, path)]
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = p.stdout
        if p.returncode != 0:
            return p.returncode, None, {}, p.stderr
        head, _, body = out.partition(b'\r\n\r\n')
        lines = head.decode(errors='replace').split('\r\n')
        status = int(lines[0].split()[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(':')
            hdrs[k.strip().lower()] = v.strip()
        return 0, status, hdrs, body


def parse_metrics(text):
    """Prometheus text -> {'name{labels}': value} and {'name': sum over labels}."""
    series, sums = {}, {}
    for line in text.splitlines():
        if not line or line.startswith('#'):
            continue
        key, _, val = line.rpartition(' ')
        try:
            v = float(val)
        except ValueError:
            continue
        series[key] = v
        name = key.split('{', 1)[0]
        sums[name] = sums.get(name, 0.0) + v
    return series, sums


# ---------------------------------------------------------------- raw HTTP/1.1

def read_until_close(s, timeout):
    """Reads until the peer closes or timeout passes: (data, closed)."""
    data = b''
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return data, False
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return data, False
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            return data, True
        if not chunk:
            return data, True
        data += chunk


def parse_h1(data):
    """Every complete HTTP/1.1 response in data: [(status, {name: [values]}, body)]."""
    out = []
    while data:
        head, sep, rest = data.partition(b'\r\n\r\n')
        if not sep:
            break
        lines = head.split(b'\r\n')
        parts = lines[0].split(b' ', 2)
        if len(parts) < 2 or not parts[0].startswith(b'HTTP/1.'):
            break
        status = int(parts[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(b':')
            hdrs.setdefault(k.strip().lower().decode(), []).append(v.strip().decode(errors='replace'))
        body = b''
        if 'content-length' in hdrs:
            n = int(hdrs['content-length'][0])
            body, rest = rest[:n], rest[n:]
        elif 'chunked' in ','.join(hdrs.get('transfer-encoding', [])):
            while True:
                line, _, rest = rest.partition(b'\r\n')
                size = int(line.split(b';')[0], 16)
                body += rest[:size]
                rest = rest[size + 2:]
                if size == 0:
                    rest = rest.partition(b'\r\n')[2] if rest.startswith(b'\r\n') else rest
                    break
        elif 100 <= status < 200 or status in (204, 304):
            pass
        else:
            body, rest = rest, b''
        out.append((status, hdrs, body))
        data = rest
    return out


def hdr(h, name):
    v = h.get(name.lower())
    return v[0] if v else None


def send_reading(s, payload, timeout):
    """Sends payload in 16 KiB pieces, reading whatever comes back in between,
    so that a response sent before the gate stops reading is not lost to the
    reset that a write to a closed connection brings: (data read, closed)."""
    data = b''
    off = 0
    end = time.monotonic() + timeout
    while off < len(payload):
        left = end - time.monotonic()
        if left <= 0:
            return data, False
        r, w, _ = select.select([s], [s], [], min(left, 0.5))
        if r or s.pending():
            s.settimeout(0.5)
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ssl.SSLWantReadError):
                chunk = None
            except (ssl.SSLError, ConnectionResetError, BrokenPipeError, OSError):
                return data, True
            if chunk == b'':
                return data, True
            if chunk:
                data += chunk
        if w:
            s.settimeout(0.5)
            try:
                off += s.send(payload[off:off + 16384])
            except (socket.timeout, ssl.SSLWantWriteError):
                pass
            except (ssl.SSLError, ConnectionResetError, BrokenPipeError, OSError):
                more, _ = read_until_close(s, 0.5)
                return data + more, True
    return data, False


def raw_exchange(gate, payload, cert=None, timeout=4.0, pieces=None, pause=0.0):
    """Sends payload (or the list pieces, pause seconds apart) on a new TLS
    connection and reads until close or timeout: (responses, closed, raw)."""
    s = gate.connect(cert, timeout=timeout)
    data = b''
    try:
        closed = False
        for p in (pieces if pieces is not None else [payload]):
            got, closed = send_reading(s, p, timeout)
            data += got
            if closed:
                break
            if pause:
                time.sleep(pause)
        if not closed:
            more, closed = read_until_close(s, timeout)
            data += more
    finally:
        s.close()
    return parse_h1(data), closed, data


# ---------------------------------------------------------------- raw HTTP/2

H2_PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIO = 0x1, 0x1, 0x4, 0x8, 0x20
ERR_NAMES = {0: 'NO_ERROR', 1: 'PROTOCOL_ERROR', 2: 'INTERNAL_ERROR', 3: 'FLOW_CONTROL_ERROR',
             4: 'SETTINGS_TIMEOUT', 5: 'STREAM_CLOSED', 6: 'FRAME_SIZE_ERROR', 7: 'REFUSED_STREAM',
             8: 'CANCEL', 9: 'COMPRESSION_ERROR', 10: 'CONNECT_ERROR', 11: 'ENHANCE_YOUR_CALM',
             12: 'INADEQUATE_SECURITY', 13: 'HTTP_1_1_REQUIRED'}


def frame(ftype, flags, stream, payload=b''):
    return struct.pack('>I', len(payload))[1:] + bytes([ftype, flags]) + struct.pack('>I', stream) + payload


def settings_frame(pairs=(), ack=False):
    return frame(SETTINGS, ACK if ack else 0, 0, b''.join(struct.pack('>HI', k, v) for k, v in pairs))


def hpack_literal(name, value):
    """A header as 'literal without indexing, new name' (RFC 7541 6.2.2), no Huffman."""
    def s(b):
        n = len(b)
        if n < 127:
            return bytes([n]) + b
        out = bytearray([127])
        n -= 127
        while n >= 128:
            out.append((n & 127) | 128)
            n >>= 7
        out.append(n)
        return bytes(out) + b
    return b'\x00' + s(name) + s(value)


def request_block(path='/healthz', method='GET', extra=()):
    hb = b''
    for k, v in [(b':method', method.encode()), (b':scheme', b'https'), (b':authority', b'localhost'),
                 (b':path', path.encode())] + list(extra):
        hb += hpack_literal(k, v)
    return hb


class H2Raw:
    """A TLS connection with ALPN h2 speaking hand-built frames."""

    def __init__(self, gate, cert=None, timeout=5.0, settings=()):
        self.sock = gate.connect(cert, alpn=('h2',), timeout=timeout)
        if self.sock.selected_alpn_protocol() != 'h2':
            raise RuntimeError('ALPN h2 not selected (got %r)' % self.sock.selected_alpn_protocol())
        self.buf = b''
        self.eof = False
        self.send_failed = False
        self.seen = []
        import hpack
        self.decoder = hpack.Decoder()
        self.decoder.max_allowed_table_size = 65536
        self.responses = {}
        self.sock.sendall(H2_PREFACE + settings_frame(settings))

    def _decode(self, f):
        # The server's header blocks, decoded once each and in order (HPACK
        # state): responses[stream] = {name: value}.
        t, flags, sid, p = f
        if t != HEADERS:
            return
        if flags & PADDED:
            p = p[1:len(p) - p[0]] if p else p
        if flags & PRIO:
            p = p[5:]
        try:
            self.responses[sid] = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
                                   for k, v in self.decoder.decode(p, raw=True)}
        except Exception as e:  # a block we cannot decode is recorded as such
            self.responses[sid] = {'error': repr(e)}

    def status(self, sid):
        """The :status the server sent on stream sid, as an int, or None."""
        v = self.responses.get(sid, {}).get(':status')
        return int(v) if v else None

    @property
    def closed(self):
        return self.eof or self.send_failed

    @closed.setter
    def closed(self, v):
        self.send_failed = v

    def send(self, data):
        """Sends; returns False when the peer has closed or reset."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout, OSError):
            self.send_failed = True
            return False

    def read_frames(self, timeout=2.0, until=None):
        """Frames received until the peer closes, timeout, or until(frame) is
        true: [(type, flags, stream, payload)]. Every frame is also kept in
        self.seen. After a failed send, what the peer sent before it closed is
        still read."""
        frames = []
        end = time.monotonic() + timeout
        while True:
            while len(self.buf) >= 9:
                n = struct.unpack('>I', b'\0' + self.buf[:3])[0]
                if len(self.buf) < 9 + n:
                    break
                f = (self.buf[3], self.buf[4], struct.unpack('>I', self.buf[5:9])[0] & 0x7fffffff,
                     self.buf[9:9 + n])
                self.buf = self.buf[9 + n:]
                self._decode(f)
                frames.append(f)
                self.seen.append(f)
                if until and until(f):
                    return frames
            if self.eof:
                return frames
            left = end - time.monotonic()
            if not self.sock.pending():
                r, _, _ = select.select([self.sock], [], [], max(left, 0))
                if not r:
                    if left <= 0:
                        return frames
                    continue
            try:
                self.sock.settimeout(max(left, 0.05))
                chunk = self.sock.recv(65536)
            except (ssl.SSLWantReadError, socket.timeout):
                if left <= 0:
                    return frames
                continue
            except (ssl.SSLError, ConnectionResetError, OSError):
                self.eof = True
                continue
            if not chunk:
                self.eof = True
                continue
            self.buf += chunk

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def goaway_of(frames):
    """(last_stream_id, error name) of the first GOAWAY in frames, or None."""
    for t, _, _, p in frames:
        if t == GOAWAY and len(p) >= 8:
            last, code = struct.unpack('>II', p[:8])
            return last & 0x7fffffff, ERR_NAMES.get(code, str(code))
    return None


def rsts_of(frames):
    """{stream: error name} of RST_STREAM frames."""
    out = {}
    for t, _, sid, p in frames:
        if t == RST_STREAM and len(p) == 4:
            out[sid] = ERR_NAMES.get(struct.unpack('>I', p)[0], '?')
    return out


def h2_get(gate, path, cert=None, timeout=5.0):
    """One request with python3-h2: (status, headers dict, body)."""
    import h2.config
    import h2.connection
    import h2.events
    s = gate.connect(cert, alpn=('h2',), timeout=timeout)
    try:
        if s.selected_alpn_protocol() != 'h2':
            raise RuntimeError('ALPN h2 not selected')
        c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding='utf-8'))
        c.initiate_connection()
        sid = c.get_next_available_stream_id()
        c.send_headers(sid, [(':method', 'GET'), (':scheme', 'https'), (':authority', 'localhost'),
                             (':path', path)], end_stream=True)
        s.sendall(c.data_to_send())
        status, hdrs, body = None, {}, b''
        end = time.monotonic() + timeout
        done = False
        while not done and time.monotonic() < end:
            data = s.recv(65536)
            if not data:
                break
            for ev in c.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                    for k, v in ev.headers:
                        if k == ':status':
                            status = int(v)
                        else:
                            hdrs[k] = v
                elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == sid:
                    body += ev.data
                    c.acknowledge_received_data(ev.flow_controlled_length, sid)
                elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)) and ev.stream_id == sid:
                    done = True
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    done = True
            out = c.data_to_send()
            if out:
                s.sendall(out)
        return status, hdrs, body
    finally:
        s.close()
