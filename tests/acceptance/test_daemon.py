"""The daemon under faults and in operation: auth, cron firing, kill -9,
crashing and hanging tasks, graceful stop, the command line."""

import os
import signal
import subprocess
import threading
import sys
import time
import xmlrpc.client

import pytest

from remotetask import TaskService
from remotetask.store import SQLiteJobStore
from tests.acceptance.daemon import ROOT, Daemon, cli, isRunning, waitUntil


def test_auth_required_when_users_given(startDaemon, tmp_path):
    """With --users, every call (system.* too) needs valid credentials."""
    users = tmp_path / 'users'
    users.write_text('alice:secret\n')
    # Its failed logins would make its own later calls wait (1, 2, 4 s,
    # ...); test_logins.py is where that is tested.
    daemon = startDaemon(f'--users={users}', '--login-delay=0.01')
    for proxy in (daemon.proxy(), daemon.proxy('alice', 'wrong'),
                  daemon.proxy('bob', 'secret')):
        with pytest.raises(xmlrpc.client.ProtocolError) as info:
            proxy.system.listMethods()
        assert info.value.errcode == 401
        with pytest.raises(xmlrpc.client.ProtocolError):
            proxy.add('echo', 1)
    server = daemon.proxy('alice', 'secret')
    jobid = server.add('echo', 1)
    assert server.wait(jobid, 30) == 'completed'
    assert 'add' in server.system.listMethods()


def test_cron_job_fires_in_the_daemon(tmp_path):
    """A cron job that is due runs in the daemon, keeps its status, and
    is scheduled again."""
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    service = TaskService(store=store)
    service.registry.register('echo', lambda input: input)
    jobid = service.addCronJob('echo', 'tick', minute=list(range(60)))
    # First seen an hour ago, so it is overdue when the daemon starts.
    store.scheduleFirstRuns(0, lambda row, now: 1.0)
    store.close()
    daemon = Daemon(str(tmp_path)).start()
    try:
        server = daemon.proxy()
        waitUntil(lambda: server.getResult(jobid) == 'tick',
                  message='the cron run')
        job = server.getJob(jobid)
        assert job['status'] == 'cronjob'
        assert job['attempts'] == 1
        assert job['nextRun'] > job['started']
    finally:
        daemon.kill()


def test_kill_9_and_restart_lose_nothing(startDaemon, tmp_path):
    """500 jobs queued and 2 running when the server is killed with
    SIGKILL all complete after a restart on the same store, each queued
    one exactly once."""
    daemon = startDaemon('--workers=2')
    server = daemon.proxy()
    log = str(tmp_path / 'runs')
    running = [server.add('sleep', 30) for _ in range(2)]
    calls = xmlrpc.client.MultiCall(server)
    for i in range(500):
        calls.add('record', {'path': log, 'line': str(i)})
    queued = list(calls())
    waitUntil(lambda: all(isRunning(server, j) for j in running),
              message='both running')
    assert daemon.kill() == -signal.SIGKILL
    restarted = startDaemon('--workers=4')
    server = restarted.proxy()
    waitUntil(lambda: server.getStatus(queued[-1]) == 'completed',
              timeout=120, interval=0.2, message='queued jobs done')
    statuses = xmlrpc.client.MultiCall(server)
    for jobid in queued:
        statuses.wait(jobid, 30)
    assert set(statuses()) == {'completed'}
    assert sorted(open(log).read().split(), key=int) == [
        str(i) for i in range(500)]
    assert all(server.getStatus(j) in ('queued', 'processing')
               for j in running)
    assert 'back in the queue' in restarted.log()
    assert all(server.getJob(j)['attempts'] == 2 for j in running)


def test_kill_9_with_jobs_claimed_beside_a_busy_worker(startDaemon,
                                                       tmp_path):
    """Jobs claimed ahead of a worker (fast tasks) and then held back by a
    long one are claimed but not started when the server is killed; after
    a restart each runs exactly once, on its first attempt."""
    daemon = startDaemon('--workers=1')
    server = daemon.proxy()
    log = str(tmp_path / 'runs')
    warm = xmlrpc.client.MultiCall(server)
    for i in range(50):
        warm.add('echo', i)
    for jobid in list(warm()):
        assert server.wait(jobid, 30) == 'completed'
    long = server.add('recordThenSleep',
                      {'path': log, 'line': 'long', 'sleep': 300})
    waiting = xmlrpc.client.MultiCall(server)
    for i in range(10):
        waiting.add('record', {'path': log, 'line': str(i)})
    waiting = list(waiting())

    def heldBack():
        jobs = [server.getJob(jobid) for jobid in waiting]
        return isRunning(server, long) and all(
            job['status'] == 'processing' and job['attempts'] == 0
            for job in jobs[:1])
    waitUntil(heldBack, message='jobs claimed behind the long one')
    claimed = [jobid for jobid in waiting
               if server.getStatus(jobid) == 'processing']
    assert claimed, 'nothing was claimed ahead'
    assert daemon.kill() == -signal.SIGKILL
    server = startDaemon('--workers=2').proxy()
    for jobid in waiting:
        assert server.wait(jobid, 30) == 'completed'
    runs = open(log).read().split()
    assert sorted(run for run in runs if run != 'long') == [
        str(i) for i in range(10)]
    assert {server.getJob(jobid)['attempts'] for jobid in claimed} == {1}


def test_a_task_that_kills_its_worker(server, daemon):
    """A task that kills its worker process is retried within its
    attempts (two for this task), then ends in error with the reason; the
    worker is replaced each time and the next job runs."""
    jobid = server.add('die')
    assert server.wait(jobid, 30) == 'error'
    job = server.getJob(jobid)
    assert 'worker process running the job died' in job['error']
    assert job['attempts'] == 2
    assert [entry['attempt'] for entry in job['history']] == [1, 2]
    after = server.add('echo', 'still here')
    assert server.wait(after, 30) == 'completed'
    assert daemon.log().count('died; starting another') == 2


def test_a_task_over_its_timeout_is_stopped(server, daemon):
    """A job over its task's timeout has its worker killed and ends in
    error, 'timed out after 1 s'; the worker the server stopped on
    purpose is replaced without a warning that a worker died."""
    jobid = server.add('slow')
    assert server.wait(jobid, 30) == 'error'
    assert 'timed out after 1 s' in server.getError(jobid)
    assert server.wait(server.add('echo', 1), 30) == 'completed'
    assert 'died; starting another' not in daemon.log()


def test_cancel_a_running_job(server):
    """cancel() of a running job stops its worker process; the job ends
    cancelled and the pool goes on with a fresh worker."""
    jobid = server.add('sleep', 60)
    waitUntil(lambda: isRunning(server, jobid))
    assert server.cancel(jobid) is True
    assert server.wait(jobid, 30) == 'cancelled'
    waitUntil(lambda: server.wait(server.add('echo', 1), 5) == 'completed',
              message='a worker free again')
    assert server.getStatus(jobid) == 'cancelled'


def test_jobs_run_in_worker_processes(server, daemon):
    """Tasks do not run in the server's own process."""
    jobid = server.add('pid')
    assert server.wait(jobid, 30) == 'completed'
    assert server.getResult(jobid) != daemon.process.pid


def test_thread_pool(startDaemon):
    """--pool thread runs jobs in threads of the server process."""
    daemon = startDaemon('--pool=thread')
    server = daemon.proxy()
    jobid = server.add('pid')
    assert server.wait(jobid, 30) == 'completed'
    assert server.getResult(jobid) == daemon.process.pid


def stoppedCleanly(daemon):
    """SIGTERM the daemon; it shuts down in order (twistd then ends
    with the signal that stopped it, as its exit status shows)."""
    assert daemon.kill(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert 'Server Shut Down.' in daemon.log()


def test_sigterm_lets_running_jobs_finish(startDaemon, tmp_path):
    """On SIGTERM the running job finishes within the grace period, the
    queued ones stay queued, and a restart runs them."""
    daemon = startDaemon('--workers=1', '--grace=30')
    server = daemon.proxy()
    running = server.add('sleep', 1)
    waiting = server.add('echo', 'later')
    waitUntil(lambda: isRunning(server, running))
    stoppedCleanly(daemon)
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    assert store.get(running)['status'] == 'completed'
    assert store.get(waiting)['status'] == 'queued'
    store.close()
    server = startDaemon().proxy()
    assert server.wait(waiting, 30) == 'completed'


def test_sigterm_in_the_thread_pool_requeues_after_the_grace(
        startDaemon, tmp_path):
    """Threads cannot be killed: a job still running past the grace
    period (and five seconds for the processes a pool could kill) is put
    back in the queue, and its late end is not recorded; the server then
    stops when the thread ends."""
    daemon = startDaemon('--pool=thread', '--workers=1', '--grace=0.5')
    server = daemon.proxy()
    jobid = server.add('sleep', 8)
    waitUntil(lambda: isRunning(server, jobid))
    stoppedCleanly(daemon)
    assert 'still ran at shutdown; put back in the queue' in daemon.log()
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    assert store.get(jobid)['status'] == 'queued'
    store.close()


def test_sigterm_during_load_loses_nothing(startDaemon, tmp_path):
    """SIGTERM while a client keeps adding: every add that was answered
    with an id is in the store, and a restart runs each such job exactly
    once."""
    daemon = startDaemon('--workers=2')
    log = str(tmp_path / 'runs')
    acknowledged, stop = [], threading.Event()

    def client():
        proxy = daemon.proxy()
        for i in range(100000):
            if stop.is_set():
                return
            try:
                acknowledged.append(proxy.add(
                    'record', {'path': log, 'line': str(i)}))
            except (OSError, xmlrpc.client.Error):
                return
    adding = threading.Thread(target=client)
    adding.start()
    waitUntil(lambda: len(acknowledged) >= 200, message='200 adds')
    stoppedCleanly(daemon)
    stop.set()
    adding.join(30)
    server = startDaemon('--workers=2').proxy()
    waitUntil(lambda: server.getStatus(acknowledged[-1]) in
              ('completed', 'error'), timeout=120, interval=0.2,
              message='the last acknowledged job done')
    statuses = xmlrpc.client.MultiCall(server)
    for jobid in acknowledged:
        statuses.wait(jobid, 30)
    assert set(statuses()) == {'completed'}
    lines = open(log).read().split()
    assert len(lines) == len(set(lines)) >= len(acknowledged)


def test_sigterm_past_the_grace_period_requeues(startDaemon, tmp_path):
    """A job still running when the grace period ends is stopped and put
    back in the queue, not lost and not failed."""
    daemon = startDaemon('--workers=1', '--grace=0.5')
    server = daemon.proxy()
    jobid = server.add('sleep', 30)
    waitUntil(lambda: isRunning(server, jobid))
    stoppedCleanly(daemon)
    store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
    assert store.get(jobid)['status'] == 'queued'
    store.close()


def test_job_log_lines_follow_log_jobs(startDaemon, tmp_path):
    """By default every ended job gets a log line; --log-jobs=failed
    keeps only the failures; a bad value is refused at start."""
    def lines(daemon, ok, failed):
        # A waiter is answered as the end commits; its log line follows in
        # the reactor's next steps. The one worker runs ok, then failed:
        # once failed's line is there, ok's would be too.
        server = daemon.proxy()
        assert server.wait(ok, 30) == 'completed'
        assert server.wait(failed, 30) == 'error'
        waitUntil(lambda: f'Job {failed} (fail) ended' in daemon.log(),
                  message="the failed job's log line")
        return [line for line in daemon.log().splitlines()
                if f'Job {ok} (echo) ended' in line
                or f'Job {failed} (fail) ended' in line]
    everything = startDaemon('--workers=1')
    server = everything.proxy()
    assert len(lines(everything, server.add('echo', 1),
                     server.add('fail', 1))) == 2
    everything.kill()
    failures = startDaemon('--workers=1', '--log-jobs=failed')
    server = failures.proxy()
    found = lines(failures, server.add('echo', 1), server.add('fail', 1))
    assert len(found) == 1 and 'An error occurred.' in found[0]
    failures.kill()
    bad = Daemon(str(tmp_path), args=['--log-jobs=some']).refused()
    assert bad.returncode != 0
    assert '--log-jobs is all, failed or none' in bad.stdout + bad.stderr


def test_waiters_are_bounded_by_max_waiters(startDaemon):
    """With --max-waiters=2, two clients wait for a running job; a third
    is refused at once with fault 11 naming the option; once the job
    ends (cancelled) and they are answered, waiting works again."""
    daemon = startDaemon('--workers=1', '--max-waiters=2')
    server = daemon.proxy()
    gate = server.add('sleep', 300)
    waitUntil(lambda: isRunning(server, gate))
    answers = []

    def waitPolitely():
        # As the fault says: try again shortly (the probe below may hold
        # a place for a moment).
        for _ in range(100):
            try:
                return answers.append(daemon.proxy().wait(gate, 30))
            except xmlrpc.client.Fault as busy:
                assert busy.faultCode == 11
                time.sleep(0.05)
    waiting = [threading.Thread(target=waitPolitely) for _ in range(2)]
    for thread in waiting:
        thread.start()
    # A wait with timeout 0 is answered at once when let in: a probe.
    def bothIn():
        try:
            server.wait(gate, 0)
        except xmlrpc.client.Fault as refused:
            return '2 clients are already waiting' in refused.faultString
        return False
    waitUntil(bothIn, message='both waiters in')
    with pytest.raises(xmlrpc.client.Fault) as refused:
        server.wait(gate, 30)
    assert refused.value.faultCode == 11
    assert '--max-waiters' in refused.value.faultString
    server.cancel(gate)
    for thread in waiting:
        thread.join(30)
    assert answers == ['cancelled', 'cancelled']
    assert server.wait(gate, 30) == 'cancelled'


def test_restarts_do_not_use_up_a_running_jobs_attempts(startDaemon,
                                                         tmp_path):
    """Four orderly restarts (SIGTERM) while a long job runs each put it
    back without counting the run as an attempt: it is never failed as
    lost, and after the fourth it runs again on its first attempt."""
    daemon = startDaemon('--workers=1', '--grace=0.2')
    jobid = daemon.proxy().add('sleep', 300)

    def runningAgain():
        job = daemon.proxy().getJob(jobid)
        return job['status'] == 'processing' and job['attempts'] == 1
    for _ in range(4):
        waitUntil(runningAgain, message='the job running')
        stoppedCleanly(daemon)
        store = SQLiteJobStore(tmp_path / 'jobs.sqlite')
        row = store.get(jobid)
        store.close()
        assert (row['status'], row['attempts']) == ('queued', 0)
        daemon.start()
    waitUntil(runningAgain, message='the job running after the restarts')
    assert daemon.proxy().getJob(jobid).get('error') is None


def test_command_line(daemon):
    """The client subcommands talk to the server and print plainly."""
    added = cli(daemon, 'add', 'echo', '--input', '{"x": 1}', '--wait')
    assert (added.returncode, added.stdout) == (0, '{\n  "x": 1\n}\n')
    assert cli(daemon, 'status', '1').stdout == 'completed\n'
    assert 'echo' in cli(daemon, 'tasks').stdout
    table = cli(daemon, 'jobs').stdout.splitlines()
    assert table[0].split() == ['ID', 'TASK', 'STATUS', 'CREATED', 'ERROR']
    assert table[1].split()[:3] == ['1', 'echo', 'completed']
    assert 'status:' in cli(daemon, 'show', '1').stdout
    cron = cli(daemon, 'cron', 'echo', '--crontab', '*/5 * * * *')
    assert cron.returncode == 0
    assert cli(daemon, 'cancel', cron.stdout.strip()).returncode == 0
    failed = cli(daemon, 'add', 'fail', '--wait')
    assert failed.returncode == 1
    assert 'An error occurred.' in failed.stderr
    assert cli(daemon, 'clean').stdout == '3 job(s) removed\n'


@pytest.mark.shared
@pytest.mark.parametrize('args, words, status', [
    (('status', '42'), 'There is no job with id 42', 1),
    (('add', 'nope'), "no task named 'nope'", 1),
    (('add', 'echo', '--input', '{bad'), 'not valid JSON', 2),
])
def test_command_line_errors_are_one_line(daemon, args, words, status):
    """A fault or bad input gives one clear line and a non-zero exit."""
    done = cli(daemon, *args)
    assert done.returncode == status
    assert words in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert 'Traceback' not in done.stderr


def test_command_line_unreachable_server(tmp_path):
    """No server at the URL: one line saying so, exit status 3."""
    done = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'bin', 'remotetask'),
         '--url', 'http://127.0.0.1:1/', 'tasks'],
        capture_output=True, text=True, timeout=60,
        env=dict(os.environ, PYTHONPATH=ROOT))
    assert done.returncode == 3
    assert 'cannot reach the server at http://127.0.0.1:1/' in done.stderr
    assert 'Traceback' not in done.stderr


def test_command_line_credentials_from_environment(startDaemon, tmp_path):
    """REMOTETASK_USER/PASSWORD are sent; without them, a 401 line."""
    users = tmp_path / 'users'
    users.write_text('alice:secret\n')
    daemon = startDaemon(f'--users={users}')
    refused = cli(daemon, 'tasks')
    assert refused.returncode == 1 and '401' in refused.stderr
    allowed = cli(daemon, 'tasks', env=dict(REMOTETASK_USER='alice',
                                            REMOTETASK_PASSWORD='secret'))
    assert allowed.returncode == 0 and 'echo' in allowed.stdout


def test_command_tasks_from_a_file(startDaemon, tmp_path):
    """A command file declares tasks that run programs with fields from
    the input, as an argv list: shell syntax in a value stays text."""
    commands = tmp_path / 'commands.ini'
    commands.write_text(
        '[say]\n'
        'description = Print a word\n'
        'argv = printf "%s|" {word} "two words"\n'
        '\n'
        '[fails]\n'
        'argv = sh -c "echo broken >&2; exit 3"\n')
    daemon = startDaemon(f'--commands={commands}')
    server = daemon.proxy()
    assert server.getTaskDescriptions()['say'] == 'Print a word'
    jobid = server.add('say', {'word': '$(touch pwned); echo hi'})
    assert server.wait(jobid, 30) == 'completed', server.getError(jobid)
    result = server.getResult(jobid)
    assert result['stdout'] == '$(touch pwned); echo hi|two words|'
    assert result['returncode'] == 0
    assert not (tmp_path / 'pwned').exists()
    missing = server.add('say', {'other': 1})
    assert server.wait(missing, 30) == 'error'
    assert 'lacks word' in server.getError(missing)
    failed = server.add('fails')
    assert server.wait(failed, 30) == 'error'
    assert server.getError(failed) == 'sh exited with status 3: broken\n'


def test_command_task_values_never_become_options(startDaemon, tmp_path):
    """Issue 14, 7: a field value ``-oOWNED`` given to ``sort {file}``
    (which made sort write a file named OWNED) and ``--version`` given to
    ``ls {path}`` end their jobs in error saying why, and nothing is
    written; the same value reaches the program as an operand after a
    ``--`` in the template, and a ``{-n}`` field takes a negative
    number."""
    commands = tmp_path / 'commands.ini'
    commands.write_text('[sort]\nargv = sort {file}\n\n'
                        '[ls]\nargv = ls {path}\n\n'
                        '[sort-operand]\nargv = sort -- {file}\n\n'
                        '[head]\nargv = head -n {-n} {file}\n')
    (tmp_path / 'lines').write_text('c\nb\na\n')
    daemon = startDaemon(f'--commands={commands}')
    server = daemon.proxy()
    refused = [server.add('sort', {'file': '-oOWNED'}),
               server.add('ls', {'path': '--version'})]
    for jobid in refused:
        assert server.wait(jobid, 30) == 'error'
        assert 'could take as an option' in server.getError(jobid)
    assert not (tmp_path / 'OWNED').exists()
    (tmp_path / '-oOWNED').write_text('z\ny\n')
    operand = server.add('sort-operand', {'file': '-oOWNED'})
    negative = server.add('head', {'n': -1, 'file': 'lines'})
    assert server.wait(operand, 30) == 'completed', server.getError(operand)
    assert server.getResult(operand)['stdout'] == 'y\nz\n'
    assert not (tmp_path / 'OWNED').exists()
    assert server.wait(negative, 30) == 'completed', server.getError(negative)
    assert server.getResult(negative)['stdout'] == 'c\nb\n'
