"""How the SQLite job store behaves as it grows from a thousand jobs to a million.

The store promises (``IJobStore``, "Cost") that lookups by id, claims and
cleaning do not scan the table, and that memory does not grow with the
number of jobs. Times alone cannot show that (a bigger B-tree is a little
deeper), so this also counts the SQLite VM instructions and statements per
call (a scan multiplies them by N, a seek does not), measures RSS in a
fresh process per size, and prints the query plans.

    bench/.venv/bin/python bench/store.py   # from the checkout's root
    ... bench/store.py --quick     # 1k and 100k jobs, about 15 seconds
"""

import argparse
import contextlib
import glob
import multiprocessing
import os
import random
import re
import shlex
import sqlite3
import sys
import tempfile
import time

BATCH = 10_000      # jobs per addMany() transaction while filling
ADDS = 2_000        # add() calls per repetition
LOOKUPS = 5_000     # random ids per repetition
CLAIMS = 2_000      # processNext() calls per repetition (at most N)
REPS = 3            # repetitions of the cheap measurements; the median is kept
WORKCALLS = 100     # calls over which instructions and statements are averaged
CLAIM = 10          # jobs per claim() in the claim measurements
CLAIMWORK = 20      # claims over which their instructions are averaged
PLANNED = ('get_job', 'unscheduled_jobs', 'due_cron_job', 'claim_delayed_jobs',
           'claim_queued_jobs', 'claimable_tasks', 'running_counts',
           'keyed_job', 'finish_job', 'job_ids', 'clean_jobs', 'count_jobs')
#: Realistic values for the parameters of the planned queries (others None).
PLAN_PARAMS = dict(allowed='{"echo": 10, "rated": 3}', limit=CLAIM,
                   tasks='["limited", "rated"]', task='echo', key='k',
                   now=1e10)
#: The ranked store: jobs of three tasks, priorities -5..5, and limits:
#: ``limited`` runs at most 5 at once (saturated after the first claims),
#: ``rated`` starts at most 100 a second.
RANKED_TASKS = ('echo', 'limited', 'rated')


def memoryMiB():
    """VmRSS (now) and VmHWM (peak) of this process, in MiB."""
    with open('/proc/self/status') as status:
        fields = dict(line.split(':', 1) for line in status)
    return tuple(int(fields[key].split()[0]) / 1024
                 for key in ('VmRSS', 'VmHWM'))


def latencies(call, arguments):
    """(median, p99) microseconds taken by ``call(argument)``."""
    clock, taken = time.perf_counter_ns, []
    for argument in arguments:
        start = clock()
        call(argument)
        taken.append((clock() - start) / 1000)
    taken.sort()
    return taken[len(taken) // 2], taken[int(len(taken) * 0.99)]


def repeated(measure):
    """Median over REPS runs of ``measure()``'s (median, p99): one run can
    be unlucky on a shared machine, three rarely all are."""
    runs = [measure() for _ in range(REPS)]
    return tuple(sorted(run[i] for run in runs)[REPS // 2] for i in (0, 1))


@contextlib.contextmanager
def watching(store, steps=True):
    """Record the statements SQLite runs for ``store`` in this thread and
    (if ``steps``: slow) count its VM instructions, through the store's
    private connection: nothing else shows what one call makes SQLite do."""
    connection, seen = store.connections.connection(), {'steps': 0, 'sql': []}

    def step():
        seen['steps'] += 1
        return 0

    connection.set_progress_handler(step if steps else None, 1)
    connection.set_trace_callback(seen['sql'].append)
    try:
        yield seen
    finally:
        connection.set_progress_handler(None, 1)
        connection.set_trace_callback(None)


def work(store, call, calls=WORKCALLS):
    """SQLite VM instructions and statements per ``call()``, averaged over
    ``calls`` calls."""
    with watching(store) as seen:
        for _ in range(calls):
            call()
    return seen['steps'] / calls, len(seen['sql']) / calls


def openService(path, ranked=False):
    """A TaskService on the SQLite file ``path`` with one task, echo, and
    for the ranked store two limited ones (see RANKED_TASKS)."""
    from remotetask import SimpleTask, TaskService
    from remotetask.store import SQLiteJobStore
    service = TaskService(store=SQLiteJobStore(path))
    service.registry.register('echo', SimpleTask(lambda x: x))
    if ranked:
        service.registry.register('limited', SimpleTask(lambda x: x,
                                                        concurrency=5))
        service.registry.register('rated', SimpleTask(lambda x: x,
                                                      rate='100/s'))
    return service


def claimMany(service):
    """One claim of up to CLAIM queued jobs, as the daemon's feeder makes
    it at a wake-up (no cron or delayed search), left claimed."""
    service.running.claim(CLAIM, None, None, scheduled=False)


def fill(service, n, ranked):
    """``n`` jobs in addMany batches: all echo at priority 0, or (ranked)
    the three tasks in turn with priorities from -5 to 5."""
    chooser = random.Random(n)
    for first in range(0, n, BATCH):
        service.addMany([
            (RANKED_TASKS[k % 3], {'i': k},
             dict(priority=chooser.randint(-5, 5))) if ranked
            else ('echo', {'i': k}, False)
            for k in range(first, min(n, first + BATCH))])


def measureRanked(n, directory):
    """Claims on a store of ``n`` jobs of three tasks with priorities and
    limits in play: time per claim, and VM instructions and statements."""
    path = os.path.join(directory, f'ranked-{n}.sqlite')
    service = openService(path, ranked=True)
    fill(service, n, ranked=True)
    # A third of the jobs are echo's, and most claims take echo jobs only
    # (limited is saturated, rated soon held back): no more claims than
    # find ten of them.
    claims = range(min(CLAIMS, n // (3 * CLAIM)))
    figures = dict(claimRanked=onScratch(path, lambda scratch: latencies(
        lambda _: claimMany(scratch), claims), ranked=True))
    figures['claimRankedWork'] = onScratch(path, lambda scratch: work(
        scratch.store, lambda: claimMany(scratch), CLAIMWORK), ranked=True)
    service.store.close()
    return figures


def onScratch(path, measure, ranked=False):
    """Median of REPS runs of ``measure(service)``, each on a fresh copy of
    the store at ``path``: add() and processNext() change the store, and a
    1k store that took 2,000 adds would be a 3k store."""
    def once():
        with tempfile.TemporaryDirectory(dir='/tmp') as scratch:
            copy = os.path.join(scratch, 'copy.sqlite')
            with contextlib.closing(sqlite3.connect(path)) as source, \
                    contextlib.closing(sqlite3.connect(copy)) as target:
                source.backup(target)
            service = openService(copy, ranked)
            try:
                return measure(service)
            finally:
                service.store.close()
    return repeated(once)


def claimOne(service):
    """processNext(), which must find a job, or the figures are wrong."""
    if not service.processNext():
        raise RuntimeError('the queue ran dry')


def markHalfCompleted(path):
    """Complete the even queued jobs, output = input, by one UPDATE of our
    own: processing 500,000 jobs one by one would take minutes."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        marked = db.execute(  # autocommit: one statement, one transaction
            "UPDATE jobs SET status = 'completed', output = input, "
            "completed = created WHERE id % 2 = 0 AND status = 'queued'"
        ).rowcount
        db.execute('PRAGMA wal_checkpoint(TRUNCATE)')
    return marked


def measureClean(service):
    """clean()'s rows, seconds and the DELETE statements it ran."""
    with watching(service.store, steps=False) as seen:
        start = time.perf_counter()
        cleaned = service.removeFinished()
        seconds = time.perf_counter() - start
    deletes = sum('DELETE' in line.upper() for sql in seen['sql']
                  for line in sql.splitlines() if not line.startswith('--'))
    return dict(cleaned=cleaned, clean=seconds, cleanDeletes=deletes,
                cleanPerRow=seconds * 1e6 / max(cleaned, 1))


def queryPlans(path):
    """EXPLAIN QUERY PLAN of the store's queries on the measured paths."""
    from remotetask.store.sqlite import QUERIES
    from remotetask.store.sqliteconnections import appendEvent
    plans = {}
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.create_function('remotetask_append_event', 3, appendEvent)
        for name in PLANNED:
            params = {key: PLAN_PARAMS.get(key) for key in
                      re.findall(r':(\w+)', QUERIES[name])}
            plans[name] = [row[3] for row in db.execute(
                'EXPLAIN QUERY PLAN ' + QUERIES[name], params)]
    return plans


def measureSize(n, directory):
    """Every figure for a fresh store of ``n`` jobs in ``directory``."""
    path = os.path.join(directory, f'jobs-{n}.sqlite')
    service = openService(path)
    synchronous = service.store.connections.connection().execute(
        'PRAGMA synchronous').fetchone()['synchronous']
    figures = dict(rssStart=memoryMiB()[0], synchronous=(
        'OFF', 'NORMAL', 'FULL', 'EXTRA')[synchronous])
    start = time.perf_counter()
    fill(service, n, ranked=False)
    figures.update(fillRate=n / (time.perf_counter() - start),
                   fileMiB=sum(map(os.path.getsize, glob.glob(path + '*')))
                   / 2 ** 20,
                   rssFilled=memoryMiB()[0])
    chooser = random.Random(n)
    figures['getStatus'] = repeated(lambda: latencies(
        service.getStatus, [chooser.randint(1, n) for _ in range(LOOKUPS)]))
    figures['getStatusWork'] = work(
        service.store, lambda: service.getStatus(chooser.randint(1, n)))
    figures['add'] = onScratch(path, lambda scratch: latencies(
        lambda k: scratch.add('echo', {'i': k}), range(ADDS)))
    figures['processNext'] = onScratch(path, lambda scratch: latencies(
        lambda _: claimOne(scratch), range(min(CLAIMS, n))))
    figures['processNextWork'] = work(service.store, service.processNext)
    figures['claim'] = onScratch(path, lambda scratch: latencies(
        lambda _: claimMany(scratch), range(min(CLAIMS, n // CLAIM))))
    figures['claimWork'] = onScratch(path, lambda scratch: work(
        scratch.store, lambda: claimMany(scratch), CLAIMWORK))
    figures['len'] = latencies(lambda _: len(service.jobs), range(5))
    start = time.perf_counter()
    seen = sum(1 for jobid in service.jobs)
    figures.update(iterate=time.perf_counter() - start, iterated=seen,
                   rssIterated=memoryMiB()[0])
    figures['marked'] = markHalfCompleted(path)
    figures['getResult'] = repeated(lambda: latencies(
        service.getResult,  # even ids: completed, with an output to decode
        [chooser.randint(1, n // 2) * 2 for _ in range(LOOKUPS)]))
    figures.update(measureClean(service))
    figures.update(rssPeak=memoryMiB()[1], plans=queryPlans(path))
    service.store.close()
    figures.update(measureRanked(n, directory))
    return figures


TIMED = (('add(), 1 job/transaction', 'add'),
         ('getStatus(random id)', 'getStatus'),
         ('getResult(random completed id)', 'getResult'),
         ('processNext(), claim+run+finish', 'processNext'),
         (f'claim({CLAIM}), one task, priority 0', 'claim'),
         (f'claim({CLAIM}), 3 tasks, priorities, limits', 'claimRanked'))
ROWS = (  # (metric, key in the figures[, index])
    ('fill, addMany in 10k batches (jobs/s)', 'fillRate'),
    ('files on disk after fill, db+wal+shm (MiB)', 'fileMiB'),
    ('RSS at start (MiB)', 'rssStart'),
    ('RSS after fill (MiB)', 'rssFilled'),
    *((f'{what} {stat} (us)', key, i) for what, key in TIMED
      for i, stat in enumerate(('median', 'p99'))),
    ('getStatus: SQLite VM instructions/call', 'getStatusWork', 0),
    ('processNext: SQLite VM instructions/call', 'processNextWork', 0),
    ('processNext: SQL statements/call', 'processNextWork', 1),
    (f'claim({CLAIM}), one task: SQLite VM instructions/call', 'claimWork',
     0),
    (f'claim({CLAIM}), one task: SQL statements/call', 'claimWork', 1),
    (f'claim({CLAIM}), ranked and limited: SQLite VM instructions/call',
     'claimRankedWork', 0),
    (f'claim({CLAIM}), ranked and limited: SQL statements/call',
     'claimRankedWork', 1),
    ('len(service.jobs), a count(*), median (us)', 'len', 0),
    ('iterate all ids, for id in service.jobs (s)', 'iterate'),
    ('ids iterated', 'iterated'),
    ('RSS after iterating all ids (MiB)', 'rssIterated'),
    ('RSS peak, VmHWM (MiB)', 'rssPeak'),
    ('clean(): rows deleted', 'cleaned'),
    ('clean(): seconds', 'clean'),
    ('clean(): us per deleted row', 'cleanPerRow'),
    ('clean(): DELETE statements executed', 'cleanDeletes'),
)


def label(n):
    """1000 -> '1k', 1000000 -> '1M'."""
    return next((f'{n // scale}{unit}' for unit, scale in
                 (('M', 10 ** 6), ('k', 10 ** 3)) if n % scale == 0), str(n))


def number(value):
    """Three significant figures are plenty; integers in full."""
    if value >= 100 or value == int(value):
        return f'{value:,.0f}'
    return f'{value:.3g}' if value < 1 else f'{value:.1f}'


def printReport(sizes, results):
    """One table, a row per metric, a column per size and the ratio."""
    names = [label(n) for n in sizes]
    table = [['metric', *names, f'{names[-1]}/{names[0]}']]
    for metric, key, *index in ROWS:
        values = [r[key][index[0]] if index else r[key] for r in results]
        ratio = values[-1] / values[0] if values[0] else float('nan')
        table.append([metric, *map(number, values), f'{ratio:.2f}'])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    table.insert(1, ['-' * width for width in widths])
    for row in table:
        print('  '.join([row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]))
    print('\nThe ranked store holds the same number of jobs, of the tasks '
          'echo, limited (5 at once: saturated after its first claims) and '
          'rated (100/s), with priorities from -5 to 5; claims there seek '
          'each task\'s queue and read and write the limits\' state.')
    print('\nEach add()/processNext()/claim() repetition ran on a fresh '
          'copy of the filled file. Before clean(), even-numbered queued '
          'jobs were '
          f'marked completed by one direct SQL UPDATE on the file, not '
          f'processed ({"/".join(number(r["marked"]) for r in results)}).')
    print(f'\nEXPLAIN QUERY PLAN at {names[-1]} jobs '
          '(SEARCH = index seek; SCAN = reads all of what it names: the jobs '
          'table only in count_jobs, elsewhere a parameter\'s few values '
          '(json_each) or a claim\'s few candidates):')
    for name, details in results[-1]['plans'].items():
        for detail in details:
            flag = '   <-- SCAN of jobs' if detail.startswith(
                ('SCAN jobs', 'SCAN job ')) else ''
            print(f'  {name:18} {detail}{flag}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', default='1000,1000000',
                        help='comma-separated job counts (default %(default)s)')
    parser.add_argument('--quick', action='store_true',
                        help='sizes 1000,100000')
    options = parser.parse_args()
    sizes = [1000, 100_000] if options.quick else [
        int(size) for size in options.sizes.split(',')]
    print('$ cd', shlex.quote(os.getcwd()), '&& PYTHONPATH=' +
          shlex.quote(os.environ.get('PYTHONPATH', '')),
          shlex.join([sys.executable, *sys.argv]), flush=True)
    results, spawn = [], multiprocessing.get_context('spawn')
    for n in sizes:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(dir='/tmp') as directory, \
                spawn.Pool(1) as fresh:  # a new interpreter: RSS is n's own
            results.append(fresh.apply(measureSize, (n, directory)))
        print(f'{label(n)} jobs measured in '
              f'{time.perf_counter() - started:.0f} s', flush=True)
    print(f'SQLite {sqlite3.sqlite_version}, journal_mode WAL, synchronous '
          f'{results[0]["synchronous"]} (the store default), Python '
          f'{sys.version.split()[0]}, {os.cpu_count()} CPUs, load average '
          f'{os.getloadavg()[0]:.1f}\n')
    printReport(sizes, results)


if __name__ == '__main__':
    main()
