"""No process outlives its server: workers and their programs, after
``kill -9`` of the daemon, and systemd's stop, which sends SIGTERM to
every process of the service at once (issue 20, items 1 to 3)."""

import collections
import os
import signal

from remotetask.store import SQLiteJobStore
from tests.acceptance.lifetimes import killNineLeavesNothing, startSpans
from tests.acceptance.proc import commandLines


def test_kill_9_of_the_daemon_leaves_no_worker_nor_program(
        startDaemon, tmp_path):
    """kill -9 of the daemon while programs and Python tasks run: its
    workers and their programs end with it (the process table shows none
    of them); after a restart each job runs again once, and no run of
    the killed server ends, so no job ran twice at once."""
    killNineLeavesNothing(startDaemon, tmp_path)


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
