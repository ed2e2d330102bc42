"""What a caller's credentials cost the server (issue 22).

    python bench/authcost.py [--calls 2000] [--repeat 5]

Starts the daemon (SQLite, two worker processes, --examples) in three
ways, in turn, `repeat` times: open (no --users); with --users and a
user's plain password; with --users, --roles and a caller's API token as
the Basic password (the token allowed the task echo alone). Each time
one client makes `calls` single `add` calls and then `calls` `getStatus`
calls, one round trip each on a kept connection, and the daemon's CPU
time (utime + stime of twistd and its workers, from /proc) is read
around each burst. Prints the medians per call and their ratios to the
open server: CPU time, rather than throughput, stays steady on a busy
machine.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

TICK = os.sysconf('SC_CLK_TCK')
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TWISTD = os.path.join(os.path.dirname(sys.executable), 'twistd')
CONFIGS = ('open', 'password', 'token')


def cpuSeconds(pid):
    """utime + stime of ``pid`` and its children alive now, in seconds."""
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            with open(f'/proc/{current}/stat') as file:
                fields = file.read().rsplit(')', 1)[1].split()
            with open(f'/proc/{current}/task/{current}/children') as file:
                pids.extend(int(child) for child in file.read().split())
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def start(directory, config):
    """The daemon for ``config``: (process, client proxy)."""
    portfile = os.path.join(directory, 'port')
    options = []
    if config != 'open':
        with open(os.path.join(directory, 'users'), 'w') as file:
            file.write('admin:admin-pw\n')
        options.append(f'--users={directory}/users')
    if config == 'token':
        with open(os.path.join(directory, 'roles'), 'w') as file:
            file.write('admin admin\n')
        options.append(f'--roles={directory}/roles')
    process = subprocess.Popen(
        [sys.executable, TWISTD, '-n', '--pidfile=',
         f'--logfile={directory}/twistd.log', 'remotetask',
         '--listen=tcp:0:interface=127.0.0.1', f'--portfile={portfile}',
         f'--store=sqlite:{directory}/jobs.sqlite', '--examples',
         '--workers=2', '--log-jobs=none', *options],
        cwd=directory, env=dict(os.environ, PYTHONPATH=ROOT),
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not os.path.exists(portfile):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f'the daemon did not start; see {directory}')
        time.sleep(0.05)
    with open(portfile) as file:
        port = int(file.read())
    credentials = ''
    if config == 'password':
        credentials = 'admin:admin-pw@'
    elif config == 'token':
        admin = xmlrpc.client.ServerProxy(
            f'http://admin:admin-pw@127.0.0.1:{port}/')
        token = admin.token.create('svc', 'caller', ['echo'])['token']
        credentials = f'svc:{token}@'
    return process, xmlrpc.client.ServerProxy(
        f'http://{credentials}127.0.0.1:{port}/', allow_none=True)


def measure(config, calls):
    """CPU seconds per call of ``add`` and of ``getStatus``."""
    with tempfile.TemporaryDirectory(prefix='authcost-') as directory:
        process, server = start(directory, config)
        try:
            for k in range(50):
                server.getStatus(server.add('echo', {'i': k}))
            before = cpuSeconds(process.pid)
            ids = [server.add('echo', {'i': k}) for k in range(calls)]
            added = cpuSeconds(process.pid)
            for jobid in ids:
                server.getStatus(jobid)
            read = cpuSeconds(process.pid)
            return (added - before) / calls, (read - added) / calls
        finally:
            process.kill()
            process.wait(60)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--calls', type=int, default=2000)
    parser.add_argument('--repeat', type=int, default=5)
    arguments = parser.parse_args(argv)
    figures = {config: [] for config in CONFIGS}
    for repeat in range(arguments.repeat):
        shift = repeat % len(CONFIGS)
        for config in CONFIGS[shift:] + CONFIGS[:shift]:
            figures[config].append(measure(config, arguments.calls))
    open_ = [statistics.median(run[i] for run in figures['open'])
             for i in (0, 1)]
    print(f'daemon CPU per call, median of {arguments.repeat} runs of '
          f'{arguments.calls} calls (ratio to open):')
    for config in CONFIGS:
        add, status = (statistics.median(run[i] for run in figures[config])
                       for i in (0, 1))
        print(f'  {config:<9} add {add * 1e6:7.0f} us ({add / open_[0]:.3f})'
              f'   getStatus {status * 1e6:7.0f} us '
              f'({status / open_[1]:.3f})')


if __name__ == '__main__':
    main()
