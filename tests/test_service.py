"""The TaskService API, as legacy code calls it, on every store."""

import datetime
import threading

import pytest
from zope.interface.verify import verifyObject

import remotetask
from remotetask import (
    CronJob, Job, NoSuchJob, NoSuchTask, SimpleTask, TaskService,
    UnstorableValue)
from remotetask.interfaces import ICronJob, IJob, ITaskService


def test_package_exports_the_legacy_names():
    """`import remotetask` gives the classes and status names of old."""
    assert (remotetask.QUEUED, remotetask.PROCESSING, remotetask.COMPLETED,
            remotetask.ERROR, remotetask.CANCELLED, remotetask.CRONJOB,
            remotetask.DELAYED, remotetask.STARTLATER) == (
        'queued', 'processing', 'completed', 'error', 'cancelled',
        'cronjob', 'delayed', 'start later')
    from remotetask import interfaces, job, task  # noqa: F401
    assert interfaces.QUEUED == 'queued'


def test_service_without_arguments_works_in_memory():
    """TaskService() needs no store and lists no tasks of its own."""
    service = TaskService()
    assert service.getAvailableTasks() == {}
    assert verifyObject(ITaskService, service)


def test_provides_interfaces(service):
    """The service and its jobs provide their interfaces."""
    assert verifyObject(ITaskService, service)
    jobid = service.add('echo', 1)
    assert verifyObject(IJob, service.jobs[jobid])
    cronid = service.addCronJob('echo', minute=(1,))
    assert verifyObject(ICronJob, service.jobs[cronid])


def test_add_returns_sequential_ids_and_queues(service):
    """add() returns ids from 1; the job waits as queued."""
    assert service.add('echo', {'foo': 'bar'}) == 1
    assert service.add('echo') == 2
    assert service.getStatus(1) == 'queued'
    assert service.getResult(1) is None
    assert service.getError(1) is None


def test_process_runs_queued_jobs_in_order(service, tmp_path):
    """process() runs every queued job, oldest first."""
    path = str(tmp_path / 'log')
    for line in ('a', 'b', 'c'):
        service.add('record', {'path': path, 'line': line})
    service.process()
    assert open(path).read().split() == ['a', 'b', 'c']
    assert [service.getStatus(i) for i in (1, 2, 3)] == ['completed'] * 3
    assert service.getResult(2) == 'b'


def test_job_records_times_and_attempts(service):
    """A finished job has created <= started <= completed."""
    jobid = service.add('echo', 1)
    service.process()
    job = service.jobs[jobid]
    assert isinstance(job.created, datetime.datetime)
    assert job.created <= job.started <= job.completed
    assert job.attempts == 1
    assert (job.id, job.task, job.input, job.output) == (jobid, 'echo', 1, 1)
    assert repr(job) == f'<Job {jobid}>'


def test_status_is_processing_while_the_task_runs(service):
    """While a task runs, its job reads as processing."""
    seen = []
    service.registry.register(
        'look', lambda input: seen.append(service.getStatus(input)))
    jobid = service.add('look', 1)
    service.process()
    assert seen == ['processing'] and jobid == 1


def test_unknown_task_is_refused_by_name(service):
    """add() of a task the service does not have names it."""
    with pytest.raises(NoSuchTask, match="'nope'"):
        service.add('nope')
    assert len(service.jobs) == 0


@pytest.mark.parametrize('value, kind', [
    ({1, 2}, 'set'), ((1, {3}), 'set'), ({1: 'a'}, 'int'),
    ([object()], 'object'), ({'a': [1, 2j]}, 'complex')])
def test_input_the_store_cannot_keep_is_a_TypeError(service, value, kind):
    """Unstorable input fails at add time, naming the type."""
    with pytest.raises(TypeError, match=kind) as info:
        service.add('echo', value)
    assert isinstance(info.value, UnstorableValue)
    assert len(service.jobs) == 0


ROUND_TRIP = {
    'str': 'ünïcode \ud800 text', 'int': -2**70, 'float': 1.5,
    'inf': float('inf'), 'true': True, 'false': False, 'none': None,
    'bytes': b'\x00\xff', 'list': [1, 'a', [None, b'']],
    'datetime': datetime.datetime(2024, 2, 29, 12, 30, 45, 123456),
    'aware': datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
    'tricky': {'$bytes': 'not bytes', '$dict': {'$datetime': 'x'}},
    'empty': {},
    'tuple': (0.04, 1, ('nested', [()]), b'\x01'),
    'notATuple': {'$tuple': [1, 2]},
}


def test_inputs_and_outputs_round_trip_exactly(service):
    """Every XML-RPC type comes back as it went in, type for type."""
    jobid = service.add('echo', ROUND_TRIP)
    assert service.jobs[jobid].input == ROUND_TRIP
    service.process()
    result = service.getResult(jobid)
    assert result == ROUND_TRIP
    assert {k: type(v) for k, v in result.items()} == {
        k: type(v) for k, v in ROUND_TRIP.items()}


def test_TaskError_gives_its_message(service):
    """A TaskError ends the job in error with its message only."""
    jobid = service.add('fail')
    service.process()
    assert service.getStatus(jobid) == 'error'
    assert service.getError(jobid) == 'An error occurred.'
    assert service.jobs[jobid].traceback is None


def test_other_exceptions_never_escape_process(service):
    """Any other exception ends the job in error as 'Type: message',
    with the traceback kept, and the next job still runs."""
    bad = service.add('crash', 7)
    good = service.add('echo', 8)
    service.process()
    assert service.getStatus(bad) == 'error'
    assert service.getError(bad) == 'ValueError: cannot handle 7'
    assert 'Traceback' in service.jobs[bad].traceback
    assert 'tests/tasks.py' in service.jobs[bad].traceback
    assert service.getResult(good) == 8


def test_unstorable_result_ends_the_job_in_error(service):
    """A result that cannot be stored is an error that says so."""
    jobid = service.add('unstorable')
    service.process()
    assert service.getStatus(jobid) == 'error'
    assert 'set' in service.getError(jobid)


def test_job_of_a_task_removed_after_add_waits_for_it(service):
    """A job whose task left the registry is not claimed: it waits,
    queued and with no attempt used, and runs once the task is back
    (elsewhere, a server that has the task would take it)."""
    service.registry.register('gone', SimpleTask(lambda x: x))
    jobid = service.add('gone', 5)
    service.registry.unregister('gone')
    service.process()
    assert service.getStatus(jobid) == 'queued'
    assert service.getJob(jobid).attempts == 0
    service.registry.register('gone', SimpleTask(lambda x: x * 2))
    service.process()
    assert service.getResult(jobid) == 10


def test_unknown_job_id_is_a_KeyError(service):
    """Every per-job method says clearly that the id is unknown (but
    cancel(), which ignores it as the originals did)."""
    for method in (service.getStatus, service.getResult, service.getError,
                   service.cancelJob, service.startJob,
                   service.jobs.__getitem__):
        with pytest.raises(NoSuchJob, match='42') as info:
            method(42)
        assert isinstance(info.value, KeyError)
    assert 42 not in service.jobs


def test_start_later(service):
    """A 'start later' job waits until startJob() queues it."""
    jobid = service.add('echo', 1, startLater=True)
    assert service.getStatus(jobid) == 'start later'
    service.process()
    assert service.getStatus(jobid) == 'start later'
    assert service.startJob(jobid) is True
    assert service.getStatus(jobid) == 'queued'
    assert service.startJob(jobid) is False
    service.process()
    assert service.getResult(jobid) == 1


@pytest.mark.parametrize('kind', ['queued', 'start later', 'delayed',
                                  'cronjob'])
def test_cancel_a_job_that_has_not_started(service, kind):
    """Waiting jobs of every kind can be cancelled and then never run."""
    if kind == 'queued':
        jobid = service.add('echo')
    elif kind == 'start later':
        jobid = service.add('echo', startLater=True)
    elif kind == 'delayed':
        jobid = service.addCronJob('echo', delay=10)
    else:
        jobid = service.addCronJob('echo', minute=(10,))
    assert service.getStatus(jobid) == kind
    assert service.cancelJob(jobid) is True
    assert service.getStatus(jobid) == 'cancelled'
    service.process(now=10**9)
    assert service.getStatus(jobid) == 'cancelled'
    assert service.jobs[jobid].started is None


def test_cancel_of_a_finished_job_changes_nothing(service):
    """cancelJob of a completed job returns False and keeps its result."""
    jobid = service.add('echo', 5)
    service.process()
    assert service.cancelJob(jobid) is False
    assert service.getStatus(jobid) == 'completed'
    assert service.getResult(jobid) == 5


def test_cancel_answers_nothing_as_the_originals_did(service):
    """cancel() returns None whether it cancelled the job, found it
    finished, or found no job at all (an unknown id is ignored);
    cancelJob() says which, and raises NoSuchJob for an unknown id."""
    waiting = service.add('echo', 1)
    done = service.add('echo', 2, startLater=True)
    service.startJob(done)
    service.processNext()
    service.processNext()
    assert service.getStatus(waiting) == 'completed'
    later = service.add('echo', 3)
    assert service.cancel(later) is None
    assert service.getStatus(later) == 'cancelled'
    assert service.cancel(done) is None
    assert service.getStatus(done) == 'completed'
    assert service.cancel(999) is None
    assert 999 not in service.jobs
    with pytest.raises(NoSuchJob):
        service.cancelJob(999)


def test_jobs_mapping(service):
    """jobs is a read-only mapping id -> Job that pages the store."""
    service.jobs.pageSize = 2
    ids = [service.add('echo', i) for i in range(5)]
    assert list(service.jobs) == ids
    assert len(service.jobs) == 5
    assert {jobid: repr(job) for jobid, job in dict(service.jobs).items()} \
        == {i: f'<Job {i}>' for i in ids}
    assert [job.status for job in service.jobs.values()] == ['queued'] * 5
    with pytest.raises(TypeError):
        service.jobs[1] = None


def test_clean_removes_finished_jobs(service):
    """clean() removes completed, error and cancelled jobs, not others."""
    done = service.add('echo')
    failed = service.add('fail')
    service.process()
    cancelled = service.add('echo')
    service.cancel(cancelled)
    waiting = service.add('echo', startLater=True)
    cron = service.addCronJob('echo', minute=(1,))
    assert service.clean() is None
    assert sorted(service.jobs) == [waiting, cron]
    assert done not in service.jobs and failed not in service.jobs


def test_clean_a_chosen_status(service):
    """clean(stati) removes only the finished states named."""
    service.add('echo')
    failed = service.add('fail')
    service.process()
    assert service.clean([remotetask.COMPLETED]) is None
    assert list(service.jobs) == [failed]


def test_removeFinished_says_how_many_it_removed(service):
    """removeFinished() removes as clean() does and returns the count:
    every finished job by default, or those of the statuses named."""
    service.add('echo')
    service.add('echo')
    failed = service.add('fail')
    service.process()
    cancelled = service.add('echo', startLater=True)
    service.cancel(cancelled)
    waiting = service.add('echo', startLater=True)
    assert service.removeFinished([remotetask.CANCELLED]) == 1
    assert service.removeFinished(['completed']) == 2
    assert service.removeFinished(['completed']) == 0
    assert service.removeFinished() == 1
    assert list(service.jobs) == [waiting]
    assert failed not in service.jobs


def test_clean_refuses_unfinished_states(service):
    """Naming a state whose jobs may still run is a ValueError."""
    service.add('echo')
    with pytest.raises(ValueError, match='queued'):
        service.clean(['queued', 'completed'])
    with pytest.raises(ValueError, match='start later'):
        service.removeFinished(['start later'])
    assert len(service.jobs) == 1


def test_processNext_and_hasJobsWaiting(service):
    """processNext() runs one job; hasJobsWaiting() says if any is due."""
    assert service.hasJobsWaiting() is False
    assert service.processNext() is False
    service.add('echo', 1)
    service.add('echo', 2)
    assert service.hasJobsWaiting() is True
    assert service.processNext() is True
    assert [service.getStatus(1), service.getStatus(2)] == [
        'completed', 'queued']


def test_addMany_is_all_or_nothing(service):
    """addMany() adds every job or, if one is refused, none."""
    assert service.addMany([('echo', 1, False), ('echo', 2, True)]) == [1, 2]
    with pytest.raises(NoSuchTask):
        service.addMany([('echo', 3, False), ('nope', 4, False)])
    with pytest.raises(UnstorableValue):
        service.addMany([('echo', {5}, False)])
    assert list(service.jobs) == [1, 2]


def test_background_processing(service):
    """startProcessing() runs jobs in a thread until stopProcessing()."""
    done = threading.Event()
    service.registry.register('signal', lambda input: done.set())
    assert not service.isProcessing()
    service.startProcessing()
    try:
        assert service.isProcessing()
        jobid = service.add('signal')
        assert done.wait(10)
    finally:
        service.stopProcessing()
    assert not service.isProcessing()
    assert service.getStatus(jobid) == 'completed'


def test_plain_Job_and_CronJob_objects():
    """Job and CronJob can be built directly, as legacy code does."""
    job = Job(1, 'echo', {'a': 1})
    assert (repr(job), job.status, job.output) == ('<Job 1>', 'queued', None)
    cron = CronJob(2, 'echo', None, minute=(0, 10))
    assert (cron.status, cron.minute, cron.hour) == ('cronjob', (0, 10), ())
    assert repr(cron) == '<CronJob 2>'


def test_error_text_any_store_can_keep(service):
    """An exception message with a NUL or a lone surrogate is stored with
    those characters escaped; the job still ends in error."""
    def nasty(input):
        raise ValueError('nul \x00 and \ud800 here')
    service.registry.register('nasty', nasty)
    jobid = service.add('nasty')
    service.process()
    assert service.getStatus(jobid) == 'error'
    assert service.getError(jobid) == (
        'ValueError: nul \\x00 and \\ud800 here')


def test_statuses_show_as_the_legacy_strings(service):
    """A status reads as the plain legacy string at the prompt, in repr()
    of lists and dicts and in formatted text, as the originals' did; it
    is still a Status, equal to that string."""
    queued = service.add('echo', startLater=False)
    later = service.add('echo', startLater=True)
    status = service.getStatus(queued)
    assert isinstance(status, remotetask.Status)
    assert repr(status) == "'queued'"
    assert repr([service.getStatus(queued), service.getStatus(later)]) == \
        "['queued', 'start later']"
    assert repr({'status': remotetask.CANCELLED}) == "{'status': 'cancelled'}"
    assert f'{status} {status!r}' == "queued 'queued'"
    assert sorted(job.status for job in service.jobs.values()) == [
        'queued', 'start later']
