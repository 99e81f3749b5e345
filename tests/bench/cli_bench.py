# SPDX-License-Identifier: Apache-2.0
# cli_bench.py: the user's side of the gate (issue 8): 100 sequential boto3 calls through `awsgate proxy aws` beside the same calls made directly to the fake AWS, and one `awsgate aws sts get-caller-identity` beside a direct AWS CLI call, in one run.
#
# Run by `make bench-cli` (docs/BENCH-CLI.md says how to read it). Both paths
# end at the same fake AWS on loopback; the gated one goes boto3 -> local
# proxy (CONNECT, local TLS, signature check) -> HTTP/2 mTLS -> awsgated
# (RBAC, cached AssumeRole, re-signing) -> fake AWS. Rounds alternate between
# the two paths so that the machine's noise falls on both; medians are
# reported, and the ratio is what to compare across machines.
#
# BENCH_FLOOR=1 adds, in the same rounds, the same loop through paths that do
# no work of their own (docs/BENCH-CLI.md, "The floor"): one and two plain TCP
# relays (haproxy or socat) in front of the fake (TLS end to end), and the local proxy's CONNECT
# tunnel to the fake under a non-AWS name. They bound what any design with two
# extra processes on the path can score on this machine. With haproxy it also
# runs the peer, proxy2: two haproxy HTTP proxies that end TLS at each hop and
# speak HTTP/2 with client certificates between them, our path's shape and its
# TLS and HTTP work done by another implementation, without any of the gate's.
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
sys.path.insert(0, os.path.join(HERE, '..', 'fakeaws'))
import gate_fixture as gf  # noqa: E402
import gate_endpoints as ge  # noqa: E402

GOAL_SDK = 1.3  # issue 8: the gated wall time at most 1.3x the direct one

# One process, N sequential calls on one client: what a program does.
SDK_LOOP = r'''
import json, sys, time
import boto3, botocore.config
n, mode = int(sys.argv[1]), sys.argv[2]
cfg = {'retries': {'max_attempts': 1}}
kw = {'region_name': 'us-east-1'}
if mode in ('direct', 'relay1', 'relay2', 'tunnel', 'proxy2'):
    # The relays only copy bytes and the tunnel only relays them: TLS is the
    # fake's, end to end, and checked against its CA.
    kw.update(endpoint_url=sys.argv[3], verify=sys.argv[4])
elif mode == 'gate':
    # Straight to awsgated with the certificate, no local proxy: what an
    # SDK that could present one would do (a diagnostic, not a product path).
    kw.update(endpoint_url=sys.argv[3], verify=sys.argv[4])
    cfg['client_cert'] = (sys.argv[5], sys.argv[6])
kw['config'] = botocore.config.Config(**cfg)
sts = boto3.client('sts', **kw)
if mode == 'gate':
    def route(request, **_):
        request.headers['X-Forwarded-Host'] = 'sts.amazonaws.com'
        request.headers['X-Awsgate-App'] = 'dev'
        request.headers['X-Awsgate-Role'] = 'Dev'
    sts.meta.events.register('before-send.sts', route)
arn = sts.get_caller_identity()['Arn']      # warm: connections and credentials
if mode == 'tunnel' and not sts._endpoint.http_session._proxy_managers:
    # NO_PROXY or a botocore change would quietly turn the tunnel into direct.
    sys.exit('tunnel: botocore did not go through HTTPS_PROXY')
t0, c0 = time.perf_counter(), time.process_time()
for _ in range(n):
    sts.get_caller_identity()
print(json.dumps({'s': time.perf_counter() - t0, 'cpu': time.process_time() - c0, 'arn': arn}))
'''


def awsgate(*args, env, check=True):
    p = subprocess.run([os.path.join(gf.BUILD, 'awsgate')] + list(args), env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    if check and p.returncode != 0:
        raise RuntimeError('awsgate %s: exit %d\n%s' % (' '.join(args), p.returncode, p.stderr.decode()))
    return p


def timed(argv, env):
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError('%s: exit %d\n%s' % (' '.join(argv), p.returncode, p.stderr.decode()))
    return dt, p.stdout.decode()


class Relay:
    """A process that copies bytes between 127.0.0.1:|port| and 127.0.0.1:|to| and does nothing else.

    |kind| 'haproxy' (2.6, tcp mode, one thread, epoll) or 'socat' (one
    process per connection, select). TCP_NODELAY on both sockets, as our own
    hops set it (haproxy sets it itself): a hop without any of their work.
    With |tls| (haproxy only), an HTTP proxy that ends TLS and starts its
    own instead (see below)."""

    def __init__(self, kind, to, tmp, tls=None):
        self.port = gf.free_port()
        self.err = os.path.join(tmp, '%s-%d.err' % (kind, self.port))
        if kind == 'socat':
            argv = ['socat', 'TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,nodelay' % self.port,
                    'TCP:127.0.0.1:%d,nodelay' % to]
        elif tls is None:
            cfg = os.path.join(tmp, 'haproxy-%d.cfg' % self.port)
            with open(cfg, 'w') as f:
                f.write('global\n  nbthread 1\n  maxconn 64\n'
                        'defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 600s\n  timeout server 600s\n'
                        'listen relay\n  bind 127.0.0.1:%d\n  server fake 127.0.0.1:%d\n' % (self.port, to))
            argv = ['haproxy', '-db', '-f', cfg]
        else:
            # An HTTP proxy that terminates TLS and makes its own to |to|:
            # what each of our hops does, without the signatures, RBAC and
            # credentials. |tls|: 'crt' (its own certificate and key),
            # 'verify_ca' (client certificates it demands, or None), 'alpn'
            # (what it offers), 'to_ca' (the next hop's CA), 'to_crt' (the
            # client certificate it presents, or None), 'to_alpn'.
            cfg = os.path.join(tmp, 'haproxy-%d.cfg' % self.port)
            bind = 'bind 127.0.0.1:%d ssl crt %s alpn %s' % (self.port, tls['crt'], tls['alpn'])
            if tls.get('verify_ca'):
                bind += ' verify required ca-file %s' % tls['verify_ca']
            server = 'server next 127.0.0.1:%d ssl verify required ca-file %s verifyhost localhost sni str(localhost) alpn %s' % (
                to, tls['to_ca'], tls['to_alpn'])
            if tls.get('to_crt'):
                server += ' crt %s' % tls['to_crt']
            with open(cfg, 'w') as f:
                f.write('global\n  nbthread 1\n  maxconn 64\n'
                        'defaults\n  mode http\n  timeout connect 5s\n  timeout client 600s\n  timeout server 600s\n'
                        '  http-reuse always\n'
                        'frontend front\n  %s\n  default_backend next\n'
                        'backend next\n  %s\n' % (bind, server))
            argv = ['haproxy', '-db', '-f', cfg]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(self.err, 'w'))
        deadline = time.monotonic() + 10
        while not self.listening():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError('%s on port %d did not start:\n%s' % (kind, self.port, open(self.err).read()))
            time.sleep(0.02)

    def listening(self):
        # /proc/net/tcp, not a probe connection: a probe would be relayed to the fake.
        want = ':%04X' % self.port
        with open('/proc/net/tcp') as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1] == '0100007F' + want and fields[3] == '0A':
                    return True
        return False

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def haproxy_pki(tmp):
    """A CA, a certificate for localhost and a client certificate (ECDSA P-256, as our hops use), made by openssl.

    Returns (ca file, server PEM, client PEM); haproxy wants each
    certificate and its key in one file."""
    d = os.path.join(tmp, 'haproxy-pki')
    os.makedirs(d)

    def run(*argv):
        subprocess.run(['openssl'] + list(argv), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ca, cakey = os.path.join(d, 'ca.pem'), os.path.join(d, 'ca.key')
    run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', cakey,
        '-out', ca, '-days', '2', '-subj', '/CN=bench haproxy CA')
    out = []
    for name, ext in (('server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth'),
                      ('client', 'extendedKeyUsage=clientAuth')):
        key, csr, crt = (os.path.join(d, name + x) for x in ('.key', '.csr', '.crt'))
        extfile = os.path.join(d, name + '.ext')
        with open(extfile, 'w') as f:
            f.write(ext + '\n')
        run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr,
            '-subj', '/CN=' + ('localhost' if name == 'server' else 'bench'))
        run('x509', '-req', '-in', csr, '-CA', ca, '-CAkey', cakey, '-CAcreateserial', '-out', crt, '-days', '2',
            '-extfile', extfile)
        pem = os.path.join(d, name + '.pem')
        with open(pem, 'w') as f:
            f.write(open(crt).read() + open(key).read())
        out.append(pem)
    return ca, out[0], out[1]


def wrapped_children(pid):
    """The processes |pid| (a tool such as strace) started: the proxy under it."""
    kids = []
    for task in os.listdir('/proc/%d/task' % pid):
        try:
            with open('/proc/%d/task/%s/children' % (pid, task)) as f:
                kids += [int(k) for k in f.read().split()]
        except OSError:
            pass
    return kids


def sched(pids):
    """Each process's (time on a CPU, time runnable but waiting for one) in ns, summed over its threads.

    /proc/PID/task/TID/schedstat is the scheduler's own account, in
    nanoseconds; the wait is the time a thread was ready to run while both
    cores were busy with something else."""
    out = {}
    for name, pid in pids.items():
        run = wait = 0
        try:
            for task in os.listdir('/proc/%d/task' % pid):
                with open('/proc/%d/task/%s/schedstat' % (pid, task)) as f:
                    r, w, _ = f.read().split()
                run, wait = run + int(r), wait + int(w)
        except (OSError, ValueError):
            pass
        out[name] = (run, wait)
    return out


def print_floor(a, sdk, cpu, arns):
    """The floor's lines: each zero-work path against direct, and what a zero-work two-hop design scores.

    Beside the medians, the fastest round of each path: the machine's noise
    only ever adds time, so on a busy machine the fastest rounds are the
    better estimate of what the path itself costs."""
    per = {m: statistics.median(v) * 1e3 / a.calls for m, v in sdk.items()}
    low = {m: min(v) * 1e3 / a.calls for m, v in sdk.items()}
    cpc = {m: statistics.median(v) * 1e3 / a.calls for m, v in cpu.items()}
    d = per['direct']
    print('== the floor (BENCH_FLOOR=1, relays: %s): the same loop through paths that do no work (and proxy2, the '
          'peer), median of %d rounds' % (a.floor_relay, a.rounds))
    for m in per:
        if arns[m] != arns['direct'] and m not in ('gated', 'gate'):
            raise RuntimeError('%s answered as %s, direct as %s' % (m, arns[m], arns['direct']))
    for m, what in (('relay1', 'boto3 -> %s -> fake (TLS end to end)' % a.floor_relay),
                    ('relay2', 'boto3 -> %s -> %s -> fake' % (a.floor_relay, a.floor_relay)),
                    ('tunnel', 'boto3 -HTTPS_PROXY-> awsgate proxy CONNECT tunnel -> fake'),
                    ('proxy2', 'boto3 -TLS-> haproxy -HTTP/2 mTLS-> haproxy -TLS-> fake (HTTP proxies, TLS ended '
                               'at each)')):
        if m not in per:
            continue
        print('   %-8s %8.1f ms  (%.2f ms per call)  %.2fx direct, %+.2f ms per call  %s  rounds: %s' % (
            m, per[m] * a.calls, per[m], per[m] / d, per[m] - d, what,
            ' '.join('%.0f' % (x * 1e3) for x in sdk[m])))
    print('   the boto3 process\'s own CPU per call (median): %s' % ', '.join(
        '%s %.2f ms' % (m, cpc[m]) for m in ('direct', 'relay1', 'relay2', 'tunnel', 'proxy2', 'gated') if m in cpc))
    wall = per['tunnel'] - per['relay1']
    own = cpc['tunnel'] - cpc['relay1']
    print('   botocore\'s proxy handling: tunnel - relay1 = %+.2f ms per call of wall time '
          '(our tunnel hop vs the relay\'s included); %+.2f ms of the boto3 process\'s CPU' % (wall, own))
    goal = GOAL_SDK * d
    for label, extra in (('wall', wall), ('CPU', own)):
        f = per['relay2'] + max(extra, 0.0)
        print('   floor (%s): relay2 + botocore\'s proxy cost = %.2f ms per call = %.2fx direct (goal <= %.1f: '
              '%.2f ms); leaves %+.2f ms per call for all the work of both hops; gated now %.2fx' % (
                  label, f, f / d, GOAL_SDK, goal, goal - f, per['gated'] / d))
    if 'proxy2' in per:
        # The peer: the same two hops' TLS and HTTP work done by haproxy, no signatures, RBAC or credentials.
        print('   against the peer: gated / proxy2 = %.2f (median), %.2f (fastest rounds); gated %+.2f ms per call '
              'over proxy2' % (per['gated'] / per['proxy2'], low['gated'] / low['proxy2'],
                               per['gated'] - per['proxy2']))
    ld = low['direct']
    f = low['relay2'] + max(low['tunnel'] - low['relay1'], 0.0)
    print('   fastest rounds (ms per call): direct %.2f, %s; floor relay2 + (tunnel - relay1) = %.2f ms = %.2fx direct' % (
        ld, ', '.join('%s %.2f (%.2fx)' % (m, low[m], low[m] / ld)
                      for m in ('relay1', 'relay2', 'tunnel', 'proxy2', 'gated') if m in low), f, f / ld))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--calls', type=int, default=int(os.environ.get('BENCH_CALLS', '100')))
    ap.add_argument('--rounds', type=int, default=int(os.environ.get('BENCH_ROUNDS', '5')))
    ap.add_argument('--cli-runs', type=int, default=int(os.environ.get('BENCH_CLI_RUNS', '5')))
    # A command the local proxy runs under (`strace -f -c -o FILE`, `valgrind --tool=callgrind ...`): it is
    # stopped with SIGTERM to the proxy itself, so that the tool sees it end and writes its report.
    ap.add_argument('--proxy-wrap', default=os.environ.get('BENCH_PROXY_WRAP', ''))
    # The floor: the same loop through relays that do no work (docs/BENCH-CLI.md, "The floor").
    ap.add_argument('--floor', action='store_true', default=os.environ.get('BENCH_FLOOR', '0') not in ('', '0'))
    # haproxy by default: per request and answer socat 1.7.4 makes 18 system calls (select, read,
    # write and 12 failing recvfrom), haproxy 2.6 makes 11, our local proxy about 7.
    ap.add_argument('--floor-relay', choices=('haproxy', 'socat'),
                    default=os.environ.get('BENCH_FLOOR_RELAY', 'haproxy'))
    a = ap.parse_args()
    if a.floor_relay not in ('haproxy', 'socat'):  # argparse does not check a default against choices
        ap.error('BENCH_FLOOR_RELAY must be haproxy or socat, not %r' % a.floor_relay)
    if a.floor and shutil.which(a.floor_relay) is None:
        sys.exit('cli_bench.py: BENCH_FLOOR needs %s (apt-get install %s; ./bootstrap installs it)'
                 % (a.floor_relay, a.floor_relay))

    tmp = tempfile.mkdtemp(prefix='awsgate-bench-cli-')
    fake = g = proxy = None
    relays = []
    try:
        fake = ge.Fake(tmp)
        base = dict(os.environ)
        for k in list(base):
            if k.startswith('AWS_') or k.lower() in ('https_proxy', 'http_proxy', 'no_proxy'):
                del base[k]
        base['AWS_EC2_METADATA_DISABLED'] = 'true'
        # The gate's own identity; the direct path uses it too (a user of the fake).
        gate_env = dict(base, AWS_ACCESS_KEY_ID=ge.GATE_KEY, AWS_SECRET_ACCESS_KEY=ge.GATE_SECRET, HOME=tmp)
        os.environ.update(gate_env)
        g = gf.Gate({'aws': {'region': 'us-east-1', 'ca_file': fake.ca,
                             'connect_to': [{'host': '*.amazonaws.com', 'address': '127.0.0.1:%d' % fake.https}]},
                     'log': {'level': 'notice'}}, workers=1)
        apps = json.loads(json.dumps(gf.APPS))
        for app in apps:
            if app['metadata']['name'] == 'dev':
                app['spec']['aws'] = {'external_id': 'ext-dev'}  # the fake's Dev role demands it
        with open(os.path.join(g.res, 'apps.json'), 'w') as f:
            json.dump(apps, f)
        g.start()
        home = os.path.join(tmp, 'alice')
        os.makedirs(home, mode=0o700)
        user = dict(base, HOME=home, AWSGATE_AWS_CLI='/usr/bin/aws')
        cert, key = g.pki.cert('alice')
        awsgate('login', '--gate', '127.0.0.1:%d' % g.port, '--cert', cert, '--key', key, '--ca', g.pki.cacert,
                env=user)
        awsgate('apps', 'login', 'dev', '--aws-role', 'Dev', env=user)

        proxy = subprocess.Popen(a.proxy_wrap.split() + [os.path.join(gf.BUILD, 'awsgate'), 'proxy', 'aws', '--format', 'json'], env=user,
                                 stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, 'proxy.err'), 'w'))
        text, penv = '', None
        while penv is None:  # one indented JSON object
            line = proxy.stdout.readline().decode()
            if not line:
                raise RuntimeError('awsgate proxy aws printed %r:\n%s' % (text, open(os.path.join(tmp, 'proxy.err')).read()))
            text += line
            try:
                penv = json.loads(text)
            except ValueError:
                pass
        gated = dict(base, HOME=home)
        for k, v in penv.items():
            if v is None:
                gated.pop(k, None)
            else:
                gated[k] = v
        direct = dict(base, HOME=home, AWS_ACCESS_KEY_ID=ge.GATE_KEY, AWS_SECRET_ACCESS_KEY=ge.GATE_SECRET)
        endpoint = 'https://localhost:%d' % fake.https

        modes = ['direct', 'gated', 'gate']
        cert, key = g.pki.cert('alice')
        gate_only = [('https://localhost:%d' % g.port), g.pki.cacert, cert, key]
        runs = [('direct', direct, [endpoint, fake.ca]), ('gated', gated, []), ('gate', direct, gate_only)]
        if a.floor:
            # relay2: boto3 -> relay -> relay -> fake; relay1: boto3 -> relay -> fake.
            relays.append(Relay(a.floor_relay, fake.https, tmp))
            relays.append(Relay(a.floor_relay, relays[0].port, tmp))
            relays.append(Relay(a.floor_relay, fake.https, tmp))
            # tunnel: the fake under a name that is not AWS's, through the running local proxy,
            # which CONNECT-tunnels it untouched (docs/LPROXY.md: other hosts are tunnelled).
            tunnel = dict(direct, HTTPS_PROXY=penv['HTTPS_PROXY'], https_proxy=penv['HTTPS_PROXY'])
            runs += [('relay1', direct, ['https://localhost:%d' % relays[2].port, fake.ca]),
                     ('relay2', direct, ['https://localhost:%d' % relays[1].port, fake.ca]),
                     ('tunnel', tunnel, [endpoint, fake.ca])]
            modes += ['relay1', 'relay2', 'tunnel']
            if a.floor_relay == 'haproxy':
                # proxy2: boto3 -> haproxy (TLS ended, HTTP/1.1 parsed) -> HTTP/2 mTLS -> haproxy (the same)
                # -> TLS -> fake: our path's shape and its TLS and HTTP work, by another implementation.
                hca, hsrv, hcli = haproxy_pki(tmp)
                relays.append(Relay('haproxy', fake.https, tmp, tls={
                    'crt': hsrv, 'verify_ca': hca, 'alpn': 'h2', 'to_ca': fake.ca, 'to_alpn': 'http/1.1'}))
                relays.append(Relay('haproxy', relays[-1].port, tmp, tls={
                    'crt': hsrv, 'alpn': 'http/1.1', 'to_ca': hca, 'to_crt': hcli, 'to_alpn': 'h2'}))
                runs.append(('proxy2', direct, ['https://localhost:%d' % relays[-1].port, hca]))
                modes.append('proxy2')
        sdk = {m: [] for m in modes}
        cpu = {m: [] for m in modes}
        # The server side's processes, for where each path's time goes.
        pids = {'fake': fake.proc.pid, 'gate': g.proc.pid}
        if not a.proxy_wrap:
            pids['proxy'] = proxy.pid
        # relay2's two relays, relay1's, proxy2's two proxies, each named by
        # its path and its place from the fake: 'relay2b' is relay2's first hop.
        names = ['relay2a', 'relay2b', 'relay1', 'proxy2a', 'proxy2b']
        for name, r in zip(names, relays):
            pids[name] = r.proc.pid
        spent = {m: {k: [0, 0] for k in pids} for m in modes}
        arns = {}
        for _ in range(a.rounds):
            for mode, env, extra in runs:
                s0 = sched(pids)
                _, out = timed(['/usr/bin/python3', '-c', SDK_LOOP, str(a.calls), mode] + extra, env)
                s1 = sched(pids)
                for k in pids:
                    spent[mode][k][0] += s1[k][0] - s0[k][0]
                    spent[mode][k][1] += s1[k][1] - s0[k][1]
                r = json.loads(out)
                sdk[mode].append(r['s'])
                cpu[mode].append(r['cpu'])
                arns[mode] = r['arn']
        cli = {'direct': [], 'gated': []}
        for _ in range(a.cli_runs):
            dt, _ = timed(['/usr/bin/aws', 'sts', 'get-caller-identity', '--endpoint-url', endpoint],
                          dict(direct, AWS_CA_BUNDLE=fake.ca, AWS_DEFAULT_REGION='us-east-1'))
            cli['direct'].append(dt)
            dt, out = timed([os.path.join(gf.BUILD, 'awsgate'), 'aws', 'sts', 'get-caller-identity'], user)
            cli['gated'].append(dt)
            arns['cli'] = json.loads(out)['Arn']

        d, gt = statistics.median(sdk['direct']), statistics.median(sdk['gated'])
        cd, cg = (statistics.median(cli['direct']), statistics.median(cli['gated'])) if a.cli_runs else (0, 0)
        print('== awsgate proxy aws: %d sequential boto3 sts.get_caller_identity, median of %d rounds'
              % (a.calls, a.rounds))
        print('   direct to the fake AWS as %s' % arns['direct'])
        print('   through the gate as       %s' % arns['gated'])
        print('   %-8s %8.1f ms  (%.2f ms per call)  rounds: %s' % ('direct', d * 1e3, d * 1e3 / a.calls,
                                                                  ' '.join('%.0f' % (x * 1e3) for x in sdk['direct'])))
        print('   %-8s %8.1f ms  (%.2f ms per call)  rounds: %s' % ('gated', gt * 1e3, gt * 1e3 / a.calls,
                                                                 ' '.join('%.0f' % (x * 1e3) for x in sdk['gated'])))
        print('   ratio gated/direct %.2f (goal <= %.1f): %s; %+.2f ms per call' % (
            gt / d, GOAL_SDK, 'met' if gt / d <= GOAL_SDK else 'NOT met', (gt - d) * 1e3 / a.calls))
        go = statistics.median(sdk['gate'])
        print('   diagnostic: the SDK straight to awsgated with the certificate (no local proxy): %.2f ms per call; '
              'so the gate adds %+.2f ms and the local proxy %+.2f ms per call' % (
                  go * 1e3 / a.calls, (go - d) * 1e3 / a.calls, (gt - go) * 1e3 / a.calls))
        print('   the boto3 process\'s own CPU per call (median): direct %.2f ms, gated %.2f ms, gate %.2f ms' % tuple(
            statistics.median(cpu[m]) * 1e3 / a.calls for m in ('direct', 'gated', 'gate')))
        n = a.rounds * (a.calls + 1)
        # The fake is left out: it serves each connection on a thread of its
        # own, whose account ends with the connection, so only the gate's
        # long-lived connection would show.
        n = a.rounds * (a.calls + 1)
        print('   where the time goes, per call: each of our and the relays\' processes, microseconds on a CPU / '
              'runnable but waiting for one (/proc/PID/task/*/schedstat, all rounds, warm-up call included):')
        for m in modes:
            print('   %-8s %s' % (m, '  '.join('%s %.0f / %.0f' % (k, v[0] / n / 1e3, v[1] / n / 1e3)
                                            for k, v in spent[m].items() if k != 'fake' and v[0] > n * 5000)))
        if a.floor:
            print_floor(a, sdk, cpu, arns)
        if a.cli_runs == 0:
            return
        print('== awsgate aws sts get-caller-identity (%s) vs /usr/bin/aws direct, median of %d' % (arns['cli'], a.cli_runs))
        print('   direct %.0f ms, through awsgate %.0f ms: %+.0f ms added (%.2fx)' % (cd * 1e3, cg * 1e3, (cg - cd) * 1e3, cg / cd))
    finally:
        for r in relays:
            r.stop()
        if proxy is not None and a.proxy_wrap:
            # strace runs the proxy as its child; valgrind runs it in its own process.
            for pid in wrapped_children(proxy.pid) or [proxy.pid]:
                os.kill(pid, signal.SIGTERM)
            try:
                proxy.wait(60)
            except subprocess.TimeoutExpired:
                pass
        if proxy is not None:
            proxy.terminate()
            try:
                proxy.wait(10)
            except subprocess.TimeoutExpired:
                proxy.kill()
        if g is not None:
            g.cleanup()
        if fake is not None:
            fake.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
