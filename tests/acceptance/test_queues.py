"""Priorities, unique keys, delays and limits on the real daemon (SQLite),
through xmlrpc.client and the command line."""

import datetime
import xmlrpc.client

from tests.acceptance.daemon import cli, isRunning, waitUntil
from tests.threads import runThreads


def seconds(iso):
    return datetime.datetime.fromisoformat(iso).timestamp()


def test_add_takes_an_options_struct_and_getJob_shows_it(server):
    """add(task, input, struct) keeps priority, key, delay and
    maxAttempts, which getJob shows; a key held by an unfinished job
    answers that job; the legacy boolean still means startLater, and a
    multicall of adds takes structs too, refusing a bad one alone."""
    jobid = server.add('echo', 1, {'priority': 7, 'key': 'nightly',
                                   'delay': 3600, 'maxAttempts': 2})
    job = server.getJob(jobid)
    assert (job['priority'], job['key'], job['maxAttempts'],
            job['status']) == (7, 'nightly', 2, 'queued')
    assert seconds(job['nextRun']) - seconds(job['created']) > 3590
    assert server.add('echo', 2, {'key': 'nightly'}) == jobid
    assert server.getStatus(server.add('echo', 3, True)) == 'start later'
    calls = xmlrpc.client.MultiCall(server)
    calls.add('echo', 4, {'priority': -1})
    calls.add('echo', 5, {'colour': 'red'})
    calls.add('echo', 6, {'key': 'nightly'})
    first, refused, same = calls().results
    assert isinstance(first, list) and same == [jobid]
    assert refused['faultCode'] == 3 and 'colour' in refused['faultString']
    done = server.addAndWait('echo', 7, 10, {'priority': 3})
    assert (done['status'], done['priority'], done['output']) == (
        'completed', 3, 7)
    assert 'server' not in done


def test_command_line_priority_key_and_delay(daemon):
    """remotetask add --priority --key --delay sends the options; the
    same key prints the same job's id."""
    added = cli(daemon, 'add', 'echo', '--priority', '5', '--key', 'k',
                '--delay', '600')
    assert added.returncode == 0, added.stderr
    again = cli(daemon, 'add', 'echo', '--key', 'k')
    assert again.stdout == added.stdout
    job = daemon.proxy().getJob(int(added.stdout))
    assert (job['priority'], job['key'], job['status']) == (5, 'k', 'queued')
    refused = cli(daemon, 'add', 'echo', '--priority', '500')
    assert refused.returncode == 1
    assert 'priority must be a whole number' in refused.stderr


def test_twenty_clients_adding_one_key_at_once_make_one_job(daemon):
    """Twenty clients, each on its own connection, adding the same key at
    the same moment all get one job's id, and one job exists."""
    ids = []

    def client(index):
        ids.append(daemon.proxy().add('echo', 1, {'key': 'once',
                                                  'startLater': True}))

    assert runThreads(client, 20) == []
    assert len(ids) == 20 and len(set(ids)) == 1
    assert len(daemon.proxy().getJobs({})['jobs']) == 1


def test_priority_orders_the_queue_behind_a_busy_worker(startDaemon,
                                                        tmp_path):
    """With the only worker busy, ten jobs added at priority 0 and then
    one at priority 10 wait; when the worker is free the urgent one runs
    first, then the others in the order they came."""
    daemon = startDaemon('--workers=1')
    server = daemon.proxy()
    gate, log = tmp_path / 'open', tmp_path / 'order'
    busy = server.add('gate', {'path': str(gate)})
    waitUntil(lambda: isRunning(server, busy), message='the gate job runs')
    calls = xmlrpc.client.MultiCall(server)
    for line in range(10):
        calls.add('record', {'path': str(log), 'line': f'low{line}'})
    calls.add('record', {'path': str(log), 'line': 'urgent'},
              {'priority': 10})
    ids = list(calls())
    gate.touch()
    waitUntil(lambda: all(server.getStatus(jobid) == 'completed'
                          for jobid in ids), message='every job ran')
    assert log.read_text().split() == ['urgent'] + [f'low{line}'
                                                    for line in range(10)]


def test_a_limit_on_the_daemon_runs_the_jobs_of_a_task_one_at_a_time(
        startDaemon):
    """--limit sleep=1 with three workers: the runs of sleep never
    overlap (as the server recorded their starts and ends), while an
    unlimited task runs beside them."""
    daemon = startDaemon('--workers=3', '--limit=sleep=1')
    server = daemon.proxy()
    calls = xmlrpc.client.MultiCall(server)
    for _ in range(4):
        calls.add('sleep', 0.3)
    ids = list(calls())
    waitUntil(lambda: isRunning(server, ids[0]), message='the first runs')
    other = server.addAndWait('echo', 'beside', 10)
    assert other['status'] == 'completed'
    waitUntil(lambda: all(server.getStatus(jobid) == 'completed'
                          for jobid in ids), message='every job ran')
    spans = sorted((seconds(job['started']), seconds(job['completed']))
                   for job in map(server.getJob, ids))
    for (_, ended), (began, _) in zip(spans, spans[1:]):
        assert began >= ended
    assert all(server.getJob(jobid)['attempts'] == 1 for jobid in ids)
