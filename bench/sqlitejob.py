"""What one job costs the SQLite store, statement by statement.

An in-process driver of the real ``SQLiteJobStore`` making the calls the
server makes for a plain job that runs at once: the add and the claim it
joins, in one transaction; the run's start and end, and the minute's
counter, in a second; a PASSIVE checkpoint every ``--checkpoint`` jobs,
as the server's writer thread makes them (the reactor's connection does
no auto-checkpoint). It prints the thread CPU per job (median of
``--runs`` runs of ``--jobs`` jobs each) and, from a separate pass
through a connection that times each statement, the CPU of each
statement and the WAL frames the file grows by per job, and by which
table or index they hold pages of.

    bench/.venv/bin/python bench/sqlitejob.py        # from the root
"""

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))

from remotetask.core import events  # noqa: E402
from remotetask.core.status import COMPLETED, QUEUED  # noqa: E402
from remotetask.store.sqlite import QUERIES, SQLiteJobStore  # noqa: E402

TASKS = os.environ.get('TASKS', 'echo,fail,progress,sleep,sum,wait').split(',')
SERVER = 'bench:1'
NAMES = {sql: name for name, sql in QUERIES.items()}


class TimedConnection:
    """A connection whose statements' thread CPU is added up by name."""

    def __init__(self, connection, spent):
        self._connection = connection
        self._spent = spent

    def _timed(self, method, sql, *args):
        start = time.thread_time_ns()
        try:
            return method(sql, *args)
        finally:
            name = NAMES.get(sql, sql.split()[0])
            taken = time.thread_time_ns() - start
            total, count = self._spent.get(name, (0, 0))
            self._spent[name] = (total + taken, count + 1)

    def execute(self, sql, *args):
        return self._timed(self._connection.execute, sql, *args)

    def executemany(self, sql, *args):
        return self._timed(self._connection.executemany, sql, *args)

    def __getattr__(self, name):
        return getattr(self._connection, name)


def oneJob(store, number):
    """The server's calls for one plain job."""
    now = 1e9 + number
    token = f'{number:032x}'
    with store.transaction():
        store.add('echo', '[1, 2]', QUEUED, None, now,
                  event=events.make(events.ADDED, now, SERVER))
        rows = store.claim(now, 1, token, None, None, False, tasks=TASKS,
                           limits={})
    row, = rows
    started = now + 0.001
    with store.transaction():
        store.finishMany([(
            row['id'], token, COMPLETED, '3', None, None, now + 0.002,
            None, None,
            events.make(events.ENDED, now, SERVER, attempt=1,
                        status='completed', error=None),
            None, started, events.make(events.STARTED, started, SERVER))])
        store.countRuns(int(now // 60), SERVER, 1, 0)


def walFrames(path):
    """Frames in the file's WAL now (its size, less the header)."""
    try:
        size = os.path.getsize(path + '-wal')
    except OSError:
        return 0
    return max(0, size - 32) // (4096 + 24)


def framesByTree(connection, path):
    """``{b-tree: frames}`` of the file's WAL now: the table or index that
    owns the page each frame holds (SQLite's dbstat), to tell which of
    them a job's transactions write."""
    try:
        owner = {row['pageno']: row['name'] for row in
                 connection.execute('SELECT name, pageno FROM dbstat')}
    except sqlite3.OperationalError:  # A SQLite built without dbstat.
        return {}
    size = connection.execute('PRAGMA page_size').fetchone()['page_size']
    counts = {}
    with open(path + '-wal', 'rb') as wal:
        wal.seek(32)
        while len(header := wal.read(24)) == 24:
            name = owner.get(int.from_bytes(header[:4], 'big'), '?')
            counts[name] = counts.get(name, 0) + 1
            wal.seek(size, os.SEEK_CUR)
    return counts


def run(store, jobs, first, checkpointEvery):
    """Thread CPU (ns) of ``jobs`` jobs, checkpoints included."""
    start = time.thread_time_ns()
    for number in range(first, first + jobs):
        oneJob(store, number)
        if number % checkpointEvery == 0:
            store.checkpoint()
    return time.thread_time_ns() - start


def fresh(directory, name, ddl, prefill, checkpointEvery):
    """A store in ``directory`` with ``ddl`` run on it, and ``prefill``
    jobs run through it."""
    path = os.path.join(directory, f'{name}.sqlite')
    store = SQLiteJobStore(path, serverId=SERVER)
    with store.connections.writingNow():
        pass
    for statement in ddl:
        store.connections.connection().execute(statement)
    run(store, prefill, 1, checkpointEvery)
    store.connections.connection().execute('PRAGMA wal_checkpoint(TRUNCATE)')
    return store, path


def breakdown(store, path, first, jobs):
    """``(frames, {statement: (ns, calls)}, {b-tree: frames})`` of
    ``jobs`` jobs."""
    spent = {}
    connections = store.connections
    plain = connections.connection()
    connections._local.connection = TimedConnection(plain, spent)
    plain.execute('PRAGMA wal_checkpoint(TRUNCATE)')
    frames = walFrames(path)
    for offset in range(jobs):
        oneJob(store, first + offset)
    frames = walFrames(path) - frames
    connections._local.connection = plain
    return frames, spent, framesByTree(plain, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--jobs', type=int, default=500,
                        help='jobs per run')
    parser.add_argument('--runs', type=int, default=9)
    parser.add_argument('--prefill', type=int, default=10000,
                        help='jobs run through the store beforehand')
    parser.add_argument('--checkpoint', type=int, default=100,
                        help='jobs between checkpoints')
    parser.add_argument('--variant', action='append', default=[],
                        metavar='NAME:SQL;SQL',
                        help='also a store with these statements run on '
                             'it first (e.g. DROP INDEX x), its runs '
                             'taking turns with the plain one\'s')
    parser.add_argument('--no-breakdown', action='store_true',
                        help='no statement by statement pass (for perf '
                             'stat: instructions per job, from two runs)')
    options = parser.parse_args()
    variants = [('plain', [])] + [
        (text.split(':', 1)[0], [part for part in text.split(':', 1)[1]
                                 .split(';') if part.strip()])
        for text in options.variant]
    with tempfile.TemporaryDirectory() as directory:
        stores = [fresh(directory, name, ddl, options.prefill,
                        options.checkpoint) for name, ddl in variants]
        number = options.prefill + 1
        perJob = [[] for _ in variants]
        for _ in range(options.runs):
            for (store, _), taken in zip(stores, perJob):
                taken.append(run(store, options.jobs, number,
                                 options.checkpoint) / options.jobs / 1000)
            number += options.jobs
        results = [(0, {}, {}) if options.no_breakdown else
                   breakdown(store, path, number, options.jobs)
                   for store, path in stores]
        for store, _ in stores:
            store.close()
    base = perJob[0]
    for (name, _), taken, (frames, spent, trees) in zip(variants, perJob,
                                                       results):
        frames = frames or 0
        ratio = statistics.median(x / b for x, b in zip(taken, base))
        print(f'== {name}: CPU per job median '
              f'{statistics.median(taken):.1f} us, {ratio:.3f} x plain '
              f'(runs: {", ".join(f"{x:.0f}" for x in sorted(taken))}); '
              + ('' if options.no_breakdown else
                 f'WAL frames per job {frames / options.jobs:.1f}'))
        for statement, (total, count) in sorted(
                spent.items(), key=lambda item: -item[1][0]):
            print(f'   {statement:<22}{total / options.jobs / 1000:>7.1f} '
                  f'us/job {count / options.jobs:>5.2f} calls/job')
        if trees:
            print('   WAL frames per job by b-tree: ' + ', '.join(
                f'{tree} {count / options.jobs:.2f}' for tree, count in
                sorted(trees.items(), key=lambda item: -item[1])))
    print(f'sqlite {sqlite3.sqlite_version}')


if __name__ == '__main__':
    main()
