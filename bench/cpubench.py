"""The cost of one job (issue 18): server CPU per job beside a bare call.

Run through bench/cpu, which builds bench/.venv as bench/run does.  On the
default SQLite store with default options, no-op `echo` jobs and one
stdlib client, each repeat measures, in the same run:

- remotetask: `--n` (2,000) adds, one per call, until all completed; then
  `--batched-n` (10,000) adds in system.multicall batches of `--batch`
  (500), until all completed;
- remotetask with `--log-jobs none`: the single-call burst again;
- the bare Twisted XML-RPC echo server: `--n` single calls, and
  `--batched-n` calls in multicalls of `--batch`.

The three run side by side, and take turns: the echo's single calls, the
two single-call bursts, the echo's multicalls, the batched burst.

Server CPU is utime+stime from /proc over each burst (cpu.py): the daemon
with its worker processes, or the bare server.  The table shows the
medians over `--repeat` runs, the daemon's and the workers' parts, the
ratio to the bare server's CPU per call and issue 18's goal for it.
"""

import argparse
import contextlib
import shlex
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from adapter import startSeconds, stopAll
from measure import burst
from runinfo import begin, ended, progress
from tables import table
from xmlrpcsystems import (
    Ceiling, RemoteTask, daemonOptionsArgument, withDaemonOptions)


class RemoteTaskQuiet(RemoteTask):
    """remotetask as bench/run's row, without the per-job log line."""

    name = 'remotetask --log-jobs none'

    def daemonOptions(self, label):
        return ['--log-jobs', 'none']


# (key, label, goal): one row of the table each, divided by the echo's
# figure of the same kind (single calls, or calls in multicalls).
rows = [
    ('single', '{n:,} adds, one per call, until all completed', 2.0),
    ('quiet', 'the same with --log-jobs none', None),
    ('batched', '{batchedN:,} adds in multicalls of {batch}, until all '
     'completed', 3.0),
]


def parseArguments(argv):
    parser = argparse.ArgumentParser(
        prog='bench/cpu', description=__doc__.split('\n')[0])
    parser.add_argument('--n', type=int, default=2000,
                        help='adds in the single-call bursts (2000)')
    parser.add_argument('--batched-n', dest='batchedN', type=int,
                        default=10000,
                        help='adds in the batched burst (10000)')
    parser.add_argument('--batch', type=int, default=500,
                        help='adds per multicall (500)')
    parser.add_argument('--repeat', type=int, default=3,
                        help='runs; the medians are shown (3)')
    parser.add_argument('--warmup', type=int, default=20,
                        help='round trips before measuring (20)')
    daemonOptionsArgument(parser)
    arguments = parser.parse_args(argv)
    if min(arguments.n, arguments.batchedN, arguments.batch,
           arguments.repeat) < 1:
        parser.error('--n, --batched-n, --batch and --repeat must be >= 1')
    return arguments


def started(stack, systemClass, workDir, arguments):
    """The system started and warmed up; stopped when `stack` closes."""
    workDir.mkdir()
    adapter = systemClass(workDir)
    stack.callback(adapter.stop)
    adapter.start()
    adapter.roundTrip(-1, timeout=startSeconds)
    for k in range(arguments.warmup):
        adapter.roundTrip(-2 - k)
    return adapter


def measureOnce(arguments, runDir):
    """One repeat: key -> (ms/job, daemon's part, workers' part, the
    echo's ms/call in the burst just before).

    The three systems run side by side (idle, they cost next to
    nothing), and each burst of remotetask comes right after an echo's
    burst of its kind: a ratio's two figures see the same spell of the
    machine.
    """
    with contextlib.ExitStack() as stack:
        echo, plain, quiet = (
            started(stack, withDaemonOptions(systemClass,
                                             arguments.daemonOptions),
                    runDir / label, arguments)
            for systemClass, label in ((Ceiling, 'echo'),
                                       (RemoteTask, 'remotetask'),
                                       (RemoteTaskQuiet, 'quiet')))
        figures = {}
        for key, adapter, n, batch in (
                ('single', plain, arguments.n, None),
                ('quiet', quiet, arguments.n, None),
                ('batched', plain, arguments.batchedN, arguments.batch)):
            bare = burst(echo, n, batch).cpu['server']
            measured = burst(adapter, n, batch).cpu
            figures[key] = (measured['server'], measured['server:root'],
                            measured['server'] - measured['server:root'],
                            bare)
    return figures


def report(arguments, runs):
    """The table: medians, ratios to the echo, goals, range of ratios."""
    lines = []
    for key, label, goal in rows:
        total, daemon, workers, echo = (
            statistics.median(run[key][i] for run in runs)
            for i in range(4))
        ratios = [run[key][0] / run[key][3] for run in runs if run[key][3]]
        ratio = total / echo if echo else None
        verdict = '-'
        if goal and ratio is not None:
            verdict = 'met' if ratio <= goal else \
                f'missed by {ratio / goal:.2f}x'
        lines.append([
            label.format(**vars(arguments)), f'{total:.3f}', f'{daemon:.3f}',
            f'{workers:.3f}', f'{echo:.3f}',
            f'{ratio:.2f}x' if ratio is not None else '-',
            f'<= {goal:.1f}x' if goal else '', verdict,
            f'{min(ratios):.2f}x..{max(ratios):.2f}x' if len(ratios) > 1
            else '-'])
    return table(lines, ['burst', 'remotetask ms/job', 'daemon', 'workers',
                         'echo ms/call', 'ratio', 'goal', 'verdict',
                         'runs'])


note = '''\
ms/job: utime+stime of the daemon and its worker processes over the burst
(first add to last completed job seen), divided by the jobs; "daemon" is
the twistd process's own share (all its threads), "workers" the worker
processes'.  echo ms/call: the bare Twisted XML-RPC server's CPU per call,
one call at a time (for the single rows) or inside multicalls of the same
size (for the batched row), in a burst of as many calls right before the
row's.  ratio: of the medians; runs: the range of the
per-repeat ratios; each column is a median of its own, so daemon and
workers need not add up to the total exactly.  Goals: issue 18's "Done
when".'''


def main(argv):
    arguments = parseArguments(argv)
    began = begin(arguments, 'bench/cpu', (
        'default SQLite store and options'
        + (f' plus {shlex.join(arguments.daemonOptions)}'
           if arguments.daemonOptions else '')
        + f', one stdlib client; {arguments.n}'
        f' single adds, {arguments.batchedN} in multicalls of '
        f'{arguments.batch}; median of {arguments.repeat}'))
    runs = []
    runDir = Path(tempfile.mkdtemp(prefix='remotetask-cpu-'))
    try:
        for repeat in range(arguments.repeat):
            repeatDir = runDir / str(repeat + 1)
            repeatDir.mkdir()
            runs.append(measureOnce(arguments, repeatDir))
            progress(f'[{repeat + 1}/{arguments.repeat}] ms/job (echo '
                     'ms/call): ' + ', '.join(
                         f'{key} {total:.3f} ({echo:.3f})' for key,
                         (total, _, _, echo) in runs[-1].items()))
    except Exception as error:  # Reported, with where the logs are.
        print(f'\nFAILED: {type(error).__name__}: {error}\n'
              f'logs kept in {runDir}')
        return 1
    finally:
        stopAll()
    shutil.rmtree(runDir, ignore_errors=True)
    print()
    print(report(arguments, runs))
    print(note)
    print('\n' + ended(began))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
