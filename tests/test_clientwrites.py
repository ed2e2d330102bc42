"""A client's writes (``remotetask.core.clientwrites``), which both the
XML-RPC and the JSON faces make: who may write what, the jobs an add may
wait for, and a refused change turned into NotAllowed, on every store."""

import pytest

from remotetask.core.permissions import Principal
from remotetask.errors import (
    InvalidArgument, NoSuchJob, NoSuchTask, NotAllowed, NotPermitted)

SHOP = Principal('shop', 'caller', ['echo'])
OTHER = Principal('reports', 'caller', ['*'])
VIEWER = Principal('monitor', 'viewer')


def test_a_change_says_the_status_it_left_and_is_told(service):
    """A change made returns the job's status after it, and wakes what
    waits for a job to claim (the service's listeners)."""
    woken = []
    service.onAdd(lambda: woken.append(True))
    jobid = service.add('echo', 1, startLater=True)
    assert str(service.clientWrites.change(None, 'start', jobid)) == 'queued'
    assert woken
    assert str(service.clientWrites.change(None, 'cancel', jobid)) == \
        'cancelled'


def test_a_change_the_status_refuses_is_not_allowed(service):
    """A change the job's status does not allow raises NotAllowed naming
    the status and the statuses that allow it; nothing changes."""
    jobid = service.add('echo', 1)
    with pytest.raises(NotAllowed) as refused:
        service.clientWrites.change(None, 'retry', jobid)
    assert str(refused.value) == (
        f"Job {jobid}'s status is 'queued', so it cannot be retried: only "
        "a job whose status is 'error' can.")
    assert service.getStatus(jobid) == 'queued'
    with pytest.raises(NoSuchJob):
        service.clientWrites.change(None, 'cancel', 999)


def test_a_caller_changes_its_own_jobs_alone(service):
    """A caller's change of another's job is refused as if the job did
    not exist; a viewer may change none; the change's event names who."""
    theirs = service.add('echo', 1, startLater=True, owner='reports')
    mine = service.add('echo', 2, startLater=True, owner='shop')
    with pytest.raises(NoSuchJob) as refused:
        service.clientWrites.change(SHOP, 'start', theirs)
    assert str(refused.value) == str(NoSuchJob.withId(theirs))
    with pytest.raises(NotPermitted, match='starting job'):
        service.clientWrites.change(VIEWER, 'start', mine)
    assert service.getStatus(theirs) == service.getStatus(mine) == \
        'start later'
    service.clientWrites.change(SHOP, 'start', mine)
    assert service.getJob(mine).events[-1]['by'] == 'shop'


def test_an_add_is_the_callers_and_waits_for_its_jobs_alone(service):
    """An add is recorded as the caller's; a task it may not add is
    refused; an add waiting for another's job is refused as if that job
    did not exist, and nothing is added."""
    mine = service.clientWrites.add(SHOP, 'echo', 1)
    assert service.getJob(mine).owner == 'shop'
    with pytest.raises(NotPermitted):
        service.clientWrites.add(SHOP, 'fail')
    theirs = service.clientWrites.add(OTHER, 'echo', 2)
    with pytest.raises(NoSuchJob):
        service.clientWrites.add(SHOP, 'echo', 3, dict(after=[theirs]))
    with pytest.raises(NoSuchJob):
        service.clientWrites.addChain(
            SHOP, [['echo', 4, dict(after=[theirs])], ['echo', 5, {}]])
    assert len(service.jobs) == 2
    ids = service.clientWrites.addGroup(
        SHOP, [['echo', 6, dict(after=[mine])]], ['echo', 7, {}])
    assert [service.getJob(jobid).owner for jobid in ids] == ['shop'] * 2


def test_addEach_answers_each_add_in_order(service):
    """For a multicall: each request's id, or the error that refused it
    (already, at the wire; a task not allowed; a hidden job waited for;
    a task no server serves), the valid ones added."""
    theirs = service.add('echo', 0, owner='reports')
    early = InvalidArgument('bad options')
    answers = service.clientWrites.addEach(SHOP, [
        ('echo', 1, {}), early, ('fail', 2, {}),
        ('echo', 3, dict(after=[theirs])), ('echo', 4, {})])
    assert answers[1] is early
    assert isinstance(answers[2], NotPermitted)
    assert isinstance(answers[3], NoSuchJob)
    assert [service.getResult(answers[i]) for i in (0, 4)] == [None, None]
    assert [service.getJob(answers[i]).input for i in (0, 4)] == [1, 4]
    answers = service.clientWrites.addEach(None, [('nothing', 1, {})])
    assert isinstance(answers[0], NoSuchTask)
