"""The cost of one job in instructions (issue 18): what the server process
runs per job, counted by valgrind's callgrind, beside the bare call's.

Run through bench/instructions, which builds bench/.venv as bench/run
does. CPU time (bench/cpu) is the issue's measure, but on a shared
machine one burst's CPU per job moves by a fifth from run to run, and a
change that takes 5-10% out of a job cannot be told from that noise
without dozens of repeats. Instructions do not move with the load: the
same code, input and environment count the same within a fraction of a
percent, whatever else the machine does. So each server runs under
callgrind counting nothing (``--instr-atstart=no``) until a burst begins;
``callgrind_control`` switches the count on just before the first add and
off once the last job was seen completed; the count is divided by the
burst's jobs. Each burst has a server of its own.

What is counted, and what is not:

- the server process alone, all its threads: remotetask's daemon (not its
  worker processes, which callgrind does not follow: their CPU is in
  bench/cpu's figures), or the bare Twisted XML-RPC echo server;
- no check of every job: the burst waits for its last job alone
  (``wait``), and the jobs still unfinished then (an earlier job on the
  other worker, a few at most) end uncounted; the table says how many;
- instructions are not time: a cache miss, a wake-up or a context switch
  costs time that they do not show, so bench/cpu's ratios run higher.

Under callgrind a server runs some 50 times slower than it does alone, so
the bursts are short: 500 single adds, 2,000 in multicalls of 500.
"""

import argparse
import shutil
import subprocess
import sys

from adapter import BenchError, measuredIn, startSeconds, waitSeconds
from runinfo import begin, ended, progress
from tables import ratio, table
from xmlrpcsystems import (
    Ceiling, RemoteTask, burstArguments, checkBurstArguments, withCheckout,
    withDaemonOptions)


def parseArguments(argv):
    parser = argparse.ArgumentParser(
        prog='bench/instructions', description=__doc__.split('\n')[0])
    burstArguments(parser, n=500, batchedN=2000)
    arguments = parser.parse_args(argv)
    checkBurstArguments(parser, arguments)
    if shutil.which('valgrind') is None:
        parser.error('valgrind is not installed (apt-get install valgrind)')
    return arguments


def underCallgrind(systemClass):
    """``systemClass`` whose server process runs under callgrind, counting
    nothing until ``count`` switches it on."""

    class Counted(systemClass):

        def startWorker(self, label, argv, env=None):
            self.outFile = self.workDir / f'{label}.callgrind'
            self.vgdbPrefix = self.workDir / 'vgdb'
            self.server = super().startWorker(label, [
                'valgrind', '--tool=callgrind', '--instr-atstart=no',
                f'--callgrind-out-file={self.outFile}',
                f'--vgdb-prefix={self.vgdbPrefix}', *argv], env)
            return self.server

        def count(self, on):
            """Switch the count on or off (only in this server: the pid
            and the prefix name it)."""
            done = subprocess.run(
                ['callgrind_control', f'--vgdb-prefix={self.vgdbPrefix}',
                 '-i', 'on' if on else 'off', str(self.server.pid)],
                capture_output=True, text=True, timeout=60)
            if done.returncode != 0 or 'OK' not in done.stdout:
                raise BenchError(f'callgrind_control could not switch '
                                 f'the count {"on" if on else "off"}: '
                                 f'{done.stdout} {done.stderr}')

        def instructions(self):
            """What the count came to, read from the file callgrind wrote
            as the server ended."""
            # The header's "summary:" is what was counted when the file
            # was begun (none here); "totals:", at the end, the count.
            for line in reversed(self.outFile.read_text().splitlines()):
                if line.startswith('totals:'):
                    return int(line.split()[1])
            raise BenchError(f'no totals in {self.outFile}')

    return Counted


def countedBurst(systemClass, workDir, arguments, n, batch):
    """``(instructions per job, jobs left unfinished when the count
    stopped)`` of ``systemClass``'s server over a burst of ``n`` adds, one
    per call or in multicalls of ``batch``."""
    workDir.mkdir()
    adapter = underCallgrind(withDaemonOptions(
        systemClass, arguments.daemonOptions))(workDir)
    try:
        adapter.start()
        adapter.roundTrip(-1, timeout=startSeconds)
        for k in range(arguments.warmup):
            adapter.roundTrip(-2 - k)
        adapter.count(True)
        if batch is None:
            handles = [adapter.enqueueOne(k) for k in range(n)]
        else:
            handles = []
            for start in range(0, n, batch):
                handles += adapter.enqueueMany(
                    range(start, min(n, start + batch)))
        adapter.waitOne(handles[-1], waitSeconds)
        adapter.count(False)
        left = len(adapter.unfinished(handles))
        adapter.waitAll(handles)
    finally:
        # callgrind writes its count as the server ends.
        adapter.stop()
    perJob = adapter.instructions() / n
    progress(f'{workDir.name}: {perJob:,.0f} instructions per job')
    return perJob, left


def main(argv):
    arguments = parseArguments(argv)
    began = begin(arguments, 'bench/instructions', (
        'default SQLite store and options, one stdlib client; '
        f'{arguments.n} single adds, {arguments.batchedN} in multicalls '
        f'of {arguments.batch}; the server process alone, under callgrind'))
    systems = [('echo', Ceiling), ('this', RemoteTask)]
    if arguments.versus:
        systems.append(('versus', withCheckout(RemoteTask,
                                               arguments.versus)))
    bursts = [('single', arguments.n, None),
              ('batched', arguments.batchedN, arguments.batch)]
    counts = measuredIn('remotetask-instructions-', lambda runDir: {
        (who, kind): countedBurst(systemClass, runDir / f'{who}-{kind}',
                                  arguments, n, batch)
        for kind, n, batch in bursts for who, systemClass in systems})
    if counts is None:
        return 1
    print()
    print(report(arguments, counts))
    print('\n' + ended(began))
    return 0


def report(arguments, counts):
    """The table: instructions per job, their ratio to the bare call's,
    and with --versus to the other checkout's."""
    rows = []
    for kind, label in (('single', f'{arguments.n:,} adds, one per call'),
                        ('batched', f'{arguments.batchedN:,} adds in '
                         f'multicalls of {arguments.batch}')):
        this, left = counts['this', kind]
        echo = counts['echo', kind][0]
        row = [label, f'{this:,.0f}', f'{echo:,.0f}', ratio(this, echo),
               str(left)]
        if arguments.versus:
            versus, _ = counts['versus', kind]
            row[2:2] = [f'{versus:,.0f}']
            row.append(ratio(this, versus))
        rows.append(row)
    headers = ['burst', 'remotetask instr/job', 'echo instr/call',
               'this / echo', 'left uncounted']
    if arguments.versus:
        headers[2:2] = ['versus instr/job']
        headers.append('this / versus')
    return table(rows, headers) + (
        '\ninstr/job: instructions of the server process alone (not the '
        'worker processes),\nfrom the first add to the last job seen '
        'completed, divided by the jobs; "left\nuncounted": jobs that '
        'ended after the count stopped (see bench/instructionbench.py).')


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
