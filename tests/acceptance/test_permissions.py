"""Issue 22 against the real daemon: roles (an admin, two callers and a
viewer, from a roles file), job ownership, and the attacks on them:
guessing another caller's ids, multicalls that mix ids, listing filters
that would reveal another's job."""

import json
import re
import xmlrpc.client

import pytest

from tests.acceptance.daemon import NO_SUCH_JOB, NOT_PERMITTED, csrf, fault
from tests.acceptance.permissions import (
    basic, proxy, rolesDaemon, send)


@pytest.fixture(scope='module')
def daemon(tmp_path_factory):
    """One daemon for the module, with the users and roles files."""
    with rolesDaemon(tmp_path_factory.mktemp('permissions')) as started:
        yield started


def unknownIdMessage(server, jobid):
    return fault(server.getJob, jobid).faultString.replace(
        str(jobid), '<id>')


def test_a_caller_cannot_touch_another_callers_job(daemon):
    """reports gets fault 2, worded as for an unknown id, when it reads,
    waits for, starts or cancels shop's job; shop's job is untouched,
    and the admin and the viewer read it, with its owner."""
    shop, reports = proxy(daemon, 'shop'), proxy(daemon, 'reports')
    jobid = shop.add('echo', 'secret', True)
    unknown = unknownIdMessage(reports, 10 ** 6)
    for call, args in ((reports.getJob, ()), (reports.getStatus, ()),
                       (reports.getResult, ()), (reports.getError, ()),
                       (reports.wait, (0,)), (reports.cancel, ()),
                       (reports.startJob, ())):
        refused = fault(call, jobid, *args)
        assert refused.faultCode == NO_SUCH_JOB
        assert refused.faultString.replace(str(jobid), '<id>') == unknown
    assert shop.getStatus(jobid) == 'start later'
    for reader in ('admin', 'monitor', 'shop'):
        job = proxy(daemon, reader).getJob(jobid)
        assert job['owner'] == 'shop' and job['input'] == 'secret'


def test_listings_hold_a_callers_own_jobs_only(daemon):
    """getJobs, with any filter and in either order, and the JSON API
    list reports' jobs alone to reports; /api/jobs/ID of shop's job is
    404; the admin lists both."""
    shop, reports = proxy(daemon, 'shop'), proxy(daemon, 'reports')
    theirs = shop.add('echo', 'theirs', True)
    mine = reports.add('echo', 'mine', True)
    filters = [{}, dict(task='echo'), dict(status='start later'),
               dict(task='echo', status='start later'),
               dict(newestFirst=True), dict(newestFirst=True, task='echo'),
               dict(newestFirst=True, status='start later'),
               dict(cursor=theirs - 1), dict(limit=1000)]
    for filter in filters:
        ids = [job['id'] for job in reports.getJobs(filter)['jobs']]
        assert mine in ids and theirs not in ids, filter
        owners = {job['owner'] for job in reports.getJobs(filter)['jobs']}
        assert owners == {'reports'}, filter
    status, page = send(daemon, '/api/jobs?limit=200', basic('reports'))
    assert status == 200
    assert {job['id'] for job in page['jobs']} >= {mine}
    assert theirs not in {job['id'] for job in page['jobs']}
    status, answer = send(daemon, f'/api/jobs/{theirs}', basic('reports'))
    assert status == 404
    assert send(daemon, f'/api/jobs/{mine}', basic('reports'))[1][
        'owner'] == 'reports'
    admin = proxy(daemon, 'admin')
    ids = [job['id'] for job in admin.getJobs(
        dict(newestFirst=True))['jobs']]
    assert {mine, theirs} <= set(ids)


def test_a_task_outside_the_callers_list_is_refused_and_not_stored(
        daemon):
    """reports may add echo only: add, addAndWait and a multicall's add of
    sleep are fault 13, "not allowed: ..., for reports", and no job is
    stored; the multicall's other add is."""
    reports, admin = proxy(daemon, 'reports'), proxy(daemon, 'admin')
    before = admin.getJobs(dict(newestFirst=True, limit=1))['jobs'][0]['id'] \
        if admin.getJobs(dict(limit=1))['jobs'] else 0
    refused = fault(reports.add, 'sleep', 1)
    assert refused.faultCode == NOT_PERMITTED
    assert refused.faultString == (
        "not allowed: adding a job of the task 'sleep', for reports")
    assert fault(reports.addAndWait, 'sleep', 1).faultCode == NOT_PERMITTED
    multi = xmlrpc.client.MultiCall(reports)
    multi.add('sleep', 1, True)
    multi.add('echo', 'ok', True)
    answers = multi().results
    assert answers[0]['faultCode'] == NOT_PERMITTED
    added = answers[1][0]
    jobs = admin.getJobs(dict(cursor=before))['jobs']
    assert [(job['id'], job['task']) for job in jobs] == [(added, 'echo')]
    assert reports.getAvailableTasks() == ['echo']


def test_a_viewer_reads_everything_and_changes_nothing(daemon):
    """monitor's add, cancel, startJob, cron job and clean are fault 13;
    it reads shop's job and lists it; /metrics answers it."""
    shop, monitor = proxy(daemon, 'shop'), proxy(daemon, 'monitor')
    jobid = shop.add('echo', 'x', True)
    for call, args in ((monitor.add, ('echo',)), (monitor.cancel, (jobid,)),
                       (monitor.startJob, (jobid,)),
                       (monitor.addCronJob, ('echo', 1, dict(minute=[1]))),
                       (monitor.clean, ())):
        refused = fault(call, *args)
        assert refused.faultCode == NOT_PERMITTED, call
        assert refused.faultString.startswith('not allowed: ')
        assert refused.faultString.endswith(', for monitor')
    assert monitor.getStatus(jobid) == 'start later'
    assert jobid in [job['id'] for job in monitor.getJobs(
        dict(newestFirst=True))['jobs']]
    assert send(daemon, '/metrics', basic('monitor'))[0] == 200


def test_callers_may_not_add_cron_jobs_nor_clean(daemon):
    """A caller's addCronJob and clean are fault 13; an admin's work."""
    shop, admin = proxy(daemon, 'shop'), proxy(daemon, 'admin')
    assert fault(shop.addCronJob, 'echo', 1,
                 dict(minute=[1])).faultCode == NOT_PERMITTED
    assert fault(shop.clean).faultCode == NOT_PERMITTED
    cron = admin.addCronJob('echo', 1, dict(minute=[1]))
    assert admin.getJob(cron)['owner'] == 'admin'
    assert admin.cancel(cron) is True


def test_guessing_ids_reveals_nothing(daemon):
    """reports walks every id from 1 to past the last one: the ids of
    other callers' jobs, of the admin's and of none answer alike (fault
    2, the same words), and only its own answer."""
    shop, reports = proxy(daemon, 'shop'), proxy(daemon, 'reports')
    shop.add('echo', 'a', True)
    own = reports.add('echo', 'b', True)
    last = proxy(daemon, 'admin').add('echo', 'c', True)
    answered = []
    words = set()
    for jobid in range(1, last + 20):
        try:
            answered.append(reports.getStatus(jobid) and jobid)
        except xmlrpc.client.Fault as refused:
            assert refused.faultCode == NO_SUCH_JOB
            words.add(re.sub(r'\d+', '<id>', refused.faultString))
    assert own in answered
    assert all(proxy(daemon, 'admin').getJob(jobid)['owner'] == 'reports'
               for jobid in answered)
    assert len(words) == 1


def test_a_multicall_mixing_own_and_other_ids(daemon):
    """In one multicall, reports' calls on its own job answer and those
    on shop's are fault 2, each alone; shop's job is not cancelled."""
    shop, reports = proxy(daemon, 'shop'), proxy(daemon, 'reports')
    theirs = shop.add('echo', 'theirs', True)
    mine = reports.add('echo', 'mine', True)
    multi = xmlrpc.client.MultiCall(reports)
    multi.getJob(mine)
    multi.getJob(theirs)
    multi.cancel(theirs)
    multi.getResult(theirs)
    multi.cancel(mine)
    answers = multi().results
    assert answers[0][0]['input'] == 'mine'
    assert [answer['faultCode'] for answer in answers[1:4]] == [
        NO_SUCH_JOB] * 3
    assert answers[4] == [True]
    assert shop.getStatus(theirs) == 'start later'


def test_events_name_who_added_started_and_cancelled(daemon):
    """A job's events say who added it, who started it and who cancelled
    it."""
    shop, admin = proxy(daemon, 'shop'), proxy(daemon, 'admin')
    jobid = shop.add('sleep', 30, True)
    shop.startJob(jobid)
    admin.cancel(jobid)
    events = {event['event']: event.get('by')
              for event in shop.getJob(jobid)['events']}
    assert events['added'] == 'shop'
    assert events['queued'] == 'shop'
    assert events['cancelled'] == 'admin'


def act(daemon, user, path, body=None):
    """POST ``path`` of the JSON API as the dashboard would, as ``user``."""
    login = {'Authorization': basic(user)}
    headers = {'X-Remotetask-CSRF': csrf(daemon, login)}
    if body is not None:
        headers['Content-Type'] = 'application/json'
    return send(daemon, path, basic(user), 'POST', body, headers)


def test_the_json_api_acts_by_the_same_rules(daemon):
    """Over /api: reports' cancel of shop's job is 404 (as an unknown
    id); its add of sleep and monitor's cancel are 403, "not allowed";
    reports' add of echo is its own; /api/me and /api/tasks say what
    each may do; an admin's "run now" is in the job's events."""
    shop = proxy(daemon, 'shop')
    theirs = shop.add('echo', 'theirs', True)
    status, answer = act(daemon, 'reports', f'/api/jobs/{theirs}/cancel')
    assert status == 404
    status, answer = act(daemon, 'monitor', f'/api/jobs/{theirs}/cancel')
    assert status == 403
    assert answer['error'] == f'not allowed: cancelling job {theirs}, ' \
        'for monitor'
    status, answer = act(daemon, 'reports', '/api/jobs',
                         '{"task": "sleep", "input": 1}')
    assert status == 403 and 'for reports' in answer['error']
    status, answer = act(daemon, 'reports', '/api/jobs',
                         '{"task": "echo", "input": 1, "startLater": true}')
    assert status == 201
    assert shop.getStatus(theirs) == 'start later'
    assert proxy(daemon, 'admin').getJob(answer['id'])['owner'] == 'reports'
    assert send(daemon, '/api/me', basic('monitor'))[1]['mayChange'] is False
    assert send(daemon, '/api/me', basic('reports'))[1]['tasks'] == ['echo']
    assert list(send(daemon, '/api/tasks', basic('reports'))[1][
        'tasks']) == ['echo']
    assert set(send(daemon, '/api/tasks', basic('monitor'))[1][
        'tasks']) >= {'echo', 'sleep'}
    for path in ('/api/cron', '/api/workers', '/api/summary'):
        assert send(daemon, path, basic('reports'))[0] == 200, path
    cron = proxy(daemon, 'admin').addCronJob('echo', 1, dict(minute=[1]))
    assert act(daemon, 'admin', f'/api/jobs/{cron}/run')[0] == 200
    events = proxy(daemon, 'admin').getJob(cron)['events']
    assert (events[-1]['event'], events[-1]['by']) == ('run now', 'admin')
    assert proxy(daemon, 'admin').cancel(cron) is True


def test_a_caller_may_wait_for_its_own_jobs_only(daemon):
    """An add, chain, group or multicall add by reports that waits for
    shop's job gets fault 2 (404 over /api), as for an unknown id, and
    stores nothing: waiting, and pass, would reveal shop's job and its
    result. Waiting for its own jobs works, and chains and groups are
    its own; the admin may wait for anyone's job."""
    shop, reports = proxy(daemon, 'shop'), proxy(daemon, 'reports')
    theirs = shop.add('echo', 'secret')
    assert shop.wait(theirs, 30) == 'completed'
    before = len(reports.getJobs({'limit': 1000})['jobs'])
    waits = {'after': [theirs], 'pass': True}
    for call, args in (
            (reports.add, ('echo', 1, waits)),
            (reports.addChain, ([['echo', 1, waits], ['echo', 2]],)),
            (reports.addGroup, ([['echo', 1]], ['echo', 0, waits]))):
        assert fault(call, *args).faultCode == NO_SUCH_JOB
    multicall = xmlrpc.client.MultiCall(reports)
    multicall.add('echo', 1, waits)
    multicall.add('echo', 2, waits)
    with pytest.raises(xmlrpc.client.Fault) as refused:
        list(multicall())
    assert refused.value.faultCode == NO_SUCH_JOB
    for path, body in (
            ('/api/jobs', {'task': 'echo', 'input': 1, 'after': [theirs]}),
            ('/api/chains', {'steps': [['echo', 1, {'after': [theirs]}]]})):
        status, _ = act(daemon, 'reports', path, json.dumps(body))
        assert status == 404, path
    assert len(reports.getJobs({'limit': 1000})['jobs']) == before

    mine = reports.add('echo', 'mine')
    after = reports.add('echo', 'next', {'after': [mine], 'pass': True})
    assert reports.wait(after, 30) == 'completed'
    assert reports.getResult(after) == {'input': 'next',
                                        'results': {str(mine): 'mine'}}
    chain = reports.addChain([['echo', 1], ['echo', 2]])
    assert {reports.getJob(jobid)['owner'] for jobid in chain} == {
        'reports'}
    admin = proxy(daemon, 'admin')
    assert admin.wait(admin.add('echo', 3, {'after': [theirs]}), 30) == \
        'completed'
