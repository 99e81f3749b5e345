# SPDX-License-Identifier: Apache-2.0
# server_bench.py: awsgated beside nghttpx in one run: h2load over mutual TLS (requests/s, p50/p99, CPU per request) and the memory of 1,000 idle TLS connections.
#
# Run by tests/bench/server.sh (make bench-server); see docs/BENCH-SERVER.md.
import argparse
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import gate_fixture as gf  # noqa: E402

TCK = os.sysconf('SC_CLK_TCK')


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total


def children(pid):
    out = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                with open('/proc/%s/stat' % d) as f:
                    if int(f.read().rsplit(')', 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except OSError:
                pass
    return out


def rss(pids):
    return sum(gf.rss_kib(p) for p in pids)


def wait_tls(port, deadline=10.0):
    end = time.monotonic() + deadline
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    while time.monotonic() < end:
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1) as s:
                with ctx.wrap_socket(s):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError('nothing answers TLS on port %d' % port)


def h2load(args, url, proto, n, env, logfile):
    argv = ['h2load', '-n', str(n), '-c', str(args.clients), '-t', '1', '--log-file=' + logfile]
    if proto == 'h2':
        argv += ['-m', str(args.streams)]
    else:
        argv += ['--h1']
    p = subprocess.run(argv + [url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    out = p.stdout.decode(errors='replace')
    m = re.search(r'finished in [\d.]+\w+, ([\d.]+) req/s', out)
    ok = re.search(r'requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded', out)
    st = re.search(r'status codes: (\d+) 2xx', out)
    if not m or not ok or not st:
        raise RuntimeError('h2load failed:\n' + out)
    lat = []
    with open(logfile) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3:
                lat.append(int(parts[2]))
    lat.sort()
    pct = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] / 1000.0) if lat else (lambda q: float('nan'))
    return {'rps': float(m.group(1)), 'done': int(ok.group(1)), 'ok2xx': int(st.group(1)),
            'p50': pct(0.50), 'p99': pct(0.99), 'out': out}


def measure(args, name, url, pids, proto, env, extra_pids=()):
    log = os.path.join(args.tmp, 'h2load-%s-%s.log' % (name, proto.replace('/', '')))
    h2load(args, url, proto, max(200, args.requests // 10), env, log)  # warm-up
    c0 = cpu_ticks(pids)
    e0 = cpu_ticks(extra_pids)
    r = h2load(args, url, proto, args.requests, env, log)
    r['cpu_us'] = (cpu_ticks(pids) - c0) * 1e6 / TCK / max(1, r['done'])
    r['extra_cpu_us'] = (cpu_ticks(extra_pids) - e0) * 1e6 / TCK / max(1, r['done'])
    if r['ok2xx'] != args.requests:
        print('WARNING: %s %s: only %d of %d requests got 2xx:\n%s' % (name, proto, r['ok2xx'], args.requests, r['out']))
    return r


def idle_conns(port, proto, count, cert, key, cacert):
    """Opens count TLS connections that each make one request and then stay idle."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cacert)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols([proto])
    socks = []
    for _ in range(count):
        s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', port), timeout=10), server_hostname='localhost')
        if proto == 'h2':
            s.sendall(gf.H2_PREFACE + gf.settings_frame() + gf.settings_frame(ack=True)
                      + gf.frame(gf.HEADERS, gf.END_STREAM | gf.END_HEADERS, 1, gf.request_block('/healthz')))
        else:
            s.sendall(b'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n')
        s.recv(65536)
        socks.append(s)
    return socks


def memory(args, name, port, pids, proto, cert, key, cacert):
    for s in idle_conns(port, proto, 20, cert, key, cacert):  # warm: first-use allocations
        s.close()
    time.sleep(0.5)
    before = rss(pids)
    socks = idle_conns(port, proto, args.conns, cert, key, cacert)
    time.sleep(1.0)
    after = rss(pids)
    for s in socks:
        s.close()
    time.sleep(0.5)
    return (after - before) / float(args.conns)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--shim', required=True, help='clientcert_shim.so')
    ap.add_argument('--backend', required=True, help='json_backend')
    ap.add_argument('-n', '--requests', type=int, default=int(os.environ.get('BENCH_REQUESTS', 20000)))
    ap.add_argument('-c', '--clients', type=int, default=int(os.environ.get('BENCH_CLIENTS', 10)))
    ap.add_argument('-m', '--streams', type=int, default=int(os.environ.get('BENCH_STREAMS', 10)))
    ap.add_argument('--conns', type=int, default=int(os.environ.get('BENCH_CONNS', 1000)))
    args = ap.parse_args()
    for tool in ('h2load', 'nghttpx'):
        if not subprocess.run(['sh', '-c', 'command -v ' + tool], stdout=subprocess.DEVNULL).returncode == 0:
            sys.exit('server_bench: %s not found (apt-get install nghttp2-client nghttp2-proxy)' % tool)
    if not os.access(gf.AWSGATED, os.X_OK):
        sys.exit('server_bench: %s is not built' % gf.AWSGATED)

    gate = gf.Gate({'workers': 1, 'log': {'level': 'notice'},
                    'limits': {'h2_max_concurrent_streams': 100, 'max_headers': 100, 'max_header_bytes': '64KiB'},
                    'timeouts': {'header_read': '10m', 'idle': '10m'}}, workers=1)
    args.tmp = tempfile.mkdtemp(prefix='awsgate-bench-', dir=gate.tmp)
    procs = []
    try:
        gate.start()
        pki = gate.pki
        cert, key = pki.cert('alice')
        bport, nport = gf.free_port(), gf.free_port()
        backend = subprocess.Popen([args.backend, str(bport)])
        procs.append(backend)
        nghttpx_argv = ['nghttpx', '--conf=/dev/null', '-f127.0.0.1,%d' % nport, '-b127.0.0.1,%d' % bport,
                        '--workers=1', '--verify-client', '--verify-client-cacert=' + pki.cacert,
                        '--frontend-http2-max-concurrent-streams=100',
                        '--frontend-keep-alive-timeout=10m', '--frontend-http2-read-timeout=10m',
                        '--frontend-read-timeout=10m',
                        '--errorlog-file=' + os.path.join(args.tmp, 'nghttpx.log'),
                        pki.server + '.key', pki.server + '.crt']

        def start_nghttpx():
            p = subprocess.Popen(nghttpx_argv)
            procs.append(p)
            wait_tls(nport)
            return p, [p.pid] + children(p.pid)

        def stop(p):
            p.terminate()
            p.wait(10)
            procs.remove(p)

        # Memory first, each server fresh for each protocol: a process that
        # has already served a load (or the other protocol) reuses freed heap
        # and would understate the cost of a connection.
        print('== memory: %d idle TLS connections (client certificate, one request each, then idle; fresh processes)'
              % args.conns)
        print('%-10s %16s %18s' % ('server', 'h2 KiB/conn', 'http/1.1 KiB/conn'))
        rows = {'awsgated': [], 'nghttpx': []}
        for proto in ('h2', 'http/1.1'):
            gate.stop()
            gate.start()
            gpids = [gate.proc.pid] + children(gate.proc.pid)
            rows['awsgated'].append(memory(args, 'awsgated', gate.port, gpids, proto, cert, key, pki.cacert))
            ng, npids = start_nghttpx()
            rows['nghttpx'].append(memory(args, 'nghttpx', nport, npids, proto, cert, key, pki.cacert))
            stop(ng)
        for name in ('awsgated', 'nghttpx'):
            print('%-10s %16.1f %18.1f' % (name, rows[name][0], rows[name][1]))
        worst = max(rows['awsgated'])
        print('awsgated goal: at most 25 KiB per idle connection: %s (worst %.1f KiB)' % ('met' if worst <= 25 else 'NOT MET', worst))
        print()
        nghttpx, npids = start_nghttpx()
        env = dict(os.environ, LD_PRELOAD=args.shim, AWSGATE_BENCH_CERT=cert, AWSGATE_BENCH_KEY=key)
        gpids = [gate.proc.pid] + children(gate.proc.pid)
        url_g = 'https://127.0.0.1:%d/awsgate/v1/apps' % gate.port
        url_n = 'https://127.0.0.1:%d/awsgate/v1/apps' % nport
        # The gate's answer with the shim's certificate must be alice's apps, not a 401.
        probe = subprocess.run(['h2load', '-n', '1', '-c', '1', url_g], env=env, stdout=subprocess.PIPE).stdout.decode()
        if '1 2xx' not in probe:
            sys.exit('server_bench: awsgated did not answer 2xx with the client certificate:\n' + probe)

        print('== requests: h2load -n %d -c %d (-m %d for h2), TLS with a client certificate, one worker each'
              % (args.requests, args.clients, args.streams))
        print('   awsgated: GET /awsgate/v1/apps (RBAC, JSON, audit line); nghttpx --conf=/dev/null with --verify-client,')
        print('   backend json_backend (a fixed small JSON over HTTP/1.1 keep-alive); CPU from /proc/PID/stat')
        print('%-8s %-22s %10s %9s %9s %12s' % ('proto', 'server', 'req/s', 'p50 ms', 'p99 ms', 'CPU us/req'))
        for proto in ('h2', 'http/1.1'):
            g = measure(args, 'awsgated', url_g, gpids, proto, env)
            n = measure(args, 'nghttpx', url_n, npids, proto, env, [backend.pid])
            bus = n['extra_cpu_us']
            print('%-8s %-22s %10.0f %9.2f %9.2f %12.1f' % (proto, 'awsgated', g['rps'], g['p50'], g['p99'], g['cpu_us']))
            print('%-8s %-22s %10.0f %9.2f %9.2f %12.1f  (+%.1f in the backend)' % (proto, 'nghttpx', n['rps'], n['p50'], n['p99'], n['cpu_us'], bus))
            print('%-8s %-22s %10.2f %9.2f %9.2f %12.2f' % (proto, 'ratio awsgated/nghttpx', g['rps'] / n['rps'],
                                                           g['p50'] / n['p50'], g['p99'] / n['p99'], g['cpu_us'] / n['cpu_us']))
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        gate.cleanup()


if __name__ == '__main__':
    main()
