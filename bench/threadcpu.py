"""Server CPU over a burst, split by thread and by process: bench/profile.

The same figure as measure.burst's, for remotetask's daemons: each
daemon's threads (utime+stime of /proc/PID/task/TID/stat), and each of
its worker processes, before and after the burst.  Threads are named by
their Python names, which the kernel does not know under Python 3.11:
`py-spy dump --json` reports each thread's name beside its OS thread id,
read once the burst is over.  Without py-spy the kernel's name and the
thread id stand in.  What threads or processes that ended during the
burst spent is shown on rows of its own, so that the rows add up to the
total.
"""

import json
import subprocess

import cpu
from adapter import venvScript
from tables import table

dumpSeconds = 30


class ThreadSplit:
    """CPU per job of each thread and worker process of some daemons
    (adapter Workers) over one burst: begin(), run it, then rows(n)."""

    def __init__(self, daemons):
        self.daemons = daemons

    def read(self):
        """(tree snapshot, pid -> tid -> Times) of every daemon now."""
        tree = cpu.Snapshot({daemon.label: [daemon.pid]
                         for daemon in self.daemons})
        threads = {pid: cpu.threadTimes(pid) for part in tree.parts.values()
                   for pid in part}
        return tree, threads

    def begin(self):
        self.before = self.read()

    def rows(self, n, unit='job'):
        """The table: one row per thread and worker process, with the ms
        per `unit` it spent since begin(), and its share of the total."""
        (treeBefore, threadsBefore), (treeAfter, threadsAfter) = \
            self.before, self.read()
        names = threadNames([pid for part in treeAfter.parts.values()
                             for pid in part])
        spent = cpu.spent(treeBefore, treeAfter)
        total = sum(spent[daemon.label] for daemon in self.daemons)
        rows = []
        for daemon in self.daemons:
            before = treeBefore.parts[daemon.label]
            for pid, times in sorted(
                    treeAfter.parts[daemon.label].items(),
                    key=lambda item: (item[0] != daemon.pid, item[0])):
                label = daemon.label if pid == daemon.pid else \
                    f'worker {pid}'
                own = times.own - (before[pid].own if pid in before else 0)
                rows.extend(threadRows(label, threadsBefore.get(pid, {}),
                                       threadsAfter.get(pid, {}), own, names))
            reaped = sum(times.reaped for times in
                         treeAfter.parts[daemon.label].values()) - sum(
                times.reaped for times in before.values())
            gone = sum(times.own for pid, times in before.items()
                       if pid not in treeAfter.parts[daemon.label])
            if reaped or gone:
                rows.append((daemon.label, '(worker processes that ended)',
                             reaped - gone))
        return table(
            [[label, thread, f'{seconds * 1000 / n:.3f}',
              f'{seconds / total:.0%}' if total else '-']
             for label, thread, seconds in rows]
            + [['total', '', f'{total * 1000 / n:.3f}', '100%']],
            ['process', 'thread', f'ms/{unit}', 'share'], left=2)


def threadRows(label, before, after, own, names):
    """(process, thread, seconds) of each thread that ran, and one for
    the threads that ended, if they spent anything."""
    rows, counted = [], 0
    for tid, times in after.items():
        seconds = times.own - (before[tid].own if tid in before else 0)
        counted += seconds
        if seconds:
            rows.append((label, names.get(tid, f'{times.name} {tid}'),
                         seconds))
    rows.sort(key=lambda row: -row[2])
    if abs(own - counted) > 1e-9:
        rows.append((label, '(threads that ended)', own - counted))
    return rows


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
