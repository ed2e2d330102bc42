"""add()'s options, the tasks' limits and the routing of jobs, through the
TaskService's Python API, on every store."""

import re

import pytest

from remotetask import InvalidArgument, NoSuchTask, SimpleTask, TaskService
from remotetask.core.limits import Limit, Rate
from remotetask.core.registry import asTask
from remotetask.core.runner import Outcome
from remotetask.errors import NotAllowed
from tests import tasks


def test_add_keeps_its_options_and_legacy_calls_still_work(service):
    """priority, key, delay and maxAttempts are keyword-only and kept on
    the job; add(task, input, True) still means startLater."""
    later = service.add('echo', 1, True)
    assert service.getStatus(later) == 'start later'
    jobid = service.add('echo', 2, priority=-3, key='k', maxAttempts=7)
    job = service.getJob(jobid)
    assert (job.priority, job.key, job.maxAttempts, job.server) == (
        -3, 'k', 7, None)
    with pytest.raises(TypeError):
        service.add('echo', 3, False, 5)


@pytest.mark.parametrize('options, words', [
    (dict(priority=101), 'priority must be a whole number from -100'),
    (dict(priority=True), 'priority'),
    (dict(priority=1.0), 'priority'),
    (dict(key=''), 'key must be a string of 1 to 200'),
    (dict(key='x' * 201), 'key must be a string of 1 to 200'),
    (dict(key=5), 'key must be a string'),
    (dict(key='a\x00b'), "key may not hold the character '\\x00'"),
    (dict(delay=-1), 'delay must be a number of seconds from 0'),
    (dict(delay=float('inf')), 'delay'),
    (dict(delay='soon'), 'delay'),
    (dict(maxAttempts=0), 'maxAttempts must be a whole number from 1'),
    (dict(maxAttempts=101), 'maxAttempts'),
])
def test_options_out_of_range_are_refused_before_anything_is_added(
        service, options, words):
    """Each option is checked, and one that is not valid is refused with
    InvalidArgument (fault 3) saying which and why; nothing is added."""
    with pytest.raises(InvalidArgument, match=re.escape(words)):
        service.add('echo', 1, **options)
    assert len(service.jobs) == 0


def test_a_delayed_add_waits_until_its_time(service, clock):
    """A job added with a delay is queued with its due time as nextRun,
    and not run before it."""
    before = clock.seconds()
    jobid = service.add('echo', 1, delay=60)
    job = service.getJob(jobid)
    assert job.status == 'queued'
    assert job.due == before + 60
    clock.advance(59)
    service.process()
    assert service.getStatus(jobid) == 'queued'
    clock.advance(1)
    service.process()
    assert service.getResult(jobid) == 1


def test_a_legacy_now_still_says_when(service, clock):
    """process(now=...) and hasJobsWaiting(now=...) read the time given,
    not the clock's, as the originals' did; None is the clock's now."""
    jobid = service.add('echo', 1, delay=60)
    assert not service.hasJobsWaiting()
    assert service.hasJobsWaiting(now=clock.seconds() + 60)
    service.process(now=clock.seconds() + 30)
    assert service.getStatus(jobid) == 'queued'
    service.process(now=clock.seconds() + 60)
    assert service.getResult(jobid) == 1


def test_a_jobs_own_maxattempts_wins_over_its_tasks(service):
    """A job given maxAttempts is retried that many times at most,
    whatever its task allows."""
    flaky = tasks.Flaky(succeedOn=3)
    service.registry.register('flaky', SimpleTask(flaky, maxAttempts=5,
                                                  backoff=0))
    jobid = service.add('flaky', None, maxAttempts=2)
    service.process()
    service.process()
    job = service.getJob(jobid)
    assert (job.status, job.attempts, flaky.calls) == ('error', 2, 2)


def test_a_key_returns_the_unfinished_job_and_a_finished_one_frees_it(
        service):
    """add() with a key held by an unfinished job of the task returns
    that job; once it has run, the key adds a new one."""
    first = service.add('echo', 1, key='report')
    assert service.add('echo', 2, key='report', priority=9) == first
    assert service.getJob(first).priority == 0
    service.process()
    second = service.add('echo', 3, key='report')
    assert second != first
    assert service.getJob(second).input == 3


def test_retry_is_refused_while_a_newer_job_holds_the_key(service):
    """A failed job with a key cannot be retried while a newer job of its
    task holds the key."""
    failed = service.add('fail', 1, key='k')
    service.process()
    newer = service.add('fail', 2, key='k')
    with pytest.raises(NotAllowed, match=f'job {newer}'):
        service.retry(failed)
    service.cancelJob(newer)
    assert service.retry(failed)


def test_batches_take_options_per_request(service):
    """addMany and addEach take (task, input), (task, input, startLater)
    or (task, input, options) requests; addEach refuses a bad one
    alone."""
    ids = service.addMany([('echo', 1), ('echo', 2, True),
                           ('echo', 3, dict(priority=4, key='x')),
                           ('echo', 4, dict(key='x'))])
    assert ids[2] == ids[3]
    assert service.getStatus(ids[1]) == 'start later'
    assert service.getJob(ids[2]).priority == 4
    answers = service.addEach([('echo', 5, dict(priority=500)),
                               ('echo', 6, dict(colour='red')),
                               ('echo', 7, dict(delay=5))])
    assert isinstance(answers[0], InvalidArgument)
    assert 'colour' in str(answers[1])
    assert service.getJob(answers[2]).due is not None
    with pytest.raises(InvalidArgument):
        service.addMany([('echo', 8), ('echo', 9, dict(key=''))])
    assert len(service.jobs) == 4


def test_higher_priority_runs_first(service):
    """process() runs the jobs by priority, highest first, then in the
    order they were added."""
    path = []
    service.registry.register('note', SimpleTask(path.append))
    for name, priority in [('a', 0), ('b', -1), ('c', 5), ('d', 0),
                           ('e', 5)]:
        service.add('note', name, priority=priority)
    service.process()
    assert path == ['c', 'e', 'a', 'd', 'b']


def test_a_tasks_limits_come_from_it_and_the_service_overrides_them():
    """SimpleTask(concurrency=, rate=) and function attributes set a
    task's limits; the service's limits (the daemon's --limit, --rate)
    replace each one they name."""
    def api(input):
        """Call a rate-limited API."""
    api.rate = '5/s'
    api.concurrency = 2
    service = TaskService(limits={'api': Limit(None, Rate(1, 60.0)),
                                  'echo': Limit(3, None)})
    service.registry.register('api', asTask(api))
    service.registry.register('echo', SimpleTask(tasks.echo))
    service.registry.register('slow', SimpleTask(tasks.sleep,
                                                 concurrency=1))
    service.registry.register('free', SimpleTask(tasks.echo))
    assert service.routing.taskLimits() == {
        'api': Limit(2, Rate(1, 60.0)), 'echo': Limit(3, None),
        'slow': Limit(1, None)}
    with pytest.raises(InvalidArgument, match='N/s, N/m or N/h'):
        SimpleTask(tasks.echo, rate='5 per second')
    with pytest.raises(InvalidArgument, match='concurrency'):
        SimpleTask(tasks.echo, concurrency=0)


def test_a_limited_task_holds_back_its_jobs_only(service):
    """With a concurrency limit of 1, a second job of the task waits,
    queued and with no attempt, while the first holds its claim; jobs of
    other tasks are claimed past it."""
    service.limits['echo'] = Limit(1, None)
    first, second = service.add('echo', 1), service.add('echo', 2)
    other = service.add('pid', None)
    claimed = service.running.claim(5)
    assert [row['id'] for row in claimed] == [first, other]
    assert service.getJob(second).attempts == 0
    service.running.finishRun(claimed[0], Outcome(True, 'null'))
    assert [row['id'] for row in service.running.claim(5)] == [second]


def test_add_refuses_a_task_no_server_serves(service):
    """A task that neither this service nor (on a shared store) a server
    alive serves is refused with NoSuchTask, naming those there are."""
    with pytest.raises(NoSuchTask, match="'beta'.*echo"):
        service.add('beta', 1)
    assert 'beta' not in service.routing.describeTasks()
    assert service.routing.taskServers()['echo'] == [service.routing.serverId]
