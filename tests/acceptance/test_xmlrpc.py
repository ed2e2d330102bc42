"""Every XML-RPC method and Fault, against the real daemon, called with
the stdlib client."""

import datetime
import xmlrpc.client

import pytest

from tests.acceptance.daemon import fault, post
from tests.threads import runThreads

FAULTS = {'NoSuchTask': 1, 'NoSuchJob': 2, 'InvalidArgument': 3,
          'NotAllowed': 5, 'RequestTooLarge': 7, 'NoSuchMethod': 8001}


@pytest.mark.shared
def test_available_tasks_and_their_descriptions(server):
    """getAvailableTasks gives the sorted task names, as lovely.remotetask
    did; getTaskDescriptions each task's one-line description."""
    names = server.getAvailableTasks()
    assert names == sorted(names)
    assert {'echo', 'record', 'slow'} <= set(names)
    tasks = server.getTaskDescriptions()
    assert sorted(tasks) == names
    assert tasks['echo'] == 'Return the input unchanged.'


def test_add_wait_and_read_a_result(server):
    """A job added over the wire runs; wait() answers when it is done;
    result, status and the full job struct read back."""
    value = {'text': 'ünï', 'n': 3, 'f': 1.5, 'none': None, 'ok': True,
             'raw': b'\x00\xff', 'list': [1, [2]],
             'when': datetime.datetime(2024, 2, 29, 12, 0, 1)}
    jobid = server.add('echo', value)
    assert isinstance(jobid, int)
    assert server.wait(jobid, 30) == 'completed'
    assert server.getStatus(jobid) == 'completed'
    assert server.getResult(jobid) == value
    assert server.getError(jobid) is None
    job = server.getJob(jobid)
    assert (job['id'], job['task'], job['status'], job['attempts'],
            job['input'], job['output']) == (jobid, 'echo', 'completed', 1,
                                             value, value)
    assert job['created'] <= job['started'] <= job['completed']
    assert not {'schedule', 'nextRun', 'error', 'traceback', 'missed'} \
        & set(job)


def test_no_result_is_nil(server):
    """A job without a result answers nil, which the client reads; in
    its struct, the members without a value are absent."""
    jobid = server.add('echo', None, True)
    assert server.getResult(jobid) is None
    assert set(server.getJob(jobid)) == {
        'id', 'task', 'status', 'created', 'attempts', 'priority',
        'history', 'events'}


def test_errors_of_tasks(server):
    """TaskError gives its message; other exceptions 'Type: message'
    with a traceback in getJob."""
    failed = server.add('fail')
    crashed = server.add('crash', 5)
    assert server.wait(failed, 30) == 'error'
    assert server.wait(crashed, 30) == 'error'
    assert server.getError(failed) == 'An error occurred.'
    assert server.getError(crashed) == 'ValueError: cannot handle 5'
    assert 'Traceback' in server.getJob(crashed)['traceback']


def test_result_xmlrpc_cannot_carry_ends_the_job_in_error(server):
    """A result over 32 bits ends the job in error, saying why."""
    jobid = server.add('big')
    assert server.wait(jobid, 30) == 'error'
    assert 'XML-RPC' in server.getError(jobid)


def test_start_later_and_cancel(server):
    """startJob queues a waiting job; cancel cancels one; both refuse,
    with NotAllowed, a job in the wrong state."""
    waiting = server.add('echo', 1, True)
    assert server.getStatus(waiting) == 'start later'
    other = server.add('echo', 2, True)
    assert server.cancel(other) is True
    assert server.getStatus(other) == 'cancelled'
    assert server.startJob(waiting) is True
    assert server.wait(waiting, 30) == 'completed'
    error = fault(server.startJob, waiting)
    assert error.faultCode == FAULTS['NotAllowed']
    assert 'completed' in error.faultString
    assert fault(server.cancel, waiting).faultCode == FAULTS['NotAllowed']


def test_retry_and_run_now(server):
    """retry queues a job that ended in error again; runNow makes a
    delayed job due at once; each answers true, and refuses a job in
    another status with NotAllowed naming the status it needs. A
    missing job is NoSuchJob."""
    failed = server.add('fail')
    assert server.wait(failed, 30) == 'error'
    assert server.retry(failed) is True
    assert server.getStatus(failed) in ('queued', 'processing', 'error')
    assert server.wait(failed, 30) == 'error'
    later = server.addCronJob('echo', 'ran', {'delay': 3600})
    assert server.getStatus(later) == 'delayed'
    assert server.runNow(later) is True
    assert server.wait(later, 30) == 'completed'
    for call, needs in ((server.retry, "'error'"),
                        (server.runNow, "'cronjob' or 'delayed'")):
        error = fault(call, later)
        assert error.faultCode == FAULTS['NotAllowed']
        assert "status is 'completed', so it cannot be" in \
            error.faultString
        assert f'only a job whose status is {needs} can.' in \
            error.faultString
        assert fault(call, 999999).faultCode == FAULTS['NoSuchJob']
    assert server.system.methodSignature('retry') == [['boolean', 'int']]


def test_cron_and_delayed_jobs(server):
    """addCronJob takes fields, a crontab string or a delay; a delayed
    job runs once; getJob shows the schedule and the next run."""
    cron = server.addCronJob('echo', 'x', {'minute': [0, 30]})
    job = server.getJob(cron)
    assert job['status'] == 'cronjob'
    assert job['schedule'] == {'minute': [0, 30]}
    tab = server.addCronJob('echo', None, {'crontab': '0 3 * * sun'})
    assert server.getJob(tab)['schedule'] == {'crontab': '0 3 * * sun'}
    delayed = server.addCronJob('echo', 'later', {'delay': 1})
    assert server.getStatus(delayed) == 'delayed'
    assert server.wait(delayed, 30) == 'completed'
    assert server.getResult(delayed) == 'later'
    assert server.getJob(cron)['nextRun'] is not None
    assert server.getJob(cron)['missed'] == 0
    skipping = server.addCronJob('echo', None, {'hour': [3],
                                                'misfire': 'skip'})
    assert server.getJob(skipping)['schedule'] == {'hour': [3],
                                                   'misfire': 'skip'}
    assert server.cancel(cron) is True


def test_getJobs_pages_with_a_cursor(server):
    """getJobs filters by status and task and walks pages by cursor."""
    ids = [server.add('echo', i, True) for i in range(5)]
    server.add('fail', None, True)
    first = server.getJobs({'task': 'echo', 'limit': 2})
    assert [j['id'] for j in first['jobs']] == ids[:2]
    second = server.getJobs({'task': 'echo', 'limit': 2,
                             'cursor': first['cursor']})
    assert [j['id'] for j in second['jobs']] == ids[2:4]
    last = server.getJobs({'task': 'echo', 'limit': 2,
                           'cursor': second['cursor']})
    assert [j['id'] for j in last['jobs']] == ids[4:]
    assert 'cursor' not in last
    assert len(server.getJobs({'status': 'start later'})['jobs']) == 6


def test_getJobs_pages_newest_first_with_before(server):
    """With newestFirst, getJobs answers the newest jobs first, each page
    giving the before of the next; filters apply as oldest first."""
    ids = [server.add('echo', i, True) for i in range(5)]
    failing = server.add('fail', None, True)
    first = server.getJobs({'newestFirst': True, 'limit': 4})
    assert [j['id'] for j in first['jobs']] == [failing] + ids[:1:-1]
    assert first['jobs'][1]['input'] == 4
    second = server.getJobs({'newestFirst': True, 'limit': 4,
                             'before': first['cursor']})
    assert [j['id'] for j in second['jobs']] == ids[1::-1]
    assert 'cursor' not in second  # the last page has none
    echoes = server.getJobs({'newestFirst': True, 'task': 'echo',
                             'status': 'start later', 'limit': 10})
    assert [j['id'] for j in echoes['jobs']] == ids[::-1]


@pytest.mark.shared
@pytest.mark.parametrize('filter, words', [
    ({'newestFirst': True, 'cursor': 3}, 'cursor does not page newest '
                                         "first; give the previous page's "
                                         'cursor as before'),
    ({'before': 3}, 'before does not page oldest first'),
    ({'newestFirst': 'yes'}, 'newestFirst must be bool'),
    ({'newestFirst': True, 'before': -1}, 'before must be the cursor'),
    ({'order': 'newest'}, 'unknown fields: order (known: status, task, '
                          'limit, cursor, newestFirst, before)'),
])
def test_getJobs_refuses_mixed_up_paging(server, filter, words):
    """A cursor of one order given to the other, or a bad newestFirst or
    before, is InvalidArgument saying what to give instead."""
    error = fault(server.getJobs, filter)
    assert error.faultCode == FAULTS['InvalidArgument']
    assert words in error.faultString


def test_clean(server):
    """clean removes finished jobs and says how many."""
    done = server.add('echo', 1)
    server.wait(done, 30)
    server.add('echo', 2, True)
    assert server.clean() == 1
    assert server.clean(['error']) == 0
    assert fault(server.getStatus, done).faultCode == FAULTS['NoSuchJob']
    assert fault(server.clean, ['queued']).faultCode == \
        FAULTS['InvalidArgument']


@pytest.mark.shared
@pytest.mark.parametrize('method, args, code, words', [
    ('add', ('nope',), 'NoSuchTask', "'nope'"),
    ('getStatus', (999,), 'NoSuchJob', '999'),
    ('getResult', (999,), 'NoSuchJob', '999'),
    ('getJob', (999,), 'NoSuchJob', '999'),
    ('cancel', (999,), 'NoSuchJob', '999'),
    ('getStatus', ('1',), 'InvalidArgument', 'job id must be int'),
    ('add', (1,), 'InvalidArgument', 'task name must be str'),
    ('add', ('echo', 1, 'yes'), 'InvalidArgument', 'startLater'),
    ('add', (), 'InvalidArgument', "missing a required argument: 'task'"),
    ('getStatus', (1, 2), 'InvalidArgument', 'too many'),
    ('addCronJob', ('echo', None, {'minute': [60]}), 'InvalidArgument',
     'minute'),
    ('addCronJob', ('echo', None, {'minute': [1], 'delay': 5}),
     'InvalidArgument', 'not both'),
    ('addCronJob', ('echo', None, {'every': 5}), 'InvalidArgument',
     'unknown fields: every'),
    ('addCronJob', ('echo', None, {'crontab': 'bogus'}),
     'InvalidArgument', 'bogus'),
    ('getJobs', ({'limit': 5000},), 'InvalidArgument', 'limit'),
    ('wait', (1, 600), 'InvalidArgument', 'timeout'),
    ('noSuchMethod', (), 'NoSuchMethod', 'noSuchMethod'),
])
def test_faults(server, method, args, code, words):
    """Each error a client can cause is a Fault with its documented code
    and a message that says what was wrong."""
    error = fault(getattr(server, method), *args)
    assert error.faultCode == FAULTS[code]
    assert words in error.faultString
    assert server.getAvailableTasks()  # and the server goes on serving


@pytest.mark.shared
def test_malformed_xml_is_a_fault(daemon):
    """A body that is not XML-RPC gets an InvalidArgument fault."""
    status, body = post(daemon, b'<methodCall><oops')
    assert status == 200
    with pytest.raises(xmlrpc.client.Fault) as info:
        xmlrpc.client.loads(body)
    assert info.value.faultCode == FAULTS['InvalidArgument']
    assert 'not valid XML-RPC' in info.value.faultString


def test_oversized_request_is_refused(startDaemon):
    """A body over --max-request-size gets RequestTooLarge; the server
    keeps serving."""
    daemon = startDaemon('--max-request-size=64K')
    server = daemon.proxy()
    error = fault(server.add, 'echo', 'x' * 100_000)
    assert error.faultCode == FAULTS['RequestTooLarge']
    assert '65536' in error.faultString
    assert server.add('echo', 'x' * 1000) == 1


@pytest.mark.shared
def test_introspection(server):
    """system.listMethods/methodHelp/methodSignature answer, and answer
    the same without the system. prefix, as Zope's introspection did."""
    methods = server.system.listMethods()
    for name in ('add', 'addCronJob', 'cancel', 'clean', 'getAvailableTasks',
                 'getTaskDescriptions', 'getError', 'getJob', 'getJobs',
                 'getResult', 'getStatus', 'startJob', 'wait', 'retry',
                 'runNow',
                 'system.multicall', 'system.listMethods'):
        assert name in methods
    assert server.listMethods() == methods
    assert server.system.methodHelp('add').startswith(
        'Queue a job for task with input; return its id (an int).\n')
    assert server.methodHelp('add') == server.system.methodHelp('add')
    assert server.methodHelp('methodHelp') == server.system.methodHelp(
        'system.methodHelp')
    assert server.system.methodSignature('add') == [
        ['int', 'string'], ['int', 'string', 'any'],
        ['int', 'string', 'any', 'boolean'],
        ['int', 'string', 'any', 'struct']]
    assert server.methodSignature('getAvailableTasks') == [['array']]
    assert server.methodSignature('listMethods') == [['array']]
    assert fault(server.methodSignature, 'nope').faultCode == \
        FAULTS['NoSuchMethod']


XMLRPC_TYPES = {'int', 'boolean', 'string', 'double', 'dateTime.iso8601',
                'base64', 'struct', 'array', 'nil', 'any'}


@pytest.mark.shared
def test_every_method_has_a_real_signature(server):
    """Each method listed has signatures in XML-RPC type names, one per
    number of arguments it takes, and calls with exactly those numbers
    are accepted (a missing or extra argument is refused)."""
    calls = xmlrpc.client.MultiCall(server)
    methods = server.system.listMethods()
    for name in methods:
        calls.system.methodSignature(name)
    for name, signatures in zip(methods, calls()):
        assert signatures and all(
            set(signature) <= XMLRPC_TYPES for signature in signatures), name
        arities = sorted({len(signature) - 1 for signature in signatures})
        assert arities == list(range(arities[0], arities[-1] + 1)), name
        tooMany = fault(getattr(server, name),
                        *[None] * (arities[-1] + 1))
        assert 'too many' in tooMany.faultString, name
        if arities[0] > 0:
            tooFew = fault(getattr(server, name), *[None] * (arities[0] - 1))
            assert 'missing' in tooFew.faultString, name


def test_multicall(server):
    """system.multicall runs many calls in one request; a bad call gives
    its own fault and the others still happen."""
    calls = xmlrpc.client.MultiCall(server)
    for i in range(3):
        calls.add('echo', i)
    calls.add('nope', 1)
    calls.add('echo', 3, True)
    calls.getStatus(1)
    calls.getStatus(999)
    results = calls()
    assert [results[i] for i in range(3)] == [1, 2, 3]
    with pytest.raises(xmlrpc.client.Fault) as info:
        results[3]
    assert info.value.faultCode == FAULTS['NoSuchTask']
    assert results[4] == 4
    assert results[5] in ('queued', 'processing', 'completed')
    with pytest.raises(xmlrpc.client.Fault):
        results[6]
    assert server.getStatus(4) == 'start later'


def test_concurrent_clients(server, daemon):
    """Eight clients adding at once get unique ids; every job ends."""
    ids = []

    def client(index):
        proxy = daemon.proxy()
        for i in range(25):
            ids.append(proxy.add('echo', i))

    assert runThreads(client, 8) == []
    assert sorted(ids) == list(range(1, 201))
    assert server.wait(max(ids), 60) == 'completed'
    statuses = xmlrpc.client.MultiCall(server)
    for jobid in ids:
        statuses.wait(jobid, 30)
    assert set(statuses()) == {'completed'}
