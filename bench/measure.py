"""The measurements every bench takes the same way: a burst, a percentile.

A burst is one producer enqueueing n jobs as fast as it can, then waiting
until every result is readable.  Besides its rates it yields the CPU time
(utime+stime) the system spent on it, per job: its own processes and its
broker's, from /proc snapshots taken just before the first add and just
after the last result was seen (cpu.py).
"""

import time

import cpu


class Burst:
    """What one burst measured: `enqueued` and `e2e` in jobs/s, and `cpu`,
    part -> CPU ms per job ('server': the system's processes; 'broker':
    its broker's, 0 without one; 'database': on PostgreSQL, the part of
    'broker' spent by the backends of the system's own database;
    'server:root': the root processes' own share of 'server', e.g. the
    daemon without its workers)."""

    def __init__(self, n, enqueuedSeconds, doneSeconds, spent,
                 checkSpent=None):
        self.n = n
        self.enqueued = n / enqueuedSeconds
        self.e2e = n / doneSeconds
        self.cpu = {part: seconds * 1000 / n for part, seconds in
                    spent.items()}
        #: With measureCheck, what one more pass of the check that every
        #: job ended cost, in the same parts (a part of `cpu`).
        self.checkCpu = None if checkSpent is None else {
            part: seconds * 1000 / n for part, seconds in checkSpent.items()}

    @property
    def cpuTotal(self):
        """Server CPU ms per job: the system's processes and its broker."""
        return self.cpu['server'] + self.cpu.get('broker', 0)


def burst(adapter, n, batch, enqueueMany=None, measureCheck=False):
    """Enqueue n jobs from one producer, wait for all; return a Burst.

    Batched with `enqueueMany` (the adapter's by default) when `batch` is
    given, else one call per job.  Waiting for all ends with a check of
    every job (`Adapter.waitAll`), whose calls the system serves inside
    the burst's CPU figure.  With `measureCheck`, that check is made once
    more after the burst, alone, and its CPU kept as `checkCpu`, so that
    a caller can take it out (bench/cpu: the bare server it divides by is
    asked no such thing).
    """
    enqueueMany = enqueueMany or adapter.enqueueMany
    handles = []
    before = cpu.Snapshot(adapter.cpuRoots())
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
    # The processes first: finding the roots takes a moment (a query).
    processes = cpu.allProcesses()
    after = cpu.Snapshot(adapter.cpuRoots(), processes)
    checkSpent = None
    if measureCheck:
        if adapter.unfinished(handles):
            raise RuntimeError('a job seen completed was not, checked again')
        checked = cpu.Snapshot(adapter.cpuRoots(), cpu.allProcesses())
        checkSpent = cpu.spent(after, checked)
    return Burst(n, enqueued - began, done - began, cpu.spent(before, after),
                 checkSpent)


def percentile(values, p):
    """The nearest-rank percentile: a value that was actually measured."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]
