"""The cost of one job (issue 18): server CPU per job beside a bare call.

Run through bench/cpu, which builds bench/.venv as bench/run does.  On the
default SQLite store with default options, no-op `echo` jobs and one
stdlib client, each repeat measures, in the same run:

- remotetask: `--n` (2,000) adds, one per call, until all completed; then
  `--batched-n` (10,000) adds in system.multicall batches of `--batch`
  (500), until all completed;
- remotetask with `--log-jobs none`: the single-call burst again;
- the bare Twisted XML-RPC echo server: before each of those, a burst of
  as many calls of the same kind (single calls, or multicalls).

The systems run side by side, and each burst of remotetask comes right
after the echo's that it is divided by.  With `--versus CHECKOUT`, the
same daemons of another checkout (say, main's) run beside them and take
their turn after each echo burst too, so that two versions are compared
in one run, which a busy machine moves alike.

Server CPU is utime+stime from /proc over each burst (cpu.py): the daemon
with its worker processes, or the bare server.  The table shows the
medians over `--repeat` runs, the daemon's and the workers' parts, the
ratio to the bare server's CPU per call and issue 18's goal for it.
"""

import argparse
import contextlib
import shlex
import sys

from adapter import measuredIn, startSeconds
from cpureport import note, report
from measure import burst
from runinfo import begin, ended, progress
from xmlrpcsystems import (
    Ceiling, RemoteTask, burstArguments, checkBurstArguments, withCheckout,
    withDaemonOptions)


class RemoteTaskQuiet(RemoteTask):
    """remotetask as bench/run's row, without the per-job log line."""

    name = 'remotetask --log-jobs none'

    def daemonOptions(self, label):
        return ['--log-jobs', 'none']


def parseArguments(argv):
    parser = argparse.ArgumentParser(
        prog='bench/cpu', description=__doc__.split('\n')[0])
    burstArguments(parser, n=2000, batchedN=10000)
    parser.add_argument('--repeat', type=int, default=3,
                        help='runs; the medians are shown (3)')
    arguments = parser.parse_args(argv)
    checkBurstArguments(parser, arguments, ('repeat', '--repeat'))
    return arguments


def started(stack, systemClass, workDir, arguments):
    """The system started and warmed up; stopped when `stack` closes."""
    workDir.mkdir()
    adapter = withDaemonOptions(systemClass, arguments.daemonOptions)(
        workDir)
    stack.callback(adapter.stop)
    adapter.start()
    adapter.roundTrip(-1, timeout=startSeconds)
    for k in range(arguments.warmup):
        adapter.roundTrip(-2 - k)
    return adapter


def measureOnce(arguments, runDir, repeat):
    """One repeat: (checkout, key) -> (ms/job, daemon's part, workers'
    part, the echo's ms/call in the burst just before, the check's
    ms/job); checkout is 'this' or 'versus'.

    A burst ends with the bench checking that every job completed
    (getStatus of each, in multicalls): calls the daemon serves that are
    no part of a job's cost, and that the echo is not asked. That check
    is made again, alone, right after the burst, and what it cost is
    taken out of the burst's figures (and shown).

    The systems run side by side (idle, they cost next to nothing), and
    each burst of remotetask comes right after an echo's burst of its
    kind, so that a ratio's two figures see the same spell of the machine.
    With --versus, the two checkouts take turns at going first, and so do
    the two single-call rows: in a fixed order, with the same options on
    both daemons, the first measured 0.13-0.29 ms/job more than the
    second, a difference once read as the cost of the log line.
    """
    checkouts = {'this': lambda systemClass: systemClass}
    if arguments.versus:
        checkouts['versus'] = lambda systemClass: withCheckout(
            systemClass, arguments.versus)
    order = list(checkouts) if repeat % 2 == 0 else list(checkouts)[::-1]
    with contextlib.ExitStack() as stack:
        echo = started(stack, Ceiling, runDir / 'echo', arguments)
        daemons = {
            (who, kind): started(stack, variant(systemClass),
                                 runDir / f'{who}-{kind}', arguments)
            for who, variant in checkouts.items()
            for kind, systemClass in (('plain', RemoteTask),
                                      ('quiet', RemoteTaskQuiet))}
        figures = {}
        singles = [('single', 'plain', arguments.n, None),
                   ('quiet', 'quiet', arguments.n, None)]
        if repeat % 2:
            singles.reverse()
        for key, kind, n, batch in singles + [
                ('batched', 'plain', arguments.batchedN, arguments.batch)]:
            bare = burst(echo, n, batch).cpu['server']
            for who in order:
                measured = burst(daemons[who, kind], n, batch,
                                 measureCheck=True)
                spent, check = measured.cpu, measured.checkCpu
                total = spent['server'] - check['server']
                daemon = spent['server:root'] - check['server:root']
                figures[who, key] = (total, daemon, total - daemon, bare,
                                     check['server'])
    return figures


def measuredRepeat(arguments, runDir, repeat):
    """``measureOnce`` in a directory of its own, its figures shown."""
    repeatDir = runDir / str(repeat + 1)
    repeatDir.mkdir()
    figures = measureOnce(arguments, repeatDir, repeat)
    progress(f'[{repeat + 1}/{arguments.repeat}] ms/job (echo ms/call): '
             + ', '.join(f'{key}{"" if who == "this" else " versus"} '
                         f'{total:.3f} ({echo:.3f})' for (who, key),
                         (total, _, _, echo, _) in figures.items()))
    return figures


def main(argv):
    arguments = parseArguments(argv)
    began = begin(arguments, 'bench/cpu', (
        'default SQLite store and options'
        + (f' plus {shlex.join(arguments.daemonOptions)}'
           if arguments.daemonOptions else '')
        + f', one stdlib client; {arguments.n}'
        f' single adds, {arguments.batchedN} in multicalls of '
        f'{arguments.batch}; median of {arguments.repeat}'
        + (f'; versus {arguments.versus}' if arguments.versus else '')))
    runs = measuredIn('remotetask-cpu-', lambda runDir: [
        measuredRepeat(arguments, runDir, repeat)
        for repeat in range(arguments.repeat)])
    if runs is None:
        return 1
    print()
    print(report(arguments, runs))
    print(note)
    print('\n' + ended(began))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
