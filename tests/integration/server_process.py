# SPDX-License-Identifier: Apache-2.0
# server_process.py: awsgated as a process: reload under load with no failed request, broken reloads keep the old generation, SIGTERM drains, the audit log, secrets never logged, metrics move.
import glob
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gate_fixture as gf  # noqa: E402
from gate_fixture import END_HEADERS, END_STREAM, GOAWAY, HEADERS, frame, request_block  # noqa: E402

APPS = '/awsgate/v1/apps'


class Load:
    """Client loops against the gate until stopped: h1 one connection per
    request, h1 keep-alive, h2 one connection per request. Counts successes
    and failures (with the first reasons)."""

    def __init__(self, gate):
        self.gate = gate
        self.stop = threading.Event()
        self.ok = 0
        self.failed = []
        self.reconnects = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=f) for f in (self.h1_close, self.h1_keepalive, self.h2)]

    def record(self, good, why=''):
        with self.lock:
            if good:
                self.ok += 1
            else:
                self.failed.append(why)

    def start(self):
        for th in self.threads:
            th.start()
        return self

    def finish(self):
        self.stop.set()
        for th in self.threads:
            th.join()

    def h1_close(self):
        while not self.stop.is_set():
            try:
                st, h, body = self.gate.get(APPS, cert='alice', timeout=5)
                self.record(st == 200 and b'"alice"' in body, 'h1: status %d %r' % (st, body[:100]))
            except Exception as e:
                self.record(False, 'h1: %r' % e)

    def h1_keepalive(self):
        s = None
        req = b'GET ' + APPS.encode() + b' HTTP/1.1\r\nHost: localhost\r\n\r\n'
        while not self.stop.is_set():
            try:
                fresh = s is None
                if s is None:
                    s = self.gate.connect('bob', timeout=5)
                s.sendall(req)
                data = b''
                while not gf.parse_h1(data):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                r = gf.parse_h1(data)
                if not r and not data and not fresh:
                    # An idle keep-alive connection the gate closed: a client
                    # retries on a new one (RFC 9112 9.3.1), not a failure.
                    self.reconnects += 1
                    s.close()
                    s = None
                    continue
                self.record(bool(r) and r[0][0] == 200, 'h1 keep-alive: %r' % data[:100])
                if r and 'close' in (gf.hdr(r[0][1], 'Connection') or '').lower():
                    s.close()
                    s = None
            except Exception as e:
                self.record(False, 'h1 keep-alive: %r' % e)
                if s:
                    s.close()
                s = None
        if s:
            s.close()

    def h2(self):
        while not self.stop.is_set():
            try:
                st, h, body = gf.h2_get(self.gate, APPS, cert='carol', timeout=5)
                self.record(st == 200, 'h2: status %r' % st)
            except Exception as e:
                self.record(False, 'h2: %r' % e)


def status_with_headers(gate, n):
    hs = [('X-H%d' % i, 'v') for i in range(n)]
    return gate.get('/healthz', headers=hs)[0]


def key_material(paths):
    """Lines of base64 from PEM private keys: none may ever appear in a log."""
    out = set()
    for p in paths:
        with open(p) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith('-----') and len(line) >= 16:
                    out.add(line)
    return out


def main():
    gf.require_server()
    t = gf.Checks('server-process: reload, drain, audit, secrets, metrics')
    gate = gf.Gate()
    try:
        gate.start()
        run(t, gate)
    except Exception as e:
        import traceback
        t.ok('fixture', False, '%s\n%s\n%s' % (e, traceback.format_exc(), gate.logs()))
    finally:
        gate.cleanup()
    t.done()


def run(t, gate):
    pid = gate.proc.pid

    print('-- metrics: counters move', flush=True)
    before_all, before = gate.metrics()
    names = sorted(before)
    print('   metric names: %s' % ', '.join(names))

    def find(*words):
        return [n for n in names if all(w in n for w in words)]
    conns = find('connection')
    streams = find('stream')
    reqs = [n for n in find('request') if 'byte' not in n and 'duration' not in n and 'second' not in n]
    byts = find('bytes')
    hs = [n for n in names if 'handshake' in n and ('fail' in n or 'error' in n)]
    t.ok('metrics name connections, streams, requests, bytes, handshake failures',
         conns and streams and reqs and byts and hs, 'connections %r streams %r requests %r bytes %r handshake %r'
         % (conns, streams, reqs, byts, hs))
    gate.get('/healthz')
    gate.get(APPS)
    gate.get('/nope', cert='alice')
    gf.h2_get(gate, '/healthz')
    for who in ('mallory', 'expired', 'erin'):
        try:
            s = gate.connect(who)
            s.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
            s.recv(100)
            s.close()
        except (ssl.SSLError, OSError):
            pass
    time.sleep(0.5)
    series, after = gate.metrics()

    def moved(ns):
        return [n for n in ns if after.get(n, 0) > before.get(n, 0)]
    t.ok('connection counter moved (%s)' % moved(conns), moved(conns), repr({n: (before.get(n), after.get(n)) for n in conns}))
    t.ok('stream counter moved (%s)' % moved(streams), moved(streams), repr({n: (before.get(n), after.get(n)) for n in streams}))
    t.ok('request counter moved (%s)' % moved(reqs), moved(reqs), repr({n: (before.get(n), after.get(n)) for n in reqs}))
    t.ok('bytes counter moved (%s)' % moved(byts), moved(byts), repr({n: (before.get(n), after.get(n)) for n in byts}))
    t.ok('handshake failure counter moved (%s)' % moved(hs), moved(hs), repr({n: (before.get(n), after.get(n)) for n in hs}))
    by_status = [k for k in series if k.split('{')[0] in reqs and '401' in k and ('route' in k or 'path' in k or 'apps' in k)]
    t.ok('requests by route and status: a 401 series for the apps route (%s)' % by_status[:1], by_status,
         repr([k for k in series if k.split('{')[0] in reqs][:10]))
    t.ok('requests by status: a 404 series', [k for k in series if k.split('{')[0] in reqs and '404' in k])
    hs_reason = [k for k in series if k.split('{')[0] in hs and '{' in k and series[k] > 0]
    t.ok('handshake failures by reason (%s)' % hs_reason[:2], hs_reason, repr([k for k in series if k.split('{')[0] in hs]))
    grew = sorted(k for k in series if k.split('{')[0] in hs and '{' in k and series[k] > before_all.get(k, 0))
    t.ok('untrusted, expired and revoked are three reasons (%s)' % ', '.join(grew), len(grew) >= 3,
         repr({k: series[k] for k in series if k.split('{')[0] in hs}))

    print('-- SIGHUP under load: no failed request', flush=True)
    t.eq('30 headers accepted with max_headers 50', status_with_headers(gate, 30), 200)
    load = Load(gate).start()
    time.sleep(1.0)
    for i in range(6):
        gate.conf['log']['level'] = 'info' if i % 2 else 'debug'
        if i == 5:
            gate.conf['limits']['max_headers'] = 20
        gate.write_conf()
        gate.signal(signal.SIGHUP)
        time.sleep(0.5)
    time.sleep(1.0)
    load.finish()
    t.ok('reload under load: %d requests, %d failed (%d keep-alive reconnects)' % (load.ok, len(load.failed), load.reconnects),
         not load.failed and load.ok >= 20, 'first failures: %r' % load.failed[:5])
    t.ok('still running after 6 SIGHUPs', gate.proc.poll() is None)
    st = None
    for _ in range(20):
        st = status_with_headers(gate, 30)
        if st == 431:
            break
        time.sleep(0.2)
    t.eq('the reload took effect: 30 headers now 431 (max_headers 20)', st, 431)

    print('-- broken daemon files on SIGHUP keep the old generation', flush=True)
    errsize = os.path.getsize(gate.errlog) if os.path.exists(gate.errlog) else 0
    good = json.dumps(gate.conf, indent=1)
    broken = [
        ('a JSON syntax error', '{"listen": ["127.0.0.1:%d"],' % gate.port),
        ('an unknown key', json.dumps(dict(gate.conf, bogus=1))),
        ('a missing certificate file', json.dumps(gf.deep_merge(json.loads(good), {'tls': {'cert_file': gate.tmp + '/nope.crt'}}))),
        ('a key that is not the certificate\'s (the CA key)',
         json.dumps(gf.deep_merge(json.loads(good), {'tls': {'key_file': gate.pki.ca + '/ca.key'}}))),
        ('a private key where the certificate goes',
         json.dumps(gf.deep_merge(json.loads(good), {'tls': {'cert_file': gate.pki.server + '.key'}}))),
        ('a private key as the client CA',
         json.dumps(gf.deep_merge(json.loads(good), {'tls': {'identity_ca_file': gate.pki.dir + '/alice.key'}}))),
    ]
    load = Load(gate).start()
    for name, text in broken:
        gate.write_conf(text)
        gate.signal(signal.SIGHUP)
        time.sleep(0.7)
        alive = gate.proc.poll() is None
        t.ok('%s: still running' % name, alive, 'exit %r\n%s' % (gate.proc.poll(), gate.logs()))
        if not alive:
            load.finish()
            return
        st, _, body = gate.get(APPS, cert='alice')
        t.eq('%s: apps still served' % name, st, 200)
        t.eq('%s: old generation kept (30 headers still 431)' % name, status_with_headers(gate, 30), 431)
    load.finish()
    t.ok('broken reloads under load: %d requests, %d failed' % (load.ok, len(load.failed)),
         not load.failed, repr(load.failed[:5]))
    with open(gate.errlog, 'rb') as f:
        f.seek(errsize)
        errtail = f.read().decode(errors='replace')
    t.ok('the error log says why a reload failed (names the daemon file)', 'awsgated.json' in errtail, errtail[-1500:])
    gate.conf['limits']['max_headers'] = 50
    gate.write_conf()
    gate.signal(signal.SIGHUP)
    st = None
    for _ in range(20):
        st = status_with_headers(gate, 30)
        if st == 200:
            break
        time.sleep(0.2)
    t.eq('a good file after broken ones is taken (30 headers 200 again)', st, 200)

    print('-- the audit log', flush=True)
    # A denial for the lock, and one without a certificate.
    gf.ctl('lock', 'add', '--resources', gate.res, '--user', 'dave', '--message', 'audit me')
    for _ in range(50):
        if gate.get(APPS, cert='dave')[0] == 403:
            break
        time.sleep(0.2)
    gate.get(APPS)
    time.sleep(0.5)
    lines = []
    bad = []
    with open(gate.audit, 'rb') as f:
        for raw in f:
            try:
                obj = json.loads(raw)
                if not isinstance(obj, dict):
                    bad.append(raw)
                lines.append(obj)
            except ValueError:
                bad.append(raw)
    t.ok('audit log: %d lines, each one JSON object' % len(lines), lines and not bad, repr(bad[:3]))
    flat = [json.dumps(o) for o in lines]
    t.ok('audit: the no-certificate denial is there', any('certificate-required' in x for x in flat), '\n'.join(flat[-5:]))
    t.ok('audit: the locked user\'s denial is there', any('locked' in x and 'dave' in x for x in flat), '\n'.join(flat[-5:]))
    t.ok('audit: alice\'s apps listing is there', any('alice' in x and 'apps' in x for x in flat), '\n'.join(flat[-5:]))

    print('-- SIGUSR1 reopens the logs', flush=True)
    os.rename(gate.audit, gate.audit + '.1')
    os.rename(gate.errlog, gate.errlog + '.1')
    gate.signal(signal.SIGUSR1)
    time.sleep(0.5)
    for _ in range(3):
        gate.get(APPS, cert='alice')
        gate.get(APPS)
    time.sleep(0.5)
    t.ok('a new audit.log after SIGUSR1, with the new requests', os.path.exists(gate.audit)
         and os.path.getsize(gate.audit) > 0, 'no %s' % gate.audit)
    t.ok('a new error.log after SIGUSR1', os.path.exists(gate.errlog), 'no %s' % gate.errlog)
    size1 = os.path.getsize(gate.audit + '.1')
    gate.get(APPS, cert='alice')
    time.sleep(0.3)
    t.eq('the old audit log is no longer written', os.path.getsize(gate.audit + '.1'), size1)

    print('-- no secret in any log', flush=True)
    keys = glob.glob(gate.pki.dir + '/*.key') + glob.glob(gate.pki.dir + '/*/*.key')
    secrets = key_material(keys)
    for name in ('audit.log', 'error.log', 'audit.log.1', 'error.log.1', 'stdout.log'):
        p = os.path.join(gate.tmp, name)
        if not os.path.exists(p):
            continue
        with open(p, 'rb') as f:
            text = f.read().decode(errors='replace')
        leaked = [s for s in secrets if s in text]
        t.ok('%s: no private key material (%d keys, %d bytes of log)' % (name, len(keys), len(text)),
             not leaked and 'PRIVATE KEY' not in text, 'leaked lines: %r' % leaked[:2])

    print('-- SIGTERM: stop accepting, drain, exit 0 within shutdown_grace', flush=True)
    # Stream 1 open (no END_STREAM yet) when the signal comes: GOAWAY must
    # cover it, and it must still be answered.
    c = gf.H2Raw(gate)
    c.read_frames(1, lambda f: f[0] == gf.SETTINGS and not f[1] & 1)
    c.send(gf.settings_frame(ack=True))
    c.send(frame(HEADERS, END_HEADERS, 1, request_block('/healthz', 'POST')))
    time.sleep(0.3)
    # An h1 request whose body is still arriving.
    h1 = gate.connect(timeout=10)
    h1.sendall(b'POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n12345')
    # A connection that will never finish its request: the deadline cuts it.
    stuck = gf.H2Raw(gate)
    stuck.send(frame(HEADERS, END_HEADERS, 1, request_block('/healthz', 'POST')))
    time.sleep(0.3)
    t0 = time.monotonic()
    gate.signal(signal.SIGTERM)
    fr = c.read_frames(3, lambda f: f[0] == GOAWAY)
    ga = gf.goaway_of(fr)
    t.ok('h2: GOAWAY on SIGTERM (%s)' % (ga,), ga is not None, repr(fr[:4]))
    t.ok('h2: GOAWAY covers the open stream 1', ga is not None and ga[0] >= 1, repr(ga))
    refused = False
    for _ in range(20):
        try:
            s = socket.create_connection(('127.0.0.1', gate.port), timeout=1)
            s.close()
        except OSError:
            refused = True
            break
        time.sleep(0.1)
    t.ok('no new connections accepted while draining (%.1f s)' % (time.monotonic() - t0), refused)
    c.send(frame(gf.DATA, END_STREAM, 1, b'x'))
    fr = c.read_frames(3, lambda f: f[2] == 1 and f[0] in (0, 1) and f[1] & END_STREAM)
    t.ok('h2: the open stream is answered after GOAWAY (status %r)' % c.status(1), c.status(1) is not None
         and not gf.rsts_of(fr).get(1), repr(fr[:4]))
    try:
        h1.sendall(b'67890')
        data, closed = gf.read_until_close(h1, 4)
    except (OSError, ssl.SSLError) as e:
        data, closed = b'', repr(e)
    r = gf.parse_h1(data)
    t.ok('h1: the request whose body was arriving is answered (status %r)' % (r[0][0] if r else None), bool(r), repr(data[:200]))
    h1.close()
    try:
        rc = gate.proc.wait(8)
    except subprocess.TimeoutExpired:
        rc = 'still running'
    took = time.monotonic() - t0
    t.eq('exit status 0 after SIGTERM (%.1f s; shutdown_grace 5 s)' % took, rc, 0)
    t.ok('exited within shutdown_grace + 2 s', took <= 7.5, '%.1f s' % took)
    c.close()
    stuck.close()
    gate.proc = None


if __name__ == '__main__':
    main()
