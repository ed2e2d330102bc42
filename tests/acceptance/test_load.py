"""The daemon under load: many client processes adding at once.

Twenty client processes add jobs over loopback, a mix of tasks that
succeed (``echo``), fail (``fail``), crash (``crash``) and leave a trace
of every run (``record`` appends a line to a file, so a job run twice
shows as a line written twice). Afterwards every job must be in the
store exactly once, finished, run once, with the outcome its task gives;
in the perf run (``-m perf``), with 500 adds each, the server's resident
memory must also be about what it was after a warm-up round.
"""

import collections
import json
import os
import subprocess
import sys
import time

import pytest

from tests.acceptance.daemon import ROOT, waitUntil
from tests.acceptance.proc import residentMB

CLIENTS = 20
#: Adds per client: in the functional run; in the perf run, after a
#: warm-up round.
FUNCTIONAL_ADDS, ADDS, WARMUP_ADDS = 150, 500, 50
#: See test_load_keeps_memory_flat.
RSS_GROWTH_LIMIT_MB = 20


def runClients(daemon, name, count, recordFile, directory, timeout=120):
    """Run CLIENTS processes adding ``count`` jobs each; every job added,
    in one list; ``name`` sets this round's inputs apart from others'.

    Separate interpreters, not forks: this process runs a reactor
    (pytest-twisted), whose threads and signal handlers a forked child
    would inherit; forked clients deadlocked here."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    clients = []
    for client in range(CLIENTS):
        out = os.path.join(directory, f'{name}-{client}.json')
        clients.append((out, subprocess.Popen(
            [sys.executable, '-m', 'tests.acceptance.loadclient', daemon.url,
             f'{name}-{client}', str(count), recordFile, out], env=env,
            cwd=ROOT, stderr=subprocess.PIPE)))
    deadline = time.monotonic() + timeout
    added = []
    try:
        for out, process in clients:
            _, errors = process.communicate(
                timeout=max(0.1, deadline - time.monotonic()))
            assert process.returncode == 0, (
                f'a client failed: {errors.decode(errors="replace")}; '
                f'see {daemon.logfile}')
            with open(out) as file:
                added.extend(tuple(job) for job in json.load(file))
    finally:
        for out, process in clients:
            if process.poll() is None:
                process.kill()
                process.wait()
    return added


def allJobs(server):
    """Every job in the store, read page by page."""
    jobs, cursor = [], 0
    while cursor is not None:
        page = server.getJobs({'limit': 1000, 'cursor': cursor})
        jobs.extend(page['jobs'])
        cursor = page.get('cursor')  # absent on the last page
    return jobs


def waitUntilAllFinished(server, daemon, timeout):
    """Poll until no job is queued or processing; the largest RSS seen
    meanwhile."""
    peak = [0.0]

    def finished():
        peak[0] = max(peak[0], residentMB(daemon.process.pid))
        return not any(server.getJobs({'status': status, 'limit': 1})['jobs']
                       for status in ('queued', 'processing'))
    waitUntil(finished, timeout=timeout, interval=0.25,
              message='every job finished')
    return peak[0]


def expectedEnd(task, input):
    """The status, output and error a job of ``task`` must end with."""
    if task == 'echo':
        return 'completed', input, None
    if task == 'record':
        return 'completed', input['line'], None
    if task == 'fail':
        return 'error', None, 'An error occurred.'
    return 'error', None, f'ValueError: cannot handle {input!r}'


def checkEveryJob(server, everyone, recordFile, total):
    """Every id unique, every job in the store once and finished with its
    task's outcome after one attempt, every record job's line written
    exactly once."""
    ids = [jobid for jobid, task, input in everyone]
    assert len(everyone) == total
    assert len(set(ids)) == len(ids), 'an id was handed out twice'
    stored = {job['id']: job for job in allJobs(server)}
    assert sorted(stored) == sorted(ids), (
        f'{len(set(ids) - set(stored))} added jobs missing, '
        f'{len(set(stored) - set(ids))} unexpected jobs in the store')
    wrong = []
    for jobid, task, input in everyone:
        job = stored[jobid]
        got = (job['task'], job['status'], job.get('output'),
               job.get('error'), job['attempts'])
        if got != (task, *expectedEnd(task, input), 1):
            wrong.append((jobid, got))
    assert not wrong, f'{len(wrong)} jobs ended wrongly, e.g. {wrong[:5]}'

    with open(recordFile) as file:
        lines = collections.Counter(file.read().splitlines())
    recorded = [input['line'] for jobid, task, input in everyone
                if task == 'record']
    assert sorted(lines) == sorted(recorded)
    twice = [line for line, count in lines.items() if count > 1]
    assert not twice, f'record jobs that ran more than once: {twice[:10]}'


def test_load_loses_nothing_and_duplicates_nothing(startDaemon, tmp_path):
    """20 client processes x 150 adds at once (echo, fail, crash, record)
    against one daemon: every id is unique, every job is in the store
    once and finishes with its task's outcome after one attempt, and
    every record job wrote its line exactly once. (The perf run makes
    the same checks over 10,000 jobs.)"""
    daemon = startDaemon('--workers=2')
    server = daemon.proxy()
    recordFile = str(tmp_path / 'record.txt')
    added = runClients(daemon, 'main', FUNCTIONAL_ADDS, recordFile,
                       str(tmp_path))
    waitUntilAllFinished(server, daemon, timeout=150)
    checkEveryJob(server, added, recordFile, CLIENTS * FUNCTIONAL_ADDS)
    assert daemon.process.poll() is None


@pytest.mark.perf
def test_load_keeps_memory_flat(startDaemon, tmp_path):
    """20 client processes x 500 adds, after a warm-up round of 20 x 50:
    every job ends as above, and the server's RSS at the end is within
    RSS_GROWTH_LIMIT_MB of what it was after the warm-up.

    Why 20 MB: as the database grows the store's SQLite connections fill
    their page caches (2 MB each by default, one per store thread: 8 MB
    with the default 4 threads), which is memory in use, not leaked; the
    rest is slack for the allocator. A leak of one request or one job
    struct per job (a few KB each) over these 10,000 jobs is 20 MB or
    more, and fails the test.
    """
    daemon = startDaemon('--workers=2')
    server = daemon.proxy()
    recordFile = str(tmp_path / 'record.txt')

    warmup = runClients(daemon, 'warmup', WARMUP_ADDS, recordFile,
                        str(tmp_path))
    waitUntilAllFinished(server, daemon, timeout=60)
    rssBefore = residentMB(daemon.process.pid)

    started = time.monotonic()
    added = runClients(daemon, 'main', ADDS, recordFile, str(tmp_path))
    addSeconds = time.monotonic() - started
    peak = waitUntilAllFinished(server, daemon, timeout=150)
    seconds = time.monotonic() - started
    rssAfter = residentMB(daemon.process.pid)
    figures = (
        f'{len(added)} jobs from {CLIENTS} clients: added in '
        f'{addSeconds:.1f} s, all finished in {seconds:.1f} s '
        f'({len(added) / seconds:.0f} jobs/s); server RSS after warm-up '
        f'{rssBefore:.1f} MB, peak {peak:.1f} MB, at the end '
        f'{rssAfter:.1f} MB (limit +{RSS_GROWTH_LIMIT_MB} MB)')
    print(figures)
    checkEveryJob(server, warmup + added, recordFile,
                  CLIENTS * (WARMUP_ADDS + ADDS))
    assert daemon.process.poll() is None
    assert rssAfter - rssBefore < RSS_GROWTH_LIMIT_MB, figures
