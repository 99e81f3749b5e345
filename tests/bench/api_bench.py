# SPDX-License-Identifier: Apache-2.0
# api_bench.py: awsgated re-signing every AWS API request beside nghttpx proxying the same requests unsigned, under h2load over mutual TLS, in one run.
#
# Run by tests/bench/api_bench.sh (make bench-api); docs/BENCH-API.md says how
# to read the output. The upstream both servers reach is nghttpx terminating
# TLS for *.s3.us-east-1.amazonaws.com (a test CA of the openssl command
# line) in front of json_backend; STS for the gate is the fake AWS.
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
sys.path.insert(0, os.path.join(HERE, '..', 'fakeaws'))
import gate_fixture as gf  # noqa: E402
import server_bench as sb  # noqa: E402

BUCKET_HOST = 'bucket.s3.us-east-1.amazonaws.com'
GOALS = {'rps': 0.8, 'p99': 1.5, 'cpu': 1.2}  # issue 7: gate/nghttpx at least, at most, at most


def headers():
    """The request's headers: the gate re-signs, the Authorization only gives the scope."""
    amzdate = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
    auth = ('AWS4-HMAC-SHA256 Credential=AKIDLOCAL/%s/us-east-1/s3/aws4_request, '
            'SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=%s' % (amzdate[:8], '0' * 64))
    return [('X-Forwarded-Host', BUCKET_HOST), ('X-Awsgate-App', 'dev'), ('X-Awsgate-Role', 'Dev'),
            ('X-Amz-Content-Sha256', 'UNSIGNED-PAYLOAD'), ('X-Amz-Date', amzdate), ('Authorization', auth)]


def h2load(url, n, clients, streams, hdrs, env, logfile):
    argv = ['h2load', '-n', str(n), '-c', str(clients), '-m', str(streams), '-t', '1', '--log-file=' + logfile]
    for k, v in hdrs:
        argv += ['-H', '%s: %s' % (k, v)]
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

    def pct(q):
        return lat[min(len(lat) - 1, int(q * len(lat)))] / 1000.0 if lat else float('nan')
    return {'rps': float(m.group(1)), 'done': int(ok.group(1)), 'ok2xx': int(st.group(1)),
            'p50': pct(0.50), 'p99': pct(0.99), 'out': out}


def callgrind_ir(a, pids, zero):
    """BENCH_CALLGRIND: zeroes the counters of |pids| (valgrind processes), or
    dumps them and returns the instructions they executed since."""
    for pid in pids:
        subprocess.run(['callgrind_control', '-z' if zero else '-d', str(pid)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
    if zero:
        return 0
    total = 0
    for pid in pids:
        dumps = sorted((f for f in os.listdir(a.cgdir) if re.match(r'.*\.%d\.\d+$' % pid, f)),
                       key=lambda f: int(f.rsplit('.', 1)[1]))
        if not dumps:
            sys.exit('api_bench: callgrind_control -d %d made no dump in %s' % (pid, a.cgdir))
        with open(os.path.join(a.cgdir, dumps[-1])) as f:
            for line in f:
                if line.startswith(('summary:', 'totals:')):
                    total += int(line.split()[1])
                    break
    return total


def measure(a, name, url, pids, conc, env):
    clients = min(conc, a.clients)
    streams = max(1, conc // clients)
    log = os.path.join(a.tmp, 'h2load-%s-%d.log' % (name, conc))
    # h2load appends to its log file: the warm-up writes its own, so that the
    # timed run's percentiles hold only the timed requests.
    h2load(url, max(200, a.requests // 10), clients, streams, headers(), env, log + '.warm')
    if a.callgrind:
        callgrind_ir(a, pids, True)
    c0 = sb.cpu_ticks(pids)
    r = h2load(url, a.requests, clients, streams, headers(), env, log)
    r['cpu_us'] = (sb.cpu_ticks(pids) - c0) * 1e6 / sb.TCK / max(1, r['done'])
    if a.callgrind:
        # Instructions per request in user space, the timed run only: a
        # figure the machine's noise does not move (the kernel's share is not in it).
        r['cpu_us'] = callgrind_ir(a, pids, False) / 1000.0 / max(1, r['done'])
    if r['ok2xx'] != a.requests:
        print('WARNING: %s c=%d: only %d of %d requests got 2xx:\n%s' % (name, conc, r['ok2xx'], a.requests, r['out']))
    return r


def upstream_pki(d):
    run = lambda *args: gf.run([gf.OPENSSL] + list(args))  # noqa: E731
    run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout',
        d + '/up-ca.key', '-out', d + '/up-ca.crt', '-subj', '/CN=bench upstream CA', '-days', '2',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
    run('req', '-new', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout',
        d + '/up.key', '-out', d + '/up.crt', '-subj', '/CN=*.s3.us-east-1.amazonaws.com', '-days', '1',
        '-CA', d + '/up-ca.crt', '-CAkey', d + '/up-ca.key',
        '-addext', 'subjectAltName=DNS:*.s3.us-east-1.amazonaws.com', '-addext', 'extendedKeyUsage=serverAuth')
    return d + '/up-ca.crt', d + '/up.crt', d + '/up.key'


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--shim', required=True, help='clientcert_shim.so')
    ap.add_argument('--backend', required=True, help='json_backend')
    ap.add_argument('-n', '--requests', type=int, default=int(os.environ.get('BENCH_REQUESTS', 20000)))
    ap.add_argument('--clients', type=int, default=int(os.environ.get('BENCH_CLIENTS', 10)),
                    help='h2load connections; concurrency beyond them is streams per connection')
    ap.add_argument('--concurrency', default=os.environ.get('BENCH_CONCURRENCY', '10,100'))
    ap.add_argument('--workers', default=os.environ.get('BENCH_WORKERS', '1,2'))
    a = ap.parse_args()
    for tool in ('h2load', 'nghttpx'):
        if shutil.which(tool) is None:
            sys.exit('api_bench: %s not found (apt-get install nghttp2-client nghttp2-proxy)' % tool)
    if not os.access(gf.AWSGATED, os.X_OK):
        sys.exit('api_bench: %s is not built' % gf.AWSGATED)
    try:
        import gate_endpoints as ge
    except SystemExit:
        sys.exit('api_bench: the fake AWS needs botocore (apt-get install python3-botocore)')
    a.callgrind = bool(os.environ.get('BENCH_CALLGRIND'))
    if a.callgrind and (shutil.which('valgrind') is None or shutil.which('callgrind_control') is None):
        sys.exit('api_bench: BENCH_CALLGRIND needs valgrind (apt-get install valgrind)')
    concs = [int(x) for x in a.concurrency.split(',')]
    workers = [int(x) for x in a.workers.split(',')]

    a.tmp = tempfile.mkdtemp(prefix='awsgate-apibench-')
    vg = []
    if a.callgrind:
        # Both servers under callgrind: the gate through a wrapper that
        # gate_fixture starts in its place, nghttpx by its argv.
        a.cgdir = os.path.join(a.tmp, 'callgrind')
        os.mkdir(a.cgdir)
        # nghttpx in one process: callgrind_control cannot reach its forked worker.
        vg = ['valgrind', '--tool=callgrind', '--callgrind-out-file=' + os.path.join(a.cgdir, 'nghttpx.%p')]
        wrapper = os.path.join(a.tmp, 'awsgated-callgrind')
        with open(wrapper, 'w') as f:
            f.write('#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=%s %s "$@"\n'
                    % (os.path.join(a.cgdir, 'awsgated.%p'), gf.AWSGATED))
        os.chmod(wrapper, 0o755)
        gf.AWSGATED = wrapper
    procs = []
    fake = gate = None

    def spawn(argv, **kw):
        p = subprocess.Popen(argv, **kw)
        procs.append(p)
        return p

    def stop(p):
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        procs.remove(p)

    try:
        fake = ge.Fake(a.tmp)
        os.environ.update({'AWS_ACCESS_KEY_ID': ge.GATE_KEY, 'AWS_SECRET_ACCESS_KEY': ge.GATE_SECRET,
                           'AWS_EC2_METADATA_DISABLED': 'true'})
        os.environ.pop('AWS_SESSION_TOKEN', None)
        up_ca, up_cert, up_key = upstream_pki(a.tmp)
        bundle = os.path.join(a.tmp, 'aws-ca.pem')
        with open(bundle, 'w') as f:
            f.write(open(fake.ca).read() + open(up_ca).read())

        # The upstream: nghttpx terminating TLS in front of json_backend.
        bport, uport = gf.free_port(), gf.free_port()
        spawn([a.backend, str(bport)])
        spawn(['nghttpx', '--conf=/dev/null', '-f127.0.0.1,%d' % uport, '-b127.0.0.1,%d' % bport,
                          '--workers=1', '--frontend-keep-alive-timeout=10m', '--backend-connections-per-host=256',
                          '--errorlog-file=' + os.path.join(a.tmp, 'upstream.log'), up_key, up_cert])
        sb.wait_tls(uport)

        gate_conf = {'aws': {'region': 'us-east-1', 'ca_file': bundle,
                             'connect_to': [{'host': '*.s3.us-east-1.amazonaws.com', 'address': '127.0.0.1:%d' % uport},
                                            {'host': '*.amazonaws.com', 'address': '127.0.0.1:%d' % fake.https}]},
                     'log': {'level': 'notice'},
                     'limits': {'h2_max_concurrent_streams': 128, 'max_headers': 100, 'max_header_bytes': '64KiB'},
                     'timeouts': {'header_read': '10m', 'idle': '10m', 'sts': '5s'}}
        gate = gf.Gate(gate_conf, workers=workers[0])
        apps = json.loads(json.dumps(gf.APPS))
        for app in apps:
            if app['metadata']['name'] == 'dev':
                app['spec']['aws'] = {'external_id': 'ext-dev'}
        with open(os.path.join(gate.res, 'apps.json'), 'w') as f:
            json.dump(apps, f)
        pki = gate.pki
        cert, key = pki.cert('alice')
        env = dict(os.environ, LD_PRELOAD=a.shim, AWSGATE_BENCH_CERT=cert, AWSGATE_BENCH_KEY=key)
        nport = gf.free_port()

        print('== AWS API requests: h2load -n %d over HTTP/2, TLS with a client certificate' % a.requests)
        print('   GET with X-Forwarded-Host %s, UNSIGNED-PAYLOAD; concurrency C = h2load -c min(C, %d) -m C/c'
              % (BUCKET_HOST, a.clients))
        print('   awsgated: RBAC, role credentials (cached), SigV4 re-signing, the native HTTP/1.1 client (h1up) to the upstream;')
        print('   nghttpx: --verify-client, the same headers passed on unsigned, HTTP/1.1 over TLS to the upstream;')
        print('   upstream: nghttpx (TLS) + json_backend; CPU from /proc/PID/stat of each server only')
        if a.callgrind:
            print('   BENCH_CALLGRIND: both servers run under callgrind; the last column is thousands of user-space')
            print('   instructions per request (kIr), not CPU time; req/s and latency are valgrind\'s, not the servers\'')
        print('%-3s %-4s %-22s %10s %9s %9s %12s' % ('W', 'C', 'server', 'req/s', 'p50 ms', 'p99 ms',
                                                    'kIr/req' if a.callgrind else 'CPU us/req'))
        results = []
        for w in workers:
            gate.stop()
            gate.conf['workers'] = w
            gate.write_conf()
            gate.start()
            gpids = [gate.proc.pid]
            ng = spawn(vg + ['nghttpx', '--conf=/dev/null', '-f127.0.0.1,%d' % nport,
                        '-b127.0.0.1,%d;;tls;sni=%s' % (uport, BUCKET_HOST), '--workers=%d' % w,
                        '--verify-client', '--verify-client-cacert=' + pki.cacert, '--cacert=' + up_ca,
                        '--backend-connections-per-host=256', '--frontend-http2-max-concurrent-streams=128',
                        '--frontend-keep-alive-timeout=10m', '--frontend-http2-read-timeout=10m',
                        '--frontend-read-timeout=10m',
                        '--errorlog-file=' + os.path.join(a.tmp, 'nghttpx.log'),
                        pki.server + '.key', pki.server + '.crt'] + (['--single-process'] if vg else []))
            sb.wait_tls(nport)
            npids = [ng.pid] + ([] if vg else sb.children(ng.pid))
            url_g = 'https://127.0.0.1:%d/object.json' % gate.port
            url_n = 'https://127.0.0.1:%d/object.json' % nport
            for name, url in (('awsgated', url_g), ('nghttpx', url_n)):
                probe = h2load(url, 1, 1, 1, headers(), env, os.path.join(a.tmp, 'probe.log'))
                if probe['ok2xx'] != 1:
                    sys.exit('api_bench: %s did not answer 2xx:\n%s\n%s' % (name, probe['out'], gate.logs()))
            for c in concs:
                g = measure(a, 'awsgated-w%d' % w, url_g, gpids, c, env)
                n = measure(a, 'nghttpx-w%d' % w, url_n, npids, c, env)
                for label, r in (('awsgated', g), ('nghttpx', n)):
                    print('%-3d %-4d %-22s %10.0f %9.2f %9.2f %12.1f' % (w, c, label, r['rps'], r['p50'], r['p99'],
                                                                      r['cpu_us']), flush=True)
                ratio = {'rps': g['rps'] / n['rps'], 'p50': g['p50'] / n['p50'], 'p99': g['p99'] / n['p99'],
                         'cpu': g['cpu_us'] / n['cpu_us'] if n['cpu_us'] else float('inf')}
                print('%-3d %-4d %-22s %10.2f %9.2f %9.2f %12.2f' % (w, c, 'ratio awsgated/nghttpx', ratio['rps'],
                                                                  ratio['p50'], ratio['p99'], ratio['cpu']), flush=True)
                results.append((w, c, ratio))
            stop(ng)
        print()
        print('goals (issue 7): req/s ratio >= %.1f, p99 ratio <= %.1f, CPU/req ratio <= %.1f'
              % (GOALS['rps'], GOALS['p99'], GOALS['cpu']))
        for w, c, r in results:
            missed = [k for k in ('rps', 'p99', 'cpu')
                      if (r[k] < GOALS[k] if k == 'rps' else r[k] > GOALS[k])]
            print('  workers %d, concurrency %d: %s' % (w, c, 'met' if not missed else 'NOT MET: ' + ', '.join(missed)))
    finally:
        for p in list(procs):
            stop(p)
        if gate:
            gate.cleanup()
        if fake:
            fake.stop()
        if os.environ.get('AWSGATE_KEEP_TMP'):
            print('kept %s' % a.tmp)
        else:
            shutil.rmtree(a.tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
