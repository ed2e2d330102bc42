"""Issue 20's last test: fifty rounds of kill -9 in a cluster of three
servers on one PostgreSQL queue, and no job runs twice at once."""

import collections
import time
import xmlrpc.client

from tests.acceptance.daemon import Daemon, storeURL, waitUntil
from tests.acceptance.proc import programs, workersOf

ROUNDS = 50
#: Jobs added in each round, half Python tasks and half programs.
JOBS = 6
#: How long each run takes; its digits also mark the programs in /proc.
SECONDS = '0.2113'
PROGRAM = ('[program]\nargv = sh -c "echo begin {n} $$ $(date +%s.%N) '
           '>> {path}; sleep {s}; echo end {n} $$ $(date +%s.%N) '
           '>> {path}"\n')


def spans(path):
    """``{job number: [[began, ended or None], ...]}``, one per run."""
    runs = collections.defaultdict(dict)
    with open(path) as file:
        for line in file:
            what, n, run, at = line.split()
            span = runs[int(n)].setdefault(run, [None, None])
            span[what == 'end'] = float(at)
    return {n: list(byRun.values()) for n, byRun in runs.items()}


def runningOn(proxy, ids):
    """The servers on which one of the jobs ``ids`` has started."""
    calls = xmlrpc.client.MultiCall(proxy)
    for jobid in ids:
        calls.getJob(jobid)
    return {job['server'] for job in calls()
            if job['status'] == 'processing' and job.get('started')}


def allCompleted(proxy, ids):
    """Whether every one of the jobs ``ids`` has completed."""
    calls = xmlrpc.client.MultiCall(proxy)
    for jobid in ids:
        calls.getStatus(jobid)
    return set(calls()) == {'completed'}


def killRound(daemons, index, log):
    """Add this round's jobs, kill -9 a server once one of them runs
    there (each in turn, where it can), restart it as the same server and
    wait for every job; ``(numbers, name, killed pid, time it was dead
    by)``."""
    names = sorted(daemons)
    turn = names[index % len(names)]
    numbers = range(index * JOBS, (index + 1) * JOBS)
    calls = xmlrpc.client.MultiCall(daemons[turn].proxy())
    for n in numbers:
        calls.add(('stamped', 'program')[n % 2],
                  dict(n=n, s=SECONDS, path=str(log)))
    ids = list(calls())
    running = set()

    def started():
        running.clear()
        running.update(runningOn(daemons[turn].proxy(), ids))
        return running
    waitUntil(started, timeout=20, interval=0.02,
              message=f'round {index}: a job runs')
    name = turn if turn in running else min(running)
    victim = daemons[name]
    pid = victim.process.pid
    victim.kill()
    dead = time.time()
    victim.start()
    waitUntil(lambda: allCompleted(victim.proxy(), ids), timeout=30,
              interval=0.05, message=f'round {index}: every job completed '
              f'(see {victim.logfile})')
    return numbers, name, pid, dead


def test_fifty_kills_in_a_cluster_run_no_job_twice_at_once(postgresqlDsn,
                                                           tmp_path):
    """Three servers share one PostgreSQL queue; in each of 50 rounds six
    jobs (Python tasks and programs, 0.2 s each) are added, the server
    running some of them is killed with SIGKILL, and restarted with the
    same --server-id. Every job completes. A job ran again only after a
    kill: every run but its last began before its round's kill and was
    cut short by it, or ended before it (its end died with the server
    before it was recorded: at least once), and the last run began after
    the killed server was dead (its workers and programs die with it),
    so no two runs of a job overlapped; and no worker or program of a
    killed server is left in the process table."""
    commands = tmp_path / 'commands.ini'
    commands.write_text(PROGRAM)
    log = tmp_path / 'runs'
    daemons = {}
    try:
        for name in 'abc':
            directory = tmp_path / name
            directory.mkdir()
            daemons[name] = Daemon(
                str(directory), store=storeURL(postgresqlDsn),
                tasks=('stamped',),
                args=['--workers=2', '--heartbeat-timeout=2',
                      f'--server-id={name}', f'--commands={commands}']
            ).start()
        rounds = [killRound(daemons, index, log) for index in range(ROUNDS)]
        killedPids = [pid for _, _, pid, _ in rounds]
        waitUntil(lambda: not any(workersOf(pid) for pid in killedPids)
                  and not programs(SECONDS), timeout=10,
                  message='no worker nor program of a killed server left')
        runs = spans(log)
        logs = f'logs: {tmp_path}/[abc]/twistd.log'
        cutShort = 0
        for numbers, name, _, dead in rounds:
            for n in numbers:
                *earlier, last = sorted(runs[n], key=lambda span: span[0])
                assert last[1] is not None, f'job {n}: {runs[n]}; {logs}'
                for began, end in earlier:
                    # Run on the killed server, cut short or ended before
                    # its end was recorded; the next run after its death.
                    cutShort += end is None
                    assert began < dead < last[0], \
                        (f'job {n}: ran {began}-{end}, {name} dead by '
                         f'{dead}, ran again {last}; {logs}')
                    assert end is None or end < dead, \
                        (f'job {n} ran to its end twice: {runs[n]}; {logs}')
        # Most rounds cut a run short: the kills landed on running jobs.
        assert cutShort >= ROUNDS // 2, cutShort
    finally:
        for daemon in daemons.values():
            daemon.kill()
