"""Several real daemons sharing one PostgreSQL queue."""

import signal
import time
import xmlrpc.client

import psycopg
import pytest

from tests.acceptance.daemon import isRunning, waitUntil
from tests.postgresql.conftest import jobStatuses, runs
from tests.threads import runThreads


def test_three_servers_run_every_job_exactly_once(database, startServer):
    """3,000 jobs added round-robin through three servers all complete,
    each run exactly once, by whichever server took it."""
    servers = [startServer(name).proxy() for name in 'abc']
    total, batch = 3000, 50
    for start in range(0, total, batch):
        calls = xmlrpc.client.MultiCall(servers[(start // batch) % 3])
        for key in range(start, start + batch):
            calls.add('recordRow', {'dsn': database, 'key': str(key)})
        assert all(isinstance(jobid, int) for jobid in calls())
    waitUntil(lambda: jobStatuses(database) == {'completed': total},
              timeout=240, interval=0.5, message='every job completed')
    counts = runs(database)
    assert len(counts) == total
    assert set(counts.values()) == {1}


def test_a_cron_job_runs_once_per_due_time(database, startServer):
    """With three servers polling, each due time of a cron job is run by
    exactly one of them."""
    servers = [startServer(name).proxy() for name in 'abc']
    jobid = servers[0].addCronJob(
        'recordRow', {'dsn': database, 'key': 'tick'},
        {'minute': list(range(60))})
    for expected in (1, 2, 3):
        # Make the job due now; the servers race for this due time.
        with psycopg.connect(database, autocommit=True) as connection:
            connection.execute(
                'UPDATE remotetask_jobs SET due = %s WHERE id = %s',
                (time.time() - 1, jobid))
        waitUntil(lambda: runs(database).get('tick') == expected,
                  message=f'run {expected}')
        # Every server ticks once a second: two seconds give each of
        # them the chance to run it again, were the claim not exclusive.
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            assert runs(database).get('tick') == expected
            time.sleep(0.2)
    assert servers[1].getStatus(jobid) == 'cronjob'


def test_jobs_of_a_killed_server_are_finished_by_the_others(
        database, startServer):
    """kill -9 one of three servers while it runs jobs: after the
    heartbeat timeout the others run them; restarted, the killed server
    does not run them again."""
    first = startServer('a')
    server = first.proxy()
    ids = [server.add('recordRow', {'dsn': database, 'key': str(key),
                                    'sleep': 4}) for key in range(2)]
    waitUntil(lambda: all(isRunning(server, j) for j in ids),
              message='both running on the first server')
    others = [startServer(name).proxy() for name in 'bc']
    first.kill()
    waitUntil(lambda: all(others[0].getStatus(j) == 'completed'
                          for j in ids),
              timeout=60, interval=0.2, message='recovered and completed')
    assert runs(database) == {'0': 1, '1': 1}
    assert all(others[1].getJob(j)['attempts'] == 2 for j in ids)
    restarted = startServer('a').proxy()
    assert restarted.getStatus(ids[0]) == 'completed'
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert runs(database) == {'0': 1, '1': 1}
        time.sleep(0.2)


def test_waiting_on_one_server_for_a_job_another_ran(database,
                                                     startServer):
    """wait() on one server answers as soon as another server finished
    the job, through the store's notifications rather than the
    once-a-second check."""
    first = startServer('a', '--workers=1').proxy()
    second = startServer('b', '--workers=1').proxy()
    # Keep the first server's only worker busy, so the second runs the job.
    busy = first.add('sleep', 5)
    waitUntil(lambda: isRunning(first, busy))
    timings = []
    for key in range(6):
        jobid = first.add('echo', key)
        started = time.monotonic()
        assert first.wait(jobid, 30) == 'completed'
        timings.append(time.monotonic() - started)
    # Without the notification each wait would take up to a second (the
    # check of waiters on the tick): six of them all under half a second
    # would then happen by chance once in 64 runs.
    assert max(timings) < 0.5, timings
    assert second.getStatus(busy) in ('processing', 'completed')


#: Three servers serving overlapping sets of tasks: each task is served
#: by two of them, and each server lacks one.
SERVES = {'a': ('echo', 'pid'), 'b': ('pid', 'record'),
          'c': ('record', 'echo')}


def test_servers_with_overlapping_tasks_route_every_job(
        database, startServer, tmp_path):
    """Three servers, each lacking one of three tasks: each accepts and
    lists every task some server serves, refuses one none serves, and
    every job, whichever server it was added through, runs on a server
    that has its task."""
    servers = {name: startServer(name, f'--server-id={name}',
                                 tasks=tasks).proxy()
               for name, tasks in SERVES.items()}
    log = tmp_path / 'records'
    inputs = {'echo': 'hello', 'pid': None,
              'record': {'path': str(log), 'line': 'x'}}
    for proxy in servers.values():
        assert proxy.getAvailableTasks() == ['echo', 'pid', 'record']
        refused = pytest.raises(xmlrpc.client.Fault, proxy.add, 'sleep', 1)
        assert refused.value.faultCode == 1
    added = {}
    for round in range(10):
        for name, proxy in servers.items():
            calls = xmlrpc.client.MultiCall(proxy)
            for task in inputs:
                calls.add(task, inputs[task])
            for task, jobid in zip(inputs, calls()):
                added[jobid] = task
    any = servers['a']
    waitUntil(lambda: jobStatuses(database) == {'completed': len(added)},
              timeout=120, interval=0.2, message='every job completed')
    ranOn = {jobid: any.getJob(jobid)['server'] for jobid in added}
    for jobid, task in added.items():
        assert task in SERVES[ranOn[jobid]], (jobid, task, ranOn[jobid])
    assert set(ranOn.values()) == {'a', 'b', 'c'}
    assert len(log.read_text().split()) == 30


def test_a_limit_of_one_holds_across_three_servers(database, startServer):
    """With --limit recordSpan=1 on each of three servers of two workers,
    the runs of recordSpan never overlap (as the task recorded them),
    whichever server ran each; an unlimited task is not held up."""
    servers = [startServer(name, f'--server-id={name}',
                           '--limit=recordSpan=1').proxy()
               for name in 'abc']
    ids = []
    for key in range(12):
        ids.append(servers[key % 3].add(
            'recordSpan', {'dsn': database, 'key': str(key),
                           'sleep': 0.15}))
    waitUntil(lambda: isRunning(servers[0], ids[0]) or
              servers[0].getStatus(ids[0]) == 'completed')
    assert servers[1].addAndWait('echo', 1, 10)['status'] == 'completed'
    waitUntil(lambda: all(servers[0].getStatus(jobid) == 'completed'
                          for jobid in ids),
              timeout=60, interval=0.2, message='every span recorded')
    with psycopg.connect(database) as connection:
        spans = connection.execute(
            'SELECT began, ended FROM spans ORDER BY began').fetchall()
    assert len(spans) == 12
    for (_, ended), (began, _) in zip(spans, spans[1:]):
        assert began >= ended
    # Which servers ran them does not matter: the two others had free
    # workers and were woken by each add and each end, and a limit kept
    # per server would have let them run beside the first.


def test_twenty_clients_on_three_servers_adding_one_key_make_one_job(
        database, startServer):
    """Twenty clients adding the same key at once, through three
    servers, all get the one job's id."""
    daemons = [startServer(name) for name in 'abc']
    ids = []

    def client(index):
        ids.append(daemons[index % 3].proxy().add(
            'echo', index, {'key': 'once', 'startLater': True}))

    assert runThreads(client, 20) == []
    assert len(ids) == 20 and len(set(ids)) == 1
    assert jobStatuses(database) == {'start later': 1}


def test_queued_jobs_wait_for_a_server_when_the_last_one_leaves(
        database, startServer, tmp_path):
    """When the last server serving a task stops, its queued jobs stay
    queued (no other server takes or fails them) and new adds of it are
    refused; a server serving it again runs them."""
    first = startServer('a', tasks=('echo',)).proxy()
    leaving = startServer('b', '--server-id=b', tasks=('record',))
    log = tmp_path / 'records'
    jobid = first.add('record', {'path': str(log), 'line': 'late'}, True)
    leaving.kill(signal.SIGTERM)
    first.startJob(jobid)
    refused = pytest.raises(xmlrpc.client.Fault, first.add, 'record', {})
    assert refused.value.faultCode == 1
    assert first.addAndWait('echo', 1, 10)['status'] == 'completed'
    assert first.getStatus(jobid) == 'queued'
    assert first.getJob(jobid)['attempts'] == 0
    startServer('c', tasks=('record',))
    assert first.wait(jobid, 30) == 'completed'
    assert log.read_text() == 'late\n'


def test_each_end_is_told_once_across_the_servers(database, startServer):
    """Three servers share the calls owed by 90 jobs added through all
    of them: the caller gets exactly one jobEnded per job, whichever
    server made it."""
    from tests.acceptance.receiver import Receiver
    receiver = Receiver().up()
    try:
        servers = [startServer(name, f'--notify-allow={receiver.url}')
                   .proxy() for name in 'abc']
        ids = [servers[index % 3].add('echo', index,
                                      {'notify': receiver.url})
               for index in range(90)]

        def owed():
            with psycopg.connect(database) as connection:
                return connection.execute(
                    'SELECT count(*) FROM remotetask_notifications'
                ).fetchone()[0]
        waitUntil(lambda: len(receiver.calls) >= len(ids) and owed() == 0,
                  timeout=120, interval=0.2, message='every end told')
        assert sorted(receiver.calls) == [(jobid, 'completed')
                                          for jobid in sorted(ids)]
        told = [[event for event in servers[0].getJob(jobid)['events']
                 if event['event'] == 'notified'] for jobid in ids]
        assert all(len(events) == 1 for events in told)
    finally:
        receiver.close()
