"""``system.multicall``'s runs of calls of one kind
(``remotetask.wire.system``): consecutive ``getStatus`` calls are read in
one store call, and answer exactly as each call alone would. On a
TaskService in memory, with store calls made at once and counted."""

import xmlrpc.client

from twisted.internet import defer

from remotetask import SimpleTask, TaskService
from remotetask.core.permissions import Principal
from remotetask.wire.marshal import encodeAnswer
from remotetask.wire.xmlrpc import TaskServiceResource
from tests import tasks

SHOP = Principal('shop', 'caller', ['*'])
REPORTS = Principal('reports', 'caller', ['*'])


class CountedCalls:
    """A ``storeCall`` made at once, counting its calls."""

    def __init__(self):
        self.count = 0

    def __call__(self, function, *args, **kwargs):
        self.count += 1
        return defer.maybeDeferred(function, *args, **kwargs)


def makeResource():
    service = TaskService()
    service.registry.register('echo', SimpleTask(tasks.echo))
    reads = CountedCalls()
    return service, TaskServiceResource(service, reads), reads


def answered(d):
    """What a Deferred of the resource fired with, as a client reads it."""
    found = []
    d.addBoth(found.append)
    assert found, 'the Deferred has not fired'
    (value,), _ = xmlrpc.client.loads(bytes(encodeAnswer(found[0])))
    return value


def alone(resource, jobid, caller=None):
    """The answer of one getStatus call, as it stands in a multicall."""
    d = resource.callMethod('getStatus', [jobid], caller=caller)
    try:
        return [answered(d)]
    except xmlrpc.client.Fault as fault:
        return dict(faultCode=fault.faultCode, faultString=fault.faultString)


def statusCalls(jobids):
    return [{'methodName': 'getStatus', 'params': [jobid]}
            for jobid in jobids]


def test_consecutive_status_calls_are_one_read_answered_as_alone():
    """A run of getStatus calls costs one store call, and each answers
    what it would alone: a status, fault 2 for an unknown id, fault 3 for
    an id that is not an integer."""
    service, resource, reads = makeResource()
    done = service.add('echo', 1)
    service.process()
    queued = service.add('echo', 2)
    jobids = [done, queued, 999, 'x', queued]
    expected = [alone(resource, jobid) for jobid in jobids]
    reads.count = 0
    answers = answered(resource.callMethod('system.multicall',
                                           [statusCalls(jobids)]))
    assert answers == expected
    assert [answer[0] for answer in expected[:2]] == ['completed', 'queued']
    assert [answer['faultCode'] for answer in expected[2:4]] == [2, 3]
    assert reads.count == 1


def test_a_callers_run_of_status_calls_sees_its_own_jobs_only():
    """For a caller who sees only its own jobs, another's job in a run
    of getStatus calls is fault 2, as alone, and its own answer."""
    service, resource, reads = makeResource()
    mine = service.add('echo', 1, owner='shop')
    theirs = service.add('echo', 2, owner='reports')
    jobids = [mine, theirs, mine]
    expected = [alone(resource, jobid, SHOP) for jobid in jobids]
    reads.count = 0
    answers = answered(resource.callMethod(
        'system.multicall', [statusCalls(jobids)], caller=SHOP))
    assert answers == expected == [['queued'], expected[1], ['queued']]
    assert expected[1]['faultCode'] == 2
    assert reads.count == 1


def test_status_calls_apart_are_each_their_own_read():
    """A getStatus between calls of other kinds is read alone, in the
    order of the calls."""
    service, resource, reads = makeResource()
    jobid = service.add('echo', 1)
    calls = (statusCalls([jobid])
             + [{'methodName': 'cancel', 'params': [jobid]}]
             + statusCalls([jobid]))
    resource.writeCall = CountedCalls()
    answers = answered(resource.callMethod('system.multicall', [calls]))
    assert answers == [['queued'], [True], ['cancelled']]
