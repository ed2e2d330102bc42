"""The in-process processors of lovely.remotetask and z3c.taskqueue:
``processorFactory``, ``processorArguments``, ``SimpleProcessor`` and
``MultiProcessor``, as a legacy host uses them through
``startProcessing()``."""

import threading

import pytest

import remotetask.processor
from remotetask import SimpleTask, TaskService
from remotetask.processor import MultiProcessor, SimpleProcessor
from tests import tasks
from tests.acceptance.daemon import waitUntil


@pytest.fixture
def gates():
    """A gate task; every gate is opened after the test, so that no job
    thread outlives it."""
    gates = tasks.Gates()
    yield gates
    gates.open(*range(100))


@pytest.fixture
def service(store, gates):
    """A service on each store with the test tasks and ``gate``; its
    processing is stopped after the test."""
    service = TaskService(store=store)
    service.registry.register('echo', SimpleTask(tasks.echo))
    service.registry.register('gate', SimpleTask(gates))
    yield service
    gates.open(*range(100))
    service.stopProcessing()


def statuses(service, ids):
    return [service.getStatus(jobid) for jobid in ids]


def test_the_originals_defaults():
    """A service runs a SimpleProcessor waiting 1 s between looks, as the
    originals did; MultiProcessor runs 5 jobs at once unless told; the
    legacy module remotetask.processor provides both."""
    assert TaskService.processorFactory is SimpleProcessor
    assert TaskService.processorArguments == {'waitTime': 1.0}
    assert TaskService().processorFactory is SimpleProcessor
    assert remotetask.processor.SimpleProcessor is SimpleProcessor
    assert remotetask.processor.MultiProcessor is MultiProcessor
    processor = MultiProcessor(TaskService())
    assert (processor.maxThreads, processor.waitTime, processor.threads) \
        == (5, 1.0, [])
    with pytest.raises(ValueError, match='maxThreads'):
        MultiProcessor(TaskService(), maxThreads=0)


def test_a_legacy_host_gets_four_jobs_at_once(service):
    """processorFactory = MultiProcessor with processorArguments
    {'maxThreads': 4} runs four jobs together: each waits for the other
    three, and all complete."""
    service.registry.register('meet', SimpleTask(tasks.meeting(4)))
    service.processorFactory = MultiProcessor
    service.processorArguments = {'maxThreads': 4}
    ids = [service.add('meet', i) for i in range(4)]
    service.startProcessing()
    waitUntil(lambda: statuses(service, ids) == ['completed'] * 4,
              message='four jobs completed')
    assert [service.getResult(jobid) for jobid in ids] == [0, 1, 2, 3]


def test_settings_on_the_class_apply_to_every_service(store):
    """A host may set processorFactory and processorArguments on a
    subclass, as a Zope host did in ZCML or on the class."""
    class HostService(TaskService):
        processorFactory = MultiProcessor
        processorArguments = {'maxThreads': 3, 'waitTime': 0.5}
    service = HostService(store=store)
    service.registry.register('meet', SimpleTask(tasks.meeting(3)))
    ids = [service.add('meet', i) for i in range(3)]
    service.startProcessing()
    try:
        waitUntil(lambda: statuses(service, ids) == ['completed'] * 3,
                  message='three jobs completed')
    finally:
        service.stopProcessing()


def test_no_more_than_maxThreads_jobs_run(service, gates):
    """With maxThreads 2, two jobs run while the others stay queued; each
    job that ends lets the next one start."""
    service.processorFactory = MultiProcessor
    service.processorArguments = {'maxThreads': 2, 'waitTime': 0.05}
    ids = [service.add('gate', i) for i in range(4)]
    service.startProcessing()
    waitUntil(lambda: sorted(gates.inside) == [0, 1],
              message='jobs 1 and 2 running')
    assert statuses(service, ids[2:]) == ['queued', 'queued']
    gates.open(0)
    waitUntil(lambda: sorted(gates.inside) == [1, 2],
              message='job 3 running after job 1')
    assert service.getStatus(ids[3]) == 'queued'
    gates.open(1, 2, 3)
    waitUntil(lambda: statuses(service, ids) == ['completed'] * 4,
              message='all completed')
    assert gates.most == 2


def test_the_simple_processor_runs_one_job_at_a_time(service, gates):
    """The default processor runs the jobs one after the other, in the
    order they were added."""
    service.processorArguments = {'waitTime': 0.05}
    ids = [service.add('gate', i) for i in range(3)]
    service.startProcessing()
    for running in range(3):
        waitUntil(lambda: gates.inside == [running],
                  message=f'job {running + 1} running')
        assert statuses(service, ids[running + 1:]) == ['queued'] * (
            2 - running)
        gates.open(running)
    waitUntil(lambda: statuses(service, ids) == ['completed'] * 3,
              message='all completed')
    assert gates.most == 1


def test_adding_a_job_wakes_the_processor(service):
    """A job added while the processor waits runs at once, not after
    waitTime (here far longer than the test may take)."""
    service.processorArguments = {'waitTime': 3600}
    service.startProcessing()
    jobid = service.add('echo', 'now')
    waitUntil(lambda: service.getStatus(jobid) == 'completed',
              message='the job completed')


@pytest.mark.parametrize('factory', [SimpleProcessor, MultiProcessor])
def test_stopping_finishes_the_job_in_hand_and_starts_no_other(
        service, gates, factory):
    """stopProcessing() returns once the running job has ended; the jobs
    still queued stay queued, and the processing threads are gone."""
    service.processorFactory = factory
    service.processorArguments = {'waitTime': 0.05, **(
        {'maxThreads': 1} if factory is MultiProcessor else {})}
    running = service.add('gate', 0)
    waiting = service.add('echo', 'later')
    service.startProcessing()
    waitUntil(lambda: gates.inside == [0], message='the first job running')
    stopper = threading.Thread(target=service.stopProcessing)
    stopper.start()
    waitUntil(lambda: not service.isProcessing(), message='stopping')
    assert stopper.is_alive()
    gates.open(0)
    stopper.join(60)
    assert not stopper.is_alive()
    assert statuses(service, [running, waiting]) == ['completed', 'queued']
    assert [thread.name for thread in threading.enumerate()
            if thread.name.startswith('remotetasks.')] == []


def test_the_thread_is_named_as_the_originals_named_it(service, gates):
    """The processing thread is remotetasks.NAME (NAME the service's
    __name__, as a Zope host sets it), and a MultiProcessor's job threads
    are named after it; isProcessing() follows start and stop."""
    service.__name__ = 'tasks'
    service.processorFactory = MultiProcessor
    assert not service.isProcessing()
    jobid = service.add('gate', 7)
    service.startProcessing()
    service.startProcessing()  # a second start changes nothing
    assert service.isProcessing()
    waitUntil(lambda: gates.inside == [7], message='the job running')
    names = sorted(thread.name for thread in threading.enumerate()
                   if thread.name.startswith('remotetasks.'))
    assert names == ['remotetasks.tasks', f'remotetasks.tasks.job{jobid}']
    gates.open(7)
    service.stopProcessing()
    assert not service.isProcessing()
    assert service.getStatus(jobid) == 'completed'


def test_the_processor_steps_as_the_originals_documented(service):
    """A processor can be driven step by step: SimpleProcessor's
    processNext() runs the next job; MultiProcessor's hasJobsWaiting(),
    claimNextJob() and processNext(jobid) claim a job, then run it."""
    first = service.add('echo', (0.04, 1))
    second = service.add('echo', (0, 2))
    simple = SimpleProcessor(service, waitTime=0.0)
    assert simple.processNext() is True
    assert statuses(service, [first, second]) == ['completed', 'queued']
    multi = MultiProcessor(service, waitTime=0)
    assert multi.hasJobsWaiting() is True
    assert multi.claimNextJob() == second
    assert service.getStatus(second) == 'processing'
    assert multi.hasJobsWaiting() is False
    assert multi.processNext(second) is True
    assert service.getResult(second) == (0, 2)
    assert multi.claimNextJob() is None
    assert simple.processNext() is False


def test_a_failing_round_does_not_end_processing(service):
    """When looking for jobs fails (the store down, say), the processor
    logs it and looks again; jobs run once it works."""
    failures = []
    realProcessNext = service.processNext

    def flaky(now=None):
        if not failures:
            failures.append(1)
            raise OSError('the store is down')
        return realProcessNext(now)
    service.processNext = flaky
    service.processorArguments = {'waitTime': 0.01}
    jobid = service.add('echo', 1)
    service.startProcessing()
    waitUntil(lambda: service.getStatus(jobid) == 'completed',
              message='the job completed after a failed round')
    assert failures == [1]
    assert service.isProcessing()
