"""``/metrics``: Prometheus metrics of the queue, the workers and the store.

Two kinds. What the store knows (jobs by status and task, the queue's
depth, how long the next queued job has waited) is read from it at scrape
time, by a custom collector, so that every server sharing a store reports
the same numbers and nothing is counted twice or lost across restarts.
What only this process sees (how long runs took, how many failed) is
counted as runs end, through ``JobMetrics.jobEnded``, which the dispatcher
calls. The store is read in a store thread (``storeCall``), one read at a
time for all the scrapes asking meanwhile, and a scrape waits for it at
most ``storeTimeout`` seconds: past that (a store that hangs), it answers
with ``remotetask_store_up`` 0 and everything this process knows (workers,
answers waiting for their clients, the process), well within Prometheus'
own scrape timeout. A store that fails says so in the log once per outage
(the store's own outage log), not once per scrape.
"""

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram,
    generate_latest)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector
from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import resource, server

from remotetask.core.status import QUEUED, Status
from remotetask.errors import StoreUnavailable
from remotetask.web.plumbing import localWorkers
from remotetask.wire import answers

#: From a hundredth of a second to an hour: jobs are as short as an echo
#: and as long as a video conversion.
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600,
                    float('inf'))
#: Seconds a scrape waits for the store: half Prometheus' default timeout.
STORE_TIMEOUT = 5.0


class JobMetrics:
    """What happened to runs in this process: their durations (a
    histogram by task, whose count is the number of runs) and their
    failures (a counter by task). Counted from this start on, as
    Prometheus counters are."""

    def __init__(self, registry):
        self.durations = Histogram(
            'remotetask_job_duration_seconds',
            'How long runs of jobs took, by task.', ['task'],
            buckets=DURATION_BUCKETS, registry=registry)
        self.failures = Counter(
            'remotetask_job_failures',
            'Runs that ended in failure (retried or not), by task.',
            ['task'], registry=registry)
        # The series of each task, looked up by label once rather than at
        # every end (a lookup takes a lock and checks the labels). As
        # many as the tasks that ran here, which the registry bounds.
        self._durations = {}
        self._failures = {}

    def jobEnded(self, task, seconds, ok):
        """Count a run of ``task`` that took ``seconds`` and succeeded if
        ``ok``. For the dispatcher, on the reactor thread, as each run
        ends (runs given back at shutdown are not runs that ended)."""
        durations = self._durations.get(task)
        if durations is None:
            durations = self._durations[task] = self.durations.labels(task)
        durations.observe(seconds)
        if not ok:
            failures = self._failures.get(task)
            if failures is None:
                failures = self._failures[task] = self.failures.labels(task)
            failures.inc()


class StoreCollector:
    """The store's numbers, read once per scrape, in a store thread.
    ``families()`` is the list of them; a store that fails makes
    ``remotetask_store_up`` 0 rather than failing the scrape, so that an
    unreachable database shows on a graph instead of as a gap."""

    log = Logger()

    def __init__(self, service, now):
        self.service = service
        self.now = now

    def families(self):
        try:
            started = time.perf_counter()
            self.service.reads.hasJobsWaiting(self.now)
            latency = time.perf_counter() - started
            counts = self.service.reads.counts()
            since = self.service.reads.oldestQueued(self.now)
            servers = self.service.routing.taskServers(self.now)
        except StoreUnavailable:
            return [storeUp(0)]
        except Exception:
            self.log.failure('Reading the store for /metrics failed')
            return [storeUp(0)]
        return [
            storeUp(1),
            GaugeMetricFamily(
                'remotetask_store_latency_seconds',
                'How long one cheap store call (is a job due?) took at this '
                'scrape.', latency),
            self._jobs(counts, servers),
            self._taskServers(counts, servers),
            GaugeMetricFamily(
                'remotetask_queue_depth',
                'Jobs queued (waiting for a worker, or a retry for its '
                'time).', sum(row['count'] for row in counts
                              if row['status'] == QUEUED)),
            GaugeMetricFamily(
                'remotetask_oldest_queued_age_seconds',
                'How long the oldest queued job that is due has waited; 0 '
                'when none is due.',
                0.0 if since is None else max(0.0, self.now - since))]

    def _jobs(self, counts, servers):
        """Every status with every task known, zero where there are none,
        so that a rate or an alert sees a series before its first job."""
        found = {(row['status'], row['task']): row['count']
                 for row in counts}
        names = sorted(set(servers) | {task for _, task in found})
        jobs = GaugeMetricFamily(
            'remotetask_jobs', 'Jobs in the store, by status and task.',
            labels=['status', 'task'])
        for status in map(str, Status):
            for task in names:
                jobs.add_metric([status, task], found.get((status, task), 0))
        return jobs

    def _taskServers(self, counts, servers):
        """How many servers alive serve each task, 0 for a task that has
        jobs but no server: its queued jobs wait until one comes."""
        gauge = GaugeMetricFamily(
            'remotetask_task_servers',
            'Servers alive that serve the task; 0: its queued jobs wait '
            'for one.', labels=['task'])
        names = sorted(set(servers) | {row['task'] for row in counts})
        for task in names:
            gauge.add_metric([task], len(servers.get(task, ())))
        return gauge


def storeUp(value):
    return GaugeMetricFamily('remotetask_store_up',
                             'Whether the store answered.', value)


def workerFamilies(workers):
    """This server's workers (``localWorkers``)."""
    size, live = workers['size'], workers['live']
    busy = workers['busy']
    return [
        GaugeMetricFamily(
            'remotetask_workers',
            'Workers of this server running now (processes or threads).',
            live),
        GaugeMetricFamily(
            'remotetask_workers_configured',
            'Workers this server is configured to run (--workers); more '
            'than remotetask_workers while one is being replaced.', size),
        GaugeMetricFamily('remotetask_workers_busy',
                          'Workers of this server running a job.', busy),
        GaugeMetricFamily(
            'remotetask_worker_utilisation_ratio',
            'The share of this server\'s live workers running a job.',
            busy / live if live else 0.0)]


def answerFamilies(outbox):
    """The answers waiting for their clients (``sending.Outbox``)."""
    return [
        GaugeMetricFamily(
            'remotetask_answers_waiting',
            'Large answers being sent, as fast as their clients take them.',
            len(outbox.senders)),
        GaugeMetricFamily(
            'remotetask_answer_bytes_waiting',
            'Bytes of those answers not yet sent (at most '
            '--max-answer-memory).', outbox.held),
        CounterMetricFamily(
            'remotetask_answers_refused',
            'Large answers refused (fault 11) because those waiting held '
            '--max-answer-memory.', outbox.refused)]


class _Families:
    """Metric families already read, as a collector."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        return iter(self.families)


class MetricsAnswers(answers.Answers):
    """The exposition as Prometheus text; a failure (logged) as a 500."""

    log = Logger()

    def encode(self, body):
        return 200, CONTENT_TYPE_LATEST.encode(), body

    def encodeError(self, failure):
        self.log.failure('/metrics failed', failure)
        return (500, answers.TEXT_TYPE,
                b'The metrics could not be read; see the log.\n')


ANSWERS = MetricsAnswers()


class MetricsResource(resource.Resource):
    """``GET /metrics`` in Prometheus text format (see the module's
    docstring)."""

    isLeaf = True
    log = Logger()

    def __init__(self, service, storeCall, dispatcher, outbox=None,
                 storeTimeout=STORE_TIMEOUT, clock=None):
        super().__init__()
        if clock is None:
            from twisted.internet import reactor as clock
        self.service = service
        self.storeCall = storeCall
        self.dispatcher = dispatcher
        self.outbox = outbox
        self.storeTimeout = storeTimeout
        self.clock = clock
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        self.jobMetrics = JobMetrics(self.registry)
        self._reading = None

    def render_GET(self, request):
        answers.answer(request, self.scrape(), ANSWERS)
        return server.NOT_DONE_YET

    @defer.inlineCallbacks
    def scrape(self):
        """A Deferred of the text of one scrape."""
        store = yield self.storeFamilies()
        local = workerFamilies(localWorkers(self.service, self.dispatcher))
        if self.outbox is not None:
            local += answerFamilies(self.outbox)
        return generate_latest(_Scrape(
            self.registry, _Families(local + store)))

    def storeFamilies(self):
        """A Deferred of the store's families, or of ``store_up`` 0 if
        the store has not answered within ``storeTimeout`` seconds. One
        read at a time: scrapes meanwhile wait for the same one."""
        reading = self._reading
        if reading is None:
            collector = StoreCollector(self.service, time.time())
            reading = self._reading = self.storeCall(collector.families)
            reading.addBoth(self._read, reading)
        result = defer.Deferred()
        timer = self.clock.callLater(self.storeTimeout, result.callback,
                                     [storeUp(0)])

        def arrived(families):
            if timer.active():
                timer.cancel()
                result.callback(families)
            return families
        reading.addBoth(arrived)
        return result

    def _read(self, families, reading):
        if self._reading is reading:
            self._reading = None
        if not isinstance(families, list):
            self.log.failure('Reading the store for /metrics failed',
                             families)
            return [storeUp(0)]
        return families


class _Scrape:
    """One scrape: the process-long metrics, then the others."""

    def __init__(self, *collectors):
        self.collectors = collectors

    def collect(self):
        for collector in self.collectors:
            yield from collector.collect()
