"""The daemon's processes as /proc shows them: what they cost in memory,
their children, the workers a daemon started and the programs they run.
Linux only, as the daemon's process lifetimes are."""

import os


def memory(pid):
    """``{'VmRSS': MB, 'VmHWM': MB}`` of process ``pid``: its resident
    size, and its peak since the start or the last ``Peak``."""
    found = {}
    with open(f'/proc/{pid}/status') as file:
        for line in file:
            name, _, value = line.partition(':')
            if name in ('VmRSS', 'VmHWM'):
                found[name] = int(value.split()[0]) / 1024
    assert 'VmRSS' in found, f'no VmRSS for process {pid}'
    return found


def residentMB(pid):
    """The resident size of process ``pid``, in MB."""
    return memory(pid)['VmRSS']


class Peak:
    """``with Peak(pid) as peak:`` ... ``peak.cost``: how far the resident
    size rose above what it was at the start, at most, meanwhile."""

    def __init__(self, pid):
        self.pid = pid

    def __enter__(self):
        with open(f'/proc/{self.pid}/clear_refs', 'w') as file:
            file.write('5')  # VmHWM := VmRSS
        self.start = residentMB(self.pid)
        return self

    def __exit__(self, *exc):
        self.cost = memory(self.pid)['VmHWM'] - self.start


def children(pid):
    """The pids of the processes whose parent is ``pid``."""
    found = []
    for entry in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{entry}/stat') as file:
                stat = file.read()
        except OSError:   # it ended meanwhile
            continue
        if int(stat.rsplit(')', 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def commandLines():
    """``{pid: (parent pid, argv)}`` of every process that can be read
    (zombies left out)."""
    found = {}
    for name in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{name}/cmdline', 'rb') as file:
                argv = file.read().decode('utf-8', 'replace').split('\0')
            with open(f'/proc/{name}/stat') as file:
                fields = file.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if fields[0] != 'Z':
            found[int(name)] = (int(fields[1]), argv)
    return found


def workersOf(daemonPid):
    """The pids of the worker processes the daemon ``daemonPid`` started
    that still run (found by the parent their config names, which
    outlives the daemon; /proc's cmdline ends with a NUL, so the config
    is not the last word of the split)."""
    mark = f'"parent": {daemonPid},'
    return [pid for pid, (_, argv) in commandLines().items()
            if 'remotetask.server.workers.workerprocess' in argv and
            any(mark in word for word in argv)]


def programs(mark):
    """The argvs of the programs running that hold ``mark``."""
    return [argv for _, argv in commandLines().values()
            if any(mark in word for word in argv)]
