"""Jobs that wait for other jobs through the Python API: the checks made
before anything is written, the shapes, the bounds (issue 21)."""

import pytest

from remotetask import (
    InvalidArgument, NoSuchJob, NoSuchTask, SimpleTask, TaskService)
from remotetask.store import SQLiteJobStore
from remotetask.core.runner import Outcome


@pytest.fixture(params=['memory', 'sqlite'])
def service(request, tmp_path):
    """A service with the task echo, on each embedded store."""
    store = None if request.param == 'memory' else SQLiteJobStore(
        tmp_path / 'jobs.sqlite')
    service = TaskService(store)
    service.registry.register('echo', SimpleTask(lambda input: input))
    yield service
    service.store.close()


def test_a_job_without_after_is_added_as_before(service):
    """The legacy add is unchanged: queued, no graph."""
    jobid = service.add('echo', 1)
    assert service.getStatus(jobid) == 'queued'
    assert service.getDependencies(jobid) == ([], [])


def test_a_chain_passes_each_result_to_the_next_step(service):
    """addChain: each step waits for the one before with its result,
    unless its options say pass false; a step's own after is kept."""
    other = service.add('echo', 'other')
    ids = service.addChain([('echo', 'a'), ('echo', 'b', {'after': [other]}),
                            {'task': 'echo', 'input': 'c',
                             'options': {'passResults': False}}])
    assert [service.getStatus(i) for i in ids] == [
        'queued', 'waiting', 'waiting']
    service.process()
    assert service.getResult(ids[1]) == {
        'input': 'b', 'results': {str(other): 'other', str(ids[0]): 'a'}}
    assert service.getResult(ids[2]) == 'c'
    queued = service.getJob(ids[2]).events[-3]
    assert (queued['event'], queued['why']) == (
        'queued', 'the jobs it waited for ended')


def test_a_group_without_then_is_independent_jobs(service):
    """addGroup without then adds queued jobs that wait for nothing."""
    ids = service.addGroup([('echo', n) for n in range(3)])
    assert [service.getStatus(i) for i in ids] == ['queued'] * 3


def test_refused_dependencies_store_nothing(service):
    """An unknown id (NoSuchJob), a cron job or an unfinished job of a
    task this service does not serve (InvalidArgument): refused, and
    nothing is added, a chain's earlier steps included."""
    cron = service.addCronJob('echo', 1, crontab='0 0 1 1 *')
    orphan = service.store.add('gone', '1', 'queued', None, 1.0)
    count = len(service.jobs)
    with pytest.raises(NoSuchJob, match='no job with id 999'):
        service.add('echo', 1, after=[999])
    with pytest.raises(InvalidArgument, match='never ends'):
        service.addChain([('echo', 1), ('echo', 2, {'after': [cron]})])
    with pytest.raises(InvalidArgument, match="task 'gone', which no server"):
        service.addGroup([('echo', 1)], then=('echo', 2,
                                              {'after': [orphan]}))
    with pytest.raises(NoSuchTask):
        service.addChain([('echo', 1), ('nope', 2)])
    assert len(service.jobs) == count


def test_addEach_refuses_a_bad_after_alone(service):
    """In a batch of adds (a multicall), an add waiting for an unknown job
    is refused alone; the others are added, a valid wait among them."""
    first = service.add('echo', 1)
    results = service.addEach([('echo', 2, {'after': [first]}),
                               ('echo', 3, {'after': [999]}),
                               ('echo', 4)])
    assert isinstance(results[1], NoSuchJob)
    assert service.getStatus(results[0]) == 'waiting'
    assert service.getStatus(results[2]) == 'queued'


@pytest.mark.parametrize('options, words', [
    (dict(after='1'), 'after must be a list of job ids'),
    (dict(after=[1], onFailure='maybe'), "'cancel' or 'run'"),
    (dict(after=[1], passResults=1), 'pass must be true or false'),
    (dict(onFailure='run'), 'give after too'),
    (dict(after=[1], delay=5), 'may not have startLater, delay or key'),
    (dict(after=[1], startLater=True), 'may not have startLater'),
])
def test_bad_options_are_refused(service, options, words):
    """Wrong types or values of after, onFailure and pass, or after with
    an option it cannot go with: InvalidArgument, saying which."""
    service.add('echo', 0)
    with pytest.raises(InvalidArgument, match=words):
        service.add('echo', 1, **options)


def test_the_bounds_hold_on_both_sides(service):
    """maxAfter dependencies and maxSteps steps are accepted; one more of
    either is refused before anything is added."""
    service.maxAfter, service.maxSteps = 3, 3
    ids = service.addGroup([('echo', n) for n in range(3)])
    assert service.add('echo', 0, after=ids)
    assert len(service.addChain([('echo', n) for n in range(3)])) == 3
    count = len(service.jobs)
    with pytest.raises(InvalidArgument, match='at most 3 jobs'):
        service.add('echo', 0, after=ids + [ids[0] + 100])
    with pytest.raises(InvalidArgument, match='at most 3 steps'):
        service.addChain([('echo', n) for n in range(4)])
    with pytest.raises(InvalidArgument, match='at most 3 jobs'):
        service.addGroup([('echo', n) for n in range(3)],
                         then=('echo', 0, {'after': [ids[0]]}))
    assert len(service.jobs) == count


def test_the_end_listeners_hear_of_cascaded_cancels(service):
    """A dependency's failure cancels its dependents in the store; the
    service tells its end listeners (waiters, the dispatcher) of each
    such end once it is committed."""
    heard, batches = [], []
    service.onEnd(lambda jobid, status: heard.append((jobid, status)))
    service.listeners.onEnds(batches.append)
    first = service.add('echo', 1)
    second, third = service.addChain([('echo', 2, {'after': [first]}),
                                      ('echo', 3)])
    service.cancelJob(first)
    assert sorted(heard) == [(first, 'cancelled'), (second, 'cancelled'),
                             (third, 'cancelled')]
    assert sorted(end for batch in batches for end in batch) == sorted(heard)


def test_the_ends_of_one_write_are_told_together_once_committed(service):
    """The ends recordRuns writes in one transaction reach an ``onEnds``
    listener as one list, in order, after the commit (none before it),
    and each reaches an ``onEnd`` listener as well."""
    heard, batches, seen = [], [], []
    service.onEnd(lambda jobid, status: heard.append((jobid, status)))
    service.listeners.onEnds(batches.append)
    ids = [service.add('echo', n) for n in range(3)]
    rows = service.running.claim(3, started=service.clock.seconds())
    with service.store.transaction():
        service.running.recordRuns(finished=[
            (row, Outcome(True, '1') if row['id'] != ids[1]
             else Outcome.failed('no')) for row in rows])
        seen.append(list(batches))
    assert seen == [[]]
    assert batches == [[(ids[0], 'completed'), (ids[1], 'error'),
                        (ids[2], 'completed')]]
    assert heard == batches[0]


def test_an_add_without_options_is_stored_as_one_with_the_defaults(service):
    """(task, input), (task, input, False) and (task, input, {}) store the
    row that the options given at their defaults store, owner and all;
    the task found for one batch is looked for again in the next."""
    defaults = dict(startLater=False, priority=0, key=None, delay=None,
                    maxAttempts=None, notify=None)
    ids = service.writes.addMany(
        [('echo', {'i': 1}), ('echo', {'i': 1}, False),
         ('echo', {'i': 1}, {}), ('echo', {'i': 1}, defaults)], owner='ann')
    rows = [dict(service.store.get(jobid)) for jobid in ids]
    for row in rows:
        del row['id']
    assert rows[0]['addedby'] == 'ann' and rows[0]['status'] == 'queued'
    assert rows[0] == rows[1] == rows[2] == rows[3]
    service.registry.unregister('echo')
    assert isinstance(service.addEach([('echo', 1)])[0], NoSuchTask)
