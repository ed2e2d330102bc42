"""Does remotetask's memory stay flat while 100,000 jobs pass through?

Run through bench/soak, which builds bench/.venv as bench/run does.  It
starts remotetask (SQLite, process pool of 2, as compare.py's row) and
sends `--jobs` no-op echo jobs in system.multicall batches of `--batch`,
keeping at most `--window` jobs unfinished (so the queue stays short and
what grows is the server, not its backlog).  Every `--every` jobs done it
reads the VmRSS of the server (twistd) and of its worker processes, and
the size of the store's files.  It prints a table (jobs done -> RSS MB) and
the ratio of the last sample to the first one after `--warmup` jobs:
caches, pools and SQLite's page cache fill during the warm-up, and growth
after it is what a leak looks like.

The whole run is bounded by `--limit` seconds: past it, it stops with a
message saying how far it got, and prints the samples it has.
"""

import argparse
import shutil
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

from adapter import BenchError, startSeconds, stopAll
from runinfo import begin, ended, progress
from tables import table
from xmlrpcsystems import RemoteTask, RemoteTaskPostgres

systems = {system.name: system for system in (RemoteTask, RemoteTaskPostgres)}
# The last sample may be this much above the first after the warm-up and
# still count as flat: RSS moves by a few MB with allocator arenas and the
# timing of garbage collection.  The issue asks for "flat"; this is the
# reading of it the verdict uses.
flatWithin = 1.10


def parseArguments(argv):
    parser = argparse.ArgumentParser(
        prog='bench/soak', description=__doc__.split('\n')[0])
    parser.add_argument('--jobs', type=int, default=100_000,
                        help='echo jobs in all (default 100000)')
    parser.add_argument('--batch', type=int, default=500,
                        help='jobs per system.multicall (default 500)')
    parser.add_argument('--window', type=int, default=5000,
                        help='at most this many jobs unfinished at once '
                        '(default 5000; 0: no bound, send all at once)')
    parser.add_argument('--every', type=int, default=5000,
                        help='sample RSS every this many jobs done')
    parser.add_argument('--warmup', type=int, default=10_000,
                        help='jobs before the reference sample')
    parser.add_argument('--limit', type=float, default=1800,
                        help='give up after this many seconds (default '
                        '1800; 100k jobs take 1-2 minutes on an idle '
                        '2-core machine today)')
    parser.add_argument('--system', default='remotetask',
                        choices=sorted(systems),
                        help='remotetask (SQLite, the default) or '
                        'remotetask-pg')
    arguments = parser.parse_args(argv)
    if min(arguments.jobs, arguments.batch, arguments.every) < 1 or \
            arguments.window < 0 or arguments.warmup < 0:
        parser.error('--jobs, --batch, --every must be >= 1; --window, '
                     '--warmup >= 0')
    if arguments.window == 0:
        arguments.window = arguments.jobs
    return arguments


class Sampler:
    """RSS and store size, read every `every` jobs done."""

    def __init__(self, adapter, every):
        self.adapter, self.every = adapter, every
        self.samples = []
        self.began = time.monotonic()

    def due(self, done):
        last = self.samples[-1]['done'] if self.samples else -1
        return done // self.every > last // self.every

    def take(self, done):
        server = workers = 0
        for worker in self.adapter.workers:
            own, children = worker.rssSplit()
            server, workers = server + own, workers + children
        now = time.monotonic()
        previous = self.samples[-1] if self.samples else None
        rate = ((done - previous['done']) / (now - previous['at'])
                if previous and now > previous['at'] else None)
        self.samples.append({
            'done': done, 'at': now, 'rate': rate, 'server': server / 2 ** 20,
            'workers': workers / 2 ** 20,
            'storeMb': storeSize(self.adapter)})
        progress(f'{done:,} jobs done, {now - self.began:.0f} s: server '
                 f'{server / 2 ** 20:.1f} MB, workers '
                 f'{workers / 2 ** 20:.1f} MB')


def storeSize(adapter):
    """MB of the SQLite store's files (None for PostgreSQL)."""
    files = list(adapter.workDir.glob('jobs.sqlite*'))
    if not files:
        return None
    return sum(f.stat().st_size for f in files if f.exists()) / 2 ** 20


def soak(adapter, arguments, sampler):
    """Send the jobs, keeping at most `window` unfinished; sample as they
    finish.  Returns the number of jobs done (all, unless the limit hit)."""
    deadline = sampler.began + arguments.limit
    outstanding = deque()  # Batches of handles, oldest first.
    sent = done = unfinished = 0
    sampler.take(0)
    while done < arguments.jobs:
        while sent < arguments.jobs and \
                unfinished + arguments.batch <= max(arguments.window,
                                                    arguments.batch):
            count = min(arguments.batch, arguments.jobs - sent)
            outstanding.append(adapter.enqueueMany(range(sent, sent + count)))
            sent += count
            unfinished += count
        batch = outstanding.popleft()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeLimit(done)
        try:
            adapter.waitAll(batch, timeout=remaining)
        except BenchError as error:
            if time.monotonic() >= deadline:
                raise TimeLimit(done) from error
            raise
        done += len(batch)
        unfinished -= len(batch)
        if sampler.due(done) or done == arguments.jobs:
            sampler.take(done)
    return done


class TimeLimit(Exception):
    """The run took longer than --limit."""

    def __init__(self, done):
        super().__init__(done)
        self.done = done


def report(arguments, samples, partial=False):
    rows = []
    for sample in samples:
        rows.append([
            f'{sample["done"]:,}',
            f'{sample["at"] - samples[0]["at"]:.0f}',
            '-' if sample['rate'] is None else f'{sample["rate"]:,.0f}',
            f'{sample["server"]:.1f}', f'{sample["workers"]:.1f}',
            f'{sample["server"] + sample["workers"]:.1f}',
            '-' if sample['storeMb'] is None else f'{sample["storeMb"]:.1f}'])
    out = [table(rows, ['jobs done', 'elapsed s', 'jobs/s', 'server MB',
                        'workers MB', 'total MB', 'store MB'], left=0)]
    reference = next((s for s in samples
                      if s['done'] >= max(arguments.warmup, 1)), None)
    last = samples[-1]
    if reference is None or reference is last:
        out.append(f'\nno sample after the warm-up ({arguments.warmup:,} '
                   'jobs) but the last: no ratio')
        return '\n'.join(out)
    out.append(f'\nlast / first after the warm-up (at {reference["done"]:,} '
               f'jobs; flat means <= {flatWithin:.2f})'
               + (', of a PARTIAL run' if partial else '') + ':\n')
    after = [s for s in samples if s['done'] >= reference['done']]
    ratios = []
    for label, pick in [('server', lambda s: s['server']),
                        ('workers', lambda s: s['workers']),
                        ('total', lambda s: s['server'] + s['workers'])]:
        ratio = pick(last) / pick(reference) if pick(reference) else None
        peak = max(pick(s) for s in after)
        slope = slopePer10k([s['done'] for s in after],
                            [pick(s) for s in after])
        ratios.append([label, f'{pick(reference):.1f}', f'{pick(last):.1f}',
                       f'{peak:.1f}', f'{slope:+.2f}',
                       '-' if ratio is None else f'{ratio:.2f}x',
                       '-' if ratio is None else
                       ('flat' if ratio <= flatWithin else 'GROWS')])
    out.append(table(ratios, ['RSS', 'after warm-up MB', 'last MB',
                              'peak MB', 'MB per 10k jobs', 'last/first',
                              'verdict']))
    return '\n'.join(out)


def slopePer10k(xs, ys):
    """The least-squares slope of ys over xs, per 10,000 of x: how fast
    memory grows with jobs done, which a ratio of two samples can hide."""
    meanX, meanY = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - meanX) ** 2 for x in xs)
    if not spread:
        return 0.0
    return 10_000 * sum((x - meanX) * (y - meanY)
                        for x, y in zip(xs, ys)) / spread


def main(argv):
    arguments = parseArguments(argv)
    began = begin(arguments, 'bench/soak', (
        f'{arguments.jobs:,} jobs through {arguments.system}, '
        f'system.multicall batches of {arguments.batch}, at most '
        f'{arguments.window:,} unfinished; RSS every {arguments.every:,} '
        'jobs'))
    runDir = Path(tempfile.mkdtemp(prefix='remotetask-soak-'))
    adapter = systems[arguments.system](runDir)
    sampler = Sampler(adapter, arguments.every)
    status, note = 0, None
    try:
        adapter.start()
        adapter.roundTrip(-1, timeout=startSeconds)
        sampler.began = time.monotonic()
        soak(adapter, arguments, sampler)
    except TimeLimit as stopped:
        status = 2
        note = (f'ABORTED: --limit {arguments.limit:.0f} s reached with '
                f'{stopped.done:,} of {arguments.jobs:,} jobs done; the '
                f'table has the samples taken until then')
    except Exception as error:
        status = 1
        note = f'FAILED: {type(error).__name__}: {error}'
        for worker in adapter.workers:
            note += f'\n  {worker.label}:\n{worker.logTail()}'
    finally:
        adapter.stop()
        stopAll()
    print()
    if sampler.samples:
        print(report(arguments, sampler.samples, partial=status != 0))
    if note:
        print(f'\n{note}')
    print('\n' + ended(began))
    if status:
        print(f'logs kept in {runDir}')
    else:
        shutil.rmtree(runDir, ignore_errors=True)
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
