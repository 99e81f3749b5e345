# SPDX-License-Identifier: Apache-2.0
# hop_trace.py: where a relaying process spends each request: user-space time between its system calls and kernel time in them, from perf's syscall tracepoints.
#
# Usage (root, perf installed; docs/BENCH-CLI.md, "Where the time goes"):
#   /usr/bin/python3 tests/bench/hop_trace.py --seconds 1 PID [PID...]
# while a steady load runs through the processes (e.g. BENCH_CALLS=4000 make
# bench-cli). For each thread it groups the work between two epoll_wait calls
# by the system calls made in it (e.g. "read(13) write(15)": one request
# forwarded) and prints, for each group seen often enough, the median time of
# each segment: user space after epoll_wait returns, each call in the kernel,
# user space after it, ... up to the next epoll_wait. The trace adds a few
# microseconds to each system call and none to user space.
import argparse
import collections
import os
import statistics
import subprocess
import sys
import tempfile

NAMES = {0: 'read', 1: 'write', 7: 'poll', 20: 'writev', 44: 'sendto', 45: 'recvfrom', 202: 'futex',
         232: 'epoll_wait', 233: 'epoll_ctl', 281: 'epoll_pwait', 46: 'sendmsg', 47: 'recvmsg'}
WAITS = (7, 232, 281)


def parse(lines):
    """Per thread id, a list of (time in us, 'enter'|'exit', syscall number, first argument)."""
    per = collections.defaultdict(list)
    for line in lines:
        f = line.split()
        # comm tid [cpu] time: raw_syscalls:sys_enter: NR n (args...)  /  ...sys_exit: NR n = ret
        try:
            i = next(k for k, x in enumerate(f) if x.startswith('raw_syscalls:'))
        except StopIteration:
            continue
        tid, t, kind, nr = f[i - 2], float(f[i - 1].rstrip(':')) * 1e6, f[i], int(f[i + 2])
        if kind.startswith('raw_syscalls:sys_enter'):
            arg = f[i + 3].strip('(,') if len(f) > i + 3 else ''
            per[tid].append((t, 'enter', nr, arg))
        else:
            per[tid].append((t, 'exit', nr, ''))
    return per


def groups(events):
    """{pattern: [[segment us, ...], ...]} for the work between consecutive waits."""
    out = collections.defaultdict(list)
    cur, names, last = None, None, None
    for t, kind, nr, arg in events:
        if kind == 'exit' and nr in WAITS:
            cur, names, last = [], [], t
            continue
        if cur is None:
            continue
        cur.append(t - last)
        last = t
        if kind == 'enter':
            if nr in WAITS:
                out[' '.join(names)].append(cur)
                cur = None
            else:
                names.append('%s(%s)' % (NAMES.get(nr, str(nr)), int(arg, 16) if arg else ''))
    return out


def main():
    ap = argparse.ArgumentParser(description='Where a relaying process spends each request, from perf\'s syscall tracepoints.')
    ap.add_argument('--seconds', type=float, default=1.0)
    ap.add_argument('--min', type=int, default=20, help='least occurrences of a pattern to print it')
    ap.add_argument('pids', nargs='+', type=int)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix='hop-trace-') as tmp:
        data = os.path.join(tmp, 'perf.data')
        rec = subprocess.run(['perf', 'record', '-q', '-e', 'raw_syscalls:sys_enter,raw_syscalls:sys_exit',
                              '-p', ','.join(str(p) for p in a.pids), '-o', data, '--', 'sleep', str(a.seconds)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if rec.returncode != 0:
            sys.exit('hop_trace.py: perf record failed (root? perf installed? tracefs mounted?):\n' + rec.stderr)
        text = subprocess.run(['perf', 'script', '-i', data, '-F', 'comm,tid,time,event,trace'],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=True).stdout
    for tid, events in sorted(parse(text.splitlines()).items()):
        shown = [(k, v) for k, v in groups(events).items() if len(v) >= a.min]
        if not shown:
            continue
        print('thread %s' % tid)
        for pattern, runs in sorted(shown, key=lambda kv: -len(kv[1])):
            width = min(len(r) for r in runs)
            med = [statistics.median(r[i] for r in runs) for i in range(width)]
            # Segments alternate: user, kernel (call 1), user, kernel (call 2), ..., user.
            user = sum(med[0::2])
            kern = sum(med[1::2])
            print('  %5d x  %s' % (len(runs), pattern or '(nothing)'))
            print('           us: %s   (user %.0f, kernel %.0f, total %.0f)' % (
                ' '.join('%.0f' % m for m in med), user, kern, user + kern))


if __name__ == '__main__':
    main()
