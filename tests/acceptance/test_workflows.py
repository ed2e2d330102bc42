"""Jobs that wait for other jobs, against the real daemon: chains,
fan-out and fan-in, failure policies, a crash, bad input (issue 21)."""

import json
import os
import signal
import xmlrpc.client

import pytest

from tests.acceptance.daemon import (
    TASKS, Daemon, cli, csrf, getJSON, isRunning, metric, postJSON,
    waitUntil)


def total(server):
    """How many jobs the server has (every status)."""
    count, cursor = 0, 0
    while True:
        page = server.getJobs({'limit': 1000, 'cursor': cursor})
        count += len(page['jobs'])
        cursor = page.get('cursor')
        if cursor is None:
            return count


def test_a_chain_of_three_gives_the_last_step_both_results(server):
    """addChain adds three jobs in one call; each waits for the one before
    it, and the last one's input holds the second's result, which holds
    the first's."""
    first, second, third = server.addChain(
        [['echo', 'one'], ['echo', 'two'], {'task': 'echo',
                                           'input': 'three'}])
    assert server.getStatus(third) in ('waiting', 'queued', 'processing',
                                       'completed')
    assert server.wait(third, 30) == 'completed'
    assert server.getResult(third) == {
        'input': 'three',
        'results': {str(second): {'input': 'two',
                                  'results': {str(first): 'one'}}}}
    job = server.getJob(second)
    assert [d['id'] for d in job['dependencies']] == [first]
    assert [d['id'] for d in job['dependents']] == [third]
    assert 'dependencies' not in server.getJob(first)


def test_a_fan_out_of_100_gives_its_fan_in_100_results(server):
    """addGroup with then: the fan-in waits for the hundred, then runs
    once with every result, by id."""
    ids = server.addGroup([['echo', n] for n in range(100)],
                          ['echo', 'sum'])
    group, fanIn = ids[:-1], ids[-1]
    assert len(group) == 100
    assert server.wait(fanIn, 60) == 'completed'
    result = server.getResult(fanIn)
    assert result['input'] == 'sum'
    assert result['results'] == {str(jobid): n
                                 for n, jobid in enumerate(group)}


def test_a_failed_middle_step_cancels_the_rest(server):
    """With the default policy, a step that fails cancels the steps after
    it, each saying which job it waited for failed."""
    first, middle, last, after = server.addChain(
        [['echo', 1], ['fail', 2], ['echo', 3], ['echo', 4]])
    assert server.wait(after, 30) == 'cancelled'
    assert server.getStatus(middle) == 'error'
    assert server.getStatus(last) == 'cancelled'
    cancelled = server.getJob(last)['events'][-1]
    assert cancelled['event'] == 'cancelled'
    assert cancelled['dependency'] == middle
    assert server.getJob(after)['events'][-1]['dependency'] == last
    assert server.getJob(last).get('started') is None


def test_run_runs_anyway_with_what_there_is(server):
    """onFailure 'run': the job runs after a failed dependency, given pass
    the results of every one (none for the failed)."""
    good, bad = server.add('echo', 'ok'), server.add('fail', None)
    job = server.add('echo', 'mine', {'after': [good, bad],
                                      'onFailure': 'run', 'pass': True})
    assert server.wait(job, 30) == 'completed'
    result = server.getResult(job)
    assert result == {'input': 'mine', 'results': {str(good): 'ok',
                                                   str(bad): None}}


def test_waiting_shows_in_getJobs_and_cancels(daemon, server, tmp_path):
    """A job waits, 'waiting', while its dependency runs: getJobs finds it
    by that status, /metrics counts it, and cancel ends it for good."""
    gate = server.add('gate', {'path': str(tmp_path / 'open')})
    job = server.add('echo', 'x', {'after': [gate]})
    page = server.getJobs({'status': 'waiting'})
    assert [j['id'] for j in page['jobs']] == [job]
    waitUntil(lambda: metric(
        daemon, 'remotetask_jobs{status="waiting",task="echo"}') == 1,
        message='/metrics counting the waiting job')
    assert server.cancel(job) is True
    (tmp_path / 'open').touch()
    assert server.wait(gate, 30) == 'completed'
    assert server.getStatus(job) == 'cancelled'


def test_kill_9_while_the_dependencies_end_runs_the_fan_in_once(
        startDaemon, tmp_path):
    """The server is killed (SIGKILL) while a fan-in's forty dependencies
    end one after another; once restarted, the fan-in runs exactly once,
    with every result."""
    daemon = startDaemon('--workers=2')
    server = daemon.proxy()
    log = tmp_path / 'fan-in.log'
    ids = server.addGroup([['sleep', 0.05]] * 40,
                          ['recordResults', {'path': str(log)}])
    group, fanIn = ids[:-1], ids[-1]
    waitUntil(lambda: server.getJobs({'status': 'completed'})['jobs'],
              message='a first dependency ended')
    daemon.kill(signal.SIGKILL)
    ended = sum(1 for status in _statuses(tmp_path, group)
                if status == 'completed')
    assert ended < len(group), 'the kill came after every end'
    server = daemon.start().proxy()
    assert server.wait(fanIn, 60) == 'completed'
    assert server.getResult(fanIn) == 40
    lines = log.read_text().splitlines()
    assert lines == [json.dumps([str(jobid) for jobid in group])]


def _statuses(directory, ids):
    import sqlite3
    connection = sqlite3.connect(f'{directory}/jobs.sqlite')
    try:
        return [connection.execute('SELECT status FROM jobs WHERE id = ?',
                                   (jobid,)).fetchone()[0] for jobid in ids]
    finally:
        connection.close()


@pytest.mark.shared
@pytest.mark.parametrize('options, code, words', [
    ({'after': [999]}, 2, 'there is no job with id 999'),
    ({'after': list(range(1, 1002))}, 3, 'at most 1000 jobs'),
    ({'after': ['1']}, 3, 'after must be a list of job ids'),
    ({'onFailure': 'run'}, 3, 'give after too'),
    ({'after': [1], 'onFailure': 'maybe'}, 3, "'cancel' or 'run'"),
    ({'after': [1], 'key': 'k'}, 3, 'may not have startLater, delay or key'),
])
def test_bad_after_is_a_fault_and_stores_nothing(server, options, code,
                                                 words):
    """An unknown id, a huge after, a wrong type or policy: a fault with
    its code and a message saying why, and no job stored."""
    server.add('echo', 1)
    before = total(server)
    with pytest.raises(xmlrpc.client.Fault) as info:
        server.add('echo', 2, options)
    assert info.value.faultCode == code
    assert words in info.value.faultString
    assert total(server) == before


def test_a_bad_step_refuses_the_whole_chain(server):
    """A chain or group with one refused step (an unknown task, a step
    waiting for an unknown job) stores none of its jobs."""
    before = total(server)
    for call in (lambda: server.addChain([['echo', 1], ['nope', 2]]),
                 lambda: server.addGroup([['echo', 1]],
                                         ['echo', 2, {'after': [999]}]),
                 lambda: server.addChain([['echo', 1]] * 1001)):
        with pytest.raises(xmlrpc.client.Fault) as info:
            call()
        assert info.value.faultCode in (1, 2, 3)
    assert total(server) == before


def test_after_on_a_job_no_server_serves_is_refused(startDaemon, tmp_path):
    """A job can only wait for jobs that will end: a queued job of a task
    no server alive serves any more (another set of tasks), or a cron
    job, is refused with fault 3, and nothing is stored."""
    daemon = startDaemon('--workers=1')
    server = daemon.proxy()
    gate = server.add('gate', {'path': str(tmp_path / 'never')})
    queued = server.add('gate', {'path': str(tmp_path / 'never')})
    cron = server.addCronJob('echo', 1, {'crontab': '0 0 1 1 *'})
    waitUntil(lambda: isRunning(server, gate), message='the gate runs')
    daemon.kill()
    others = Daemon(str(tmp_path), tasks=[t for t in TASKS if t != 'gate'],
                    args=['--workers=1'])
    try:
        server = others.start().proxy()
        before = total(server)
        for jobid, words in ((queued, "task 'gate', which no server"),
                             (cron, 'cronjob job, which never ends')):
            with pytest.raises(xmlrpc.client.Fault) as info:
                server.add('echo', 1, {'after': [jobid]})
            assert info.value.faultCode == 3
            assert words in info.value.faultString
        assert total(server) == before
    finally:
        others.kill()


def test_the_bounds_are_options(startDaemon):
    """--max-after and --max-steps bound a job's dependencies and a
    chain's steps: up to the bound is accepted, one more is fault 3."""
    server = startDaemon('--max-after=2', '--max-steps=3').proxy()
    ids = server.addChain([['echo', n] for n in range(3)])
    assert len(ids) == 3
    assert server.add('echo', 0, {'after': ids[:2]})
    for call in (lambda: server.add('echo', 0, {'after': ids}),
                 lambda: server.addChain([['echo', n] for n in range(4)]),
                 lambda: server.addGroup([['echo', 1]] * 3, ['echo', 0])):
        with pytest.raises(xmlrpc.client.Fault) as info:
            call()
        assert info.value.faultCode == 3
        assert '--max-' in info.value.faultString


def test_the_JSON_API_adds_chains_and_groups(daemon):
    """POST /api/chains and /api/groups add the shapes, answering 201 and
    the ids; GET /api/jobs/ID lists dependencies and dependents."""
    token = csrf(daemon)
    status, answer = postJSON(daemon, '/api/chains', {'steps': [
        {'task': 'echo', 'input': 1}, ['echo', 2]]}, token)
    assert status == 201 and len(answer['ids']) == 2
    status, group = postJSON(daemon, '/api/groups', {
        'steps': [['echo', 1], ['echo', 2]], 'then': ['echo', 3]}, token)
    assert status == 201 and len(group['ids']) == 3
    server = daemon.proxy()
    assert server.wait(group['ids'][-1], 30) == 'completed'
    detail = getJSON(daemon, f"/api/jobs/{group['ids'][-1]}")
    assert [d['id'] for d in detail['dependencies']] == group['ids'][:2]
    assert detail['dependents'] == []
    assert os.path.exists(daemon.logfile)


def test_the_command_line_adds_after_and_chains_from_a_file(daemon,
                                                            tmp_path):
    """remotetask add --after waits for the jobs given; remotetask chain
    FILE adds its steps as a chain (--group --then as a group with its
    fan-in) and prints the ids; show lists both sides of the graph."""
    server = daemon.proxy()
    first = server.add('echo', 'a')
    done = cli(daemon.url, 'add', 'echo', '--input', '"b"', '--after',
               str(first), '--pass', '--on-failure', 'run', '--wait')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {'input': 'b',
                                       'results': {str(first): 'a'}}
    steps = tmp_path / 'steps.json'
    steps.write_text(json.dumps([['echo', 1], {'task': 'echo',
                                               'input': 2}]))
    chain = cli(daemon.url, 'chain', str(steps))
    assert chain.returncode == 0, chain.stderr
    one, two = map(int, chain.stdout.split())
    assert server.wait(two, 30) == 'completed'
    shown = cli(daemon.url, 'show', str(one)).stdout
    assert f'before:    {two} (completed)' in shown
    group = cli(daemon.url, 'chain', str(steps), '--group', '--then',
                '["echo", 3]')
    *members, fanIn = map(int, group.stdout.split())
    assert server.wait(fanIn, 30) == 'completed'
    assert sorted(server.getResult(fanIn)['results']) == sorted(
        map(str, members))
    missing = cli(daemon.url, 'chain', str(tmp_path / 'nope.json'))
    assert missing.returncode == 2
    assert 'cannot read' in missing.stderr


def test_a_multicall_of_adds_refuses_a_bad_after_alone(server):
    """In a system.multicall of adds, one waiting for an unknown job is
    fault 2 alone; the others are added, one of them waiting for a job
    added by an earlier call with pass."""
    first = server.add('echo', 'a')
    calls = xmlrpc.client.MultiCall(server)
    calls.add('echo', 'b', {'after': [first], 'pass': True})
    calls.add('echo', 'c', {'after': [999]})
    calls.add('echo', 'd')
    results = calls().results
    waiting, refused, plain = results
    assert refused['faultCode'] == 2
    assert server.wait(waiting[0], 30) == 'completed'
    assert server.getResult(waiting[0]) == {'input': 'b',
                                            'results': {str(first): 'a'}}
    assert server.wait(plain[0], 30) == 'completed'
