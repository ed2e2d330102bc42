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
5. read the resident memory of every process of the system, summed;
6. where the system offers them (`Adapter.offered`): round trips with the
   one-call `addAndWait`, taken in turn with step 2's, and the batched burst
   again with a task that reports progress 100 times per job.

Each figure is the median over `--repeat` runs.  The systems take turns in
each repeat, so a slow spell of the machine touches them all alike.  After
the tables, the goals table checks issue 10's "Done when" (and issue 13's
progress figure): each a ratio of two medians, against its goal.
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

from adapter import ADD_AND_WAIT, PROGRESS, startSeconds, stopAll
from goals import goalsReport
from tables import cell, ratio, table
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
# The same for the optional features, in a table of their own: only the
# systems that can offer them (`Adapter.optionalFeatures`) have a row.
extraColumns = [
    ('oneCallP50', 'addAndWait p50 ms', '{:.2f}', ADD_AND_WAIT),
    ('oneCallP99', 'addAndWait p99 ms', '{:.2f}', ADD_AND_WAIT),
    ('e2eProgress', 'e2e/s batched, progress x100', '{:,.0f}', PROGRESS),
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
    """One run of one system: a dict of the table's figures.

    A feature the system does not offer has the figure None, and the
    reason in figures['why'][key].
    """
    try:
        adapter.start()
        adapter.roundTrip(-1, timeout=startSeconds)
        offered = adapter.offered()
        for k in range(arguments.warmup):
            adapter.roundTrip(-2 - k)
            optional(offered, ADD_AND_WAIT, adapter.addAndWait, -2 - k)
        return measureStarted(adapter, arguments, offered)
    finally:
        adapter.stop()


def measureStarted(adapter, arguments, offered):
    """The measurements of measureOnce, on a started, warmed-up system."""
    latencies, oneCallLatencies = [], []
    for k in range(arguments.samples):
        # In turn, so that both forms see the same spells of the machine.
        began = time.perf_counter()
        adapter.roundTrip(k)
        latencies.append(time.perf_counter() - began)
        began = time.perf_counter()
        if optional(offered, ADD_AND_WAIT, adapter.addAndWait, k):
            oneCallLatencies.append(time.perf_counter() - began)
    figures = {'p50': percentile(latencies, 50) * 1000,
               'p99': percentile(latencies, 99) * 1000}
    if offered.get(ADD_AND_WAIT) is None:
        figures['oneCallP50'] = percentile(oneCallLatencies, 50) * 1000
        figures['oneCallP99'] = percentile(oneCallLatencies, 99) * 1000
    figures['enqueueSingle'], figures['e2eSingle'] = burst(
        adapter, arguments.n, None)
    figures['enqueueBatched'], figures['e2eBatched'] = burst(
        adapter, arguments.n, arguments.batch)
    figures['rssMb'] = adapter.rss() / 2 ** 20
    progressBurst = optional(offered, PROGRESS, burst, adapter, arguments.n,
                             arguments.batch, adapter.enqueueManyProgress)
    if progressBurst:
        figures['e2eProgress'] = progressBurst[1]
    figures['why'] = {}
    for key, *_, feature in extraColumns:
        figures.setdefault(key, None)
        if offered.get(feature) is not None:
            figures['why'][key] = offered[feature]
    return figures


def optional(offered, feature, function, *args):
    """function(*args) if the system offers `feature`, its result (True
    for None); else None.  A failure marks the feature failed in `offered`
    (with the error, for the notes) instead of failing the system, so that
    its other figures stand."""
    if offered.get(feature) is not None:
        return None
    try:
        result = function(*args)
    except Exception as error:  # Reported in the optional-features table.
        offered[feature] = f'failed ({type(error).__name__}: {error})'
        return None
    return True if result is None else result


def burst(adapter, n, batch, enqueueMany=None):
    """Enqueue n jobs from one producer; return (enqueue/s, e2e/s).

    Batched with `enqueueMany` (the adapter's by default) when `batch` is
    given, else one call per job.
    """
    enqueueMany = enqueueMany or adapter.enqueueMany
    handles = []
    began = time.perf_counter()
    if batch is None:
        for k in range(n):
            handles.append(adapter.enqueueOne(k))
    else:
        for start in range(0, n, batch):
            handles.extend(enqueueMany(range(start, min(n, start + batch))))
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
                                 for key, header, fmt, *_ in
                                 columns + extraColumns
                                 if figures.get(key) is not None)
                     + f' ({time.monotonic() - began:.0f} s)')
    return runs, failures


def medians(runs):
    """name -> key -> the median of its runs' figures (None where no run
    has one), and 'why' -> key -> why the last run had none."""
    results = {}
    for name, measured in runs.items():
        if not measured:
            continue
        results[name] = {'why': dict(measured[-1].get('why', {}))}
        for key, *_ in columns + extraColumns:
            values = [run[key] for run in measured
                      if run.get(key) is not None]
            results[name][key] = statistics.median(values) if values \
                else None
    return results


def report(arguments, runs, failures):
    """The tables and the notes, as text."""
    results = medians(runs)
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
    extraRows = [name for name in names if byName[name].optionalFeatures]
    if extraRows:
        out.append('\nOptional features (medians; "progress x100": the '
                   'batched burst with a task reporting progress 100 times '
                   'a job)\n')
        out.append(table(
            [[name] + [cell(results[name], key, fmt)
                       for key, _, fmt, _ in extraColumns]
             for name in extraRows],
            ['system'] + [header for _, header, _, _ in extraColumns]))
        features = {key: feature for key, *_, feature in extraColumns}
        whys = {}
        for name in extraRows:
            for key, why in results[name]['why'].items():
                names = whys.setdefault((features[key], why), [])
                if name not in names:
                    names.append(name)
        out.extend(f'  {feature} on {", ".join(names)}: {why}'
                   for (feature, why), names in whys.items())
    out.append(goalsReport(arguments, runs, results, failures))
    out.append('\nSystems:')
    for name in arguments.only:
        out.append(f'  {name}: {byName[name].description}')
    for name, why in failures.items():
        out.append(f'\n{name} could not be measured:\n{why}')
    return '\n'.join(out)


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
    print(report(arguments, runs, failures))
    print(f'\ntook {time.monotonic() - began:.0f} s; load average after: '
          f'{loadAverage()}')
    if failures:
        print(f'logs kept in {runDir}')
        return 1
    shutil.rmtree(runDir, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
