"""/metrics, read with prometheus_client's own parser, against the store."""

import pytest_twisted
from prometheus_client.parser import text_string_to_metric_families

from remotetask import SimpleTask
from tests import tasks
from tests.web.conftest import eventually


async def scrape(web):
    response = await web.get('/metrics')
    assert response.code == 200
    assert response.header('content-type').startswith('text/plain')
    families = {family.name: family for family in
                text_string_to_metric_families(response.text)}
    return families


def samples(family, name=None):
    return {tuple(sorted(sample.labels.items())): sample.value
            for sample in family.samples
            if name is None or sample.name == name}


@pytest_twisted.ensureDeferred
async def test_job_counts_match_the_store(web):
    """remotetask_jobs has one series per status and task, each the
    store's count (zero for the combinations without jobs); the queue's
    depth and the wait of its oldest job are there too."""
    for task in ('echo', 'echo', 'crash'):
        web.service.add(task, {})
    web.service.add('echo', {}, startLater=True)
    web.service.addCronJob('echo', {}, hour=(3,))
    families = await scrape(web)
    found = samples(families['remotetask_jobs'])
    expected = {(row['status'], row['task']): row['count']
                for row in web.store.counts()}
    for (status, task), count in expected.items():
        assert found[(('status', status), ('task', task))] == count
    assert found[(('status', 'error'), ('task', 'echo'))] == 0
    assert sum(found.values()) == web.store.count() == 5
    assert families['remotetask_queue_depth'].samples[0].value == 3
    assert families['remotetask_oldest_queued_age_seconds'].samples[
        0].value >= 0
    assert families['remotetask_store_up'].samples[0].value == 1
    assert 0 < families['remotetask_store_latency_seconds'].samples[
        0].value < 5


@pytest_twisted.ensureDeferred
async def test_a_task_no_server_serves_shows_zero_servers(web):
    """remotetask_task_servers counts the servers serving each task: 1
    for this server's tasks, 0 for a task whose queued jobs wait for a
    server, which still shows them as queued."""
    web.service.registry.register('leaving', SimpleTask(tasks.echo))
    web.service.add('leaving', 1)
    web.service.registry.unregister('leaving')
    families = await scrape(web)
    servers = samples(families['remotetask_task_servers'])
    assert servers[(('task', 'leaving'),)] == 0
    assert servers[(('task', 'echo'),)] == 1
    jobs = samples(families['remotetask_jobs'])
    assert jobs[(('status', 'queued'), ('task', 'leaving'))] == 1


@pytest_twisted.ensureDeferred
async def test_workers_are_measured_as_the_dispatcher_sees_them(web):
    """The pool's size, the workers busy and their share, from the
    dispatcher at scrape time."""
    web.startWorkers()
    jobid = web.service.add('sleep', 0.5)
    await eventually(lambda: jobid in web.dispatcher.workers()["running"])
    families = await scrape(web)
    assert families['remotetask_workers'].samples[0].value == 2
    assert families['remotetask_workers_busy'].samples[0].value == 1
    assert families['remotetask_worker_utilisation_ratio'].samples[
        0].value == 0.5
    await eventually(lambda: web.service.getStatus(jobid) == 'completed')


@pytest_twisted.ensureDeferred
async def test_job_ended_hook_counts_durations_and_failures(web):
    """What the dispatcher reports through ``root.metrics.jobEnded`` shows
    as a histogram of durations by task and a counter of failures; each
    end after a task's first counts in the same series, and a task with
    no failure has no failure series."""
    web.root.metrics.jobEnded('echo', 0.02, True)
    web.root.metrics.jobEnded('echo', 3.0, True)
    web.root.metrics.jobEnded('crash', 0.5, False)
    web.root.metrics.jobEnded('crash', 0.25, False)
    families = await scrape(web)
    durations = families['remotetask_job_duration_seconds']
    counts = samples(durations, 'remotetask_job_duration_seconds_count')
    assert counts == {(('task', 'crash'),): 2, (('task', 'echo'),): 2}
    sums = samples(durations, 'remotetask_job_duration_seconds_sum')
    assert sums[(('task', 'echo'),)] == 3.02
    buckets = samples(durations, 'remotetask_job_duration_seconds_bucket')
    assert buckets[(('le', '0.05'), ('task', 'echo'))] == 1
    assert buckets[(('le', '5.0'), ('task', 'echo'))] == 2
    failures = samples(families['remotetask_job_failures'],
                       'remotetask_job_failures_total')
    assert failures == {(('task', 'crash'),): 2}


@pytest_twisted.ensureDeferred
async def test_process_metrics_come_along(web):
    """The usual process metrics (memory, CPU, open files) are there,
    for the dashboards that expect them."""
    families = await scrape(web)
    assert families['process_resident_memory_bytes'].samples[0].value > 0


def test_a_store_that_does_not_answer_is_store_up_0_within_the_timeout():
    """A scrape waits for the store at most ``storeTimeout`` seconds, then
    answers with ``remotetask_store_up`` 0 and what the process knows (its
    workers, the process); the scrapes meanwhile share the one store read
    instead of each taking a store thread; once the store answers, the
    next scrape has its numbers. Time is a ``task.Clock``."""
    from twisted.internet import defer, task

    from remotetask import TaskService
    from remotetask.web.metrics import MetricsResource, storeUp

    clock = task.Clock()
    reads = []

    def storeCall(function, *args):
        reads.append(defer.Deferred())
        return reads[-1]
    metrics = MetricsResource(TaskService(), storeCall, None,
                              storeTimeout=5.0, clock=clock)
    first = metrics.scrape()
    clock.advance(4.99)
    second = metrics.scrape()
    assert not first.called and len(reads) == 1
    clock.advance(0.01)
    assert first.called and not second.called
    text = first.result.decode()
    assert 'remotetask_store_up 0.0' in text
    assert 'remotetask_workers 0.0' in text and 'process_' in text
    clock.advance(5.0)
    assert 'remotetask_store_up 0.0' in second.result.decode()
    reads[0].callback([storeUp(1)])
    third = metrics.scrape()
    assert len(reads) == 2 and not third.called
    reads[1].callback([storeUp(1)])
    assert 'remotetask_store_up 1.0' in third.result.decode()
    assert not clock.getDelayedCalls()
