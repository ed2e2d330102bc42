"""The scenario the process-lifetime tests share, on SQLite
(``test_lifetimes.py``) and on PostgreSQL (``tests/postgresql``): a
daemon whose workers run programs and Python tasks that write a line
when they begin and one when they end."""

import collections

from tests.acceptance.daemon import isRunning, waitUntil
from tests.acceptance.proc import programs, workersOf

#: A program's sleep, its length the mark that finds it in /proc.
PROGRAM = '[spanned]\nargv = sh -c "echo begin {n} >> {path}; ' \
          'sleep {s}; echo end {n} >> {path}"\n'


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


def killNineLeavesNothing(startDaemon, tmp_path, *args):
    """kill -9 of the daemon while programs and Python tasks run: its
    workers and their programs end with it; after a restart each job runs
    again once, and no run of the killed server ends. On the store
    ``startDaemon`` gives, with ``args``."""
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
