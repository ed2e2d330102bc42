"""No process outlives its server: workers and their programs, after
``kill -9`` of the daemon, and systemd's stop, which sends SIGTERM to
every process of the service at once (issue 20, items 1 to 3)."""

import collections
import os
import signal

from remotetask.store import SQLiteJobStore
from tests.acceptance.daemon import isRunning, waitUntil

#: A program's sleep, its length the mark that finds it in /proc.
PROGRAM = '[spanned]\nargv = sh -c "echo begin {n} >> {path}; ' \
          'sleep {s}; echo end {n} >> {path}"\n'


def commandLines():
    """``{pid: (parent pid, argv)}`` of every process that can be read."""
    found = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
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
    """The argvs of the worker processes the daemon ``daemonPid`` started
    that still run."""
    return [argv for _, argv in commandLines().values()
            if 'remotetask.server.workers.workerprocess' in argv and
            f'"parent": {daemonPid},' in argv[-1]]


def programs(mark):
    """The argvs of the programs running that hold ``mark``."""
    return [argv for _, argv in commandLines().values()
            if any(mark in word for word in argv)]


def startSpans(startDaemon, tmp_path, seconds, *args):
    """A daemon with 4 workers running 2 programs and 2 Python tasks,
    each writing begin and end lines; ``(daemon, proxy, ids, runs)``."""
    commands = tmp_path / 'commands.ini'
    commands.write_text(PROGRAM)
    daemon = startDaemon('--workers=4', f'--commands={commands}',
                         '--task=python=tests.tasks:spanned', *args)
    server = daemon.proxy()
    runs = tmp_path / 'runs'
    ids = [server.add(task, dict(n=n, s=seconds, path=str(runs)))
           for n, task in enumerate(['spanned', 'python'] * 2)]
    for jobid in ids:
        waitUntil(lambda: isRunning(server, jobid), message=f'{jobid} runs')
    waitUntil(lambda: runs.exists() and
              runs.read_text().count('begin') == 4, message='4 begins')
    return daemon, server, ids, runs


def test_kill_9_of_the_daemon_leaves_no_worker_nor_program(
        startDaemon, tmp_path):
    """kill -9 of the daemon while programs and Python tasks run: its
    workers and their programs end with it (the process table shows none
    of them); after a restart each job runs again once, and no run of
    the killed server ends, so no job ran twice at once."""
    killNineLeavesNothing(startDaemon, tmp_path)


def killNineLeavesNothing(startDaemon, tmp_path, *args):
    """The test above, on the store ``startDaemon`` gives."""
    seconds = '6.317'
    daemon, _, ids, runs = startSpans(startDaemon, tmp_path, seconds, *args)
    pid = daemon.process.pid
    daemon.kill()
    waitUntil(lambda: not workersOf(pid), timeout=10,
              message='no worker of the killed daemon')
    # Well within the programs' 6.3 s: they did not just end by themselves.
    waitUntil(lambda: not programs(seconds), timeout=3,
              message='no program of the killed daemon')
    server = daemon.start().proxy()
    for jobid in ids:
        assert server.wait(jobid, 60) == 'completed'
    lines = collections.Counter(runs.read_text().splitlines())
    for n in range(4):
        assert (lines[f'begin {n}'], lines[f'end {n}']) == (2, 1), lines
    assert not programs(seconds)


def descendants(pid):
    """``pid`` and every process it started, and they started."""
    table = commandLines()
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        found.append(parent)
        todo.extend(child for child, (ppid, _) in table.items()
                    if ppid == parent)
    return found


def test_sigterm_to_every_process_costs_no_attempt(startDaemon, tmp_path):
    """SIGTERM sent at once to the daemon, its workers and their programs
    (systemd's KillMode=control-group): the running jobs finish within
    the grace period, each once and in its first attempt, as with a
    SIGTERM to the daemon alone."""
    daemon, _, ids, runs = startSpans(startDaemon, tmp_path, '2.5',
                                      '--grace=30')
    processes = descendants(daemon.process.pid)
    assert len(processes) >= 1 + 4 + 2 * 2  # daemon, workers, sh + sleep
    for pid in processes:
        os.kill(pid, signal.SIGTERM)
    assert daemon.kill(signal.SIGTERM) in (0, -signal.SIGTERM)
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    try:
        for jobid in ids:
            row = store.get(jobid)
            assert (row['status'], row['attempts']) == ('completed', 1), \
                (row['status'], row['error'], daemon.logfile)
    finally:
        store.close()
    lines = collections.Counter(runs.read_text().splitlines())
    assert set(lines.values()) == {1} and len(lines) == 8, lines
