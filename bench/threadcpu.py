"""Server CPU over a burst, split by thread and by process: bench/profile.

The same figure as measure.burst's, for remotetask's daemons: each
daemon's threads (utime+stime of /proc/PID/task/TID/stat), and each of
its worker processes, before and after the burst; on PostgreSQL, the
backends of its own database on a row of their own, outside the total.
Threads are named by their Python names, which the kernel does not know
under Python 3.11: `py-spy dump --json` reports each thread's name beside
its OS thread id, read once the burst is over.  Without py-spy the
kernel's name and the thread id stand in.  What threads or processes that
ended during the burst spent is shown on rows of its own, so that the
rows add up to the total, give or take the kernel's rounding: each
thread's and each process's times are counted in whole ticks.
"""

import json
import subprocess

import cpu
from adapter import venvScript
from tables import table

dumpSeconds = 30


class ThreadSplit:
    """CPU per job of each thread and worker process of a system's
    daemons over one burst, and on PostgreSQL of the backends of its own
    database: begin(), run the burst, then rows(n)."""

    def __init__(self, adapter):
        self.adapter = adapter
        self.daemons = adapter.workers

    def read(self):
        """(tree snapshot, pid -> tid -> Times) of every daemon now."""
        roots = {daemon.label: [daemon.pid] for daemon in self.daemons}
        database = self.adapter.cpuRoots().get('database')
        if database is not None:
            roots[databasePart] = database
        tree = cpu.Snapshot(roots)
        threads = {pid: cpu.threadTimes(pid)
                   for daemon in self.daemons
                   for pid in tree.parts[daemon.label]}
        return tree, threads

    def begin(self):
        self.before = self.read()

    def rows(self, n, unit='job'):
        """The table: one row per thread and worker process, with the ms
        per `unit` it spent since begin(), and its share of the total."""
        before, after = self.before, self.read()
        names = threadNames([pid for daemon in self.daemons
                             for pid in after[0].parts[daemon.label]])
        spent = cpu.spent(before[0], after[0])
        total = sum(spent[daemon.label] for daemon in self.daemons)
        rows = []
        for daemon in self.daemons:
            rows.extend(daemonRows(daemon, before, after, names))
        lines = [[label, thread, f'{seconds * 1000 / n:.3f}',
                  f'{seconds / total:.0%}' if total else '-']
                 for label, thread, seconds in rows]
        lines.append(['total', '', f'{total * 1000 / n:.3f}', '100%'])
        if databasePart in spent:
            lines.append([
                'PostgreSQL', 'backends of its database (not in the total)',
                f'{spent[databasePart] * 1000 / n:.3f}', '-'])
        return table(lines, ['process', 'thread', f'ms/{unit}', 'share'],
                     left=2)


# The snapshot part of the PostgreSQL backends of the system's database.
databasePart = 'PostgreSQL'


def daemonRows(daemon, before, after, names):
    """(process, thread, seconds) of the daemon's threads, then of each
    worker process's, then of the worker processes that ended."""
    (treeBefore, threadsBefore), (treeAfter, threadsAfter) = before, after
    earlier, later = treeBefore.parts[daemon.label], \
        treeAfter.parts[daemon.label]
    rows = []
    for pid in sorted(later, key=lambda pid: (pid != daemon.pid, pid)):
        label = daemon.label if pid == daemon.pid else f'worker {pid}'
        own = later[pid].own - (earlier[pid].own if pid in earlier else 0)
        rows.extend(threadRows(label, threadsBefore.get(pid, {}),
                               threadsAfter.get(pid, {}), own, names))
    reaped = sum(times.reaped for times in later.values()) - sum(
        times.reaped for times in earlier.values())
    gone = sum(times.own for pid, times in earlier.items()
               if pid not in later)
    if reaped or gone:
        rows.append((daemon.label, '(worker processes that ended)',
                     reaped - gone))
    return rows


def threadRows(label, before, after, own, names):
    """(process, thread, seconds) of each thread that ran, and one for
    the threads that ended, if they spent anything."""
    rows, counted = [], 0
    for tid, times in after.items():
        seconds = times.own - (before[tid].own if tid in before else 0)
        counted += seconds
        if seconds:
            name = names.get(tid, f'{times.name} {tid}')
            rows.append((label, shorten(name), seconds))
    rows.sort(key=lambda row: -row[2])
    # Below two ticks, the difference is the kernel's rounding of each
    # thread's time, not a thread.
    if own - counted >= 2 / cpu.ticksPerSecond:
        rows.append((label, '(threads that ended)', own - counted))
    return rows


def shorten(name, width=40):
    return name if len(name) <= width else name[:width - 3] + '...'


def threadNames(pids):
    """OS thread id -> Python thread name, for the processes, from
    py-spy; {} where py-spy cannot read them."""
    names = {}
    for pid in pids:
        try:
            dump = subprocess.run(
                [venvScript('py-spy'), 'dump', '--json', '--nonblocking',
                 '--pid', str(pid)],
                capture_output=True, timeout=dumpSeconds, check=True)
            for thread in json.loads(dump.stdout):
                if thread.get('os_thread_id') and thread.get('thread_name'):
                    names[thread['os_thread_id']] = thread['thread_name']
        except (OSError, subprocess.SubprocessError, ValueError):
            continue
    return names
