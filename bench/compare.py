"""Measure remotetask side by side with other task queues; print the table.

Run through bench/run, which builds bench/.venv.  For every system (one
`adapter.Adapter` subclass each) and every repeat, in a fresh work
directory with fresh processes:

1. start it, and wait for a first round trip (workers ready);
2. warm up with a few round trips, then time `--samples` round trips on
   the idle system: add, then wait for the result (p50, p99);
3. burst: one producer makes `--n` adds one call each, as fast as it can;
   "enqueue/s" is n / (time to return from the last add), "e2e/s" is
   n / (time until every result is readable), both from the first add;
4. the same burst with `--batch` jobs per call;
5. read the resident memory of every process of the system, summed.

Each figure is the median over `--repeat` runs.  The systems take turns in
each repeat, so a slow spell of the machine touches them all alike.
"""

import argparse
import importlib.metadata
import os
import platform
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from adapter import startSeconds, stopAll
from competitors import Celery, Procrastinate, RedisHuey, Rq, SqliteHuey
from xmlrpcsystems import (
    Ceiling, RemoteTask, RemoteTaskPostgres, RemoteTaskPostgresPair)

systems = [RemoteTask, RemoteTaskPostgres, RemoteTaskPostgresPair, Ceiling,
           Celery, Rq, SqliteHuey, RedisHuey, Procrastinate]
byName = {system.name: system for system in systems}

# (key, header, format) of each column of the table.
columns = [
    ('e2eSingle', 'e2e/s single', '{:,.0f}'),
    ('e2eBatched', 'e2e/s batched', '{:,.0f}'),
    ('enqueueSingle', 'enqueue/s single', '{:,.0f}'),
    ('enqueueBatched', 'enqueue/s batched', '{:,.0f}'),
    ('p50', 'round trip p50 ms', '{:.2f}'),
    ('p99', 'round trip p99 ms', '{:.2f}'),
    ('rssMb', 'RSS MB', '{:.1f}'),
]


def parseArguments(argv):
    parser = argparse.ArgumentParser(
        prog='bench/run', description=__doc__.split('\n')[0])
    parser.add_argument('--n', type=int, default=5000,
                        help='jobs per burst (default 5000)')
    parser.add_argument('--repeat', type=int, default=3,
                        help='runs per system; the median is shown')
    parser.add_argument('--batch', type=int, default=500,
                        help='jobs per call in batched bursts')
    parser.add_argument('--samples', type=int, default=200,
                        help='round trips timed per run')
    parser.add_argument('--warmup', type=int, default=20,
                        help='round trips before timing, per run')
    parser.add_argument('--only', default=','.join(byName),
                        help='comma-separated systems, of: '
                        + ', '.join(byName))
    parser.add_argument('--baseline', default='remotetask',
                        help='the system the ratios are relative to')
    parser.add_argument('--quick', action='store_true',
                        help='--n 500 --repeat 1 --samples 50 --warmup 5')
    arguments = parser.parse_args(argv)
    if arguments.quick:
        arguments.n, arguments.repeat = 500, 1
        arguments.samples, arguments.warmup = 50, 5
    arguments.only = [name.strip() for name in arguments.only.split(',')
                      if name.strip()]
    unknown = [name for name in arguments.only if name not in byName]
    if unknown:
        parser.error(f'unknown system(s) {", ".join(unknown)}; '
                     f'known: {", ".join(byName)}')
    if min(arguments.n, arguments.repeat, arguments.batch,
           arguments.samples) < 1:
        parser.error('--n, --repeat, --batch and --samples must be >= 1')
    return arguments


def measureOnce(adapter, arguments):
    """One run of one system: a dict of the table's figures."""
    try:
        adapter.start()
        adapter.roundTrip(-1, timeout=startSeconds)
        for k in range(arguments.warmup):
            adapter.roundTrip(-2 - k)
        latencies = []
        for k in range(arguments.samples):
            began = time.perf_counter()
            adapter.roundTrip(k)
            latencies.append(time.perf_counter() - began)
        figures = {'p50': percentile(latencies, 50) * 1000,
                   'p99': percentile(latencies, 99) * 1000}
        figures['enqueueSingle'], figures['e2eSingle'] = burst(
            adapter, arguments.n, None)
        figures['enqueueBatched'], figures['e2eBatched'] = burst(
            adapter, arguments.n, arguments.batch)
        figures['rssMb'] = adapter.rss() / 2 ** 20
        return figures
    finally:
        adapter.stop()


def burst(adapter, n, batch):
    """Enqueue n jobs from one producer; return (enqueue/s, e2e/s)."""
    handles = []
    began = time.perf_counter()
    if batch is None:
        for k in range(n):
            handles.append(adapter.enqueueOne(k))
    else:
        for start in range(0, n, batch):
            handles.extend(adapter.enqueueMany(
                range(start, min(n, start + batch))))
    enqueued = time.perf_counter()
    adapter.waitAll(handles)
    done = time.perf_counter()
    return n / (enqueued - began), n / (done - began)


def percentile(values, p):
    """The nearest-rank percentile: a value that was actually measured."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def describeFailure(adapter, error):
    """The error, and the end of each log of the system's processes."""
    lines = [f'{type(error).__name__}: {error}']
    for worker in adapter.workers:
        if str(worker.logPath) in str(error):
            continue  # Its log is in the message already.
        lines.append(f'  {worker.label}:')
        lines.append(worker.logTail())
    return '\n'.join(lines)


def runAll(arguments, runDir):
    """Every selected system, `repeat` times; (runs by name, failures)."""
    runs = {name: [] for name in arguments.only}
    failures = {}
    for repeat in range(arguments.repeat):
        # Take turns in a rotating order, so none is always first.
        shift = repeat % len(arguments.only)
        order = arguments.only[shift:] + arguments.only[:shift]
        for name in order:
            if name in failures:
                continue
            workDir = Path(runDir) / f'{name}-{repeat + 1}'
            workDir.mkdir()
            adapter = byName[name](workDir)
            began = time.monotonic()
            try:
                figures = measureOnce(adapter, arguments)
            except Exception as error:  # One system failing is reported.
                failures[name] = describeFailure(adapter, error)
                progress(f'[{repeat + 1}/{arguments.repeat}] {name} FAILED '
                         f'(logs in {workDir}):\n{failures[name]}')
                continue
            runs[name].append(figures)
            progress(f'[{repeat + 1}/{arguments.repeat}] {name}: '
                     + ', '.join(f'{header} ' + fmt.format(figures[key])
                                 for key, header, fmt in columns)
                     + f' ({time.monotonic() - began:.0f} s)')
    return runs, failures


def medians(runs):
    return {name: {key: statistics.median(run[key] for run in measured)
                   for key, _, _ in columns}
            for name, measured in runs.items() if measured}


def table(rows, headers):
    """Plain text, first column left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [headers] + rows)
              for i in range(len(headers))]
    lines = []
    for number, row in enumerate([headers] + rows):
        cells = [str(row[0]).ljust(widths[0])] + [
            str(cell).rjust(width) for cell, width in zip(row[1:], widths[1:])]
        lines.append('  '.join(cells).rstrip())
        if number == 0:
            lines.append('  '.join('-' * width for width in widths))
    return '\n'.join(lines)


def report(arguments, results, failures):
    """The two tables and the notes, as text."""
    headers = ['system'] + [header for _, header, _ in columns]
    names = [name for name in arguments.only if name in results]
    out = [table([[name] + [fmt.format(results[name][key])
                            for key, _, fmt in columns] for name in names],
                 headers)]
    baseline = arguments.baseline
    if baseline not in results and names:
        out.append(f'\n(no figures for {baseline}: ratios are relative to '
                   f'{names[0]} instead)')
        baseline = names[0]
    if names:
        out.append(f'\nRatios: each figure divided by {baseline}\'s '
                   '(throughput: higher is better; latency, RSS: lower is '
                   'better)\n')
        out.append(table(
            [[name] + [ratio(results[name][key], results[baseline][key])
                       for key, _, _ in columns] for name in names],
            headers))
    out.append('\nSystems:')
    for name in arguments.only:
        out.append(f'  {name}: {byName[name].description}')
    for name, why in failures.items():
        out.append(f'\n{name} could not be measured:\n{why}')
    return '\n'.join(out)


def ratio(value, base):
    if not base:
        return '-'
    quotient = value / base
    # Two decimals, or one significant digit where those would show 0.00.
    return f'{quotient:.2f}x' if quotient >= 0.095 else f'{quotient:.1g}x'


def header(arguments):
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
    return '\n'.join([
        '$ bench/run ' + shlex.join(sys.argv[1:]),
        f'machine: {len(os.sched_getaffinity(0))} cores (nproc), {model}; '
        f'Python {platform.python_version()}; {platform.system()} '
        f'{platform.release()}',
        'versions: ' + ', '.join(versions),
        f'load average before the run: {loadAverage()} (anything above '
        f'~0.3 means other work shares the cores: figures are noisier)',
        f'workload: no-op echo jobs, input {{"i": k}}; n = {arguments.n} '
        f'per burst, batches of {arguments.batch}, {arguments.samples} '
        f'round trips; median of {arguments.repeat}',
    ])


def loadAverage():
    return Path('/proc/loadavg').read_text().split()[0]


def progress(text):
    print(text, file=sys.stderr, flush=True)


def main(argv):
    arguments = parseArguments(argv)
    # A TERM must unwind through the finally below, which stops workers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.monotonic()
    print(header(arguments), flush=True)
    runDir = tempfile.mkdtemp(prefix='remotetask-bench-')
    try:
        runs, failures = runAll(arguments, runDir)
    finally:
        stopAll()
    print()
    print(report(arguments, medians(runs), failures))
    print(f'\ntook {time.monotonic() - began:.0f} s; load average after: '
          f'{loadAverage()}')
    if failures:
        print(f'logs kept in {runDir}')
        return 1
    shutil.rmtree(runDir, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
