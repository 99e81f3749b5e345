# SPDX-License-Identifier: Apache-2.0
# server_h2.py: HTTP/2 abuse against awsgated with hand-built frames: concurrent streams, header list size, rapid reset, CONTINUATION, SETTINGS and PING floods, GOAWAY on SIGTERM.
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gate_fixture as gf  # noqa: E402
from gate_fixture import (CONTINUATION, END_HEADERS, END_STREAM, GOAWAY, HEADERS, RST_STREAM,  # noqa: E402
                          SETTINGS, frame, request_block)

SETTINGS_MAX_CONCURRENT_STREAMS = 3
SETTINGS_MAX_HEADER_LIST_SIZE = 6
MiB = 1 << 20


def settle(c, timeout=3.0):
    """Reads the server's SETTINGS, acknowledges them and waits for the ACK of
    ours: {id: value} of the server's settings."""
    got = {}
    state = {'theirs': False, 'ack': False}

    def until(f):
        t, flags, sid, p = f
        if t == SETTINGS and not flags & 1:
            for i in range(0, len(p) - len(p) % 6, 6):
                k, v = struct.unpack('>HI', p[i:i + 6])
                got[k] = v
            c.send(gf.settings_frame(ack=True))
            state['theirs'] = True
        elif t == SETTINGS and flags & 1:
            state['ack'] = True
        return state['theirs'] and state['ack']
    c.read_frames(timeout, until)
    if not (state['theirs'] and state['ack']):
        raise RuntimeError('HTTP/2 settings exchange incomplete: %r' % state)
    return got


def pump(c, chunks, seconds, read=True):
    """Sends the byte strings of chunks (an iterable) for at most seconds,
    reading what comes back in between unless read is False.
    Returns (bytes sent, why it stopped: 'done', 'closed', 'blocked' or 'time')."""
    sent = 0
    end = time.monotonic() + seconds
    sock = c.sock
    for chunk in chunks:
        if time.monotonic() > end:
            return sent, 'time'
        if read:
            c.read_frames(0)
            if c.eof:
                return sent, 'closed'
        sock.settimeout(2.0)
        try:
            sock.sendall(chunk)
        except socket.timeout:
            return sent, 'blocked'
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            c.closed = True
            return sent, 'closed'
        sent += len(chunk)
    return sent, 'done'


def health_probe(gate, out, stop, interval=0.2):
    """Runs /healthz on fresh connections until stop is set: appends (ok, seconds)."""
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            st, _, _ = gate.get('/healthz', timeout=3)
            out.append((st == 200, time.monotonic() - t0))
        except (OSError, ValueError) as e:
            out.append((False, repr(e)))
        time.sleep(interval)


def healthy_meanwhile(t, name, probes):
    bad = [p for p in probes if not p[0]]
    slow = [p for p in probes if p[0] and p[1] > 2.5]
    t.ok('%s: others served meanwhile (%d probes, %d failed, %d slower than 2.5 s)' % (name, len(probes), len(bad), len(slow)),
         probes and not bad and not slow, repr((bad + slow)[:5]))


def main():
    gf.require_server()
    t = gf.Checks('server-h2: HTTP/2 limits and floods')
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
    lim = gate.conf['limits']
    pid = gate.proc.pid

    print('-- positive controls', flush=True)
    st, h, body = gf.h2_get(gate, '/healthz')
    t.eq('python-h2 /healthz', (st, body.strip()), (200, b'ok'))
    t.ok('h2 response has x-awsgate-version', h.get('x-awsgate-version'))
    p = subprocess.run(['nghttp', '-v', '-t', '5', 'https://127.0.0.1:%d/healthz' % gate.port],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode(errors='replace')
    t.ok('nghttp /healthz: 200', p.returncode == 0 and ':status: 200' in out, out[-500:])
    c = gf.H2Raw(gate)
    ss = settle(c)
    c.close()
    t.eq('SETTINGS_MAX_CONCURRENT_STREAMS advertised', ss.get(SETTINGS_MAX_CONCURRENT_STREAMS), lim['h2_max_concurrent_streams'])
    t.eq('SETTINGS_MAX_HEADER_LIST_SIZE advertised', ss.get(SETTINGS_MAX_HEADER_LIST_SIZE), 8192)
    # 10 requests on one connection, sequentially and at once (stream reuse, ids).
    c = gf.H2Raw(gate)
    settle(c)
    for i in range(10):
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1 + 2 * i, request_block('/healthz')))
    fr = c.read_frames(3, lambda f: False)
    ends = {sid for ty, fl, sid, _ in fr if fl & END_STREAM and ty in (0, 1)}
    t.eq('10 streams at once within the limit all answered', sorted(ends), list(range(1, 21, 2)))
    t.eq('... with 200 each', {c.status(s) for s in ends}, {200})
    c.close()

    print('-- concurrent streams over h2_max_concurrent_streams: refused', flush=True)
    m = lim['h2_max_concurrent_streams']
    c = gf.H2Raw(gate)
    settle(c)
    n = m + 10
    # HEADERS without END_STREAM: each stream stays open, waiting for a body.
    c.send(b''.join(frame(HEADERS, END_HEADERS, 1 + 2 * i, request_block('/healthz', 'POST')) for i in range(n)))
    fr = c.read_frames(3)
    rst = gf.rsts_of(fr)
    ga = gf.goaway_of(fr)
    refused = {sid for sid, e in rst.items() if e == 'REFUSED_STREAM'}
    answered_open = {sid for ty, fl, sid, _ in fr if ty == HEADERS} - set(rst)
    over = [1 + 2 * i for i in range(m, n)]
    t.ok('streams past %d: REFUSED_STREAM each, or GOAWAY PROTOCOL_ERROR (rst %s, goaway %s)' % (m, sorted(refused)[:3], ga),
         set(over) <= refused or (ga is not None and ga[1] in ('PROTOCOL_ERROR', 'REFUSED_STREAM')),
         'RST_STREAM: %r; GOAWAY: %r' % (rst, ga))
    t.ok('no more than %d streams were taken' % m, len(answered_open - refused) <= m,
         'streams answered: %r' % sorted(answered_open))
    c.close()

    print('-- header list size', flush=True)
    c = gf.H2Raw(gate)
    settle(c)
    c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block('/healthz', extra=[(b'x-big', b'a' * 10000)])))
    fr = c.read_frames(3, lambda f: (f[0] in (HEADERS, RST_STREAM) and f[2] == 1) or f[0] == GOAWAY)
    rst = gf.rsts_of(fr)
    t.ok('a 10 kB header over h2_max_header_list_size (8 KiB): stream reset, 431 or GOAWAY (status %r, reset %r)' % (c.status(1), rst.get(1)),
         1 in rst or gf.goaway_of(fr) is not None or c.status(1) == 431,
         'frames: %r' % [(ty, fl, sid, p[:40]) for ty, fl, sid, p in fr])
    t.ok('... and no 200 for it', c.status(1) != 200, repr(c.responses))
    c.close()
    # The same size spread over many fields (each small).
    c = gf.H2Raw(gate)
    settle(c)
    extra = [(b'x-f%d' % i, b'b' * 200) for i in range(60)]
    c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block('/healthz', extra=extra)))
    fr = c.read_frames(3, lambda f: (f[0] in (HEADERS, RST_STREAM) and f[2] == 1) or f[0] == GOAWAY)
    t.ok('60 fields of 200 bytes (12 kB) refused too (status %r)' % c.status(1),
         (1 in gf.rsts_of(fr) or gf.goaway_of(fr) is not None or c.status(1) == 431) and c.status(1) != 200, repr(fr[:4]))
    c.close()
    c = gf.H2Raw(gate)
    settle(c)
    c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block('/healthz', extra=[(b'x-mid', b'a' * 4000)])))
    fr = c.read_frames(3, lambda f: f[0] in (HEADERS, RST_STREAM, GOAWAY))
    t.eq('a 4 kB header under the limit is answered 200', c.status(1), 200, repr(fr[:3]))
    c.close()

    print('-- rapid reset: HEADERS + RST_STREAM flood', flush=True)
    probes, stop = [], threading.Event()
    th = threading.Thread(target=health_probe, args=(gate, probes, stop))
    th.start()
    c = gf.H2Raw(gate)
    settle(c)
    rss0 = gf.rss_kib(pid)
    blk = request_block('/healthz')

    def pairs():
        sid = 1
        while sid < 0x7fffffff - 400:
            yield b''.join(frame(HEADERS, END_STREAM | END_HEADERS, s, blk) + frame(RST_STREAM, 0, s, struct.pack('>I', 8))
                           for s in range(sid, sid + 200, 2))
            sid += 200
    sent, why = pump(c, pairs(), 15)
    c.read_frames(3)
    ga = gf.goaway_of(c.seen)
    stop.set()
    th.join()
    t.ok('rapid reset: GOAWAY ENHANCE_YOUR_CALM (got %s after %d kB, %s)' % (ga, sent // 1024, why),
         ga is not None and ga[1] == 'ENHANCE_YOUR_CALM', 'GOAWAY %r, stopped: %s' % (ga, why))
    t.ok('rapid reset: stopped before 100,000 streams', sent < 100000 * (len(blk) + 22), '%d bytes sent' % sent)
    c.close()
    healthy_meanwhile(t, 'rapid reset', probes)
    st, _, _ = gf.h2_get(gate, '/healthz')
    t.eq('rapid reset: h2 still works after', st, 200)
    print('   RSS %d -> %d KiB' % (rss0, gf.rss_kib(pid)))

    print('-- CONTINUATION flood', flush=True)
    for name, payload in (('literal headers', b''.join(gf.hpack_literal(b'x-c%d' % i, b'v' * 40) for i in range(300))),
                          ('empty frames', b'')):
        probes, stop = [], threading.Event()
        th = threading.Thread(target=health_probe, args=(gate, probes, stop))
        th.start()
        c = gf.H2Raw(gate)
        settle(c)
        rss0 = gf.rss_kib(pid)
        first = frame(HEADERS, END_STREAM, 1, request_block('/healthz'))
        one = frame(CONTINUATION, 0, 1, payload)

        def conts(one=one):
            yield first
            batch = one * max(1, 16384 // len(one))
            while True:
                yield batch
        sent, why = pump(c, conts(), 10)
        c.read_frames(3)
        ga = gf.goaway_of(c.seen)
        grew = gf.rss_kib(pid) - rss0
        stop.set()
        th.join()
        t.ok('CONTINUATION flood (%s): GOAWAY or closed (got %s after %d kB, %s)' % (name, ga, sent // 1024, why),
             ga is not None or c.closed or why == 'closed', 'GOAWAY %r, stopped: %s' % (ga, why))
        t.ok('CONTINUATION flood (%s): cut off within 16 MiB sent' % name, sent <= 16 * MiB, '%d bytes sent' % sent)
        t.ok_memory('CONTINUATION flood (%s): RSS grew %d KiB (< 8 MiB)' % (name, grew), grew < 8192, '%d KiB' % grew)
        c.close()
        healthy_meanwhile(t, 'CONTINUATION flood (%s)' % name, probes)

    for name, unit in (('SETTINGS', gf.settings_frame([(SETTINGS_MAX_HEADER_LIST_SIZE, 65536)])),
                       ('PING', frame(gf.PING, 0, 0, b'12345678')),
                       ('empty SETTINGS', gf.settings_frame())):
        print('-- %s flood' % name, flush=True)
        probes, stop = [], threading.Event()
        th = threading.Thread(target=health_probe, args=(gate, probes, stop))
        th.start()
        c = gf.H2Raw(gate)
        settle(c)
        rss0 = gf.rss_kib(pid)

        def units(unit=unit):
            batch = unit * (16384 // len(unit))
            for _ in range(8000):
                yield batch
        # Never read: the acknowledgements pile up at the gate, which must cut us off.
        sent, why = pump(c, units(), 15, read=False)
        c.read_frames(5)
        ga = gf.goaway_of(c.seen)
        grew = gf.rss_kib(pid) - rss0
        stop.set()
        th.join()
        t.ok('%s flood: GOAWAY ENHANCE_YOUR_CALM or closed (got %s after %d kB, %s)' % (name, ga, sent // 1024, why),
             (ga is not None and ga[1] == 'ENHANCE_YOUR_CALM') or (ga is None and c.closed),
             'GOAWAY %r, stopped: %s, closed: %s' % (ga, why, c.closed))
        t.ok_memory('%s flood: RSS grew %d KiB (< 8 MiB)' % (name, grew), grew < 8192)
        c.close()
        healthy_meanwhile(t, '%s flood' % name, probes)

    # Floods that need no GOAWAY by the RFC but must not cost the gate:
    # empty DATA frames on an open stream, PRIORITY frames, WINDOW_UPDATEs.
    for name, mk in (('empty DATA frames', lambda: frame(gf.DATA, 0, 1, b'')),
                     ('PRIORITY frames', lambda: frame(gf.PRIORITY, 0, 3, struct.pack('>IB', 1, 15))),
                     ('WINDOW_UPDATE frames', lambda: frame(gf.WINDOW_UPDATE, 0, 0, struct.pack('>I', 1)))):
        print('-- %s flood' % name, flush=True)
        probes, stop = [], threading.Event()
        th = threading.Thread(target=health_probe, args=(gate, probes, stop))
        th.start()
        c = gf.H2Raw(gate)
        settle(c)
        rss0 = gf.rss_kib(pid)
        c.send(frame(HEADERS, END_HEADERS, 1, request_block('/healthz', 'POST')))
        unit = mk()

        def units(unit=unit):
            batch = unit * (16384 // len(unit))
            for _ in range(2000):
                yield batch
        sent, why = pump(c, units(), 10)
        c.read_frames(2)
        grew = gf.rss_kib(pid) - rss0
        stop.set()
        th.join()
        ga = gf.goaway_of(c.seen)
        print('   %d kB sent, stopped: %s, GOAWAY %s' % (sent // 1024, why, ga))
        if name != 'WINDOW_UPDATE frames':
            # WINDOW_UPDATEs are proportional to what a client downloads: not counted.
            t.ok('%s flood: GOAWAY ENHANCE_YOUR_CALM or closed (got %s, %s)' % (name, ga, why),
                 (ga is not None and ga[1] == 'ENHANCE_YOUR_CALM') or (ga is None and c.closed),
                 'GOAWAY %r, stopped: %s, closed: %s' % (ga, why, c.closed))
        t.ok_memory('%s flood: RSS grew %d KiB (< 8 MiB)' % (name, grew), grew < 8192)
        c.close()
        healthy_meanwhile(t, '%s flood' % name, probes)
        t.ok('%s flood: still running' % name, gate.proc.poll() is None)

    print('-- other protocol errors', flush=True)
    for name, data, codes in (
            ('DATA on stream 0', frame(gf.DATA, 0, 0, b'x'), ('PROTOCOL_ERROR',)),
            ('even (server) stream id', frame(HEADERS, END_STREAM | END_HEADERS, 2, request_block()), ('PROTOCOL_ERROR',)),
            ('SETTINGS with a bad length', frame(SETTINGS, 0, 0, b'\0\0\0'), ('FRAME_SIZE_ERROR', 'PROTOCOL_ERROR')),
            ('frame over max frame size', frame(HEADERS, END_STREAM | END_HEADERS, 1, b'\0' * 20000), ('FRAME_SIZE_ERROR',)),
            ('HPACK garbage', frame(HEADERS, END_STREAM | END_HEADERS, 1, b'\xff\xff\xff\xff\xff\xff'), ('COMPRESSION_ERROR',)),
            ('CONTINUATION without HEADERS', frame(CONTINUATION, END_HEADERS, 1, request_block()), ('PROTOCOL_ERROR',)),
            ('WINDOW_UPDATE overflow', frame(gf.WINDOW_UPDATE, 0, 0, struct.pack('>I', 0x7fffffff)), ('FLOW_CONTROL_ERROR',))):
        c = gf.H2Raw(gate)
        settle(c)
        c.send(data)
        fr = c.read_frames(3, lambda f: f[0] == GOAWAY)
        ga = gf.goaway_of(fr)
        t.ok('%s: GOAWAY %s (got %s)' % (name, '/'.join(codes), ga), ga is not None and ga[1] in codes, repr(ga))
        c.close()
    # Uppercase header names and connection-specific headers are malformed (RFC 9113 8.2).
    for name, extra in (('uppercase header name', [(b'X-Upper', b'1')]),
                        ('connection header', [(b'connection', b'keep-alive')]),
                        ('transfer-encoding header', [(b'transfer-encoding', b'chunked')]),
                        ('CR LF in a value', [(b'x-a', b'a\r\nx-b: b')]),
                        ('NUL in a value', [(b'x-a', b'a\x00b')])):
        c = gf.H2Raw(gate)
        settle(c)
        c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block('/healthz', extra=extra)))
        fr = c.read_frames(3, lambda f: (f[0] in (HEADERS, RST_STREAM) and f[2] == 1) or f[0] == GOAWAY)
        t.ok('%s: stream reset or 400, never 200 (status %r, reset %r)' % (name, c.status(1), gf.rsts_of(fr).get(1)),
             (1 in gf.rsts_of(fr) or gf.goaway_of(fr) is not None or c.status(1) == 400) and c.status(1) != 200,
             repr(fr[:3]))
        c.close()
    st, _, _ = gf.h2_get(gate, '/healthz')
    t.eq('h2 still works after the floods', st, 200)
    t.ok('still running', gate.proc.poll() is None)

    print('-- GOAWAY on SIGTERM', flush=True)
    c = gf.H2Raw(gate)
    settle(c)
    c.send(frame(HEADERS, END_STREAM | END_HEADERS, 1, request_block('/healthz')))
    c.read_frames(2, lambda f: f[0] in (0, 1) and f[1] & END_STREAM)
    gate.signal(signal.SIGTERM)
    fr = c.read_frames(5, lambda f: f[0] == GOAWAY)
    ga = gf.goaway_of(fr)
    t.ok('an idle h2 connection gets GOAWAY on SIGTERM (%s)' % (ga,), ga is not None and ga[1] == 'NO_ERROR', repr(fr[:3]))
    t.ok('GOAWAY says stream 1 was processed', ga is not None and ga[0] >= 1, repr(ga))
    c.close()
    try:
        rc = gate.proc.wait(10)
    except subprocess.TimeoutExpired:
        rc = 'still running after 10 s'
    t.eq('awsgated exits 0 after SIGTERM', rc, 0)


if __name__ == '__main__':
    main()
