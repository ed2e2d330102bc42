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
   "CPU ms/job" is the CPU time (utime+stime) the system's processes and
   its broker spent over the burst, divided by n (measure.burst);
4. the same burst with `--batch` jobs per call;
5. read the resident memory of every process of the system, summed;
6. where the system offers them (`Adapter.offered`): round trips with the
   one-call `addAndWait`, taken in turn with step 2's, and the batched burst
   again with a task that reports progress 100 times per job.

Each figure is the median over `--repeat` runs.  The systems take turns in
each repeat, so a slow spell of the machine touches them all alike.  After
the tables (report.py), the goals table checks issue 18's "Done when"
(and issue 13's progress figure): each a ratio of two medians, against
its goal.
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from adapter import ADD_AND_WAIT, PROGRESS, startSeconds, stopAll
from measure import burst, percentile
from report import allColumns, extraColumns, report
from runinfo import begin, ended, progress
from competitors import Celery, Procrastinate, RedisHuey, Rq, SqliteHuey
from xmlrpcsystems import (
    Ceiling, RemoteTask, RemoteTaskPostgres, RemoteTaskPostgresPair,
    daemonOptionsArgument, withDaemonOptions)

systems = [RemoteTask, RemoteTaskPostgres, RemoteTaskPostgresPair, Ceiling,
           Celery, Rq, SqliteHuey, RedisHuey, Procrastinate]
byName = {system.name: system for system in systems}

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
    daemonOptionsArgument(parser)
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
    for phase, batch in (('Single', None), ('Batched', arguments.batch)):
        measured = burst(adapter, arguments.n, batch)
        figures['enqueue' + phase] = measured.enqueued
        figures['e2e' + phase] = measured.e2e
        figures['cpu' + phase] = measured.cpuTotal
        figures['broker' + phase] = measured.cpu['broker']
        figures['database' + phase] = measured.cpu.get('database')
    figures['rssMb'] = adapter.rss() / 2 ** 20
    progressBurst = optional(offered, PROGRESS, burst, adapter, arguments.n,
                             arguments.batch, adapter.enqueueManyProgress)
    if progressBurst:
        figures['e2eProgress'] = progressBurst.e2e
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
            adapter = withDaemonOptions(
                byName[name], arguments.daemonOptions)(workDir)
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
                                 for key, header, fmt in allColumns
                                 if figures.get(key) is not None)
                     + f' ({time.monotonic() - began:.0f} s)')
    return runs, failures


def main(argv):
    arguments = parseArguments(argv)
    began = begin(arguments)
    runDir = tempfile.mkdtemp(prefix='remotetask-bench-')
    try:
        runs, failures = runAll(arguments, runDir)
    finally:
        stopAll()
    print()
    print(report(arguments, runs, failures, byName))
    print('\n' + ended(began))
    if failures:
        print(f'logs kept in {runDir}')
        return 1
    shutil.rmtree(runDir, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
