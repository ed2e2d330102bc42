"""What every bench prints about its run: the command, the machine, the load.

So that a table can be reproduced, and read against how busy the machine
was; and the progress lines every bench writes on stderr.
"""

import importlib.metadata
import os
import platform
import shlex
import signal
import sys
import time
from pathlib import Path


def header(arguments, command='bench/run', workload=None):
    """The command line and the machine, so a table can be reproduced."""
    versions = []
    for package in ('remotetask', 'twisted', 'celery', 'rq', 'huey',
                    'procrastinate', 'redis', 'psycopg'):
        try:
            versions.append(f'{package} {importlib.metadata.version(package)}')
        except importlib.metadata.PackageNotFoundError:
            versions.append(f'{package} (not installed)')
    model = next((line.split(':', 1)[1].strip() for line in
                  Path('/proc/cpuinfo').read_text().splitlines()
                  if line.startswith('model name')), platform.machine())
    workload = workload or (
        f'n = {arguments.n} per burst, batches of {arguments.batch}, '
        f'{arguments.samples} round trips; median of {arguments.repeat}')
    return '\n'.join([
        f'$ {command} ' + shlex.join(sys.argv[1:]),
        f'machine: {len(os.sched_getaffinity(0))} cores (nproc), {model}; '
        f'Python {platform.python_version()}; {platform.system()} '
        f'{platform.release()}',
        'versions: ' + ', '.join(versions),
        f'load average before the run: {loadAverage()} (anything above '
        f'~0.3 means other work shares the cores: figures are noisier)',
        f'workload: no-op echo jobs, input {{"i": k}}; {workload}',
    ])


def begin(arguments, command='bench/run', workload=None):
    """Start a bench's run: print its header; return the time it began.

    A TERM then unwinds through the bench's finally blocks, which stop
    the processes it started, as an interrupt does.
    """
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(header(arguments, command, workload), flush=True)
    return time.monotonic()


def ended(began):
    """The last line of a run: how long it took, and the load after."""
    return (f'took {time.monotonic() - began:.0f} s; load average after: '
            f'{loadAverage()}')


def loadAverage():
    return Path('/proc/loadavg').read_text().split()[0]


def progress(text):
    print(text, file=sys.stderr, flush=True)
