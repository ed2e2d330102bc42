"""CPU time (utime+stime) of process trees over a burst, read from /proc.

The cost of a job is judged by CPU time rather than throughput: on a shared
machine the rate swings with the load, while the CPU a burst costs stays
steady.  A system's CPU over a burst is that of the processes it runs
(a daemon and every process below it), taken in two snapshots, one before
and one after:

    sum over the tree at the end of (own + reaped children's)
  - sum over the tree at the start of (own + reaped children's)

"reaped children's" is a process's cutime+cstime: the times of the children
it has waited for, with theirs.  So a worker process that exits (or is
replaced) during the burst is still counted: its own time at the start
leaves the sum with it, and its whole time comes back in its parent's
reaped times.  A process started during the burst counts all its time.
What a process leaves behind unreaped by the tree (a daemonised
grandchild) is not counted, nor is a process that ended during the burst
without a parent in the tree.

Brokers are trees too: the Redis server, or the PostgreSQL postmaster
with its backends (which it reaps), found by `brokerRoots`.
"""

import os
from pathlib import Path

ticksPerSecond = os.sysconf('SC_CLK_TCK')


class Times:
    """One process's line of /proc/PID/stat, the fields used here, in
    seconds."""

    __slots__ = ('pid', 'ppid', 'name', 'own', 'reaped')

    def __init__(self, pid, text):
        self.pid = pid
        # The name may hold spaces and parentheses: split after its end.
        self.name = text[text.index('(') + 1:text.rindex(')')]
        fields = text[text.rindex(')') + 2:].split()
        # fields[0] is field 3 of proc(5): state; 4 ppid; 14-17 utime,
        # stime, cutime, cstime.
        self.ppid = int(fields[1])
        utime, stime, cutime, cstime = map(int, fields[11:15])
        self.own = (utime + stime) / ticksPerSecond
        self.reaped = (cutime + cstime) / ticksPerSecond


def readTimes(path, pid):
    """Times of /proc/.../stat at `path`, or None if it is gone."""
    try:
        return Times(pid, Path(path).read_text())
    except (OSError, ValueError, IndexError):
        return None


def allProcesses():
    """pid -> Times of every process now."""
    processes = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            times = readTimes(f'/proc/{entry}/stat', int(entry))
            if times is not None:
                processes[times.pid] = times
    return processes


def cmdline(pid):
    try:
        raw = Path(f'/proc/{pid}/cmdline').read_bytes()
    except OSError:
        return ''
    return raw.replace(b'\0', b' ').decode(errors='replace').strip()


class Snapshot:
    """The Times of every process in some trees at one moment, split in
    named parts (part -> pid -> Times), e.g. 'server' and 'broker'."""

    def __init__(self, roots, processes=None):
        processes = processes if processes is not None else allProcesses()
        children = {}
        for times in processes.values():
            children.setdefault(times.ppid, []).append(times.pid)
        self.roots = {part: list(pids) for part, pids in roots.items()}
        self.parts = {}
        for part, pids in roots.items():
            tree, todo = {}, [pid for pid in pids if pid in processes]
            while todo:
                pid = todo.pop()
                if pid not in tree:
                    tree[pid] = processes[pid]
                    todo.extend(children.get(pid, []))
            self.parts[part] = tree


def treeTotal(tree):
    return sum(times.own + times.reaped for times in tree.values())


def spent(before, after):
    """part -> CPU seconds its tree spent between two snapshots; and
    part + ':root' -> the roots' own share of it (the daemon itself,
    without its workers)."""
    result = {}
    for part, tree in after.parts.items():
        # A process gone by the end counts through its parent's reaped
        # times, where that parent is in the tree; otherwise (a backend
        # that disconnected, its postmaster no root) its time during the
        # burst is lost, and its time before it is not subtracted either.
        earlier = {pid: times for pid, times in
                   before.parts.get(part, {}).items()
                   if pid in tree or times.ppid in tree}
        result[part] = treeTotal(tree) - treeTotal(earlier)
        roots = after.roots.get(part, [])
        result[part + ':root'] = sum(
            tree[pid].own - (earlier[pid].own if pid in earlier else 0)
            for pid in roots if pid in tree)
    return result


def brokerRoots(kind):
    """The root pids of the machine's broker of `kind`: 'redis' (the
    redis-server on port 6379) or 'postgresql' (the postmaster, whose
    children are the backends and the background processes); [] if
    none runs."""
    processes = allProcesses()
    if kind == 'redis':
        return [pid for pid, times in processes.items()
                if times.name.startswith('redis-server')
                and ':6379' in cmdline(pid)]
    if kind == 'postgresql':
        return [pid for pid, times in processes.items()
                if times.name in ('postgres', 'postmaster')
                and getattr(processes.get(times.ppid), 'name', '')
                not in ('postgres', 'postmaster')]
    raise ValueError(f'unknown broker {kind!r}')


def threadTimes(pid):
    """tid -> Times of each thread of the process now (its `own` is the
    thread's utime+stime; `name` the kernel's name, which Python 3.11
    does not set from the thread's)."""
    threads = {}
    try:
        tids = os.listdir(f'/proc/{pid}/task')
    except OSError:
        return threads
    for tid in tids:
        times = readTimes(f'/proc/{pid}/task/{tid}/stat', int(tid))
        if times is not None:
            threads[times.pid] = times
    return threads
