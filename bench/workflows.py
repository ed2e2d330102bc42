"""What jobs that wait for other jobs cost (issue 21).

    PYTHONPATH=. python bench/workflows.py [--n 10000] [--chain 1000]
        [--repeat 3] [--stores sqlite,postgresql]

On each store (SQLite with one daemon; PostgreSQL with three sharing one
fresh database), with the no-op task `count` (bench/workflowtasks.py):

- chain: `addChain` of --chain steps, each waiting for the one before
  with its result, until the last has completed (one run);
- fan-in: `addGroup` of --n steps with a fan-in `then` waiting for them
  all, until the fan-in has completed (with --n results);
- independent: the same --n jobs added by `addGroup` without `then`, and
  one more job, until all of them have completed.

Each run is end to end: from the add until every job has completed. The
figures are medians over --repeat runs, the fan-in and the independent
runs taken in turn so that both see the same spells of a noisy machine;
"ratio" divides the fan-in's median by the independent one's (issue 21's
goal: at most 1.2). CPU is the daemons' and their workers' user+system
seconds over the run, from /proc, which a loaded machine moves less than
wall time.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TWISTD = os.path.join(os.path.dirname(sys.executable), 'twistd')
ADMIN_URL = os.environ.get('REMOTETASK_BENCH_POSTGRESQL',
                           'postgresql://postgres@127.0.0.1:5432/postgres')
DATABASE = 'remotetask_bench_workflows'
TICKS = os.sysconf('SC_CLK_TCK')


class Daemons:
    """Daemons on one store, started with the bounds the runs need."""

    def __init__(self, store, count, workers, directory):
        self.processes, self.proxies = [], []
        for index in range(count):
            portfile = os.path.join(directory, f'port{index}')
            self.processes.append(subprocess.Popen(
                [sys.executable, TWISTD, '-n', '--pidfile=',
                 f'--logfile={directory}/daemon{index}.log', 'remotetask',
                 '--listen=tcp:0:interface=127.0.0.1',
                 f'--portfile={portfile}', f'--store={store}',
                 '--task=count=workflowtasks:count', f'--workers={workers}',
                 '--max-after=100000', '--max-steps=100000'],
                cwd=directory, env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                    [ROOT, HERE])), stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT))
            self.proxies.append(xmlrpc.client.ServerProxy(
                f'http://127.0.0.1:{_port(portfile, self.processes[-1])}/',
                allow_none=True))

    def cpu(self):
        """User+system seconds of the daemons and their live workers."""
        return sum(_cpu(pid) for process in self.processes
                   for pid in [process.pid, *_children(process.pid)])

    def stop(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(60)


def _port(portfile, process, timeout=60):
    deadline = time.monotonic() + timeout
    while not os.path.exists(portfile):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f'the daemon did not start; see its log beside '
                             f'{portfile}')
        time.sleep(0.05)
    with open(portfile) as file:
        return int(file.read())


def _children(pid):
    try:
        with open(f'/proc/{pid}/task/{pid}/children') as file:
            return [int(child) for child in file.read().split()]
    except OSError:
        return []


def _cpu(pid):
    try:
        with open(f'/proc/{pid}/stat') as file:
            fields = file.read().rsplit(')', 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def waitAll(server, ids, timeout=600):
    """Until every job of ``ids`` (and every other job of the store) has
    ended, bounded in time: a server-side wait for the last one, then for
    any job still unfinished, found through the status index (one short
    page per status), so that waiting costs the server about as little
    as the fan-in's one wait does. None may have failed (``count`` never
    does)."""
    deadline = time.monotonic() + timeout
    server.wait(ids[-1], 60)
    while True:
        if time.monotonic() > deadline:
            raise SystemExit(f'jobs unfinished after {timeout} s')
        unfinished = [job['id'] for status in ('waiting', 'queued',
                                                'processing')
                      for job in server.getJobs({'status': status,
                                                 'limit': 1})['jobs']]
        if not unfinished:
            break
        server.wait(unfinished[0], 60)
    for status in ('error', 'cancelled'):
        if server.getJobs({'status': status, 'limit': 1})['jobs']:
            raise SystemExit(f'a job ended {status}')


def timed(daemons, run):
    """``(seconds, cpu seconds)`` of ``run(server)``."""
    server = daemons.proxies[0]
    cpu, began = daemons.cpu(), time.monotonic()
    run(server)
    return time.monotonic() - began, daemons.cpu() - cpu


def chain(length):
    def run(server):
        ids = server.addChain([['count', k] for k in range(length)])
        waitAll(server, ids[-1:])
        assert server.getResult(ids[-1]) == 1
    return run


def fanIn(n):
    def run(server):
        ids = server.addGroup([['count', k] for k in range(n)],
                              ['count', 'all'])
        waitAll(server, ids[-1:])
        assert server.getResult(ids[-1]) == n
    return run


def independent(n):
    def run(server):
        ids = server.addGroup([['count', k] for k in range(n)])
        ids.append(server.add('count', 'all'))
        waitAll(server, ids)
    return run


def storeFor(kind, directory):
    if kind == 'sqlite':
        return f'sqlite:{directory}/jobs.sqlite', 1, 2
    import psycopg
    from psycopg import sql
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL('DROP DATABASE IF EXISTS {} WITH (FORCE)')
                      .format(sql.Identifier(DATABASE)))
        admin.execute(sql.SQL('CREATE DATABASE {}').format(
            sql.Identifier(DATABASE)))
    url = ADMIN_URL.rsplit('/', 1)[0] + f'/{DATABASE}'
    return url, 3, 1


def bench(kind, arguments):
    with tempfile.TemporaryDirectory(prefix='bench-workflows-') as directory:
        store, count, workers = storeFor(kind, directory)
        daemons = Daemons(store, count, workers, directory)
        try:
            figures = {'chain': [], 'fan-in': [], 'independent': []}
            # One chain: it runs one step at a time, so it is long, and
            # the load of a shared machine moves it little.
            figures['chain'].append(timed(daemons, chain(arguments.chain)))
            for repeat in range(arguments.repeat):
                order = [('fan-in', fanIn), ('independent', independent)]
                for name, make in order[::1 if repeat % 2 == 0 else -1]:
                    figures[name].append(timed(daemons, make(arguments.n)))
                print(f'{kind} repeat {repeat + 1}: ' + ', '.join(
                    f'{name} {runs[-1][0]:.2f} s' for name, runs in
                    figures.items()), file=sys.stderr)
        finally:
            daemons.stop()
    return figures


def report(kind, arguments, figures):
    servers = 'one daemon, 2 workers' if kind == 'sqlite' else \
        'three daemons, 1 worker each'
    print(f'\n{kind} ({servers}), median of {arguments.repeat}:')
    print(f'{"run":<34}{"seconds":>9}{"CPU s":>9}')
    rows = (('chain', f'chain of {arguments.chain} (one run)'),
            ('fan-in', f'fan-out of {arguments.n} + fan-in'),
            ('independent', f'{arguments.n} independent + 1'))
    for name, label in rows:
        wall = statistics.median(run[0] for run in figures[name])
        cpu = statistics.median(run[1] for run in figures[name])
        print(f'{label:<34}{wall:>9.2f}{cpu:>9.2f}')
    ratio = [statistics.median(run[i] for run in figures['fan-in']) /
             statistics.median(run[i] for run in figures['independent'])
             for i in (0, 1)]
    print(f'{"fan-in / independent":<34}{ratio[0]:>9.2f}{ratio[1]:>9.2f}'
          f'   (goal: at most 1.2)')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--n', type=int, default=10000)
    parser.add_argument('--chain', type=int, default=1000)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--stores', default='sqlite,postgresql')
    arguments = parser.parse_args(argv)
    # Stopped with SIGTERM: stop the daemons too (the finally of bench).
    signal.signal(signal.SIGTERM, lambda *args: sys.exit(1))
    print(f'$ {" ".join(sys.argv)}\n{os.uname().nodename}, '
          f'{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}')
    for kind in arguments.stores.split(','):
        report(kind, arguments, bench(kind, arguments))


if __name__ == '__main__':
    main()
